"""The weight update written out: one weight's step under SGD, momentum or Adam, with the
numbers the optimizer used, as equations a student can check by hand.

`explain_update` is pure (floats in, an `UpdateExample` out) and follows torch.optim's rules
exactly (a test compares it with `torch.optim.SGD` and `torch.optim.Adam`). `watch` and
`explain` read those floats from a live torch optimizer around its `step()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnnviz.numbers import fmt, term


@dataclass(frozen=True)
class UpdateExample:
    """One weight's update in the last step, with the real numbers the optimizer used.

    `w_new` is read from the weight after `optimizer.step()`; `formula_w_new` is the rule
    recomputed in float64 from the terms shown (agrees with `w_new` to float32 rounding)."""

    step: int
    layer: int  # index in the nn.Sequential
    param: str  # state_dict name, e.g. "0.weight"
    index: tuple[int, ...]
    optimizer: str
    lr: float
    w_old: float
    grad: float  # dL/dw from backward
    weight_decay: float
    g: float  # the gradient the optimizer uses: grad + weight_decay * w_old
    terms: (
        dict  # momentum: mu, v_old, v; adam: beta1, beta2, eps, t, m_old, v_old, m, v, m_hat, v_hat
    )
    w_new: float
    formula_w_new: float
    rule: str  # the update written out with these numbers, one equation per line


DIGITS = 7  # a float32 weight in full: the rule's numbers match torch's to the last digit


def _fmt(x: float) -> str:
    return fmt(x, DIGITS)


def _op(x: float) -> str:
    """A number as an operand: negative ones in parentheses."""
    return term(x, DIGITS)


def explain_update(
    optimizer: str,
    *,
    w_old: float,
    grad: float,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    before: dict | None = None,
    after: dict | None = None,
    w_new: float | None = None,
    step: int = 0,
    param: str = "",
    index: tuple[int, ...] = (),
) -> UpdateExample:
    """One weight's update by `optimizer` ("sgd", "momentum", "adam") written out.

    `before`: the optimizer's buffers for this weight before the step (momentum: v, absent on
    the first step; adam: m, v and t, the steps done so far; see `buffers`). `after`: the same
    after the step, as the optimizer stored them, else they are computed here in float64.
    `w_new`: the weight read after the step, else the rule's own result."""
    before, after = before or {}, after or {}
    wd = weight_decay
    g = grad + wd * w_old
    gname = "g" if wd else "dL/dw"
    lines = [
        f"g = dL/dw + weight_decay*w = {_fmt(grad)} + {wd:g}*{_op(w_old)} = {_fmt(g)}"
        if wd
        else f"dL/dw = {_fmt(grad)}"
    ]
    terms: dict = {}
    if optimizer == "adam":
        b1, b2 = betas
        t = int(before.get("t", 0)) + 1
        m_old, v_old = before.get("m", 0.0), before.get("v", 0.0)
        m = after.get("m", b1 * m_old + (1 - b1) * g)
        v = after.get("v", b2 * v_old + (1 - b2) * g * g)
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        formula = w_old - lr * m_hat / (math.sqrt(v_hat) + eps)
        terms = dict(beta1=b1, beta2=b2, eps=eps, t=t, m_old=m_old, v_old=v_old, m=m, v=v)
        terms.update(m_hat=m_hat, v_hat=v_hat)
        w_shown = formula if w_new is None else w_new
        lines += [
            f"m = beta1*m + (1-beta1)*{gname} = {b1:g}*{_op(m_old)} + {1 - b1:.3g}*{_op(g)} = {_fmt(m)}",
            f"v = beta2*v + (1-beta2)*{gname}^2 = {b2:g}*{_op(v_old)} + {1 - b2:.3g}*{_op(g)}^2 = {_fmt(v)}",
            f"m_hat = m / (1 - beta1^t) = {_fmt(m)} / (1 - {b1:g}^{t}) = {_fmt(m_hat)}",
            f"v_hat = v / (1 - beta2^t) = {_fmt(v)} / (1 - {b2:g}^{t}) = {_fmt(v_hat)}",
            f"w_new = w_old - lr * m_hat / (sqrt(v_hat) + eps) = {_fmt(w_old)} - {lr:.4g} * "
            f"{_op(m_hat)} / ({_fmt(math.sqrt(v_hat))} + {eps:g}) = {_fmt(w_shown)}",
        ]
    elif optimizer == "momentum":
        mu, v_old = momentum, before.get("v")
        v = after.get("v", g if v_old is None else mu * v_old + g)
        formula = w_old - lr * v
        terms = dict(mu=mu, v_old=v_old, v=v)
        w_shown = formula if w_new is None else w_new
        if v_old is None:
            why = "first step: the velocity starts as the gradient"
            why = "mu = 0: no velocity is kept" if mu == 0 else why
            first = f"v = {gname} = {_fmt(v)}  ({why})"
        else:
            first = f"v = mu*v + {gname} = {mu:g}*{_op(v_old)} + {_op(g)} = {_fmt(v)}"
        lines += [
            first,
            f"w_new = w_old - lr * v = {_fmt(w_old)} - {lr:.4g} * {_op(v)} = {_fmt(w_shown)}",
        ]
    else:
        formula = w_old - lr * g
        w_shown = formula if w_new is None else w_new
        lines.append(
            f"w_new = w_old - lr * {gname} = {_fmt(w_old)} - {lr:.4g} * {_op(g)} = {_fmt(w_shown)}"
        )
    head = param.split(".")[0]
    return UpdateExample(
        step=step,
        layer=int(head) if head.isdigit() else -1,
        param=param,
        index=tuple(index),
        optimizer=optimizer,
        lr=lr,
        w_old=w_old,
        grad=grad,
        weight_decay=wd,
        g=g,
        terms=terms,
        w_new=w_shown,
        formula_w_new=formula,
        rule="\n".join(lines),
    )


