"""numpy -> pixels: pictures of arrays, made without streamlit."""
