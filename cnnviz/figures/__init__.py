"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`), a step-by-step walk's grids (`walk`) and pooling's (`pooling`);
one bar per class and the activation functions as Vega-Lite specs (`bars`, `curves`); plotly
figures of output sizes (`sizes`) and transfer curves (`transfer`)."""