# ---- reading the numbers from a live torch optimizer ----------------------------------------


def buffers(optimizer, p, index: tuple[int, ...]) -> dict:
    """A torch optimizer's buffers for one weight of parameter `p`: SGD with momentum's velocity
    v, or Adam's m, v and t (steps done); {} before the first step (and for plain SGD)."""
    state = optimizer.state.get(p, {})
    if state.get("momentum_buffer") is not None:
        return {"v": state["momentum_buffer"][index].item()}
    if "exp_avg" in state:
        return {
            "m": state["exp_avg"][index].item(),
            "v": state["exp_avg_sq"][index].item(),
            "t": int(state["step"].item()),
        }
    return {}


def watch(model, optimizer, highlight: tuple[str, tuple[int, ...]] | None) -> dict | None:
    """The highlighted weight, its gradient and its optimizer buffers, read after backward and
    before `optimizer.step()`; None when nothing is highlighted."""
    if highlight is None:
        return None
    name, index = highlight
    p = model.get_parameter(name)
    return {
        "name": name,
        "index": index,
        "p": p,
        "w_old": p.detach()[index].item(),
        "grad": p.grad[index].item() if p.grad is not None else 0.0,
        "before": buffers(optimizer, p, index),
    }


def explain(watched: dict, optimizer, config, step: int, lr: float) -> UpdateExample:
    """The update of the weight `watch` saw, with the buffers and weight `optimizer.step()`
    left behind (`config`: the run's TrainConfig)."""
    p, index = watched["p"], watched["index"]
    return explain_update(
        config.optimizer,
        w_old=watched["w_old"],
        grad=watched["grad"],
        lr=lr,
        weight_decay=config.weight_decay,
        momentum=config.momentum,
        betas=optimizer.defaults.get("betas", (0.9, 0.999)),
        eps=optimizer.defaults.get("eps", 1e-8),
        before=watched["before"],
        after=buffers(optimizer, p, index),
        w_new=p.detach()[index].item(),
        step=step,
        param=watched["name"],
        index=index,
    )
