"""Threads (num_threads, determinism, threadpoolctl), the GIL, memory use, ISA selection."""
import concurrent.futures
import importlib.machinery
import os
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import logsoftmax_c
from logsoftmax_c import _dispatch, _entry, _threads, log_softmax, logsumexp

from conftest import ISAS, assert_ulps


def _run_python(code, **env):
    full = dict(os.environ)
    for k, v in env.items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, timeout=120)


# ---------------------------------------------------------------------------------------
# num_threads argument

@pytest.mark.parametrize("bad", [0, -1, -8])
def test_num_threads_not_positive_raises_value_error(bad):
    with pytest.raises(ValueError):
        log_softmax(np.ones(5), num_threads=bad)


@pytest.mark.parametrize("bad", [1.5, 2.0, "2", [2], np.float64(2.0)], ids=repr)
def test_num_threads_not_integer_raises_type_error(bad):
    with pytest.raises(TypeError):
        log_softmax(np.ones(5), num_threads=bad)


@pytest.mark.parametrize("k", [1, 2, 3, np.int64(2), np.int32(4)], ids=repr)
def test_num_threads_values_accepted(k, isa):
    x = np.random.default_rng(0).standard_normal((40, 1000))
    assert_ulps(log_softmax(x, num_threads=k), x, -1, k=4)


def test_thread_decision():
    """Small inputs: one thread whatever is asked; big ones: k if given, else the
    default; never more than one thread per MIN_THREAD_ELEMENTS elements."""
    small = _threads.MIN_PARALLEL_ELEMENTS - 1
    per = _threads.MIN_THREAD_ELEMENTS
    assert _threads.MIN_PARALLEL_ELEMENTS == 2 * per
    assert _threads.threads_for(None, 10) == 1
    assert _threads.threads_for(3, 10) == 1
    assert _threads.threads_for(3, small) == 1
    if not _threads.OPENMP:
        assert _threads.threads_for(3, 10**8) == 1
        return
    assert _threads.threads_for(3, small + 1) == 2
    assert _threads.threads_for(3, 3 * per - 1) == 2
    assert _threads.threads_for(3, 3 * per) == 3
    assert _threads.threads_for(1, 10**8) == 1
    assert _threads.threads_for(None, 10**8) == _threads.default_threads()
    assert _threads.threads_for(None, small + 1) == min(2, _threads.default_threads())
    assert _threads.default_threads() >= 1
    # an explicit count: at most MAX_THREADS_PER_CPU per usable CPU (or the default)
    cap = max(_threads.MAX_THREADS_PER_CPU * _threads.usable_cpus(),
              _threads.default_threads())
    assert _threads.threads_for(cap, 10**8) == cap
    for k in (cap + 1, 10**6, 2**31, 2**64):
        assert _threads.threads_for(k, 10**8) == cap
        assert _threads.threads_for(k, 5 * per) == min(cap, 5)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
