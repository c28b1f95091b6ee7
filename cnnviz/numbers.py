"""Numbers as a student writes them: 3 not 3.0, -0.5, 0.333, -∞ (the walks' and backprop's words)."""

from __future__ import annotations

import math


def fmt(v: float, digits: int = 3) -> str:
    """A number as a student writes it: 3 not 3.0, -0.5, 0.333, -∞; empty for NaN (`digits`
    significant digits at most)."""
    v = float(v)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "-∞" if v < 0 else "∞"
    if v == 0:
        return "0"  # also -0.0
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    text = f"{v:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text


def term(v: float, digits: int = 3) -> str:
    """A number inside a sum or product: negative ones in brackets, 2×(-1)."""
    text = fmt(v, digits)
    return f"({text})" if text.startswith("-") else text
