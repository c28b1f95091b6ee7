"""The Train page's lesson "overfit me, then fix it", as data: what each step sets, what it
says, and the numbers it shows, measured.

Every step trains the architecture in the editor; the numbers quoted are those of the default
preset (the minimal net) with seed 0 on each built-in set, and tests/engine/test_lessons.py trains every
step on every set with exactly these settings and checks each claim:
1. train accuracy reaches 100 % and validation stays well below it;
2. with regularisation train accuracy stays lower, validation ends higher than in step 1;
3. with more images validation ends higher again, and the gap is the smallest of the three.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnviz import arch
from cnnviz.numbers import percent_text


@dataclass(frozen=True)
class LessonStep:
    """One button of the lesson: TrainConfig settings, whether a Dropout layer is added before
    the last linear layer (when the net has none), and its text (before the measured numbers)."""

    key: str
    label: str
    icon: str
    settings: dict = field(default_factory=dict)
    add_dropout: bool = False
    text: str = ""


COMMON = {"optimizer": "adam", "lr": 0.01, "schedule": "constant", "seed": 0}
# steps 2 and 3: the learning rate glides down to 0 (cosine), so a run on 50 images ends settled
# rather than on one noisy last step (validation on a few hundred images jumps by points)
SETTLED = {**COMMON, "schedule": "cosine"}
OVERFIT = (
    LessonStep(
        "lesson_overfit",
        "1. Overfit me",
        ":material/trending_up:",
        {
            **COMMON,
            "n_train": 50,
            "augment": False,
            "dropout": 0.0,
            "weight_decay": 0.0,
            "epochs": 60,
            "batch_size": 16,
        },
        text="Train on 50 images only, no augmentation, no dropout, no L2, 60 epochs (Adam, lr "
        "0.01). Watch the "
        "accuracy curves: **train** climbs to 100\u00a0%, **validation** stays far below. The "
        "net learns those 50 images by heart instead of what the classes look like: "
        "overfitting.",
    ),
    LessonStep(
        "lesson_reg",
        "2. Dropout + L2 + augmentation",
        ":material/compress:",
        {
            **SETTLED,
            "n_train": 50,
            "augment": True,
            "dropout": 0.5,
            "weight_decay": 0.0001,
            "epochs": 100,
            "batch_size": 16,
        },
        add_dropout=True,
        text="The same 50 images, but dropout 0.5 (a Dropout layer is added before the last "
        "Linear if the net has none), weight decay 0.0001 and random shifts, 100 epochs, "
        "the learning rate gliding down to 0 (cosine) so the run ends settled. "
        "Memorising gets harder: train accuracy stays below 100\u00a0% and validation ends "
        "higher than in step 1.",
    ),
    LessonStep(
        "lesson_data",
        "3. More data",
        ":material/dataset:",
        {
            **SETTLED,
            "lr": 0.003,
            "n_train": 1000,
            "augment": True,
            "dropout": 0.5,
            "weight_decay": 0.0001,
            "epochs": 8,
            "batch_size": 32,
        },
        add_dropout=True,
        text="20 times the images (1,000), still regularised, 8 epochs at lr 0.003 (cosine): "
        "the best cure. "
        "Validation ends the highest of the three and train is no longer above it (the "
        "train curve is measured while dropout and the shifts are on, so it can even sit "
        "below validation).",
    ),
)

# (train accuracy, validation accuracy) at the end of each step, with the minimal preset and
# seed 0, per built-in set (tests/engine/test_lessons.py measures them again)
MEASURED: dict[str, tuple[tuple[float, float], ...]] = {
    "digits": ((1.0, 0.833), (0.9, 0.878), (0.685, 0.928)),
    "digits28": ((1.0, 0.519), (0.8, 0.709), (0.581, 0.76)),
    "shapes": ((1.0, 0.316), (0.78, 0.334), (0.552, 0.63)),
    "shapes10": ((1.0, 0.179), (0.86, 0.221), (0.422, 0.401)),
    "orientations": ((1.0, 0.703), (0.92, 0.805), (0.861, 0.91)),
}


def step(key: str) -> LessonStep:
    """The step with this key."""
    for s in OVERFIT:
        if s.key == key:
            return s
    raise ValueError(f"{key!r} is not a step of the lesson.")


def with_dropout(spec: str | None, p: float = 0.5) -> str | None:
    """The spec with a Dropout layer before its last Linear, or None if it has one already (or
    cannot be read, or has no linear layer)."""
    try:
        layers = arch.parse(spec or "")
    except ValueError:
        return None
    if any(layer.kind == "dropout" for layer in layers):
        return None
    last = max((i for i, layer in enumerate(layers) if layer.kind == "linear"), default=None)
    if last is None:
        return None
    return arch.to_text([*layers[:last], arch.Layer("dropout", {"p": p}), *layers[last:]])


def spec_for(s: LessonStep, spec: str) -> str:
    """The architecture a step trains: the spec, with a Dropout layer added if the step says."""
    if s.add_dropout:
        return with_dropout(spec, s.settings.get("dropout") or 0.5) or spec
    return spec


def measured_text(s: LessonStep, dataset: str) -> str:
    """The step's numbers on a built-in set, in words ("" for other data)."""
    numbers = MEASURED.get(dataset)
    if numbers is None:
        return ""
    i = OVERFIT.index(s)
    train, val = numbers[i]
    return (
        f"Measured with the minimal net on {dataset} (seed 0): train {percent_text(train, 2)}, "
        f"validation {percent_text(val, 2)}."
    )
