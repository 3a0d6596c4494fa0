"""Nothing may import `hid`: hidapi's libusb backend detaches the kernel driver from the
receiver (the user's mouse and keyboard vanish). Use `import hidraw` (ecosystem.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = "hid"


def forbidden_imports(source: str, filename: str = "<src>") -> list[int]:
    """Line numbers importing module `hid` (import hid / import hid.x / from hid import ... /
    __import__("hid") / importlib.import_module("hid"))."""
    lines = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] == FORBIDDEN for alias in node.names):
                lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").split(".")[0] == FORBIDDEN:
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module") and str(node.args[0].value).split(".")[0] == FORBIDDEN:
                lines.append(node.lineno)
    return lines


def test_scanner_catches_every_form():
    bad = "import hid\nimport os, hid as h\nfrom hid import device\nimport hid.x\n__import__('hid')\n" \
          "importlib.import_module('hid')\n"
    assert forbidden_imports(bad) == [1, 2, 3, 4, 5, 6]
    fine = "import hidraw\nfrom hidraw import device\nfrom . import hid\nimport hidpp\n"
    assert forbidden_imports(fine) == []


def project_files() -> list[Path]:
    """Our own modules: hidden folders (caches, the lab's third-party venvs) are not ours."""
    files = []
    for top in ("phantombutton", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if not any(part.startswith(".") or part == "site-packages" for part in parts):
                files.append(path)
    return files


def test_no_module_imports_hid():
    offenders = []
    files = project_files()
    assert len(files) > 10
    for path in files:
        for line in forbidden_imports(path.read_text(encoding="utf-8"), str(path)):
            offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, "imports of the libusb `hid` module (use `import hidraw`): " + ", ".join(offenders)