@pytest.mark.skipif(not _threads.OPENMP, reason="serial build")
def test_huge_num_threads_is_capped_not_an_error():
    """num_threads far past the CPUs (or past a C int) runs on the capped count: no
    OverflowError, no thousands of threads."""
    code = (
        "import os, numpy as np, logsoftmax_c as lsc\n"
        "from logsoftmax_c import _threads\n"
        "n = lambda: len(os.listdir('/proc/self/task'))\n"
        "x = np.random.default_rng(0).standard_normal((64, 5000))\n"
        "t = np.zeros(64, dtype=np.int64)\n"
        "before = n()\n"
        "for k in (2**31, 10**6):\n"
        "    y = lsc.log_softmax(x, num_threads=k)\n"
        "    assert np.array_equal(y, lsc.log_softmax(x, num_threads=1))\n"
        "    lsc.logsumexp(x, num_threads=k); lsc.softmax(x, axis=0, num_threads=k)\n"
        "    lsc.log_softmax_backward(x, y, num_threads=k)\n"
        "    lsc.cross_entropy(x, t, return_grad=True, num_threads=k)\n"
        "cap = max(_threads.MAX_THREADS_PER_CPU * _threads.usable_cpus(),\n"
        "          _threads.default_threads())\n"
        "print(n() - before, min(cap, x.size // _threads.MIN_THREAD_ELEMENTS))\n"
    )
    r = _run_python(code, OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    started, cap = map(int, r.stdout.split())
    assert started == cap - 1, (started, cap)


def _worker_threads_code(num_threads, shape):
    return (
        "import os, numpy as np, logsoftmax_c\n"
        "n = lambda: len(os.listdir('/proc/self/task'))\n"
        f"x = np.random.default_rng(0).standard_normal({shape!r})\n"
        "before = n()\n"
        f"logsoftmax_c.log_softmax(x, num_threads={num_threads!r})\n"
        "print(n() - before)\n"
    )


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
@pytest.mark.skipif(not _threads.OPENMP, reason="serial build")
@pytest.mark.parametrize("k", [1, 2, 3])
def test_num_threads_forces_k_os_threads(k):
    """In a fresh process, a call with num_threads=k starts k - 1 OpenMP workers,
    also above OMP_NUM_THREADS and the number of CPUs."""
    r = _run_python(_worker_threads_code(k, (64, 5000)), OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == k - 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
@pytest.mark.skipif(not _threads.OPENMP, reason="serial build")
def test_num_threads_default_small_input_uses_one_thread():
    r = _run_python(_worker_threads_code(None, (10, 100)), OMP_NUM_THREADS="4")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
@pytest.mark.skipif(not _threads.OPENMP, reason="serial build")
def test_num_threads_default_honours_omp_num_threads():
    r = _run_python(_worker_threads_code(None, (64, 5000)), OMP_NUM_THREADS="2")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == 1
    r = _run_python(_worker_threads_code(None, (64, 5000)), OMP_NUM_THREADS="1")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == 0


# ---------------------------------------------------------------------------------------
# results do not depend on the number of threads

DETERMINISM_CASES = [
    ((2000, 300), -1),        # many rows
    ((7, 3000), -1),          # fewer rows than 4 x threads, several chunks each
    ((1, 300_001), -1),       # one very long row: its chunks are shared out
    ((3, 100_003), -1),
    ((5000, 37), 0),          # column mode
    ((40_000, 3), 0),
    ((3, 50_001, 4), 1),
    ((300, 400), None),
    ((60, 50, 40), (0, 2)),   # gathered slices
]


def _det_input(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    flat = x.reshape(-1)
    # special values and ties in a few places
    idx = rng.choice(flat.size, size=4, replace=False)
    flat[idx[0]] = np.nan
    flat[idx[1]] = -np.inf
    flat[idx[2]] = flat[idx[3]] = 20.0
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", DETERMINISM_CASES, ids=str)
def test_bit_identical_across_thread_counts(shape, axis, dtype, isa):
    x = _det_input(shape, dtype, seed=len(shape) * 1000 + shape[-1])
    y1 = log_softmax(x, axis=axis, num_threads=1)
    for nt in (2, 3, None):
        y = log_softmax(x, axis=axis, num_threads=nt)
        assert np.array_equal(y, y1, equal_nan=True), f"num_threads={nt} differs from 1"
    # the rows/columns without the NaN are correct, the NaN slice is all NaN
    assert np.isnan(y1).any()
    clean = np.where(np.isnan(x), 0, x)
    assert_ulps(log_softmax(clean, axis=axis, num_threads=2), clean, axis, k=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", ["F", "reversed", "strided"])
def test_bit_identical_across_thread_counts_other_layouts(dtype, layout, isa):
    x = _det_input((400, 1201), dtype, seed=3)  # strided: 200 x 401, still threaded
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "reversed":
        x = x[::-1, ::-1]
    else:
        x = x[::2, ::3]
    for axis in (0, 1):
        y1 = log_softmax(x, axis=axis, num_threads=1)
        y2 = log_softmax(x, axis=axis, num_threads=2)
        assert np.array_equal(y1, y2, equal_nan=True), axis


@pytest.mark.parametrize("num_threads", [1, 2])
def test_flush_to_zero_is_left_as_it_was(num_threads, isa):
    """The kernels run with flush-to-zero (no subnormal result costs an assist) and
    give each thread back as they found it: afterwards a subnormal product in NumPy is
    still subnormal on the calling thread, and no OpenMP thread, seen from a plain
    parallel region, has it set.  Every kind of call: rows, columns, long rows, small
    calls, the gradients, the losses, float16."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((300, 257)) * 64).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y = log_softmax(x)
    p = logsoftmax_c.softmax(x)
    long_row = (rng.standard_normal((2, 20000)) * 64).astype(np.float32)
    target = rng.integers(0, x.shape[1], x.shape[0])
    calls = [
        lambda: log_softmax(x, num_threads=num_threads),
        lambda: logsoftmax_c.softmax(x, axis=0, num_threads=num_threads),
        lambda: logsoftmax_c.logsumexp(long_row, axis=1, num_threads=num_threads),
        lambda: log_softmax(x[:4, :10]),
        lambda: logsoftmax_c.log_softmax_backward(g, y, num_threads=num_threads),
        lambda: logsoftmax_c.softmax_backward(g, p, axis=0, num_threads=num_threads),
        lambda: logsoftmax_c.cross_entropy(x, target, num_threads=num_threads),
        lambda: log_softmax(x.astype(np.float16), axis=0, num_threads=num_threads),
    ]
    tiny = np.float32(np.finfo(np.float32).tiny)
    for i, call in enumerate(calls):
        call()
        assert tiny * np.float32(0.25) > 0, f"call {i}: the calling thread flushes"
        on = _dispatch.kernels.threads_flush_to_zero(2)
        assert not any(on), f"call {i}: OpenMP threads left flushing: {on}"


@pytest.mark.parametrize("nt", [1, 2])
def test_rows_from_memory_have_the_bits_of_the_same_rows_alone(nt):
    """Inputs of LONG_ROWS_PREFETCH_BYTES and more fetch their rows ahead differently
    (into L2): every function's rows keep the bits that the same row gives alone."""
    rows, n = 1025, 32768  # float32: 128 MiB and a row
    x = np.random.default_rng(11).standard_normal((rows, n), dtype=np.float32)
    x *= 4
    assert x.nbytes >= 1 << 27
    t = np.zeros(rows, dtype=np.int64)
    picks = [0, 517, rows - 1]
    lse = logsumexp(x, axis=-1, num_threads=nt)
    ce = logsoftmax_c.cross_entropy(x, t, reduction="none", num_threads=nt)
    for r in picks:
        alone = x[r:r + 1].copy()
        assert lse[r] == logsumexp(alone, axis=-1)[0], r
        assert ce[r] == logsoftmax_c.cross_entropy(alone, t[:1], reduction="none")[0], r
    _, grad = logsoftmax_c.cross_entropy(x, t, reduction="none", return_grad=True,
                                         num_threads=nt)
    for r in picks:
        _, alone = logsoftmax_c.cross_entropy(x[r:r + 1].copy(), t[:1], reduction="none",
                                              return_grad=True)
        assert np.array_equal(grad[r], alone[0]), ("cross_entropy's gradient", r)
    del grad
    for f in (log_softmax, logsoftmax_c.softmax):
        y = f(x, axis=-1, num_threads=nt)
        for r in picks:
            assert np.array_equal(y[r], f(x[r:r + 1].copy(), axis=-1)[0]), (f.__name__, r)
        del y


def test_threadpoolctl_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = _det_input((3, 100_003), np.float64, seed=4)
    reference = log_softmax(x, num_threads=1)
    with threadpoolctl.threadpool_limits(1):
        assert _threads.default_threads() == 1
        y = log_softmax(x)
    assert np.array_equal(y, reference, equal_nan=True)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        y = log_softmax(x, num_threads=2)
    assert np.array_equal(y, reference, equal_nan=True)


# ---------------------------------------------------------------------------------------
# the GIL

def test_concurrent_calls_from_python_threads(isa):
    rng = np.random.default_rng(5)
    cases = [
        (rng.standard_normal((500, 401)), -1, None),
        (rng.standard_normal((3, 100_003)).astype(np.float32), -1, 2),
        (rng.standard_normal((20_000, 7)), 0, None),
        (np.asfortranarray(rng.standard_normal((300, 300)).astype(np.float32)), 1, 1),
        (rng.integers(-5, 5, (200, 300)), None, None),
        (rng.standard_normal((40, 50, 30)), (0, 2), 2),
        (rng.standard_normal((64, 1000)) * 50, 1, 3),
        (rng.standard_normal(50), -1, None),
    ]
    expected = [log_softmax(x, axis=a, num_threads=1) for x, a, _ in cases]

    def run(i):
        x, a, nt = cases[i % len(cases)]
        return i, log_softmax(x, axis=a, num_threads=nt)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(8 * len(cases))))
    for i, y in results:
        x, a, _ = cases[i % len(cases)]
        assert np.array_equal(y, expected[i % len(cases)]), (i, x.shape, a)
        assert_ulps(y, x, a, k=4)


def test_concurrent_column_calls_share_the_scratch_pool(isa):
    """The column bands' packed copies come from a pool of blocks kept between calls.

    Eight Python threads, each with two OpenMP threads, take blocks of different sizes
    (rows a multiple of 1 KiB apart, and strided columns, are packed; the copies' size
    grows with the column length) from a pool of four slots, in an order that varies:
    a block too small for its call, or one handed to two callers at once, would give
    wrong results.
    """
    rng = np.random.default_rng(8)
    cases = [
        rng.standard_normal((3000, 256)).astype(np.float32),
        rng.standard_normal((40, 1024)),
        rng.standard_normal((700, 768)).astype(np.float32),
        rng.standard_normal((5000, 512)).astype(np.float32),
        rng.standard_normal((900, 300))[:, ::3],
        rng.standard_normal((64, 2048)).astype(np.float32)[:, ::2],
    ]
    expected = [log_softmax(x, axis=0, num_threads=1) for x in cases]

    def run(i):
        return i, log_softmax(cases[i % len(cases)], axis=0, num_threads=2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(6 * len(cases))))
    for i, y in results:
        x = cases[i % len(cases)]
        assert np.array_equal(y, expected[i % len(cases)]), (i, x.shape, x.strides)
        assert_ulps(y, x, 0, k=4)


def test_concurrent_in_place_calls_on_distinct_arrays(isa):
    rng = np.random.default_rng(6)
    xs = [rng.standard_normal((200, 1000)) for _ in range(4)]
    originals = [x.copy() for x in xs]

    def run(i):
        for _ in range(3):
            log_softmax(xs[i], out=xs[i])  # log_softmax is idempotent: stays correct
        return i

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(run, range(4)))
    for x, x0 in zip(xs, originals):
        assert_ulps(x, x0, -1, k=8)


