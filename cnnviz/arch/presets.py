"""The preset nets (spec text), their descriptions, and the training settings each one was
measured with."""

from __future__ import annotations

from cnnviz.arch.layer import ArchError
from cnnviz.numbers import percent_text

PRESETS: dict[str, str] = {
    "minimal": "conv8k3-relu-max2-flat-fc",
    "lenet5": "conv6k5p2-tanh-avg2-conv16k5-tanh-avg2-flat-fc120-tanh-fc84-tanh-fc",
    "tinyvgg": "conv10k3-relu-conv10k3-relu-max2-conv10k3-relu-conv10k3-relu-max2-flat-fc",
    "keras": "conv32k3-relu-max2-conv64k3-relu-max2-conv64k3-relu-flat-fc64-relu-fc",
}
PRESET_INFO: dict[str, tuple[str, str]] = {
    "minimal": (
        "Minimal: one conv",
        "One 3×3 conv with 8 filters, ReLU, a 2×2 max pool and a "
        "linear layer: the smallest net that still learns edges.",
    ),
    "lenet5": (
        "LeNet-5 (modern form)",
        "LeNet-5 as most tutorials rebuild it: two 5×5 convs "
        "(6 and 16 filters, the first padded by 2 so a 28×28 digit keeps its size), plain "
        "tanh, 2×2 average pooling, then fully connected 120 → 84 → one linear score per "
        "class (61,706 parameters on 28×28 digits, 10 classes). LeCun et al.'s 1998 net "
        "differs: a 32×32 input with no padding; C3 joins each of its 16 maps to only 3-6 "
        "of the 6 S2 maps (a connection table: 1,516 parameters instead of 2,416); the "
        "squashing is 1.7159·tanh(2x/3); each subsampling layer adds up a 2×2 block, "
        "multiplies it by a trainable coefficient and adds a trainable bias (then "
        "squashes); the output is 10 RBF units (the squared distance to fixed 7×12 "
        "codes), not a linear layer. Needs an input of at least 12×12.",
    ),
    "tinyvgg": (
        "Tiny VGG (CNN Explainer)",
        "Two blocks of two 3×3 convs (10 filters) + ReLU + "
        "2×2 max pool, then one linear layer, as in CNN Explainer. Needs at least 16×16.",
    ),
    "keras": (
        "Keras tutorial net",
        "Conv 32 3×3 → MaxPool 2 → Conv 64 3×3 → MaxPool 2 → Conv "
        "64 3×3 → Flatten → Dense 64 → Dense classes (the classic Keras/TensorFlow CNN "
        "tutorial, on CIFAR-10). On 32×32 colour pictures of 10 classes (shapes10) it has "
        "the tutorial's numbers: 896 + 18,496 + 36,928 + 65,600 + 650 = 122,570 "
        "parameters; Keras writes shapes height × width × channels (the table can too). "
        "Needs at least 18×18.",
    ),
}
DEFAULT_PRESET = "minimal"

# What each preset trains with by default and what that reaches: the data it is shown on, the
# settings (TrainConfig names) and the validation accuracy it passes with seed 0 (measured by
# tests/engine/test_preset_training.py, which trains each preset with exactly these settings). The Train
# page applies them when a preset is picked.
PRESET_TRAINING: dict[str, dict] = {
    "minimal": {
        "data": "digits",
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.95,
    },
    "lenet5": {
        "data": "digits",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 7,
        "val_acc": 0.97,
    },
    "tinyvgg": {
        "data": "shapes",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.90,
    },
    "keras": {
        "data": "shapes10",
        "optimizer": "adam",
        "lr": 0.003,
        "batch_size": 64,
        "epochs": 3,
        "val_acc": 0.80,
    },
}


def preset_training(name: str) -> dict:
    """The TrainConfig settings (optimizer, lr, batch_size, epochs) a preset trains with."""
    if name not in PRESET_TRAINING:
        raise ArchError(f"{name!r} is not a preset; use one of {', '.join(PRESETS)}.")
    return {k: v for k, v in PRESET_TRAINING[name].items() if k not in ("data", "val_acc")}


def preset_training_text(name: str) -> str:
    """One sentence: the preset's default settings and the accuracy they reach on its data."""
    t = PRESET_TRAINING[name]
    opt = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}[t["optimizer"]]
    return (
        f"Its defaults ({opt}, lr {t['lr']:g}, batch {t['batch_size']}, {t['epochs']} epochs) "
        f"pass {percent_text(t['val_acc'], 2)} validation accuracy on {t['data']} (seed 0)."
    )
