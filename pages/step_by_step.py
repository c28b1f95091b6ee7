"""Step by step: the sliding window with every multiply and add, across channels, for
convolution, max and average pooling, and transposed convolution (stamps, or a convolution over
the zero-inserted input)."""

from __future__ import annotations

import numpy as np
import streamlit as st

import cnnviz
from cnnviz import explain, walks
from cnnviz.kernels import KernelError, format_kernel, parse_kernel
from cnnviz.numbers import fmt
from cnnviz.shapes import Fix, SettingError
from cnnviz.ui import quiz as quiz_ui
from cnnviz.ui.common import COUNT_FROM_0, hideable, run_safely, show_setting_error, show_source
from cnnviz.ui.present import presentation_mode, settings_box
from cnnviz.ui.sizes import CEIL_HELP, CEIL_LABEL, OUTPUT_PADDING_HELP, PADDING_KIND_HELP
from cnnviz.ui.stepper import grid_table, player
from cnnviz.walk_figures import (
    canvas_figure,
    frame_png,
    input_figure,
    output_figure,
    pair_figure,
    scatter_input_figure,
    walk_gif,
)

MODES = {
    "conv": "Convolution",
    "max_pool": "Max pool",
    "avg_pool": "Average pool",
    "conv_transpose": "Transposed conv",
}
VIEWS = {"stamps": "Stamps", "conv": "Convolution over the zero-inserted input"}
PADDINGS = ("number", "valid", "same", "full")
PADDING_WORDS = {  # padding mode -> what its frame holds
    "zeros": "zeros",
    "reflect": "the input mirrored at its edge",
    "replicate": "copies of the edge cells",
    "circular": "the input wrapped around from the other side",
}
MAX_INPUT, MAX_KERNEL, MAX_CHANNELS = 12, 5, 3
# The default: small enough to check by hand (the classic 5×5 example with an X-shaped kernel).
DEFAULT_INPUT = (
    "1 1 1 0 0; 0 1 1 1 0; 0 0 1 1 1; 0 0 1 1 0; 0 1 1 0 0",
    "0 1 0 1 0; 1 0 1 0 1; 0 1 0 1 0; 1 0 1 0 1; 0 1 0 1 0",
    "2 0 0 0 2; 0 2 0 2 0; 0 0 2 0 0; 0 2 0 2 0; 2 0 0 0 2",
)
DEFAULT_KERNEL = ("1 0 1; 0 1 0; 1 0 1", "0 1 0; 1 0 1; 0 1 0", "1 1 1; 0 0 0; -1 -1 -1")
PAGE_WIDTH = 1000  # pixels the page's main area gives the figures, roughly
PRESENT_WIDTH = 1200  # the same without the sidebar (presentation mode)
# URL names of the number widgets (checked on load: a bad value gets a note)
NUMBER_KEYS = ("ch", "b", "s", "p", "d", "pool_k", "pool_s", "opad")


# --------------------------------------------------------------------------------- settings


def grid_box(
    label: str, key: str, default: str, max_size: int, notes: list[str], table: bool = False
) -> np.ndarray:
    """A text box for one grid (rows separated by ';' or new lines), bound to the URL; text
    that cannot be read falls back to the default, with a note saying why."""
    text = st.text_area(
        label,
        default,
        key=key,
        bind="query-params",
        height=92,
        help="Numbers separated by spaces, rows by ';' or new lines.",
    )
    try:
        grid = parse_kernel(text, max_size=max_size)
    except KernelError as err:
        why = str(err) if "Kernel" in label else str(err).replace("kernel", "grid")
        notes.append(f"{label} could not be read ({why}) Using the default instead.")
        grid = parse_kernel(default, max_size=max_size)
    if table:
        grid_table(key, grid)
    return grid


def same_shape(grids: list[np.ndarray], what: str) -> np.ndarray:
    shapes = {g.shape for g in grids}
    if len(shapes) > 1:
        sizes = ", ".join(
            f"channel {i + 1}: {g.shape[0]}×{g.shape[1]}" for i, g in enumerate(grids)
        )
        raise SettingError(f"Every channel's {what} needs the same size ({sizes}).")
    return np.stack(grids)


