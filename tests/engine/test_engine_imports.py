"""The engine (everything in cnnviz/ but cnnviz/ui/) never imports streamlit.

A notebook user can `import cnnviz` and get every number the app shows. Two checks:
a static one that reads each file's syntax tree (names the file and line), and a runtime one
that imports every engine module in a fresh interpreter (catches indirect imports).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "cnnviz"
UI = ENGINE / "ui"
FORBIDDEN = "streamlit"


def engine_files() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if UI not in p.parents)


def _is_forbidden(module: str | None) -> bool:
    return module is not None and (module == FORBIDDEN or module.startswith(FORBIDDEN + "."))


def streamlit_imports(source: str, filename: str = "<string>") -> list[str]:
    """Every way `source` imports streamlit, as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}" for a in node.names if _is_forbidden(a.name)
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_forbidden(node.module):
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            # importlib.import_module("streamlit"), import_module(...), __import__(...)
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in {"import_module", "__import__"} and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    if _is_forbidden(arg.value):
                        found.append(f"line {node.lineno}: {name}({arg.value!r})")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit",
        "import streamlit as st",
        "import os, streamlit.components.v1 as components",
        "from streamlit import session_state",
        "from streamlit.testing.v1 import AppTest",
        "import importlib\nst = importlib.import_module('streamlit')",
        "from importlib import import_module\nst = import_module('streamlit.runtime')",
        "st = __import__('streamlit')",
        "def f():\n    import streamlit\n",
        "try:\n    import streamlit\nexcept ImportError:\n    pass\n",
    ],
)
def test_detector_catches(source: str) -> None:
    assert streamlit_imports(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import streamlit_like_name",
        "from . import streamlit",  # a sibling module of that name, not the library
        "x = 'streamlit'",
        "import numpy as np",
    ],
)
def test_detector_ignores(source: str) -> None:
    assert not streamlit_imports(source), source


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_file_does_not_import_streamlit(path: Path) -> None:
    found = streamlit_imports(path.read_text(encoding="utf-8"), str(path))
    assert not found, (
        f"{path.relative_to(ROOT)} imports streamlit ({'; '.join(found)}). "
        "The engine stays streamlit-free: move UI code to cnnviz/ui/ or pages/."
    )


RUNTIME_CHECK = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    def walk(package):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if info.name == "cnnviz.ui" or info.name.startswith("cnnviz.ui."):
                continue
            module = importlib.import_module(info.name)
            yield info.name
            if info.ispkg:
                yield from walk(module)

    import cnnviz
    imported, offender = ["cnnviz"], None
    if "streamlit" in sys.modules:
        offender = "cnnviz"
    else:
        for name in walk(cnnviz):
            imported.append(name)
            if "streamlit" in sys.modules:
                offender = name
                break
    print(json.dumps({"imported": imported, "offender": offender}))
    """
)


def test_importing_the_engine_does_not_load_streamlit() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUNTIME_CHECK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"importing the engine failed:\n{proc.stderr}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "cnnviz" in result["imported"]
    assert result["offender"] is None, (
        f"importing {result['offender']} loaded streamlit (directly or through another module); "
        f"modules imported: {result['imported']}"
    )
