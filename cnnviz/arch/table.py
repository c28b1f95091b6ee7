"""The layer table as data and as text: `Row` (one layer's shape, parameters, multiply-adds,
receptive field and the arithmetic behind each), shapes in PyTorch's or Keras' order, totals and
a plain-text table like Keras' model.summary().

Counting conventions (per image, batch of one):
- params: weights + biases as torch counts them (``sum(p.numel())``); batch norm's scale (γ)
  and shift (β) count as its weights and biases; its running mean/variance are buffers, not params.
- macs: multiply-adds (MACs) of conv and linear layers only. A conv does C_in·K·K multiply-adds
  for each output number (C_out·H_out·W_out of them; C_in/groups with groups); a linear layer
  in·out. Bias additions are not counted. torch's FlopCounterMode counts each multiply-add as 2
  FLOPs (a multiply and an add), so its total is exactly 2 × the MACs (`Row.flops`).
- ops: every other layer's operations, kept apart from the MACs: one per number a layer reads
  (a pool K·K per output, an activation, batch norm or dropout one per element, global average
  pooling H·W per channel); flatten 0; 0 for conv and linear.
- receptive field: input pixels (per side) that one output unit of the layer sees (see
  `cnnviz.arch.summary`); None once the map is flattened.
"""

from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int, ...]


@dataclass
class Row:
    """One layer of the table: what comes out, what it costs, and how the numbers were made."""

    index: int  # 0-based, the position in the spec / the nn.Sequential
    name: str  # short name: the spec token (conv8k3p1) or the module's class name
    kind: str  # one of KINDS, or "other" for a module cnnviz does not know
    out_shape: tuple  # without the batch dimension: (C, H, W) or (N,)
    weights: int
    biases: int
    params: int
    params_formula: str  # e.g. "8 × 1 × 3 × 3 weights + 8 biases = 80"
    macs: int  # multiply-adds (conv and linear layers; 0 for the others)
    ops: int  # the other layers' operations, one per number read (0 for conv and linear)
    receptive_field: int | tuple | None
    size_formula: str | None  # conv/pool: the output-size formula with its numbers
    in_shape: tuple = ()
    title: str = ""  # in words, e.g. "Convolution: 8 filters 3×3"
    cost_formula: str = ""  # e.g. "1600 outputs × 150 multiply-adds = 240000"
    module: str = ""  # the torch module, e.g. "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))"

    @property
    def flops(self) -> int:
        """Floating-point operations of the multiply-adds as torch's FlopCounterMode counts them:
        2 per multiply-add (conv and linear layers; 0 for the others)."""
        return 2 * self.macs


def fmt_shape(shape: Shape) -> str:
    return " × ".join(str(s) for s in shape)


ORDERS = ("CHW", "HWC")


def shape_text(shape, order: str = "CHW") -> str:
    """A shape as text: PyTorch's channels × height × width ("CHW"), or Keras/TensorFlow's
    height × width × channels ("HWC"); a flat vector is the same in both."""
    shape = tuple(int(v) for v in shape)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    if order == "HWC" and len(shape) == 3:
        shape = (*shape[1:], shape[0])
    return fmt_shape(shape)


def totals(rows: list[Row]) -> dict:
    """Sums for the table's last line: params, weights, biases, macs (multiply-adds of conv
    and linear layers), ops (the other layers' operations)."""
    return {
        "params": sum(r.params for r in rows),
        "weights": sum(r.weights for r in rows),
        "biases": sum(r.biases for r in rows),
        "macs": sum(r.macs for r in rows),
        "ops": sum(r.ops for r in rows),
    }


def format_rows(rows: list[Row], input_shape=None, order: str = "CHW") -> str:
    """A plain-text table of the rows (like Keras' model.summary()) for a terminal or notebook:
    multiply-adds (MACs, conv and linear) and the other layers' operations in columns of their
    own. order "HWC" writes shapes as Keras does (height × width × channels)."""
    head = ("#", "layer", "output", "params", "MACs", "other ops", "field")
    body = []
    if input_shape is not None:
        body.append(("", "input", shape_text(input_shape, order), "", "", "", ""))
    for r in rows:
        rf = r.receptive_field
        field_text = (
            "all" if rf is None else (f"{rf}" if isinstance(rf, int) else f"{rf[0]}×{rf[1]}")
        )
        body.append(
            (
                str(r.index + 1),
                r.name,
                shape_text(r.out_shape, order),
                f"{r.params:,}",
                f"{r.macs:,}",
                f"{r.ops:,}",
                field_text,
            )
        )
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = {0, 3, 4, 5, 6}

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    t = totals(rows)
    rule = "-" * len(line(head))
    return "\n".join(
        [
            line(head),
            rule,
            *(line(b) for b in body),
            rule,
            f"{t['params']:,} parameters ({t['weights']:,} weights + {t['biases']:,} biases), "
            f"{t['macs']:,} multiply-adds (MACs; {2 * t['macs']:,} FLOPs as torch counts them) + "
            f"{t['ops']:,} other operations per image",
        ]
    )
