"""The Train page (AppTest): it runs with defaults, every preset and URL settings; a real training
started from its buttons is polled through the session's Trainer (AppTest does not tick
run_every), then a rerun shows the results; checkpoints go out and come back, and bad ones are
refused with a sentence."""

from __future__ import annotations

import html
import io
import json
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from waiting import wait_for

from cnnviz import arch, checkpoint
from cnnviz.arch import shape_text
from cnnviz.data import builtin
from cnnviz.inputs import image_as_input
from cnnviz.numbers import percent_text
from cnnviz.render import net
from cnnviz.runs import list_runs, save_run
from cnnviz.ui.train import charts, live, session
from cnnviz.ui.train.settings import LR_FOR


def shown_lines(at: AppTest) -> list[str]:
    """The texts of the page's monospaced boxes (ui.common.show_lines: HTML), as a reader sees
    them."""
    return [html.unescape(re.sub(r"<[^>]+>", "", h.value)) for h in at.html]


torch.set_num_threads(1)

PAGE = "pages/train.py"
WAIT = 90  # seconds a small training may take on a loaded 2-core machine


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    """Runs are saved under a temporary folder, never the repository's runs/."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("CNNVIZ_RUNS", str(folder))
    return folder


@pytest.fixture
def run(open_page):
    """The page with these URL params, on its Train step unless `step` says otherwise."""
    return lambda **params: open_page(PAGE, **{"step": "Train", **params})


def no_trouble(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not [e.value for e in at.error], [e.value for e in at.error]


def trainer(at: AppTest):
    return at.session_state["training"].trainer


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run(timeout=60)
    assert not at.exception, [e.message for e in at.exception]
    return at


def wait_done(at: AppTest):
    t = trainer(at)
    wait_for(lambda: t.done)
    t.join(10)
    return t


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the page opens


def test_defaults_offer_start_and_nothing_else(run):
    at = run()
    no_trouble(at)
    assert not at.button(key="tr_start").disabled
    assert not at.button(key="tr_step").disabled  # a new training, one batch at a time
    for key in ("tr_pause", "tr_resume", "tr_stop", "tr_reset"):
        assert at.button(key=key).disabled, key
    assert at.session_state["training"].trainer is None
    assert "Press **Start** to train" in texts(at)


@pytest.mark.parametrize("preset", list(arch.PRESETS))
def test_every_preset_opens_and_can_start(run, preset):
    at = run(arch=arch.PRESETS[preset], data="shapes")
    assert not at.exception, [e.message for e in at.exception]
    ds_shape = at.session_state["training"]  # the page ran far enough to own a session
    assert ds_shape is not None
    if at.error:  # a preset too deep for these images is explained, never a traceback
        assert all(e.value.endswith(".") for e in at.error), [e.value for e in at.error]
        assert at.button(key="tr_start").disabled
    else:
        assert not at.button(key="tr_start").disabled


def test_other_steps_draw_no_live_view(run):
    at = run(step="Architecture", epochs="50")
    click(at, "tr_start")  # the buttons stay drawn (their state lives on), the live view not
    t = trainer(at)
    wait_for(lambda: t.progress().step > 0)
    at.run(timeout=60)
    no_trouble(at)
    assert not at.get("progress") and not at.get("vega_lite_chart")
    assert "Press **Start** to train" not in texts(at)
    t.stop()


def test_a_run_finished_on_another_step_is_saved(run, runs_dir):
    at = run(step="Architecture", epochs="1")
    click(at, "tr_start")
    wait_done(at)
    at.run(timeout=60)  # the next page run, whichever step is open
    runs = list_runs(runs_dir)
    assert len(runs) == 1 and "test_accuracy" in runs[0].metrics


def test_closing_the_tab_keeps_a_finished_run_the_page_never_saw(run, runs_dir):
    at = run(epochs="5")
    click(at, "tr_start")
    wait_done(at)
    ts = at.session_state["training"]
    assert ts.generation not in ts.saved  # the page's last run was before the end
    session._Lease(ts).release()  # what the session-scoped resource does when the tab closes
    assert len(list_runs(runs_dir)) == 1
    session._Lease(ts).release()  # once only
    at.run(timeout=60)
    assert len(list_runs(runs_dir)) == 1


def test_closing_the_tab_ends_the_training_process(run):
    """The session-scoped lease's release (what Streamlit calls when the tab closes) stops the
    training: its worker process exits and what it learned stays."""
    import os

    at = run(epochs="100")
    click(at, "tr_start")
    t = trainer(at)
    wait_for(lambda: t.progress().step > 0 and t.worker_pid is not None)
    pid = t.worker_pid
    session._Lease(at.session_state["training"]).release()
    assert t.join(30) and t.status == "stopped"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert t.snapshot().step == t.progress().step > 0


def test_settings_come_from_the_url(run):
    at = run(
        opt="SGD",
        lr="0.03",
        sched="cosine",
        bs="32",
        epochs="2",
        wd="0.0001",
        drop="0.2",
        aug="true",
        seed="3",
        ntrain="100",
    )
    no_trouble(at)
    click(at, "tr_start")
    c = trainer(at).config
    assert (c.optimizer, c.lr, c.schedule, c.batch_size, c.epochs) == ("sgd", 0.03, "cosine", 32, 2)
    assert (c.weight_decay, c.dropout, c.augment, c.seed, c.n_train) == (1e-4, 0.2, True, 3, 100)
    trainer(at).stop()


def test_a_link_with_nonsense_falls_back_to_defaults(run):
    at = run(
        lr="abc",
        bs="7",
        epochs="-3",
        drop="2",
        opt="Foo",
        step="Nope",
        watch="99999",
        view="zzz",
        ntrain="x",
        wd="-1",
        seed="-5",
        aug="maybe",
        sched="linear",
    )
    no_trouble(at)
    for key in ("lr", "bs", "epochs", "drop", "opt", "step", "ntrain", "wd", "seed", "sched"):
        assert key not in at.query_params, key  # dropped: the defaults are used
    digits = builtin("digits")
    assert f"test image 0–{len(digits.y_test) - 1}" in at.number_input(key="watch").label
    click(at, "tr_step")  # sample 99999 is clamped to the last test image
    t = trainer(at)
    wait_for(lambda: t.snapshot() is not None)
    np.testing.assert_array_equal(t.snapshot().probe, digits.x_test[-1])
    t.stop()


def test_choosing_sgd_picks_a_learning_rate_that_suits_it(run):
    at = run()
    at.segmented_control(key="opt").set_value("SGD").run(timeout=60)
    assert at.select_slider(key="lr").value == LR_FOR["sgd"]


# ---------------------------------------------------------------------------------------------
# a real training, from the buttons


def test_start_train_and_see_results(run, runs_dir):
    at = run(epochs="2")
    click(at, "tr_start")
    t = wait_done(at)
    assert t.status == "finished", t.error
    at.run(timeout=60)
    no_trouble(at)
    report = t.evaluate()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy"] == percent_text(report.accuracy)
    assert metrics["Test images"] == f"{report.n:,}"
    assert report.accuracy > 0.5  # 10 classes: well above chance after 2 epochs
    confusion = [c for c in at.get("vega_lite_chart") if '"predicted"' in c.proto.spec]
    assert confusion, "the confusion matrix"
    per_class = at.dataframe[-1].value  # accuracy per class, in percent
    assert list(per_class["accuracy"]) == pytest.approx([100 * a for a in report.per_class])
    # the finished run was saved once, and the Model files step lists it and offers both files
    runs = list_runs(runs_dir)
    assert len(runs) == 1 and runs[0].metrics["test_accuracy"] == pytest.approx(report.accuracy)
    at.query_params["step"] = "Model files"
    at.run(timeout=60)
    no_trouble(at)
    assert len(list_runs(runs_dir)) == 1
    assert runs[0].name in at.selectbox(key="run_choice").options[0]
    assert len(at.get("download_button")) == 2


def test_curves_and_inside_views_while_paused(run):
    at = run(epochs="40")
    click(at, "tr_start")
    t = trainer(at)
    wait_for(lambda: t.progress().step >= 3)
    click(at, "tr_pause")
    wait_for(lambda: t.status == "paused")
    wait_for(lambda: t.snapshot() is not None and t.snapshot().step == t.progress().step)
    at.run(timeout=60)
    no_trouble(at)
    assert "Paused" in at.get("progress")[0].proto.text
    assert len(at.get("vega_lite_chart")) == 3  # loss, accuracy, and the softmax bars
    snap = t.snapshot()
    shown = texts(at)
    for a in snap.activations:
        assert f"**{a.index}. {a.name}** · {shape_text(a.shape)}" in shown
    assert f"Snapshot at step {snap.step}" in shown
    click(at, "tr_step")  # a paused step is always recorded with its update
    wait_for(lambda: t.snapshot().update is not None and t.snapshot().step == snap.step + 1)
    snap = t.snapshot()
    for view in ("Filters", "Histograms", "Update rule"):
        at.session_state["view"] = view
        at.run(timeout=60)
        no_trouble(at)
    assert snap.update is not None and snap.update.rule in shown_lines(at)
    t.stop()


def test_pause_step_resume_stop_reset(run):
    at = run(epochs="60")
    click(at, "tr_start")
    t = trainer(at)
    wait_for(lambda: t.status == "running")
    click(at, "tr_pause")
    wait_for(lambda: t.status == "paused")
    at.run(timeout=60)
    assert not at.button(key="tr_resume").disabled and at.button(key="tr_pause").disabled
    before = t.progress().step
    time.sleep(0.3)
    assert t.progress().step == before  # paused means paused
    click(at, "tr_step")
    wait_for(lambda: t.progress().step == before + 1)
    time.sleep(0.3)
    assert t.progress().step == before + 1 and t.status == "paused"
    click(at, "tr_resume")
    wait_for(lambda: t.progress().step > before + 3)
    click(at, "tr_stop")
    wait_for(lambda: t.done)
    assert t.status == "stopped"
    at.run(timeout=60)
    no_trouble(at)
    assert not at.button(key="tr_start").disabled
    assert [m.label for m in at.metric][0] == "Test accuracy"  # results of what it learned
    click(at, "tr_reset")
    assert trainer(at) is None


def test_step_from_scratch_trains_exactly_one_batch(run):
    at = run()
    click(at, "tr_step")
    t = trainer(at)
    wait_for(lambda: t.status == "paused" and t.progress().step == 1)
    wait_for(lambda: t.snapshot() is not None and t.snapshot().update is not None)
    assert t.snapshot().update.step == 1
    at.session_state["view"] = "Update rule"
    at.run(timeout=60)
    no_trouble(at)
    assert t.snapshot().update.rule in shown_lines(at)
    assert not at.button(key="tr_resume").disabled
    # follow a weight of the last layer instead: it shows from the next step
    key = f"follow_{at.session_state['training'].generation}"
    at.selectbox(key=key).set_value("4.weight").run(timeout=60)
    click(at, "tr_step")
    wait_for(lambda: t.snapshot().update.param == "4.weight" and t.snapshot().step == 2)
    at.run(timeout=60)
    no_trouble(at)
    assert t.snapshot().update.rule in shown_lines(at)
    t.stop()


def test_overfit_lesson_sets_a_tiny_set_and_trains(run):
    from cnnviz import lessons

    at = run()
    one, two = lessons.OVERFIT[0].settings, lessons.OVERFIT[1].settings
    # each step's caption quotes the numbers measured on the data in use
    assert lessons.measured_text(lessons.OVERFIT[0], "digits") in texts(at)
    click(at, "lesson_overfit")
    t = trainer(at)
    assert t is not None, "the lesson starts training at once"
    c = t.config
    assert (c.n_train, c.augment, c.dropout, c.weight_decay, c.lr, c.epochs) == (
        one["n_train"],
        False,
        0.0,
        0.0,
        one["lr"],
        one["epochs"],
    )
    assert at.query_params["ntrain"] == str(one["n_train"])
    wait_done(at)
    h = t.history()[-1]
    assert h["train_acc"] > h["val_acc"]  # the curves part
    at.run(timeout=60)
    no_trouble(at)
    click(at, "lesson_reg")
    t = trainer(at)
    c = t.config
    assert (c.n_train, c.augment, c.dropout, c.weight_decay, c.epochs) == (
        two["n_train"],
        True,
        two["dropout"],
        two["weight_decay"],
        two["epochs"],
    )
    kinds = [layer.kind for layer in arch.parse(t.spec)]
    assert kinds[-2:] == ["dropout", "linear"]  # the minimal net had no Dropout layer: added
    assert at.query_params["arch"] == t.spec
    t.stop()


def test_own_image_becomes_the_watched_sample(run):
    at = run(epochs="40")
    picture = np.zeros((40, 40), np.uint8)
    picture[5:35, 18:22] = 255  # a "1"
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, "PNG")
    at.file_uploader(key="probe_upload").upload("one.png", buf.getvalue(), "image/png")
    at.run(timeout=60)
    no_trouble(at)
    click(at, "tr_start")
    t = trainer(at)
    wait_for(lambda: t.snapshot() is not None)
    x = image_as_input(buf.getvalue(), t.input_shape)
    np.testing.assert_allclose(t.snapshot().probe, x)
    t.stop()


class Unreadable:
    """Built-in digits whose training images cannot be read (a disk gone, a loader bug)."""

    def __init__(self, ds):
        self._ds = ds

    def __getattr__(self, name):
        if name == "x_train":
            raise OSError("the disk went away")
        return getattr(self._ds, name)


def test_a_crash_inside_training_is_a_red_sentence_and_the_page_stays(run):
    from cnnviz.training import TrainConfig, Trainer

    at = run()
    ts = at.session_state["training"]
    t = Trainer(Unreadable(builtin("digits")), arch.PRESETS["minimal"], TrainConfig())
    ts.replace(t, arch.PRESETS["minimal"], builtin("digits"))
    t.start()
    t.join(WAIT)
    assert t.status == "failed"
    at.run(timeout=60)
    assert not at.exception
    assert [e.value for e in at.error] == ["Training failed: OSError: the disk went away."]
    assert not at.button(key="tr_start").disabled  # try again
    assert "Failed" in at.get("progress")[0].proto.text


def test_a_killed_training_process_is_a_sentence_and_its_model_stays(run):
    """The worker dies (out of memory, killed): the student reads what happened, sees the
    results of what it learned up to its last snapshot, can download it and train again."""
    import os
    import signal

    at = run(epochs="100")
    click(at, "tr_start")
    t = trainer(at)
    wait_for(lambda: t.snapshot() is not None and t.snapshot().step > 3)
    os.kill(t.worker_pid, signal.SIGKILL)
    assert t.join(30) and t.status == "failed"
    at.run(timeout=60)
    assert not at.exception
    assert [e.value for e in at.error] == [t.error]
    assert t.error.startswith("The training process stopped unexpectedly")
    assert "Failed" in at.get("progress")[0].proto.text
    assert [m.label for m in at.metric][0] == "Test accuracy"  # what it learned is tested
    assert not at.button(key="tr_start").disabled  # and the student can train again
    at.query_params["step"] = "Model files"
    at.run(timeout=60)
    assert not at.exception
    assert {"dl_weights", "dl_meta"} <= {d.key for d in at.get("download_button")}


def test_a_bad_own_image_gets_a_sentence(run):
    at = run()
    at.file_uploader(key="probe_upload").upload("x.png", b"not a picture", "image/png")
    at.run(timeout=60)
    assert not at.exception
    assert at.error and at.error[0].value.endswith(".")


def colour_zip(per_class: int = 24) -> bytes:
    """A teacher's zip of two class folders: reddish and bluish photos with noise."""
    import zipfile

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, channel in (("red", 0), ("blue", 2)):
            for i in range(per_class):
                a = rng.integers(0, 90, (40, 40, 3), dtype=np.uint8)
                a[..., channel] = rng.integers(170, 255, (40, 40))
                png = io.BytesIO()
                Image.fromarray(a).save(png, "PNG")
                z.writestr(f"{name}/{i}.png", png.getvalue())
    return buf.getvalue()


