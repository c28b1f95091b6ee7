"""PyTorch code for what the user set up, to copy into a notebook."""

from __future__ import annotations


def _arg(value) -> str:
    """torch style: an int when both dimensions agree, else the (h, w) tuple."""
    if isinstance(value, str):
        return repr(value)
    h, w = value if isinstance(value, tuple) else (value, value)
    return str(h) if h == w else f"({h}, {w})"


def layer_code(
    op: str,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
    *,
    in_channels: int = 1,
    out_channels: int = 1,
    ceil_mode: bool = False,
    output_padding=0,
    padding_mode: str = "zeros",
    pool: str = "max",
) -> str:
    """The nn layer for op "conv" / "pool" / "conv_transpose", with non-default arguments only."""
    args = [f"kernel_size={_arg(kernel_size)}"]
    if op == "pool":
        name = "nn.MaxPool2d" if pool == "max" else "nn.AvgPool2d"
        if stride is not None and _arg(stride) != _arg(kernel_size):
            args.append(f"stride={_arg(stride)}")
    else:
        name = "nn.Conv2d" if op == "conv" else "nn.ConvTranspose2d"
        args = [str(in_channels), str(out_channels)] + args
        if _arg(stride) != "1":
            args.append(f"stride={_arg(stride)}")
    if padding == "full":
        kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size,) * 2
        dh, dw = dilation if isinstance(dilation, tuple) else (dilation,) * 2
        padding = (dh * (kh - 1), dw * (kw - 1))
    if _arg(padding) != "0":
        args.append(f"padding={_arg(padding)}")
    if _arg(dilation) != "1" and not (op == "pool" and pool == "avg"):
        args.append(f"dilation={_arg(dilation)}")
    if op == "conv_transpose" and _arg(output_padding) != "0":
        args.append(f"output_padding={_arg(output_padding)}")
    if op == "conv" and padding_mode != "zeros":
        args.append(f"padding_mode={padding_mode!r}")
    if op == "pool" and ceil_mode:
        args.append("ceil_mode=True")
    return f"{name}({', '.join(args)})"
