"""Pooling (being built)."""

import streamlit as st

from cnnviz.ui.common import run_safely


def page() -> None:
    st.title("Pooling")
    st.info("This page is being built.")


run_safely(page)
