"""Checkpoints: a round trip gives identical outputs; every hostile file is refused in one
sentence (the runs/ folder: test_runs.py)."""

import hashlib
import io
import json
import struct

import pytest
import safetensors.torch
import torch

from cnnviz import arch, checkpoint
from cnnviz.checkpoint import CheckpointError

torch.set_num_threads(1)

SPEC = arch.PRESETS["lenet5"]
SHAPE = (1, 16, 16)
CLASSES = [str(d) for d in range(10)]


def make_model(spec=SPEC, shape=SHAPE, n=10, seed=0):
    torch.manual_seed(seed)
    return arch.build(spec, shape, n)


def meta(spec=SPEC, **kw):
    d = {
        "arch": spec,
        "input_shape": list(SHAPE),
        "classes": CLASSES,
        "dataset": "digits",
        "config": {"optimizer": "adam", "lr": 0.001},
        "metrics": {"val_acc": 0.95, "train_loss": 0.2},
    }
    d.update(kw)
    return d


@pytest.fixture(scope="module")
def saved():
    model = make_model()
    return model, *checkpoint.save(model, meta())


def one_sentence(msg: str) -> bool:
    return msg.endswith(".") and "\n" not in msg and "Traceback" not in msg and len(msg) < 300


def refused(weights, meta_bytes, *words):
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(weights, meta_bytes)
    msg = str(e.value)
    assert one_sentence(msg), msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg


