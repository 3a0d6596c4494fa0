"""Bit sets as the kernel and X hand them out (EVIOCGKEY, sysfs capabilities, XI button
state): an integer whose set bits are the codes."""

from __future__ import annotations


def set_bits(n: int) -> frozenset[int]:
    """The positions of the 1 bits of `n` >= 0, lowest first. Walks only the set bits: the
    usual answer (EVIOCGKEY's 768 bits, "nothing held") costs nothing."""
    out = []
    while n:
        low = n & -n
        out.append(low.bit_length() - 1)
        n ^= low
    return frozenset(out)
