"""When a phantom that comes back after a verified release is released again: one policy for
`watch --fix` and the daemon, from the configuration ([detection] reassert-window and
reassert-limit, [daemon] backoff-initial and backoff-max; service/config.py)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReassertPolicy:
    """When a phantom back after a release re-asserts, and how the daemon backs off."""

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


class Releases:
    """When each held button (a finding's key) was released, and when it may be released
    again under the policy: watch --fix and the daemon keep one of these."""

    def __init__(self, policy: ReassertPolicy):
        self.policy = policy
        self._times: dict[Hashable, list[float]] = {}

    def recent(self, key: Hashable, now: float) -> int:
        """Releases of `key` within the window: how many times it came back."""
        return sum(1 for t in self._times.get(key, ()) if now - t < self.policy.window)

    def wait(self, key: Hashable, now: float) -> float:
        """Seconds until `key` may be released again (0: now)."""
        runs = [t for t in self._times.get(key, ()) if now - t < self.policy.window]
        back = self.policy.delay(len(runs))
        return max(0.0, runs[-1] + back - now) if back else 0.0

    def backoff(self, key: Hashable, now: float) -> float:
        """The policy's back-off for the next release of `key` (0 below the limit)."""
        return self.policy.delay(self.recent(key, now))

    def record(self, key: Hashable, now: float) -> None:
        self._times[key] = [t for t in self._times.get(key, ()) if now - t < self.policy.window] + [now]
        for k in [k for k, v in self._times.items() if now - v[-1] >= self.policy.window]:
            del self._times[k]       # nodes come and go (hotplug): keep the dict small
