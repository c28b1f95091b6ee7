"""A CNN as a short text that fits in a URL (`spec`), the nn.Sequential it builds (`check`,
`modules`), and its layer table (`summary`, for a spec or any torch module).

Files, one idea each:
    layer.py           a layer kind, its settings, defaults, ranges and words; ArchError
    spec.py            the grammar: parse / to_text
    presets.py         the preset nets and what they train with
    table.py           Row, shapes as text, totals, the Keras-style text table
    summary.py         the one walker: Ops (from spec layers or modules) -> rows, receptive field
    module_summary.py  any torch module, run once on zeros (hooks, or its torch.fx graph)
    modules.py         layer kind <-> torch module: build, code text, Layer of a module
    fixes.py           why a net does not fit and what would; min_input_size; preset_for
    check.py           summarize, check (caps for a classroom CPU), build, to_code
    reference.py       LeNet-5, AlexNet, VGG16, ResNet-50 with random weights
    residual.py        plain vs residual stacks: gradient norms while they train

Example: ``conv8k3p1-relu-max2-conv16k3-relu-max2-flat-fc64-relu-fc``.
"""

from cnnviz.arch.check import build, check, check_classes, summarize, to_code
from cnnviz.arch.fixes import min_input_size, pad_convs, preset_for
from cnnviz.arch.layer import (
    ACTIVATION_KINDS,
    ALIASES,
    DEFAULTS,
    KINDS,
    MAX_LAYERS,
    MAX_OPS,
    MAX_PARAMS,
    MAX_TEXT,
    RANGES,
    TITLES,
    TOKEN,
    ArchError,
    Layer,
)
from cnnviz.arch.modules import (
    ResidualBlock,
    first_tensor,
    layer_of,
    module_code,
    module_kind,
    module_name,
    rows_of,
)
from cnnviz.arch.presets import (
    DEFAULT_PRESET,
    PRESET_INFO,
    PRESET_TRAINING,
    PRESETS,
    preset_training,
    preset_training_text,
)
from cnnviz.arch.spec import parse, to_text
from cnnviz.arch.table import ORDERS, Row, format_rows, shape_text, totals

__all__ = [
    "ACTIVATION_KINDS",
    "ALIASES",
    "DEFAULTS",
    "DEFAULT_PRESET",
    "KINDS",
    "MAX_LAYERS",
    "MAX_OPS",
    "MAX_PARAMS",
    "MAX_TEXT",
    "ORDERS",
    "PRESETS",
    "PRESET_INFO",
    "PRESET_TRAINING",
    "RANGES",
    "TITLES",
    "TOKEN",
    "ArchError",
    "Layer",
    "ResidualBlock",
    "Row",
    "build",
    "check",
    "check_classes",
    "first_tensor",
    "format_rows",
    "layer_of",
    "min_input_size",
    "module_code",
    "module_kind",
    "module_name",
    "pad_convs",
    "parse",
    "preset_for",
    "preset_training",
    "preset_training_text",
    "rows_of",
    "shape_text",
    "summarize",
    "to_code",
    "to_text",
    "totals",
]
