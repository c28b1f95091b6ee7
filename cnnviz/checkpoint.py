"""Checkpoints: the weights as safetensors (no code inside, never a pickle) and a JSON of what
they are (architecture spec, input shape, classes, dataset, training config, metrics).

`load` trusts neither file: both sizes are capped before parsing, the JSON schema is checked,
the safetensors header is parsed here with its own caps before the library sees it, every tensor
must have the name, shape and kind `arch.build(spec)` expects, NaN/Inf are refused, and the
weights must hash to the SHA-256 the JSON records (when it records one). Each refusal is a
CheckpointError whose message is one sentence.

The runs/ folder of finished runs (who owns them, which are published) is cnnviz.runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from datetime import UTC, datetime

import safetensors.torch
import torch
from torch import nn

from cnnviz import arch

FORMAT = "cnnviz-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"

MAX_WEIGHTS_BYTES = 24 * 2**20  # arch.MAX_PARAMS float32 weights are 8 MB; float64 16 MB
MAX_META_BYTES = 2**20
MAX_HEADER_BYTES = 200_000
MAX_TENSORS = 500
MAX_CLASSES = 1000
DTYPES = {  # safetensors dtype -> (bytes per element, floating?)
    "F64": (8, True),
    "F32": (4, True),
    "F16": (2, True),
    "BF16": (2, True),
    "I64": (8, False),
    "I32": (4, False),
}


class CheckpointError(ValueError):
    """A checkpoint cnnviz will not save or load; str() is one sentence."""


# ---------------------------------------------------------------------------------------------
# strict JSON


def _no_constants(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"the key {k!r} appears twice")
        d[k] = v
    return d


def _strict_json(raw: bytes, what: str):
    try:
        text = bytes(raw).decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise CheckpointError(f"The {what} is not UTF-8 text.") from None
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"The {what} is not valid JSON ({str(e).split(':')[0]}).") from None


def _finite(obj):
    """obj with every NaN/Inf float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return _finite(obj.item())
    return obj


# ---------------------------------------------------------------------------------------------
# the JSON's schema