def randomize() -> None:
    """Button callback: new random small integers in every grid (same sizes)."""
    rng = np.random.default_rng()
    for i in range(MAX_CHANNELS):
        for key, default, lo, hi in (
            (f"x{i}", DEFAULT_INPUT[i], 0, 5),
            (f"k{i}", DEFAULT_KERNEL[i], -2, 2),
        ):
            try:
                shape = parse_kernel(st.session_state.get(key, default), max_size=MAX_INPUT).shape
            except KernelError:
                shape = parse_kernel(default).shape
            st.session_state[key] = format_kernel(rng.integers(lo, hi + 1, shape))


def reset_grids() -> None:
    for i in range(MAX_CHANNELS):
        st.session_state[f"x{i}"] = DEFAULT_INPUT[i]
        st.session_state[f"k{i}"] = DEFAULT_KERNEL[i]


def controls(notes: list[str]) -> dict:
    s: dict = {}
    s["mode"] = hideable(
        "mode",
        "operation",
        lambda: st.segmented_control(
            "What slides over the grid",
            list(MODES),
            format_func=MODES.get,
            default="conv",
            required=True,
            key="mode",
            bind="query-params",
        ),
        fmt=lambda m: MODES[m].lower(),
    )
    mode = s["mode"]
    uses_kernel = mode in ("conv", "conv_transpose")
    # presentation mode: the page already wraps all settings in one expander (none nested)
    box = (
        st.container()
        if presentation_mode()
        else (st.expander("Grids and settings", expanded=True, icon=":material/tune:"))
    )
    with box:
        row = iter(st.columns(7))
        with next(row):
            s["channels"] = hideable(
                "ch",
                "input channels",
                lambda: st.number_input(
                    "Input channels", 1, MAX_CHANNELS, 1, key="ch", bind="query-params"
                ),
            )
        if mode in ("max_pool", "avg_pool"):
            with next(row):
                s["kernel_size"] = hideable(
                    "pool_k",
                    "window size",
                    lambda: st.number_input(
                        "Window size", 1, MAX_KERNEL, 2, key="pool_k", bind="query-params"
                    ),
                )
            with next(row):
                s["stride"] = hideable(
                    "pool_s",
                    "stride",
                    lambda: st.number_input(
                        "Stride",
                        1,
                        5,
                        2,
                        key="pool_s",
                        bind="query-params",
                        help="PyTorch's default is the window size",
                    ),
                )
        else:
            with next(row):
                s["stride"] = hideable(
                    "s",
                    "stride",
                    lambda: st.number_input(
                        "Stride",
                        1,
                        5,
                        1,
                        key="s",
                        bind="query-params",
                        help="how far the window moves each step",
                    ),
                )
        kind = "number"
        if mode == "conv":
            with next(row):
                kind = hideable(
                    "pk",
                    "padding",
                    lambda: st.selectbox(
                        "Padding", PADDINGS, key="pk", bind="query-params", help=PADDING_KIND_HELP
                    ),
                )
        if kind == "number":
            with next(row):
                s["padding"] = hideable(
                    "p",
                    "padding",
                    lambda: st.number_input(
                        "Padding" if mode != "conv" else "Padding cells",
                        0,
                        4,
                        0,
                        key="p",
                        bind="query-params",
                        help="cells added on each side",
                    ),
                )
        else:
            s["padding"] = kind
        if mode != "avg_pool":
            with next(row):
                s["dilation"] = hideable(
                    "d",
                    "dilation",
                    lambda: st.number_input(
                        "Dilation",
                        1,
                        4,
                        1,
                        key="d",
                        bind="query-params",
                        help="spacing between kernel taps",
                    ),
                )
        if mode == "conv":
            with next(row):
                s["padding_mode"] = hideable(
                    "pm",
                    "padding mode",
                    lambda: st.selectbox(
                        "Padding mode",
                        ("zeros", "reflect", "replicate", "circular"),
                        key="pm",
                        bind="query-params",
                        help="what the padding frame holds",
                    ),
                )
        if mode == "conv_transpose":
            with next(row):
                s["output_padding"] = hideable(
                    "opad",
                    "output padding",
                    lambda: st.number_input(
                        "Output padding",
                        0,
                        3,
                        0,
                        key="opad",
                        bind="query-params",
                        help=OUTPUT_PADDING_HELP,
                    ),
                )
        if uses_kernel:
            with next(row):
                s["bias"] = hideable(
                    "b",
                    "bias",
                    lambda: st.number_input(
                        "Bias",
                        -99,
                        99,
                        0,
                        key="b",
                        bind="query-params",
                        help="added once, after the channels' sums",
                    ),
                )
        if mode in ("max_pool", "avg_pool"):
            with st.container(horizontal=True):
                s["ceil_mode"] = hideable(
                    "ceil",
                    "ceil_mode",
                    lambda: st.toggle(
                        CEIL_LABEL, False, key="ceil", bind="query-params", help=CEIL_HELP
                    ),
                )
                if mode == "avg_pool":
                    s["count_include_pad"] = hideable(
                        "cip",
                        "count_include_pad",
                        lambda: st.toggle(
                            "count_include_pad (padding counts in the divisor)",
                            True,
                            key="cip",
                            bind="query-params",
                        ),
                    )
        c = int(s["channels"])
        table = st.toggle(
            "Edit the grids in tables",
            False,
            key="tables",
            bind="query-params",
            help="a table under each text box; either one can be edited",
        )
        cols = st.columns(2 * c if uses_kernel else c)
        xs, ks = [], []
        for i in range(c):
            with cols[(2 if uses_kernel else 1) * i]:
                name = f"Input channel {i + 1}" if c > 1 else "Input"
                xs.append(grid_box(name, f"x{i}", DEFAULT_INPUT[i], MAX_INPUT, notes, table))
            if uses_kernel:
                with cols[2 * i + 1]:
                    kname = f"Kernel slice {i + 1}" if c > 1 else "Kernel"
                    ks.append(grid_box(kname, f"k{i}", DEFAULT_KERNEL[i], MAX_KERNEL, notes, table))
        with st.container(horizontal=True, vertical_alignment="center"):
            st.button("Random numbers", key="random", on_click=randomize, icon=":material/casino:")
            st.button(
                "Back to the example",
                key="reset",
                on_click=reset_grids,
                icon=":material/restart_alt:",
            )
            st.caption(
                f"Grids up to {MAX_INPUT}×{MAX_INPUT}, kernels up to {MAX_KERNEL}×{MAX_KERNEL}:"
                " numbers separated by spaces, rows by ';' or new lines."
            )
    s["input"] = same_shape(xs, "input grid")
    s["weight"] = same_shape(ks, "kernel slice") if uses_kernel else None
    return s


