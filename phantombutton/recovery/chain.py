"""The release chain: act on the layer that holds the button, verify, escalate.

Why this order (docs/input-stack.md; Xi/exevents.c UpdateDeviceState): X ends its implicit grab only when the slave that
pressed the button releases it, so every step aims at that slave's own source:
  1. EV_KEY <code> 0 + SYN_REPORT written to the mouse's own event node - the kernel, X and
     every other reader see a real release from the mouse (needs write access);
  2. an XTest *device* DeviceButtonRelease aimed at the mouse's slave id - works without
     root, ends the X grab (the kernel may still hold the key);
  3. for a button the model does not have: mute it (EVIOCSKEYCODE HID usage -> KEY_RESERVED),
     which makes the input core send the key-up and keeps the bit quiet afterwards;
  4. X still holds a button the kernel released, or the slave is gone (an orphan on the
     master): a release on the master (XTest device event), else a uinput mouse that
     presses and releases the button;
  5. nothing worked: tell the user to power-cycle the mouse (link loss makes the DJ driver
     forward an all-zero report) and why.
A write() that succeeds proves nothing: after each step the kernel (EVIOCGKEY) and X
(QueryDeviceState) are read again, for up to `settle` seconds, before the next step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from phantombutton.errors import PhantomError
from phantombutton.input.xinput import x_errors


class Step(IntEnum):
    EVENT_NODE = 1
    XTEST_SLAVE = 2
    MUTE = 3
    ORPHAN = 4
    POWER_CYCLE = 5


STEP_NAMES = {
    Step.EVENT_NODE: "release written to the event node",
    Step.XTEST_SLAVE: "XTest device release on the slave",
    Step.MUTE: "mute (EVIOCSKEYCODE -> KEY_RESERVED)",
    Step.ORPHAN: "release of an orphaned X button",
    Step.POWER_CYCLE: "power-cycle advice",
}

POWER_CYCLE_ADVICE = (
    "switch the mouse off and on again: the receiver reports the lost link and the kernel "
    "then forwards an all-zero report, which releases every button the mouse holds")


@dataclass(frozen=True, slots=True)
class Target:
    """The held button to release, as diagnosed (a Finding, or `release DEVICE BUTTON`)."""

    device: str
    node: str | None          # /dev/input/eventN of the mouse
    code: int | None          # evdev code (0x11F)
    x_button: int | None      # X button number (20)
    x_slave_id: int | None    # the mouse's X slave (None: not in X / gone)
    x_master_id: int | None = None
    model_has_button: bool | None = None   # False: the model cannot press it (mute allowed)


@dataclass(frozen=True)
class Snapshot:
    """Who holds the button now; None = that layer could not be read."""

    kernel: bool | None
    x_slave: bool | None
    x_master: bool | None          # the master holds it and no other slave does
    # Xwayland only (no device state there): another client's XGrabPointer got
    # AlreadyGrabbed. Counts only when it was seen with the kernel holding the button
    # (Outcome.pending): an X client may hold a grab of its own for good reasons.
    x_grab: bool | None = None

    @property
    def held(self) -> bool:
        return bool(self.kernel or self.x_slave or self.x_master)

    def describe(self) -> str:
        def word(v: bool | None) -> str:
            return "?" if v is None else ("held" if v else "up")

        if self.x_grab is not None:
            return (f"kernel {word(self.kernel)}, Xwayland pointer "
                    f"{'grabbed' if self.x_grab else 'free'}")
        return f"kernel {word(self.kernel)}, X slave {word(self.x_slave)}, X master {word(self.x_master)}"


@dataclass
class Attempt:
    """One step of the release chain and the state read back after it."""

    step: Step
    action: str
    after: Snapshot | None = None
    error: str | None = None

    def line(self) -> str:
        result = f"error: {self.error}" if self.error else (self.after.describe() if self.after else "")
        return f"step {int(self.step)} ({STEP_NAMES[self.step]}): {self.action} -> {result}"


@dataclass
class Outcome:
    """A release: the state before it and each step tried."""

    target: Target
    before: Snapshot
    attempts: list[Attempt] = field(default_factory=list)
    advice: str | None = None
    note: str = ""                # how it ran, e.g. " [X: connection lost; without X]"

    @property
    def grab_tracked(self) -> bool:
        """Xwayland: an X pointer grab was seen while the kernel held the button, so the
        release must end it too (the grab probe is the second verification)."""
        return bool(self.before.kernel and self.before.x_grab)

    def pending(self, s: Snapshot) -> bool:
        return s.held or (self.grab_tracked and s.x_grab is not False)

    @property
    def released(self) -> bool:
        last = self.attempts[-1].after if self.attempts else self.before
        return (last is not None and not self.pending(last)
                and not any(a.step == Step.POWER_CYCLE for a in self.attempts))

    @property
    def step(self) -> Step | None:
        """The step that made the button up everywhere, None if none did (or none was needed)."""
        return next((a.step for a in self.attempts if a.after is not None and not self.pending(a.after)), None)

    def summary(self) -> str:
        t = self.target
        what = f"X button {t.x_button}" if t.x_button is not None else f"code 0x{t.code:03X}"
        if not self.before.held:
            return f"{t.device}: {what} is not held ({self.before.describe()}); nothing to do"
        step = self.step
        if self.released and step is not None:  # released: some attempt left the button up
            return f"{t.device}: {what} released by step {int(step)} ({STEP_NAMES[step]}), verified"
        last = self.attempts[-1].after if self.attempts and self.attempts[-1].after else self.before
        return f"{t.device}: {what} still held ({last.describe()}); {self.advice or ''}".rstrip("; ")

    def detail(self) -> str:
        """The summary, every step's line and the note: one journal line."""
        steps = "; ".join(a.line() for a in self.attempts)
        return self.summary() + (f" ({steps})" if steps else "") + self.note

    def to_dict(self) -> dict:
        return {
            "device": self.target.device, "node": self.target.node, "code": self.target.code,
            "x_button": self.target.x_button, "x_slave_id": self.target.x_slave_id,
            "before": self.before.describe(), "released": self.released,
            "step": int(self.step) if self.step else None,
            "attempts": [a.line() for a in self.attempts], "advice": self.advice,
        }


