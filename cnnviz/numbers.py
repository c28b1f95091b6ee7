"""The one number formatter: how every number on screen is written.

- `fmt(v, digits)`: as a student writes it: 3 not 3.0, -0.5, 0.333, ∞; `digits` significant
  digits at most (3 on the step pages, 6 where a page is compared with torch by eye, 7 for the
  optimizer's arithmetic); empty for NaN.
- `term(v, digits)`: the same inside a sum or product, negative numbers in brackets: 2×(-1).
- `exact(v)`: the shortest text that is exactly this float32 (the clicked pixel's arithmetic).
- `fixed(v, places)`: at most `places` decimals, trailing zeros dropped (layer arguments: 0.5, 0.01).
- `percent(p, digits)`: a probability as a percentage, never rounded to 100 % or 0 % unless it is;
  `percent_text(p, digits)` the same with its sign, after a no-break space (PERCENT).
- `minus` swaps the ASCII hyphen for the typographic minus sign (picture captions).
"""

import math

import numpy as np

MINUS = "−"  # U+2212: the minus sign drawn into pictures (same width as +)
# " %" with a no-break space: a line never breaks between a number and its percent sign
PERCENT = "\u00a0%"


def fmt(v: float, digits: int = 3, minus: str = "-") -> str:
    """A number as a student writes it: 3 not 3.0, -0.5, 0.333, -∞; empty for NaN."""
    v = float(v)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        text = "-∞" if v < 0 else "∞"
    elif v == 0:
        text = "0"  # also -0.0
    elif v.is_integer() and abs(v) < 1e15:
        text = str(int(v))
    else:
        text = f"{v:.{digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}e{int(exp)}"
    return text.replace("-", minus)


def term(v: float, digits: int = 3) -> str:
    """A number inside a sum or product: negative ones in brackets, 2×(-1)."""
    text = fmt(v, digits)
    return f"({text})" if text.startswith("-") else text


def exact(v: float) -> str:
    """The shortest text that is exactly this float32: what the page promises is right."""
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def fixed(v: float, places: int = 4) -> str:
    """At most `places` decimals without trailing zeros: 0.5, 0.01, 3; "0" for zero."""
    text = f"{v:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def percent(p: float, digits: int = 3) -> str:
    """A probability p (0..1) as a percentage with `digits` significant digits, more where
    rounding would write 100 or 0 for what is not (99.994, not 100); beyond 12 digits, the
    nearest of 99.999999999 or 100."""
    v = 100 * float(p)
    if not math.isfinite(v):  # NaN (a broken net's outputs) is "", infinity "∞", as fmt writes
        return fmt(v, digits)
    for d in range(digits, 13):
        text = fmt(v, d)
        if v in (0.0, 100.0) or float(text) not in (0.0, 100.0):  # 99.6 in 2 digits is 1e2
            return text
    return text


def percent_text(p: float, digits: int = 3) -> str:
    """`percent(p, digits)` and the sign: "97.2 %", never broken across two lines."""
    return percent(p, digits) + PERCENT
