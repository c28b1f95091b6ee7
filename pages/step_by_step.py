"""Step by step (being built)."""

import streamlit as st

from cnnviz.ui.common import run_safely


def page() -> None:
    st.title("Step by step")
    st.info("This page is being built.")


run_safely(page)
