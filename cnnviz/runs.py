"""The runs/ folder: every finished training as `<timestamp>-<name>/{model.safetensors, meta.json}`
(default ./runs, env CNNVIZ_RUNS overrides), so a server restart loses nothing.

A run records who trained it (`owner` in meta.json: a short anonymous tag of the browser, never the
browser's secret itself) and may be published to the class (a `published` marker file in its
folder). A student sees their own runs plus the class runs (published ones and old runs saved
before owners existed: nothing a user made is lost); a teacher sees every run.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from torch import nn

from cnnviz import arch
from cnnviz.checkpoint import (
    MAX_META_BYTES,
    MAX_WEIGHTS_BYTES,
    META_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    load,
    parse_meta,
    save,
)
from cnnviz.names import file_stem
from cnnviz.numbers import percent_text

PUBLISHED_FILE = "published"  # its presence in a run folder: the run is on the class list


def runs_dir() -> Path:
    """Where runs are saved: $CNNVIZ_RUNS, else ./runs (read at each call)."""
    return Path(os.environ.get("CNNVIZ_RUNS") or "runs")


@dataclass(frozen=True)
class RunInfo:
    path: Path
    name: str  # its own name, else what it is (run_title)
    created: str  # ISO time (UTC)
    dataset: str
    arch: str
    classes: tuple[str, ...]
    input_shape: tuple[int, int, int]
    metrics: dict
    config: dict
    meta: dict
    owner: str | None = None  # owner_tag of who trained it; None: saved before owners existed
    published: bool = False  # on the class list


# ---------------------------------------------------------------------------------------------
# who


def _unmask(cookie: str) -> bytes:
    """The token inside Tornado's XSRF cookie ("2|mask|masked token|time": the mask changes when
    the cookie is written again, the token does not); any other text as it is."""
    parts = cookie.split("|")
    if len(parts) == 4 and parts[0] == "2":
        try:
            mask, masked = binascii.a2b_hex(parts[1]), binascii.a2b_hex(parts[2])
        except (binascii.Error, ValueError):
            return cookie.encode()
        if mask:
            return bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    return cookie.encode()


def owner_tag(secret: str) -> str:
    """A browser's owner tag: the first 16 hex digits of the SHA-256 of its secret (Streamlit's
    `_streamlit_xsrf` cookie, unmasked). The secret itself is never stored or shown."""
    return hashlib.sha256(_unmask(secret)).hexdigest()[:16]


def student_and_class(runs: list[RunInfo], owner: str) -> tuple[list[RunInfo], list[RunInfo]]:
    """(this owner's runs, the class runs: published or without an owner), each newest first."""
    mine = [r for r in runs if r.owner == owner]
    shared = [r for r in runs if r.owner != owner and (r.published or r.owner is None)]
    return mine, shared


def publish(path, on: bool = True) -> None:
    """Put a run on the class list (or take it off): its marker file appears or goes at once.
    The runs folder's time is touched so that listings cached on it are read again."""
    path = Path(path)
    if not (path / META_FILE).is_file():
        raise CheckpointError(f"{path.name} is not a saved run.")
    marker = path / PUBLISHED_FILE
    if on:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            pass
    else:
        marker.unlink(missing_ok=True)
    os.utime(path.parent)


# ---------------------------------------------------------------------------------------------
# names


def preset_key(spec: str) -> str | None:
    """The preset ("lenet5") whose architecture text this is, or None."""
    return next((k for k, v in arch.PRESETS.items() if v == spec), None)


def preset_name(spec: str) -> str:
    """A preset's short name ("LeNet-5") for its architecture text, else "custom"."""
    key = preset_key(spec)
    return re.split(r"[:(]", arch.PRESET_INFO[key][0])[0].strip() if key else "custom"


def _time_text(created: str, now: datetime | None = None) -> str:
    try:
        t = datetime.fromisoformat(created).astimezone()
    except (TypeError, ValueError):
        return ""
    now = (now or datetime.now(UTC)).astimezone()
    return f"{t:%H:%M}" if t.date() == now.date() else f"{t.day} {t:%b %H:%M}"


def run_title(meta: dict, now: datetime | None = None) -> str:
    """What a run is, in one line: its own name (when it has one), data, preset (or "custom"),
    accuracy and time: "digits · LeNet-5 · 98.9 % · 14:32" (server's local time; the day too
    when not today)."""
    metrics = meta.get("metrics") or {}
    acc = metrics.get("test_accuracy")
    if isinstance(acc, (int, float)):
        acc = percent_text(acc)
    else:
        val = metrics.get("val_acc")
        acc = f"validation {percent_text(val)}" if isinstance(val, (int, float)) else ""
    parts = (
        meta.get("name") or "",
        meta.get("dataset") or "",
        preset_name(meta.get("arch") or ""),
        acc,
        _time_text(meta.get("created") or "", now),
    )
    return " · ".join(str(p) for p in parts if p)


def download_stem(meta: dict, limit: int = 60) -> str:
    """A file name (without extension) for a model's files: cnnviz, data, preset or architecture
    text, shortened at a word boundary ("cnnviz-digits-conv8k3-relu", never "...-re")."""
    spec = meta.get("arch") or "net"
    net = preset_key(spec) or spec
    return file_stem(f"cnnviz {meta.get('dataset') or 'data'} {net}", limit, "-", "cnnviz-model")


# ---------------------------------------------------------------------------------------------
# on disk


def _read_capped(path: Path, cap: int, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > cap:
            raise CheckpointError(f"The {what} {path.name} is {size:,} bytes (at most {cap:,}).")
        with path.open("rb") as f:
            return f.read(cap + 1)
    except OSError as e:
        raise CheckpointError(f"The {what} {path.name} cannot be read ({e.strerror}).") from None


def save_run(folder, model: nn.Module, meta: dict, owner: str | None = None) -> Path:
    """Write <folder>/<YYYYmmdd-HHMMSS>-<name>/ with model.safetensors and meta.json; its path.
    folder None: runs_dir(). `owner`: the owner_tag recorded in meta.json. The folder appears
    complete or not at all (written, then renamed)."""
    root = Path(folder) if folder is not None else runs_dir()
    weights, text = save(model, dict(meta, owner=owner) if owner else meta)
    info = json.loads(text)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    preset = preset_key(info["arch"]) or info["arch"]
    text_name = info.get("name") or f"{info.get('dataset') or 'data'}-{preset}"
    name = file_stem(re.sub(r"[^a-z0-9]+", "-", str(text_name).lower()), 40, "-", "run")
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1000):
        final = root / (f"{stamp}-{name}" + (f"-{i}" if i > 1 else ""))
        if not final.exists():
            break
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    tmp.mkdir()
    (tmp / WEIGHTS_FILE).write_bytes(weights)
    (tmp / META_FILE).write_bytes(text)
    tmp.rename(final)
    return final


def _run_info(path: Path) -> RunInfo:
    if not (path / WEIGHTS_FILE).is_file():
        raise CheckpointError(f"{path.name} has no {WEIGHTS_FILE}.")
    meta = parse_meta(_read_capped(path / META_FILE, MAX_META_BYTES, "JSON"))
    return RunInfo(
        path=path,
        name=str(meta.get("name") or run_title(meta)),
        created=str(meta.get("created") or ""),
        dataset=str(meta.get("dataset") or ""),
        arch=meta["arch"],
        classes=tuple(meta["classes"]),
        input_shape=tuple(meta["input_shape"]),
        metrics=dict(meta.get("metrics") or {}),
        config=dict(meta.get("config") or {}),
        meta=meta,
        owner=meta.get("owner"),
        published=(path / PUBLISHED_FILE).exists(),
    )


def list_runs(folder=None) -> list[RunInfo]:
    """Saved runs, newest first; folders that are broken or not runs are skipped."""
    root = Path(folder) if folder is not None else runs_dir()
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            runs.append(_run_info(path))
        except CheckpointError:
            continue
    runs.sort(key=lambda r: (r.created, r.path.name), reverse=True)
    return runs


def load_run(path) -> tuple[nn.Module, dict]:
    """(model, meta) of a run folder, through the same guarded `load`."""
    path = Path(path)
    weights = _read_capped(path / WEIGHTS_FILE, MAX_WEIGHTS_BYTES, "weights file")
    meta = _read_capped(path / META_FILE, MAX_META_BYTES, "JSON")
    return load(weights, meta)


def run_files(path) -> tuple[bytes, bytes]:
    """The (weights, JSON) bytes of a run folder, for a download button."""
    path = Path(path)
    return (
        _read_capped(path / WEIGHTS_FILE, MAX_WEIGHTS_BYTES, "weights file"),
        _read_capped(path / META_FILE, MAX_META_BYTES, "JSON"),
    )