def test_a_teacher_trains_on_a_zip_of_photos(run):
    at = run(data_src="Zip", epochs="15")
    at.file_uploader(key="data_zip").upload("photos.zip", colour_zip(), "application/zip")
    at.run(timeout=60)
    no_trouble(at)
    click(at, "tr_start")
    t = wait_done(at)
    assert t.status == "finished", t.error
    assert t.classes == ("blue", "red") and t.input_shape[0] == 3
    at.run(timeout=60)
    no_trouble(at)
    assert t.evaluate().accuracy == 1.0  # red from blue: easy
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == "100\u00a0%"


# ---------------------------------------------------------------------------------------------
# checkpoints


@pytest.fixture(scope="module")
def trained():
    """A small trained model of the page's default data and architecture, as checkpoint files."""
    from cnnviz.training import TrainConfig, Trainer

    ds = builtin("digits")
    t = Trainer(ds, arch.PRESETS["minimal"], TrainConfig(epochs=1))
    t.start()
    t.join(WAIT)
    weights, meta = checkpoint.save(t.model, t.meta())
    return t, weights, meta


def upload(at: AppTest, weights: bytes, meta: bytes) -> AppTest:
    at.file_uploader(key="up_weights").upload("m.safetensors", weights, "application/octet-stream")
    at.file_uploader(key="up_meta").upload("m.json", meta, "application/json")
    at.run(timeout=60)
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_uploaded_checkpoint_opens_with_its_accuracy(run, trained):
    t, weights, meta = trained
    at = upload(run(step="Model files"), weights, meta)
    no_trouble(at)
    assert "Opened: m.safetensors + m.json" in texts(at)
    want = t.evaluate().accuracy
    assert percent_text(want) in [m.value for m in at.metric]