class Layers(Protocol):
    """The I/O the chain needs; `recovery.live.LiveLayers` is the real one."""

    def snapshot(self, t: Target) -> Snapshot: ...
    def write_release(self, t: Target) -> str: ...
    def xtest_release(self, device_id: int, button: int) -> str: ...
    def mute(self, t: Target) -> str: ...
    def orphan_release(self, t: Target) -> str: ...


def _verify(layers: Layers, t: Target, settle: float, pending) -> Snapshot:
    """Re-read state until released or `settle` seconds passed (X lags the kernel a little)."""
    deadline = time.monotonic() + settle
    while True:
        s = layers.snapshot(t)
        if not pending(s) or time.monotonic() >= deadline:
            return s
        time.sleep(0.01)


# Xwayland's grab ends only after the compositor has read the release through libinput and
# sent wl_pointer.button to Xwayland: allow it more time than X's own lag behind the kernel.
GRAB_SETTLE = 1.0


def run_chain(t: Target, layers: Layers, *, allow_mute: bool = True, settle: float = 0.3) -> Outcome:
    """Release `t`; stop at the first step after which nothing holds it any more."""
    out = Outcome(t, layers.snapshot(t))
    state = out.before
    if not state.held:
        return out

    def attempt(step: Step, action) -> Snapshot:
        a = Attempt(step, "")
        out.attempts.append(a)
        try:
            a.action = action()
        except (PhantomError,) + x_errors() as e:  # a layer said no: part of the report, escalate
            a.action = a.action or "tried"
            a.error = str(e) or type(e).__name__
        wait = max(settle, GRAB_SETTLE) if out.grab_tracked else settle
        a.after = _verify(layers, t, wait if a.error is None else 0.0, out.pending)
        return a.after

    if state.kernel and t.node and t.code is not None:
        state = attempt(Step.EVENT_NODE, lambda: layers.write_release(t))
    if state.held and state.x_slave and t.x_slave_id is not None and t.x_button is not None:
        state = attempt(Step.XTEST_SLAVE, lambda: layers.xtest_release(t.x_slave_id, t.x_button))
    if (state.held and state.kernel and allow_mute and t.model_has_button is False
            and t.node and t.code is not None):
        state = attempt(Step.MUTE, lambda: layers.mute(t))
    if state.held and not state.kernel and (state.x_master or state.x_slave) and t.x_button:
        state = attempt(Step.ORPHAN, lambda: layers.orphan_release(t))
    if out.pending(state):
        out.advice = POWER_CYCLE_ADVICE + _why(state, t)
        out.attempts.append(Attempt(Step.POWER_CYCLE, "advised", state))
    return out


def _why(s: Snapshot, t: Target) -> str:
    if s.x_grab and not s.held:
        return (" (the kernel released it but an X client still holds the pointer grab "
                "through Xwayland: the compositor has not passed the release on, or that "
                "client grabbed the pointer itself)")
    if s.kernel:
        return (f" (the kernel still holds it on {t.node}: writing to the node needs root or the "
                "input group - see `phantombutton install-udev`)")
    if s.x_slave or s.x_master:
        return " (X still holds it and no release was accepted)"
    return ""
