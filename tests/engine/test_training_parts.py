"""The small pieces of cnnviz.training: the names every layer shares are defined once and import
without torch, test metrics merge into a run's metadata in one way, seeds give independent
streams, and the plain loop `fit` runs without a worker and gives the same numbers twice."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.training import DONE, OPTIMIZERS, SCHEDULES, STATUSES, TrainConfig, with_test_metrics

ROOT = Path(__file__).resolve().parents[2]


def test_the_shared_names_import_without_torch():
    code = (
        "import sys; from cnnviz.training import DONE, OPTIMIZERS, SCHEDULES, TrainConfig, "
        "with_test_metrics; print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_statuses_and_names():
    assert set(DONE) <= set(STATUSES) and "new" not in DONE
    assert TrainConfig().optimizer in OPTIMIZERS and TrainConfig().schedule in SCHEDULES


class _Report:
    accuracy = np.float64(0.75)
    loss = 0.5


def test_with_test_metrics_adds_and_copies():
    meta = {"arch": "x", "metrics": {"val_acc": 0.7, "steps": 3}}
    out = with_test_metrics(meta, _Report())
    assert out["metrics"] == {"val_acc": 0.7, "steps": 3, "test_accuracy": 0.75, "test_loss": 0.5}
    assert type(out["metrics"]["test_accuracy"]) is float  # JSON-ready
    assert meta["metrics"] == {"val_acc": 0.7, "steps": 3}  # the input is left alone
    assert with_test_metrics(meta, None) == meta
    assert with_test_metrics({"arch": "x"}, _Report())["metrics"]["test_loss"] == 0.5


def test_seed_streams_are_independent_and_repeatable():
    import torch

    from cnnviz.training.seeding import Streams

    a, b, c = Streams.from_seed(1), Streams.from_seed(1), Streams.from_seed(2)
    draw = [torch.rand(3, generator=g) for g in (a.init, a.shuffle, a.augment, a.dropout)]
    again = [torch.rand(3, generator=g) for g in (b.init, b.shuffle, b.augment, b.dropout)]
    assert all(torch.equal(x, y) for x, y in zip(draw, again))
    assert len({tuple(x.tolist()) for x in draw}) == 4
    assert not torch.equal(torch.rand(3, generator=c.init), draw[0])  # seed 2 is not seed 1


@pytest.fixture(scope="module")
def tiny():
    from cnnviz import data

    return data.builtin("digits").subset(120, seed=0)


def test_fit_is_a_plain_loop_and_reproducible(tiny):
    """No worker, no thread: the same seed gives the same batches, history and weights."""
    import torch

    from cnnviz.training import Hooks, Run, fit, train_data

    cfg = TrainConfig(optimizer="momentum", lr=0.05, epochs=2, batch_size=32, dropout=0.2)
    runs = []
    for _ in range(2):
        run = Run("conv4k3-relu-drop-max2-flat-fc", tiny.input_shape, tiny.classes, cfg)
        assert fit(run, train_data(tiny, cfg)) == "finished"
        runs.append(run)
    a, b = runs
    assert a.step == b.step == 2 * 4 and len(a.history) == 2
    assert a.batches == b.batches
    assert all(torch.equal(x, y) for x, y in zip(a.model.parameters(), b.model.parameters()))
    assert a.snapshot is not None and a.snapshot.step == a.step  # the last one, at the end

    class Stop(Hooks):
        snapshots = False

        def next_batch(self, run) -> bool:
            return run.step < 3

    c = Run("conv4k3-relu-drop-max2-flat-fc", tiny.input_shape, tiny.classes, cfg)
    assert fit(c, train_data(tiny, cfg), Stop()) == "stopped"
    assert c.step == 3 and c.batches == a.batches[:3] and c.snapshot is None


def test_the_train_pages_worker_and_train_give_the_same_run(tiny):
    """What a student's Train page runs (a worker process behind Trainer) and `train` (this
    thread, as the lesson and preset tests and the built-in nets use it) are the same run, to
    the last bit: with augmentation, dropout and a schedule, which draw from the run's streams."""
    import torch

    from cnnviz.training import Gate, Trainer, train

    spec = "conv4k3-relu-max2-flat-drop-fc"
    cfg = TrainConfig(
        optimizer="adam",
        lr=0.01,
        epochs=3,
        batch_size=16,
        dropout=0.3,
        augment=True,
        schedule="cosine",
        n_train=60,
        weight_decay=1e-4,
    )
    worker = Trainer(tiny, spec, cfg, gate=Gate(1))
    worker.start()
    assert worker.join(120) and worker.status == "finished", worker.error
    here = train(tiny, spec, cfg)

    def timeless(h: dict) -> dict:  # a record without its timings
        return {
            k: v for k, v in h.items() if k not in ("seconds", "train_seconds", "train_cpu_seconds")
        }

    assert [timeless(h) for h in worker.history()] == [timeless(h) for h in here.history]
    got = worker.model.state_dict()
    assert all(torch.equal(got[k], v) for k, v in here.model.state_dict().items())
    # validating only after the last epoch (the lesson and preset tests) changes nothing else
    quick = train(tiny, spec, cfg, validate_every_epoch=False)
    assert [h["val_acc"] for h in quick.history[:-1]] == [None, None]
    assert timeless(quick.history[-1]) == timeless(here.history[-1])
    assert all(torch.equal(got[k], v) for k, v in quick.model.state_dict().items())
