"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`), a step-by-step walk's grids (`walk`) and pooling's (`pooling`);
and Vega-Lite specs: one bar per class (`bars`), the activation functions (`curves`), Output
size's strips (`sizes`) and the transfer curves (`transfer`). No page draws a Plotly chart: its
4.7 MB script cost every page that showed one about 0.55 s of the browser's CPU per load."""
