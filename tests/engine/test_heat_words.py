"""cnnviz.heat_words: a heat map's place and peak in words, and the sentence reading Grad-CAM and
saliency (the Explore page's "why did it say that?")."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.heat_words import peak, place, reading


@pytest.mark.parametrize(
    ("r", "c", "words"),
    [
        (0, 0, "upper left"),
        (0, 14, "upper"),
        (14, 14, "centre"),
        (14, 27, "right"),
        (27, 27, "lower right"),
    ],
)
def test_the_place_of_one_hot_spot(r: int, c: int, words: str) -> None:
    heat = np.zeros((28, 28), np.float32)
    heat[r, c] = 1.0
    assert place(heat) == words


def test_the_peak_knows_whether_a_stroke_is_there() -> None:
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 2:26, 20] = 1.0  # a vertical stroke on the right
    heat = np.zeros((28, 28), np.float32)
    heat[14, 21] = 1.0
    assert peak(heat, x) == ("right", True)
    heat[3, 3] = 2.0
    assert peak(heat, x) == ("upper left", False)


def test_the_sentence_reads_both_maps_and_a_map_with_no_evidence() -> None:
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 2:26, 20] = 1.0
    cam = np.zeros((7, 7), np.float32)
    cam[3, 5] = 1.0  # the right of a 7 × 7 map: upsampled like the overlay
    sal = np.zeros((28, 28), np.float32)
    sal[14, 20] = 1.0
    words = reading("1", "layer 3", cam, sal, x)
    assert words.startswith(
        "Grad-CAM on layer 3 finds the evidence for **1** mostly in the **right**"
    )
    assert words.endswith("are in the **right**, on a stroke.")
    assert "no evidence *for* 1" in reading("1", "layer 3", np.zeros((7, 7)), sal, x)
