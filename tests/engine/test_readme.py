"""The README's engine example runs as documented (a notebook user's first contact)."""

import doctest
import pathlib

import numpy as np

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_examples_run_as_written():
    np.set_printoptions(legacy=False)
    text = README.read_text(encoding="utf-8")
    assert ">>> import numpy as np, cnnviz" in text
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README.md", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 8 and result.failed == 0


def test_package_docstring_examples_run():
    """`help(cnnviz)` shows the engine and the lazily loaded, torch-based parts; both work."""
    import cnnviz

    failed, attempted = doctest.testmod(cnnviz, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted >= 4 and failed == 0
