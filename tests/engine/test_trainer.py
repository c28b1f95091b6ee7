"""The Trainer: it learns, its controls behave, the weight update it shows is the real one,
the gate queues, a crash fails one run (not the process), the same seed gives the same run."""

import dataclasses
import math
import threading
import time

import numpy as np
import pytest
import torch
from waiting import wait_for

from cnnviz import arch, checkpoint, data, runs
from cnnviz import training as train
from cnnviz.training import Gate, TrainConfig, Trainer, TrainError

torch.set_num_threads(1)
MINIMAL = arch.PRESETS["minimal"]
SMALL = "conv4k3-relu-max2-flat-fc"


@pytest.fixture(scope="module")
def digits():
    return data.builtin("digits")


@pytest.fixture(scope="module")
def tiny(digits):
    """200 training digits: a run is a few hundred milliseconds."""
    return digits.subset(200, seed=0)


def finished(t: Trainer, timeout=60.0) -> Trainer:
    assert t.join(timeout), "the trainer did not end"
    assert t.status == "finished", (t.status, t.error)
    return t


def long_config(**kw):
    return TrainConfig(**{"epochs": 1000, "batch_size": 8, "lr": 1e-3, **kw})


# ---- learning


def test_learns_well_above_chance_in_seconds(digits):
    t = Trainer(digits, MINIMAL, TrainConfig(lr=1e-2, epochs=3, n_train=1500), gate=Gate(1))
    t.start()
    finished(t)
    hist = t.history()
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert hist[-1]["val_acc"] > 0.8  # chance is 0.1
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    report = t.evaluate()
    assert report.accuracy > 0.8
    p = t.progress()
    assert p.fraction == 1.0 and p.step == p.steps == 3 * math.ceil(1500 / 64)
    assert p.images_per_s > 0 and p.eta_s == 0.0


def test_orientations_learn(digits):
    ds = data.builtin("orientations")
    t = Trainer(ds, SMALL, TrainConfig(lr=1e-2, epochs=2, batch_size=32), gate=Gate(1))
    t.start()
    finished(t)
    assert t.history()[-1]["val_acc"] > 1.5 / ds.n_classes


def test_history_and_batch_history_agree(tiny):
    t = Trainer(tiny, SMALL, TrainConfig(epochs=2, batch_size=32), gate=Gate(1))
    t.start()
    finished(t)
    batches, hist = t.batch_history(), t.history()
    assert [b["step"] for b in batches] == list(range(1, 15))  # 200 images: 7 batches x 2
    assert [b["loss"] for b in batches if b["epoch"] == 1] == hist[0]["batch_losses"]
    assert hist[0]["train_loss"] == pytest.approx(np.mean(hist[0]["batch_losses"]))
    assert t.batch_history(since=10) == batches[10:]
    assert all(0 <= b["acc"] <= 1 for b in batches)


# ---- the same seed gives the same run


def run(ds, spec=arch.PRESETS["lenet5"], **kw):
    cfg = TrainConfig(**{"epochs": 2, "batch_size": 32, "lr": 3e-3, **kw})
    t = Trainer(ds, spec, cfg, gate=Gate(2))
    t.start()
    return finished(t)


def test_same_seed_same_result_even_when_two_run_at_once(tiny):
    spec = "conv6k3-relu-drop0.3-max2-flat-fc32-relu-drop-fc"
    kw = dict(augment=True, dropout=0.25, seed=7)
    alone = run(tiny, spec, **kw)
    a = Trainer(tiny, spec, TrainConfig(epochs=2, batch_size=32, lr=3e-3, **kw), gate=Gate(2))
    b = Trainer(tiny, spec, TrainConfig(epochs=2, batch_size=32, lr=3e-3, **kw), gate=Gate(2))
    a.start()
    b.start()
    for t in (a, b):
        finished(t)
        assert [x["loss"] for x in t.batch_history()] == [x["loss"] for x in alone.batch_history()]
        for p, q in zip(t.model.parameters(), alone.model.parameters()):
            assert torch.equal(p, q)
    other = run(tiny, spec, **{**kw, "seed": 8})
    assert other.batch_history()[0]["loss"] != alone.batch_history()[0]["loss"]


