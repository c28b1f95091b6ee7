"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`), a step-by-step walk's grids (`walk`) and pooling's (`pooling`);
one bar per class, the activation functions and Output size's strips as Vega-Lite specs
(`bars`, `curves`, `sizes`); the transfer curves as a plotly figure (`transfer`)."""
