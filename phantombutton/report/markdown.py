"""Markdown for pasting into an issue: `analyze --markdown`, and the report's summary.md.

GitHub-flavoured Markdown: short headings, one table, long HID++ context folded in a
<details> block so the issue stays readable. Strings from a capture are untrusted: they are
escaped so they cannot open HTML, close a table cell or a code span.
"""

from __future__ import annotations

from phantombutton.detect.chatter import verdict_line


def md(s: object) -> str:
    """Text safe in a Markdown paragraph or table cell."""
    return (str(s).replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("`", "'").replace("\n", " "))


def code(s: object) -> str:
    """An inline code span (backticks cannot occur inside)."""
    return "`" + str(s).replace("`", "'").replace("\n", " ") + "`"


def _finding(i: int, f) -> list[str]:
    out = [f"#### [{i}] {md(f.rule)}: {md(f.headline())}", ""]
    ids = f.where()
    if str(f.rule) not in ("switch-chatter", "stale-diversion"):   # intervals, not holds
        ids.append("still held at the end of the capture" if f.ended is None else f"released at {f.ended:.3f} s")
    if not ids:
        ids.append(f"from {f.since:.3f} s to {f.ended:.3f} s")
    out += ["- " + ", ".join(ids), "", "Evidence:", ""]
    out += [f"- {md(e)}" for e in f.evidence]
    if f.hidpp_context:
        out += ["", f"<details><summary>HID++ traffic before it ({len(f.hidpp_context)} frames)</summary>", ""]
        out += [f"- {md(c)}" for c in f.hidpp_context]
        out += ["", "</details>"]
    if f.settings:
        out += ["", "Settings: " + md("; ".join(f.settings))]
    out += ["", f"**Likely cause:** {md(f.cause)}", "", f"**Suggested fix:** {md(f.fix)}", ""]
    return out


def analysis_markdown(report: dict) -> str:
    """cli/cmd_analyze.analyze_file's dict as Markdown."""
    findings = report["findings"]
    name = str(report["file"]).rsplit("/", 1)[-1]
    verdict = verdict_line(findings, "**")
    out = [f"### phantombutton analyze: {code(name)}", "", f"Verdict: {verdict}", ""]
    devs = ", ".join(f"{md(d['name'] or '?')} ({code(d['node'])})" for d in report["devices"]) or "none"
    rows = [("devices", devs),
            ("recorded", (f"{report['evdev_events']} evdev events, {report['hid_reports']} HID reports, "
                         f"{report['duration']:.3f} s"))]
    if report.get("kernel"):
        rows.append(("kernel", code(report["kernel"])))
    if report.get("x_input_driver"):
        rows.append(("X input driver", code(report["x_input_driver"])))
    end = report.get("end") or {}
    if end:
        rows.append(("capture ends", f"{end['t']:.3f} s ({md(end['how'])})"))
    if not report["complete"] and report.get("own_capture"):
        rows.append(("note", ("no end marker: the capture was stopped or killed; read up to its last "
                             "complete frame")))
    out += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    held = report.get("held_at_end") or []
    if held:
        out += ["**Held at the end of the capture:**", ""] + [f"- {md(h['sentence'])}" for h in held] + [""]
    for i, f in enumerate(findings, 1):
        out += _finding(i, f)
    return "\n".join(out).rstrip("\n") + "\n"
