"""TOML text for service/config.py: values printed as TOML (escaped), and the line a key was
written on, for error messages (tomllib gives lines only for syntax errors).

Nothing here knows the configuration's sections: config.py validates, this module only
reads and writes TOML text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from phantombutton.errors import BadInput


def syntax_error(path: Path, text: str, message: str) -> BadInput:
    """tomllib says "Invalid value (at line 2, column 16)": lead with file:line and the key."""
    m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if not m:
        return BadInput(f"{path}: TOML syntax error: {message}")
    line, col = int(m.group(1)), int(m.group(2))
    what = message[:m.start()]
    all_lines = text.split("\n")   # tomllib counts "\n" only, not every splitlines() break
    source = all_lines[line - 1] if 0 < line <= len(all_lines) else ""
    key = KeyLines._KEY.match(source)
    header = KeyLines._HEADER.match(source)
    near = (f" in key {dotted(split_dotted(key.group(1)))}" if key
            else f" in table [{comment(header.group(1))}]" if header else "")
    return BadInput(f"{path}:{line}:{col}: TOML syntax error{near}: {what.lower()}")


def too_deep(data: dict, limit: int) -> tuple[str, ...] | None:
    """The key path of a value nested more than `limit` tables/arrays deep, or None."""
    stack: list[tuple[Any, tuple[str, ...], int]] = [(data, (), 0)]
    while stack:
        value, keypath, depth = stack.pop()
        if depth > limit:
            return keypath
        if isinstance(value, dict):
            stack.extend((v, keypath + (str(k),), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, keypath, depth + 1) for v in value)
    return None


def deepest_line(text: str) -> int:
    """The line (1-based) where brackets and braces are open deepest; a rough count (strings
    are not skipped) only used to point at a value tomllib could not nest."""
    depth = best = 0
    best_line = line = 1
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > best:
                best, best_line = depth, line
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "\n":
            line += 1
    return best_line


def show(value: Any) -> str:
    """A value as the message shows it: TOML, escaped, at most 60 characters."""
    if isinstance(value, dict):
        return "a table"
    try:
        text = to_toml_value(value)
    except TypeError:          # dates and times: no TOML form of ours, Python's is clear
        text = comment(repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def dotted(keypath: tuple[str, ...]) -> str:
    # the device key, written [device."101B"], keeps its quotes
    return ".".join(part if re.fullmatch(r"[A-Za-z0-9_-]+", part) and not (i == 1 and keypath[0] == "device")
                    else f'"{escape(part)}"' for i, part in enumerate(keypath))


class KeyLines:
    """Finds the line (1-based) where a key was written; tomllib gives lines only for syntax.

    Understands what this file format uses: [table] / [table."quoted"] headers and
    `key = value` lines, with bare or quoted keys and dotted keys. Returns None when unsure.
    """

    _HEADER = re.compile(r'^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$')   # [t] and [[t]]
    _KEY = re.compile(r'^\s*((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
                      r'(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\'))*)\s*=')

    def __init__(self, text: str):
        self._where: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for n, line in enumerate(text.splitlines(), 1):
            if m := self._HEADER.match(line):
                table = split_dotted(m.group(1))
                self._where.setdefault(table, n)
                continue
            if m := self._KEY.match(line):
                full = table + split_dotted(m.group(1))
                for i in range(len(table) + 1, len(full) + 1):
                    self._where.setdefault(full[:i], n)

    def find(self, keypath: tuple[str, ...]) -> int | None:
        for i in range(len(keypath), 0, -1):
            if keypath[:i] in self._where:
                return self._where[keypath[:i]]
        return None


def split_dotted(s: str) -> tuple[str, ...]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', s)
    return tuple(_unescape(a) if a else b or c for a, b, c in parts)


def _unescape(body: str) -> str:
    """A basic string's body as TOML reads it ("a\\nb" is a newline), for the key lookup."""
    if "\\" not in body:
        return body
    import tomllib   # deferred as in config.parse(), which is the only caller

    try:
        return tomllib.loads(f'k = "{body}"')["k"]
    except tomllib.TOMLDecodeError:
        return body


# --- printing values ----------------------------------------------------------------------

def to_toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + escape(value) + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


_CONTROLS = {c: f"\\u{c:04X}" for c in (*range(0x20), 0x7F)}
_ESCAPES = _CONTROLS | str.maketrans({"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n",
                                       "\f": "\\f", "\r": "\\r"})


def escape(text: str) -> str:
    """A TOML basic string's body: backslash, quote and every control character escaped
    (TOML 1.0 allows none of U+0000..U+001F or U+007F raw, bar tab)."""
    return text.translate(_ESCAPES)


def comment(text: str) -> str:
    """Text for a comment: control characters (a newline would end it) escaped."""
    return text.translate(_CONTROLS)
