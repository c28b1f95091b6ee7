"""Ideas: weight sharing, convolution vs cross-correlation, 1x1 convolutions, batch norm, and
Adam + L2 vs AdamW, each one to touch, with the engine's numbers (cnnviz.ideas)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import ideas
from cnnviz.backprop import fmt, term
from cnnviz.figures.walk import cells_figure
from cnnviz.kernels import KernelError, parse_kernel
from cnnviz.shapes import SettingError
from cnnviz.ui.common import (
    link_with,
    run_safely,
    show_grid,
    show_lines,
    show_setting_error,
    show_source,
)
from cnnviz.ui.params import choice

TOPICS = {
    "sharing": "Weight sharing",
    "flip": "Convolution vs correlation",
    "pointwise": "1×1 convolution",
    "batchnorm": "Batch norm",
    "adamw": "Adam + L2 vs AdamW",
    "residual": "Residual connections",
}
PICTURE = "0 0 0 0 0 0; 0 1 2 1 0 0; 0 2 4 2 0 0; 0 1 2 1 0 0; 0 0 0 0 0 0; 0 0 0 0 0 0"


def grid_text(label: str, key: str, default: str, max_size: int = 8) -> np.ndarray:
    """A grid typed as text, bound to the URL; text that cannot be read stops the topic with a
    sentence (SettingError), the rest of the page stays."""
    text = st.text_input(
        label,
        default,
        key=key,
        bind="query-params",
        help="Numbers separated by spaces, rows by ';'.",
    )
    try:
        return parse_kernel(text, max_size=max_size)
    except KernelError as err:
        raise SettingError(f"{label} could not be read: {err}") from None


def draw(a: np.ndarray, title: str, key: str, kinds=None, kind: str = "done") -> None:
    k = np.full(a.shape, kind, dtype=object) if kinds is None else kinds
    labels = np.vectorize(fmt, otypes=[str])(a)
    show_grid(cells_figure(labels, k.astype(str), title, (), 260), key)


def say(text: str, key: str) -> None:
    st.container(key=key).markdown(
        f"<div style='font-size:1.15rem;line-height:1.5'>{text}</div>", unsafe_allow_html=True
    )


def sharing() -> None:
    st.write(
        "A convolution uses the same kernel at every position. Move the picture and the "
        "feature map moves the same way, number for number (translation equivariance); "
        "only cells whose window met new pixels at the border change."
    )
    a, b, c = st.columns(3)
    x = grid_text("Picture", "sx", PICTURE)
    with a:
        down = st.slider("Shift down", -3, 3, 1, key="down", bind="query-params")
    with b:
        right = st.slider("Shift right", -3, 3, 1, key="right", bind="query-params")
    with c:
        k = grid_text("Kernel", "sk", "1 0; 0 -1", 4)
    d = ideas.shift_demo(x[None], k[None], int(down), int(right))
    cols = st.columns(4)
    with cols[0]:
        draw(d.x[0], "picture", "sh_x", kind="input")
    with cols[1]:
        draw(d.shifted_x[0], "shifted picture", "sh_sx", kind="input")
    with cols[2]:
        draw(d.y_of_shifted[0], "conv(shifted picture)", "sh_ys")
    with cols[3]:
        kinds = np.where(d.same, "done", "current").astype(object)
        draw(d.shifted_y[0], "shift(conv(picture))", "sh_sy", kinds)
    n = d.same.size
    say(
        f"conv(shift(x)) and shift(conv(x)) agree on {d.agree} of {n} cells; orange cells are "
        "where a window met the border.",
        "eq_shift",
    )
    st.markdown("**Parameters: the same input, a conv layer vs a dense (fully connected) layer**")
    a, b, c, e = st.columns(4)
    cin = a.number_input("Input channels", 1, 512, 3, key="pc", bind="query-params")
    size = b.number_input("Input size", 1, 512, 32, key="ps", bind="query-params")
    cout = c.number_input("Output channels", 1, 512, 16, key="po", bind="query-params")
    ksz = e.number_input("Kernel", 1, 11, 3, key="pk", bind="query-params")
    p = ideas.param_count((cin, size, size), int(cout), int(ksz))
    co, ho, wo = p.out_shape
    st.table(
        {
            "layer": [
                f"Conv2d({cin}, {cout}, {ksz})",
                f"Linear({cin * size * size}, {co * ho * wo})",
            ],
            "weights": [f"{p.conv_weights:,}", f"{p.dense_weights:,}"],
            "biases": [f"{p.conv_biases:,}", f"{p.dense_biases:,}"],
            "total": [f"{p.conv:,}", f"{p.dense:,}"],
        }
    )
    say(
        f"Both map {cin}×{size}×{size} to {co}×{ho}×{wo}; the dense layer needs "
        f"{p.dense / p.conv:,.0f} times as many parameters.",
        "eq_params",
    )
    show_source(ideas.shift_demo, ideas.param_count)


def flip() -> None:
    st.write(
        "PyTorch's conv2d (like every deep learning library) computes a cross-correlation: "
        "the kernel is not flipped. Convolution in mathematics and signal processing turns "
        "the kernel by 180° first. A net learns its kernels, so it does not care; you care "
        "when you copy a kernel from a textbook, and only if it is not symmetric."
    )
    a, b = st.columns(2)
    with a:
        x = grid_text("Picture", "fx", "0 0 0 0 0; 0 0 0 0 0; 0 0 1 0 0; 0 0 0 0 0; 0 0 0 0 0")
    with b:
        k = grid_text("Kernel", "fk", "1 2 3; 4 5 6; 7 8 9", 5)
    flipped = st.toggle(
        "Flip the kernel (convolution as mathematics defines it)",
        False,
        key="flip",
        bind="query-params",
    )
    corr = cnnviz.conv2d(x[None], k[None, None], padding="same")[0]
    conv = ideas.true_convolution(x[None], k[None, None], padding="same")[0]
    cols = st.columns(3)
    with cols[0]:
        draw(
            ideas.flip(k) if flipped else k,
            "kernel used" + (" (flipped)" if flipped else ""),
            "fl_k",
            kind="weight",
        )
    with cols[1]:
        draw(
            conv if flipped else corr,
            "convolution" if flipped else "cross-correlation (torch)",
            "fl_out",
        )
    with cols[2]:
        draw(corr if flipped else conv, "the other one", "fl_other", kind="input")
    if ideas.flip_matters(k):
        say(
            "This kernel is not symmetric under a 180° turn: the two outputs differ. A single "
            "1 in the picture stamps the kernel flipped under cross-correlation and upright "
            "under convolution.",
            "eq_flip",
        )
    else:
        say(
            "This kernel looks the same turned by 180°: flipped or not, the output is the same.",
            "eq_flip",
        )
    show_source(ideas.true_convolution)


def pointwise() -> None:
    st.write(
        "A 1×1 convolution looks at one pixel at a time, across all channels: each output "
        "channel is a weighted sum of the input channels at that pixel. It mixes channels "
        "and changes their number (3 → 2 here), never the picture's size."
    )
    cols = st.columns(4)
    xs = []
    defaults = ("1 2 3; 4 5 6; 7 8 9", "1 0 1; 0 1 0; 1 0 1", "2 2 2; 0 0 0; -1 -1 -1")
    for i in range(3):
        with cols[i]:
            xs.append(grid_text(f"Channel {i + 1}", f"px{i}", defaults[i]))
    with cols[3]:
        w = grid_text("Weights (one row per output channel)", "pw", "1 1 1; 0.5 0 -1", 4)
    if len({g.shape for g in xs}) > 1:
        raise SettingError("The three channels need the same size.")
    x = np.stack(xs)
    if w.shape[1] != 3:
        raise SettingError(
            f"Each row of weights needs 3 numbers, one per input channel; the "
            f"rows have {w.shape[1]}."
        )
    out = ideas.pointwise(x, w)
    a, b = st.columns(2)
    r = a.number_input("Pixel row", 1, x.shape[1], 1, key="pr", bind="query-params") - 1
    c = b.number_input("Pixel column", 1, x.shape[2], 1, key="pcol", bind="query-params") - 1
    cols = st.columns(len(out))
    for o, col in enumerate(cols):
        with col:
            kinds = np.full(out[o].shape, "done", dtype=object)
            kinds[r, c] = "current"
            draw(out[o], f"output channel {o + 1}", f"pw_out{o}", kinds)
            t = cnnviz.trace(x, w[:, :, None, None], row=int(r), col=int(c), out_channel=o)
            terms = " + ".join(
                f"{term(ch.weights[0, 0])}×{term(ch.window[0, 0])}" for ch in t.channels
            )
            say(f"out{o + 1}[{r + 1},{c + 1}] = {terms} = {fmt(t.total)}", f"eq_pw{o}")
    st.caption(
        f"{len(out)}×3 weights, whatever the picture's size: the cheap way to go from "
        "many channels to few (ResNet's bottlenecks, Inception's reductions)."
    )
    show_source(ideas.pointwise)


def batchnorm() -> None:
    st.write(
        "Batch norm normalises each channel. While training it uses the statistics of "
        "the batch in front of it (and nudges its running mean and variance towards "
        "them); at eval it uses the running statistics, so one image's result does not "
        "depend on the others in its batch. Same input, both modes:"
    )
    cols = st.columns(3)
    defaults = ("1 2; 3 4", "0 0; 2 2", "5 1; 1 5")
    xs = []
    for i in range(3):
        with cols[i]:
            xs.append(grid_text(f"Image {i + 1} of the batch", f"bx{i}", defaults[i], 4))
    if len({g.shape for g in xs}) > 1:
        raise SettingError("The batch's images need the same size.")
    x = np.stack(xs)[:, None]
    a, b, c = st.columns(3)
    rm = a.number_input("Running mean", -100.0, 100.0, 0.0, key="rm", bind="query-params")
    rv = b.number_input("Running variance", 0.0, 100.0, 1.0, key="rv", bind="query-params")
    mom = c.number_input("Momentum", 0.0, 1.0, 0.1, key="mom", bind="query-params")
    train = ideas.batch_norm(x, [rm], [rv], training=True, momentum=mom)
    evl = ideas.batch_norm(x, [rm], [rv], training=False, momentum=mom)
    for res, name, key in (
        (train, "training (model.train())", "bn_t"),
        (evl, "eval (model.eval())", "bn_e"),
    ):
        st.markdown(f"**{name}**")
        cols = st.columns(3)
        for i, col in enumerate(cols):
            with col:
                draw(res.y[i, 0], f"image {i + 1}", f"{key}{i}")
        say(
            f"uses mean {fmt(res.mean[0])}, variance {fmt(res.var[0])}: y = (x − "
            f"{fmt(res.mean[0])}) / √({fmt(res.var[0])} + 1e-5)",
            f"eq_{key}",
        )
    say(
        f"After this training batch the running mean is {fmt(train.running_mean[0])} and the "
        f"running variance {fmt(train.running_var[0])} (momentum {fmt(mom)}; the variance mixed "
        "in is the batch's unbiased one, as PyTorch does).",
        "eq_bn_running",
    )
    show_source(ideas.batch_norm)


def adamw() -> None:
    st.write(
        "The Train page's weight decay is Adam's `weight_decay` (L2): the decay term is "
        "added to the gradient, so Adam's per-weight scaling divides it too, and weights "
        "with large gradients hardly decay. AdamW decouples it: every weight shrinks by "
        "lr × weight_decay × w, whatever its gradient. Three weights on the loss "
        "L = Σ scale × (w − target)² / 2:"
    )
    a, b, c = st.columns(3)
    with a:
        w0 = grid_text("Start weights", "aw", "2 -3 0.5", 6)
    with b:
        target = grid_text("Targets", "at", "1 1 1", 6)
    with c:
        scale = grid_text("Scales (steepness)", "as", "100 1 0.01", 6)
    if not (w0.shape == target.shape == scale.shape and w0.shape[0] == 1):
        raise SettingError("Start weights, targets and scales need one row with the same count.")
    a, b, c = st.columns(3)
    lr = a.number_input(
        "Learning rate", 0.0001, 1.0, 0.1, format="%.4g", key="alr", bind="query-params"
    )
    wd = b.number_input("Weight decay", 0.0, 1.0, 0.1, key="awd", bind="query-params")
    n = c.number_input("Steps", 1, 50, 5, key="an", bind="query-params")
    l2 = ideas.adam_run(w0[0], target[0], scale[0], lr, wd, False, int(n))
    dec = ideas.adam_run(w0[0], target[0], scale[0], lr, wd, True, int(n))
    rows = {"step": [s.t for s in l2]}
    for k in range(w0.shape[1]):
        rows[f"w{k + 1} Adam+L2"] = [fmt(s.w_new[k]) for s in l2]
        rows[f"w{k + 1} AdamW"] = [fmt(s.w_new[k]) for s in dec]
    st.table(rows)
    k = (
        st.number_input(
            "Write out the first step of weight", 1, w0.shape[1], 1, key="ak", bind="query-params"
        )
        - 1
    )
    a, b = st.columns(2)
    with a:
        st.markdown("**Adam + L2** (`torch.optim.Adam(weight_decay=...)`)")
        show_lines("\n".join(ideas.adam_equations(l2[0], k, lr, wd, False)))
    with b:
        st.markdown("**AdamW** (`torch.optim.AdamW(weight_decay=...)`)")
        show_lines("\n".join(ideas.adam_equations(dec[0], k, lr, wd, True)))
    say(
        f"After {int(n)} steps, weight {k + 1}: Adam + L2 {fmt(l2[-1].w_new[k])}, AdamW "
        f"{fmt(dec[-1].w_new[k])}.",
        "eq_adamw",
    )
    show_source(ideas.adam_run)


@st.cache_data(max_entries=32, show_spinner=False)
def depth_runs(depth: int, steps: int, lr: float) -> dict:
    """Both runs for these settings. Seeded, so the same for every student: one class pressing
    the button trains each setting once (a bounded, exactly keyed cache of no one's data)."""
    from cnnviz.arch import residual as res

    specs = {"plain": res.plain_spec(depth), "residual": res.residual_spec(depth)}
    return {name: res.gradient_run(spec, steps, lr) for name, spec in specs.items()}


def residual() -> None:
    from cnnviz import arch
    from cnnviz.arch import residual as res

    st.write(
        "A residual block adds its input to what its two convs make: y = relu(conv(relu("
        "conv(x))) + x). Write it `res8` in the architecture text (the Train page's editor "
        "has it too). The skip gives the gradient a path no conv shrinks: in a deep plain "
        "stack the first layers' gradients all but vanish, with skips they do not."
    )
    a, b, c = st.columns(3)
    depth = a.select_slider(
        "Convs after the stem", list(range(2, 17, 2)), 16, key="depth", bind="query-params"
    )
    steps = b.number_input("Training steps", 1, 60, 10, key="rsteps", bind="query-params")
    lr = c.number_input(
        "Learning rate", 0.001, 1.0, 0.05, format="%.3g", key="rlr", bind="query-params"
    )
    specs = {"plain": res.plain_spec(int(depth)), "residual": res.residual_spec(int(depth))}
    cols = st.columns(2)
    for col, (name, spec) in zip(cols, specs.items()):
        with col:
            rows = arch.summarize(spec, (1, res.SIZE, res.SIZE), 2)
            st.markdown(f"**{name.capitalize()}**: `{spec}`")
            st.dataframe(
                {
                    "layer": [r.name for r in rows],
                    "output": [" × ".join(map(str, r.out_shape)) for r in rows],
                    "parameters": [r.params for r in rows],
                    "receptive field": [str(r.receptive_field or "") for r in rows],
                },
                hide_index=True,
                height=240,
                key=f"table_{name}",
            )
            total = sum(r.params for r in rows)
            st.caption(f"{total:,} parameters.")
            link_with(
                "pages/train.py",
                f"Train the {name} net on the Train page",
                {"arch": spec, "step": "Architecture"},  # it opens on the net's table
            )
    key = (int(depth), int(steps), float(lr))
    if st.button("Train both for a few steps", key="rtrain", icon=":material/play_arrow:"):
        with st.spinner("Training both nets on this server's CPU..."):
            st.session_state["residual_runs"] = (key, depth_runs(*key))
    stored = st.session_state.get("residual_runs")
    if not stored or stored[0] != key:
        st.caption(
            "Press the button: both nets train with the same seed and data, and each "
            "step records the size (norm) of every conv's weight gradient."
        )
        return
    runs = stored[1]
    bars = [
        {"layer": layer, "norm": float(norm), "run": f"{name}, step {step}"}
        for name, run in runs.items()
        for step, norms in ((1, run.grad_norms[0]), (len(run.losses), run.grad_norms[-1]))
        for layer, norm in zip(run.layers, norms)
    ]
    floor = min(b["norm"] for b in bars if b["norm"] > 0) / 3 if bars else 1e-6
    spec = {
        "height": 320,
        "data": {"values": bars},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {
                "field": "layer",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelAngle": 0},
            },
            "xOffset": {"field": "run", "sort": None},
            "y": {
                "field": "norm",
                "type": "quantitative",
                "scale": {"type": "log", "domainMin": floor},
                "title": "gradient norm (log scale)",
            },
            # a log axis has no 0: the bars rise from a floor below the smallest norm
            "y2": {"datum": floor},
            "color": {
                "field": "run",
                "type": "nominal",
                "sort": None,
                "title": None,
                "legend": {"orient": "bottom"},
            },
            "tooltip": [
                {"field": "run"},
                {"field": "layer"},
                {"field": "norm", "title": "gradient norm", "format": ".3g"},
            ],
        },
    }
    st.vega_lite_chart(spec, width="stretch", key="rgrad")
    p, r = runs["plain"], runs["residual"]
    say(
        f"First conv's gradient at step 1: plain {p.grad_norms[0, 0]:.3g}, residual "
        f"{r.grad_norms[0, 0]:.3g} ({r.grad_norms[0, 0] / max(p.grad_norms[0, 0], 1e-30):.3g} "
        f"times larger). Loss after {len(p.losses)} steps: plain {p.losses[-1]:.4f}, residual "
        f"{r.losses[-1]:.4f}.",
        "eq_residual",
    )
    show_source(res.gradient_run, arch.ResidualBlock)


def page() -> None:
    st.title("Ideas")
    st.write(
        "Six ideas every CNN course needs, each to touch. The numbers are the engine's; "
        "the tests check them against PyTorch."
    )
    topic = choice("Idea", TOPICS, "sharing", "topic")
    draw_topic = {
        "sharing": sharing,
        "flip": flip,
        "pointwise": pointwise,
        "batchnorm": batchnorm,
        "adamw": adamw,
        "residual": residual,
    }[topic or "sharing"]
    try:
        draw_topic()
    except SettingError as err:
        show_setting_error(err, title="This cannot be computed")


run_safely(page)