def test_dropout_override_and_augmentation_change_the_run(tiny):
    spec = "conv6k3-relu-drop0.5-max2-flat-fc"
    t = Trainer(tiny, spec, TrainConfig(dropout=0.1), gate=Gate(1))
    drops = [m for m in t.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and all(m.p == 0.1 for m in drops)
    plain = run(tiny, SMALL)
    augmented = run(tiny, SMALL, augment=True)
    assert plain.batch_history()[0]["loss"] != augmented.batch_history()[0]["loss"]
    fresh = [Trainer(tiny, SMALL, TrainConfig(augment=a), gate=Gate(1)) for a in (False, True)]
    for p, q in zip(fresh[0].model.parameters(), fresh[1].model.parameters()):
        assert torch.equal(p, q)  # the same start: only the images differ


def test_n_train_uses_a_subset(digits):
    t = Trainer(digits, SMALL, TrainConfig(n_train=50, batch_size=10, epochs=1), gate=Gate(1))
    t.start()
    finished(t)
    assert t.progress().batches == 5


# ---- the update rule shows the real numbers


@pytest.mark.parametrize(
    "optimizer, weight_decay, schedule",
    [
        ("sgd", 0.0, "constant"),
        ("sgd", 0.01, "cosine"),
        ("momentum", 0.0, "step"),
        ("momentum", 0.001, "constant"),
        ("adam", 0.0, "constant"),
        ("adam", 0.01, "cosine"),
    ],
)
def test_update_example_is_the_real_update(tiny, optimizer, weight_decay, schedule):
    cfg = TrainConfig(
        optimizer=optimizer,
        lr=0.05 if optimizer != "adam" else 0.01,
        weight_decay=weight_decay,
        schedule=schedule,
        epochs=1,
        batch_size=40,
    )
    t = Trainer(tiny, arch.PRESETS["lenet5"], cfg, gate=Gate(1))
    prev = None
    for step in range(1, 5):
        before = t.model.get_parameter("0.weight").detach().clone()
        t.step_batch()
        wait_for(lambda s=step: t.snapshot() and t.snapshot().step == s, what=f"step {step}")
        assert t.status == "paused"
        u = t.snapshot().update
        assert u.step == step and u.param == "0.weight" and u.index == (0, 0, 2, 2)
        w = t.model.get_parameter("0.weight").detach()
        assert u.w_old == before[u.index].item()
        assert u.w_new == w[u.index].item()  # bit for bit: read from the weight itself
        assert u.w_new != u.w_old
        assert u.formula_w_new == pytest.approx(u.w_new, rel=1e-6, abs=1e-9)
        assert u.lr == train.lr_at(cfg, step - 1, 5) == t.batch_history()[-1]["lr"]
        assert u.g == pytest.approx(u.grad + weight_decay * u.w_old, rel=1e-12)
        assert str(round(u.w_new, 4))[:5] in u.rule.replace("(", "")
        if optimizer == "momentum":
            assert u.terms["v_old"] == (prev.terms["v"] if prev else None)
            assert "mu*v" in u.rule or "first step" in u.rule
        if optimizer == "adam":
            assert u.terms["t"] == step
            assert u.terms["m_old"] == (prev.terms["m"] if prev else 0.0)
            assert u.terms["v_old"] == (prev.terms["v"] if prev else 0.0)
            assert u.terms["m_hat"] == u.terms["m"] / (1 - 0.9**step)
            assert "m_hat" in u.rule and "sqrt(v_hat)" in u.rule
        if optimizer == "sgd":
            assert u.terms == {}
        prev = u
    t.stop()
    assert t.join(5)


def test_update_grad_is_dL_dw_of_the_batch(tiny):
    """The gradient shown equals torch's gradient of the mean loss of the same batch."""
    cfg = TrainConfig(optimizer="sgd", lr=0.1, batch_size=200, epochs=1)
    t = Trainer(tiny, SMALL, cfg, gate=Gate(1))
    model0 = arch.build(SMALL, tiny.input_shape, tiny.n_classes)
    model0.load_state_dict(t.model.state_dict())
    t.step_batch()
    wait_for(lambda: t.snapshot() and t.snapshot().step == 1)
    u = t.snapshot().update
    x, y = torch.from_numpy(tiny.x_train), torch.from_numpy(tiny.y_train)  # the whole set
    torch.nn.functional.cross_entropy(model0(x), y).backward()
    assert u.grad == pytest.approx(model0[0].weight.grad[u.index].item(), rel=1e-4, abs=1e-7)
    t.stop()


def test_set_highlight(tiny):
    t = Trainer(tiny, SMALL, TrainConfig(optimizer="momentum"), gate=Gate(1))
    t.set_highlight("4.weight", (3, 17))
    with pytest.raises(TrainError, match="no parameter"):
        t.set_highlight("9.weight", (0,))
    with pytest.raises(TrainError, match="outside"):
        t.set_highlight("4.weight", (10, 0))
    t.step_batch()
    wait_for(lambda: t.snapshot() and t.snapshot().update is not None)
    u = t.snapshot().update
    assert (u.param, u.index, u.layer) == ("4.weight", (3, 17), 4)
    assert u.w_new == t.model[4].weight[3, 17].item()
    t.stop()


# ---- snapshots


def test_snapshot_contents(tiny):
    t = Trainer(tiny, arch.PRESETS["lenet5"], TrainConfig(epochs=1), gate=Gate(1))
    s0 = t.snapshot()  # before start: the untrained net, taken on request
    assert s0 is not None and s0.step == 0 and s0.update is None
    assert len(s0.activations) == len(t.model)
    assert s0.filters.shape == tuple(t.model[0].weight.shape)
    assert s0.probs.shape == (10,) and s0.probs.sum() == pytest.approx(1, abs=1e-5)
    assert np.array_equal(s0.probe, tiny.x_val[0])
    with pytest.raises(TrainError, match="shape"):
        t.set_probe(np.zeros((3, 16, 16), np.float32))
    with pytest.raises(TrainError, match="NaN"):
        t.set_probe(np.full((1, 16, 16), np.nan, np.float32))
    t.set_probe(tiny.x_test[5])
    s1 = t.snapshot()
    assert np.array_equal(s1.probe, tiny.x_test[5]) and s1 is not s0
    t.start()
    finished(t)
    last = t.snapshot()
    assert last.step == t.progress().steps
    assert np.array_equal(last.probe, tiny.x_test[5])
    assert last.stats and any(s is not None for s in last.stats)
    acts = last.activations
    with torch.no_grad():
        t.model.eval()
        want = t.model(torch.from_numpy(tiny.x_test[5][None]))[0].numpy()
    np.testing.assert_allclose(acts[-1].values, want, rtol=1e-5, atol=1e-6)


def test_snapshots_are_rate_limited(tiny):
    t = Trainer(
        tiny, SMALL, TrainConfig(epochs=4, batch_size=8), gate=Gate(1), snapshot_interval=1e6
    )
    steps = set()
    t.start()
    while not t.done:
        s = t.snapshot()
        steps.add(s.step if s else None)
        time.sleep(0.001)
    finished(t)
    assert steps <= {None, 0, t.progress().steps}  # only the first and the last


# ---- controls


def test_pause_step_resume_stop(digits):
    t = Trainer(digits, SMALL, long_config(), gate=Gate(1))
    assert t.status == "new" and t.progress().step == 0
    t.start()
    wait_for(lambda: t.progress().step > 3, what="some steps")
    t.pause()
    wait_for(lambda: t.status == "paused", what="paused")
    frozen = t.progress().step
    time.sleep(0.1)
    assert t.progress().step == frozen
    t.step_batch()
    wait_for(lambda: t.progress().step == frozen + 1, what="one step")
    time.sleep(0.05)
    assert t.progress().step == frozen + 1 and t.status == "paused"
    t.step_batch()
    t.step_batch()
    wait_for(lambda: t.progress().step == frozen + 3, what="two more steps")
    t.resume()
    wait_for(lambda: t.progress().step > frozen + 10, what="running again")
    assert t.status == "running"
    t.stop()
    assert t.join(5)
    assert t.status == "stopped" and t.error is None
    stopped_at = t.progress().step
    t.resume()
    t.start()
    t.step_batch()
    time.sleep(0.05)
    assert t.status == "stopped" and t.progress().step == stopped_at


def test_step_from_new_does_one_batch(tiny):
    t = Trainer(tiny, SMALL, TrainConfig(), gate=Gate(1))
    t.step_batch()
    wait_for(lambda: t.progress().step == 1)
    wait_for(lambda: t.status == "paused")
    assert len(t.batch_history()) == 1
    t.stop()
    assert t.join(5) and t.status == "stopped"


def test_stop_before_start_and_while_paused(tiny):
    t = Trainer(tiny, SMALL, TrainConfig(), gate=Gate(1))
    t.stop()
    assert t.status == "stopped"
    t.start()
    assert t.status == "stopped" and t.join(1)
    t = Trainer(tiny, SMALL, TrainConfig(), gate=Gate(1))
    t.step_batch()
    wait_for(lambda: t.status == "paused")
    t.stop()
    assert t.join(5) and t.status == "stopped"


def test_stop_is_prompt_on_a_large_run(digits):
    t = Trainer(digits, arch.PRESETS["lenet5"], long_config(batch_size=64), gate=Gate(1))
    t.start()
    wait_for(lambda: t.status == "running")
    t.stop()
    assert t.join(5)
    assert t.status == "stopped"


def test_controls_from_many_threads(tiny):
    t = Trainer(tiny, SMALL, long_config(), gate=Gate(1))
    actions = [t.start, t.pause, t.resume, t.step_batch, t.pause, t.resume, t.progress, t.snapshot]

    def hammer(i):
        for j in range(30):
            actions[(i + j) % len(actions)]()

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.resume()
    wait_for(lambda: t.status == "running")
    t.stop()
    assert t.join(5) and t.status == "stopped"


# ---- the gate


def test_gate_queues_and_frees_slots(tiny):
    gate = Gate(1)
    a = Trainer(tiny, SMALL, long_config(), gate=gate)
    b = Trainer(tiny, SMALL, long_config(), gate=gate)
    c = Trainer(tiny, SMALL, TrainConfig(epochs=1), gate=gate)
    a.start()
    wait_for(lambda: a.status == "running")
    b.start()
    wait_for(lambda: b.queue_position == 1, what="b queued")
    c.start()
    wait_for(lambda: b.queue_position == 1 and c.queue_position == 2, what="queue positions")
    assert b.status == c.status == "waiting" and a.queue_position is None
    assert b.progress().step == 0 and gate.running == 1 and gate.waiting == 2
    b.stop()  # a waiting trainer leaves the queue at once
    assert b.join(5) and b.status == "stopped"
    wait_for(lambda: c.queue_position == 1)
    a.stop()  # frees the slot
    assert a.join(5)
    finished(c)
    assert gate.running == 0 and gate.waiting == 0


def test_finished_and_failed_trainers_free_their_slot(tiny):
    gate = Gate(1)
    bad = Trainer(Exploding(tiny), SMALL, TrainConfig(), gate=gate)
    ok = Trainer(tiny, SMALL, TrainConfig(epochs=1), gate=gate)
    bad.start()
    assert bad.join(10) and bad.status == "failed"
    assert gate.running == 0
    ok.start()
    finished(ok)
    assert gate.running == 0


def test_a_long_pause_gives_the_slot_to_a_waiting_user(tiny, monkeypatch):
    monkeypatch.setattr("cnnviz.training.trainer.PAUSE_HOLD_S", 0.2)
    gate = Gate(1)
    a = Trainer(tiny, SMALL, long_config(), gate=gate)
    b = Trainer(tiny, SMALL, long_config(), gate=gate)
    a.step_batch()
    wait_for(lambda: a.status == "paused")
    b.start()
    wait_for(lambda: b.status == "waiting" and b.queue_position == 1)
    wait_for(lambda: b.status == "running", what="a to give up its slot")  # after the hold
    assert a.status == "paused" and not gate.holds(a)
    a.resume()  # queues behind the running b
    wait_for(lambda: a.status == "waiting" and a.queue_position == 1)
    steps = a.progress().step
    a.pause()  # paused again while queued: still waiting for the slot
    b.stop()
    assert b.join(5)
    wait_for(lambda: a.status == "paused" and gate.holds(a))
    assert a.progress().step == steps
    a.resume()
    wait_for(lambda: a.progress().step > steps + 5)
    a.stop()
    assert a.join(5) and gate.running == 0


def test_paused_trainer_keeps_its_slot_when_nobody_waits(tiny, monkeypatch):
    monkeypatch.setattr("cnnviz.training.trainer.PAUSE_HOLD_S", 0.0)
    gate = Gate(1)
    a = Trainer(tiny, SMALL, long_config(), gate=gate)
    a.step_batch()
    wait_for(lambda: a.status == "paused")
    time.sleep(0.3)
    assert gate.holds(a)
    a.stop()
    assert a.join(5) and not gate.holds(a)


def test_default_gate_size(monkeypatch):
    monkeypatch.setenv("CNNVIZ_MAX_TRAININGS", "3")
    assert train.default_max_running() == 3
    monkeypatch.setenv("CNNVIZ_MAX_TRAININGS", "zero")
    assert train.default_max_running() >= 1
    monkeypatch.delenv("CNNVIZ_MAX_TRAININGS")
    assert train.default_max_running() >= 1
    assert train.GATE.max_running >= 1


# ---- failures stay inside the run


class Exploding:
    """A dataset whose training images cannot be read (a disk gone, a bug in a loader)."""

    def __init__(self, ds):
        self._ds = ds

    def __getattr__(self, name):
        if name == "x_train":
            raise OSError("the disk went away\nsecond line of detail")
        return getattr(self._ds, name)


def test_crash_inside_training_fails_the_run_not_the_process(tiny, caplog):
    t = Trainer(Exploding(tiny), SMALL, TrainConfig(), gate=Gate(1))
    t.start()
    assert t.join(10)
    assert t.status == "failed"
    assert t.error == "Training failed: OSError: the disk went away."
    assert "Traceback" in caplog.text  # the traceback is logged on the server
    assert threading.main_thread().is_alive()


def test_diverging_loss_fails_with_advice(tiny):
    huge = dataclasses.replace(tiny, x_train=tiny.x_train * np.float32(1e38))
    t = Trainer(huge, SMALL, TrainConfig(optimizer="sgd", lr=1.0), gate=Gate(1))
    t.start()
    assert t.join(10)
    assert t.status == "failed"
    assert "learning rate" in t.error and t.error.endswith(".") and "\n" not in t.error


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"schedule": "linear"}, "schedule"),
        ({"lr": 0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": "0.1"}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"epochs": 10**6}, "epochs"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"dropout": 1.0}, "dropout"),
        ({"augment": "yes"}, "augment"),
        ({"seed": -1}, "seed"),
        ({"n_train": 0}, "n_train"),
    ],
)
def test_bad_settings_are_refused_in_one_sentence(tiny, kw, words):
    with pytest.raises(TrainError) as e:
        Trainer(tiny, SMALL, TrainConfig(**kw))
    msg = str(e.value)
    assert words in msg and msg.endswith(".") and "\n" not in msg


