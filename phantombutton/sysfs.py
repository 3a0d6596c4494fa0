"""Small text files the kernel exposes (sysfs attributes, /proc/PID/comm): one reader for
every layer, with no imports of its own, so a /proc scan loads nothing else."""

from __future__ import annotations


def read_text(path: str) -> str | None:
    """A small sysfs or /proc text file, stripped; None if it cannot be read. Bad bytes are
    replaced: a device name or a process's comm is whatever bytes its owner chose."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None
