"""`python -m cnnviz`: trains end to end in a subprocess, writes a run the app lists, and
refuses bad input in one line with exit code 2."""

import os
import pathlib
import subprocess
import sys

import pytest
import torch

from cnnviz import arch, data
from cnnviz.__main__ import main
from cnnviz.numbers import percent
from cnnviz.runs import list_runs, load_run

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cli(*args, cwd, env=None, timeout=120):
    """The real command in a fresh Python process."""
    full_env = {k: v for k, v in os.environ.items() if k != "CNNVIZ_RUNS"}
    full_env.update(PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "cnnviz", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_the_commands(tmp_path, capsys):
    r = cli("--help", cwd=tmp_path)
    assert r.returncode == 0
    for command in ("train", "runs", "presets", "pretrain"):
        assert command in r.stdout
    with pytest.raises(SystemExit) as e:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--optimizer" in out and "--seed" in out


def test_train_end_to_end_writes_a_run_the_app_lists(tmp_path):
    r = cli(
        "train",
        "--data",
        "digits",
        "--arch",
        "minimal",
        "--epochs",
        "2",
        "--lr",
        "0.1",
        "--batch-size",
        "16",
        "--n-train",
        "300",
        "--optimizer",
        "momentum",
        "--seed",
        "3",
        "--threads",
        "1",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "epoch 1/2" in r.stderr and "epoch 2/2" in r.stderr and "test accuracy" in r.stderr
    path = tmp_path / r.stdout.strip()
    assert path.parent == tmp_path / "runs" and path.name.endswith("digits-minimal")
    runs = list_runs(tmp_path / "runs")
    assert [x.path.resolve() for x in runs] == [path.resolve()]
    model, meta = load_run(path)
    assert meta["arch"] == arch.PRESETS["minimal"] and meta["dataset"] == "digits"
    assert meta["config"]["optimizer"] == "momentum" and meta["config"]["seed"] == 3
    assert meta["metrics"]["epochs_done"] == 2
    ds = data.builtin("digits")
    with torch.no_grad():
        pred = model(torch.from_numpy(ds.x_test)).argmax(1).numpy()
    assert (pred == ds.y_test).mean() == pytest.approx(meta["metrics"]["test_accuracy"])
    assert meta["metrics"]["test_accuracy"] > 0.5  # 10 classes: chance is 0.1

    listed = cli("runs", cwd=tmp_path)
    assert listed.returncode == 0 and path.name in listed.stdout


def test_out_and_env_choose_the_runs_folder(tmp_path, capsys, monkeypatch):
    args = ["train", "--arch", "conv2k3-relu-max2-flat-fc", "--epochs", "1", "--n-train", "50"]
    monkeypatch.chdir(tmp_path)
    assert main([*args, "--out", "elsewhere", "--name", "Before class", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and (tmp_path / out.strip()).parent == tmp_path / "elsewhere"
    assert out.strip().endswith("before-class")
    r = cli(*args, "--quiet", cwd=tmp_path, env={"CNNVIZ_RUNS": str(tmp_path / "env")})
    assert r.returncode == 0, r.stderr
    assert pathlib.Path(r.stdout.strip()).parent == tmp_path / "env"


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--arch", "conv8k30-relu-flat-fc"], "kernel_size"),
        (["train", "--arch", "conv8k3-relu"], "class"),
        (["train", "--data", "nope"], "built-in"),
        (["train", "--data", "."], "neither"),
        (["train", "--lr", "-1"], "lr"),
        (["train", "--epochs", "x"], "--epochs"),
        (["train", "--optimizer", "rmsprop"], "--optimizer"),
        (["train", "--n-train", "0"], "n_train"),
        (["train", "--threads", "0"], "--threads"),
        (["train", "--bogus"], "--bogus"),
        (["fly"], "fly"),
        ([], "usage"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, words, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNVIZ_RUNS", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    if args:
        assert err.startswith("cnnviz: error: ") and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_exit_code_2_from_the_real_process(tmp_path):
    r = cli("train", "--arch", "conv8k3-nonsense", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("cnnviz: error: ")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_runs_and_presets(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CNNVIZ_RUNS", raising=False)
    assert main(["runs"]) == 0
    assert "no runs" in capsys.readouterr().err
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in [*data.BUILTINS, *arch.PRESETS]:
        assert name in out


def test_pretrain_makes_the_explore_pages_nets_then_only_checks_them(capsys):
    from cnnviz.pretrained import PRETRAINED, cache_dir, pretrained

    assert main(["pretrain"]) == 0  # the suite's cache (tests/conftest.py): trained at most once
    out = capsys.readouterr().out
    for name in PRETRAINED:
        acc = pretrained(name)[1]["metrics"]["test_accuracy"]
        assert f"{name}: ready, test accuracy {percent(acc)} %" in out
    assert str(cache_dir()) in out
    assert main(["pretrain", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_a_preset_trains_with_its_measured_defaults_unless_told_otherwise():
    from cnnviz import arch
    from cnnviz.__main__ import _parser as parser
    from cnnviz.__main__ import train_config

    config = train_config(parser().parse_args(["train", "--arch", "lenet5"]))
    t = arch.PRESET_TRAINING["lenet5"]
    assert (config.optimizer, config.lr, config.batch_size, config.epochs) == (
        t["optimizer"],
        t["lr"],
        t["batch_size"],
        t["epochs"],
    )
    config = train_config(parser().parse_args(["train", "--arch", "lenet5", "--lr", "0.01"]))
    assert config.lr == 0.01 and config.epochs == t["epochs"]
    config = train_config(parser().parse_args(["train", "--arch", "conv2k3-flat-fc"]))
    assert config.lr == 0.001 and config.epochs == 3  # not a preset: TrainConfig's own
