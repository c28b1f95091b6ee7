"""The "overfit me, then fix it" lesson shows what it says on every built-in set: each step
trained with its own settings (seed 0, the default preset) and every claim checked, with the
numbers its caption quotes (cnnviz.lessons.MEASURED)."""

import pytest

from cnnviz import arch, data, lessons
from cnnviz.training import TrainConfig, train


def end_of(ds, spec, step) -> tuple[float, float]:
    """(train, validation) accuracy at the end of the step, as the curves show them (trained
    by the same loop the Train page's worker runs, in this thread: tests/engine/
    test_training_parts.py checks both give the same run)."""
    config = TrainConfig(**step.settings)
    # only the end is checked: validating after every epoch would change nothing but the time
    last = train(ds, lessons.spec_for(step, spec), config, validate_every_epoch=False).history[-1]
    return last["train_acc"], last["val_acc"]


@pytest.mark.parametrize("name", list(data.BUILTINS))
def test_every_step_shows_what_it_says(name):
    ds = data.builtin(name)
    spec, _ = arch.preset_for(arch.DEFAULT_PRESET, ds.input_shape, ds.n_classes)
    (t1, v1), (t2, v2), (t3, v3) = (end_of(ds, spec, s) for s in lessons.OVERFIT)
    # 1. train climbs to 100 %, validation stays far below
    assert t1 >= 0.995 and v1 <= t1 - 0.1
    # 2. regularised: memorising is harder (train lower), validation ends higher
    assert t2 < t1 and v2 > v1
    # 3. more data: validation highest of the three, train no longer above it by much
    assert v3 > v2 and t3 - v3 < min(t1 - v1, t2 - v2) and t3 - v3 <= 0.05
    # the numbers the captions quote are these
    for (acc, val), quoted in zip(((t1, v1), (t2, v2), (t3, v3)), lessons.MEASURED[name]):
        assert abs(acc - quoted[0]) <= 0.015 and abs(val - quoted[1]) <= 0.015, (
            name,
            (t1, v1, t2, v2, t3, v3),
        )


def test_steps_are_settings_the_train_page_offers():
    from cnnviz.ui.train import settings as tr

    for s in lessons.OVERFIT:
        c = TrainConfig(**s.settings).validate()
        assert c.lr in tr.LRS and c.batch_size in tr.BATCHES and c.weight_decay in tr.DECAYS
        assert str(c.n_train) in tr.N_TRAIN and 1 <= c.epochs <= 100
        assert f"{c.dropout:g}" in tr.DROPOUTS
    assert lessons.with_dropout("conv2k3-flat-fc", 0.5) == "conv2k3-flat-drop-fc"
    assert lessons.with_dropout("conv2k3-flat-drop-fc") is None  # it has one already
    assert lessons.measured_text(lessons.OVERFIT[0], "my zip") == ""
    assert lessons.measured_text(lessons.OVERFIT[0], "digits") == (
        "Measured with the minimal net on digits (seed 0): train 100\u00a0%, validation 83\u00a0%."
    )
