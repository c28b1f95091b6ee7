"""The Explore page's prediction: the logits, softmax written out with the real numbers (exp of
each after subtracting the largest, their sum, each divided by the sum), the probabilities as
bars, and the top three."""

from __future__ import annotations

import streamlit as st

from cnnviz.numbers import MINUS, fmt, percent_text
from cnnviz.ui.common import show_bars
from cnnviz.ui.explore.model import Explored


def _name(classes: list[str], i: int) -> str:
    return classes[i] if i < len(classes) else str(i)


def show_prediction(m: Explored, x, label: int | None = None):
    """Draw the answer and its softmax; return the SoftmaxSteps (None with a sentence)."""
    from cnnviz.prediction import logits, softmax_steps

    try:
        steps = softmax_steps(logits(m.model, x))
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return None
    classes = m.classes or [str(i) for i in range(len(steps.probs))]
    top = steps.top(3)
    best, p = top[0]
    verdict = f"### It says **{_name(classes, best)}** ({percent_text(p)})"
    if label is not None:
        verdict += " ✓" if label == best else f" ✗ (it is a {_name(classes, label)})"
    with st.container(key="verdict"):
        st.markdown(verdict)
        st.markdown(
            "Top 3: " + " · ".join(f"**{_name(classes, i)}** {percent_text(q)}" for i, q in top)
        )
    show_bars(
        steps.probs,
        classes,
        highlight=best,
        percent=True,
        title="probability = softmax of the scores",
        labels=False,
        key="probs",
    )
    with st.expander("Softmax, with these numbers", icon=":material/calculate:"):
        _softmax_table(steps, classes)
    return steps


def _softmax_table(steps, classes: list[str]) -> None:
    m = fmt(steps.shift, 4, MINUS)
    st.markdown(
        f"The net's last layer gives one score (**logit**) per class. Softmax turns them into "
        f"probabilities: subtract the largest score (**{m}**: no exp overflows, no probability "
        f"changes), take exp of each, add them up, divide each by the sum."
    )
    rows = [
        {
            "class": _name(classes, i),
            "logit z": fmt(float(z), 4, MINUS),
            f"z {MINUS} {m}": fmt(float(z - steps.shift), 4, MINUS),
            "exp": fmt(float(e), 4, MINUS),
            "exp ÷ sum": fmt(float(p), 4, MINUS),
        }
        for i, (z, e, p) in enumerate(zip(steps.logits, steps.exps, steps.probs))
    ]
    st.dataframe(rows, hide_index=True, key="softmax_table")
    best, p = steps.top(1)[0]
    st.markdown(
        f"Sum of the exps: {' + '.join(fmt(float(e), 3) for e in steps.exps)} = "
        f"**{fmt(steps.total, 6)}**.  \nSo p({_name(classes, best)}) = "
        f"{fmt(float(steps.exps[best]), 6)} ÷ {fmt(steps.total, 6)} = **{fmt(p, 6)}**; the "
        f"probabilities add up to {fmt(float(steps.probs.sum()), 6)}."
    )