@pytest.mark.parametrize(
    "damage",
    ["garbage", "one_byte", "nan", "wrong_arch", "not_json"],
)
def test_bad_checkpoints_are_refused_with_a_sentence(run, trained, damage):
    t, weights, meta = trained
    if damage == "garbage":
        weights = b"\x00" * 100
    elif damage == "one_byte":
        weights = weights[:-1] + bytes([weights[-1] ^ 1])
    elif damage == "nan":
        sd = {k: v.clone() for k, v in t.model.state_dict().items()}
        first = next(iter(sd))
        sd[first].view(-1)[0] = float("nan")
        import safetensors.torch

        weights = safetensors.torch.save(sd)
    elif damage == "wrong_arch":
        m = json.loads(meta)
        m["arch"] = arch.PRESETS["lenet5"]
        meta = json.dumps(m).encode()
    elif damage == "not_json":
        meta = b"{not json"
    at = upload(run(step="Model files"), weights, meta)
    assert at.error, "a refusal is shown"
    message = at.error[0].value
    assert message.endswith(".") and "Traceback" not in message and "\n" not in message
    assert "Opened:" not in texts(at)


def test_only_one_file_asks_for_the_other(run, trained):
    at = run(step="Model files")
    at.file_uploader(key="up_weights").upload(
        "m.safetensors", trained[1], "application/octet-stream"
    )
    at.run(timeout=60)
    no_trouble(at)
    assert "Upload both files" in texts(at)


