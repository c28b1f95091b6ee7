"""cnnviz.ui.train.settings.widget_values: TrainConfig fields become the Train page's widget
values, each one an option the widgets offer, keyed like DEFAULTS."""

from __future__ import annotations

from dataclasses import asdict

from cnnviz.training.config import TrainConfig
from cnnviz.ui.train import settings


def test_default_config_gives_default_widgets_but_the_optimizer_settings():
    values = settings.widget_values(asdict(TrainConfig()))
    assert values.keys() == settings.DEFAULTS.keys()
    assert values["drop"] == "as built" and values["ntrain"] == "all"
    assert settings.OPT_KEY[values["opt"]] == TrainConfig().optimizer


def test_every_value_is_an_option_of_its_widget():
    config = TrainConfig(
        optimizer="momentum", lr=0.003, batch_size=16, weight_decay=1e-4, dropout=0.3, n_train=200
    )
    values = settings.widget_values(asdict(config))
    assert values["opt"] == "Momentum" and settings.OPT_KEY[values["opt"]] == "momentum"
    assert values["lr"] in settings.LRS and values["bs"] in settings.BATCHES
    assert values["wd"] in settings.DECAYS
    assert values["drop"] == "0.3" and values["drop"] in settings.DROPOUTS
    assert values["ntrain"] == "200" and values["ntrain"] in settings.N_TRAIN
