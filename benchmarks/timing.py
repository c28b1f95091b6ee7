"""What every benchmark here shares: the median time of a call (imported as `from timing import
median_ms`; a script's own folder is on sys.path)."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, repeat: int) -> float:
    """Median milliseconds of `repeat` calls of `fn`, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3
