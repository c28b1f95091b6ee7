"""The README's engine example runs as documented (a notebook user's first contact), and its Layout
section names every file of the tree."""

import doctest
import pathlib
import re

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


def _layout_rows() -> dict[str, str]:
    """The README's Layout table: path cell -> what cell."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Layout\n") : text.index("\n## ", text.index("## Layout\n") + 1)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_the_layout_section_names_every_file_of_the_tree():
    rows = _layout_rows()
    root = README.parent
    missing, stale = [], []
    for folder in [
        "pages",
        "cnnviz",
        *(
            str(p.relative_to(root))
            for p in (root / "cnnviz").glob("*/**/")
            if p.is_dir() and p.name != "__pycache__"
        ),
    ]:
        files = sorted(
            p.name
            for p in (root / folder).glob("*.py")
            if p.name != "__init__.py" or folder == "cnnviz"
        )
        if not files:
            continue
        what = rows.get(folder + "/")
        if what is None:
            missing.append(folder + "/")
            continue
        missing += [f"{folder}/{f}" for f in files if f"`{f}`" not in what]
        named = re.findall(r"`([A-Za-z_]+\.py)`", what)
        stale += [f"{folder}/{f}" for f in named if not (root / folder / f).exists()]
    assert not missing, f"the README's Layout section does not name: {missing}"
    assert not stale, f"the README's Layout section names files that are gone: {stale}"
