"""cnnviz.ui.model_picker.OpenedModel: an opened model fits a dataset with its image size and
classes (compared as text), and nothing else. (Opening from files and runs: test_page_train.)"""

from __future__ import annotations

from types import SimpleNamespace

from cnnviz.ui.model_picker import OpenedModel


def test_an_opened_model_fits_the_data_it_was_trained_on():
    opened = OpenedModel(None, {"input_shape": [1, 8, 8], "classes": ["0", "1"]}, "a + b")
    same = SimpleNamespace(input_shape=(1, 8, 8), classes=(0, 1))
    assert opened.fits(same)
    assert not opened.fits(None)
    assert not opened.fits(SimpleNamespace(input_shape=(3, 8, 8), classes=(0, 1)))
    assert not opened.fits(SimpleNamespace(input_shape=(1, 8, 8), classes=(0, 1, 2)))
    assert not OpenedModel(None, {}, "no description").fits(same)
