"""The output block cache: large fresh outputs reuse the memory of dead ones."""
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import logsoftmax_c
from logsoftmax_c import _outbuf, log_softmax, softmax
from logsoftmax_c import reference as ref

BIG = (1024, 2048)  # 8 MiB of float32: from the cache
SMALL = (100, 100)  # from NumPy's allocator


@pytest.fixture
def cache():
    """A clean cache of 256 MiB for the test, the previous state afterwards."""
    old = logsoftmax_c.set_output_cache(0)
    logsoftmax_c.set_output_cache(256 << 20)
    yield
    logsoftmax_c.set_output_cache(old)


def _addr(a):
    return a.__array_interface__["data"][0]


def test_dead_output_block_is_reused(cache):
    x = np.random.default_rng(0).standard_normal(BIG).astype(np.float32)
    y = log_softmax(x)
    first = _addr(y)
    assert isinstance(y.base, _outbuf._Block)
    del y
    assert _outbuf.cache_info()[2] == 1
    y2 = log_softmax(x)
    assert _addr(y2) == first
    assert _outbuf.cache_info()[2] == 0
    np.testing.assert_allclose(y2, ref.log_softmax(x.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_live_outputs_never_share_memory(cache):
    x = np.random.default_rng(1).standard_normal(BIG).astype(np.float32)
    ys = [log_softmax(x + k) for k in range(3)]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(ys[i], ys[j])
    for k, y in enumerate(ys):  # each still holds its own result
        np.testing.assert_allclose(y, ref.log_softmax((x + k).astype(np.float64)),
                                   rtol=1e-5, atol=1e-5)


def test_a_view_keeps_the_block_alive(cache):
    x = np.random.default_rng(2).standard_normal(BIG).astype(np.float32)
    y = softmax(x)
    view = y[::3, 5:]
    expected = view.copy()
    del y
    assert _outbuf.cache_info()[2] == 0  # the view still uses the block
    z = softmax(-x)  # a new block: the view's data must survive
    assert not np.shares_memory(z, view)
    np.testing.assert_array_equal(view, expected)


def test_fortran_and_float64_outputs_keep_their_layout(cache):
    x = np.asfortranarray(np.random.default_rng(3).standard_normal((1024, 1100)))
    y = log_softmax(x, axis=0)
    assert y.flags.f_contiguous and y.dtype == np.float64
    assert isinstance(y.base, _outbuf._Block)
    np.testing.assert_allclose(y, ref.log_softmax(x, axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shift", [0, 8, 16, 48])
def test_column_outputs_start_where_the_input_does_within_a_line(cache, dtype, shift):
    """Along a non-last axis a large result starts at the input's offset within a
    cache line (the column kernels then find both aligned at the same columns); along
    the last axis, on a line.  The results are the same either way."""
    item = np.dtype(dtype).itemsize
    shape = (1024, 2048 // (item // 4))
    buf = np.empty(np.prod(shape) * item + 128, np.uint8)
    start = (-_addr(buf)) % 64 + shift
    x = buf[start:start + np.prod(shape) * item].view(dtype).reshape(shape)
    x[...] = np.random.default_rng(5).standard_normal(shape) * 4
    y0 = log_softmax(x, axis=0)
    assert isinstance(y0.base, _outbuf._Block)
    assert _addr(y0) % 64 == shift
    np.testing.assert_allclose(y0, ref.log_softmax(x.astype(np.float64), axis=0),
                               rtol=1e-5, atol=1e-5)
    y1 = softmax(x, axis=-1)
    assert _addr(y1) % 64 == 0
    np.testing.assert_allclose(y1, ref.softmax(x.astype(np.float64), axis=-1),
                               rtol=1e-5, atol=1e-6)
    xf = np.asfortranarray(x)
    if _addr(xf) % item == 0:
        yf = log_softmax(xf, axis=1)  # Fortran order: axis 0 is the contiguous one
        assert yf.flags.f_contiguous and _addr(yf) % 64 == _addr(xf) % 64


def test_outputs_from_4_mib_come_from_the_cache(cache):
    """_outbuf.MIN_BYTES: 1024x1000 float64 (7.8 MiB) for the functions and the
    gradients from the cache, 1000x1000 float32 (3.8 MiB) from NumPy."""
    assert _outbuf.MIN_BYTES == 4 << 20
    x = np.random.default_rng(3).standard_normal((1024, 1000))
    y = softmax(x)
    assert isinstance(y.base, _outbuf._Block)
    assert isinstance(logsoftmax_c.softmax_backward(x, y).base, _outbuf._Block)
    assert log_softmax(x[:1000].astype(np.float32)).base is None


def test_small_and_strided_outputs_come_from_numpy(cache):
    x = np.ones(SMALL, np.float32)
    assert log_softmax(x).base is None
    xs = np.ones((2048, 4096), np.float32)[:, ::2]
    assert log_softmax(xs).base is None


def test_cache_is_bounded_and_can_be_disabled(cache):
    x = np.zeros(BIG, np.float32)
    logsoftmax_c.set_output_cache(9 << 20)  # room for one 8 MiB block
    ys = [log_softmax(x) for _ in range(3)]
    del ys
    limit, cached, blocks = _outbuf.cache_info()
    assert limit == 9 << 20 and cached <= limit and blocks == 1
    assert logsoftmax_c.set_output_cache(0) == 9 << 20
    assert _outbuf.cache_info() == (0, 0, 0)
    y = log_softmax(x)
    assert y.base is None


def test_blocks_are_traced_while_in_use(cache):
    x = np.zeros(BIG, np.float32)
    tracemalloc.start()
    try:
        y = log_softmax(x)
        now, _ = tracemalloc.get_traced_memory()
        assert now >= y.nbytes
        del y
        after, _ = tracemalloc.get_traced_memory()
        assert after < x.nbytes // 10
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("value, expected", [("0", 0), ("64M", 64 << 20), ("1g", 1 << 30),
                                             ("123456", 123456)])
def test_environment_variable_sets_the_limit(value, expected):
    code = "from logsoftmax_c import _outbuf; print(_outbuf.cache_info()[0])"
    env = dict(os.environ, LOGSOFTMAX_C_OUTPUT_CACHE=value)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == expected


def test_environment_variable_garbage_fails_clearly():
    code = "import logsoftmax_c"
    env = dict(os.environ, LOGSOFTMAX_C_OUTPUT_CACHE="lots")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode != 0 and "LOGSOFTMAX_C_OUTPUT_CACHE" in r.stderr