def test_a_saved_run_is_listed_and_opens(run, trained, runs_dir):
    t, _, _ = trained
    path = save_run(runs_dir, t.model, dict(t.meta(), name="teacher-run"))
    at = run(step="Model files")
    assert path.name in at.selectbox(key="run_choice").value
    click(at, "open_run")
    no_trouble(at)
    assert "Opened:" in texts(at) and "teacher-run" in texts(at)
    assert percent_text(t.evaluate().accuracy) in [m.value for m in at.metric]
    downloads = {d.key for d in at.get("download_button")}
    assert {"dl_run_weights", "dl_run_meta"} <= downloads  # a teacher's run, to keep


# ---------------------------------------------------------------------------------------------
# the pictures (pure functions)


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_maps_png_tiles_every_channel_and_caps_many():
    png, rng, note = net.maps_png(np.random.default_rng(0).normal(size=(8, 5, 5)))
    w, h = png_size(png)
    assert rng.signed and note == "" and w == h == 3 * 45 + 2 * 2  # 3 x 3 maps of 45 px
    _, _, note = net.maps_png(np.zeros((100, 2, 2), np.float32))
    assert note == f"first {net.MAX_CHANNELS} of 100 channels"
    png, rng, _ = net.maps_png(np.arange(10, dtype=np.float32))
    assert png_size(png) == (100, 10) and not rng.signed


