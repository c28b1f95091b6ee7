"""Streamlit glue for cnnviz. The only package under cnnviz/ that may import streamlit."""
