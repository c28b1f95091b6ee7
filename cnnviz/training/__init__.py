"""Train a small CNN and publish what it learns while it learns.

- `config`: `TrainConfig` and its validation (`TrainError`), the optimizer, schedule and status
  names; `schedule`: batches per epoch and the learning rate of each step.
- `run`: `Run`, one training's model, optimizer, random streams (`seeding`) and records
  (`records`: progress, snapshots, checkpoint metadata).
- `loop`: `fit(run, data, hooks)`, the plain loop, no threads: `python -m cnnviz train` calls it
  directly (`train(dataset, spec, config)`: fit straight through, quietly, as the built-in nets
  are made); the worker process calls it with hooks that honour pause, step and stop within one
  batch and publish to the app.
- `trainer`: `Trainer`, what the Train page holds: it starts one worker *process* per training
  (`worker`) and mirrors the numbers, snapshots and weights the worker sends, so torch's Python
  loop never holds the app's GIL.
- `gate`: at most `GATE.max_running` trainings run at once on the machine (cores - 1, at least
  1; CNNVIZ_MAX_TRAININGS overrides), whatever app process started them; the others wait in one
  first-come-first-served queue. A paused training keeps its slot while nobody waits; once
  paused for `PAUSE_HOLD_S` seconds with someone waiting, it gives the slot up.
- `evaluate`: `evaluate_model`, a test report of any classifier; `update_rule`: one weight's
  SGD / momentum / Adam step written out (pure, checked against torch.optim).

Same seed, same result: weights are initialised, batches shuffled, images augmented and dropout
masks drawn from the run's own `torch.Generator`s, never torch's global one.

The names below import without torch; the torch-based ones load on first use.
"""

from cnnviz.training.config import DONE, OPTIMIZERS, SCHEDULES, STATUSES, TrainConfig, TrainError
from cnnviz.training.gate import GATE, Gate, default_max_running
from cnnviz.training.records import Progress, Snapshot, with_test_metrics
from cnnviz.training.schedule import batch_count, lr_at
from cnnviz.training.update_rule import UpdateExample, explain_update

# name -> module, imported on first access (PEP 562): these need torch
_LAZY = {
    "TestReport": "cnnviz.training.evaluate",
    "evaluate_model": "cnnviz.training.evaluate",
    "Hooks": "cnnviz.training.loop",
    "TrainData": "cnnviz.training.loop",
    "fit": "cnnviz.training.loop",
    "train_data": "cnnviz.training.loop",
    "train": "cnnviz.training.loop",
    "Run": "cnnviz.training.run",
    "SeededDropout": "cnnviz.training.seeding",
    "Trainer": "cnnviz.training.trainer",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'cnnviz.training' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "DONE",
    "GATE",
    "OPTIMIZERS",
    "SCHEDULES",
    "STATUSES",
    "Gate",
    "Progress",
    "Snapshot",
    "TrainConfig",
    "TrainError",
    "UpdateExample",
    "batch_count",
    "default_max_running",
    "explain_update",
    "lr_at",
    "with_test_metrics",
    *_LAZY,
]
