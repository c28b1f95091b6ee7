import streamlit as st

st.title("cnnviz")
st.write("How a convolutional neural network sees an image.")
