"""Drive a Detector over a finite stream of observations (a capture), ticking on its clock.

The live `watch` ticks on the wall clock; offline we tick on the observations' own times so a
capture gives the same findings however fast it is read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

from phantombutton.detect.events import Observation
from phantombutton.detect.findings import Finding
from phantombutton.detect.rules import Detector


def detect_all(observations: Iterable[Observation], detector: Detector,
               tick_every: float = 0.25) -> Iterator[Finding]:
    """Yield every finding (and every ended copy) in order, the last tick at the last
    observation. (A capture's end may be later: `analyze` ticks once more at it.)"""
    next_tick = None
    last_t = 0.0
    feed, tick = detector.feed, detector.tick
    for obs in observations:
        t = obs.t
        if next_tick is None:
            next_tick = t + tick_every
        elif t >= next_tick:
            # tick at the grid points we passed, so a hold crossing a threshold mid-gap is seen
            # at the threshold's time, not at the next event's
            while next_tick <= t:
                yield from tick(next_tick)
                after = next_tick + tick_every
                if after == next_tick:   # past 2^52 s adding 0.25 changes nothing: never loop on it
                    after = math.nextafter(t, math.inf)
                next_tick = after
                if t - next_tick > 60 * tick_every:   # a long silent gap: jump
                    next_tick = t
        elif t < last_t - 1.0:
            next_tick = t + tick_every               # time went backwards (next device)
        last_t = t
        yield from feed(obs)
    if next_tick is not None:
        yield from tick(detector.now)
