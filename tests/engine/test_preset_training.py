"""Each architecture preset trained with its own default settings on its own data (seed 0)
reaches the validation accuracy its text states; the Train page's static defaults are the
default preset's."""

import numpy as np
import pytest

from cnnviz import arch, data
from cnnviz.training import TrainConfig, train


@pytest.mark.parametrize("name", list(arch.PRESETS))
def test_preset_defaults_reach_the_stated_accuracy(name):
    t = arch.PRESET_TRAINING[name]
    ds = data.builtin(t["data"])
    spec, note = arch.preset_for(name, ds.input_shape, ds.n_classes)
    assert note is None  # the preset fits its own data as it is
    # the Train page's worker runs this same loop (tests/engine/test_training_parts.py)
    config = TrainConfig(seed=0, **arch.preset_training(name))
    # the end is what is checked: validating every epoch would change nothing but the time
    history = train(ds, spec, config, validate_every_epoch=False).history
    assert len(history) == t["epochs"]
    assert history[-1]["val_acc"] >= t["val_acc"], history[-1]


def test_the_train_pages_defaults_are_the_default_presets():
    from cnnviz.ui.train import settings as tr

    t = arch.preset_training(arch.DEFAULT_PRESET)
    d = tr.DEFAULTS
    assert (tr.OPT_KEY[d["opt"]], d["lr"], d["bs"], d["epochs"]) == (
        t["optimizer"],
        t["lr"],
        t["batch_size"],
        t["epochs"],
    )
    assert t["lr"] in tr.LRS and t["batch_size"] in tr.BATCHES


def test_the_curve_marks_where_validation_passes_97_percent():
    from cnnviz.ui.train import charts as tr

    history = [
        {"epoch": 1, "val_acc": 0.9},
        {"epoch": 2, "val_acc": 0.971},
        {"epoch": 3, "val_acc": 0.96},
    ]
    assert tr.passed_at(history) == 2 and tr.passed_at(history[:1]) is None
    spec = tr.curve_spec("accuracy", 3, passed=2)
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert rules and rules[0]["encoding"]["x"]["datum"] == 2
    assert not [x for x in tr.curve_spec("accuracy", 3)["layer"] if x["mark"]["type"] == "rule"]
    # the label sits on the side of the line with room: right of an early line, left of a late one
    for passed, align in ((1, "left"), (2, "right"), (3, "right")):
        text = [x for x in tr.curve_spec("accuracy", 3, passed=passed)["layer"]][-1]["mark"]
        assert text["type"] == "text" and text["align"] == align
        assert text["dx"] * (1 if align == "left" else -1) > 0


def test_the_probability_bars_tooltip_writes_the_apps_percentages():
    """Not Vega's ".1%", which writes 99.96 % as 100.0 %."""
    from cnnviz.figures.bars import bars_data, bars_spec

    rows = bars_data(np.array([0.9996, 0.0004]), ["cat", "dog"], percent=True)
    assert [r["text"] for r in rows] == ["99.96\u00a0%", "0.04\u00a0%"]
    assert [r["top"] for r in rows] == [True, False]
    tooltip = bars_spec(2, percent=True, title="probability", labels=False)["encoding"]["tooltip"]
    assert {"field": "text", "title": "probability"} in tooltip
