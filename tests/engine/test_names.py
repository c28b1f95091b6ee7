"""File names made from free text are never cut mid-word (downloads, saved runs)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from cnnviz.names import file_stem


def test_examples():
    assert (
        file_stem("my holiday photo from the beach in Brittany.jpg", 30)
        == "my_holiday_photo_from_the"
    )
    assert file_stem("digits LeNet-5 97.8% 2026-12-02", 40, "-") == "digits-LeNet-5-97-8-2026-12-02"
    assert file_stem("???") == "file" and file_stem("x" * 50, 10) == "x" * 10
    assert file_stem("photo d'été", 40) == "photo_d_été"


@given(st.text(max_size=120), st.integers(5, 60))
def test_never_cut_mid_word(text, limit):
    stem = file_stem(text, limit)
    assert len(stem) <= limit
    words = [w for w in re.split(r"[\W_]+", text) if w]
    if stem != "file" and words and len(words[0]) <= limit:
        assert stem.split("_") == words[: len(stem.split("_"))]