def test_gil_released_during_the_call():
    """Other Python threads run while a call is in progress.

    A worker thread makes long single-threaded calls; the main thread counts how
    often it gets to run while the worker is inside a call.  With the GIL held for
    the call, that count would stay near zero.
    """
    x = np.random.default_rng(7).standard_normal((4, 2_000_000))
    in_call = threading.Event()
    done = threading.Event()

    def worker():
        for _ in range(3):
            in_call.set()
            log_softmax(x, num_threads=1)
            in_call.clear()
        done.set()

    th = threading.Thread(target=worker)
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    ticks_in_call = 0
    try:
        th.start()
        while not done.is_set():
            if in_call.is_set():
                ticks_in_call += 1
        th.join()
    finally:
        sys.setswitchinterval(old)
    assert ticks_in_call > 1000, f"main thread ran only {ticks_in_call} times during the calls"


# ---------------------------------------------------------------------------------------
# memory: apart from the output, O(threads x row)

def _peak_during(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def _mem_input(layout):
    rng = np.random.default_rng(8)
    if layout == "C":
        return rng.standard_normal((2000, 2000))
    if layout == "F":
        return np.asfortranarray(rng.standard_normal((2000, 2000)))
    if layout == "transposed":
        return rng.standard_normal((2000, 2000)).T
    if layout == "strided cols":
        return rng.standard_normal((2000, 4000))[:, ::2]
    if layout == "strided rows":
        return rng.standard_normal((4000, 2000))[::2]
    if layout == "reversed":
        return rng.standard_normal((2000, 2000))[::-1, ::-1]
    raise ValueError(layout)


MEM_LAYOUTS = ["C", "F", "transposed", "strided cols", "strided rows", "reversed"]


def test_tracemalloc_sees_numpy_allocations():
    """The memory tests rely on NumPy reporting its buffers to tracemalloc."""
    _, peak = _peak_during(lambda: np.ones((2000, 2000)).sum())
    assert peak >= 2000 * 2000 * 8


@pytest.mark.parametrize("layout", MEM_LAYOUTS)
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("num_threads", [1, 2, None], ids=str)
def test_no_input_sized_temporaries(layout, axis, num_threads):
    x = _mem_input(layout)
    assert x.shape == (2000, 2000) and x.dtype == np.float64
    y, peak = _peak_during(lambda: log_softmax(x, axis=axis, num_threads=num_threads))
    extra = peak - y.nbytes
    assert extra < 0.1 * x.nbytes, f"{extra / 2**20:.1f} MiB extra for a {x.nbytes / 2**20:.0f} MiB input"
    s = np.exp(y).sum(axis=axis)
    np.testing.assert_allclose(s, 1.0, rtol=1e-12)


@pytest.mark.parametrize("layout", MEM_LAYOUTS)
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("out_layout", ["C", "F", "in place"])
def test_no_temporaries_with_out(layout, axis, out_layout):
    x = _mem_input(layout)
    if out_layout == "in place":
        out = x
        x0 = x.copy()
    else:
        out = np.empty((2000, 2000), order=out_layout[0])
        x0 = x
    y, peak = _peak_during(lambda: log_softmax(x, axis=axis, out=out))
    assert y is out
    assert peak < 0.1 * x.nbytes, f"{peak / 2**20:.1f} MiB traced"
    np.testing.assert_allclose(np.exp(out).sum(axis=axis), 1.0, rtol=1e-12)
    assert_ulps(out[:, :50] if axis == 0 else out[:50], x0[:, :50] if axis == 0 else x0[:50],
                axis, k=4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_no_temporaries_float32_and_many_threads(dtype):
    x = np.random.default_rng(9).standard_normal((1000, 4000)).astype(dtype)
    for axis in (0, 1):
        for nt in (1, 4):
            y, peak = _peak_during(lambda: log_softmax(x, axis=axis, num_threads=nt))
            assert peak - y.nbytes < 0.1 * x.nbytes, (axis, nt)


# The kernels' scratch (malloc / aligned_alloc in C) is invisible to tracemalloc: the
# peak resident memory of a fresh process sees it.  x (3000, 4096) float32 is 47 MiB;
# the README allows O(threads x row) scratch, band buffers kept for the next call of
# about 16 MiB at most (four threads' worth), so with two threads the peak may grow by
# that bound plus a margin, while a temporary the size of x would add 47 MiB.
_PEAK_CODE = r"""
import numpy as np
import logsoftmax_c as lsc


def status():
    with open("/proc/self/status") as f:
        d = dict(line.split(":", 1) for line in f if line.startswith(("VmHWM", "VmRSS")))
    return {k: int(v.split()[0]) * 1024 for k, v in d.items()}


rng = np.random.default_rng(17)
x = np.empty((3000, 4096), np.float32)
rng.standard_normal(out=x, dtype=np.float32)   # no float64 temporary
x *= 4
out = np.full_like(x, 7)
x16 = x.astype(np.float16)
out16 = np.full_like(x16, 7)
lse0 = np.full(4096, 7, np.float32)
lse1 = np.full(3000, 7, np.float32)
try:  # the peak back to the current RSS (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status()
for nt in (1, 2):
    for axis in (0, -1):
        lsc.log_softmax(x, axis=axis, out=out, num_threads=nt)
        lsc.softmax(x, axis=axis, out=out, num_threads=nt)
    lsc.logsumexp(x, axis=0, out=lse0, num_threads=nt)
    lsc.logsumexp(x, axis=-1, out=lse1, num_threads=nt)
    lsc.log_softmax(x16, axis=-1, out=out16, num_threads=nt)
    lsc.softmax(x16, axis=-1, out=out16, num_threads=nt)
    lsc.logsumexp(x16, axis=-1, num_threads=nt)
lsc.log_softmax(x, axis=0, out=out, num_threads=2)
after = status()
print(after["VmHWM"] - before["VmRSS"], before["VmHWM"] - before["VmRSS"], x.nbytes)
# the calls did their work (float64 NumPy on a few slices)
x64 = x[:, :5].astype(np.float64)
m = x64.max(axis=0)
lse = m + np.log(np.exp(x64 - m).sum(axis=0))
assert np.allclose(out[:, :5], x64 - lse, rtol=0, atol=1e-5), "log_softmax axis 0"
assert np.allclose(lse0[:5], lse, rtol=1e-6, atol=0), "logsumexp axis 0"
r64 = x[:5].astype(np.float64)
m = r64.max(axis=1, keepdims=True)
lse = (m + np.log(np.exp(r64 - m).sum(axis=1, keepdims=True)))[:, 0]
assert np.allclose(lse1[:5], lse, rtol=1e-6, atol=0), "logsumexp axis -1"
p16 = x16[:5].astype(np.float64)
p16 = np.exp(p16 - p16.max(axis=1, keepdims=True))
p16 /= p16.sum(axis=1, keepdims=True)
assert np.allclose(out16[:5], p16, rtol=2e-3, atol=1e-7), "float16 softmax"
"""


@pytest.mark.skipif(not sys.platform.startswith("linux")
                    or not os.path.exists("/proc/self/status"),
                    reason="reads VmHWM / VmRSS from /proc/self/status (Linux)")
def test_peak_memory_of_large_calls_with_out_is_not_input_sized():
    """log_softmax and softmax along axes 0 and -1, logsumexp along both, on 1 and 2
    threads, into preallocated outputs, and float16 log_softmax and softmax (through
    a float32 buffer of blocks): the process's peak resident memory grows by the
    kernels' scratch only (seen by the system, not by tracemalloc)."""
    r = _run_python(_PEAK_CODE)
    assert r.returncode == 0, r.stderr
    growth, headroom, nbytes = map(int, r.stdout.split())
    assert nbytes == 3000 * 4096 * 4
    # the measure could see a temporary: the peak was not already above the current RSS
    assert headroom < 4 << 20, f"peak {headroom / 2**20:.1f} MiB above RSS before the calls"
    # the README's ~16 MiB of kept band buffers, a margin, and float16's float32 block
    # buffer (4 MiB a thread); a float32 copy of x or of x16 would add 47 MiB
    bound = 28 << 20
    assert growth < bound, (f"peak grew by {growth / 2**20:.1f} MiB for a "
                            f"{nbytes / 2**20:.0f} MiB input (allowed {bound / 2**20:.0f})")


@pytest.mark.parametrize("bad,error", [
    (-1, ValueError), (np.int64(-(1 << 40)), ValueError),
    (1.5, TypeError), ("x", TypeError), ("1024", TypeError), (1.5j, TypeError),
    (None, TypeError),
], ids=["-1", "-2**40", "1.5", "x", "str 1024", "1.5j", "None"])
def test_set_output_cache_refuses_bad_values_with_the_right_error(bad, error):
    """A negative size is a ValueError, anything but an integer a TypeError (as
    operator.index); the limit is left as it was."""
    start = logsoftmax_c.set_output_cache(3 << 20)
    try:
        with pytest.raises(error):
            logsoftmax_c.set_output_cache(bad)
        assert logsoftmax_c.set_output_cache(5 << 20) == 3 << 20
    finally:
        logsoftmax_c.set_output_cache(start)


# ---------------------------------------------------------------------------------------
# kernel builds

def test_available_isas():
    assert ISAS[0] == "baseline"
    assert set(ISAS) <= set(_dispatch.LEVELS)
    assert _dispatch.current_isa() in ISAS


def test_set_isa_returns_previous_and_rejects_unknown():
    start = _dispatch.current_isa()
    try:
        for name in ISAS:
            prev = _dispatch.current_isa()
            assert _dispatch.set_isa(name) == prev
            assert _dispatch.current_isa() == name
            # the compiled public functions' direct calls follow the switch
            assert _entry.kernels_in_use() is _dispatch.kernels.DIRECT_CALL
        with pytest.raises(ValueError):
            _dispatch.set_isa("sse9")
        assert _dispatch.current_isa() == ISAS[-1]
    finally:
        _dispatch.set_isa(start)


def test_default_isa_is_best_available():
    r = _run_python("from logsoftmax_c import _dispatch; print(_dispatch.current_isa())",
                    LOGSOFTMAX_C_ISA=None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ISAS[-1]


@pytest.mark.parametrize("name", ISAS)
def test_isa_environment_variable_selects_build(name):
    code = ("import numpy as np, logsoftmax_c\n"
            "from logsoftmax_c import _dispatch\n"
            "y = logsoftmax_c.log_softmax(np.array([0.0, 0.0]))\n"
            "assert np.allclose(y, -np.log(2)), y\n"
            "print(_dispatch.current_isa())\n")
    r = _run_python(code, LOGSOFTMAX_C_ISA=name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == name


def test_isa_environment_variable_baseline():
    r = _run_python("from logsoftmax_c import _dispatch; print(_dispatch.current_isa())",
                    LOGSOFTMAX_C_ISA="baseline")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "baseline"


@pytest.mark.parametrize("value", ["sse9", "avx1024", "native"])
def test_isa_environment_variable_unknown_fails_import(value):
    r = _run_python("import logsoftmax_c", LOGSOFTMAX_C_ISA=value)
    assert r.returncode != 0
    assert "ImportError" in r.stderr
    assert "LOGSOFTMAX_C_ISA" in r.stderr and value in r.stderr


# ISA detection, checked against NumPy's own CPU feature detection and the files
# installed: not the library against itself

KNOWN_LEVELS = ("baseline", "avx2", "avx512")


def _numpy_cpu_features():
    try:  # NumPy >= 2.0
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return __cpu_features__


def _expected_isas():
    """The levels whose build is installed and that the CPU runs by NumPy's detection:
    avx2 is x86-64-v3 (the build's -march): AVX2, FMA3, BMI2; avx512 is x86-64-v4:
    that and AVX512F, BW, DQ, VL (what _kernels' lsc_cpu_level asks)."""
    f = _numpy_cpu_features()
    v3 = all(f.get(k, False) for k in ("AVX2", "FMA3", "BMI2"))
    v4 = v3 and all(f.get(k, False)
                    for k in ("AVX512F", "AVX512BW", "AVX512DQ", "AVX512VL"))
    runs = {"baseline": True, "avx2": v3, "avx512": v4}
    pkg = os.path.dirname(_dispatch.__file__)
    built = {name for name in KNOWN_LEVELS
             if any(os.path.isfile(os.path.join(pkg, f"_kernels_{name}{suffix}"))
                    for suffix in importlib.machinery.EXTENSION_SUFFIXES)}
    return tuple(name for name in KNOWN_LEVELS if runs[name] and name in built)


def test_available_isas_match_numpy_cpu_detection_and_installed_builds():
    assert _dispatch.LEVELS == KNOWN_LEVELS
    expected = _expected_isas()
    assert expected[0] == "baseline"
    assert _dispatch.available_isas() == expected


_UNRUNNABLE = [name for name in KNOWN_LEVELS if name not in _expected_isas()]


@pytest.mark.parametrize("level", _UNRUNNABLE or [pytest.param(
    None, marks=pytest.mark.skip(reason="this machine runs every known level"))])
def test_isa_this_machine_cannot_run_is_refused(level):
    """LOGSOFTMAX_C_ISA=<a level the CPU cannot run, or not built> fails the import with
    an ImportError that says what the machine offers (not SIGILL in the kernels), and
    set_isa refuses it with a ValueError."""
    expected = _expected_isas()
    code = ("import numpy as np, logsoftmax_c\n"
            "y = logsoftmax_c.log_softmax(np.ones((300, 300), np.float32), axis=0)\n"
            "print(y.sum())\n")
    r = _run_python(code, LOGSOFTMAX_C_ISA=level)
    assert r.returncode == 1, f"exit status {r.returncode} (negative: a signal)\n{r.stderr}"
    assert "ImportError" in r.stderr, r.stderr
    assert (f"LOGSOFTMAX_C_ISA={level!r}: this build or CPU offers only "
            f"{', '.join(expected)}") in r.stderr, r.stderr
    start = _dispatch.current_isa()
    with pytest.raises(ValueError, match=level):
        _dispatch.set_isa(level)
    assert _dispatch.current_isa() == start
    assert _entry.kernels_in_use() is _dispatch.kernels.DIRECT_CALL
