"""The daemon finds the mouse's event node behind a receiver slot through sysfs_map (the
fake Linux 6.1 tree of test_evdev_sysfs)."""

from __future__ import annotations

import os

from phantombutton.input.sysfs_map import event_node_for
from test_evdev_sysfs import RECV, fake_tree


def test_slot_behind_receiver_maps_to_its_event_node(tmp_path):
    fake_tree(tmp_path)
    sysfs = tmp_path / "sys"
    (sysfs / "class/hidraw").mkdir(parents=True)
    (sysfs / "class/hidraw/hidraw0").mkdir()
    os.symlink(sysfs / RECV, sysfs / "class/hidraw/hidraw0/device")
    assert event_node_for("/dev/hidraw0", 1, str(sysfs)) == "/dev/input/event5"
    assert event_node_for("/dev/hidraw0", 2, str(sysfs)) == "/dev/input/event6"   # the K800
    assert event_node_for("/dev/hidraw0", 3, str(sysfs)) is None
    assert event_node_for("/dev/hidraw7", 1, str(sysfs)) is None
