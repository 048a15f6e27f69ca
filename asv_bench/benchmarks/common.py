"""Inputs shared by the benchmark modules, and the timing function of the track_* figures.

asv re-runs a timed benchmark's ``setup`` before every call it times, so inputs are
built once per process and cached here.  Arrays are filled in place, never through
a temporary, so that a peakmem_* benchmark sees only the arrays it asked for.
"""
import gc
import time

import numpy as np

SEED = 1234

_cache = {}


def random_array(shape, dtype="float64", order="C"):
    """A new array of `shape`, `dtype` and memory `order` ("C" or "F"), uniform on [-8, 8).

    Logits of that spread keep every exp well inside the floating range.  Filled in
    place: no temporary of the array's size (and uniform numbers are several times
    quicker to draw than normal ones, which matters for 16M-element inputs).
    """
    a = np.empty(shape, dtype=dtype, order=order)
    rng = np.random.default_rng(SEED)
    # Generator fills C-contiguous arrays in place; a Fortran array's transpose is one
    rng.random(out=a if a.flags.c_contiguous else a.T, dtype=a.dtype)
    a *= 16
    a -= 8
    return a


def cached_random_array(shape, dtype="float64", order="C"):
    """Like `random_array`, built once per process.  Callers must not write to it."""
    key = ("random", tuple(shape), np.dtype(dtype).str, order)
    if key not in _cache:
        _cache[key] = random_array(shape, dtype, order)
    return _cache[key]


def cached_output_array(shape, dtype="float64", order="C"):
    """A scratch array to pass as ``out=``, built once per process.

    Its pages are written once here, so the benchmarks don't time first-touch page
    faults (they do when the function allocates its own result).
    """
    key = ("output", tuple(shape), np.dtype(dtype).str, order)
    if key not in _cache:
        a = np.empty(shape, dtype=dtype, order=order)
        a.fill(0)
        _cache[key] = a
    return _cache[key]


def median_times(funcs, repeat=5, sample_time=0.005):
    """Median seconds per call of each function in `funcs`, measured in turns.

    Each function is called once to warm up (thread pool, caches), then `repeat`
    rounds time every function in turn, each sample looping long enough (at least
    `sample_time`) for the clock's resolution not to matter.  Measuring the functions
    side by side in one process makes their ratio insensitive to the machine and to
    its load drifting during the run.
    """
    numbers = []
    for f in funcs:
        t0 = time.perf_counter()
        f()
        elapsed = time.perf_counter() - t0
        numbers.append(1 if elapsed >= sample_time else int(sample_time / max(elapsed, 1e-9)) + 1)
    samples = [[] for _ in funcs]
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for f, n, s in zip(funcs, numbers, samples):
                t0 = time.perf_counter()
                for _ in range(n):
                    f()
                s.append((time.perf_counter() - t0) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return [float(np.median(s)) for s in samples]


def calls_per_sample(x):
    """asv times one call per sample when a benchmark has a setup (which it re-runs
    before every call); a call of a few microseconds is too short to time steadily
    alone, so a sample of a small input adds up many calls, each timed on its own."""
    return 1 if x.size >= 65536 else 100
