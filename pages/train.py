"""Train a CNN (being built)."""

import streamlit as st

from cnnviz.ui.common import run_safely


def page() -> None:
    st.title("Train a CNN")
    st.info("This page is being built.")


run_safely(page)
