"""Keys held by virtual keyboards (remappers' uinput devices) that no finger holds.

Pure rule, no I/O. Fed with samples of held keys per keyboard node (EVIOCGKEY, which tells
state and never what was typed) and which nodes are virtual. A key is stuck when a virtual
node has held it for longer than `threshold` seconds while no physical keyboard held any key
during all that time: a remapper mirrors a physical key (Ctrl on the keyboard -> Ctrl on its
uinput device), so a physical key held anywhere restarts every clock, and a remapper that
sends a shortcut (Ctrl+Alt+Tab from a thumb button) releases it within milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantombutton.keys import is_modifier


@dataclass(frozen=True)
class StuckKey:
    """A key a virtual keyboard holds while no physical key is held."""

    node: str
    code: int
    since: float       # first sample that saw it held with no physical key held
    seen: float        # the sample that crossed the threshold

    @property
    def held_for(self) -> float:
        return self.seen - self.since

    @property
    def modifier(self) -> bool:
        return is_modifier(self.code)


class StuckKeyRule:
    def __init__(self, threshold: float = 3.0):
        self.threshold = threshold
        self._since: dict[tuple[str, int], float] = {}
        self._reported: set[tuple[str, int]] = set()

    def update(self, now: float, held: dict[str, frozenset[int]], virtual: set[str]) -> list[StuckKey]:
        """One sample of every keyboard. Returns the keys that crossed the threshold now,
        modifiers first (each reported once per hold)."""
        physical = any(codes for node, codes in held.items() if node not in virtual)
        current = {(node, c) for node, codes in held.items() if node in virtual for c in codes}
        for node, code in self._since.keys() - current:
            self.forget(node, code)
        for k in current:
            if physical:
                self._since[k] = now          # a finger on a key: the remapper may mirror it
            else:
                self._since.setdefault(k, now)
        out = [StuckKey(n, c, t, now) for (n, c), t in self._since.items()
               if (n, c) not in self._reported and now - t >= self.threshold and not physical]
        self._reported.update((s.node, s.code) for s in out)
        return sorted(out, key=lambda s: (not s.modifier, s.node, s.code))

    def forget(self, node: str, code: int) -> None:
        """After a verified release: a new press starts a new hold."""
        self._since.pop((node, code), None)
        self._reported.discard((node, code))


def held_now(held: dict[str, frozenset[int]], virtual: set[str]) -> list[tuple[str, int]]:
    """A one-shot look (status, release): keys held on virtual nodes while no physical key is
    held, modifiers first. One sample cannot tell how long: callers say so."""
    if any(codes for node, codes in held.items() if node not in virtual):
        return []
    keys = [(n, c) for n, codes in held.items() if n in virtual for c in codes]
    return sorted(keys, key=lambda k: (not is_modifier(k[1]), k))
