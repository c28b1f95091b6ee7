"""Transfer learning vs training from scratch: both validation-accuracy curves on one chart."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

COLORS = {"transfer": "#2171b5", "scratch": "#e6550d"}
NAMES = {"transfer": "frozen conv layers + new head", "scratch": "the same net from scratch"}


def transfer_figure(result) -> go.Figure:
    """Validation accuracy (%) per epoch of a `cnnviz.transfer.TransferResult`, both ways."""
    fig = go.Figure()
    for way in ("transfer", "scratch"):
        acc = np.asarray(getattr(result, way).val_acc, dtype=np.float32) * 100
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, len(acc) + 1, dtype=np.int32),
                y=acc,
                mode="lines+markers",
                name=NAMES[way],
                line=dict(color=COLORS[way]),
                hovertemplate="epoch %{x}: %{y:.1f} %<extra></extra>",
            )
        )
    fig.update_layout(
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        title="Validation accuracy on the new classes",
        xaxis=dict(title="epoch", dtick=1 if result.epochs <= 20 else None),
        yaxis=dict(title="accuracy (%)", range=[0, 100]),
        legend=dict(orientation="h", y=-0.25),
        plot_bgcolor="white",
    )
    return fig