CHOICE_KEYS = {
    "mode": tuple(MODES.values()),
    "pk": PADDINGS,
    "pm": tuple(PADDING_WORDS),
    "view": tuple(VIEWS.values()),
}


def choice_notes(notes: list[str]) -> None:
    """A note for a choice in the link that is not one of the options (the default is used)."""
    for key, options in CHOICE_KEYS.items():
        text = st.query_params.get(key)
        if text is not None and text not in options:
            notes.append(
                f"The link's {key}={text!r} is not one of {', '.join(options)}; using the default."
            )


def url_notes(raw: dict[str, str | None], notes: list[str]) -> None:
    """A note for each number in the link that was not used (Streamlit fell back to the
    default, or kept the value inside its range)."""
    for key, text in raw.items():
        if text is None or key not in st.session_state:
            continue
        value = st.session_state[key]
        if text.strip() != str(value):
            notes.append(f"The link's {key}={text!r} is not a valid value here; using {value}.")


KEYS = {"padding": "p", "stride": "s", "dilation": "d", "output_padding": "opad"}


def fix_keys(mode: str) -> dict[str, str]:
    if mode in ("max_pool", "avg_pool"):
        return {**KEYS, "stride": "pool_s", "kernel_size": "pool_k"}
    return KEYS


def apply_fix(fix: Fix) -> None:
    """Button callback: set the widgets (and so the URL) to a fix the engine offered."""
    keys = fix_keys(st.session_state.get("mode", "conv"))
    for name, value in fix.changes:
        if name == "padding_mode":
            st.session_state["pm"] = value
        elif name in keys:
            if name == "padding":
                st.session_state["pk"] = "number"
            st.session_state[keys[name]] = int(value)


def usable(err: SettingError, mode: str) -> SettingError:
    """The same refusal, keeping only the fixes this page can apply with a button."""
    keys = set(fix_keys(mode)) | {"padding_mode"}
    fixes = [f for f in err.fixes if f.changes and all(n in keys for n, _ in f.changes)]
    return SettingError(str(err), fixes)


