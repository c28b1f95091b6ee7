"""Figures, pure functions from engine results to figures (no streamlit): grids of numbered
cells as plain HTML (`grid`) and a step-by-step walk's grids (`walk`); plotly figures of output
sizes (`sizes`), pooling (`pooling`), bar charts (`bars`) and transfer curves (`transfer`)."""