def _check_meta(meta) -> dict:
    if not isinstance(meta, dict):
        raise CheckpointError("The checkpoint JSON must be an object with the model's details.")
    if meta.get("format", FORMAT) != FORMAT:
        raise CheckpointError(f"The JSON is not a cnnviz checkpoint (format {meta['format']!r}).")
    version = meta.get("format_version", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"The checkpoint has format version {version!r}; this cnnviz reads up to "
            f"{FORMAT_VERSION}."
        )
    spec = meta.get("arch")
    if not isinstance(spec, str) or not spec.strip() or len(spec) > 4 * arch.MAX_TEXT:
        raise CheckpointError("The checkpoint JSON has no usable architecture text ('arch').")
    shape = meta.get("input_shape")
    if (
        not isinstance(shape, list)
        or len(shape) != 3
        or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 4096 for v in shape)
    ):
        raise CheckpointError(
            "The checkpoint JSON's input_shape must be three whole numbers [channels, height, width]."
        )
    classes = meta.get("classes")
    if (
        not isinstance(classes, list)
        or not 1 <= len(classes) <= MAX_CLASSES
        or any(not isinstance(c, str) or not c or len(c) > 200 for c in classes)
    ):
        raise CheckpointError(
            f"The checkpoint JSON's classes must be a list of 1 to {MAX_CLASSES} non-empty names."
        )
    if len(set(classes)) != len(classes):
        raise CheckpointError("The checkpoint JSON names a class twice.")
    for key, kind in (("dataset", str), ("name", str), ("config", dict), ("metrics", dict)):
        if key in meta and meta[key] is not None and not isinstance(meta[key], kind):
            raise CheckpointError(
                f"The checkpoint JSON's {key!r} must be a {'text' if kind is str else 'object'}."
            )
    owner = meta.get("owner")
    if owner is not None and (
        not isinstance(owner, str) or not re.fullmatch(r"[0-9a-f]{16}", owner)
    ):
        raise CheckpointError("The checkpoint JSON's owner is not a 16-digit hex tag.")
    sha = meta.get("weights_sha256")
    if sha is not None and (not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise CheckpointError("The checkpoint JSON's weights_sha256 is not a SHA-256 hex digest.")
    return meta


# ---------------------------------------------------------------------------------------------
# the safetensors header, parsed by hand with caps


def _parse_header(weights: bytes) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{name: (dtype, shape)} after checking the header against the file's real size."""
    n = len(weights)
    if weights[:2] == b"PK" or weights[:1] == b"\x80":
        raise CheckpointError(
            "The weights file is a PyTorch pickle (torch.save), which can run code when opened; "
            "cnnviz only reads safetensors files."
        )
    if n < 8:
        raise CheckpointError("The weights file is too short to be a safetensors file.")
    (size,) = struct.unpack("<Q", weights[:8])
    if size > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"The weights file declares a {size:,}-byte header (at most {MAX_HEADER_BYTES:,}): "
            "it is not a cnnviz safetensors file."
        )
    if 8 + size > n:
        raise CheckpointError("The weights file is cut short: its header runs past the end.")
    header = _strict_json(weights[8 : 8 + size], "weights file's header")
    if not isinstance(header, dict):
        raise CheckpointError("The weights file's header is not a safetensors table of tensors.")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise CheckpointError(
            f"The weights file lists {len(header)} tensors (at most {MAX_TENSORS})."
        )
    data_len = n - 8 - size
    spans, out = [], {}
    for name, entry in header.items():
        if (
            not isinstance(entry, dict)
            or set(entry) != {"dtype", "shape", "data_offsets"}
            or not isinstance(entry["shape"], list)
            or not isinstance(entry["data_offsets"], list)
            or len(entry["data_offsets"]) != 2
            or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 0
                for v in [*entry["shape"], *entry["data_offsets"]]
            )
        ):
            raise CheckpointError(f"The weights file's entry for {name!r} is malformed.")
        if entry["dtype"] not in DTYPES:
            raise CheckpointError(
                f"Tensor {name!r} has type {entry['dtype']!r}; cnnviz reads floats and integers."
            )
        begin, end = entry["data_offsets"]
        count = math.prod(entry["shape"])
        if end < begin or end - begin != count * DTYPES[entry["dtype"]][0]:
            raise CheckpointError(
                f"The weights file's sizes do not add up for tensor {name!r}: it was altered."
            )
        if end > data_len:
            raise CheckpointError(
                "The weights file is cut short: its tensors run past the end of the file."
            )
        spans.append((begin, end))
        out[name] = (entry["dtype"], tuple(entry["shape"]))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            raise CheckpointError(
                "The weights file's tensors overlap or leave gaps: it was altered."
            )
        pos = end
    if pos != data_len:
        raise CheckpointError(
            f"The weights file has {data_len - pos:,} bytes its header does not account for: "
            "it was altered or joined with something else."
        )
    return out


# ---------------------------------------------------------------------------------------------
# save and load


def _version() -> str:
    import cnnviz

    return cnnviz.__version__


def _expected(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items()}


