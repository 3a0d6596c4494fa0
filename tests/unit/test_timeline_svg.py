"""`analyze --svg`: the timeline drawn by a real headless Chromium and by librsvg.

Each picture is rendered to PNG and read back pixel by pixel: every lane's swatch must show
its colour at the place the layout says, and the data must be drawn where the capture puts
it (the phantom's kernel and X bars, the finding band, a link-up marker). A picture that does
not render, or renders without its lanes, fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from phantombutton.capture.timeline import build
from phantombutton.cli.cmd_analyze import analyze_file
from phantombutton.cli.main import main
from phantombutton.report import svg as S

CAPTURES = Path(__file__).resolve().parents[2] / "captures"


def _need(exe: str) -> str:
    path = shutil.which(exe)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exe} not installed (scripts/test installs it)")
        pytest.skip(f"{exe} not installed (scripts/test installs it)")
    return path


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _near(px, color: str, tol: int = 14) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(px[:3], _rgb(color)))


def chromium_png(svg: Path, out: Path, height: int) -> Path:
    exe = _need("chromium")
    subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--hide-scrollbars", f"--user-data-dir={out.parent / 'chromium-profile'}",
                    f"--screenshot={out}", f"--window-size={S.WIDTH},{height}", svg.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return out


def rsvg_png(svg: Path, out: Path) -> Path:
    exe = _need("rsvg-convert")
    subprocess.run([exe, str(svg), "-o", str(out)], check=True, capture_output=True, timeout=60)
    return out


def check_picture(png: Path, capture: Path, layout: S.Layout) -> None:
    from PIL import Image

    img = Image.open(png).convert("RGB")
    assert img.size[0] == S.WIDTH and img.size[1] >= layout.height - 1
    px = img.load()
    timeline = build(str(capture), layout.t_end)
    names = {ln.name for ln in layout.lanes if ln.device == 0}
    for lane in ["wheel", "motion (density)", "HID++ kernel", "HID++ Solaar", "HID++ phantombutton",
                 "HID++ other / unknown", "connection", "findings (rule)"]:
        assert lane in names
    for ln in layout.lanes:   # every swatch, at the place the layout gives
        y = int(ln.y)
        if ln.color == S.KERNEL and ln.name.startswith(("BTN_", "0x", "X button", "buttons")):
            assert _near(px[S.LABEL_X + 6, y + 5], S.KERNEL), ln
            assert _near(px[S.LABEL_X + 6, y + 12], S.XHELD), ln
        else:
            assert _near(px[S.LABEL_X + 6, y + 9], ln.color), (ln, px[S.LABEL_X + 6, y + 9])
    d = timeline.devices[0]
    (code,) = [c for c, ivs in d.kernel.items() if ivs[-1].end is None]   # the held phantom
    lane = next(ln for ln in layout.lanes if ln.device == 0 and ln.name.startswith(("BTN_", "0x")))
    t = (d.kernel[code][-1].start + layout.t_end) / 2
    x = int(S.x_of(t, layout.t_end))
    assert _near(px[x, int(lane.y) + 5], S.KERNEL), px[x, int(lane.y) + 5]
    assert _near(px[x, int(lane.y) + 13], S.XHELD), px[x, int(lane.y) + 13]
    f_lane = layout.lane(0, "findings (rule)")
    r, g, b = px[x, int(f_lane.y) + 9]
    assert r > g + 40 and r > b + 40, (r, g, b)          # the finding band: red at 35 % over the lane
    ups = [c.t for c in d.connections if c.up]
    c_lane = layout.lane(0, "connection")
    assert ups and _near(px[int(S.x_of(ups[-1], layout.t_end)), int(c_lane.y) + 12], S.CONNECTION)
    # outside every bar the lane stays its background
    assert _near(px[S.PLOT_X0 + 2, int(layout.lane(0, "HID++ phantombutton").y) + 9], "#f4f4f4")


@pytest.mark.parametrize("name", ["original-bug", "phantom-middle"])
def test_chromium_renders_lanes(tmp_path, name):
    cap = CAPTURES / f"{name}.yml"
    out = tmp_path / f"{name}.svg"
    assert main(["analyze", "--svg", str(out), str(cap)]) == 3
    _, layout = S.timeline_svg(str(cap), analyze_file(str(cap)))
    png = chromium_png(out, tmp_path / f"{name}.png", layout.height)
    check_picture(png, cap, layout)


@pytest.mark.parametrize("name", ["original-bug", "phantom-middle"])
def test_rsvg_renders_lanes(tmp_path, name):
    cap = CAPTURES / f"{name}.yml"
    out = tmp_path / f"{name}.svg"
    assert main(["analyze", "--svg", str(out), str(cap)]) == 3
    _, layout = S.timeline_svg(str(cap), analyze_file(str(cap)))
    check_picture(rsvg_png(out, tmp_path / f"{name}.png"), cap, layout)


def test_bundled_svgs_are_current():
    """captures/<name>.svg is what `analyze --svg` draws today (re-run it after a change)."""
    for cap in sorted(CAPTURES.glob("*.yml")):
        svg, _ = S.timeline_svg(str(cap), analyze_file(str(cap)))
        committed = cap.with_suffix(".svg").read_text(encoding="utf-8")
        assert committed == svg.replace(str(cap), cap.name), cap.name


def test_plain_svg_escapes_capture_strings(tmp_path):
    """A capture is untrusted: a device name cannot add markup, scripts or links."""
    text = (CAPTURES / "phantom-middle.yml").read_text(encoding="utf-8")
    evil = text.replace('name: "Logitech M705"', 'name: "M705 <script>alert(1)</script> & <a href=x>"')
    p = tmp_path / "evil.yml"
    p.write_text(evil, encoding="utf-8")
    out = tmp_path / "evil.svg"
    assert main(["analyze", "--svg", str(out), str(p)]) == 3
    s = out.read_text(encoding="utf-8")
    assert "<script" not in s and "<a " not in s and 'href="' not in s
    assert "M705 &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href=x&gt;" in s


def test_svg_refuses_a_symlink(tmp_path, capsys):
    target = tmp_path / "precious"
    target.write_text("keep")
    link = tmp_path / "out.svg"
    link.symlink_to(target)
    assert main(["analyze", "--svg", str(link), str(CAPTURES / "clean-session.yml")]) == 1
    assert "symbolic link" in capsys.readouterr().err and target.read_text() == "keep"
