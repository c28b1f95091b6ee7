"""A machine-wide limit on concurrent trainings, shared by every app process: slot files and a
queue of ticket files in one directory, held with `fcntl.flock`.

- A training holds one of `max_running` slot files (`slot-<i>.lock`) locked while it trains.
  The OS drops a lock when its process dies, so a crashed worker frees its slot by itself.
- A waiting training holds a locked ticket file (`queue/<time_ns>-<pid>-<n>.ticket`); tickets in
  name order are the queue, first come, first served. A ticket whose lock is free belongs to a
  dead process and is removed by whoever sees it.
- A slot holder writes `slot-<i>.json` ({"left": seconds, "total": seconds, "t": time}) now and
  then, so a waiting student can be told about how long the wait is.

Every app process behind the teacher's proxy (and any other program) that uses the same
directory (CNNVIZ_STATE_DIR) shares the limit. Linux and macOS (fcntl) only.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import json
import logging
import os
import tempfile
import time
from pathlib import Path

log = logging.getLogger("cnnviz.gate")

_tickets = itertools.count()


def state_dir() -> Path:
    """Where machine-wide state lives: CNNVIZ_STATE_DIR, else <temp>/cnnviz-<uid>."""
    env = os.environ.get("CNNVIZ_STATE_DIR", "").strip()
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(env) if env else Path(tempfile.gettempdir()) / f"cnnviz-{uid}"


def default_max_running() -> int:
    """Concurrent trainings this machine carries: CNNVIZ_MAX_TRAININGS, else cores - 1 (>= 1)."""
    env = os.environ.get("CNNVIZ_MAX_TRAININGS", "").strip()
    if env:
        try:
            n = int(env)
            if n >= 1:
                return n
        except ValueError:
            pass
        log.warning("CNNVIZ_MAX_TRAININGS=%r is not a whole number >= 1; ignored", env)
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class Gate:
    """The slot and ticket files of one directory, limited to `max_running` slots.

    Gate() is the machine-wide gate (CNNVIZ_STATE_DIR and CNNVIZ_MAX_TRAININGS, read at each
    use, so a server started with other settings follows them); Gate(n) has a private new
    directory (tests, benchmarks); Gate(n, directory) shares that directory with every process
    that names it."""

    def __init__(self, max_running: int | None = None, directory: str | Path | None = None):
        self._max = None if max_running is None else max(1, int(max_running))
        if directory is None and max_running is not None:
            directory = tempfile.mkdtemp(prefix="cnnviz-gate-")
        self._dir = None if directory is None else Path(directory)

    @property
    def max_running(self) -> int:
        return self._max or default_max_running()

    @max_running.setter
    def max_running(self, n: int) -> None:
        self._max = max(1, int(n))

    @property
    def directory(self) -> Path:
        d = self._dir or state_dir() / "gate"
        (d / "queue").mkdir(parents=True, exist_ok=True)
        return d

    # ---- reading (any process) ----------------------------------------------------------------

    def _slot_path(self, i: int) -> Path:
        return self.directory / f"slot-{i}.lock"

    def free_slots(self) -> list[int]:
        """Slots nobody holds now (probed with a lock taken and given back at once)."""
        free = []
        for i in range(self.max_running):
            fd = os.open(self._slot_path(i), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if _try_lock(fd):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    free.append(i)
            finally:
                os.close(fd)
        return free

    @property
    def running(self) -> int:
        """Slots held now (by any process)."""
        return self.max_running - len(self.free_slots())

    def tickets(self) -> list[Path]:
        """Live tickets in queue order; tickets of dead processes are removed."""
        live = []
        for p in sorted((self.directory / "queue").glob("*.ticket")):
            try:
                fd = os.open(p, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                if _try_lock(fd):  # nobody holds it: its owner died
                    p.unlink(missing_ok=True)
                else:
                    live.append(p)
            finally:
                os.close(fd)
        return live

    @property
    def waiting(self) -> int:
        return len(self.tickets())

    def position(self, holder) -> int | None:
        """1 for the next to run, 2 behind it, ...; None if `holder` (a Trainer) does not wait."""
        return getattr(holder, "queue_position", None)

    def holds(self, holder) -> bool:
        """Whether `holder` (a Trainer) holds a slot now."""
        return bool(getattr(holder, "holds_slot", False))

    def wait_estimate(self, position: int) -> float | None:
        """Seconds until the trainer at `position` in the queue may start, or None when a
        running training has not said how long it needs yet. Each training ahead in the queue
        is assumed to take as long as the running ones take on average."""
        free = self.free_slots()
        lefts, totals = [0.0] * len(free), []
        now = time.time()
        for i in range(self.max_running):
            if i in free:
                continue
            try:
                info = json.loads((self.directory / f"slot-{i}.json").read_text())
                left = max(0.0, float(info["left"]) - (now - float(info["t"])))
                totals.append(float(info["total"]))
            except (OSError, ValueError, KeyError, TypeError):
                return None
            lefts.append(left)
        if not lefts:
            return None
        typical = sum(totals) / len(totals) if totals else 0.0
        heapq.heapify(lefts)
        for _ in range(position - 1):
            heapq.heappush(lefts, heapq.heappop(lefts) + typical)
        return heapq.heappop(lefts)

    # ---- holding (the worker process) ---------------------------------------------------------

    def take_ticket(self) -> Ticket:
        return Ticket(self)

    def try_slot(self, ticket: Ticket) -> Slot | None:
        """A slot for the holder of `ticket` if it is its turn and one is free, else None.
        Its turn: at most as many tickets ahead of it as there are free slots."""
        queue = self.tickets()
        try:
            place = queue.index(ticket.path)
        except ValueError:  # removed by someone who thought its owner dead: take another
            ticket.renew()
            return None
        free = self.free_slots()
        if place >= len(free):
            return None
        for i in free:
            fd = os.open(self._slot_path(i), os.O_RDWR | os.O_CREAT, 0o600)
            if _try_lock(fd):
                ticket.close()
                return Slot(self, i, fd)
            os.close(fd)
        return None


class Ticket:
    """A place in the queue, held (locked) by this process until closed."""

    def __init__(self, gate: Gate):
        self.gate = gate
        self.fd: int | None = None
        self.path: Path | None = None
        self.renew()

    def renew(self) -> None:
        self.close()
        q = self.gate.directory / "queue"
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_tickets)}.ticket"
        tmp = q / ("." + name)
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # locked before it is visible: never taken for dead
        os.rename(tmp, q / name)
        self.fd, self.path = fd, q / name

    def position(self) -> int | None:
        try:
            return self.gate.tickets().index(self.path) + 1
        except ValueError:
            return None

    def close(self) -> None:
        if self.fd is not None:
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            os.close(self.fd)
        self.fd = self.path = None


class Slot:
    """One held slot; `close()` (or the process's death) frees it."""

    def __init__(self, gate: Gate, index: int, fd: int):
        self.gate, self.index, self.fd = gate, index, fd
        self._info = gate.directory / f"slot-{index}.json"

    def publish(self, left: float | None, total: float | None) -> None:
        """Tell waiting students how long this training still needs (seconds)."""
        if left is None or total is None:
            return
        tmp = self._info.with_name(f".{self._info.name}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps({"left": left, "total": total, "t": time.time()}))
            os.replace(tmp, self._info)
        except OSError:
            pass

    def close(self) -> None:
        if self.fd is not None:
            self._info.unlink(missing_ok=True)
            os.close(self.fd)
            self.fd = None


GATE = Gate()  # the machine-wide gate every app process shares