def save(model: nn.Module, meta: dict) -> tuple[bytes, bytes]:
    """(safetensors bytes, JSON bytes). meta needs "arch", "input_shape" and "classes"; may hold
    "dataset", "name", "config", "metrics" and anything else JSON can carry."""
    meta = _finite(dict(meta))
    meta.setdefault("format", FORMAT)
    meta["format_version"] = FORMAT_VERSION
    if isinstance(meta.get("input_shape"), list):
        meta["input_shape"] = [int(v) for v in meta["input_shape"]]
    _check_meta(meta)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    try:
        reference = arch.build(meta["arch"], tuple(meta["input_shape"]), len(meta["classes"]))
    except ValueError as e:
        raise CheckpointError(f"The architecture cannot be rebuilt: {e}") from None
    want = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        raise CheckpointError("The model's weights do not match the architecture text it names.")
    for k, v in state.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(
                f"The weights of {k} contain NaN or infinite values (the training diverged); "
                "there is nothing worth saving."
            )
    weights = safetensors.torch.save(state, metadata={"format": "pt", "cnnviz": FORMAT})
    meta["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    meta["weights_bytes"] = len(weights)
    meta.setdefault("cnnviz_version", _version())
    meta.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    text = json.dumps(meta, indent=1, allow_nan=False, ensure_ascii=False)
    if len(text.encode()) > MAX_META_BYTES:
        raise CheckpointError("The checkpoint's JSON would be too large to load again.")
    return weights, text.encode()


def parse_meta(raw: bytes) -> dict:
    """A checkpoint JSON's bytes as a dict, through the strict parser and the schema check."""
    return _check_meta(_strict_json(raw, "checkpoint JSON"))


def load(weights: bytes, meta: bytes) -> tuple[nn.Module, dict]:
    """(model in eval mode, meta dict) from the two files' bytes; CheckpointError if either is
    oversized, malformed, tampered with, of another architecture, or holds NaN/Inf."""
    if not isinstance(weights, (bytes, bytearray, memoryview)) or not isinstance(
        meta, (bytes, bytearray, memoryview)
    ):
        raise CheckpointError("A checkpoint is read from the bytes of its two files.")
    weights, meta = bytes(weights), bytes(meta)
    if len(meta) > MAX_META_BYTES:
        raise CheckpointError(
            f"The JSON file is {len(meta):,} bytes; a cnnviz checkpoint's is under {MAX_META_BYTES:,}."
        )
    if len(weights) > MAX_WEIGHTS_BYTES:
        raise CheckpointError(
            f"The weights file is {len(weights) / 2**20:.1f} MB; cnnviz models are at most "
            f"{MAX_WEIGHTS_BYTES / 2**20:.0f} MB."
        )
    info = parse_meta(meta)
    header = _parse_header(weights)
    sha = info.get("weights_sha256")
    if sha is not None and hashlib.sha256(weights).hexdigest() != sha:
        raise CheckpointError(
            "The weights file does not match its JSON (different checksum): it was changed, or "
            "the two files come from different checkpoints."
        )
    try:
        model = arch.build(info["arch"], tuple(info["input_shape"]), len(info["classes"]))
    except ValueError as e:
        raise CheckpointError(f"The checkpoint's architecture cannot be built: {e}") from None
    expected = _expected(model)
    missing = [k for k in expected if k not in header]
    extra = [k for k in header if k not in expected]
    if missing:
        raise CheckpointError(
            f"The weights file lacks {missing[0]!r}"
            + (f" and {len(missing) - 1} more tensors" if len(missing) > 1 else "")
            + f", which the architecture {info['arch']!r} needs."
        )
    if extra:
        raise CheckpointError(
            f"The weights file has {extra[0]!r}"
            + (f" and {len(extra) - 1} more tensors" if len(extra) > 1 else "")
            + f", which the architecture {info['arch']!r} does not have."
        )
    for name, ref in expected.items():
        dtype, shape = header[name]
        if shape != tuple(ref.shape):
            raise CheckpointError(
                f"Tensor {name!r} has shape {list(shape)}, but the architecture needs "
                f"{list(ref.shape)}: the weights belong to another model."
            )
        if DTYPES[dtype][1] != ref.is_floating_point():
            raise CheckpointError(
                f"Tensor {name!r} has type {dtype}, which does not fit its layer."
            )
    try:
        tensors = safetensors.torch.load(weights)
    except Exception as e:  # noqa: BLE001 - the library's own refusal, in one sentence
        raise CheckpointError(f"The weights file could not be read ({type(e).__name__}).") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"Tensor {name!r} contains NaN or infinite values.")
    model.load_state_dict(tensors, strict=True)
    model.eval()
    return model, info
