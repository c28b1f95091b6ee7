"""Training session glue for the Train page: one Trainer per browser session, its controls, the
settings bound to the URL, and the live views a fragment redraws while the Trainer works.

The Trainer (cnnviz.training.trainer) trains in a worker process and never touches Streamlit; this module
only reads what it mirrors. Per-user things live in st.session_state; the session-scoped
resource below exists so that closing the tab stops that user's training (its on_release fires
when the session ends).
"""

from __future__ import annotations

import functools
import io
import itertools
import logging
import math
import threading
import time
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from cnnviz.colors import (
    DEFAULT_DIVERGING,
    DEFAULT_SEQUENTIAL,
    MAP_LEVELS,
    Range,
    levels,
    palette,
    tile,
    value_range,
)
from cnnviz.images import array_to_png, to_uint8
from cnnviz.training import DONE, OPTIMIZERS, SCHEDULES, TrainConfig, with_test_metrics

log = logging.getLogger("cnnviz")

LIVE = ("waiting", "running")  # statuses whose numbers change by themselves
TICK = 0.5  # seconds between fragment redraws while a training runs (or just changed)
WAIT_TICK = 2.0  # ... while it waits in the queue: a class of waiting students stays cheap
STEP_TICK = 3.0  # after "Step one batch", keep redrawing this long (the step runs in the worker)
MAX_CHANNELS = 64  # small multiples per layer; more channels are summarised in the caption
_ids = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Session ownership


class TrainingSession:
    """What one browser session trains: the current Trainer (or none yet) and what was computed
    from it. `generation` changes with every new Trainer so caches never mix two trainings."""

    def __init__(self) -> None:
        self.id = next(_ids)
        self.lock = threading.RLock()
        self.trainer: Any = None
        self.spec: str | None = None
        self.dataset: Any = None
        self.generation = 0
        self.tick_until = 0.0
        self.cache: dict = {}  # (generation, what, ...) -> computed value (PNG bytes, reports)
        self.saved: dict[int, str] = {}  # generation -> runs/ folder it was saved to
        self.probe: np.ndarray | None = None  # the image whose activations are shown
        self.buttons_for: str | None = None  # the button_state the control buttons were drawn for

    def replace(self, trainer, spec: str | None, dataset) -> None:
        with self.lock:
            self.stop()
            self.trainer, self.spec, self.dataset = trainer, spec, dataset
            self.generation += 1
            self.cache.clear()

    def stop(self) -> None:
        """Stop the current training (if any); what it learned stays readable."""
        t = self.trainer
        if t is not None:
            try:
                t.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort at session end
                pass

    def status(self) -> str:
        return "none" if self.trainer is None else str(self.trainer.status)

    def live(self) -> bool:
        return self.tick() is not None

    def tick(self) -> float | None:
        """Seconds between redraws of the live view now, or None: nothing changes by itself."""
        status = self.status()
        if status == "running" or time.monotonic() < self.tick_until:
            return TICK
        return WAIT_TICK if status == "waiting" else None

    def cached(self, key: tuple, compute):
        """compute() once per (generation, *key); the cache is dropped with the Trainer."""
        full = (self.generation, *key)
        if full not in self.cache:
            if len(self.cache) > 400:  # old snapshots' pictures
                self.cache.clear()
            self.cache[full] = compute()
        return self.cache[full]


class _Lease:
    """Held in a session-scoped resource: released (and the training stopped) when the session
    ends, e.g. the tab closes."""

    def __init__(self, ts: TrainingSession) -> None:
        self.ts = ts

    def release(self) -> None:
        self.ts.stop()
        try:  # a training that finished after the page last ran is still kept in runs/
            save_finished_run(self.ts)
        except Exception:  # noqa: BLE001 - releasing must not fail
            log.exception("could not save a run at session end")


def _warm_workers() -> None:
    """Start this app process's training fork server (it imports torch once, in its own process),
    so the first Start of the class does not wait for it."""
    from cnnviz.training import worker

    worker.warm()


@st.cache_resource(scope="session", on_release=lambda lease: lease.release(), show_spinner=False)
def _lease(session_key: int, _ts: TrainingSession) -> _Lease:
    return _Lease(_ts)


def training_session() -> TrainingSession:
    """This browser session's TrainingSession, kept in st.session_state["training"].

    A reconnecting session keeps its session_state but its session-scoped resources were
    released (its training stopped): the lease is taken again for the same TrainingSession, so
    the model and curves it had stay on screen.
    """
    ts = st.session_state.get("training")
    if not isinstance(ts, TrainingSession):
        ts = st.session_state["training"] = TrainingSession()
        _warm_workers()
    _lease(ts.id, ts)
    return ts


# ---------------------------------------------------------------------------------------------
# Settings bound to the URL (static defaults: a default value never appears in the URL)

# Options are what the URL shows: Streamlit 1.67 writes a bound widget's *formatted* label to
# the URL and reads it back the same way, so bound widgets here have no format_func that changes
# a value (opt=Momentum, not opt=SGD+%2B+momentum).
OPTIMIZER_LABELS = dict(zip(OPTIMIZERS, ("SGD", "Momentum", "Adam"), strict=True))
OPT_KEY = {label: key for key, label in OPTIMIZER_LABELS.items()}
LRS = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
BATCHES = (8, 16, 32, 64, 128, 256)
DECAYS = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)
DROPOUTS = ("as built", "0", "0.1", "0.2", "0.3", "0.5", "0.7")
N_TRAIN = ("all", "20", "50", "100", "200", "500", "1000", "5000")
LR_FOR = {"sgd": 0.03, "momentum": 0.01, "adam": 0.001}
# opt, lr, bs and epochs: the default preset's measured settings (arch.PRESET_TRAINING["minimal"];
# a test keeps them equal); picking another preset sets that preset's own
DEFAULTS = dict(
    opt="Adam",
    lr=0.01,
    sched="constant",
    bs=64,
    epochs=3,
    wd=0.0,
    drop="as built",
    aug=False,
    seed=0,
    ntrain="all",
)
TARGET_ACC = 0.97  # the accuracy curve marks where validation first reaches it


ERROR_KEY = "_train_error"  # a sentence from a callback, shown above the buttons


