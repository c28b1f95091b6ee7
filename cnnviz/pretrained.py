"""Built-in pre-trained nets, made on this machine at first use (nothing downloaded).

`pretrained("digits")` trains a small two-conv net on the generated 28×28 digits (digits28) with
the project's own loop (`cnnviz.training.fit`, as `python -m cnnviz train` does), seeded, so
every machine makes the same weights; `pretrained("digits0-4")` is the same net trained on the
digits 0-4 only, the base that transfer learning reuses on 5-9.

The result is cached as a checkpoint (safetensors + JSON, `cnnviz.checkpoint`) in
`$CNNVIZ_CACHE` or `~/.cache/cnnviz`, under a file lock, so several app processes train each
net once. A cached checkpoint that does not load (changed, cut short, of another recipe) is
discarded and trained again; a cache folder that cannot be written just means training in
memory. Training uses one thread (torch's sums depend on the thread count), so every process
and machine makes the same weights. Each call returns a fresh model (eval mode): callers may change it freely.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
from pathlib import Path

import torch
from torch import nn

from cnnviz import checkpoint
from cnnviz.checkpoint import CheckpointError

SPEC = "conv8k3-relu-max2-conv16k3-relu-max2-flat-fc"
RECIPE_VERSION = 1  # part of the cache folder's name: bump when a recipe below changes

PRETRAINED: dict[str, str] = {
    "digits": "A small net (two 3×3 convs with 8 and 16 filters, each followed by ReLU and a "
    "2×2 max pool, then one linear layer) trained on 10,000 generated 28×28 digits, 0-9.",
    "digits0-4": "The same net trained on the digits 0-4 only: the base for reusing its conv "
    "layers on new classes.",
}

# name -> (the digits it learns, its training settings (TrainConfig names)), measured on a
# 2-core machine, one thread (plus ~1 s to generate digits28):
# - "digits": ~4 s of CPU, test accuracy 0.98; 3 of the second conv's 16 channels never fire on
#   test digits (with lr 0.01 and batches of 64, 2 epochs: 0.973 and 7 of 16 never fire, dull
#   pictures for "what a filter wants");
# - "digits0-4": ~2 s, 0.98; its conv features made the clearer transfer-learning contrast
#   (a base trained with "digits"' settings: 0.77 vs 0.76 from scratch after 5 epochs, seed 0)
RECIPES: dict[str, tuple[tuple[str, ...], dict]] = {
    "digits": (
        tuple("0123456789"),
        {"optimizer": "adam", "lr": 0.002, "batch_size": 32, "epochs": 3, "seed": 0},
    ),
    "digits0-4": (
        tuple("01234"),
        {"optimizer": "adam", "lr": 0.01, "batch_size": 64, "epochs": 2, "seed": 0},
    ),
}
DATASET = "digits28"

_memory: dict[str, tuple[bytes, bytes]] = {}  # name -> checkpoint files, this process
_memory_lock = threading.Lock()


def cache_dir() -> Path:
    """Where built-in nets are kept: $CNNVIZ_CACHE, else ~/.cache/cnnviz."""
    env = os.environ.get("CNNVIZ_CACHE")
    if env:
        return Path(env)
    try:
        return Path.home() / ".cache" / "cnnviz"
    except RuntimeError:  # no home folder (a service account): the temp folder
        return Path(tempfile.gettempdir()) / "cnnviz-cache"


def _check_name(name: str) -> None:
    if name not in PRETRAINED:
        known = ", ".join(f'"{n}"' for n in PRETRAINED)
        raise ValueError(f'There is no built-in pre-trained net called "{name}"; choose {known}.')


def digits28():
    """The built-in digits28 Dataset (made once per process and shared, see data.builtin): what
    the nets learn from, and the Explore page's new classes for transfer learning."""
    from cnnviz import data

    return data.builtin(DATASET)


def train_pretrained(name: str):
    """(model, meta) of the recipe `name`, trained now in this process, no cache."""
    from cnnviz.training import TrainConfig, evaluate_model, train, with_test_metrics

    _check_name(name)
    classes, settings = RECIPES[name]
    config = TrainConfig(**settings).validate()
    dataset = digits28()
    if list(classes) != list(dataset.classes):
        dataset = dataset.only_classes(classes)

    run = train(dataset, SPEC, config)  # on one torch thread: the same weights every time
    run.model.eval()
    meta = with_test_metrics(run.meta(dataset.name, "finished"), evaluate_model(run.model, dataset))
    meta.update(
        name=f"built-in: {name}",
        source="built-in",
        pretrained=name,
        recipe_version=RECIPE_VERSION,
        description=PRETRAINED[name],
        seed=config.seed,
    )
    return run.model, meta


