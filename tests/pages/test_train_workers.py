"""Trainings run in worker processes: pause and stop act within one batch, the machine-wide gate
is shared by separate Python processes (the queue knows its place), a worker killed mid-run is
reported while the app-side Trainer stays usable, and worker processes end with their training.
Real processes throughout: the test process plays the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from waiting import wait_for

from cnnviz import checkpoint, data
from cnnviz.training import TrainConfig, Trainer
from cnnviz.training.gate import Gate

ROOT = Path(__file__).resolve().parents[2]
SMALL = "conv4k3-relu-max2-flat-fc"
# a wide net on 16x16 digits in batches of 256: each batch takes tens of milliseconds, so the
# app's view of the step count is never more than the batch in flight behind the worker
SLOW = "conv32k3p1-relu-conv32k3p1-relu-max2-flat-fc"


@pytest.fixture(scope="module")
def digits():
    return data.builtin("digits")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) is not alive either
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_pause_and_stop_take_effect_within_one_batch(digits):
    t = Trainer(digits, SLOW, TrainConfig(epochs=100, batch_size=256), gate=Gate(1))
    t.start()
    for _ in range(3):
        wait_for(lambda: t.status == "running", what="running")
        seen = t.progress().step
        wait_for(lambda s=seen: t.progress().step >= s + 2, what="two more batches")
        seen = t.progress().step  # what the app knows when the student clicks
        t.pause()
        wait_for(lambda: t.status == "paused", what="paused")
        paused_at = t.progress().step
        assert paused_at - seen <= 1, (seen, paused_at)  # at most the batch in flight
        time.sleep(0.3)
        assert t.progress().step == paused_at  # and it stays paused
        t.resume()
    wait_for(lambda: t.progress().step >= paused_at + 2, what="running again")
    seen = t.progress().step
    t.stop()
    assert t.join(30)
    assert t.status == "stopped" and t.progress().step - seen <= 1
    # the weights the app holds are those of the last batch trained
    assert t.snapshot().step == t.progress().step == t.meta()["metrics"]["steps"]


def test_a_step_trains_one_batch_and_its_weights_reach_the_app(digits):
    t = Trainer(digits, SMALL, TrainConfig(epochs=5, batch_size=64), gate=Gate(1))
    w0 = t.model.get_parameter("0.weight").detach().clone()
    t.step_batch()
    wait_for(lambda: t.snapshot() is not None and t.snapshot().step == 1, what="one step")
    assert t.status == "paused" and len(t.batch_history()) == 1
    assert not torch.equal(t.model.get_parameter("0.weight"), w0)
    u = t.snapshot().update
    assert u.w_new == t.model.get_parameter(u.param)[u.index].item()
    t.stop()
    assert t.join(30) and t.status == "stopped"


TWIN = """
import sys, time
from cnnviz import data
from cnnviz.training.gate import Gate
from cnnviz.training import Trainer, TrainConfig

gate = Gate(1, sys.argv[1])
ds = data.builtin("digits").subset(200, seed=0)
t = Trainer(ds, "conv4k3-relu-max2-flat-fc", TrainConfig(epochs=1000, batch_size=8), gate=gate)
t.start()
end = time.monotonic() + 240
while t.queue_position is None and time.monotonic() < end:
    time.sleep(0.02)
print("QUEUED", t.status, t.queue_position, t.progress().step, flush=True)
while (t.queue_wait_s is None and t.status == "waiting") and time.monotonic() < end:
    time.sleep(0.02)
print("WAIT", t.queue_wait_s, flush=True)
while t.status != "running" and time.monotonic() < end:
    time.sleep(0.02)
