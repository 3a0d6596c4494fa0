"""When a phantom that comes back after a verified release is released again: one policy for
`watch --fix` and the daemon, from the configuration ([detection] reassert-window and
reassert-limit, [daemon] backoff-initial and backoff-max; service/config.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReassertPolicy:
    window: float = 30.0          # s: a phantom back within this time of a release re-asserts
    limit: int = 3                # re-asserts released at once; then the back-off
    backoff_initial: float = 1.0  # s, doubled per re-assert past the limit
    backoff_max: float = 300.0

    def delay(self, reasserts: int) -> float:
        """Seconds to wait before releasing a phantom that re-asserted `reasserts` times in a
        row: 0 below the limit (a stuck grab must not stay), then 1, 2, 4 ... x backoff-initial
        up to backoff-max (never a release loop against a mouse that keeps sending it)."""
        if reasserts < self.limit:
            return 0.0
        return min(self.backoff_max, self.backoff_initial * 2 ** (reasserts - self.limit))
