"""cnnviz entry point: page config, navigation, shared sidebar. Each page lives in pages/."""

import streamlit as st

from cnnviz.ui.nav import PAGES

st.set_page_config(page_title="cnnviz", page_icon=":material/grid_on:", layout="wide")

pages = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path or None, default=p.default)
    for p in PAGES
]
with st.sidebar:
    st.caption("cnnviz: every number is computed here, on this server. Nothing is downloaded.")
st.navigation(pages).run()
