"""Plotly figures, pure functions from engine results to figures (no streamlit): output sizes
(`sizes`), pooling (`pooling`), bar charts (`bars`), a step-by-step walk's cells (`walk`)."""
