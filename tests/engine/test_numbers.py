"""The one number formatter (cnnviz.numbers)."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.numbers import MINUS, exact, fixed, fmt, term


def test_fmt_writes_numbers_as_a_student_does():
    assert fmt(3.0) == "3"
    assert fmt(-0.0) == "0"
    assert fmt(-0.5) == "-0.5"
    assert fmt(1 / 3) == "0.333"
    assert fmt(1 / 3, 6) == "0.333333"
    assert fmt(float("inf")) == "∞"
    assert fmt(float("-inf")) == "-∞"
    assert fmt(float("nan")) == ""
    assert fmt(1.5e-8) == "1.5e-8"  # no "e-08"
    assert fmt(123456.5) == "1.23e5"
    assert fmt(-2.5, minus=MINUS) == "−2.5"


def test_term_brackets_negative_numbers():
    assert term(-1.0) == "(-1)"
    assert term(2.0) == "2"
    assert term(-0.0) == "0"


@given(st.floats(allow_nan=False, allow_infinity=False, width=32))
def test_exact_round_trips_every_float32(v):
    assert np.float32(exact(v)) == np.float32(v)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_fmt_is_within_its_significant_digits(v):
    text = fmt(v, 6)
    assert math.isclose(float(text), v, rel_tol=1e-5, abs_tol=0.0)


def test_fixed_drops_trailing_zeros():
    assert fixed(0.5) == "0.5"
    assert fixed(0.0) == "0"
    assert fixed(0.01) == "0.01"
    assert fixed(3.0) == "3"
    assert fixed(-0.00001) == "0"
    assert fixed(0.123456) == "0.1235"


def test_percent_never_rounds_to_100_or_0_what_is_not():
    from cnnviz.numbers import percent

    assert percent(0.9999356) == "99.99"
    assert percent(1.0) == "100" and percent(0.0) == "0"
    assert percent(0.5) == "50" and percent(0.0000643) == "0.00643"
    assert percent(0.99999) == "99.999"
    # two digits write 99.6 as "1e2": never that, and never 100 (a 99.6 % sure prediction)
    assert percent(0.996, 2) == "99.6" and percent(0.9996, 1) == "99.96"
    assert percent(0.00004, 1) == "0.004" and percent(0.5, 1) == "50"
    # what is not a number is written as fmt writes it, never an exception
    assert percent(float("nan"), 2) == "" and percent(float("inf")) == "∞"


def test_percent_text_keeps_the_sign_on_the_numbers_line():
    """A no-break space: "97.2 %" never wraps between the number and its sign."""
    from cnnviz.numbers import percent_text

    assert percent_text(0.972) == "97.2\u00a0%" and percent_text(0.9999356, 2) == "99.99\u00a0%"
