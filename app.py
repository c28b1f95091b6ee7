"""cnnviz entry point: page config, navigation, shared sidebar. Each page lives in pages/."""

import os
from pathlib import Path

# One torch thread per server process (before any page imports torch; `make run`, each process
# of `make class` and the containers alike): a net's forward on one picture is tiny, and
# torch's second thread waiting for a core that other requests (or the other app processes)
# use made every Explore run several times slower. Trainings set their own thread count.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from cnnviz.ui.nav import PAGES
from cnnviz.ui.present import presentation_toggle

ASSETS = Path(__file__).parent / "assets"

# A local favicon: a ":material/..." page_icon makes every browser fetch it from a font CDN.
st.set_page_config(page_title="cnnviz", page_icon=str(ASSETS / "favicon.png"), layout="wide")

pages = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path or None, default=p.default)
    for p in PAGES
]
with st.sidebar:
    st.caption("cnnviz: every number is computed here, on this server. Nothing is downloaded.")
presentation_toggle()  # ?present=1: big type, no sidebar, result first (cnnviz/ui/present.py)
st.navigation(pages).run()
