"""`wait_for`: poll a condition until it holds, for tests of trainings that run in threads and
worker processes (tests/engine/test_trainer.py, tests/pages/test_page_train.py,
tests/pages/test_train_workers.py). `tests/` is on sys.path (pyproject.toml)."""

import time

TIMEOUT = 90.0  # seconds: a small training may take this long on a loaded 2-core machine


def wait_for(cond, timeout: float = TIMEOUT, what: str = "condition", every: float = 0.005):
    """Return as soon as `cond()` is true; fail the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
