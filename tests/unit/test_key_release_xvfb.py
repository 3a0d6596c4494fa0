"""The stuck-key release's X step (recovery/keys.py `x_key_release`) against a real Xvfb.

A key of "Xvfb keyboard" is pressed with an XTest device press (as a remapper's virtual
keyboard would hold it), then released by the same request the release chain sends for a
virtual keyboard's X slave; the server's keymap (core QueryKeymap) is read back each time.
"""

from __future__ import annotations

import pytest

from phantombutton.input.xinput import XRefused, XSession, _requests
from phantombutton.recovery.keys import X_KEYCODE_OFFSET, XI_SLAVE_KEYBOARD, x_key_release

pytestmark = pytest.mark.xvfb

KEY_LEFTCTRL = 29
XI_DEVICE_KEY_PRESS = 1


@pytest.fixture
def session(xvfb):
    s = XSession(xvfb)
    yield s
    s.close()


def xvfb_keyboard(session) -> int:
    from Xlib.ext import xinput

    devices = session.display.xinput_query_device(xinput.AllDevices).devices
    return next(d.deviceid for d in devices if d.use == XI_SLAVE_KEYBOARD and d.name == "Xvfb keyboard")


def key_down(session, evdev_code: int) -> bool:
    keycode = evdev_code + X_KEYCODE_OFFSET
    keymap = session.display.query_keymap()
    return bool(keymap[keycode // 8] & (1 << (keycode % 8)))


def press(session, device_id: int, evdev_code: int) -> None:
    from Xlib import X

    _, FakeDeviceInput = _requests()
    FakeDeviceInput(display=session.display.display, opcode=session._xtest_major,
                    event_type=session._xi_first_event + XI_DEVICE_KEY_PRESS,
                    detail=evdev_code + X_KEYCODE_OFFSET, time=X.CurrentTime, root=X.NONE, x=0, y=0,
                    deviceid=device_id)
    session.display.sync()


def test_xtest_release_of_the_keyboard_slave_lets_the_key_go(session):
    kbd = xvfb_keyboard(session)
    press(session, kbd, KEY_LEFTCTRL)
    assert key_down(session, KEY_LEFTCTRL)            # held, as by a remapper's keyboard
    x_key_release(session, kbd, KEY_LEFTCTRL)
    assert not key_down(session, KEY_LEFTCTRL)        # read back: released


def test_a_device_x_refuses_is_one_error(session):
    with pytest.raises(XRefused, match="device 250"):
        x_key_release(session, 250, KEY_LEFTCTRL)     # no such device
