import streamlit as st

st.title("Output size")