def _train_in_child(conn, name: str) -> None:
    """A fresh process's job: train `name`, send back the checkpoint's two files."""
    torch.set_num_threads(1)  # before any torch op of this process
    try:
        model, meta = train_pretrained(name)
        conn.send(("ok", checkpoint.save(model, meta)))
    except Exception as e:  # noqa: BLE001 - reported to the parent in one sentence
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def _train_files(name: str) -> tuple[bytes, bytes]:
    """The checkpoint files of `name`, trained in a fresh process from the training fork server:
    which torch kernels a process picks depends on what it ran before (a convolution run with
    two threads changed the weights trained later with one), so only a clean process makes the
    same weights every time; it also keeps torch's loop off the app's GIL. In this process when
    no process can be started."""
    from cnnviz.training import worker

    try:
        here, there = worker.context().Pipe(duplex=False)
        proc = worker.start_process(_train_in_child, (there, name), "cnnviz-pretrained")
    except OSError:
        return checkpoint.save(*train_pretrained(name))
    there.close()
    try:
        status, payload = here.recv()
    except EOFError:
        status, payload = "error", "the training process ended without an answer"
    finally:
        here.close()
        proc.join()
    if status != "ok":
        raise RuntimeError(f"The built-in net {name!r} could not be trained ({payload}).")
    return payload


def _folder(name: str) -> Path:
    return cache_dir() / "pretrained" / f"{name}-v{RECIPE_VERSION}"


def _fits_recipe(meta: dict, name: str) -> bool:
    classes, settings = RECIPES[name]
    config = meta.get("config") or {}
    return (
        meta.get("pretrained") == name
        and meta.get("recipe_version") == RECIPE_VERSION
        and meta.get("arch") == SPEC
        and [str(c) for c in meta.get("classes", [])] == list(classes)
        and all(config.get(k) == v for k, v in settings.items())
        and isinstance((meta.get("metrics") or {}).get("test_accuracy"), float)
    )


def _read(folder: Path, name: str) -> tuple[bytes, bytes] | None:
    """The cached checkpoint's two files if they load and are this recipe's, else None (and
    the broken files are removed)."""
    weights_path, meta_path = folder / checkpoint.WEIGHTS_FILE, folder / checkpoint.META_FILE
    try:
        weights, meta = weights_path.read_bytes(), meta_path.read_bytes()
    except OSError:
        return None
    try:
        _, info = checkpoint.load(weights, meta)
        if _fits_recipe(info, name):
            return weights, meta
    except (CheckpointError, ValueError, RuntimeError):
        pass
    for p in (weights_path, meta_path):
        with contextlib.suppress(OSError):
            p.unlink()
    return None


def _write(folder: Path, files: tuple[bytes, bytes]) -> None:
    """Both files, each written whole (temporary name, then renamed); quietly nothing when the
    folder cannot be written."""
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        for fname, raw in zip((checkpoint.WEIGHTS_FILE, checkpoint.META_FILE), files):
            tmp = folder / f".{fname}.{os.getpid()}.tmp"
            tmp.write_bytes(raw)
            os.replace(tmp, folder / fname)


@contextlib.contextmanager
def _locked(folder: Path):
    """The machine-wide lock of one net's cache folder (no lock where none can be made)."""
    fd = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder.parent / f"{folder.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        if fd is not None:
            os.close(fd)
        fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the flock


def _files(name: str) -> tuple[bytes, bytes]:
    with _memory_lock:  # one thread of this process trains; the others wait for it
        if name in _memory:
            return _memory[name]
        folder = _folder(name)
        with _locked(folder):
            files = _read(folder, name)
            if files is None:
                files = _train_files(name)
                _write(folder, files)
        _memory[name] = files
        return files


def pretrained(name: str = "digits") -> tuple[nn.Module, dict]:
    """(model in eval mode, checkpoint-style meta: arch, input_shape, classes, dataset, config
    with the seed, metrics with test_accuracy, description) of a built-in net; trained on first
    use (seconds), then read from the cache. ValueError for an unknown name."""
    _check_name(name)
    weights, meta = _files(name)
    return checkpoint.load(weights, meta)
