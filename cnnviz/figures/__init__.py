"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`), a step-by-step walk's grids (`walk`) and pooling's (`pooling`);
plotly figures of output sizes (`sizes`), bar charts (`bars`) and transfer curves (`transfer`)."""