def test_impossible_arch_is_refused_before_training(tiny):
    with pytest.raises(arch.ArchError):
        Trainer(tiny, "conv8k20-relu-flat-fc", TrainConfig())


def test_lr_schedules():
    c = TrainConfig(lr=0.1)
    assert [train.lr_at(c, s, 8) for s in (0, 7)] == [0.1, 0.1]
    c = TrainConfig(lr=0.1, schedule="step")
    assert [train.lr_at(c, s, 8) for s in range(8)] == pytest.approx(
        [0.1] * 4 + [0.01] * 2 + [0.001] * 2
    )
    c = TrainConfig(lr=0.1, schedule="cosine")
    assert train.lr_at(c, 0, 10) == 0.1
    assert train.lr_at(c, 5, 10) == pytest.approx(0.05)
    assert train.lr_at(c, 9, 10) < 0.003


def test_config_round_trips_through_a_dict():
    c = TrainConfig(optimizer="momentum", lr=0.05, dropout=0.2, n_train=100)
    assert TrainConfig.from_dict({**c.to_dict(), "unknown": 1}) == c


# ---- evaluate and checkpoint


def test_evaluate_matches_the_model(digits):
    t = Trainer(digits, MINIMAL, TrainConfig(lr=1e-2, epochs=1), gate=Gate(1))
    t.start()
    finished(t)
    r = t.evaluate()
    with torch.no_grad():
        t.model.eval()
        pred = t.model(torch.from_numpy(digits.x_test)).argmax(1).numpy()
    assert np.array_equal(r.predictions, pred)
    assert r.accuracy == (pred == digits.y_test).mean()
    assert r.confusion.sum() == len(digits.y_test) == r.n
    assert np.trace(r.confusion) == (pred == digits.y_test).sum()
    for k in range(10):
        mask = digits.y_test == k
        assert r.per_class[k] == pytest.approx((pred[mask] == k).mean())
        assert r.confusion[k].sum() == mask.sum()
    assert np.array_equal(r.misclassified, np.flatnonzero(pred != digits.y_test))
    assert r.classes == digits.classes


