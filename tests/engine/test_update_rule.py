"""cnnviz.training.update_rule.explain_update against torch.optim: for random weights and
gradients over several steps, the weight it writes out is the one SGD, SGD with momentum and
Adam compute, to float32 precision (with and without weight decay, momentum 0 included)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from cnnviz.training.update_rule import buffers, explain_update

# (our name, torch optimizer, its hyper-parameters)
CASES = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, weight_decay=0.01)),
    ("momentum", dict(lr=0.05, momentum=0.9)),
    ("momentum", dict(lr=0.05, momentum=0.0)),
    ("momentum", dict(lr=0.01, momentum=0.5, weight_decay=0.001)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
]


def _torch_optimizer(name: str, params, hp: dict):
    if name == "adam":
        return torch.optim.Adam(params, foreach=False, **hp)
    return torch.optim.SGD(params, foreach=False, **hp)


def _close(name: str, kw: dict, theirs: float) -> bool:
    """explain_update(name, **kw) gives torch's weight to float32 precision: within float32
    rounding of the weight and of the step, once the gradient torch used (grad + weight_decay * w
    in float32: it cancels when the two are near opposites) may be a float32 ulp or two off."""
    e = 2 * float(np.spacing(np.float32(abs(kw["grad"]) + abs(kw["weight_decay"] * kw["w_old"]))))
    ours = [
        explain_update(name, **{**kw, "grad": kw["grad"] + d}).formula_w_new for d in (-e, 0, e)
    ]
    ulp = float(np.spacing(np.float32(max(abs(theirs), abs(kw["w_old"])))))
    tol = 4 * ulp + 1e-5 * abs(theirs - kw["w_old"])
    return min(ours) - tol <= theirs <= max(ours) + tol


@pytest.mark.parametrize("name, hp", CASES, ids=[f"{n}-{hp}" for n, hp in CASES])
@given(seed=st.integers(0, 2**31 - 1))
@example(seed=209865)  # g = grad + weight_decay * w cancels in float32
def test_explained_weight_is_torch_optims(name, hp, seed):
    rng = np.random.default_rng(seed)
    w = torch.nn.Parameter(torch.from_numpy(rng.normal(0, 1, 6).astype(np.float32)))
    opt = _torch_optimizer(name, [w], hp)
    for step in range(1, 5):
        grad = rng.normal(0, 10.0 ** rng.integers(-4, 1), 6).astype(np.float32)
        w.grad = torch.from_numpy(grad)
        w_old = w.detach().clone()
        before = [buffers(opt, w, (i,)) for i in range(6)]
        opt.step()
        for i in range(6):
            kw = dict(
                w_old=w_old[i].item(),
                grad=float(grad[i]),
                lr=hp["lr"],
                weight_decay=hp.get("weight_decay", 0.0),
                momentum=hp.get("momentum", 0.9),
                betas=hp.get("betas", (0.9, 0.999)),
                eps=hp.get("eps", 1e-8),
                before=before[i],
                step=step,
                param="0.weight",
                index=(i,),
            )
            u, theirs = explain_update(name, **kw), w[i].item()
            assert u.w_new == u.formula_w_new  # no observed weight given: the rule's own
            assert _close(name, kw, theirs), (step, i, u.rule, theirs)
            # the buffers too, to float32 rounding of the terms they add up
            scale = abs(u.grad) + abs(u.weight_decay * u.w_old)
            if name == "adam":
                assert u.terms["t"] == step
                m = opt.state[w]["exp_avg"][i].item()
                assert u.terms["m"] == pytest.approx(m, rel=1e-5, abs=1e-6 * scale)
            if name == "momentum" and hp["momentum"] > 0:
                buf = opt.state[w]["momentum_buffer"][i].item()
                scale += abs(hp["momentum"] * (u.terms["v_old"] or 0.0))
                assert u.terms["v"] == pytest.approx(buf, rel=1e-5, abs=1e-6 * scale)


def test_the_optimizers_own_buffers_and_weight_are_shown():
    """With `after` and `w_new` (what the live app reads), those exact numbers are shown."""
    u = explain_update(
        "adam",
        w_old=0.5,
        grad=0.2,
        lr=0.01,
        before={"m": 0.1, "v": 0.01, "t": 3},
        after={"m": 0.11, "v": 0.0101},
        w_new=0.49,
    )
    assert (u.terms["m"], u.terms["v"], u.terms["t"], u.w_new) == (0.11, 0.0101, 4, 0.49)
    assert u.terms["m_hat"] == 0.11 / (1 - 0.9**4)
    assert u.formula_w_new == pytest.approx(
        0.5 - 0.01 * u.terms["m_hat"] / (math.sqrt(u.terms["v_hat"]) + 1e-8)
    )
    assert u.rule.splitlines()[-1].endswith("= 0.49")


@pytest.mark.parametrize(
    "name, before, words",
    [
        ("sgd", {}, ["dL/dw = 0.2", "w_new = w_old - lr * dL/dw"]),
        ("momentum", {}, ["first step"]),
        ("momentum", {"v": 0.3}, ["v = mu*v + dL/dw = 0.9*0.3 + 0.2 = 0.47"]),
        ("adam", {}, ["m_hat", "sqrt(v_hat)", "(1 - 0.9^1)"]),
    ],
)
def test_rule_text(name, before, words):
    u = explain_update(name, w_old=-1.5, grad=0.2, lr=0.1, before=before, param="3.weight")
    assert u.layer == 3 and u.g == 0.2
    for w in words:
        assert w in u.rule, (w, u.rule)


def test_weight_decay_is_written_into_the_gradient():
    u = explain_update("sgd", w_old=-2.0, grad=0.5, lr=0.1, weight_decay=0.01)
    assert u.g == pytest.approx(0.5 + 0.01 * -2.0)
    assert u.rule.splitlines()[0] == "g = dL/dw + weight_decay*w = 0.5 + 0.01*(-2) = 0.48"
    assert u.formula_w_new == pytest.approx(-2.0 - 0.1 * 0.48)


def test_momentum_zero_keeps_no_velocity():
    u = explain_update("momentum", w_old=1.0, grad=0.5, lr=0.1, momentum=0.0)
    assert "mu = 0" in u.rule and u.terms["v"] == 0.5
    assert u.formula_w_new == pytest.approx(0.95)