# ------------------------------------------------------------------------------- the walk


def make_walk(s: dict):
    return walks.make_walk(
        s["mode"],
        s["input"],
        s["weight"],
        (s.get("bias") or None),
        kernel_size=s.get("kernel_size"),
        stride=s["stride"],
        padding=s["padding"],
        dilation=s.get("dilation", 1),
        padding_mode=s.get("padding_mode", "zeros"),
        output_padding=s.get("output_padding", 0),
        ceil_mode=s.get("ceil_mode", False),
        count_include_pad=s.get("count_include_pad", True),
    )


def size_sentence(s: dict) -> None:
    """How the output size came out: the formula with the user's numbers (as Output size)."""
    mode = s["mode"]
    hw = s["input"].shape[-2:]
    if mode in ("max_pool", "avg_pool"):
        out = cnnviz.output_size(
            hw,
            s["kernel_size"],
            s["stride"],
            s["padding"],
            s.get("dilation", 1),
            op="pool",
            ceil_mode=s.get("ceil_mode", False),
        )
    elif mode == "conv":
        out = cnnviz.output_size(
            hw,
            s["weight"].shape[-2:],
            s["stride"],
            s["padding"],
            s["dilation"],
            padding_mode=s["padding_mode"],
        )
    else:
        out = cnnviz.output_size(
            hw,
            s["weight"].shape[-2:],
            s["stride"],
            s["padding"],
            s["dilation"],
            op="conv_transpose",
            output_padding=s["output_padding"],
        )
    h, w = out.size
    dims = out.dims[:1] if out.symmetric else out.dims
    parts = []
    for d in dims:
        label = "height and width" if len(dims) == 1 else d.axis
        parts.append(f"{label}: `{d.formula}` {d.explanation}")
    st.markdown(f"#### Output {h} × {w}", help="The formula is the one on the Output size page.")
    st.markdown("  \n".join(parts))


def channel_sentence(s: dict) -> None:
    """What one filter (or pooling) does with the channels, said plainly."""
    c = s["input"].shape[0]
    mode = s["mode"]
    if mode == "conv":
        kh, kw = s["weight"].shape[-2:]
        st.info(
            f"**One filter spans all input channels and yields one output channel.** This "
            f"filter is {c}×{kh}×{kw}: one {kh}×{kw} kernel slice per input channel. At every "
            f"step each slice multiplies its own channel's window, each channel gives a sum, "
            f"and the sums (plus the bias) add up to one number in the single output map. A "
            f"layer with 8 filters does this 8 times and makes 8 output channels.",
            icon=":material/layers:",
        )
    elif mode in ("max_pool", "avg_pool"):
        what = (
            "largest number (max pooling pads with −∞, so padding never wins)"
            if mode == "max_pool"
            else "sum of the numbers it covers, divided by how many cells it covers ("
            + ("padding cells included" if s.get("count_include_pad", True) else "input cells only")
            + "; never ceil_mode's cells past the end)"
        )
        st.info(
            f"**Pooling works on each channel on its own:** {c} channel{'s' * (c > 1)} in, "
            f"{c} out, no weights. The window takes the {what}.",
            icon=":material/grid_view:",
        )
    else:
        together = f"the {c} channels' stamps and " if c > 1 else ""
        st.info(
            f"**One filter spans all input channels and yields one output channel.** Each "
            f"input cell stamps its channel's kernel slice, scaled by the cell's value, onto the "
            f"output; {together}overlapping stamps add up; "
            f"stride spaces the stamps apart, padding crops the border, output_padding makes the "
            f"output longer at the bottom/right (first over stamped cells padding would have "
            f"cut, then past the last stamp, where only the bias lands), and the bias is added "
            f"at the end.",
            icon=":material/layers:",
        )


def big(text: str, key: str | None = None, size: float = 1.45) -> None:
    """A line of arithmetic in large type (a speaker projects this page)."""
    box = st.container(key=key) if key else st.container()
    box.markdown(
        f"<div style='font-size:{size}rem;line-height:1.45'>{text}</div>", unsafe_allow_html=True
    )