def with_sha(meta_bytes: bytes, weights: bytes) -> bytes:
    """The JSON re-signed for these weights: an attacker can do that, so the structural checks
    must catch the problem on their own."""
    d = json.loads(meta_bytes)
    d["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    return json.dumps(d).encode()


def raw_safetensors(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


# ---- round trip


@pytest.mark.parametrize("preset", sorted(arch.PRESETS))
def test_round_trip_gives_identical_outputs(preset):
    spec = arch.PRESETS[preset]
    shape = (3, 32, 32) if preset == "keras" else SHAPE
    model = make_model(spec, shape)
    metrics = {"val_acc": 0.95, "train_loss": float("nan")}
    weights, text = checkpoint.save(model, meta(spec, input_shape=list(shape), metrics=metrics))
    loaded, info = checkpoint.load(weights, text)
    x = torch.rand(4, *shape, generator=torch.Generator().manual_seed(1))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert info["arch"] == spec and info["classes"] == CLASSES and info["dataset"] == "digits"
    assert info["metrics"]["val_acc"] == 0.95
    assert info["metrics"]["train_loss"] is None  # NaN became null: JSON has no NaN
    assert info["format"] == "cnnviz-checkpoint" and info["cnnviz_version"]
    assert not loaded.training


def test_batchnorm_running_stats_survive():
    spec = "conv4k3-bn-relu-flat-fc"
    model = make_model(spec)
    model.train()
    with torch.no_grad():
        model(torch.rand(8, *SHAPE))  # moves the running mean/var and num_batches_tracked
    loaded, _ = checkpoint.load(*checkpoint.save(model, meta(spec)))
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), k


def test_save_refuses_nan_weights_and_a_mismatched_arch():
    model = make_model()
    with torch.no_grad():
        model[0].weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        checkpoint.save(model, meta())
    with pytest.raises(CheckpointError, match="do not match"):
        checkpoint.save(make_model(), meta(arch.PRESETS["minimal"]))


def test_written_json_is_strict_json(saved):
    _, _, text = saved
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


# ---- hostile weights


def test_truncated_weights(saved):
    _, weights, text = saved
    for cut in (len(weights) - 4, len(weights) // 2, 100, 7, 0):
        w = weights[:cut]
        refused(w, with_sha(text, w))


def test_truncated_weights_without_resigning_are_cut_short(saved):
    _, weights, text = saved
    refused(weights[:-4], text, "cut short")


def test_flipped_byte_is_caught_by_the_checksum(saved):
    _, weights, text = saved
    w = bytearray(weights)
    w[-10] ^= 0x55
    refused(bytes(w), text, "checksum")


def test_header_lying_about_its_size(saved):
    _, weights, text = saved
    (size,) = struct.unpack("<Q", weights[:8])
    for lie in (size + 1000, size - 3, len(weights)):
        w = struct.pack("<Q", lie) + weights[8:]
        refused(w, with_sha(text, w))


def test_huge_declared_header(saved):
    _, weights, text = saved
    w = struct.pack("<Q", 2**62) + weights[8:]
    refused(w, with_sha(text, w), "header")


def test_tensor_sizes_that_do_not_add_up():
    t = torch.zeros(6, 1, 5, 5)
    data = t.numpy().tobytes()
    header = {"0.weight": {"dtype": "F32", "shape": [6, 1, 5, 5], "data_offsets": [0, 10]}}
    w = raw_safetensors(header, data)
    refused(w, with_sha(json.dumps(meta()).encode(), w), "altered")


def test_trailing_bytes_appended(saved):
    _, weights, text = saved
    w = weights + b"\x00" * 64
    refused(w, with_sha(text, w), "does not account")


def test_wrong_shapes():
    wrong = make_model("conv8k5p2-tanh-avg2-conv16k5-tanh-avg2-flat-fc120-tanh-fc84-tanh-fc")
    weights = safetensors.torch.save({k: v.contiguous() for k, v in wrong.state_dict().items()})
    refused(weights, json.dumps(meta()).encode(), "shape", "0.weight")


def test_missing_tensor(saved):
    model, _, text = saved
    state = {k: v for k, v in model.state_dict().items() if k != "3.bias"}
    w = safetensors.torch.save(state)
    refused(w, with_sha(text, w), "lacks", "3.bias")


def test_extra_tensor(saved):
    model, _, text = saved
    state = dict(model.state_dict(), sneaky=torch.zeros(3))
    w = safetensors.torch.save(state)
    refused(w, with_sha(text, w), "sneaky")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_weights(saved, bad):
    model, _, text = saved
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["3.weight"][0, 0, 0, 0] = bad
    w = safetensors.torch.save(state)
    refused(w, with_sha(text, w), "NaN")


def test_integer_dtype_for_a_weight(saved):
    model, _, text = saved
    state = dict(model.state_dict())
    state["0.bias"] = torch.zeros(6, dtype=torch.int64)
    w = safetensors.torch.save(state)
    refused(w, with_sha(text, w), "0.bias")


def test_unsupported_dtype(saved):
    model, _, text = saved
    state = dict(model.state_dict())
    state["0.bias"] = torch.zeros(6, dtype=torch.bool)
    w = safetensors.torch.save(state)
    refused(w, with_sha(text, w), "type")


def test_torch_pickle_renamed_safetensors(saved):
    model, _, text = saved
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    refused(buf.getvalue(), text, "pickle")
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf, _use_new_zipfile_serialization=False)
    refused(buf.getvalue(), text, "pickle")


def test_oversized_files(saved):
    _, weights, text = saved
    refused(b"\x00" * (checkpoint.MAX_WEIGHTS_BYTES + 1), text, "MB")
    refused(weights, b" " * (checkpoint.MAX_META_BYTES + 1), "bytes")


def test_float16_weights_load():
    model = make_model()
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    w = safetensors.torch.save(half)
    loaded, _ = checkpoint.load(w, json.dumps(meta()).encode())
    assert torch.equal(loaded[0].weight, model[0].weight.half().float())


# ---- hostile JSON


@pytest.mark.parametrize(
    "text, words",
    [
        (b"", ["JSON"]),
        (b"{not json", ["JSON"]),
        (b"\xff\xfe{}", ["UTF-8"]),
        (b"[1, 2]", ["object"]),
        (b'{"arch": "conv8k3-relu-max2-flat-fc", "arch": "x"}', ["JSON"]),
        (json.dumps(meta(metrics={"x": 1})).replace("1}", "NaN}").encode(), ["JSON"]),
        (json.dumps({**meta(), "arch": ""}).encode(), ["architecture"]),
        (json.dumps({**meta(), "input_shape": [1, 16]}).encode(), ["input_shape"]),
        (json.dumps({**meta(), "input_shape": [1, 16, True]}).encode(), ["input_shape"]),
        (json.dumps({**meta(), "classes": []}).encode(), ["classes"]),
        (json.dumps({**meta(), "classes": ["a", "a"]}).encode(), ["twice"]),
        (json.dumps({**meta(), "config": [1]}).encode(), ["config"]),
        (json.dumps({**meta(), "format": "other"}).encode(), ["not a cnnviz"]),
        (json.dumps({**meta(), "format_version": 99}).encode(), ["version"]),
        (json.dumps({**meta(), "weights_sha256": "abc"}).encode(), ["SHA-256"]),
        (json.dumps({**meta(), "arch": "conv8k3-nonsense"}).encode(), ["architecture"]),
        (json.dumps({**meta(), "input_shape": [1, 2, 2]}).encode(), ["architecture"]),
        (b"[" * 100_000 + b"]" * 100_000, ["JSON"]),
    ],
)
def test_bad_json_is_refused(saved, text, words):
    _, weights, _ = saved
    refused(weights, text, *words)


def test_json_naming_a_different_arch(saved):
    _, weights, text = saved
    d = json.loads(text)
    d["arch"] = arch.PRESETS["minimal"]
    refused(weights, json.dumps(d).encode(), "lacks", "architecture")
    d = json.loads(text)
    d["arch"] = "conv6k5p2-relu-avg2-conv16k5-relu-avg2-flat-fc100-relu-fc84-relu-fc"
    refused(weights, json.dumps(d).encode(), "shape", "another model")


def test_json_without_checksum_still_loads(saved):
    model, weights, text = saved
    d = json.loads(text)
    del d["weights_sha256"]
    loaded, _ = checkpoint.load(weights, json.dumps(d).encode())
    assert torch.equal(loaded[0].weight, model[0].weight)


def test_not_bytes():
    with pytest.raises(CheckpointError):
        checkpoint.load("weights", "meta")


def test_checkpoint_records_the_real_version():
    """cnnviz has a __version__ and a checkpoint records it (it used to say "0.5" always,
    because the attribute it read did not exist)."""
    import re

    import cnnviz

    assert re.fullmatch(r"\d+\.\d+\.\d+", cnnviz.__version__)
    spec = "conv4k3-relu-flat-fc"
    _, text = checkpoint.save(make_model(spec), meta(spec))
    assert json.loads(text)["cnnviz_version"] == cnnviz.__version__