def test_trained_model_round_trips_through_a_checkpoint(tiny, tmp_path):
    t = run(tiny, SMALL, epochs=1)
    meta = t.meta()
    assert meta["dataset"] == "digits" and meta["config"]["epochs"] == 1
    path = runs.save_run(tmp_path, t.model, meta)
    model, info = runs.load_run(path)
    x = torch.from_numpy(tiny.x_test[:20])
    t.model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), t.model(x))
    assert info["metrics"]["val_acc"] == t.history()[-1]["val_acc"]
    assert TrainConfig.from_dict(info["config"]) == t.config


def test_on_epoch_sees_each_epoch_and_can_stop_early(tiny):
    seen = []

    def on_epoch(trainer, record):
        seen.append((record["epoch"], trainer.evaluate().n))
        return record["epoch"] == 2

    t = Trainer(tiny, SMALL, TrainConfig(epochs=5), gate=Gate(1), on_epoch=on_epoch)
    t.start()
    assert t.join(20)
    assert t.status == "stopped" and seen == [(1, len(tiny.y_test)), (2, len(tiny.y_test))]
    assert len(t.history()) == 2 and t.snapshot().step == t.progress().step


def test_evaluate_model_on_a_loaded_checkpoint(tiny, digits):
    t = run(tiny, SMALL, epochs=1)
    model, _ = checkpoint.load(*checkpoint.save(t.model, t.meta()))
    a, b = t.evaluate("val"), train.evaluate_model(model, tiny, "val")
    assert a.accuracy == b.accuracy and np.array_equal(a.confusion, b.confusion)
    other = arch.build(SMALL, (1, 28, 28), 10)
    with pytest.raises(TrainError, match="does not fit"):
        train.evaluate_model(other, digits)
    with pytest.raises(TrainError, match="split"):
        train.evaluate_model(model, digits, "holdout")


def test_progress_knows_the_run_length_before_it_starts(digits):
    t = Trainer(digits, SMALL, TrainConfig(n_train=500, batch_size=100, epochs=3), gate=Gate(1))
    p = t.progress()
    assert (p.batches, p.steps, p.step, p.fraction, p.eta_s) == (5, 15, 0, 0.0, None)


def test_a_lone_last_image_joins_the_batch_before_it(tiny):
    """200 images in batches of 199 would leave a batch of one, which batch norm refuses."""
    assert train.batch_count(200, 199) == 1 and train.batch_count(201, 100) == 2
    assert train.batch_count(10, 3) == 3 and train.batch_count(1, 64) == 1
    t = run(tiny, spec="conv4k3-bn-relu-max2-flat-fc", batch_size=199, epochs=1)
    assert t.progress().batches == 1
