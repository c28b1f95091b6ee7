"""Compare with other settings (B): a second run beside the user's, on one shared colour scale.
Its controls rerun only this fragment."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from cnnviz import playground
from cnnviz.render.colormaps import shared_range
from cnnviz.shapes import SettingError
from cnnviz.ui.fragments import fragment, run
from cnnviz.ui.map_view import show_map


def compare_controls() -> dict:
    a, b, c, d = st.columns(4)
    return {
        "stride": a.selectbox(
            "B: stride", ("same", 1, 2, 3, 4), index=2, key="b_s", bind="query-params"
        ),
        "padding": b.selectbox("B: padding", ("same", 0, 1, 2, 3), key="b_p", bind="query-params"),
        "padding_mode": c.selectbox(
            "B: padding mode",
            ("same", "zeros", "reflect", "replicate", "circular"),
            key="b_pm",
            bind="query-params",
        ),
        "pool": d.selectbox(
            "B: pooling", ("same", "none", "max", "avg"), key="b_pool", bind="query-params"
        ),
    }


@fragment
def show_compare(image: np.ndarray, s: playground.Settings, r: playground.Result, view) -> None:
    """A second set of settings (B) beside the user's; its controls rerun only this part."""
    if not st.toggle("Compare with other settings (B)", False, key="cmp", bind="query-params"):
        return
    with st.container(border=True):
        b = compare_controls()
        changes = {k: v for k, v in b.items() if v != "same"}
        for k in ("stride", "padding"):
            if k in changes:
                changes[k] = (changes[k], changes[k])
        sb = replace(s, **changes)
        try:
            rb = run(image, sb)
        except SettingError as err:
            st.error(f"**B cannot work.** {err}", icon=":material/block:")
            return
        cols = st.columns(2)
        finals = [res.pooled if res.pooled is not None else res.activated for res in (r, rb)]
        rng = shared_range(finals[0][0], finals[1][0])
        for col, label, res, st_, final in zip(
            cols, ("A (your settings)", "B"), (r, rb), (s, sb), finals
        ):
            with col:
                o, ho, wo = res.feature.shape
                text = f"conv {ho} × {wo}"
                if res.pooled is not None:
                    text += f" → pool {final.shape[1]} × {final.shape[2]}"
                show_map(final[0], f"{label}: {text}", view, rng)
                st.caption(
                    f"stride {st_.stride}, padding {st_.padding}, {st_.padding_mode}, "
                    f"pooling {st_.pool}"
                )
        st.caption("A and B share one colour scale: the same colour is the same number in both.")
