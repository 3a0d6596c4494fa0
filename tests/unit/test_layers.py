"""The layer order of docs/DESIGN.md holds: no module imports a layer below its own (at module
top or inside a function), and root modules import only root modules."""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "phantombutton"


def layer_order(design: str) -> list[str]:
    """Folder names in the order of the DESIGN.md layer table (highest first)."""
    return re.findall(r"^\| `phantombutton/(\w+)/` \|", design, re.M)


def imported(source: str, module: str, is_package: bool) -> list[str]:
    """Every phantombutton module a source imports, relative imports resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            name = ".".join(base + ([node.module] if node.module else []))
            out += [f"{name}.{a.name}" for a in node.names] if not node.module else [name]
    return [m for m in out if m == "phantombutton" or m.startswith("phantombutton.")]


def layer_of(module: str, folders: set[str]) -> str | None:
    """The folder (layer) of a module; None for a root module."""
    parts = module.split(".")
    if parts[1:] == ["__main__"]:
        return "cli"          # `python -m phantombutton` is the command line's entry point
    return parts[1] if len(parts) > 1 and parts[1] in folders else None


def violations(files: dict[str, tuple[str, bool]], order: list[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(order)}
    bad = []
    for module, (source, is_package) in files.items():
        mine = layer_of(module, set(order))
        for target in imported(source, module, is_package):
            theirs = layer_of(target, set(order))
            if theirs is None or theirs == mine:
                continue          # a root module, or the same layer
            if mine is None or rank[theirs] > rank[mine]:
                bad.append(f"{module} ({mine or 'root'}) imports {target} ({theirs})")
    return bad


def package_files() -> dict[str, tuple[str, bool]]:
    files = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        files[".".join(parts)] = (path.read_text(), is_package)
    return files


def test_design_table_names_every_folder():
    order = layer_order((ROOT / "docs" / "DESIGN.md").read_text())
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} - {"data"}
    assert set(order) == folders, (order, folders)


def test_no_module_imports_a_layer_below_its_own():
    order = layer_order((ROOT / "docs" / "DESIGN.md").read_text())
    assert violations(package_files(), order) == []


def test_the_scanner_sees_upward_imports_and_allows_downward_ones():
    order = ["hidpp", "transport", "cli"]
    files = {
        "phantombutton.transport.engine": ("from ..hidpp import frames\nimport phantombutton.errors\n", False),
        "phantombutton.hidpp.frames": ("def f():\n    from phantombutton.transport import engine\n", False),
        "phantombutton.buttons": ("from phantombutton.cli import main\n", False),
        "phantombutton.cli.main": ("from phantombutton.transport.engine import Engine\n", False),
    }
    assert violations(files, order) == [
        "phantombutton.hidpp.frames (hidpp) imports phantombutton.transport (transport)",
        "phantombutton.buttons (root) imports phantombutton.cli (cli)",
    ]
