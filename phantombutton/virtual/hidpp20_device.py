"""An emulated HID++ 2.0 mouse: a feature table with the functions clients and the kernel call.

Feature table, names, firmware entities, battery, controls and wheel state come from the
real M705 406D dump (reference/solaar-device-docs/Marathon-Mouse-M705-406D.txt). Feature
versions are not in the dump; the ones below are plausible values, not measurements.
Replies are long reports; errors are `FF` frames: unknown feature index 6, unknown
function 7, bad argument 2. HID++ 1.0 register requests (sub-id 0x80..0x83) get the 1.0
error 01 (invalid sub-id) - a guess; no dump shows what a 2.0 mouse answers there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .device import Identity, VirtualDevice
from .wire import Err10, Err20, error10, error20, long

REPROG_CONTROLS_V4, HIRES_WHEEL, THUMB_WHEEL = 0x1B04, 0x2121, 0x2150
THUMB_NATIVE_RES, THUMB_DIVERTED_RES = 18, 120   # getThumbwheelInfo (a guess: not in the dump)
THUMB_START, THUMB_STOP = 1, 3                   # thumbwheel event rotation status
HIDDEN, INTERNAL = 0x40, 0x20
DIVERTABLE, PERSIST_DIVERTABLE = 0x20, 0x40
# setCidReporting flag bits and the "valid" bit that must accompany each
DIVERT, PERSIST, RAW_XY = 0x01, 0x04, 0x10
VALID = {DIVERT: 0x02, PERSIST: 0x08, RAW_XY: 0x20}
WHEEL_TARGET, WHEEL_HIRES = 0x01, 0x02   # HIRES_WHEEL mode bits (0x04: invert)


@dataclass(frozen=True)
class Feature:
    id: int
    flags: int = 0
    version: int = 0


def hidden(*ids: int, flags: int = HIDDEN | INTERNAL) -> list[Feature]:
    """Features the dumps list as hidden and internal (Solaar's show: "hidden, internal")."""
    return [Feature(fid, flags) for fid in ids]


@dataclass
class Control:
    """One REPROG_CONTROLS_V4 control of a virtual device."""

    cid: int
    tid: int
    flags: int  # 0x01 mouse, 0x10 reprogrammable, 0x20 divertable, 0x40 persistently divertable
    group: int
    gmask: int
    hid_button: int | None = None  # which HID button (1-based) the control normally reports
    reporting: int = 0  # current DIVERT/PERSIST/RAW_XY bits
    remap: int = 0
    flags2: int = 0  # getCidInfo byte 8: 0x01 raw XY, 0x02 force raw XY, 0x04 analytics key events


@dataclass
class Firmware:
    kind: int  # 0 main application, 1 bootloader
    prefix: str
    number: int
    revision: int
    build: int
    extra: bytes = b""
    wpid: int | None = None   # the 2 bytes between the build and `extra`; None = the device's WPID


@dataclass
class Hidpp20Spec:
    """A virtual HID++ 2.0 device: its features and their state at power-on."""

    features: list[Feature]
    name: str
    firmware: list[Firmware]
    unit_id: bytes
    model_id: bytes  # 6 bytes
    transports: int  # bit 0x04 = wpid
    battery: tuple[int, int, int]  # level %, next level %, status
    controls: list[Control]
    kind: int = 3  # DEVICE_NAME type: 3 = mouse
    pointer_speed: int = 0x0100
    roller: tuple[int, int, int] = (3, 24, 0)
    wheel_multiplier: int = 8
    wheel_flags: int = 0x0C  # has invert 0x08, has ratchet switch 0x04
    wheel_mode: int = 0x00  # bit0 HID++ target, bit1 hi-res, bit2 invert
    protocol: tuple[int, int] = (4, 5)
    # ADJUSTABLE_DPI 0x2201: current dpi, and the sensor's list as the device sends it
    # (2-byte values; 0xE000|step between two values = a range with that step)
    dpi: int = 1000
    dpi_list: tuple[int, ...] = (200, 0xE000 | 50, 8000)
    thumb_mode: int = 0x00  # THUMB_WHEEL status: byte 0 bit0 diverted to HID++, byte 1 bit0 inverted
    friendly_name: str = ""   # DEVICE_FRIENDLY_NAME when it is not `name`


class Hidpp20Device(VirtualDevice):
    def __init__(self, identity: Identity, spec: Hidpp20Spec):
        super().__init__(identity)
        self.spec = spec
        self.protocol = spec.protocol
        self.index = {feature.id: i for i, feature in enumerate(spec.features)}
        self.power_on()

    def power_on(self) -> None:
        # Temporary diversion and the wheel mode do not survive a power cycle; persistent
        # diversion does (it lives in the mouse's flash).
        kept = {c.cid: c.reporting for c in getattr(self, "controls", ())}   # the flash's state
        self.controls = [Control(**{**c.__dict__, "reporting": kept.get(c.cid, c.reporting) & PERSIST})
                         for c in self.spec.controls]
        self.wheel_mode = self.spec.wheel_mode
        self.pointer_speed = self.spec.pointer_speed
        self.dpi = self.spec.dpi
        self.thumb = [self.spec.thumb_mode, 0]
        self.thumb_time = 0     # the thumbwheel events' 16-bit timestamp
        self.config_cookie = 0  # a software's "I configured you" mark; lost at power-off

    # ---- requests ------------------------------------------------------------------------
    def handle(self, request: bytes) -> list[bytes]:
        devnum, index, fn_sw = request[1], request[2], request[3]
        if index >= 0x80:  # HID++ 1.0 register access (see the module docstring)
            return [error10(request, Err10.INVALID_SUBID)]
        if index >= len(self.spec.features):
            return [error20(request, Err20.INVALID_FEATURE_INDEX)]
        feature = self.spec.features[index].id
        function, params = fn_sw >> 4, bytes(request[4:]).ljust(16, b"\0")
        handler = getattr(self, f"_f{feature:04x}", None)
        result = handler(function, params) if handler else Err20.INVALID_FUNCTION
        if isinstance(result, int):
            return [error20(request, result)]
        return [long(devnum, index, fn_sw, result)]

    def _f0000(self, fn: int, p: bytes):  # ROOT
        if fn == 0:  # getFeature(id) -> index, flags, version
            fid = p[0] << 8 | p[1]
            if fid not in self.index:
                return bytes(3)
            feature = self.spec.features[self.index[fid]]
            return bytes([self.index[fid], feature.flags, feature.version])
        if fn == 1:  # ping: protocol major, minor, echo of the mark
            return bytes([*self.protocol, p[2]])
        return Err20.INVALID_FUNCTION

    def _f0001(self, fn: int, p: bytes):  # FEATURE_SET
        if fn == 0:
            return bytes([len(self.spec.features) - 1])
        if fn == 1:
            if p[0] >= len(self.spec.features):
                return Err20.OUT_OF_RANGE
            f = self.spec.features[p[0]]
            return bytes([f.id >> 8, f.id & 0xFF, f.flags, f.version])
        return Err20.INVALID_FUNCTION

    def _f0003(self, fn: int, p: bytes):  # DEVICE_FW_VERSION
        if fn == 0:  # entity count, unit id, transport bits, model id
            return (bytes([len(self.spec.firmware)]) + self.spec.unit_id
                    + bytes([0, self.spec.transports]) + self.spec.model_id)
        if fn == 1:
            if p[0] >= len(self.spec.firmware):
                return Err20.OUT_OF_RANGE
            fw = self.spec.firmware[p[0]]
            wpid = self.identity.wpid if fw.wpid is None else fw.wpid
            return (bytes([fw.kind]) + fw.prefix.encode() + bytes([fw.number, fw.revision])
                    + fw.build.to_bytes(2, "big") + bytes([0]) + wpid.to_bytes(2, "big") + fw.extra)
        return Err20.INVALID_FUNCTION

    def _f0005(self, fn: int, p: bytes):  # DEVICE_NAME
        name = self.spec.name.encode()
        if fn == 0:
            return bytes([len(name)])
        if fn == 1:
            if p[0] >= len(name):
                return Err20.OUT_OF_RANGE
            return name[p[0] : p[0] + 16]
        if fn == 2:
            return bytes([self.spec.kind])
        return Err20.INVALID_FUNCTION

    def _f0020(self, fn: int, p: bytes):  # CONFIG_CHANGE (Solaar 1.1.1 called it RESET)
        if fn == 0:  # getConfigurationCookie; `solaar show` calls it for every device with 0x0020
            return self.config_cookie.to_bytes(2, "big")
        if fn == 1:  # setConfigurationComplete(cookie)
            self.config_cookie = p[0] << 8 | p[1]
            return bytes(p[:2])
        return Err20.INVALID_FUNCTION

    def _f1000(self, fn: int, p: bytes):  # BATTERY_STATUS
        if fn == 0:
            return bytes(self.spec.battery)
        if fn == 1:  # capability: number of levels, flags (0x02 mileage: reports percent)
            return bytes([4, 0x02])
        return Err20.INVALID_FUNCTION

    def _f1b04(self, fn: int, p: bytes):  # REPROG_CONTROLS_V4
        if fn == 0:
            return bytes([len(self.controls)])
        if fn == 1:
            if p[0] >= len(self.controls):
                return Err20.INVALID_ARGUMENT
            c = self.controls[p[0]]
            return (c.cid.to_bytes(2, "big") + c.tid.to_bytes(2, "big")
                    + bytes([c.flags, 0, c.group, c.gmask, c.flags2]))
        if fn in (2, 3):
            control = self._control(p[0] << 8 | p[1])
            if control is None:
                return Err20.INVALID_ARGUMENT
            if fn == 2:
                return control.cid.to_bytes(2, "big") + bytes([control.reporting]) + control.remap.to_bytes(2, "big")
            return self._set_reporting(control, p)
        return Err20.INVALID_FUNCTION

    def _set_reporting(self, control: Control, p: bytes):
        flags, remap = p[2], p[3] << 8 | p[4]
        allowed = {DIVERT: control.flags & DIVERTABLE, PERSIST: control.flags & PERSIST_DIVERTABLE,
                   RAW_XY: control.flags2 & 0x01}
        new = control.reporting
        for bit, valid in VALID.items():
            if flags & valid:
                if flags & bit and not allowed[bit]:
                    return Err20.INVALID_ARGUMENT
                new = (new | bit) if flags & bit else (new & ~bit)
        if remap and self._control(remap) is None:
            return Err20.INVALID_ARGUMENT
        control.reporting = new
        if remap:
            control.remap = 0 if remap == control.cid else remap
        return bytes(p[:5])

    def _f2205(self, fn: int, p: bytes):  # POINTER_SPEED
        if fn == 0:
            return self.pointer_speed.to_bytes(2, "big")
        if fn == 1:
            self.pointer_speed = p[0] << 8 | p[1]
            return bytes(p[:2])
        return Err20.INVALID_FUNCTION

    def _f1004(self, fn: int, p: bytes):  # UNIFIED_BATTERY
        if fn == 0:  # capabilities: supported levels (full|good|low|critical), flags (0x02 percent)
            return bytes([0x0F, 0x02])
        if fn == 1:  # status: state of charge %, level bit, charging status, external power
            pct = self.spec.battery[0]
            level = 8 if pct > 50 else 4 if pct > 20 else 2 if pct > 5 else 1
            return bytes([pct, level, self.spec.battery[2], 0])
        return Err20.INVALID_FUNCTION

    # What `solaar show` reads without guarding against an error reply (solaar/cli/show.py
    # _print_device): each answers as the dumps show.
    def _f0007(self, fn: int, p: bytes):  # DEVICE_FRIENDLY_NAME
        name = (self.spec.friendly_name or self.spec.name).encode()
        if fn == 0:   # getFriendlyNameLen: length, max length, default name's length
            return bytes([len(name), 32, len(name)])
        if fn in (1, 2):   # get(Default)FriendlyName(byte index): the index, then 15 bytes
            return bytes([p[0]]) + name[p[0] : p[0] + 15]
        return Err20.INVALID_FUNCTION

    def _f1815(self, fn: int, p: bytes):  # HOSTS_INFO: capability 0 = host names not readable
        # (the dump shows "romanescu"; a readable name would make Solaar rename the host)
        return bytes([0x00, 0x00, 3, 0]) if fn == 0 else Err20.INVALID_FUNCTION

    def _f2130(self, fn: int, p: bytes):  # LOWRES_WHEEL: wheel reports HID (the M185 dump)
        return bytes([0x00]) if fn == 0 else Err20.INVALID_FUNCTION

    def _f8060(self, fn: int, p: bytes):  # REPORT_RATE: supported rates (bit n = n+1 ms), current
        if fn == 0:
            return bytes([0x8B])
        if fn == 1:
            return bytes([self.identity.polling_ms or 1])
        return Err20.INVALID_FUNCTION

    def _f8100(self, fn: int, p: bytes):  # ONBOARD_PROFILES: fn 2 mode, 1 = on-board (the G305 dump)
        return bytes([0x01]) if fn == 2 else Err20.INVALID_FUNCTION

    def _f2201(self, fn: int, p: bytes):  # ADJUSTABLE_DPI
        if fn == 0:  # getSensorCount
            return bytes([1])
        if p[0] != 0:
            return Err20.INVALID_ARGUMENT
        if fn == 1:  # getSensorDpiList(sensor): sensor, then 2-byte values, 0 ends the list
            return bytes([0]) + b"".join(v.to_bytes(2, "big") for v in self.spec.dpi_list) + b"\0\0"
        if fn == 2:  # getSensorDpi(sensor): sensor, dpi, default dpi
            return bytes([0]) + self.dpi.to_bytes(2, "big") + self.spec.dpi.to_bytes(2, "big")
        if fn == 3:  # setSensorDpi(sensor, dpi)
            dpi = p[1] << 8 | p[2]
            if not self._dpi_valid(dpi):
                return Err20.INVALID_ARGUMENT
            self.dpi = dpi
            return bytes(p[:3])
        return Err20.INVALID_FUNCTION

    def _dpi_valid(self, dpi: int) -> bool:
        values = self.spec.dpi_list
        for i, v in enumerate(values):
            if v >= 0xE000 and 0 < i < len(values) - 1:
                low, high, step = values[i - 1], values[i + 1], v & 0x1FFF
                if low <= dpi <= high and (dpi - low) % step == 0:
                    return True
            elif v == dpi:
                return True
        return False

    def _f2150(self, fn: int, p: bytes):  # THUMB_WHEEL
        if fn == 0:  # getThumbwheelInfo: native resolution, diverted resolution, default
            #            direction, capabilities (0x01 timestamp, 0x02 touch, 0x04 proxy, 0x08 single tap)
            return (THUMB_NATIVE_RES.to_bytes(2, "big") + THUMB_DIVERTED_RES.to_bytes(2, "big")
                    + bytes([0, 0x0F, 0, 0]))
        if fn == 1:  # getThumbwheelStatus: reporting mode (1 = HID++), invert
            return bytes(self.thumb)
        if fn == 2:  # setThumbwheelReporting(mode, invert)
            self.thumb = [p[0] & 0x01, p[1] & 0x01]
            return bytes(self.thumb)
        return Err20.INVALID_FUNCTION

    def _f2100(self, fn: int, p: bytes):  # VERTICAL_SCROLLING
        return bytes(self.spec.roller) if fn == 0 else Err20.INVALID_FUNCTION

    def _f2121(self, fn: int, p: bytes):  # HIRES_WHEEL
        if fn == 0:
            return bytes([self.spec.wheel_multiplier, self.spec.wheel_flags])
        if fn == 1:
            return bytes([self.wheel_mode])
        if fn == 2:
            self.wheel_mode = p[0] & 0x07
            return bytes([self.wheel_mode])
        if fn == 3:  # ratchet switch state: 1 = ratcheted (normal wheel mode)
            return bytes([1])
        return Err20.INVALID_FUNCTION

    # ---- the wheel -----------------------------------------------------------------------------
    def kernel_wheel_setup(self) -> None:
        if HIRES_WHEEL in self.index:   # hidpp_hrw_set_wheel_mode(invert off, hi-res, HID target)
            self.wheel_mode = WHEEL_HIRES

    def forget_wheel_mode(self) -> None:
        self.wheel_mode = self.spec.wheel_mode   # back to the power-on mode

    def wheel_units(self) -> tuple[int, bool]:
        if HIRES_WHEEL not in self.index:
            return 1, False
        units = self.spec.wheel_multiplier if self.wheel_mode & WHEEL_HIRES else 1
        return units, bool(self.wheel_mode & WHEEL_TARGET)

    def wheel_event(self, devnum: int, units: int) -> bytes | None:
        """HIRES_WHEEL event 0 (wheelMovement): byte 0 flags (0x10 hi-res), bytes 1-2 delta."""
        index = self.index.get(HIRES_WHEEL)
        if index is None:
            return None
        flags = 0x10 if self.wheel_mode & WHEEL_HIRES else 0
        return long(devnum, index, 0x00, bytes([flags]) + (units & 0xFFFF).to_bytes(2, "big"))

    # ---- the thumb wheel -----------------------------------------------------------------------
    def thumb_events(self, devnum: int, amount: int) -> list[bytes]:
        """A thumb-wheel turn of `amount` native units while diverted (getThumbwheelStatus
        mode 1): THUMB_WHEEL event 0, a start carrying the rotation in the diverted resolution
        and a stop with none (rotation int16, timestamp uint16, rotation status, flags: logiops
        hidpp20/features/ThumbWheel.cpp thumbwheelEvent). Not diverted: none, the turn is AC
        Pan in the mouse report."""
        index = self.index.get(THUMB_WHEEL)
        if index is None or not self.thumb[0] & 0x01 or not amount:
            return []
        rotation = max(-32768, min(32767, amount * THUMB_DIVERTED_RES // THUMB_NATIVE_RES))
        out = []
        for value, status in ((rotation, THUMB_START), (0, THUMB_STOP)):
            self.thumb_time = (self.thumb_time + 8) & 0xFFFF
            out.append(long(devnum, index, 0x00, value.to_bytes(2, "big", signed=True)
                            + self.thumb_time.to_bytes(2, "big") + bytes([status, 0])))
        return out

    # ---- input -----------------------------------------------------------------------------
    def _control(self, cid: int) -> Control | None:
        return next((c for c in self.controls if c.cid == cid), None)

    def diverted_controls(self, buttons: int) -> tuple[int, list[int]]:
        cids = []
        for c in self.controls:
            if c.hid_button and c.reporting & (DIVERT | PERSIST) and buttons & 1 << (c.hid_button - 1):
                buttons &= ~(1 << (c.hid_button - 1))
                cids.append(c.cid)
        return buttons, cids[:4]

    def diverted_event(self, devnum: int, cids: list[int]) -> bytes | None:
        """REPROG_CONTROLS_V4 event 0: up to four pressed diverted controls; none = released."""
        index = self.index.get(REPROG_CONTROLS_V4)
        if index is None:
            return None
        return long(devnum, index, 0x00, b"".join(c.to_bytes(2, "big") for c in cids))
