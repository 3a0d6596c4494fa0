"""A paired device: protocol, identity, firmware, battery, feature table, controls.

Every read goes through the receiver's engine, addressed to the device's slot. Nothing is
written here (settings.py writes, one bit at a time, with a read-back).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from phantombutton.models import Model, model_for
from phantombutton.errors import PhantomError
from phantombutton.hidpp import hidpp10, hidpp20
from phantombutton.hidpp.errors import Hidpp10Error, Hidpp20Error
from phantombutton.hidpp.hidpp10 import Battery, Register
from phantombutton.hidpp.hidpp20 import FeatureId

_UNSET = object()


class FeatureMissing(PhantomError):
    pass


class DeviceOffline(PhantomError):
    pass


@dataclass(frozen=True)
class Control:
    """A REPROG_CONTROLS_V4 control with its current reporting state."""

    info: hidpp20.ControlInfo
    reporting: hidpp20.ControlReporting | None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def diverted(self) -> bool:
        return bool(self.reporting and self.reporting.diverted)

    def diversion(self) -> str:
        if self.reporting is None:
            return "unknown"
        return ", ".join(hidpp20.reporting_names(self.reporting.flags)) or "regular"


class Device:
    def __init__(self, receiver, pairing):
        self.receiver = receiver
        self.pairing = pairing
        self.slot: int = pairing.slot
        self.wpid: int = pairing.wpid
        self.serial: str | None = pairing.serial
        self._protocol = _UNSET
        self._feature_index: dict[int, int | None] = {}

    def __repr__(self) -> str:
        return f"<Device slot {self.slot} {self.short_name} {self.wpid:04X}>"

    @property
    def engine(self):
        return self.receiver.engine

    @property
    def model(self) -> Model:
        hidpp10_ = None if self._protocol is _UNSET or self._protocol is None else self._protocol == (1, 0)
        return model_for(self.wpid, hidpp10=hidpp10_)

    @property
    def short_name(self) -> str:
        return self.pairing.short_name

    @property
    def kind(self) -> str:
        return hidpp10.kind_name(self.pairing.kind)

    @property
    def label(self) -> str:
        return f"{self.short_name} (slot {self.slot}, WPID {self.wpid:04X})"

    # --- protocol -----------------------------------------------------------------------

    def protocol(self) -> tuple[int, int] | None:
        """(major, minor) by ping, cached; None when the device is offline (asleep, off)."""
        if self._protocol is _UNSET:
            self._protocol = self.engine.ping(self.slot)
        return self._protocol  # type: ignore[return-value]

    @property
    def online(self) -> bool:
        return self.protocol() is not None

    @property
    def hidpp10(self) -> bool:
        proto = self.protocol()
        return proto == (1, 0) if proto is not None else model_for(self.wpid).hidpp10

    def protocol_text(self) -> str:
        proto = self.protocol()
        return "offline" if proto is None else f"HID++ {proto[0]}.{proto[1]}"

    def require_online(self) -> None:
        if not self.online:
            raise DeviceOffline(f"{self.label} is offline (asleep or switched off); "
                                f"move it or switch it on and try again")

    # --- HID++ 1.0 ----------------------------------------------------------------------

    def read_register(self, register: int, params: bytes = b"", *, long: bool = False) -> bytes:
        return self.engine.read_register(self.slot, register, params, long=long)

    def write_register(self, register: int, value: bytes) -> bytes:
        return self.engine.write_register(self.slot, register, value)

    def try_register(self, register: int, params: bytes = b"") -> bytes | None:
        try:
            return self.read_register(register, params)
        except Hidpp10Error:
            return None

    # --- HID++ 2.0 ----------------------------------------------------------------------

    def feature_index(self, feature: int) -> int | None:
        """Index of a feature (ROOT getFeature, cached); None when the device lacks it."""
        if feature not in self._feature_index:
            reply = self.engine.call(self.slot, hidpp20.ROOT_INDEX, 0, hidpp20.get_feature_params(feature))
            index, _flags, _version = hidpp20.parse_get_feature(reply)
            self._feature_index[feature] = index or None
        return self._feature_index[feature]

    def known_features(self) -> dict[int, int]:
        """{feature index -> feature id} learnt so far, without I/O."""
        return {index: fid for fid, index in self._feature_index.items() if index is not None}

    def call(self, feature: int, function: int, params: bytes = b"") -> bytes:
        index = self.feature_index(feature)
        if index is None:
            raise FeatureMissing(f"{self.label} has no {hidpp20.feature_name(feature)} feature")
        return self.engine.call(self.slot, index, function, params)

    def features(self) -> list[hidpp20.FeatureEntry]:
        """The whole feature table (FEATURE_SET): one request per feature."""
        count = self.call(FeatureId.FEATURE_SET, 0)[0]
        entries = [hidpp20.FeatureEntry(0, FeatureId.ROOT, 0, 0)]
        for i in range(1, count + 1):
            entries.append(hidpp20.parse_feature_set_entry(i, self.call(FeatureId.FEATURE_SET, 1, bytes((i,)))))
            self._feature_index.setdefault(entries[-1].feature_id, i)
        return entries

    def read_name(self, feature: int, echo: int = 0) -> str:
        """A name feature's text: fn 0 its length, fn 1 (byte index) the next chunk after `echo`
        bytes repeating the index (DEVICE_NAME 0x0005: none, DEVICE_FRIENDLY_NAME 0x0007: 1)."""
        length = self.call(feature, 0)[0]
        name = b""
        while len(name) < length:
            chunk = self.call(feature, 1, bytes((len(name),)))[echo:]
            if not any(chunk):
                break
            name += chunk[: length - len(name)]
        return name.rstrip(b"\0").decode("utf-8", "replace")

    def full_name(self) -> str | None:
        """DEVICE_NAME (2.0); the 1.0 devices only have the receiver's short name."""
        if self.hidpp10:
            return None
        try:
            return self.read_name(FeatureId.DEVICE_NAME)
        except (FeatureMissing, Hidpp20Error):
            return None

    # --- identity, firmware, battery ----------------------------------------------------

    def firmware(self) -> dict[str, str]:
        if self.hidpp10:
            return hidpp10.read_firmware(self.try_register)
        out: dict[str, str] = {}
        try:
            count = self.call(FeatureId.DEVICE_FW_VERSION, 0)[0]
            for entity in range(count):
                p = self.call(FeatureId.DEVICE_FW_VERSION, 1, bytes((entity,)))
                kind = {0: "firmware", 1: "bootloader", 2: "hardware"}.get(p[0], f"other{entity}")
                prefix = p[1:4].decode("ascii", "replace").strip("\0 ")
                out.setdefault(kind, f"{prefix} {p[4]:02X}.{p[5]:02X}.B{p[6]:02X}{p[7]:02X}".strip())
        except (FeatureMissing, Hidpp20Error):
            pass
        return out

    def battery(self) -> Battery | None:  # not hidpp10.Battery: the class attribute hidpp10 shadows the module
        if self.hidpp10:
            if (value := self.try_register(Register.BATTERY_CHARGE)) is not None:
                return hidpp10.parse_battery_charge(value)
            if (value := self.try_register(Register.BATTERY_STATUS)) is not None:
                return hidpp10.parse_battery_status(value)
            return None
        try:
            pct, _next, status = hidpp20.parse_battery_status(self.call(FeatureId.BATTERY_STATUS, 0))
            return hidpp10.Battery(pct, f"{pct}%", status)
        except (FeatureMissing, Hidpp20Error):
            pass
        try:
            percent, level, status = hidpp20.parse_unified_battery(self.call(FeatureId.UNIFIED_BATTERY, 1))
            return hidpp10.Battery(percent, f"{percent}%" if percent is not None else level, status)
        except (FeatureMissing, Hidpp20Error):
            return None

    def control_infos(self) -> Iterator[hidpp20.ControlInfo]:
        """REPROG_CONTROLS_V4 getCount, then getCidInfo of each control as it is asked for."""
        for i in range(self.call(FeatureId.REPROG_CONTROLS_V4, 0)[0]):
            yield hidpp20.parse_control_info(i, self.call(FeatureId.REPROG_CONTROLS_V4, 1, bytes((i,))))

    def controls(self) -> list[Control]:
        """REPROG_CONTROLS_V4 controls and their reporting (diversion) state."""
        out = []
        for info in self.control_infos():
            reporting = None
            if info.divertable or info.flags & hidpp20.ControlFlag.PERSISTENTLY_DIVERTABLE:
                raw = self.call(FeatureId.REPROG_CONTROLS_V4, 2, info.cid.to_bytes(2, "big"))
                reporting = hidpp20.parse_control_reporting(raw)
            out.append(Control(info, reporting))
        return out
