"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`), a step-by-step walk's grids (`walk`) and pooling's (`pooling`);
one bar per class as a Vega-Lite spec (`bars`); plotly figures of output sizes (`sizes`) and
transfer curves (`transfer`)."""
