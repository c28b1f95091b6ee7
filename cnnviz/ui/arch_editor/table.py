"""The editor's layer table (shape, parameters, multiply-adds, receptive field, size formula
of every layer) and the "how every number is computed" details under it."""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import Layer


def show_shape(shape: tuple) -> str:
    return arch.shape_text(shape, "HWC" if st.session_state.get("arch_hwc") else "CHW")


def field_text(value) -> str:
    if value is None:
        return "whole image"
    h, w = value if isinstance(value, tuple) else (value, value)
    return f"{h} × {w}"


def _plain_row(layer: str, output: str, field: str = "") -> dict:
    """A table line with no numbers: the input, or the layer that does not fit."""
    empty = dict(parameters="", arithmetic="", macs="", ops="", size="")
    return dict(layer=layer, output=output, field=field, **empty)


def layer_table(rows: list[arch.Row], input_shape, failed: tuple[int, Layer] | None) -> None:
    data = [_plain_row("input", show_shape(input_shape), "1 × 1")]
    for r in rows:
        data.append(
            dict(
                layer=f"{r.index + 1}. {r.name}",
                output=show_shape(r.out_shape),
                parameters=f"{r.params:,}",
                arithmetic=r.params_formula if r.params else "",
                macs=f"{r.macs:,}" if r.kind in ("conv", "linear") else "",
                ops=f"{r.ops:,}" if r.kind not in ("conv", "linear") else "",
                field=field_text(r.receptive_field),
                size=(r.size_formula or "").removeprefix("height and width: "),
            )
        )
    if failed is not None:
        i, layer = failed
        data.append(_plain_row(f"{i + 1}. {layer.token}", "does not fit"))
    st.dataframe(
        data,
        hide_index=True,
        key="arch_table",
        height=35 * (len(data) + 1) + 3,
        column_order=(
            "layer",
            "output",
            "parameters",
            "macs",
            "ops",
            "field",
            "size",
            "arithmetic",
        ),
        column_config={
            "layer": st.column_config.TextColumn("layer", help="position and spec token"),
            "output": st.column_config.TextColumn(
                "output shape",
                help="height × width × channels (Keras' order)"
                if st.session_state.get("arch_hwc")
                else "channels × height × width (PyTorch's order)",
            ),
            "parameters": st.column_config.TextColumn("parameters", help="weights + biases"),
            "arithmetic": st.column_config.TextColumn("parameters: arithmetic", width="medium"),
            "macs": st.column_config.TextColumn(
                "multiply-adds (MACs)",
                help="conv and linear layers: one multiply and one add per weight used per "
                "output (torch's FlopCounterMode counts each as 2 FLOPs)",
            ),
            "ops": st.column_config.TextColumn(
                "other operations",
                help="pooling, activations, batch norm, dropout: one operation per number read",
            ),
            "field": st.column_config.TextColumn(
                "receptive field", help="input pixels one output number sees"
            ),
            "size": st.column_config.TextColumn(
                "output size formula",
                width="large",
                help="⌊(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1",
            ),
        },
    )
    if rows:
        t = arch.totals(rows)
        st.caption(
            f"Total: **{t['params']:,} parameters** ({t['weights']:,} weights + {t['biases']:,} "
            f"biases), **{t['macs']:,} multiply-adds (MACs)** per image in the conv and linear "
            f"layers ({2 * t['macs']:,} FLOPs, a multiply and an add each, as torch counts them), "
            f"and {t['ops']:,} other operations (pooling, activations...: one per number read)."
        )


def details(rows: list[arch.Row]) -> None:
    with st.expander("How every number in the table is computed", icon=":material/calculate:"):
        for r in rows:
            lines = [
                f"**{r.index + 1}. {r.title}** `{r.name}`: {show_shape(r.in_shape)} → "
                f"**{show_shape(r.out_shape)}**"
            ]
            if r.size_formula:
                lines.append(f"- output size: {r.size_formula}")
            lines.append(f"- parameters: {r.params_formula}")
            what = "multiply-adds" if r.kind in ("conv", "linear") else "operations"
            lines.append(f"- {what}: {r.cost_formula}")
            lines.append(f"- receptive field: {field_text(r.receptive_field)}")
            if r.module:
                lines.append(f"- PyTorch: `{r.module}`")
            st.markdown("\n".join(lines))
