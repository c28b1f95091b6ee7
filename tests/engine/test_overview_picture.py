"""cnnviz.render.overview: a net as one picture. Every thumbnail is where the layout says (a click
at its centre names it), thumbnails never overlap, more channels than shown are named, and a
receptive-field box is drawn in the outline colour on the cells it covers."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnviz.render.overview import MAX_SHOWN, OUTLINE, overview_png

shapes = st.one_of(
    st.tuples(st.integers(1, 20), st.integers(1, 30), st.integers(1, 30)),
    st.tuples(st.integers(1, 500)),
)


@settings(max_examples=15, deadline=None)
@given(st.lists(shapes, min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_a_click_at_a_thumbnail_names_its_column_and_channel(layer_shapes, seed) -> None:
    rng = np.random.default_rng(seed)
    columns = [
        (f"{i}. layer", rng.standard_normal(s).astype(np.float32))
        for i, s in enumerate(layer_shapes)
    ]
    ov = overview_png(columns)
    im = Image.open(io.BytesIO(ov.png))
    assert im.size == (ov.width, ov.height)
    for col, (_, values) in enumerate(columns):
        n = values.shape[0] if values.ndim == 3 else 1
        mine = [t for t in ov.thumbs if t.column == col]
        assert [t.channel for t in mine] == list(range(min(n, MAX_SHOWN)))
    for t in ov.thumbs:
        assert 0 <= t.left < t.right <= ov.width and 0 <= t.top < t.bottom <= ov.height
        assert ov.hit((t.left + t.right - 1) / 2, (t.top + t.bottom - 1) / 2) == (
            t.column,
            t.channel,
        )
    assert ov.hit(0, 0) is None  # the margin


def test_a_box_is_outlined_on_the_cells_it_covers_and_clipped_to_the_map() -> None:
    columns = [("input", np.zeros((1, 28, 28), np.float32))]
    ov = overview_png(columns, {0: (-2, 20, 5, 40)})  # reaches over the top and the right edge
    (t,) = ov.thumbs
    im = np.asarray(Image.open(io.BytesIO(ov.png)).convert("RGB"))
    f = (t.right - t.left) // 28
    magenta = np.all(im == OUTLINE, axis=-1)
    assert magenta[t.top : t.top + 5 * f, t.left + 20 * f].all()  # the box's left side
    assert not magenta[t.top + 5 * f + 2 :, :].any()  # nothing below the box
    assert not magenta[:, : t.left + 20 * f].any()  # nothing left of it