def safely(fn):
    """For button callbacks (they run before the page, outside run_safely): a refusal becomes
    a sentence on the page, anything else a short apology in the log's stead, never a
    traceback."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            st.session_state[ERROR_KEY] = str(err)
        except Exception:  # noqa: BLE001 - the classroom server must stay up
            log.exception("train page callback failed")
            st.session_state[ERROR_KEY] = "That did not work. Try again, or press Reset."

    return run


@safely
def _opt_changed() -> None:
    """A learning rate that suits the optimizer (SGD wants a larger one than Adam)."""
    st.session_state["lr"] = LR_FOR.get(OPT_KEY.get(st.session_state.get("opt")), 0.001)


def settings_form(dataset=None) -> dict:
    """The training settings, one column (URL-bound widgets). Returns plain values keyed like
    DEFAULTS, with the optimizer as its TrainConfig name."""
    opt = st.segmented_control(
        "Optimizer",
        list(OPT_KEY),
        default=DEFAULTS["opt"],
        required=True,
        key="opt",
        bind="query-params",
        on_change=_opt_changed,
        help="SGD: w ← w − lr·g. Momentum adds a running velocity; Adam scales each weight's "
        "step by its own gradient history. See 'Update rule' while training.",
    )
    lr = st.select_slider(
        "Learning rate",
        LRS,
        value=DEFAULTS["lr"],
        key="lr",
        bind="query-params",
        format_func=lambda v: f"{v:g}",
    )
    sched = st.segmented_control(
        "Schedule",
        SCHEDULES,
        default=DEFAULTS["sched"],
        required=True,
        key="sched",
        bind="query-params",
        help="How the learning rate changes during training. constant: never; step: ÷10 after "
        "half of the steps and ÷10 again after three quarters; cosine: glides down to 0 "
        "along a half cosine.",
    )
    bs = st.select_slider(
        "Batch size",
        BATCHES,
        value=DEFAULTS["bs"],
        key="bs",
        bind="query-params",
        help="Images per step.",
    )
    epochs = st.number_input(
        "Epochs",
        1,
        100,
        DEFAULTS["epochs"],
        key="epochs",
        bind="query-params",
        help="Passes over the training images.",
    )
    ntrain = st.select_slider(
        "Training images",
        N_TRAIN,
        value=DEFAULTS["ntrain"],
        key="ntrain",
        bind="query-params",
        help="Fewer images train faster and overfit sooner (validation and test stay whole).",
    )
    wd = st.select_slider(
        "Weight decay (L2)",
        DECAYS,
        value=DEFAULTS["wd"],
        key="wd",
        bind="query-params",
        format_func=lambda v: f"{v:g}",
        help="Pulls every weight a little towards 0 at each step.",
    )
    drop = st.select_slider(
        "Dropout",
        DROPOUTS,
        value=DEFAULTS["drop"],
        key="drop",
        bind="query-params",
        help="Overrides the p of every Dropout layer in the architecture ('as built' keeps "
        "them). An architecture without a Dropout layer has nothing to override.",
    )
    can_augment = dataset is None or getattr(dataset, "augment", "shift") != "none"
    aug = st.toggle(
        "Augmentation",
        DEFAULTS["aug"],
        key="aug",
        bind="query-params",
        disabled=not can_augment,
        help="Random small shifts (and mirror images where that keeps the class) of every "
        "training batch: more variety from the same images."
        + ("" if can_augment else " These data have no augmentation that keeps labels."),
    )
    seed = st.number_input(
        "Seed",
        0,
        2**31 - 1,
        DEFAULTS["seed"],
        key="seed",
        bind="query-params",
        help="Same seed, same settings: the same training.",
    )
    return dict(
        opt=OPT_KEY[opt],
        lr=float(lr),
        sched=sched,
        bs=int(bs),
        epochs=int(epochs),
        wd=float(wd),
        drop=drop,
        aug=bool(aug and can_augment),
        seed=int(seed),
        ntrain=ntrain,
    )


def make_config(s: dict, dataset=None):
    """The TrainConfig for the settings (the training set size capped at the data's)."""
    n_train = None
    if s["ntrain"] != "all":
        n_train = int(s["ntrain"])
        if dataset is not None and n_train >= len(dataset.y_train):
            n_train = None
    return TrainConfig(
        optimizer=s["opt"],
        lr=s["lr"],
        schedule=s["sched"],
        batch_size=s["bs"],
        epochs=s["epochs"],
        weight_decay=s["wd"],
        dropout=None if s["drop"] == "as built" else float(s["drop"]),
        augment=s["aug"],
        seed=s["seed"],
        n_train=n_train,
    )


def set_settings(**values) -> None:
    """Change bound widgets from a callback (a lesson button): the URL follows."""
    for k, v in values.items():
        st.session_state[k] = v


# ---------------------------------------------------------------------------------------------
# Controls (outside the fragment, on_click callbacks)


@safely
def _call(ts: TrainingSession, action: str) -> None:
    t = ts.trainer
    if t is None:
        return
    getattr(t, action)()
    if action == "pause":
        snap = t.snapshot()
        if snap is not None:  # a fresh snapshot of the paused state (set_probe asks for one)
            t.set_probe(snap.probe)
        ts.tick_until = time.monotonic() + STEP_TICK
    if action == "step_batch":
        ts.tick_until = time.monotonic() + STEP_TICK
    if action in ("resume", "start"):
        ts.tick_until = time.monotonic() + 2 * TICK


@safely
def _reset(ts: TrainingSession) -> None:
    st.session_state.pop(ERROR_KEY, None)
    ts.replace(None, None, None)


@safely
def start_training(
    ts: TrainingSession, dataset, spec: str, config, probe=None, one_batch: bool = False
) -> None:
    """A new Trainer for these data, architecture and settings, started (it may queue); with
    one_batch it trains a single batch and pauses. A refusal (impossible net, bad setting) is
    kept as a sentence the page shows."""
    from cnnviz.training import Trainer

    st.session_state.pop(ERROR_KEY, None)
    trainer = Trainer(dataset, spec, config, probe=probe)  # ValueError: shown by @safely
    ts.replace(trainer, spec, dataset)
    ts.probe = probe
    if one_batch:
        trainer.step_batch()
        ts.tick_until = time.monotonic() + STEP_TICK
    else:
        trainer.start()
        ts.tick_until = time.monotonic() + 2 * TICK


@safely
def _step(ts: TrainingSession, on_start, start_args: tuple) -> None:
    """Step one batch: of the paused training, or of a new one that then waits paused."""
    if ts.status() == "paused":
        _call(ts, "step_batch")
    else:
        on_start(*start_args, one_batch=True)


def follow_probe(ts: TrainingSession, probe) -> None:
    """Show the activations of a newly chosen sample (the running Trainer takes it over)."""
    t = ts.trainer
    if t is None or probe is None:
        return
    old = getattr(ts, "probe", None)
    if old is not None and old.shape == probe.shape and np.array_equal(old, probe):
        return
    ts.probe = probe
    try:
        t.set_probe(probe)
    except ValueError:
        return
    ts.tick_until = time.monotonic() + STEP_TICK


def controls(ts: TrainingSession, can_start: bool, on_start, start_args: tuple = ()) -> None:
    """Start / Pause / Resume / Step one batch / Stop / Reset, each a callback button."""
    status = ts.status()
    ts.buttons_for = button_state(status)  # the live view reruns the page when this is outdated
    cols = st.columns(6)
    specs = [
        (
            "start",
            "Start",
            ":material/play_arrow:",
            on_start,
            start_args,
            can_start and status not in LIVE + ("paused",),
            "primary",
        ),
        ("pause", "Pause", ":material/pause:", _call, (ts, "pause"), status in LIVE, None),
        ("resume", "Resume", ":material/resume:", _call, (ts, "resume"), status == "paused", None),
        (
            "step",
            "Step",
            ":material/skip_next:",
            _step,
            (ts, on_start, start_args),
            status == "paused" or (can_start and status not in LIVE),
            None,
        ),
        (
            "stop",
            "Stop",
            ":material/stop:",
            _call,
            (ts, "stop"),
            status in LIVE + ("paused",),
            None,
        ),
        ("reset", "Reset", ":material/restart_alt:", _reset, (ts,), status != "none", None),
    ]
    tips = {
        "start": "Train from new random weights with the settings on the left.",
        "pause": "Stop after this batch and keep everything: look inside, then resume.",
        "resume": "Go on training from where it paused.",
        "step": "Train exactly one batch, then pause (from scratch: a new training's first batch).",
        "stop": "End the training; the model keeps what it learned (test it, download it).",
        "reset": "Forget this training (its saved run stays in Model files).",
    }
    for col, (key, label, icon, cb, args, enabled, kind) in zip(cols, specs):
        col.button(
            label,
            key=f"tr_{key}",
            icon=icon,
            on_click=cb,
            args=args,
            help=tips[key],
            disabled=not enabled,
            type=kind or "secondary",
            width="stretch",
        )


def arch_problem(spec: str | None, dataset) -> str | None:
    """Why this architecture cannot be trained on these data (one sentence), or None."""
    from cnnviz import arch

    if not spec:
        return "the architecture is empty."
    try:
        arch.check(spec, dataset.input_shape, dataset.n_classes)
    except ValueError as err:
        return str(err)
    return None


def spec_with_dropout(spec: str | None, p: float = 0.5) -> str | None:
    """The spec with a Dropout layer before its last Linear, or None if it has one already (or
    cannot be read)."""
    from cnnviz.lessons import with_dropout

    return with_dropout(spec, p)


def summary_line(ts: TrainingSession, dataset, spec: str | None, s: dict) -> str:
    """One line above the steps: what will be (or is being) trained."""
    words = {"none": "not started", "new": "not started"}
    status = words.get(ts.status(), ts.status())
    return (
        f"**{dataset.name}** ({fmt_shape(dataset.input_shape)}, {dataset.n_classes} classes) "
        f"· `{spec}` · {OPTIMIZER_LABELS[s['opt']]} lr {s['lr']:g}, batch {s['bs']}, "
        f"{s['epochs']} epochs · training: {status}"
    )


def settings_differ(ts: TrainingSession, spec, dataset, config) -> bool:
    t = ts.trainer
    return t is not None and (
        ts.spec != spec or ts.dataset is not dataset or getattr(t, "config", config) != config
    )


def sample_png(x: np.ndarray, min_side: int = 96) -> bytes:
    """One (C, H, W) image in [0, 1] as a PNG, pixels enlarged to stay sharp."""
    x = np.asarray(x, dtype=np.float32)
    img = x[0] if x.shape[0] == 1 else x[:3].transpose(1, 2, 0)
    return array_to_png(upscale(np.clip(img, 0, 1), min_side))


def image_as_input(data: bytes, input_shape) -> np.ndarray:
    """An uploaded picture as the net's input: (C, H, W) float32 in [0, 1] at the data's size.
    Raises ImageError (a ValueError) with a sentence for files that are not usable images."""
    from PIL import Image

    from cnnviz.images import load_image

    c, h, w = input_shape
    loaded = load_image(data, mode="gray" if c == 1 else "rgb", max_side=512)
    a = loaded.array
    if a.ndim == 2:
        im = Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)
        out = np.asarray(im, dtype=np.float32)[None]
    else:
        im = Image.fromarray((a * 255).round().astype(np.uint8)).resize((w, h), Image.BILINEAR)
        out = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return np.ascontiguousarray(np.clip(out, 0, 1)[:c], dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Pictures (numpy -> PNG bytes; small, cached per snapshot)


def upscale(a: np.ndarray, min_side: int) -> np.ndarray:
    """Repeat pixels (nearest neighbour) until the short side is >= min_side: small maps stay
    crisp squares instead of being blurred by the browser."""
    f = max(1, -(-min_side // max(1, min(a.shape[:2]))))
    f = min(f, max(1, 2048 // max(a.shape[:2])))
    return a if f == 1 else np.repeat(np.repeat(a, f, axis=0), f, axis=1)


def grid_cols(n: int, max_cols: int = 8) -> int:
    return max(1, min(max_cols, math.ceil(math.sqrt(n))))


GAP, BLANK = 1, 2  # palette entries the colour levels never use: white gaps, grey blanks


def grid_png(
    maps: np.ndarray,
    rng: Range,
    cols: int,
    min_side: int = 0,
    gap: int = 2,
    factor: int | None = None,
) -> bytes:
    """(N, h, w) maps sharing one colour range, tiled `cols` wide, as one palette PNG (about a
    third of an RGB PNG's bytes, and faster to make). NaN cells are drawn grey."""
    maps = np.asarray(maps, dtype=np.float32)
    n, h, w = maps.shape
    idx = levels(maps, rng, MAP_LEVELS)
    idx[~np.isfinite(maps)] = BLANK
    f = factor or max(1, -(-min_side // max(1, min(h, w))))
    if f > 1:
        idx = np.repeat(np.repeat(idx, f, axis=1), f, axis=2)
    h, w = h * f, w * f
    rows = -(-n // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), GAP, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = idx[i]
    pal = palette(DEFAULT_DIVERGING if rng.signed else DEFAULT_SEQUENTIAL).copy()
    pal[GAP], pal[BLANK] = (255, 255, 255), (200, 200, 200)
    im = Image.frombuffer("P", out.shape[::-1], out.tobytes(), "raw", "P", 0, 1)
    im.putpalette(pal.ravel().tolist())
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def maps_png(values: np.ndarray, min_side: int = 44) -> tuple[bytes, Range, str]:
    """One layer's output as small multiples: (C, H, W) maps share one colour range; a vector
    (N,) becomes rows of 32 cells. Returns PNG bytes, the range, and a note on what is shown."""
    v = np.asarray(values, dtype=np.float32)
    note = ""
    if v.ndim == 3:
        c = v.shape[0]
        if c > MAX_CHANNELS:
            note = f"first {MAX_CHANNELS} of {c} channels"
            v = v[:MAX_CHANNELS]
        rng = value_range(v)
        return grid_png(v, rng, grid_cols(len(v), 16), min_side), rng, note
    flat = v.reshape(-1)
    if flat.size > 1024:
        note = f"first 1024 of {flat.size} values"
        flat = flat[:1024]
    cols = min(32, flat.size)
    rows = -(-flat.size // cols)
    padded = np.full(rows * cols, np.nan, np.float32)
    padded[: flat.size] = flat
    rng = value_range(flat)
    return grid_png(padded.reshape(1, rows, cols), rng, 1, factor=10), rng, note


def filters_png(
    w: np.ndarray, max_filters: int = 64, max_inputs: int = 16, cell: int = 24, rgb: bool = False
) -> tuple[bytes, Range, str]:
    """Conv weights (out, in, kh, kw). rgb (a first layer on colour images): each filter as one
    colour picture, grey = 0. Otherwise one row per filter and one column per input channel
    (a single input channel: the filters side by side), signed colours centred on 0."""
    w = np.asarray(w, dtype=np.float32)
    out, cin = w.shape[:2]
    note = []
    if out > max_filters:
        note.append(f"first {max_filters} of {out} filters")
        w = w[:max_filters]
    rng = value_range(w, signed=True)
    if rgb and cin == 3:
        m = rng.vmax or 1.0
        cells = [upscale(to_uint8(0.5 + f.transpose(1, 2, 0) / (2 * m)), 44) for f in w]
        return array_to_png(tile(cells, min(len(cells), 16), gap=6)), rng, ", ".join(note)
    if cin > max_inputs:
        note.append(f"first {max_inputs} of {cin} input channels")
        w = w[:, :max_inputs]
    n, cin, kh, kw = w.shape
    cols = cin if cin > 1 else min(n, 16)
    png = grid_png(
        w.reshape(n * cin, kh, kw), rng, cols, cell if cin > 1 else 44, gap=3 if cin > 1 else 6
    )
    return png, rng, ", ".join(note)


def matrix_png(w: np.ndarray, max_inputs: int = 1024) -> tuple[bytes, Range, str]:
    """A linear layer's weight matrix (out, in) as one picture (rows are output units)."""
    w = np.asarray(w, dtype=np.float32)
    note = ""
    if w.shape[1] > max_inputs:
        note = f"first {max_inputs} of {w.shape[1]} inputs"
        w = w[:, :max_inputs]
    rng = value_range(w, signed=True)
    fy = 8 if w.shape[0] <= 16 else 3 if w.shape[0] <= 128 else 1
    fx = int(min(8, max(1, 600 // w.shape[1])))
    idx = np.repeat(np.repeat(w, fy, axis=0), fx, axis=1)
    return grid_png(idx[None], rng, 1), rng, note


def histogram_png(
    counts: np.ndarray, width: int = 180, height: int = 48, color=(31, 119, 180)
) -> bytes:
    """Bars of a histogram as a small PNG (cheaper for the browser than a chart per layer)."""
    counts = np.asarray(counts, dtype=np.float64)
    img = np.full((height, width, 3), 255, np.uint8)
    if counts.size == 0 or counts.max() <= 0:
        return array_to_png(img)
    bins = counts.size
    xs = (np.arange(width) * bins // width).clip(0, bins - 1)
    heights = np.round(counts[xs] / counts.max() * (height - 1)).astype(int)
    rows = np.arange(height)[:, None]
    mask = rows >= (height - heights)[None, :]
    mask &= (counts[xs] > 0)[None, :]
    img[mask] = color
    img[-1, :] = (160, 160, 160)
    return array_to_png(img)


def range_text(rng: Range) -> str:
    if rng.signed:
        return f"blue −{rng.vmax:.3g} · white 0 · red +{rng.vmax:.3g}"
    return f"dark {rng.vmin:.3g} → bright {rng.vmax:.3g}"


def fmt_shape(shape) -> str:
    return " × ".join(str(int(s)) for s in shape)


def fmt_wait(trainer) -> str:
    """The queue's estimated wait in words ("about 40 s", "about 2 min")."""
    s = getattr(trainer, "queue_wait_s", None)
    if s is None or not math.isfinite(s):
        return "the wait is being estimated"
    if s < 5:
        return "your turn is about now"
    if s < 90:
        return f"about {int(round(s / 5) * 5)} s"
    return f"about {int(round(s / 60))} min"


def fmt_eta(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "estimating time left"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


# ---------------------------------------------------------------------------------------------
# Reading a Trainer: the live views


def _bucket(xs: np.ndarray, ys: np.ndarray, max_points: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """Average consecutive points so a long run draws at most `max_points` (also smooths)."""
    n = len(xs)
    if n <= max_points:
        return xs, ys
    edges = np.linspace(0, n, max_points + 1).astype(int)
    return (
        np.array([xs[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
        np.array([ys[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
    )


def curve_frames(batches: list[dict], history: list[dict], per_epoch: int):
    """Long-format tables (epoch, value, series) for the loss and accuracy charts: training per
    batch (x = epochs done, fractional) and validation at the end of each epoch."""
    import pandas as pd

    frames = {}
    for metric, train_key, val_key in (
        ("loss", "loss", "val_loss"),
        ("accuracy", "acc", "val_acc"),
    ):
        parts = []
        if batches and per_epoch:
            x = np.array([b["epoch"] - 1 + b["batch"] / per_epoch for b in batches], float)
            y = np.array([b[train_key] for b in batches], float)
            x, y = _bucket(x, y)
            parts.append(pd.DataFrame({"epoch": x, metric: y, "curve": "train (per batch)"}))
        val = [(h["epoch"], h[val_key]) for h in history if h.get(val_key) is not None]
        if val:
            ex, ey = zip(*val)
            parts.append(pd.DataFrame({"epoch": ex, metric: ey, "curve": "validation"}))
        frames[metric] = pd.concat(parts, ignore_index=True) if parts else None
    return frames["loss"], frames["accuracy"]


def show_status(trainer) -> None:
    """Status line: waiting place, failure as a red sentence, progress bar with numbers."""
    status = trainer.status
    if status == "waiting":
        pos = trainer.queue_position
        where = f"number {pos} in the queue" if pos else "in the queue"
        st.info(
            f"Waiting for a free place to train: you are {where}, {fmt_wait(trainer)}. The "
            "server trains a few models at a time so that each one stays fast.",
            icon=":material/hourglass_top:",
        )
    elif status == "failed":
        st.error(trainer.error or "Training failed.", icon=":material/error:")
    p = trainer.progress()
    words = {
        "new": "Not started",
        "waiting": "Waiting",
        "running": "Training",
        "paused": "Paused",
        "stopped": "Stopped",
        "finished": "Finished",
        "failed": "Failed",
    }.get(status, status)
    text = f"{words} · epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches}"
    if p.images_per_s:
        text += f" · {p.images_per_s:,.0f} images/s"
    if status == "running":
        text += f" · {fmt_eta(p.eta_s)}"
    st.progress(float(min(1.0, max(0.0, p.fraction))), text=text)


COLORS = {"train (per batch)": "#1f77b4", "validation": "#d62728"}


def passed_at(history: list[dict], target: float = TARGET_ACC) -> int | None:
    """The first epoch whose validation accuracy reached `target`, or None."""
    return next((h["epoch"] for h in history if (h.get("val_acc") or 0.0) >= target), None)


def curve_spec(metric: str, epochs: int, height: int = 220, passed: int | None = None) -> dict:
    """A Vega-Lite line chart of one metric: training per batch as a line, validation per epoch
    as a line with points; x spans the whole training. A raw spec: building it through Altair
    (st.line_chart) took 0.3-1.1 s per redraw on the class server, this a few ms."""
    enc = {
        "x": {
            "field": "epoch",
            "type": "quantitative",
            "title": "epoch",
            "scale": {"domain": [0, max(1, epochs)]},
        },
        "y": {
            "field": metric,
            "type": "quantitative",
            "title": metric,
            **({"scale": {"domain": [0, 1]}} if metric == "accuracy" else {}),
        },
        "color": {
            "field": "curve",
            "type": "nominal",
            "title": None,
            "scale": {"domain": list(COLORS), "range": list(COLORS.values())},
            "legend": {"orient": "bottom"},
        },
    }
    layers = [
        {
            "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": enc,
            "transform": [{"filter": "datum.curve != 'validation'"}],
        },
        {
            "mark": {"type": "line", "point": True, "strokeWidth": 2},
            "encoding": enc,
            "transform": [{"filter": "datum.curve == 'validation'"}],
        },
    ]
    if metric == "accuracy" and passed is not None:  # where validation reached TARGET_ACC
        x = {"datum": passed, "type": "quantitative"}
        label = f"validation ≥ {TARGET_ACC:.0%}".replace("%", " %")
        layers.append(
            {
                "mark": {"type": "rule", "strokeDash": [4, 3], "color": "#2ca02c"},
                "encoding": {"x": x},
            }
        )
        layers.append(
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "color": "#2ca02c"},
                "encoding": {
                    "x": x,
                    "y": {"datum": 0.08, "type": "quantitative"},
                    "text": {"value": label},
                },
            }
        )
    return {"height": height, "layer": layers}


def show_curves(ts: TrainingSession, trainer) -> None:
    """Train (per batch) and validation (per epoch) loss and accuracy."""
    seen = ts.cached(("batches",), list)
    seen.extend(trainer.batch_history(since=len(seen)))
    history = trainer.history()
    loss, acc = curve_frames(seen, history, trainer.progress().batches)
    if loss is None:
        st.caption("The curves start with the first batch.")
        return
    epochs = trainer.config.epochs
    left, right = st.columns(2)
    with left:
        st.markdown("**Loss** (lower is better)")
        st.vega_lite_chart(loss, curve_spec("loss", epochs), width="stretch")
    with right:
        st.markdown("**Accuracy** (higher is better)")
        passed = passed_at(history)
        st.vega_lite_chart(acc, curve_spec("accuracy", epochs, passed=passed), width="stretch")
    if history and history[-1].get("val_acc") is not None:
        h = history[-1]
        gap = h["train_acc"] - h["val_acc"]
        when = passed_at(history)
        st.caption(
            f"Epoch {h['epoch']}: train accuracy {h['train_acc']:.1%}, validation "
            f"{h['val_acc']:.1%}."
            + (
                f" Validation passed {TARGET_ACC:.0%} at epoch {when} (the green line)."
                if when
                else ""
            )
        )
        if gap > 0.1:
            st.caption(
                f"Train accuracy is {gap:.0%} above validation: the net is learning "
                "its training images by heart (overfitting)."
            )


PICTURE_EVERY = 1.0  # seconds: while training, the pictures are made again at most this often


class _Pictures:
    """PNGs of the snapshot on screen. While training, a newer snapshot replaces it at most once
    per PICTURE_EVERY (the curves still move at every tick); unchanged PNG bytes keep their
    media URL, so the browser downloads nothing new."""

    def __init__(self) -> None:
        self.snap = None
        self.made: dict = {}
        self.when = 0.0

    def current(self, snap, training: bool):
        now = time.monotonic()
        if snap is not self.snap and (
            not training or self.snap is None or now - self.when >= PICTURE_EVERY
        ):
            self.snap, self.made, self.when = snap, {}, now
        return self.snap

    def get(self, key, compute):
        if key not in self.made:
            self.made[key] = compute()
        return self.made[key]


def _pics(ts: TrainingSession) -> _Pictures:
    return ts.cached(("pictures",), _Pictures)


def show_activations(ts: TrainingSession, snap, classes) -> None:
    acts = snap.activations or []
    pics = _pics(ts)
    probs = getattr(snap, "probs", None)
    cols = st.columns(4)
    with cols[0]:
        st.markdown(f"**input** · {fmt_shape(np.shape(snap.probe))}")
        st.image(pics.get("probe", lambda: sample_png(snap.probe)), width=160)
        if probs is not None and len(probs) == len(classes):
            top = int(np.argmax(probs))
            st.caption(f"The net says **{classes[top]}** ({probs[top]:.0%} sure).")
    for i, a in enumerate(acts):
        png, rng, note = pics.get(("act", i), lambda a=a: maps_png(a.values))
        with cols[(i + 1) % 4]:
            st.markdown(f"**{a.index}. {a.name}** · {fmt_shape(a.shape)}")
            st.image(png)
            st.caption(range_text(rng) + (f" · {note}" if note else ""))
    if probs is not None and len(probs) == len(classes) <= 30:
        with cols[(len(acts) + 1) % 4]:
            st.markdown("**softmax** · what the net says")
            spec = probs_spec(len(classes))
            st.vega_lite_chart(
                probs_frame(probs, classes), spec, width="stretch", height=spec["height"] + 40
            )


def probs_frame(probs: np.ndarray, classes):
    import pandas as pd

    p = np.asarray(probs, dtype=np.float64)
    return pd.DataFrame(
        {
            "class": [str(c) for c in classes],
            "probability": p,
            "top": np.arange(len(p)) == int(np.argmax(p)),
        }
    )


def probs_spec(n: int) -> dict:
    """Horizontal bars, one per class, the most likely one red; x always 0..1."""
    return {
        "height": max(60, 20 * n),
        "mark": {"type": "bar"},
        "encoding": {
            "y": {
                "field": "class",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelOverlap": False, "labelLimit": 90},
            },
            "x": {
                "field": "probability",
                "type": "quantitative",
                "title": None,
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%"},
            },
            "color": {"condition": {"test": "datum.top", "value": "#d62728"}, "value": "#1f77b4"},
            "tooltip": [{"field": "class"}, {"field": "probability", "format": ".1%"}],
        },
    }


def layer_weights(model) -> list[tuple[int, str, np.ndarray]]:
    """(index, class name, weight copy) of every top-level layer with a 2-D or 4-D weight."""
    out = []
    for i, m in enumerate(model.children()):
        w = getattr(m, "weight", None)
        if w is None or w.dim() not in (2, 4):
            continue
        out.append((i, type(m).__name__, w.detach().cpu().numpy().copy()))
    return out


def show_filters(ts: TrainingSession, snap, model) -> None:
    pics = _pics(ts)
    first = snap.filters
    if first is not None:
        png, rng, note = pics.get("filters0", lambda: filters_png(first, rgb=True))
        f = first.shape
        st.markdown(f"**First convolution: {f[0]} filters of {f[1]} × {f[2]} × {f[3]}**")
        st.image(png)
        st.caption(
            ("each filter's RGB weights as a colour (grey = 0)" if f[1] == 3 else range_text(rng))
            + (f" · {note}" if note else "")
        )
    weights = pics.get("weights", lambda: layer_weights(model))
    deeper = weights[1:] if first is not None and weights and weights[0][2].ndim == 4 else weights
    for idx, name, w in deeper:
        if w.ndim == 4:
            png, rng, note = pics.get(("filt", idx), lambda w=w: filters_png(w, 16, 16, 15))
            what = f"{w.shape[0]} filters (rows) × {w.shape[1]} input channels (columns)"
        else:
            png, rng, note = pics.get(("mat", idx), lambda w=w: matrix_png(w))
            what = f"{w.shape[0]} outputs (rows) × {w.shape[1]} inputs (columns)"
        st.markdown(f"**{idx}. {name} weights** · {what}")
        st.image(png)
        st.caption(range_text(rng) + (f" · {note}" if note else ""))


def show_histograms(ts: TrainingSession, snap) -> None:
    stats = snap.stats or []
    if not stats:
        st.caption("This net has no weights.")
        return
    pics = _pics(ts)
    st.caption(
        "How many weights (blue) and gradients dL/dw (red) have each value, per layer. "
        "|g|/|w| says how big the gradient is next to the weights."
    )
    for i, s in enumerate(stats):
        row = st.columns([2, 3, 3])
        ratio = s.grad_to_weight
        row[0].markdown(
            f"**{s.index}. {s.name}**  \n{fmt_shape(s.shape)}"
            + (f"  \n|g|/|w| = {ratio:.2g}" if ratio is not None else "")
        )
        for col, h, color in (
            (row[1], s.weights, (31, 119, 180)),
            (row[2], s.grads, (214, 39, 40)),
        ):
            if h is None:
                col.caption("no gradient yet")
                continue
            col.image(
                pics.get(("hist", i, color), lambda h=h, k=color: histogram_png(h.counts, color=k))
            )
            col.caption(f"{h.min:.3g} … {h.max:.3g} · mean {h.mean:.2g} · std {h.std:.2g}")


OPT_WORDS = {
    "sgd": "Plain SGD moves the weight against its gradient, by lr times the gradient.",
    "momentum": "Momentum keeps a velocity v, a running sum of past gradients (each step "
    "shrunk by mu): the weight keeps moving the way it has been going.",
    "adam": "Adam keeps a running mean m and a running mean of squares v of the gradient: "
    "each weight's step is about lr in size, whatever the gradient's scale.",
}


@safely
def _follow(ts: TrainingSession, key: str) -> None:
    """Follow a random weight of the chosen parameter from the next step on."""
    t = ts.trainer
    name = st.session_state.get(key)
    params = {} if t is None else dict(t.model.named_parameters())
    if name not in params:
        return
    ts.follow_count = getattr(ts, "follow_count", 0) + 1
    rng = np.random.default_rng(ts.follow_count)
    index = tuple(int(rng.integers(n)) for n in params[name].shape)
    t.set_highlight(name, index)
    ts.tick_until = time.monotonic() + STEP_TICK


def weight_picker(ts: TrainingSession, current: str | None) -> None:
    """Which weight the update rule follows: a parameter, and a random weight inside it."""
    t = ts.trainer
    names = [n for n, p in t.model.named_parameters() if n.endswith("weight")]
    if not names:
        return
    key = f"follow_{ts.generation}"
    if st.session_state.get(key) not in names:
        st.session_state[key] = current if current in names else names[0]
    a, b = st.columns([2, 1], vertical_alignment="bottom")
    a.selectbox(
        "Follow a weight of",
        names,
        key=key,
        on_change=_follow,
        args=(ts, key),
        help="state_dict names: '0.weight' is the first layer's weights.",
    )
    b.button(
        "Another weight",
        key="follow_other",
        on_click=_follow,
        args=(ts, key),
        icon=":material/shuffle:",
        width="stretch",
    )
    st.caption("The new weight shows from the next training step (while paused: **Step**).")


def show_update(ts: TrainingSession, snap) -> None:
    u = snap.update
    if ts.trainer is not None:
        weight_picker(ts, None if u is None else u.param)
    if u is None:
        st.caption(
            "No step has been recorded yet: the next snapshot of a training step shows "
            "it (while paused, press **Step**)."
        )
        return
    idx = ", ".join(str(i) for i in u.index)
    st.markdown(
        f"**One weight, `{u.param}[{idx}]`, at step {u.step}** "
        f"(layer {u.layer}, optimizer {OPTIMIZER_LABELS.get(u.optimizer, u.optimizer)})"
    )
    st.write(OPT_WORDS.get(u.optimizer, ""))
    st.code(u.rule, language=None, wrap_lines=True)
    if u.optimizer != "sgd":
        plain = u.w_old - u.lr * u.g
        st.caption(
            f"Plain SGD would have written w_new = {u.w_old:.6g} − {u.lr:.3g} × "
            f"{u.g:.6g} = {plain:.6g}; {OPTIMIZER_LABELS[u.optimizer]} wrote {u.w_new:.6g}."
        )
    if u.weight_decay:
        st.caption(
            f"Weight decay (L2) adds {u.weight_decay:g} × w to the gradient: it pulls "
            "every weight a little towards 0 at each step."
        )


VIEWS = ("Activations", "Filters", "Histograms", "Update rule")


def show_inside(ts: TrainingSession, trainer) -> None:
    """What the net looks like inside, in tabs; only the open tab is drawn."""
    snap = _pics(ts).current(trainer.snapshot(), trainer.status == "running")
    if snap is None:
        st.caption("The inside of the net appears with the first snapshot.")
        return
    tabs = st.tabs(list(VIEWS), key="view", bind="query-params")
    draw = (
        lambda: show_activations(ts, snap, trainer.classes),
        lambda: show_filters(ts, snap, trainer.model),
        lambda: show_histograms(ts, snap),
        lambda: show_update(ts, snap),
    )
    for tab, fn in zip(tabs, draw):
        with tab:
            if tab.open is not False:
                fn()
    st.caption(
        f"Snapshot at step {snap.step} (epoch {snap.epoch}, batch {snap.batch}), "
        f"{snap.time:.1f} s of training."
    )


def button_state(status: str) -> str:
    """The part of a status the buttons outside the fragment depend on."""
    return "live" if status in LIVE else status


def live_view(ts: TrainingSession) -> None:
    """Status, progress, curves and the inside of the net, redrawn by a fragment while the
    training runs (every TICK s; every WAIT_TICK s in the queue). When the status changes what
    the buttons allow or how often to redraw, one full rerun redraws the buttons and results
    and sets the new timer (the timer is fixed when the fragment is defined)."""
    every = ts.tick()
    # the buttons were drawn a moment ago: the worker may have paused or stopped since
    drawn_for = (ts.buttons_for or button_state(ts.status()), every)

    @st.fragment(run_every=every)
    def _live() -> None:
        t = ts.trainer
        if t is None:
            st.caption(
                "Press **Start** to train. The curves and the inside of the net appear "
                "here and change while it learns."
            )
            return
        try:
            show_status(t)
            show_curves(ts, t)
            show_inside(ts, t)
        except Exception:  # noqa: BLE001 - a timer rerun runs outside run_safely
            log.exception("live view failed")
            st.error(
                "The live view could not be drawn this time; it tries again at the next refresh.",
                icon=":material/warning:",
            )
        now = (button_state(t.status), ts.tick())
        if now != drawn_for and (every is not None or now[0] != drawn_for[0]):
            st.rerun(scope="app")

    _live()


# ---------------------------------------------------------------------------------------------
# After training: results on the test split


def confusion_figure(confusion: np.ndarray, classes) -> Any:
    """Counts per (true, predicted) pair as a small heatmap with the numbers written in."""
    import plotly.graph_objects as go

    k = len(classes)
    labels = [str(c) for c in classes]
    fig = go.Figure(
        go.Heatmap(
            z=confusion,
            x=labels,
            y=labels,
            colorscale="Blues",
            showscale=False,
            text=confusion if k <= 20 else None,
            texttemplate="%{text}" if k <= 20 else None,
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    side = min(640, 120 + 34 * k)
    fig.update_layout(
        height=side,
        width=side,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="predicted",
        yaxis_title="true",
        plot_bgcolor="white",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def show_report(report, dataset, key: str = "cm") -> None:
    """Test accuracy, the confusion matrix, per-class accuracy and the misclassified images."""
    import pandas as pd

    from cnnviz.ui.common import show_figure

    classes = [str(c) for c in report.classes]
    a, b, c = st.columns(3)
    a.metric("Test accuracy", f"{report.accuracy:.1%}")
    b.metric("Test loss", f"{report.loss:.3f}")
    c.metric("Test images", f"{report.n:,}", help="Never seen in training or validation.")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Confusion matrix**: rows are the true class, columns what the net said")
        if len(classes) <= 40:
            show_figure(confusion_figure(report.confusion, classes), key=key)
        else:
            st.dataframe(pd.DataFrame(report.confusion, index=classes, columns=classes))
    with right:
        st.markdown("**Accuracy per class**")
        totals = report.confusion.sum(axis=1)
        table = pd.DataFrame(
            {
                "class": classes,
                "accuracy": report.per_class,
                "right": np.diag(report.confusion),
                "images": totals,
            }
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "accuracy": st.column_config.ProgressColumn(
                    "accuracy", min_value=0.0, max_value=1.0, format="percent"
                ),
            },
        )
    wrong = np.asarray(report.misclassified)
    st.markdown(
        f"**Misclassified test images**: {len(wrong)} of {report.n}"
        + (", the first 40:" if len(wrong) > 40 else "")
    )
    if len(wrong) and dataset is not None and len(dataset.y_test) == report.n:
        shown = wrong[:40]
        st.image(
            [sample_png(dataset.x_test[i], 64) for i in shown],
            caption=[
                f"#{i}: {classes[dataset.y_test[i]]} → {classes[report.predictions[i]]}"
                for i in shown
            ],
            width=88,
        )
    elif not len(wrong):
        st.caption("None: every test image is right.")


def results_section(ts: TrainingSession) -> None:
    t = ts.trainer
    if t is None or t.progress().step == 0:
        st.caption("The results appear after some training.")
        return
    try:
        report = ts.cached(("report",), t.evaluate)
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    show_report(report, ts.dataset)
    where = ts.saved.get(ts.generation)
    if where:
        st.caption(f"Saved on the server as `{where}`: it is listed in **Model files**.")
    elif where == "":
        st.warning(
            "Could not save this run on the server (see the server log).", icon=":material/warning:"
        )


# ---------------------------------------------------------------------------------------------
# Checkpoints: download, upload (guarded), and the runs/ folder


def _runs_dir():
    from cnnviz import checkpoint

    return checkpoint.runs_dir()


def trainer_meta(ts: TrainingSession, report=None) -> dict:
    return with_test_metrics(ts.trainer.meta(), report)


def save_finished_run(ts: TrainingSession) -> str | None:
    """A finished training is written to runs/ once (with its test accuracy), so a server
    restart loses nothing; safe from any thread (the page's run, or the session's release when
    the tab closed before the page saw the end). Returns the folder ("" if it failed)."""
    from cnnviz import checkpoint

    with ts.lock:
        t = ts.trainer
        if t is None or t.status != "finished" or ts.generation in ts.saved:
            return ts.saved.get(ts.generation)
        try:
            report = ts.cached(("report",), t.evaluate)
            meta = with_test_metrics(t.meta(), report)
            path = str(checkpoint.save_run(_runs_dir(), t.model, meta))
        except (OSError, ValueError):
            log.exception("could not save a finished run")
            path = ""
        ts.saved[ts.generation] = path
        return path


def model_downloads(weights: bytes, meta: bytes, stem: str, key: str) -> None:
    """The two files of a model, side by side: weights (safetensors) and description (JSON)."""
    a, b = st.columns(2)
    a.download_button(
        "Weights (.safetensors)",
        weights,
        f"{stem}.safetensors",
        "application/octet-stream",
        key=f"{key}_weights",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
    )
    b.download_button(
        "Description (.json)",
        meta,
        f"{stem}.json",
        "application/json",
        key=f"{key}_meta",
        on_click="ignore",
        icon=":material/description:",
        width="stretch",
    )


def _file_stem(meta: dict) -> str:
    import re

    name = f"cnnviz-{meta.get('dataset', 'data')}-{meta.get('arch', 'net')}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80]


def download_buttons(ts: TrainingSession) -> None:
    from cnnviz import checkpoint

    t = ts.trainer
    if t is None or t.status not in DONE + ("paused",) or t.progress().step == 0:
        st.caption("Train a model (or pause it) to download it.")
        return
    step = t.progress().step
    report = ts.cache.get((ts.generation, "report"))
    weights, meta_json = ts.cached(
        ("checkpoint", step, report is not None),
        lambda: checkpoint.save(t.model, trainer_meta(ts, report)),
    )
    model_downloads(weights, meta_json, _file_stem(t.meta()), "dl")
    st.caption(
        f"Both files together reopen the model here (step {step}). The weights file holds "
        "numbers only (safetensors: no code), the JSON the architecture, data and "
        "metrics."
    )


def _open_model(model, meta: dict, source: str, path: str | None = None) -> None:
    st.session_state["_opened"] = {"model": model, "meta": meta, "source": source, "path": path}


def upload_checkpoint() -> None:
    from cnnviz import checkpoint

    a, b = st.columns(2)
    w = a.file_uploader(
        "Weights (.safetensors)", type=["safetensors"], key="up_weights", max_upload_size=25
    )
    m = b.file_uploader("Description (.json)", type=["json"], key="up_meta", max_upload_size=1)
    if w is None or m is None:
        if w is not None or m is not None:
            st.caption("Upload both files: the weights and their description.")
        return
    ident = (w.file_id, m.file_id)
    if st.session_state.get("_uploaded_ident") == ident:
        return
    try:
        model, meta = checkpoint.load(w.getvalue(), m.getvalue())
    except ValueError as err:
        st.error(str(err), icon=":material/block:")
        return
    st.session_state["_uploaded_ident"] = ident
    _open_model(model, meta, f"{w.name} + {m.name}")


def runs_list() -> None:
    from cnnviz import checkpoint

    try:
        runs = _list_runs()
    except (OSError, ValueError) as err:
        st.caption(f"The saved runs cannot be listed: {err}")
        return
    if not runs:
        st.caption(
            "No saved runs yet: a finished training is saved here automatically, and "
            "`python -m cnnviz train ...` saves one from the command line."
        )
        return
    labels = {str(r.path): run_label(r) for r in runs}
    choice = st.selectbox(
        "Saved runs on this server", list(labels), format_func=labels.get, key="run_choice"
    )
    if st.button("Open this run", key="open_run", icon=":material/folder_open:"):
        try:
            model, meta = checkpoint.load_run(choice)
        except ValueError as err:
            st.error(str(err), icon=":material/block:")
            return
        _open_model(model, meta, labels[choice], path=choice)


def run_label(r) -> str:
    acc = (r.metrics or {}).get("test_accuracy")
    if acc is None:
        acc = (r.metrics or {}).get("val_acc")
        acc = f"validation {acc:.1%}" if isinstance(acc, (int, float)) else ""
    else:
        acc = f"test {acc:.1%}"
    return " · ".join(p for p in (r.name, r.dataset, r.arch, acc) if p)


def _list_runs():
    """The runs/ folder's runs, read again only when the folder changed (new or removed runs)."""
    from cnnviz import checkpoint

    root = _runs_dir()
    try:
        stamp = (str(root), root.stat().st_mtime_ns)
    except OSError:
        return []
    got = st.session_state.get("_runs_cache")
    if got is None or got[0] != stamp:
        got = st.session_state["_runs_cache"] = (stamp, checkpoint.list_runs(root))
    return got[1]


def opened_model_view(dataset, probe_x) -> None:
    """The model opened from an upload or runs/: its description, filters, what it sees in the
    chosen sample, and its accuracy on the current data's test split when they fit."""
    from cnnviz import probe as probes

    opened = st.session_state.get("_opened")
    if not opened:
        return
    model, meta = opened["model"], opened["meta"]
    st.markdown(f"#### Opened: {opened['source']}")
    st.button(
        "Close",
        key="close_opened",
        icon=":material/close:",
        on_click=lambda: st.session_state.pop("_opened", None),
    )
    metrics = meta.get("metrics", {}) or {}
    st.markdown(
        f"Architecture `{meta.get('arch', '?')}` · data **{meta.get('dataset', '?')}** · input "
        f"{fmt_shape(meta.get('input_shape', ()))} · {len(meta.get('classes', []))} classes"
        + "".join(
            f" · {k.replace('_', ' ')} {v:.3g}"
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
    )
    fits = (
        dataset is not None
        and list(dataset.input_shape) == list(meta.get("input_shape", []))
        and [str(c) for c in dataset.classes] == [str(c) for c in meta.get("classes", [])]
    )
    if not fits:
        st.caption(
            "Pick the data this model was trained on (same image size and classes) to "
            "see what it sees and test it."
        )
        return
    if opened.get("path"):
        _run_downloads(opened)
    key = ("pictures", hash(np.asarray(probe_x).tobytes()))
    if key not in opened:  # computed once per sample, not at every rerun
        first = probes.first_filters(model)
        opened[key] = (
            [(a, maps_png(a.values)) for a in probes.capture(model, probe_x)],
            None if first is None else (first.shape, filters_png(first, rgb=True)),
        )
    acts, filters = opened[key]
    if filters is not None:
        shape, (png, rng, note) = filters
        st.markdown(f"**First convolution: {shape[0]} filters of {fmt_shape(shape[1:])}**")
        st.image(png)
    st.markdown("**What it sees in the chosen sample**")
    cols = st.columns(4)
    for i, (a, (png, rng, note)) in enumerate(acts):
        with cols[i % 4]:
            st.markdown(f"**{a.index}. {a.name}** · {fmt_shape(a.shape)}")
            st.image(png)
            st.caption(range_text(rng) + (f" · {note}" if note else ""))
    report = _opened_report(opened, dataset)
    if report is not None:
        show_report(report, dataset, key="cm_opened")


def _run_downloads(opened: dict) -> None:
    """A run saved on the server (a teacher's pre-trained model): its two files to keep."""
    from cnnviz import checkpoint

    try:
        weights, meta = checkpoint.run_files(opened["path"])
    except ValueError as err:
        st.caption(str(err))
        return
    model_downloads(weights, meta, _file_stem(opened["meta"]), "dl_run")


def _opened_report(opened: dict, dataset):
    """The opened model tested on the current data's test split (a Trainer is only the way to
    reach the evaluation code; it is never started)."""
    from cnnviz.training import Trainer

    key = ("report", id(dataset))
    if key in opened:
        return opened[key]
    meta = opened["meta"]
    try:
        t = Trainer(dataset, meta["arch"], TrainConfig())
        t.model.load_state_dict(opened["model"].state_dict())
        opened[key] = t.evaluate()
    except (ValueError, KeyError, RuntimeError) as err:
        st.caption(f"This model cannot be tested on these data: {err}")
        opened[key] = None
    return opened[key]


def checkpoint_section(ts: TrainingSession, dataset, probe_x=None, drawn: bool = True) -> None:
    """Downloads, uploads, the runs/ list and the opened model. When the tab is not open only
    the uploaders are drawn (they keep their files); the rest costs nothing."""
    if drawn:
        st.markdown("**Download this training's model**")
        download_buttons(ts)
    st.markdown("**Open a model**: upload both files, or pick a run saved on this server")
    upload_checkpoint()
    if drawn:
        runs_list()
        opened_model_view(dataset, probe_x)
