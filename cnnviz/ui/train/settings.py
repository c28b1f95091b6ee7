"""The training settings, bound to the URL (static defaults: a default value never appears in the
URL), read as one TrainConfig; the line that says what will be trained."""

from __future__ import annotations

import streamlit as st

from cnnviz import arch
from cnnviz.arch import shape_text
from cnnviz.training.config import OPTIMIZERS, SCHEDULES, TrainConfig
from cnnviz.ui.links import hideable
from cnnviz.ui.train.controls import safely
from cnnviz.ui.train.session import TrainingSession

# Options are what the URL shows: Streamlit 1.67 writes a bound widget's *formatted* label to
# the URL and reads it back the same way, so bound widgets here have no format_func that changes
# a value (opt=Momentum, not opt=SGD+%2B+momentum).
OPT_LABELS = dict(zip(OPTIMIZERS, ("SGD", "Momentum", "Adam"), strict=True))
OPT_KEY = {label: key for key, label in OPT_LABELS.items()}
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


@safely
def _opt_changed() -> None:
    """A learning rate that suits the optimizer (SGD wants a larger one than Adam)."""
    st.session_state["lr"] = LR_FOR.get(OPT_KEY.get(st.session_state.get("opt")), 0.001)


def settings_form(dataset=None) -> TrainConfig:
    """The training settings, one column (URL-bound widgets), as the TrainConfig they describe
    (the training set size capped at the data's). A lesson link hides any of them by key
    (`?hide=opt,lr`): its value is fixed and the page says so."""
    opt = hideable(
        "opt",
        "optimizer",
        lambda: st.segmented_control(
            "Optimizer",
            list(OPT_KEY),
            default=DEFAULTS["opt"],
            required=True,
            key="opt",
            bind="query-params",
            on_change=_opt_changed,
            help="SGD: w ← w − lr·g. Momentum adds a running velocity; Adam scales each weight's "
            "step by its own gradient history. See 'Update rule' while training.",
        ),
    )
    lr = hideable(
        "lr",
        "learning rate",
        lambda: st.select_slider(
            "Learning rate",
            LRS,
            value=DEFAULTS["lr"],
            key="lr",
            bind="query-params",
            format_func=lambda v: f"{v:g}",
        ),
    )
    sched = hideable(
        "sched",
        "schedule",
        lambda: st.segmented_control(
            "Schedule",
            SCHEDULES,
            default=DEFAULTS["sched"],
            required=True,
            key="sched",
            bind="query-params",
            help="How the learning rate changes during training. constant: never; step: ÷10 after "
            "half of the steps and ÷10 again after three quarters; cosine: glides down to 0 "
            "along a half cosine.",
        ),
    )
    bs = hideable(
        "bs",
        "batch size",
        lambda: st.select_slider(
            "Batch size",
            BATCHES,
            value=DEFAULTS["bs"],
            key="bs",
            bind="query-params",
            help="Images per step.",
        ),
    )
    epochs = hideable(
        "epochs",
        "epochs",
        lambda: st.number_input(
            "Epochs",
            1,
            100,
            DEFAULTS["epochs"],
            key="epochs",
            bind="query-params",
            help="Passes over the training images.",
        ),
    )
    ntrain = hideable(
        "ntrain",
        "training images",
        lambda: st.select_slider(
            "Training images",
            N_TRAIN,
            value=DEFAULTS["ntrain"],
            key="ntrain",
            bind="query-params",
            help="Fewer images train faster and overfit sooner (validation and test stay whole).",
        ),
    )
    wd = hideable(
        "wd",
        "weight decay",
        lambda: st.select_slider(
            "Weight decay (L2)",
            DECAYS,
            value=DEFAULTS["wd"],
            key="wd",
            bind="query-params",
            format_func=lambda v: f"{v:g}",
            help="Pulls every weight a little towards 0 at each step.",
        ),
    )
    drop = hideable(
        "drop",
        "dropout",
        lambda: st.select_slider(
            "Dropout",
            DROPOUTS,
            value=DEFAULTS["drop"],
            key="drop",
            bind="query-params",
            help="Overrides the p of every Dropout layer in the architecture ('as built' keeps "
            "them). An architecture without a Dropout layer has nothing to override.",
        ),
    )
    can_augment = dataset is None or dataset.augment != "none"
    aug = hideable(
        "aug",
        "augmentation",
        lambda: st.toggle(
            "Augmentation",
            DEFAULTS["aug"],
            key="aug",
            bind="query-params",
            disabled=not can_augment,
            help="Random small shifts (and mirror images where that keeps the class) of every "
            "training batch: more variety from the same images."
            + ("" if can_augment else " These data have no augmentation that keeps labels."),
        ),
    )
    seed = hideable(
        "seed",
        "seed",
        lambda: st.number_input(
            "Seed",
            0,
            2**31 - 1,
            DEFAULTS["seed"],
            key="seed",
            bind="query-params",
            help="Same seed, same settings: the same training.",
        ),
    )
    n_train = None if ntrain == "all" else int(ntrain)
    if n_train is not None and dataset is not None and n_train >= len(dataset.y_train):
        n_train = None  # no more than the data have: all of them
    return TrainConfig(
        optimizer=OPT_KEY[opt],
        lr=float(lr),
        schedule=sched,
        batch_size=int(bs),
        epochs=int(epochs),
        weight_decay=float(wd),
        dropout=None if drop == "as built" else float(drop),
        augment=bool(aug and can_augment),
        seed=int(seed),
        n_train=n_train,
    )


def widget_values(settings: dict) -> dict:
    """TrainConfig fields (a lesson step's settings) as the values of the widgets above: what
    settings_form reads back as the same TrainConfig."""
    n = settings.get("n_train")
    p = settings.get("dropout")
    return dict(
        opt=OPT_LABELS[settings["optimizer"]],
        lr=settings["lr"],
        sched=settings["schedule"],
        bs=settings["batch_size"],
        epochs=settings["epochs"],
        wd=settings["weight_decay"],
        drop="as built" if p is None else f"{p:g}",
        aug=settings["augment"],
        seed=settings["seed"],
        ntrain="all" if n is None else str(n),
    )


def set_settings(**values) -> None:
    """Change bound widgets from a callback (a lesson button): the URL follows."""
    for k, v in values.items():
        st.session_state[k] = v


def arch_problem(spec: str | None, dataset) -> str | None:
    """Why this architecture cannot be trained on these data (one sentence), or None."""
    if not spec:
        return "the architecture is empty."
    try:
        arch.check(spec, dataset.input_shape, dataset.n_classes)
    except ValueError as err:
        return str(err)
    return None


def summary_line(ts: TrainingSession, dataset, spec: str | None, config: TrainConfig) -> str:
    """One line above the steps: what will be (or is being) trained."""
    words = {"none": "not started", "new": "not started"}
    status = words.get(ts.status(), ts.status())
    return (
        f"**{dataset.name}** ({shape_text(dataset.input_shape)}, {dataset.n_classes} classes) "
        f"· `{spec}` · {OPT_LABELS[config.optimizer]} lr {config.lr:g}, "
        f"batch {config.batch_size}, {config.epochs} epochs · training: {status}"
    )


def settings_differ(ts: TrainingSession, spec, dataset, config: TrainConfig) -> bool:
    """Whether the training on screen was started with other data, architecture or settings."""
    t = ts.trainer
    return t is not None and (ts.spec != spec or ts.dataset is not dataset or t.config != config)
