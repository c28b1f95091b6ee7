"""After training: test accuracy, the confusion matrix, accuracy per class and the misclassified
images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.numbers import percent_text
from cnnviz.render.net import sample_png
from cnnviz.ui.train.charts import confusion_spec
from cnnviz.ui.train.session import TrainingSession


def show_report(report, dataset, key: str = "cm") -> None:
    """Test accuracy, the confusion matrix, per-class accuracy and the misclassified images."""
    classes = [str(c) for c in report.classes]
    a, b, c = st.columns(3)
    a.metric("Test accuracy", percent_text(report.accuracy))
    b.metric("Test loss", f"{report.loss:.3f}")
    c.metric("Test images", f"{report.n:,}", help="Never seen in training or validation.")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Confusion matrix**: rows are the true class, columns what the net said")
        if len(classes) <= 40:
            st.vega_lite_chart(confusion_spec(report.confusion, classes), width="stretch", key=key)
        else:
            st.dataframe(pd.DataFrame(report.confusion, index=classes, columns=classes))
    with right:
        st.markdown("**Accuracy per class**")
        totals = report.confusion.sum(axis=1)
        table = pd.DataFrame(
            {
                "class": classes,
                "accuracy": 100 * np.asarray(report.per_class, dtype=np.float64),
                "right": np.diag(report.confusion),
                "images": totals,
            }
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                # written as the rest of the app writes a percentage ("97.2 %", not "97.22%")
                "accuracy": st.column_config.ProgressColumn(
                    "accuracy", min_value=0.0, max_value=100.0, format="%.1f\u00a0%%"
                ),
            },
        )
    wrong = np.asarray(report.misclassified)
    st.markdown(
        f"**Misclassified test images**: {len(wrong)} of {report.n}"
        + (", the first 40:" if len(wrong) > 40 else "")
    )
    if len(wrong) and dataset is not None and len(dataset.y_test) == report.n:
        shown = wrong[:40]
        st.image(
            [sample_png(dataset.x_test[i], 64) for i in shown],
            caption=[
                f"#{i}: {classes[dataset.y_test[i]]} → {classes[report.predictions[i]]}"
                for i in shown
            ],
            width=88,
        )
    elif not len(wrong):
        st.caption("None: every test image is right.")


def results_section(ts: TrainingSession) -> None:
    """The report of this training on the test split, and where its run was saved."""
    t = ts.trainer
    if t is None or t.progress().step == 0:
        st.caption("The results appear after some training.")
        return
    try:
        report = ts.cached(("report",), t.evaluate)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    show_report(report, ts.dataset)
    where = ts.saved.get(ts.generation)
    if where:
        st.caption(f"Saved on the server as `{where}`: it is listed in **Model files**.")
    elif where == "":
        st.warning(
            "Could not save this run on the server (see the server log).", icon=":material/warning:"
        )
