"""The original bug on Xorg, with xf86-input-evdev and xf86-input-libinput, and the proven fix."""

from __future__ import annotations

import labkit


def test_phantom_holds_button_20_and_the_pointer_grab(phantom_xorg):
    s = phantom_xorg
    state = s.x.query_state()
    assert "button[20]=down" in state, state
    assert "button[1]=up" in state, state
    assert ("press", 20) in labkit.wait_for(s.client.poll, 5, what="ButtonPress 20 at the client")
    assert labkit.try_grab_pointer(s.x) == "AlreadyGrabbed"
    # still stuck a while later: nothing in the stack times it out
    assert s.x.button_down(20)


def test_slave_is_the_mouse_event_node_under_the_right_driver(xorg):
    env = xorg.x.env()
    props = labkit.sh("xinput", "list-props", str(xorg.x.slave_id()), env=env).stdout
    assert f'"{xorg.event_node}"' in props, props  # "Device Node": slave <-> evdev node
    assert {"evdev": "Evdev Axis Inversion", "libinput": "libinput Accel Speed"}[xorg.driver] in props
    # libinput gives a 16-button DJ mouse 20 X buttons (so X button 20 is its highest),
    # xf86-input-evdev 24 (docs/input-stack.md: why unplug releases it only under evdev)
    long = labkit.sh("xinput", "list", "--long", str(xorg.x.slave_id()), env=env).stdout
    assert f"Buttons supported: {dict(evdev=24, libinput=20)[xorg.driver]}" in long, long


def test_evdev_write_of_the_release_frees_x(phantom_xorg):
    s = phantom_xorg
    labkit.release_via_evdev(s.event_node)
    labkit.wait_for(lambda: not s.x.button_down(20), 5, 0.1, what="button[20]=up")
    assert ("release", 20) in labkit.wait_for(
        lambda: ("release", 20) in s.client.poll() and s.client.events, 5, what="ButtonRelease 20")
    assert labkit.try_grab_pointer(s.x) == "GrabSuccess"


def test_ordinary_click_does_not_stick(xorg):
    xorg.reset()
    xorg.bridge.call("press", slot=1, buttons=0x0001)
    labkit.wait_for(lambda: xorg.x.button_down(1), 5, 0.1, what="button[1]=down")
    xorg.bridge.call("press", slot=1, buttons=0)
    labkit.wait_for(lambda: not xorg.x.button_down(1), 5, 0.1, what="button[1]=up")
    assert labkit.try_grab_pointer(xorg.x) == "GrabSuccess"
