"""XI 1.x QueryDeviceState, XTest device events and the grab probe against a real Xvfb.

Reproduces the stuck implicit grab without hardware (docs/input-stack.md): a client selects
ButtonPress on the root, an XTest device press of the highest button of "Xvfb mouse"
(button 3) starts an implicit grab that another client's XGrabPointer cannot break.
"""

from __future__ import annotations


import pytest

from phantombutton.input.xinput import (
    GrabStatus,
    XRefused,
    XSession,
    XUnavailable,
    parse_button_state,
    session_problem,
)

pytestmark = pytest.mark.xvfb


@pytest.fixture
def session(xvfb):
    s = XSession(xvfb)
    yield s
    s.close()


@pytest.fixture
def grabbing_client(xvfb):
    """A client like any application: ButtonPress selected on the root window."""
    from Xlib import X, display

    d = display.Display(xvfb)
    d.screen().root.change_attributes(event_mask=X.ButtonPressMask | X.ButtonReleaseMask)
    d.sync()
    yield d
    d.close()


def xvfb_mouse(session):
    return next(p for p in session.pointers() if p.name == "Xvfb mouse")


def test_lists_master_and_slaves(session):
    ptrs = session.pointers()
    masters = [p for p in ptrs if p.is_master]
    assert [p.name for p in masters] == ["Virtual core pointer"]
    mouse = xvfb_mouse(session)
    assert mouse.attachment == masters[0].id
    assert mouse.node is None  # Xvfb's own driver sets no "Device Node"


def test_query_state_sees_highest_button_and_grab_sticks(session, grabbing_client):
    mouse = xvfb_mouse(session)
    master = next(p for p in session.pointers() if p.is_master)
    num, held = session.query_buttons(mouse.id)
    assert num == 3 and held == frozenset()

    session.fake_device_button(mouse.id, 3, press=True)
    try:
        assert session.query_buttons(mouse.id) == (3, frozenset({3}))
        assert 3 in session.query_buttons(master.id)[1]
        assert session.grab_probe() == GrabStatus.ALREADY_GRABBED
        # a release of the same button from the XTEST slave is another device: still stuck
        session.fake_device_button(master.id, 3, press=False)
        assert session.query_buttons(mouse.id)[1] == frozenset({3})
        assert session.grab_probe() == GrabStatus.ALREADY_GRABBED
    finally:
        # the release aimed at the slave that holds it ends the grab
        session.fake_device_button(mouse.id, 3, press=False)
    assert session.query_buttons(mouse.id)[1] == frozenset()
    assert session.query_buttons(master.id)[1] == frozenset()
    assert session.grab_probe() == GrabStatus.SUCCESS


def test_client_sees_release_event(session, grabbing_client):
    from Xlib import X

    mouse = xvfb_mouse(session)
    session.fake_device_button(mouse.id, 3, press=True)
    session.fake_device_button(mouse.id, 3, press=False)
    grabbing_client.sync()
    seen = []
    while grabbing_client.pending_events():
        ev = grabbing_client.next_event()
        seen.append((ev.type, ev.detail))
    assert seen == [(X.ButtonPress, 3), (X.ButtonRelease, 3)]


def test_button_beyond_device_is_refused_cleanly(session):
    mouse = xvfb_mouse(session)
    with pytest.raises(XRefused, match="BadValue"):
        session.fake_device_button(mouse.id, 20, press=False)
    # the connection is still usable afterwards
    assert session.query_buttons(mouse.id)[0] == 3


def test_a_second_display_does_not_break_error_parsing(session, xvfb):
    from Xlib import display

    other = display.Display(xvfb)  # re-registers python-xlib's RANDR errors globally
    try:
        with pytest.raises(XRefused):
            session.fake_device_button(xvfb_mouse(session).id, 9, press=True)
    finally:
        other.close()


def test_unknown_device_reads_as_gone(session):
    assert session.query_buttons(120) is None


def test_no_display_is_reported_once_not_raised_later():
    with pytest.raises(XUnavailable, match="cannot open X display"):
        XSession(":4321")


def test_session_problem():
    assert "Wayland" in session_problem({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"})
    assert "Wayland" in session_problem({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"})
    assert "DISPLAY" in session_problem({})
    assert session_problem({"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}) is None


def test_parse_button_state_skips_other_classes():
    key = bytes([0, 36, 248, 0]) + bytes(32)
    bits = (1 << 20) | (1 << 1)
    button = bytes([1, 36, 20, 0]) + bits.to_bytes(32, "little")
    valuator = bytes([2, 12, 2, 0]) + bytes(8)
    assert parse_button_state(key + valuator + button, 3) == (20, frozenset({1, 20}))
    assert parse_button_state(key, 1) is None
    assert parse_button_state(bytes([1, 0]), 1) is None  # malformed length: no loop


def test_device_node_property_maps_slave_to_node(session, xvfb):
    """The drivers set "Device Node" (STRING); here we set it ourselves on "Xvfb mouse"."""
    from Xlib import X, Xatom, display

    from phantombutton.input.xinput import find_slave

    d = display.Display(xvfb)
    try:
        d.xinput_query_version()
        mouse = xvfb_mouse(session)
        atom = d.intern_atom("Device Node")
        d.xinput_change_device_property(mouse.id, atom, Xatom.STRING, X.PropModeReplace,
                                        (8, b"/dev/input/event7\0"))
        d.sync()
    finally:
        d.close()
    fresh = XSession(xvfb)   # a new session: no cached "no node" for this id
    try:
        ptrs = fresh.pointers()
        assert find_slave(ptrs, "/dev/input/event7").id == mouse.id
        assert find_slave(ptrs, "/dev/input/event8") is None
    finally:
        fresh.close()


def test_property_text():
    from phantombutton.input.xinput import property_text

    assert property_text((8, b"/dev/input/event3\0")) == "/dev/input/event3"
    assert property_text((8, b"")) is None and property_text(None) is None
