"""Backprop: one training step of a tiny net (conv -> optional pooling -> squared error), the
gradient followed back through pooling and convolution to the update, every sum written out."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import backprop as bp
from cnnviz.backprop import fmt
from cnnviz.figures.walk import cells_figure
from cnnviz.shapes import SettingError
from cnnviz.ui.common import (
    link_to,
    link_with,
    run_safely,
    show_grid,
    show_setting_error,
    show_source,
)
from cnnviz.ui.grid_editor import grid_box
from cnnviz.ui.nav import page_at
from cnnviz.ui.present import presentation_mode
from cnnviz.walks.grids import stack_channels

MAX_INPUT, MAX_KERNEL, MAX_CHANNELS = 8, 4, 3
POOL_WORDS = {"none": "none", "max": "max pooling", "avg": "average pooling"}
PAGE_WIDTH = 1000


def controls() -> dict:
    s: dict = {}
    # open, except when presenting: then the gradients come first (one click shows the numbers)
    expanded = not presentation_mode()
    with st.expander(
        "The net, its numbers and its target", expanded=expanded, icon=":material/tune:"
    ):
        row = st.columns(7)
        s["channels"] = row[0].number_input(
            "Input channels", 1, MAX_CHANNELS, 1, key="ch", bind="query-params"
        )
        s["stride"] = row[1].number_input("Stride", 1, 3, 1, key="s", bind="query-params")
        s["padding"] = row[2].number_input("Padding", 0, 2, 0, key="p", bind="query-params")
        s["dilation"] = row[3].number_input("Dilation", 1, 3, 1, key="d", bind="query-params")
        s["bias"] = row[4].number_input("Bias", -9.0, 9.0, 0.0, 0.5, key="b", bind="query-params")
        s["pool"] = row[5].selectbox(
            "Then pooling", bp.POOLS, format_func=POOL_WORDS.get, key="pool", bind="query-params"
        )
        s["pool_size"] = row[6].number_input(
            "Pool window", 1, 3, 2, key="pk", bind="query-params", disabled=s["pool"] == "none"
        )
        c = int(s["channels"])
        cols = st.columns(2 * c + 1)
        xs, ks = [], []
        for i in range(c):
            with cols[2 * i]:
                name = f"Input channel {i + 1}" if c > 1 else "Input x"
                xs.append(grid_box(name, f"x{i}", bp.DEFAULT_INPUT[i], MAX_INPUT))
            with cols[2 * i + 1]:
                name = f"Kernel slice {i + 1}" if c > 1 else "Kernel W"
                ks.append(grid_box(name, f"k{i}", bp.DEFAULT_KERNEL[i], MAX_KERNEL))
        with cols[-1]:
            s["target"] = grid_box("Target", "t", bp.DEFAULT_TARGET, MAX_INPUT)
            s["lr"] = st.number_input(
                "Learning rate",
                0.0,
                10.0,
                bp.DEFAULT_LR,
                0.005,
                format="%.4g",
                key="lr",
                bind="query-params",
            )
        st.caption(
            f"Inputs up to {MAX_INPUT}×{MAX_INPUT}, kernels up to "
            f"{MAX_KERNEL}×{MAX_KERNEL}. The loss is L = Σ (output − target)²."
        )
    s["x"] = stack_channels(xs, "input grid")
    s["w"] = stack_channels(ks, "kernel slice")
    return s


def run_lesson(s: dict, notes: list[str]) -> bp.Lesson:
    args = dict(
        stride=int(s["stride"]),
        padding=int(s["padding"]),
        dilation=int(s["dilation"]),
        pool=s["pool"],
        pool_size=int(s["pool_size"]),
        lr=float(s["lr"]),
    )
    shape = bp.lesson(s["x"], s["w"], float(s["bias"]), None, **args).z.shape[-2:]
    target = s["target"]
    if target.shape != shape:
        notes.append(
            f"The target is {target.shape[0]}×{target.shape[1]} but the output is "
            f"{shape[0]}×{shape[1]}: using a target of zeros. Type a "
            f"{shape[0]}×{shape[1]} grid to set your own."
        )
        target = np.zeros(shape, np.float32)
    return bp.lesson(s["x"], s["w"], float(s["bias"]), target, **args)


# ----------------------------------------------------------------------------- drawing


def labels(a: np.ndarray) -> np.ndarray:
    return np.vectorize(fmt, otypes=[str])(a)


def grid(
    a: np.ndarray, title: str, key: str, marks=None, kind: str = "done", width: int = 300
) -> None:
    """A small grid of numbers; `marks` maps a kind ("current", "window") to cells."""
    kinds = np.full(a.shape, kind, dtype=object)
    for mark, cells in (marks or {}).items():
        for cell in cells:
            kinds[cell] = mark
    show_grid(cells_figure(labels(a), kinds.astype(str), title, (), width), key)


def say(text: str, key: str) -> None:
    """An equation in large type, in a container tests and users can find by its key."""
    st.container(key=key).markdown(
        f"<div style='font-size:1.2rem;line-height:1.5'>{text}</div>", unsafe_allow_html=True
    )


def cell_picker(label: str, key: str, shape: tuple[int, int]) -> tuple[int, int]:
    """Pick a cell (row, column), 1-based on screen and in the URL, 0-based returned."""
    a, b = st.columns(2)
    r = a.number_input(f"{label}: row", 1, shape[0], 1, key=f"{key}r", bind="query-params")
    c = b.number_input(f"{label}: column", 1, shape[1], 1, key=f"{key}c", bind="query-params")
    return int(r) - 1, int(c) - 1


def forward(ls: bp.Lesson) -> None:
    st.subheader("1. Forward: output and loss")
    c = ls.x.shape[0]
    cols = st.columns(2 * c + 3)
    for i in range(c):
        with cols[2 * i]:
            grid(ls.x[i], "x" if c == 1 else f"x, channel {i + 1}", f"fx{i}", kind="input")
        with cols[2 * i + 1]:
            grid(ls.weight[0, i], "W" if c == 1 else f"W, slice {i + 1}", f"fw{i}", kind="weight")
    with cols[-3]:
        grid(ls.y[0], "y = conv(x, W) + b", "fy")
    if ls.pool != "none":
        with cols[-2]:
            grid(ls.z[0], f"z = {ls.pool}_pool(y)", "fz")
    with cols[-1]:
        grid(ls.target[0], "target", "ft", kind="padding")
    name = "z" if ls.pool != "none" else "y"
    st.caption(
        f"The convolution is the one on the Step by step page (bias b = {fmt(ls.bias)}); "
        f"the loss compares {name} with the target."
    )
    say(bp.loss_equation(ls), "eq_loss")


def backward_out(ls: bp.Lesson) -> tuple[int, int]:
    st.subheader("2. Backward starts at the loss: dL/d(output)")
    pooled = ls.pool != "none"
    name = "z" if pooled else "y"
    st.write(
        f"L = Σ ({name} − target)², so each cell's gradient is dL/d{name} = 2 × ({name} − "
        "target): positive where the output is too big, negative where it is too small."
    )
    a, b = st.columns([1, 2])
    with a:
        r, c = cell_picker("Cell", "o", ls.z.shape[-2:])
        grid(ls.grad_z[0], f"dL/d{name}", "gz", {"current": [(r, c)]})
    with b:
        say(bp.grad_out_equation(ls, r, c), "eq_dz")
    if not pooled:
        return r, c
    st.subheader(f"3. Through the {POOL_WORDS[ls.pool]}: dL/dy")
    if ls.pool == "max":
        st.write(
            "Max pooling passed on only each window's largest value, so only that cell "
            "gets the window's gradient (the first one in reading order on a tie, as in "
            "PyTorch); the others get 0."
        )
    else:
        st.write(
            f"Average pooling divided each window's sum by {ls.pool_size**2}, so every "
            "cell of the window gets an equal share: dL/dz ÷ the same divisor."
        )
    a, b = st.columns([1, 2])
    with a:
        r, c = cell_picker("Conv output cell", "y", ls.y.shape[-2:])
        grid(ls.grad_y[0], "dL/dy", "gy", {"current": [(r, c)]})
    with b:
        say(bp.pool_equation(ls, bp.pool_trace(ls, r, c)), "eq_dy")
    return r, c


def weight_grads(ls: bp.Lesson, n: int) -> tuple[int, int, int]:
    st.subheader(f"{n}. dL/dW: each weight's gradient")
    st.write(
        "A weight touched one input pixel for every output cell, so its gradient adds up "
        "input pixel × dL/dy over the output cells: the input cross-correlated with dL/dy "
        "(dL/dy slides over the input like a kernel, with the layer's stride and "
        "dilation swapped)."
    )
    c = ls.x.shape[0]
    kh, kw = ls.weight.shape[-2:]
    a, b, d = st.columns([1, 1, 2])
    with a:
        ch = 0
        if c > 1:
            ch = int(st.number_input("Slice", 1, c, 1, key="wch", bind="query-params")) - 1
        i, j = cell_picker("Weight", "w", (kh, kw))
        grid(
            ls.grad_w[0, ch],
            "dL/dW" if c == 1 else f"dL/dW, slice {ch + 1}",
            "gw",
            {"current": [(i, j)]},
        )
    tr = bp.weight_trace(ls, ch, i, j)
    with b:
        pt, pl = ls.pad_before
        seen = [(t.pixel[0], t.pixel[1]) for t in tr.terms if not t.is_padding]
        grid(ls.x[ch], f"pixels W[{i + 1},{j + 1}] touched", "gw_x", {"window": seen}, kind="input")
        grid(ls.grad_y[0], "dL/dy", "gw_y")
        if pt or pl:
            st.caption("Terms on padding multiply a 0: they add nothing.")
    with d:
        say(bp.weight_equation(tr, c), "eq_dw")
        st.caption(
            "One term per output cell, in reading order: the input pixel under this "
            "weight when that cell was computed × that cell's dL/dy."
        )
        same = np.array_equal(bp.weight_grad_as_correlation(ls), ls.grad_w)
        (sh, _), (dh, _) = ls.stride, ls.dilation
        st.markdown(
            f"`conv2d(x, dL/dy, stride={dh}, dilation={sh})` (dL/dy as the kernel, the "
            f"padded input as the picture, cropped to {kh}×{kw}) gives "
            f"{'the same numbers' if same else 'DIFFERENT numbers'}."
        )
        say(bp.bias_equation(bp.bias_trace(ls)), "eq_db")
        st.caption(
            "The bias was added to every output cell once: its gradient is the sum of dL/dy."
        )
    return ch, i, j


def input_grads(ls: bp.Lesson, n: int) -> None:
    st.subheader(f"{n}. dL/dx: what the layer passes back to the layer before")
    st.write(
        "An input pixel was touched by one kernel weight per window that covered it, so "
        "its gradient adds up weight × that window's dL/dy. Over all pixels that is the "
        "“full” convolution of dL/dy with the flipped kernel: a transposed "
        "convolution."
    )
    c = ls.x.shape[0]
    a, b = st.columns([1, 2])
    with a:
        ch = 0
        if c > 1:
            ch = int(st.number_input("Channel", 1, c, 1, key="xch", bind="query-params")) - 1
        r, col = cell_picker("Pixel", "x", ls.x.shape[-2:])
        grid(
            ls.grad_x[ch],
            "dL/dx" if c == 1 else f"dL/dx, channel {ch + 1}",
            "gx",
            {"current": [(r, col)]},
        )
    tr = bp.input_trace(ls, ch, r, col)
    with b:
        say(bp.input_equation(tr, c), "eq_dx")
        for line in bp.input_terms_words(tr):
            st.markdown(f"- {line}")
        t = bp.transposed_settings(ls)
        if t is not None and max(t["output_padding"]) <= 3:
            (sh, _), (ph, _), (oh, ow), (dh, _) = (
                t["stride"],
                t["padding"],
                t["output_padding"],
                t["dilation"],
            )
            same = cnnviz.conv_transpose2d(ls.grad_y, ls.weight, **t)
            ok = "the same numbers" if np.array_equal(same, ls.grad_x) else "DIFFERENT numbers"
            st.markdown(
                f"`conv_transpose2d(dL/dy, W, stride={sh}, padding={ph}, "
                f"output_padding={max(oh, ow)}, dilation={dh})` gives {ok}."
            )
            link_with(
                "pages/step_by_step.py",
                "Watch it stamp by stamp on Step by step",
                dict(
                    mode="Transposed conv",
                    ch=1,
                    x0=_text(ls.grad_y[0]),
                    k0=_text(ls.weight[0, ch]),
                    s=sh,
                    p=ph,
                    d=dh,
                    opad=max(oh, ow),
                ),
            )


def _text(a: np.ndarray) -> str:
    from cnnviz.kernels import format_kernel

    return format_kernel(a)


def update(ls: bp.Lesson, ch: int, i: int, j: int, n: int) -> None:
    st.subheader(f"{n}. The update: W ← W − lr × dL/dW")
    c = ls.x.shape[0]
    cols = st.columns(4)
    title = "" if c == 1 else f", slice {ch + 1}"
    with cols[0]:
        grid(ls.weight[0, ch], f"W{title}", "uw", {"current": [(i, j)]}, kind="weight")
    with cols[1]:
        grid(ls.grad_w[0, ch], f"dL/dW{title}", "ug", {"current": [(i, j)]})
    with cols[2]:
        grid(ls.new_weight[0, ch], f"new W{title}", "un", {"current": [(i, j)]}, kind="weight")
    with cols[3]:
        say(bp.update_equation(ls, ch, i, j), "eq_update")
        say(bp.bias_update_equation(ls), "eq_bias_update")
    better = "lower" if ls.new_loss < ls.loss else "not lower (try a smaller learning rate)"
    say(
        f"With the new W and b, the same input gives L = {fmt(ls.new_loss)} (was "
        f"{fmt(ls.loss)}): {better}.",
        "eq_new_loss",
    )
    st.caption(
        "This is plain SGD, the Train page's “sgd” rule; momentum and Adam change how "
        "dL/dW becomes a step (the Train page writes each rule out, the Ideas page "
        "compares Adam + L2 with AdamW)."
    )
    link_to(page_at("pages/train.py"), "Train a CNN: the update rule at every step")


def page() -> None:
    st.title("Backprop")
    st.write(
        "A convolution, then (if you like) a pooling, then a loss: forward, then every "
        "gradient on the way back, each sum written out, then the weights' update. Every "
        "number is the engine's, and the tests check each against PyTorch's autograd."
    )
    notes: list[str] = []
    s = controls()
    try:
        ls = run_lesson(s, notes)
    except SettingError as err:
        for note in notes:
            st.warning(note, icon=":material/info:")
        show_setting_error(err)
        return
    for note in notes:
        st.warning(note, icon=":material/info:")
    forward(ls)
    backward_out(ls)
    n = 4 if ls.pool != "none" else 3
    ch, i, j = weight_grads(ls, n)
    input_grads(ls, n + 1)
    update(ls, ch, i, j, n + 2)
    show_source(
        bp.lesson, cnnviz.conv2d_backward, cnnviz.trace_grad_weight, cnnviz.trace_grad_input
    )


run_safely(page)