def chart(fig, key: str, fit: bool = False) -> None:
    """A grid figure at its own size, or (`fit`, and always when presenting) as wide as its
    column: a narrow column (150 % zoom, a small screen) must never cut a grid's numbers."""
    width = "stretch" if fit or presentation_mode() else "content"
    if width == "stretch":
        fig.update_layout(width=None, autosize=True)  # a fixed width would win over the column's
    st.plotly_chart(fig, width=width, config={"displayModeBar": False}, key=key)


def draw_window_step(walk, k: int, s: dict, label: str) -> None:
    """One convolution or pooling step: each channel's window, kernel slice and arithmetic;
    the output so far."""
    step = walk.step(k)
    c = walk.grid.shape[0]
    pool = walk.mode in ("max_pool", "avg_pool")
    # presenting one channel: input | kernel, products and sum | output, all on one screen
    three = presentation_mode() and c == 1
    width = (PRESENT_WIDTH if three else PAGE_WIDTH) // (3 if three else c + 1)
    cols = st.columns(3 if three else c + 1, gap="medium")
    lines = explain.pool_equation(step, walk.mode[:3]) if pool else explain.conv_equation(step)
    is_t = walk.mode == "conv_transpose_as_conv"
    for part, col in zip(step.parts, cols):
        with col:
            title = None
            if is_t:
                title = "Zero-inserted input" + (f", channel {part.channel + 1}" if c > 1 else "")
            chart(input_figure(walk, step, part.channel, width, title), f"in_{part.channel}")
        with cols[1] if three else col:
            if part.weights is not None:  # one figure: it fits a narrow column
                kname = "Kernel, flipped" if is_t else "Kernel"
                kname += f" slice {part.channel + 1}" if c > 1 else ""
                chart(
                    pair_figure(
                        part.weights, walk.dilation, part.products, f"{kname}  |  Products", width
                    ),
                    f"kp_{part.channel}",
                    fit=True,
                )
            big(lines[part.channel].replace("×", " × "), size=1.45 if c == 1 else 1.15)
    with cols[-1]:
        out = walk.output_until(k)
        for o in range(out.shape[0]):
            title = "Output" if out.shape[0] == 1 else f"Output, channel {o + 1}"
            chart(output_figure(out[o], (step.row, step.col), title, width), f"out_{o}")
        values = ", ".join(fmt(v) for v in step.values)
        big(
            f"Step {k + 1} of {walk.n_steps}: output cell (row {step.row}, column "
            f"{step.col}) = <b>{values}</b>",
            key="cell_value",
        )
        if not pool and len(lines) > len(step.parts):
            big(lines[-1], key="total")
        if pool and walk.mode == "max_pool":
            st.caption("Dark cell: the winner (the first one in reading order on a tie).")
    legend(walk, s)
    export(walk, k, label)


def legend(walk, s: dict) -> None:
    codes = set(np.unique(walk.codes).tolist())
    words = ["orange: the window's taps, outlined"]
    if walks.PADDING in codes:
        fill = PADDING_WORDS[s.get("padding_mode", "zeros")]
        if walk.mode == "max_pool":
            fill = "−∞, so it never wins"
        words.append(f"grey: padding ({fill})")
    if walks.INSERTED in codes:
        words.append("white: zeros inserted between input cells (stride)")
    if walks.OVERHANG in codes:
        words.append(
            "blank light grey at the bottom/right: past the end of the padded input, "
            "where ceil_mode's last window hangs over and finds nothing (not counted)"
        )
    if tuple(walk.dilation) != (1, 1):
        words.append("dilation: the kernel's taps are spread out, the cells between are skipped")
    st.caption(" · ".join(words) + ". Output cells not computed yet stay empty. " + COUNT_FROM_0)


