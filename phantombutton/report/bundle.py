"""The report archive: named members, what is missing and why, summary.md, one tar.gz.

Members sit at the archive's root (summary.md first), owned by uid 0 with no user or group
names and mode 0644, so the archive says nothing about the account that made it. Written
through outfile.atomic_output: the archive appears whole or not at all.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from dataclasses import dataclass, field

from phantombutton.report.markdown import analysis_markdown, code, md

SUMMARY = "summary.md"


@dataclass
class Member:
    """One file of a bug report archive."""

    name: str
    data: bytes
    what: str


@dataclass
class Bundle:
    """The files of a bug report archive and what could not be collected."""

    created: float = field(default_factory=time.time)
    members: list[Member] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # "what: why", shown to the user
    versions: dict = field(default_factory=dict)
    receivers: list[dict] = field(default_factory=list)  # info --json's receivers
    analysis: dict | None = None                         # analyze_file's report
    command: str = "phantombutton report"

    def add(self, name: str, data: str | bytes, what: str) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        self.members = [m for m in self.members if m.name != name] + [Member(name, raw, what)]

    def lack(self, what: str, why: str) -> None:
        self.missing.append(f"{what}: {why}")

    def names(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def useful(self) -> bool:
        """A capture, a device listing or kernel log lines: anything a maintainer can use
        beyond the versions."""
        return any(n in self.names() for n in ("capture.yml", "info.json", "kernel-log.txt"))

    # -- summary.md ------------------------------------------------------------------------
    def summary(self) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.created))
        out = ["## phantombutton report", "",
               (f"Made {stamp} by phantombutton {self.versions.get('phantombutton', '?')} "
               f"({code(self.command)}). Every file named below is in the attached archive."), ""]
        out += self._system()
        out += self._devices()
        if self.analysis is not None:
            out += [analysis_markdown(self.analysis), ""]
            if "timeline.svg" in self.names():
                out += [("The timeline of the capture is `timeline.svg` in the archive: attach it to "
                        "the issue to show it."), ""]
        out += ["### In the archive", "", "| file | what |", "|---|---|"]
        # descriptions are ours (they may hold code spans); file names are ours too
        out += [f"| {code(m.name)} | {m.what} |" for m in self.members if m.name != SUMMARY]
        out += [f"| {code(SUMMARY)} | this summary |", ""]
        if self.missing:
            out += ["### Missing", ""] + [f"- {md(m)}" for m in self.missing] + [""]
        return "\n".join(out)

    def _system(self) -> list[str]:
        v = self.versions
        if not v:
            return []
        rows = [("kernel", code(v.get("kernel", "?")))]
        rows += [(mod, md(v[mod])) for mod in ("hid-logitech-dj", "hid-logitech-hidpp") if mod in v]
        sess = v.get("session") or {}
        parts = [sess.get("headline", "?")]
        parts += [f"{k} {val}" for k, val in sess.items() if k.startswith("compositor ")]
        rows.append(("session", md("; ".join(parts))))
        x = v.get("xorg") or {}
        if x:
            rows.append(("Xorg", md(", ".join(f"{k} {val}" for k, val in x.items() if k != "log"))))
        rows.append(("libinput", md(v.get("libinput", "?"))))
        peers = (("solaar", "Solaar"), ("logid", "logiops (logid)"))
        rows += [(name, md(v[peer])) for peer, name in peers if peer in v]
        return ["### System", "", "| | |", "|---|---|"] + [f"| {k} | {val} |" for k, val in rows] + [""]

    def _devices(self) -> list[str]:
        if not self.receivers:
            return []
        out = ["### Receivers and devices", ""]
        for r in self.receivers:
            out.append(f"- {md(r.get('name'))} {code(r.get('node'))}, USB id 046d:{md(r.get('product'))}, "
                       f"{md(r.get('paired', '?'))} paired")
            for d in r.get("devices", []):
                bits = [f"WPID {d.get('wpid')}", str(d.get("protocol", "")), "online" if d.get("online") else "offline"]
                bits += [f"{k} {val}" for k, val in (d.get("settings") or {}).items()]
                if d.get("battery"):
                    bits.append(f"battery {d['battery'].get('level')}")
                out.append(f"  - slot {d.get('slot')}: {md(d.get('name'))} ({md(', '.join(b for b in bits if b))})")
        return out + [""]

    # -- the archive -----------------------------------------------------------------------
    def manifest(self) -> str:
        return json.dumps({"created": self.created, "command": self.command,
                           "members": {m.name: m.what for m in self.members},
                           "missing": self.missing}, indent=2) + "\n"

    def tar_gz(self) -> bytes:
        self.add("report.json", self.manifest(), "what the archive holds and what is missing, as JSON")
        self.add(SUMMARY, self.summary(), "this summary")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            for m in sorted(self.members, key=lambda m: (m.name != SUMMARY, m.name)):
                info = tarfile.TarInfo(m.name)
                info.size = len(m.data)
                info.mtime = int(self.created)
                info.mode = 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(m.data))
        return buf.getvalue()