print("RUNNING", t.status, flush=True)
t.stop()
t.join(30)
print("END", t.status, flush=True)
"""


def read_line(proc: subprocess.Popen, prefix: str) -> list[str]:
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.split()
    raise AssertionError(f"the other process ended before {prefix}: {proc.stderr.read()}")


def test_two_python_processes_share_one_slot_and_one_queue(digits, tmp_path):
    """Two app processes (this one and a child) with a machine-wide limit of 1: the second
    training waits as number 1 in the queue, is told about how long, and runs once the first
    stops."""
    gate = Gate(1, tmp_path)
    a = Trainer(
        digits.subset(200, seed=0), SMALL, TrainConfig(epochs=1000, batch_size=8), gate=gate
    )
    a.start()
    wait_for(lambda: a.status == "running" and a.progress().step > 0, what="a running")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    other = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(TWIN), str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, status, position, step = read_line(other, "QUEUED")
        assert (status, position, step) == ("waiting", "1", "0")
        assert gate.running == 1 and gate.waiting == 1 and a.status == "running"
        wait = read_line(other, "WAIT")[1]
        assert float(wait) >= 0  # the first training told the queue how long it needs
        a.stop()
        assert a.join(30)
        assert read_line(other, "RUNNING")[1] == "running"
        assert read_line(other, "END")[1] == "stopped"
        assert other.wait(30) == 0
    finally:
        other.kill()
        a.stop()
    assert gate.running == 0 and gate.waiting == 0


def test_a_killed_worker_is_reported_and_what_it_learned_stays(digits, tmp_path):
    gate = Gate(1)
    ds = digits.subset(400, seed=0)
    t = Trainer(ds, SMALL, TrainConfig(epochs=1000, batch_size=16, lr=3e-3), gate=gate)
    w0 = t.model.get_parameter("0.weight").detach().clone()
    t.start()
    wait_for(lambda: t.snapshot() is not None and t.snapshot().step > 20, what="some snapshots")
    pid = t.worker_pid
    # trainings yield the CPU to the web server's page runs
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
    os.kill(pid, signal.SIGKILL)
    assert t.join(30)
    assert t.status == "failed" and t.done
    assert t.error.startswith("The training process stopped unexpectedly")
    assert "\n" not in t.error and "Traceback" not in t.error
    # what it learned up to its last snapshot is kept, and everything still works here
    step = t.meta()["metrics"]["steps"]
    assert step == t.snapshot().step > 20 and f"step {step}" in t.error
    assert not torch.equal(t.model.get_parameter("0.weight"), w0)
    assert t.evaluate().n == len(ds.y_test)
    model, meta = checkpoint.load(*checkpoint.save(t.model, t.meta()))
    assert meta["status"] == "failed"
    t.set_probe(ds.x_test[3])
    assert np.array_equal(t.snapshot().probe, ds.x_test[3])  # taken here, from those weights
    t.pause(), t.resume(), t.step_batch(), t.stop()  # controls of a dead run do nothing
    assert t.status == "failed"
    # the OS freed its slot: the next training runs
    assert gate.running == 0
    nxt = Trainer(ds, SMALL, TrainConfig(epochs=1), gate=gate)
    nxt.start()
    assert nxt.join(60) and nxt.status == "finished"


def test_worker_processes_end_with_their_training(digits):
    t = Trainer(digits.subset(200, seed=0), SMALL, TrainConfig(epochs=1), gate=Gate(1))
    t.start()
    wait_for(lambda: t.worker_pid is not None, what="a worker")
    pid = t.worker_pid
    assert pid != os.getpid()
    assert t.join(60) and t.status == "finished"
    assert not alive(pid)  # its memory went back to the system
    assert t._data is None  # nor does the app keep the arrays it sent


def test_a_ticket_of_a_dead_process_leaves_the_queue(tmp_path):
    gate = Gate(1, tmp_path)
    code = "import sys, time; from cnnviz.training.gate import Gate; t = Gate(1, sys.argv[1]).take_ticket()"
    code += "; print('HELD', flush=True); time.sleep(600)"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "HELD"
        assert gate.waiting == 1
        mine = gate.take_ticket()
        assert mine.position() == 2 and gate.try_slot(mine) is None  # not its turn
    finally:
        holder.kill()
        holder.wait()
    assert gate.waiting == 1 and mine.position() == 1  # the dead one's ticket is gone
    slot = gate.try_slot(mine)
    assert slot is not None and gate.running == 1 and gate.waiting == 0
    slot.close()
    assert gate.running == 0


def test_a_worker_starts_whatever_main_module_ran_before(digits):
    """Streamlit (and AppTest) install the page script as `__main__`; a worker must not run it
    again (under AppTest it is a temporary file that fails alone, which killed every training
    started later in the same test process)."""
    from streamlit.testing.v1 import AppTest

    def editor_app():
        import streamlit as st

        st.write("hello")

    at = AppTest.from_function(editor_app)
    at.run(timeout=30)
    assert not at.exception
    t = Trainer(digits.subset(200, seed=0), SMALL, TrainConfig(epochs=1), gate=Gate(1))
    t.start()
    assert t.join(60) and t.status == "finished", t.status
