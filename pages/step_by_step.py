"""Step by step: the sliding window with every multiply and add, across channels, for
convolution, max and average pooling, and transposed convolution (stamps, or a convolution over
the zero-inserted input)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import explain, walks
from cnnviz.shapes import SettingError
from cnnviz.ui import links
from cnnviz.ui import quiz as quiz_ui
from cnnviz.ui import step_controls as sc
from cnnviz.ui.common import run_safely, show_setting_error, show_source
from cnnviz.ui.params import choice
from cnnviz.ui.present import presentation_mode, settings_box
from cnnviz.ui.step_draw import draw_stamp_step, draw_window_step
from cnnviz.ui.stepper import player


def size_sentence(s: dict) -> None:
    """How the output size came out: the formula with the user's numbers (as Output size)."""
    out = walks.walk_size(s["mode"], s["input"].shape[-2:], **sc.walk_args(s))
    h, w = out.size
    st.markdown(f"#### Output {h} × {w}", help="The formula is the one on the Output size page.")
    st.markdown("  \n".join(explain.size_lines(out)))


def channel_sentence(s: dict) -> None:
    """What one filter (or pooling) does with the channels, said plainly."""
    mode = s["mode"]
    kernel = None if s["weight"] is None else s["weight"].shape[-2:]
    text = explain.channel_text(mode, s["input"].shape[0], kernel, s.get("count_include_pad", True))
    icon = ":material/grid_view:" if mode in sc.POOLS else ":material/layers:"
    st.info(text, icon=icon)


def walk_section(walk, s: dict) -> None:
    """The player and the grids of the current step."""
    mode = s["mode"]
    if mode != "max_pool" and not np.isfinite(walk.output).all():
        st.warning(
            "Some results are too large for 32-bit floats (beyond about 3.4e38) and show as ∞, "
            "as they would in PyTorch.",
            icon=":material/warning:",
        )
    label = sc.MODES[mode]
    if mode != "conv_transpose":
        player(walk.n_steps, lambda k: draw_window_step(walk, k, s, label))
        return
    view = choice("Show it as", sc.VIEWS, "stamps", "view")
    same = "the same numbers" if walks.views_agree(walk) else "DIFFERENT numbers (a bug!)"
    st.markdown(
        f"Both views give {same}: the stamps and the convolution over the zero-inserted "
        f"input are one operation. " + explain.zero_insertion_text(walk)
    )
    if view == "conv":
        conv = walk.as_conv
        player(conv.n_steps, lambda k: draw_window_step(conv, k, s, label + " as conv"))
    else:
        player(walk.n_steps, lambda k: draw_stamp_step(walk, k, label))


def page() -> None:
    st.title("Step by step")
    present = presentation_mode()
    if not present:
        st.write(
            "The window starts at the top-left corner, multiplies, adds, writes one number, "
            "and moves on. Every number below is the one the engine (and PyTorch) computes."
        )
    quiz = quiz_ui.quiz_mode()
    raw = sc.read_link()
    with settings_box("Grids and settings", sidebar=False):
        s = sc.controls()
    links.number_notes(raw)
    # presenting: the grids and their arithmetic first, the explanations under them
    first, second = st.container(), st.container()
    walk_box, words = (first, second) if present else (second, first)
    mode = s["mode"]
    try:
        walk = sc.make_walk(s)
        with words:
            size_sentence(s)
    except SettingError as err:
        show_setting_error(sc.usable(err, mode), apply=sc.apply_fix)
        return
    with words:
        channel_sentence(s)
    with walk_box:
        walk_section(walk, s)
    if quiz:
        quiz_ui.step_card(walk, walk.n_steps)
    if mode == "conv":
        show_source(walks.conv_walk, cnnviz.trace)
    elif mode == "conv_transpose":
        show_source(walks.transpose_walk, walks.zero_inserted, cnnviz.conv_transpose2d)
    else:
        show_source(walks.pool_walk, cnnviz.max_pool2d if mode == "max_pool" else cnnviz.avg_pool2d)


# This page explains its own numbers, choices and grids from the link (see step_controls).
run_safely(page, own_link_notes=sc.OWN_LINK_NOTES)