def test_filters_png_rgb_and_grid():
    w = np.random.default_rng(1).normal(size=(6, 3, 3, 3)).astype(np.float32)
    rgb, rng, _ = net.filters_png(w, rgb=True)
    grid, _, _ = net.filters_png(w)
    assert rng.vmax == pytest.approx(np.abs(w).max())
    assert png_size(rgb) == (6 * 45 + 5 * 6, 45)  # one colour picture per filter, in a row
    assert png_size(grid) == (
        3 * 24 + 2 * 3,
        6 * 24 + 5 * 3,
    )  # a row per filter, a column per input


def test_histogram_png_is_empty_white_without_counts():
    img = np.asarray(Image.open(io.BytesIO(net.histogram_png(np.zeros(10)))))
    assert (img == 255).all()
    img = np.asarray(Image.open(io.BytesIO(net.histogram_png(np.array([0, 5, 10])))).convert("RGB"))
    assert (img[:, :, 2] < 255).any()


def test_curve_frames_place_batches_between_epochs():
    batches = [
        {"epoch": e, "batch": b, "loss": 1.0 / (e + b), "acc": 0.5}
        for e in (1, 2)
        for b in (1, 2, 3, 4)
    ]
    history = [
        {"epoch": 1, "val_loss": 0.7, "val_acc": 0.6},
        {"epoch": 2, "val_loss": None, "val_acc": None},
    ]
    loss, acc = charts.curve_frames(batches, history, 4)
    train = loss[loss.curve == "train (per batch)"]
    assert list(train.epoch) == [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert list(loss[loss.curve == "validation"].epoch) == [1]
    assert acc[acc.curve == "validation"].accuracy.tolist() == [0.6]
    assert charts.curve_frames([], [], 0) == (None, None)


def test_the_queue_wait_in_words():
    class Waiting:
        def __init__(self, s):
            self.queue_wait_s = s

    words = [live.fmt_wait(Waiting(s)) for s in (None, 2.0, 41.0, 89.0, 150.0)]
    assert words == [
        "the wait is being estimated",
        "your turn is about now",
        "about 40 s",
        "about 90 s",
        "about 2 min",
    ]


def test_the_closed_architecture_step_gives_its_net_without_drawing_it(run):
    """On the Train step the editor still runs (the net comes from it, and from the link) but
    none of it stays on the page; opened, it is all there."""
    spec = "conv8k3p1-relu-max2-flat-fc"
    at = run(arch=spec)
    no_trouble(at)
    assert f"`{spec}`" in " ".join(c.value for c in at.caption)  # the summary line's net
    assert not [w for w in at.text_input if w.key == "arch_text"]
    assert not at.button(key="tr_start").disabled
    at = run(arch=spec, step="Architecture")
    no_trouble(at)
    assert at.text_input(key="arch_text").value == spec