def draw_stamp_step(walk: walks.ScatterWalk, k: int, label: str) -> None:
    step = walk.step(k)
    c = walk.input.shape[0]
    lines = explain.stamp_equation(walk, step)
    # one channel: everything in one row; several: the channels' row, then canvas and output
    if c == 1:
        cols = st.columns(3, gap="medium")
        chan_cols, canvas_col, out_col, width = cols[:1], cols[1], cols[2], PAGE_WIDTH // 3
    else:
        chan_cols, width = st.columns(c, gap="medium"), PAGE_WIDTH // c
        canvas_col, out_col = st.columns(2, gap="medium")
    for ch, col in enumerate(chan_cols):
        with col:
            chart(scatter_input_figure(walk, step, ch, width), f"sin_{ch}")
            kname = "Kernel" + (f" slice {ch + 1}" if c > 1 else "")
            chart(
                pair_figure(
                    walk.weight[ch], walk.dilation, step.stamps[ch], f"{kname}  |  Stamp", width
                ),
                f"sk_{ch}",
                fit=True,
            )
            big(lines[ch].replace("×", " × "), size=1.45 if c == 1 else 1.15)
    wide = PAGE_WIDTH // 2 if c > 1 else width
    with canvas_col:
        chart(canvas_figure(walk, step, wide), "canvas")
        if c > 1:
            big(lines[-1])
    with out_col:
        bias = "" if walk.bias is None else f" + bias {fmt(walk.bias)}"
        out = walk.output_until(k)
        chart(output_figure(out, None, "Output (cropped" + bias + ")", wide), "out_0")
        big(
            f"Step {k + 1} of {walk.n_steps}: input cell (row {step.row}, column "
            f"{step.col}) = <b>{', '.join(fmt(v) for v in step.values)}</b> stamps its "
            f"kernel",
            key="cell_value",
        )
    st.caption(
        "Orange: the current input cell and where its stamp lands. Blue input cells have "
        "stamped already. The canvas adds every stamp; the grey border (if any) is what padding crops. "
        + explain.canvas_text(walk)
        + " The output is the canvas inside the frame, plus the bias; its cells no stamp has "
        "reached yet stay empty until the last step. " + COUNT_FROM_0
    )
    export(walk, k, label)


def export(walk, k: int, label: str) -> None:
    """PNG of this frame and a GIF of the whole walk, made only when asked for."""
    with st.container(horizontal=True, key="export"):
        st.download_button(
            "This step as PNG",
            lambda: frame_png(walk, k, label),
            file_name=f"step_{k + 1}.png",
            mime="image/png",
            on_click="ignore",
            icon=":material/image:",
            key="png",
        )
        st.download_button(
            "The whole walk as GIF",
            lambda: walk_gif(walk, label),
            file_name="walk.gif",
            mime="image/gif",
            on_click="ignore",
            icon=":material/animation:",
            key="gif",
        )
        st.caption(
            "A long or large walk keeps evenly spaced steps in the GIF, first and last "
            "included, so the file stays a slide's size."
        )


def page() -> None:
    st.title("Step by step")
    present = presentation_mode()
    if not present:
        st.write(
            "The window starts at the top-left corner, multiplies, adds, writes one number, "
            "and moves on. Every number below is the one the engine (and PyTorch) computes."
        )
    quiz = quiz_ui.quiz_mode()
    raw = {k: st.query_params.get(k) for k in NUMBER_KEYS}
    notes: list[str] = []
    choice_notes(notes)
    with settings_box("Grids and settings", sidebar=False):
        s = controls(notes)
    url_notes(raw, notes)
    for note in notes:
        st.warning(note, icon=":material/info:")
    # presenting: the grids and their arithmetic first, the explanations under them
    first, second = st.container(), st.container()
    walk_box, words = (first, second) if present else (second, first)
    mode = s["mode"]
    try:
        walk = make_walk(s)
        with words:
            size_sentence(s)
    except SettingError as err:
        show_setting_error(usable(err, mode), apply=apply_fix)
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


def walk_section(walk, s: dict) -> None:
    """The player and the grids of the current step."""
    mode = s["mode"]
    if mode != "max_pool" and not np.isfinite(walk.output).all():
        st.warning(
            "Some results are too large for 32-bit floats (beyond about 3.4e38) and show as ∞, "
            "as they would in PyTorch.",
            icon=":material/warning:",
        )
    label = MODES[mode]
    if mode == "conv_transpose":
        view = st.segmented_control(
            "Show it as",
            list(VIEWS),
            format_func=VIEWS.get,
            default="stamps",
            required=True,
            key="view",
            bind="query-params",
        )
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
    else:
        player(walk.n_steps, lambda k: draw_window_step(walk, k, s, label))


# This page explains its own numbers, choices and grids from the link (see url_notes).
GRID_KEYS = tuple(f"{g}{i}" for g in "xk" for i in range(3))
run_safely(page, own_link_notes=(*NUMBER_KEYS, *CHOICE_KEYS, *GRID_KEYS))
