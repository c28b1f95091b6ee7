"""Output sizes with the formula written out in the user's numbers, and why a setting cannot work.

PyTorch's rules, one dimension at a time:

    conv:       out = floor((in + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1
    pool:       the same, with ceil instead of floor when ceil_mode (the last window must start
                inside the input or the left padding)
    transposed: out = (in - 1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1

Impossible settings raise `SettingError` (a ValueError) whose message says why in plain words and
what would work; `suggestions` carries the same fixes as data for the app to offer.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from cnnviz.size_words import ROWS, ceil_text, crop_text, describe_coverage

Op = Literal["conv", "pool", "conv_transpose"]
AXES = ("height", "width")


@dataclass(frozen=True)
class Fix:
    """One nearest setting that works: its words, and the changes as torch argument names."""

    text: str
    axis: str  # "height", "width", or "" when it is not about one dimension
    changes: tuple[tuple[str, object], ...]


def fix(text: str, axis: str = "", **changes) -> Fix:
    return Fix(text, axis, tuple(changes.items()))


class SettingError(ValueError):
    """A setting, or a combination of settings, that cannot work; the message says why, and
    `fixes` (words in `suggestions`) the nearest settings that would work. `op` names the
    operation that refused ("conv", "pool", "conv_transpose"; "" when it is no one layer's),
    so a page with several layers knows which one failed without reading the message."""

    def __init__(self, message: str, fixes: Sequence[Fix | str] = (), op: str = ""):
        super().__init__(message)
        self.fixes = tuple(f if isinstance(f, Fix) else fix(f) for f in fixes)
        self.op = op

    @property
    def suggestions(self) -> tuple[str, ...]:
        return tuple(f.text for f in self.fixes)


def _names(op: Op):
    """A SettingError raised inside the decorated size function names `op` (unless it already
    names one)."""

    def wrap(fn):
        @functools.wraps(fn)
        def sized(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except SettingError as err:
                err.op = err.op or op
                raise

        return sized

    return wrap


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """(h, w) from an int or a pair of ints, each a whole number >= minimum."""
    if isinstance(value, str):
        raise SettingError(f"{name} must be a whole number or a pair of them, not {value!r}.")
    items = tuple(value) if isinstance(value, Sequence) else (value, value)
    if len(items) != 2:
        raise SettingError(f"{name} must be one number or two (height, width), not {len(items)}.")
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
            raise SettingError(f"{name} must be a whole number; {v!r} is not.")
        if v < minimum:
            least = "positive" if minimum == 1 else f"at least {minimum}"
            raise SettingError(f"{name} must be {least}; it is {int(v)}.")
        out.append(int(v))
    return out[0], out[1]


SAME_WITH_STRIDE = (
    "PyTorch accepts padding='same' only with stride 1, where it pads so that the output is as "
    "big as the input. Keras and TensorFlow also accept 'same' with a stride s: they pad so "
    "that the output is ⌈input / s⌉ (the odd extra cell at the bottom/right). In PyTorch, give "
    "the padding as a number instead (F.pad for an uneven amount)."
)


def resolve_conv_padding(
    padding, kernel_size, stride=1, dilation=1
) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) for a conv padding: int, pair, "valid", "same" or "full".

    "full" is not a torch keyword: it pads dilation*(kernel-1) on every side, so the output has
    one cell for every overlap of kernel and input (torch: that number as padding)."""
    kh, kw = pair(kernel_size, "kernel_size")
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "full":  # every window that overlaps the input by one cell
            dh, dw = pair(dilation, "dilation")
            return (dh * (kh - 1),) * 2, (dw * (kw - 1),) * 2
        if padding != "same":
            raise SettingError(
                f"padding {padding!r} is unknown; use a number, 'valid', 'same' or 'full'."
            )
        if pair(stride, "stride") != (1, 1):
            raise SettingError(
                SAME_WITH_STRIDE,
                [fix("set stride to 1", stride=1), fix("use a number for padding", padding=0)],
            )
        dh, dw = pair(dilation, "dilation")
        th, tw = dh * (kh - 1), dw * (kw - 1)
        # torch puts the odd extra row/column at the bottom/right
        return (th // 2, th - th // 2), (tw // 2, tw - tw // 2)
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph), (pw, pw)


@dataclass(frozen=True)
class DimSize:
    """One dimension's output size, the formula with its numbers, and what it leaves out."""

    axis: str
    op: str
    input: int
    kernel: int
    stride: int
    padding: tuple[int, int]
    dilation: int
    size: int
    formula: str
    uncovered: int = 0  # input rows/cols after the last window that it never reaches
    skipped: int = 0  # input rows/cols no window reads at all (tail, stride gaps, dilation holes)
    explanation: str = ""
    output_padding: int = 0
    ceil_mode: bool = False

    @property
    def effective_kernel(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


@dataclass(frozen=True)
class OutputSize:
    """Output (height, width) of one layer, with a DimSize per dimension."""

    dims: tuple[DimSize, DimSize]
    notes: tuple[str, ...] = field(default=())

    @property
    def size(self) -> tuple[int, int]:
        return self.dims[0].size, self.dims[1].size

    @property
    def symmetric(self) -> bool:
        """True when height and width have the same settings (one explanation serves both)."""
        h, w = (
            (d.input, d.kernel, d.stride, d.padding, d.dilation, d.output_padding, d.ceil_mode)
            for d in self.dims
        )
        return h == w


def _coverage(n_in: int, k: int, s: int, before: int, d: int, out: int) -> tuple[int, int]:
    """(tail input cells after the last window, input cells no window reads)."""
    last = (out - 1) * s - before + d * (k - 1)
    tail = max(0, n_in - 1 - last)
    taps = (np.arange(out) * s - before)[:, None] + d * np.arange(k)[None, :]
    read = np.zeros(n_in, dtype=bool)
    read[taps[(taps >= 0) & (taps < n_in)]] = True
    return tail, int(n_in - read.sum())


def check_padding_mode(axis: str, n: int, pads: tuple[int, int], mode: str) -> None:
    """Reject what torch rejects: reflect padding >= the input, circular padding > the input."""
    if mode not in ("zeros", "reflect", "replicate", "circular"):
        raise SettingError(
            f"padding mode {mode!r} is unknown; use zeros, reflect, replicate or circular."
        )
    if mode in ("reflect", "circular"):
        limit = n - 1 if mode == "reflect" else n
        if max(pads) > limit:
            raise SettingError(
                f"{axis}: {mode} padding copies the input's own {ROWS[axis]}, so it can "
                f"add at most {limit} to an input of {n}; it is {max(pads)}. Use padding "
                f"≤ {limit} or zeros/replicate padding.",
                [
                    fix(f"padding ≤ {limit}", axis, padding=limit),
                    fix("padding mode zeros", padding_mode="zeros"),
                    fix("padding mode replicate", padding_mode="replicate"),
                ],
            )


def conv_dim(axis, n, k, s, pads, d, padding_mode) -> DimSize:
    """One dimension of a conv layer: size, formula, coverage; SettingError if impossible."""
    before, after = pads
    padded = n + before + after
    eff = d * (k - 1) + 1
    if eff > padded:
        need = math.ceil((eff - n) / 2)
        fits_k = (padded - 1) // d + 1
        tips = [fix(f"padding ≥ {need}", axis, padding=need)]
        if fits_k >= 1:
            text = f"kernel ≤ {fits_k}" if d == 1 else f"kernel ≤ {fits_k} at dilation {d}"
            tips.append(fix(text, axis, kernel_size=fits_k))
        if d > 1 and k > 1 and (padded - 1) // (k - 1) >= 1:
            most = (padded - 1) // (k - 1)
            tips.append(fix(f"dilation ≤ {most}", axis, dilation=most))
        span = f"kernel {k}" if d == 1 else f"the dilated kernel (spans {eff})"
        raise SettingError(
            f"{axis}: {span} is larger than the padded input {padded} "
            f"({n} + padding {before} + {after}). Try {' or '.join(t.text for t in tips)}.",
            tips,
        )
    check_padding_mode(axis, n, pads, padding_mode)
    num = padded - eff
    out = num // s + 1
    pad_txt = f"{before} + {after}" if before != after else f"2·{before}"
    formula = (
        f"⌊({n} + {pad_txt} − {d}·({k} − 1) − 1) / {s}⌋ + 1 = ⌊{num} / {s}⌋ + 1 = "
        f"{num // s} + 1 = {out}"
    )
    tail, skipped = _coverage(n, k, s, before, d, out)
    return DimSize(
        axis,
        "conv",
        n,
        k,
        s,
        (before, after),
        d,
        out,
        formula,
        tail,
        skipped,
        describe_coverage(axis, tail, skipped, num % s, s, after),
    )


def _both(dim_fn, per_axis: list[tuple]) -> OutputSize:
    """Both dimensions; a refusal names "height and width" when both have the same settings."""
    try:
        return OutputSize(tuple(dim_fn(AXES[a], *per_axis[a]) for a in (0, 1)))  # type: ignore[arg-type]
    except SettingError as err:
        text = str(err)
        if per_axis[0] == per_axis[1] and text.startswith("height: "):
            both = [dataclasses.replace(f, axis="") for f in err.fixes]
            raise SettingError("height and width: " + text[8:], both) from None
        raise


@_names("conv")
def conv_output_size(
    input_size, kernel_size, stride=1, padding=0, dilation=1, padding_mode: str = "zeros"
) -> OutputSize:
    """Output size of a conv layer, as `torch.nn.Conv2d` computes it."""
    ns = pair(input_size, "input size")
    ks = pair(kernel_size, "kernel_size")
    ss = pair(stride, "stride")
    ds = pair(dilation, "dilation")
    pads = resolve_conv_padding(padding, ks, ss, ds)
    return _both(conv_dim, [(ns[a], ks[a], ss[a], pads[a], ds[a], padding_mode) for a in (0, 1)])


def pool_dim(axis, n, k, s, p, d, ceil_mode) -> DimSize:
    """One dimension of a pooling layer, with torch's padding and ceil_mode rules."""
    if p > k // 2:
        raise SettingError(
            f"{axis}: pooling padding {p} is more than half the window {k}; a window could then "
            f"see only padding. Use padding ≤ {k // 2}, or a window ≥ {2 * p}.",
            [
                fix(f"padding ≤ {k // 2}", axis, padding=k // 2),
                fix(f"kernel ≥ {2 * p}", axis, kernel_size=2 * p),
            ],
        )
    eff = d * (k - 1) + 1
    num = n + 2 * p - eff
    out = (num + (s - 1 if ceil_mode else 0)) // s + 1
    dropped = False
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
        dropped = True
    if out < 1:
        raise SettingError(
            f"{axis}: the pooling window ({eff}) is larger than the padded input "
            f"{n + 2 * p} ({n} + 2·{p}), so there is no room for even one window. Use a window ≤ "
            f"{n + 2 * p}"
            + (
                f" or padding ≥ {math.ceil((eff - n) / 2)}."
                if k > 1 and math.ceil((eff - n) / 2) <= k // 2
                else "."
            ),
            [fix(f"kernel ≤ {n + 2 * p}", axis, kernel_size=n + 2 * p, dilation=1)],
        )
    rnd = "⌈⌉" if ceil_mode else "⌊⌋"
    pad_txt = f"2·{p}"
    dil_txt = f"{d}·({k} − 1)"
    q = -(-num // s) if ceil_mode else num // s
    formula = (
        f"{rnd[0]}({n} + {pad_txt} − {dil_txt} − 1) / {s}{rnd[1]} + 1 = {rnd[0]}{num} / {s}{rnd[1]}"
        f" + 1 = {q} + 1 = {q + 1}"
    )
    if dropped:
        formula += f" → {out} (that last window would start after the input, so it is dropped)"
    tail, skipped = _coverage(n, k, s, p, d, out)
    text = describe_coverage(axis, tail, skipped, num % s, s, p)
    if ceil_mode:
        kept = num % s and not dropped  # the partial window reaches the end: nothing left over
        text = ceil_text(axis, n, k, s, p, d, out, dropped) + (
            " " + describe_coverage(axis, tail, skipped, 0, s) if kept else " " + text
        )
    return DimSize(
        axis, "pool", n, k, s, (p, p), d, out, formula, tail, skipped, text, ceil_mode=ceil_mode
    )


@_names("pool")
def pool_output_size(
    input_size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False
) -> OutputSize:
    """Output size of a max/avg pooling layer, as torch computes it (stride defaults to kernel)."""
    ns = pair(input_size, "input size")
    ks = pair(kernel_size, "kernel_size")
    ss = pair(ks if stride is None else stride, "stride")
    ps = pair(padding, "padding", minimum=0)
    ds = pair(dilation, "dilation")
    return _both(pool_dim, [(ns[a], ks[a], ss[a], ps[a], ds[a], bool(ceil_mode)) for a in (0, 1)])


def transpose_dim(axis, n, k, s, p, d, op) -> DimSize:
    """One dimension of a transposed conv layer: stamps spaced by stride, cropped by padding."""
    if op >= s and op >= d:
        raise SettingError(
            f"{axis}: output_padding {op} must be smaller than the stride ({s}) or the dilation "
            f"({d}); it only picks among the sizes that stride {s} maps to the same input.",
            [fix(f"output_padding ≤ {max(s, d) - 1}", axis, output_padding=max(s, d) - 1)],
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise SettingError(
            f"{axis}: padding {p} crops 2·{p} = {2 * p} from an output of "
            f"{out + 2 * p}, leaving {out}. Use padding ≤ {(out + 2 * p - 1) // 2}.",
            [fix(f"padding ≤ {(out + 2 * p - 1) // 2}", axis, padding=(out + 2 * p - 1) // 2)],
        )
    formula = (
        f"({n} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = "
        f"{(n - 1) * s} − {2 * p} + {d * (k - 1)} + {op} + 1 = {out}"
    )
    text = (
        f"Each of the {n} input {ROWS[axis]} stamps the kernel ({d * (k - 1) + 1} wide) "
        f"{s} apart; " + crop_text(axis, p, op, (n - 1) * s + d * (k - 1) + 1)
    )
    return DimSize(
        axis, "conv_transpose", n, k, s, (p, p), d, out, formula, 0, 0, text, output_padding=op
    )


@_names("conv_transpose")
def conv_transpose_output_size(
    input_size, kernel_size, stride=1, padding=0, dilation=1, output_padding=0
) -> OutputSize:
    """Output size of a transposed conv layer, as `torch.nn.ConvTranspose2d` computes it."""
    ns = pair(input_size, "input size")
    ks = pair(kernel_size, "kernel_size")
    ss = pair(stride, "stride")
    ps = pair(padding, "padding", minimum=0)
    ds = pair(dilation, "dilation")
    ops = pair(output_padding, "output_padding", minimum=0)
    return _both(transpose_dim, [(ns[a], ks[a], ss[a], ps[a], ds[a], ops[a]) for a in (0, 1)])


def output_size(
    input_size,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    *,
    op: Op = "conv",
    ceil_mode: bool = False,
    output_padding=0,
    padding_mode: str = "zeros",
) -> OutputSize:
    """Output size for op "conv", "pool" or "conv_transpose", per dimension, with the formula.

    `stride=None` means torch's default: 1 for convolutions, the kernel size for pooling.
    Raises SettingError, with the reason and what would work, for impossible settings.
    """
    if op == "conv":
        return conv_output_size(
            input_size,
            kernel_size,
            1 if stride is None else stride,
            padding,
            dilation,
            padding_mode,
        )
    if op == "pool":
        return pool_output_size(input_size, kernel_size, stride, padding, dilation, ceil_mode)
    if op == "conv_transpose":
        return conv_transpose_output_size(
            input_size,
            kernel_size,
            1 if stride is None else stride,
            padding,
            dilation,
            output_padding,
        )
    raise SettingError(f"op {op!r} is unknown; use 'conv', 'pool' or 'conv_transpose'.")
