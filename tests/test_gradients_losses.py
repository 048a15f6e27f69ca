"""Gradients, losses and nodes: against the reference twins, PyTorch (when installed)
and finite differences in float64."""
import tracemalloc

import numpy as np
import pytest

import logsoftmax_c as lsc
from logsoftmax_c import (CrossEntropyLoss, LogSoftmax, NLLLoss, Softmax, cross_entropy,
                          log_softmax, log_softmax_backward, nll_loss, reference, softmax,
                          softmax_backward)

from conftest import FLOAT_DTYPES, LAYOUTS, arrays, axes_for, make_layout, result_dtype, shape_id

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # PyTorch is an optional test dependency
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RTOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}


def _t(a):
    return torch.from_numpy(np.array(a, order="C"))  # 0-d stays 0-d


# ---------------------------------------------------------------------------------------
# backward of log_softmax and softmax

GRAD_SHAPES = [(7,), (3, 4), (4, 3, 5), (2, 2049), (1000, 17), (17, 1000)]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_backward_matches_twins_over_the_generator(dtype, no_warnings, isa):
    failures = []
    rng = np.random.default_rng(0)
    for x, axis, label in arrays(shapes=GRAD_SHAPES, dtypes=(dtype,)):
        if axis == () or x.size == 0:
            continue
        dt = result_dtype(x.dtype)  # the large shapes come in their own dtypes
        g = rng.standard_normal(x.shape).astype(dt)
        for fwd, bwd, twin in ((log_softmax, log_softmax_backward,
                                reference.log_softmax_backward),
                               (softmax, softmax_backward, reference.softmax_backward)):
            y = fwd(x, axis=axis)
            try:
                r = bwd(g, y, axis=axis)
                assert r.dtype == dt and r.shape == x.shape
                want = twin(g.astype(np.float64), y.astype(np.float64), axis=axis)
                np.testing.assert_allclose(r, want, rtol=RTOL[dt] * 10, atol=RTOL[dt] * 10)
            except AssertionError as e:
                failures.append(f"{bwd.__name__} {label}: {e}")
    assert not failures, f"{len(failures)} failing, e.g.:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", [lay for lay in LAYOUTS if lay != "broadcast"])
@pytest.mark.parametrize("shape", [(3, 4), (4, 3, 5), (2, 2049), (300, 70), (70, 300),
                                   (5, 40, 33)], ids=shape_id)
def test_backward_kernels_in_every_layout(shape, layout, dtype, isa):
    """g and y in one layout (as a training step has them): the kernels for every
    axis, axis pair and None, against the twins, and into an out= of another layout
    (where the reduced axes of out cannot be merged, the NumPy composition: the same
    to a few ulps)."""
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = make_layout(rng.standard_normal(shape).astype(dtype), layout)
    tol = RTOL[np.dtype(dtype)] * 10
    for axis in axes_for(len(shape)):
        if axis == ():
            continue
        for fwd, bwd, twin in ((log_softmax, log_softmax_backward,
                                reference.log_softmax_backward),
                               (softmax, softmax_backward, reference.softmax_backward)):
            y = make_layout(fwd(x, axis=axis), layout)
            r = bwd(g, y, axis=axis)
            want = twin(g.astype(np.float64), y.astype(np.float64), axis=axis)
            np.testing.assert_allclose(r, want, rtol=tol, atol=tol,
                                       err_msg=f"{bwd.__name__} axis={axis}")
            out = np.empty(shape, dtype=dtype, order="F" if layout == "C" else "C")
            assert bwd(g, y, axis=axis, out=out) is out
            eps = np.finfo(dtype).eps
            np.testing.assert_allclose(out, r, rtol=4 * eps,
                                       atol=16 * eps * np.abs(r).max())


def test_backward_kernels_threads_bit_identical(isa):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(12)
    for shape, axis in (((400, 1000), 0), ((1000, 400), 1), ((40, 300, 50), 1)):
        x = rng.standard_normal(shape)
        g = np.asfortranarray(rng.standard_normal(shape))
        for fwd, bwd in ((log_softmax, log_softmax_backward), (softmax, softmax_backward)):
            y = np.asfortranarray(fwd(x, axis=axis))
            with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
                one = bwd(g, y, axis=axis)
            two = bwd(g, y, axis=axis)
            np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("shape,axis", [((300, 1000), -1), ((1000, 300), 0),
                                        ((20, 300, 50), (0, 2))], ids=str)
def test_backward_num_threads(shape, axis, isa):
    """num_threads as the forward functions take it: the same bits for any count,
    a clear error for a count below 1."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    for fwd, bwd in ((log_softmax, log_softmax_backward), (softmax, softmax_backward)):
        y = fwd(x, axis=axis)
        one = bwd(g, y, axis=axis, num_threads=1)
        for nt in (2, 3, None):
            np.testing.assert_array_equal(bwd(g, y, axis=axis, num_threads=nt), one)
        for bad in (0, -1):
            with pytest.raises(ValueError, match="num_threads"):
                bwd(g, y, axis=axis, num_threads=bad)
        with pytest.raises(TypeError):
            bwd(g, y, axis=axis, num_threads=1.5)


@pytest.mark.parametrize("layout", ["F", "transposed", "reversed", "step"])
def test_backward_no_input_sized_temporaries(layout):
    rng = np.random.default_rng(13)
    shape = (1000, 1500)
    g = make_layout(rng.standard_normal(shape), layout)
    y = make_layout(log_softmax(rng.standard_normal(shape), axis=0), layout)
    for bwd in (log_softmax_backward, softmax_backward):
        for axis in (0, 1):
            bwd(g, y, axis=axis)  # warm up
            tracemalloc.start()
            try:
                r = bwd(g, y, axis=axis)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert peak - r.nbytes < 0.1 * g.nbytes, (bwd.__name__, axis, peak)


@needs_torch
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", [((5,), 0), ((3, 7), -1), ((3, 7), 0),
                                        ((2, 3, 40), 1), ((64, 1000), -1)], ids=str)
def test_backward_matches_torch_autograd(shape, axis, dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    for fwd, bwd, tf in ((log_softmax, log_softmax_backward, torch.log_softmax),
                         (softmax, softmax_backward, torch.softmax)):
        xt = _t(x).requires_grad_()
        tf(xt, axis).backward(_t(g))
        got = bwd(g, fwd(x, axis=axis), axis=axis)
        tol = RTOL[np.dtype(dtype)] * 5
        np.testing.assert_allclose(got, xt.grad.numpy(), rtol=tol, atol=tol)


def _finite_difference(f, x, h=1e-6):
    """Central differences of the scalar function f at x (float64)."""
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


@pytest.mark.parametrize("axis", [0, 1, -1], ids=str)
def test_backward_by_finite_differences(axis):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 5)) * 2
    g = rng.standard_normal(x.shape)
    fd = _finite_difference(lambda v: np.sum(g * log_softmax(v, axis=axis)), x)
    np.testing.assert_allclose(log_softmax_backward(g, log_softmax(x, axis=axis), axis=axis),
                               fd, rtol=1e-6, atol=1e-8)
    fd = _finite_difference(lambda v: np.sum(g * softmax(v, axis=axis)), x)
    np.testing.assert_allclose(softmax_backward(g, softmax(x, axis=axis), axis=axis),
                               fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_softmax_backward_rows_at_block_edges_in_place_and_offset(dtype, isa):
    """The result pass loads a block of vectors ahead of its stores: row lengths around
    one and two blocks (of every vector width), in place over g and over y, and into
    outputs whose page offsets lie a little above and below the inputs'."""
    rng = np.random.default_rng(13)
    for n in (1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 127, 128, 129, 191, 192, 193,
              255, 256, 257, 1000):
        x = (rng.standard_normal((3, n)) * 3).astype(dtype)
        g = rng.standard_normal((3, n)).astype(dtype)
        p = softmax(x)
        want = reference.softmax_backward(g.astype(np.float64), p.astype(np.float64))
        r = softmax_backward(g, p)
        tol = RTOL[np.dtype(dtype)] * 10
        np.testing.assert_allclose(r, want, rtol=tol, atol=tol, err_msg=f"n={n}")
        for shift in (-3, -1, 1, 5):  # elements: the output's offset against g and y
            buf = np.empty(3 * n + 16, dtype)
            out = buf[8 + shift:8 + shift + 3 * n].reshape(3, n)
            assert softmax_backward(g, p, out=out) is out
            np.testing.assert_array_equal(out, r, err_msg=f"n={n} shift={shift}")
        g2, p2 = g.copy(), p.copy()
        assert softmax_backward(g2, p, out=g2) is g2
        assert softmax_backward(g, p2, out=p2) is p2
        np.testing.assert_array_equal(g2, r, err_msg=f"n={n} over g")
        np.testing.assert_array_equal(p2, r, err_msg=f"n={n} over y")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1000, 1001, 4096, 10001], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2, 3], ids=lambda t: f"threads={t}")
def test_streamed_softmax_backward_matches_small_blocks(dtype, n, num_threads, isa):
    """softmax_backward's outputs past the streaming threshold (kernels.stream_bytes())
    go out with non-temporal stores, through a buffer: rows of whole lines (4096),
    rows sharing lines (1000 floats, 1001), rows of several chunks (10001); fresh,
    into an out= one element into a buffer (each row's first vector boundary further
    in) and in place over g and over y (not streamed).  The same bits as blocks of 7
    rows far below the threshold, for 1 to 3 threads; those within 64 eps of the
    float64 twin (relative, and absolute against the largest)."""
    from logsoftmax_c import _dispatch
    limit = _dispatch.kernels.stream_bytes()
    isz = np.dtype(dtype).itemsize
    rows = -(-limit // (n * isz)) + 5
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((rows, n)) * 4).astype(dtype)
    g = rng.standard_normal((rows, n)).astype(dtype)
    p = softmax(x)
    assert p.nbytes >= limit and 7 * n * isz < limit
    want = np.concatenate([softmax_backward(g[k:k + 7], p[k:k + 7], num_threads=1)
                           for k in range(0, rows, 7)])
    ref = reference.softmax_backward(g[:9].astype(np.float64), p[:9].astype(np.float64))
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(want[:9], ref, rtol=64 * eps,
                               atol=64 * eps * np.abs(ref).max())
    r = softmax_backward(g, p, num_threads=num_threads)
    np.testing.assert_array_equal(r, want)
    buf = np.empty(g.size + 1, dtype)
    out = buf[1:].reshape(g.shape)
    assert softmax_backward(g, p, out=out, num_threads=num_threads) is out
    np.testing.assert_array_equal(out, want)
    g2, p2 = g.copy(), p.copy()
    assert softmax_backward(g2, p, out=g2, num_threads=num_threads) is g2
    assert softmax_backward(g, p2, out=p2, num_threads=num_threads) is p2
    np.testing.assert_array_equal(g2, want)
    np.testing.assert_array_equal(p2, want)


@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_streamed_softmax_backward_from_memory_matches_each_row(num_threads, isa):
    """Inputs of 128 MiB and more, streamed: the rows of several chunks also fetch the
    next row during a row's result pass.  The same bits as each row alone (below every
    threshold), the last rows of the array and of each thread's block included."""
    n = 4 * 4096 + 3
    rows = -(-(128 << 20) // (n * 4)) + 3
    rng = np.random.default_rng(9)
    p = softmax((rng.standard_normal((rows, n)) * 4).astype(np.float32))
    g = rng.standard_normal((rows, n)).astype(np.float32)
    r = softmax_backward(g, p, num_threads=num_threads)
    half = rows // 2
    for k in list(range(4)) + list(range(half - 3, half + 3)) + list(range(rows - 4, rows)):
        np.testing.assert_array_equal(r[k], softmax_backward(g[k], p[k], num_threads=1),
                                      err_msg=f"row {k}")


def test_backward_out_and_aliasing():
    rng = np.random.default_rng(3)
    g = rng.standard_normal((4, 6))
    y = log_softmax(rng.standard_normal((4, 6)))
    want = log_softmax_backward(g, y)
    out = np.zeros((8, 6))[::2]
    assert log_softmax_backward(g, y, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-15)
    g2 = g.copy()
    assert log_softmax_backward(g2, y, out=g2) is g2  # in place over grad_output
    np.testing.assert_allclose(g2, want, rtol=1e-15)
    p = softmax(y)
    want = softmax_backward(g, p)
    p2 = p.copy()
    assert softmax_backward(g, p2, out=p2) is p2      # in place over output
    np.testing.assert_allclose(p2, want, rtol=1e-15)
    with pytest.raises(ValueError, match="shape"):
        softmax_backward(g, p[:, :3])
    with pytest.raises(TypeError, match="dtype"):
        softmax_backward(g, p, out=np.zeros(g.shape, np.float32))
    assert softmax_backward(g.astype(np.float16), p.astype(np.float16)).dtype == np.float16


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_compiled_backward_calls_match_the_argument_layer(dtype, isa, no_warnings):
    """The public gradients are compiled: C-contiguous float32/float64 inputs along the
    last axis go straight to the kernels (into a fresh array or a separate C-ordered
    out=), everything else to the argument layer (_losses).  Both roads give the same
    bits, shape, dtype and strides, for every thread count; each call takes the road
    it should."""
    from logsoftmax_c import _entry, _losses
    taken = []

    def spy(f):
        def call(*args, **kwargs):
            taken.append(f.__name__)
            return f(*args, **kwargs)
        return call

    _entry.set_backward_fallback(spy(_losses._log_softmax_backward),
                                 spy(_losses._softmax_backward))
    try:
        rng = np.random.default_rng(8)
        for shape in [(7,), (64, 10), (300, 257), (3, 129, 200)]:
            x = (rng.standard_normal(shape) * 4).astype(dtype)
            g = rng.standard_normal(shape).astype(dtype)
            for fwd, bwd, slow in ((log_softmax, log_softmax_backward,
                                    _losses._log_softmax_backward),
                                   (softmax, softmax_backward, _losses._softmax_backward)):
                y = fwd(x)
                for nt in (None, 1, 2):
                    want = slow(g, y, num_threads=nt)
                    for axis in (-1, len(shape) - 1):
                        taken.clear()
                        got = bwd(g, y, axis, num_threads=nt)
                        assert not taken, (bwd.__name__, shape)  # the compiled road
                        assert got.dtype == dtype and got.strides == want.strides
                        assert np.array_equal(got, want), (bwd.__name__, shape, nt)
                        out = np.full(shape, 7, dtype)
                        assert bwd(g, y, axis, out=out, num_threads=nt) is out
                        assert not taken and np.array_equal(out, want)
                    # the argument layer's: in place over an input, a strided out=,
                    # another axis, a Fortran-ordered pair, a thread count it checks
                    g2 = g.copy()
                    assert bwd(g2, y, out=g2, num_threads=nt) is g2
                    out = np.full(shape + (2,), 7, dtype)[..., 0]
                    assert bwd(g, y, out=out, num_threads=nt) is out
                    assert np.array_equal(g2, want) and np.array_equal(out, want)
                    assert taken == [slow.__name__] * 2, taken
                    if len(shape) > 1:
                        taken.clear()
                        r = bwd(g, y, 0, num_threads=nt)
                        assert taken and np.array_equal(r, slow(g, y, 0))
                        gf, yf = np.asfortranarray(g), np.asfortranarray(y)
                        r = bwd(gf, yf, num_threads=nt)
                        assert np.array_equal(r, slow(gf, yf, num_threads=nt))
                    taken.clear()
                    assert np.array_equal(bwd(g, y, num_threads=np.int64(2)), want)
                    assert taken
    finally:
        _entry.set_backward_fallback(_losses._log_softmax_backward,
                                     _losses._softmax_backward)


BACKWARDS = ((log_softmax, log_softmax_backward, reference.log_softmax_backward),
             (softmax, softmax_backward, reference.softmax_backward))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("into", ["g", "y"], ids=lambda s: f"out={s}")
@pytest.mark.parametrize("other", ["F", "reversed", "step"])
def test_backward_out_over_an_input_of_another_layout(other, into, dtype):
    """out= one of the inputs while the other input has another memory layout (the
    NumPy composition, not the kernels): the result must not be computed into the
    input it still reads.  g C-ordered and y in `other`, and the reverse; against the
    twins from copies taken before the call."""
    rng = np.random.default_rng(21)
    shape = (4, 5, 6)
    tol = RTOL[np.dtype(dtype)] * 10
    for axis in (0, -1, (0, 2)):
        for fwd, bwd, twin in BACKWARDS:
            for g_layout, y_layout in (("C", other), (other, "C")):
                x = (rng.standard_normal(shape) * 3).astype(dtype)
                g = make_layout(rng.standard_normal(shape).astype(dtype), g_layout)
                y = make_layout(fwd(x, axis=axis), y_layout)
                want = twin(g.astype(np.float64), y.astype(np.float64), axis=axis)
                out = g if into == "g" else y
                assert bwd(g, y, axis=axis, out=out) is out
                np.testing.assert_allclose(
                    out, want, rtol=tol, atol=tol,
                    err_msg=f"{bwd.__name__} axis={axis} g {g_layout} y {y_layout}")


def test_backward_axis_out_of_range_raises_axis_error():
    g = np.zeros((3, 4))
    for bwd in (log_softmax_backward, softmax_backward):
        for axis in (2, -3, (0, 2), (-3,)):
            with pytest.raises(np.exceptions.AxisError):
                bwd(g, g, axis=axis)
        for axis in (1, -2, (1,)):  # a 0-d input is one slice of one element
            with pytest.raises(np.exceptions.AxisError):
                bwd(np.float64(1.0), np.float64(0.0), axis=axis)
    t = np.zeros(3, dtype=np.int64)
    for fn, kw in ((cross_entropy, {}), (cross_entropy, {"return_grad": True}),
                   (nll_loss, {})):
        for axis in (2, -3):
            with pytest.raises(np.exceptions.AxisError):
                fn(g, t, axis=axis, **kw)
    for node in (CrossEntropyLoss(axis=2), NLLLoss(axis=-3)):
        with pytest.raises(np.exceptions.AxisError):
            node(g, t)


def test_backward_of_0d_inputs():
    """A 0-d g and y: one slice of one element (axis 0, -1 or None), a 0-d result;
    y need not be a forward output (the formula holds for any y)."""
    for g0, y0 in ((1.5, -0.7), (-2.0, 0.3), (0.25, 0.0)):
        for _, bwd, twin in BACKWARDS:
            want = twin(np.array([g0]), np.array([y0]), axis=0)[0]
            for axis in (None, 0, -1):
                r = bwd(np.float64(g0), np.float64(y0), axis=axis)
                assert np.shape(r) == () and r.dtype == np.float64
                np.testing.assert_allclose(r, want, rtol=1e-15, atol=1e-16,
                                           err_msg=f"{bwd.__name__} axis={axis}")
            r = bwd(np.float32(g0), np.float32(y0))
            assert np.shape(r) == () and r.dtype == np.float32
            np.testing.assert_allclose(r, want, rtol=1e-6, atol=1e-7)
            # the NumPy composition's roads: mixed dtypes, an integer g, float16
            for gg, yy in ((np.float32(g0), np.float64(y0)),
                           (np.float64(g0), np.float32(y0))):
                r = bwd(gg, yy)
                assert np.shape(r) == () and r.dtype == np.float64
                np.testing.assert_allclose(r, twin(np.array([gg], np.float64),
                                                   np.array([yy], np.float64), axis=0)[0],
                                           rtol=1e-15, atol=1e-16)
            r = bwd(np.int64(3), np.float64(y0))
            assert np.shape(r) == () and r.dtype == np.float64
            np.testing.assert_allclose(r, twin(np.array([3.0]), np.array([y0]), axis=0)[0],
                                       rtol=1e-15, atol=1e-16)
            g16, y16 = np.float16(g0), np.float16(y0)
            r = bwd(g16, y16)
            assert np.shape(r) == () and r.dtype == np.float16
            want16 = twin(np.array([g16], np.float64), np.array([y16], np.float64),
                          axis=0)[0]
            np.testing.assert_allclose(float(r), want16, rtol=np.finfo(np.float16).eps,
                                       atol=1e-7)
            out = np.zeros((), np.float64)
            assert bwd(g0, y0, out=out) is out
            np.testing.assert_allclose(out, want, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_backward_empty_arrays_and_no_axes(dtype, isa):
    """Empty inputs give an empty result of their shape and dtype (any axis); axis=()
    reduces over nothing (sum(g) is g itself): the twins' values, C-ordered (the kernel
    layout) and not."""
    for _, bwd, _ in BACKWARDS:
        for shape in ((0,), (0, 5), (5, 0), (2, 0, 3)):
            e = np.zeros(shape, dtype)
            for axis in (-1, 0, None, ()):
                r = bwd(e, e, axis=axis)
                assert r.shape == shape and r.dtype == np.dtype(dtype), (shape, axis)
            out = np.ones(shape, dtype)
            assert bwd(e, e, out=out) is out
    rng = np.random.default_rng(23)
    tol = RTOL[np.dtype(dtype)] * 10
    for shape in ((3, 4), (40, 70)):
        g64, y64 = rng.standard_normal(shape), rng.standard_normal(shape) - 1
        for layout in ("C", "F", "reversed"):
            g = make_layout(g64.astype(dtype), layout)
            y = make_layout(y64.astype(dtype), layout)
            for _, bwd, twin in BACKWARDS:
                want = twin(g.astype(np.float64), y.astype(np.float64), axis=())
                r = bwd(g, y, axis=())
                assert r.dtype == np.dtype(dtype)
                np.testing.assert_allclose(r, want, rtol=tol, atol=tol,
                                           err_msg=f"{bwd.__name__} {shape} {layout}")


def test_backward_mixed_and_integer_dtypes():
    """float32 g with float64 y (and the reverse): float64, the twin in float64 of the
    same values; an integer grad_output: float64 (NumPy's promotion with a float32 y
    too)."""
    rng = np.random.default_rng(24)
    x = rng.standard_normal((5, 70)) * 3
    g = rng.standard_normal(x.shape)
    gi = rng.integers(-4, 5, x.shape)
    for fwd, bwd, twin in BACKWARDS:
        for axis in (-1, 0, (0, 1)):
            y = fwd(x, axis=axis)
            cases = [(g.astype(np.float32), y), (g, y.astype(np.float32)),
                     (gi, y), (gi, y.astype(np.float32)), (gi.astype(np.int8), y)]
            for gg, yy in cases:
                r = bwd(gg, yy, axis=axis)
                assert r.dtype == np.float64, (gg.dtype, yy.dtype)
                want = twin(gg.astype(np.float64), yy.astype(np.float64), axis=axis)
                np.testing.assert_allclose(
                    r, want, rtol=1e-12, atol=1e-13,
                    err_msg=f"{bwd.__name__} axis={axis} g {gg.dtype} y {yy.dtype}")


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)], ids=str)
def test_float16_backward_values(axis):
    """float16 in, float16 out (computed in float32): within a float16 rounding of the
    twin run in float64 on the same float16 values."""
    rng = np.random.default_rng(25)
    x = (rng.standard_normal((6, 50)) * 2).astype(np.float16)
    g = rng.standard_normal(x.shape).astype(np.float16)
    eps16 = float(np.finfo(np.float16).eps)
    for fwd, bwd, twin in BACKWARDS:
        y = fwd(x, axis=axis)
        assert y.dtype == np.float16
        r = bwd(g, y, axis=axis)
        assert r.dtype == np.float16
        want = twin(g.astype(np.float64), y.astype(np.float64), axis=axis)
        np.testing.assert_allclose(r.astype(np.float64), want, rtol=eps16,
                                   atol=1e-3 * eps16 * np.abs(want).max(),
                                   err_msg=bwd.__name__)


# ---------------------------------------------------------------------------------------
# losses

@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", [((6, 5), -1), ((6, 5), 0), ((3, 4, 5, 2), 1),
                                        ((3, 4, 5), 2), ((2, 3, 4), 0), ((0, 3, 2), 1),
                                        ((4, 1, 3), 1)], ids=str)
def test_target_scores_every_axis_and_layout(shape, axis, dtype, isa):
    """Each sample's score at its target (the kernels' gather for C-order logits in a
    kernel dtype, NumPy's take_along_axis otherwise): nll_loss with reduction='none'
    is -x[target] (0 where ignored) as NumPy's own indexing picks it, for C order,
    Fortran order, a strided and a reversed view of the same values, and float16;
    cross_entropy is the twin's, its gradient softmax - onehot (the kernels' add at
    the targets).  The gathers refuse what they cannot take."""
    rng = np.random.default_rng(len(shape) * 10 + axis % len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    C = shape[axis]
    batch = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
    t = rng.integers(0, C, batch)
    t.flat[::3] = -100
    safe = np.where(t == -100, 0, t)
    want = -np.take_along_axis(x, np.expand_dims(safe, axis), axis).squeeze(axis)
    want[t == -100] = 0
    back = np.flip(np.flip(x, 0).copy(), 0)
    views = [x, np.asfortranarray(x), np.repeat(x, 2, axis=-1)[..., ::2], back]
    for v in views:
        assert np.array_equal(v, x)
        got = nll_loss(v, t, axis=axis, reduction="none")
        assert got.dtype == np.dtype(dtype) and got.shape == batch
        np.testing.assert_array_equal(got, want)
    got16 = nll_loss(x.astype(np.float16), t, axis=axis, reduction="none")
    np.testing.assert_array_equal(got16, want.astype(np.float16))
    ce = cross_entropy(x, t, axis=axis, reduction="none")
    twin = reference.cross_entropy(x.astype(np.float64), t, axis, None, -100, "none", 0.0)
    np.testing.assert_allclose(ce, twin, rtol=1e-5, atol=1e-6)
    _, grad = cross_entropy(x, t, axis=axis, reduction="sum", return_grad=True)
    p = softmax(x.astype(np.float64), axis=axis)
    onehot = np.moveaxis(np.eye(C)[safe], -1, axis) * np.expand_dims(t != -100, axis)
    want_grad = (p - onehot) * np.expand_dims(t != -100, axis)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-6)
    kernels = lsc._dispatch.kernels
    with pytest.raises(TypeError):
        kernels.pick(x.astype(np.int32), np.zeros(1, np.intp), 1, 1, 1)
    with pytest.raises(ValueError):
        kernels.pick(np.zeros((4, 4), dtype)[:, ::2], np.zeros(2, np.intp), 2, 2, 1)
    with pytest.raises(TypeError):
        kernels.pick(np.zeros(4, dtype), np.zeros(2, np.intp), 1, 2, 2,
                     add=np.zeros(2, np.int8))
    with pytest.raises(ValueError):
        kernels.pick(np.zeros(4, dtype), np.zeros(2, np.intp), 1, 2, 2,
                     add=np.zeros(3, dtype))


@pytest.mark.parametrize("ignore_index", [-100, 1, 2, 7], ids=lambda i: f"ignore={i}")
@pytest.mark.parametrize("tdtype", [np.int64, np.int32, np.uint8], ids=lambda d: np.dtype(d).name)
def test_targets_without_ignored_samples_take_the_short_road(ignore_index, tdtype):
    """Targets all classes and none equal to ignore_index are checked by their min and
    max alone; targets holding ignore_index (in range or not), or an ignore_index
    between their min and max, by the full test.  Either way the losses and the
    gradient are the twin's, for every reduction; an out-of-range target still raises
    IndexError."""
    rng = np.random.default_rng(31)
    x = rng.standard_normal((6, 4, 5)).astype(np.float64)
    base = rng.integers(0, 4, (6, 5))
    cases = [base, np.where(base == 1, 3, base), np.zeros((6, 5), np.int64)]
    if ignore_index >= 0 or np.dtype(tdtype).kind == "i":
        withig = base.copy()
        withig[0, 0] = ignore_index
        cases.append(withig)
    for t in cases:
        t = t.astype(tdtype)
        for reduction in ("mean", "sum", "none"):
            kw = dict(ignore_index=ignore_index, reduction=reduction)
            got, grad = cross_entropy(x, t, axis=1, return_grad=True, **kw)
            want = reference.cross_entropy(x, t, 1, None, ignore_index, reduction, 0.0)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
            lp = log_softmax(x, axis=1)
            np.testing.assert_allclose(nll_loss(lp, t, axis=1, **kw),
                                       reference.nll_loss(lp, t, 1, None, ignore_index,
                                                          reduction), rtol=1e-12, atol=1e-12)
            ign = t == ignore_index
            assert np.all(np.moveaxis(grad, 1, -1)[ign] == 0)
    bad = base.copy()
    bad[2, 3] = 4
    with pytest.raises(IndexError, match="out of bounds"):
        cross_entropy(x, bad, axis=1)
    empty = cross_entropy(x[:0], base[:0], axis=1, reduction="none")
    assert empty.shape == (0, 5)


LOSS_CASES = [  # shape, class axis
    ((6, 5), -1), ((6, 5), 1), ((5,), 0), ((4, 5, 3), 1), ((2, 5, 3, 2), 1),
    ((3, 2, 5), -1), ((64, 1000), -1),
]
OPTIONS = [{}, {"weight": True}, {"ignore": True}, {"weight": True, "ignore": True}]


def _loss_inputs(shape, axis, dtype, rng, weight, ignore, probs=False):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = shape[axis]
    bshape = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
    if probs:
        t = rng.random(shape).astype(dtype)
        t /= t.sum(axis=axis, keepdims=True)
    else:
        t = rng.integers(0, C, bshape)
        if ignore and t.size > 1:
            t.flat[::3] = -100
    w = (rng.random(C) + 0.5).astype(dtype) if weight else None
    return x, t, w


def _torch_loss(fn, x, t, axis, w, reduction, **kw):
    """PyTorch with the class axis moved to 1 (its layout)."""
    xm = np.moveaxis(x, axis, 1) if x.ndim > 1 else x
    tm = np.moveaxis(t, axis, 1) if (t.dtype.kind == "f" and t.ndim > 1) else t
    xt = _t(xm).requires_grad_()
    loss = fn(xt, _t(tm), weight=None if w is None else _t(w), reduction=reduction, **kw)
    loss.sum().backward()
    grad = xt.grad.numpy()
    return loss.detach().numpy(), (np.moveaxis(grad, 1, axis) if x.ndim > 1 else grad)


@needs_torch
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,axis", LOSS_CASES, ids=str)
@pytest.mark.parametrize("smoothing", [0.0, 0.15], ids=lambda s: f"eps={s}")
@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_cross_entropy_matches_torch(shape, axis, reduction, dtype, smoothing, probs):
    rng = np.random.default_rng(hash((shape, axis)) % 2**32)
    tol = RTOL[np.dtype(dtype)] * 10
    for opt in OPTIONS:
        x, t, w = _loss_inputs(shape, axis, dtype, rng, opt.get("weight"), opt.get("ignore"),
                               probs)
        want, want_grad = _torch_loss(F.cross_entropy, x, t, axis, w, reduction,
                                      label_smoothing=smoothing)
        loss, grad = cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                                   label_smoothing=smoothing, return_grad=True)
        assert np.asarray(loss).dtype == np.dtype(dtype) and grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(loss, want, rtol=tol, atol=tol, err_msg=str(opt))
        np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=tol, err_msg=str(opt))
        np.testing.assert_array_equal(
            cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                          label_smoothing=smoothing), loss)
        twin = reference.cross_entropy(x.astype(np.float64), t, axis, w, -100, reduction,
                                       smoothing)
        np.testing.assert_allclose(loss, twin, rtol=tol, atol=tol, err_msg=str(opt))


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,axis", LOSS_CASES, ids=str)
@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_nll_loss_matches_torch(shape, axis, reduction, probs):
    rng = np.random.default_rng(7)
    for opt in OPTIONS:
        x, t, w = _loss_inputs(shape, axis, np.float64, rng, opt.get("weight"),
                               opt.get("ignore"), probs)
        lp = log_softmax(x, axis=axis)
        got = nll_loss(lp, t, axis=axis, weight=w, reduction=reduction)
        np.testing.assert_allclose(got, reference.nll_loss(lp, t, axis, w, -100, reduction),
                                   rtol=1e-12, atol=1e-12)
        if probs:  # torch.nll_loss takes class indices only
            continue
        want, _ = _torch_loss(F.nll_loss, lp, t, axis, w, reduction)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(opt))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,axis", LOSS_CASES + [((3, 5000), -1), ((2, 9000), -1),
                                                     ((7, 4100), 0)], ids=str)
@pytest.mark.parametrize("smoothing", [0.0, 0.15], ids=lambda s: f"eps={s}")
@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_cross_entropy_grad_matches_twin(shape, axis, reduction, dtype, smoothing, probs,
                                         isa):
    """Against the readable gradient formula in float64, with no PyTorch: rows of one
    chunk and of several (the fused kernel's two roads), other class axes."""
    rng = np.random.default_rng(abs(hash((shape, axis, probs))) % 2**32)
    for opt in OPTIONS:
        x, t, w = _loss_inputs(shape, axis, dtype, rng, opt.get("weight"), opt.get("ignore"),
                               probs)
        loss, grad = cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                                   label_smoothing=smoothing, return_grad=True)
        x64 = x.astype(np.float64)
        w64 = None if w is None else w.astype(np.float64)
        t64 = t.astype(np.float64) if probs else t
        want = reference.cross_entropy_grad(x64, t64, axis, w64, -100, reduction, smoothing)
        scale = np.max(np.abs(want)) if want.size else 1.0
        tol = 50 * np.finfo(dtype).eps * scale
        np.testing.assert_allclose(grad, want, rtol=0, atol=tol, err_msg=str(opt))
        twin = reference.cross_entropy(x64, t64, axis, w64, -100, reduction, smoothing)
        np.testing.assert_allclose(loss, twin, rtol=RTOL[np.dtype(dtype)] * 10,
                                   atol=RTOL[np.dtype(dtype)] * 10, err_msg=str(opt))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(64, 1000), (3, 5000), (5, 65), (1, 300)], ids=str)
def test_cross_entropy_loss_same_bits_with_and_without_grad(shape, dtype, isa):
    """The fused gradient pass computes the logsumexp itself: the loss must not change."""
    rng = np.random.default_rng(shape[-1])
    for opt in OPTIONS:
        for reduction in ("mean", "sum", "none"):
            x, t, w = _loss_inputs(shape, -1, dtype, rng, opt.get("weight"),
                                   opt.get("ignore"))
            x[0, 0] = 40  # a dominant class: the recount of the dominated sum
            kw = dict(weight=w, reduction=reduction, label_smoothing=0.1)
            loss, _ = cross_entropy(x, t, return_grad=True, **kw)
            np.testing.assert_array_equal(loss, cross_entropy(x, t, **kw))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_compiled_loss_calls_match_the_general_road(dtype, isa, no_warnings):
    """The public losses are compiled: rows of scores in C order with class indices
    each in range and none ignore_index, class weights (an array) or none, no
    smoothing, any reduction, go straight to the kernels, and so does cross_entropy's
    gradient, with weights that are finite and not negative (for the mean, not all 0
    at the targets); everything else to the argument layer (_losses).  Both
    roads give the same loss and gradient, bit for bit and of the same type, for every
    thread count, integer type of the targets and type of the weights; each call takes
    the road it should, and the argument layer's errors stay."""
    from logsoftmax_c import _entry, _losses
    taken = []

    def spy(f):
        def call(*args, **kwargs):
            taken.append(f.__name__)
            return f(*args, **kwargs)
        return call

    _entry.set_loss_fallback(spy(_losses._nll_loss), spy(_losses._cross_entropy))
    try:
        rng = np.random.default_rng(7)
        cases = []
        for shape in [(32, 10), (1, 1), (257, 1000), (5, 3), (100, 70), (3, 5000),
                      (40, 2000)]:
            for scale in (1, 30):
                x = (rng.standard_normal(shape) * scale).astype(dtype)
                t = rng.integers(0, shape[1], shape[0])
                cases += [(x, t), (x, t.astype(np.int32)), (x, t[::-1]),
                          (x, t.astype(np.uint8) if shape[1] < 256 else t.astype(np.int16))]
        x = rng.standard_normal((6, 4)).astype(dtype)
        x[1, 2] = np.inf  # an inf and a NaN beside the targets, and a row of -inf
        x[3, 0] = np.nan
        x[4] = -np.inf
        cases.append((x, np.array([0, 1, 2, 3, 0, 1])))
        for x, t in cases:
            lp = log_softmax(x)
            for reduction in ("mean", "sum", "none"):
                for nt in (None, 1, 2):
                    taken.clear()
                    got = cross_entropy(x, t, reduction=reduction, num_threads=nt)
                    nll = nll_loss(lp, t, axis=1, reduction=reduction)
                    finite = np.all(np.isfinite(x))
                    assert taken == ([] if finite or reduction == "none"
                                     else ["_cross_entropy", "_nll_loss"]), taken
                    with np.errstate(invalid="ignore"):
                        want = _losses._cross_entropy(x, t, reduction=reduction,
                                                      num_threads=nt)
                        want_nll = _losses._nll_loss(lp, t, reduction=reduction)
                    for a, b in ((got, want), (nll, want_nll)):
                        assert type(a) is type(b) and a.dtype == b.dtype == dtype
                        assert np.shape(a) == np.shape(b)
                        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (
                            x.shape, t.dtype, reduction, a, b)
                    # the gradient: compiled where every loss is finite
                    taken.clear()
                    got = cross_entropy(x, t, reduction=reduction, num_threads=nt,
                                        return_grad=True)
                    assert taken == ([] if finite else ["_cross_entropy"]), taken
                    with np.errstate(invalid="ignore"):
                        want = _losses._cross_entropy(x, t, reduction=reduction,
                                                      num_threads=nt, return_grad=True)
                    assert type(got) is tuple and len(got) == 2
                    for a, b in zip(got, want):
                        assert type(a) is type(b) and a.dtype == b.dtype == dtype
                        assert np.shape(a) == np.shape(b)
                        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (
                            x.shape, t.dtype, reduction, nt)
                C = x.shape[1]
                for w in (rng.random(C).astype(dtype), rng.random(C),
                          rng.integers(0, 3, C), rng.random(C) < 0.5,
                          np.zeros(C, dtype)):
                    taken.clear()
                    got = cross_entropy(x, t, weight=w, reduction=reduction)
                    nll = nll_loss(lp, t, weight=w, reduction=reduction)
                    assert taken == ([] if finite or reduction == "none"
                                     else ["_cross_entropy", "_nll_loss"]), taken
                    with np.errstate(invalid="ignore", divide="ignore"):
                        want = _losses._cross_entropy(x, t, weight=w, reduction=reduction)
                        want_nll = _losses._nll_loss(lp, t, weight=w, reduction=reduction)
                    for a, b in ((got, want), (nll, want_nll)):
                        assert type(a) is type(b) and a.dtype == b.dtype == dtype
                        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (
                            x.shape, w.dtype, reduction, a, b)
                    # the gradient with weights: compiled where every loss is finite,
                    # and for the mean where the targets' weights do not sum to 0
                    zero = reduction == "mean" and not np.any(w[t])
                    for nt in (None, 2):
                        taken.clear()
                        got = cross_entropy(x, t, weight=w, reduction=reduction,
                                            num_threads=nt, return_grad=True)
                        assert taken == ([] if finite and not zero
                                         else ["_cross_entropy"]), (taken, w.dtype)
                        with np.errstate(invalid="ignore", divide="ignore"):
                            want = _losses._cross_entropy(x, t, weight=w,
                                                          reduction=reduction,
                                                          num_threads=nt, return_grad=True)
                        for a, b in zip(got, want):
                            assert type(a) is type(b) and a.dtype == b.dtype == dtype
                            assert np.shape(a) == np.shape(b)
                            assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), (
                                x.shape, w.dtype, reduction, nt)
        # the argument layer's: an ignored or out-of-range target, an ignore_index
        # between the targets, weights, smoothing, the gradient, a Fortran-ordered or
        # 3-d input, another axis, targets as a list, a thread count it checks
        x = rng.standard_normal((8, 5)).astype(dtype)
        t = np.arange(8) % 5
        lp = log_softmax(x)
        for kw, tt, xx in [({}, np.where(t == 2, -100, t), x), ({"ignore_index": 3}, t, x),
                           ({"weight": list(np.ones(5))}, t, x),
                           ({}, t, np.asfortranarray(x)),
                           ({"axis": 0}, t, x.T.copy()), ({}, list(t), x),
                           ({}, t.reshape(2, 4), x.reshape(2, 4, 5)),
                           ({"ignore_index": np.int64(-100)}, t, x)]:
            taken.clear()
            got = cross_entropy(xx, tt, **kw)
            want = reference.cross_entropy(np.asarray(xx, np.float64), np.asarray(tt),
                                           kw.get("axis", -1), kw.get("weight"),
                                           kw.get("ignore_index", -100), "mean", 0.0)
            np.testing.assert_allclose(got, want, rtol=RTOL[np.dtype(dtype)])
            assert taken == ["_cross_entropy"], (kw, taken)
            taken.clear()
            nll_loss(log_softmax(xx, axis=kw.get("axis", -1)), tt, **kw)
            assert taken == ["_nll_loss"], (kw, taken)
        big = np.finfo(dtype).max / 4
        for kw in ({"label_smoothing": 0.1}, {"return_grad": 1},
                   {"return_grad": True, "weight": -np.ones(5)},
                   {"return_grad": True, "weight": np.array([1, -0.0, 1, 1, 1], dtype)},
                   {"return_grad": True, "weight": np.array([1, np.inf, 1, 1, 1])},
                   {"return_grad": True, "weight": np.array([1, np.nan, 1, 1, 1])},
                   {"return_grad": True, "weight": np.full(5, big, dtype)},
                   {"return_grad": True, "label_smoothing": 0.1},
                   {"num_threads": np.int64(2)}, {"reduction": "none", "num_threads": 2.0}):
            taken.clear()
            try:
                cross_entropy(x, t, **kw)
            except TypeError:
                pass
            assert taken == ["_cross_entropy"], (kw, taken)
        for bad in (np.where(t == 2, 9, t), np.where(t == 2, -1, t)):
            with pytest.raises(IndexError):
                cross_entropy(x, bad)
            with pytest.raises(IndexError):
                nll_loss(lp, bad)
        with pytest.raises(ValueError, match="reduction"):
            cross_entropy(x, t, reduction="avg")
        with pytest.raises(ValueError, match="shape"):
            nll_loss(lp, t[:5])
        for w in (np.ones(4), np.ones((5, 1)), np.ones(5, complex)):
            with pytest.raises(ValueError, match="weight"):
                cross_entropy(x, t, weight=w)
        taken.clear()
        with pytest.raises(IndexError):  # (uint64 targets: the argument layer's)
            cross_entropy(x, t.astype(np.uint64) + np.uint64(2**63))
        assert taken == ["_cross_entropy"]
    finally:
        _entry.set_loss_fallback(_losses._nll_loss, _losses._cross_entropy)


@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_grad_by_finite_differences(reduction, probs):
    rng = np.random.default_rng(4)
    x, t, w = _loss_inputs((4, 5, 3), 1, np.float64, rng, True, not probs, probs)
    kw = dict(axis=1, weight=w, reduction=reduction, label_smoothing=0.1)
    _, grad = cross_entropy(x, t, return_grad=True, **kw)
    fd = _finite_difference(lambda v: cross_entropy(v, t, **kw), x)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_cross_entropy_float16_and_integer_logits():
    x = np.random.default_rng(0).standard_normal((8, 10))
    t = np.arange(8)
    want = cross_entropy(x, t)
    l16, g16 = cross_entropy(x.astype(np.float16), t, return_grad=True)
    assert l16.dtype == g16.dtype == np.float16
    assert abs(float(l16) - want) < 1e-2
    assert cross_entropy(np.round(x * 3).astype(np.int64), t).dtype == np.float64


@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_cross_entropy_float16_values(probs):
    """float16 logits (computed in float32): the loss and the gradient within a float16
    rounding of the twins run in float64 on the same float16 values; the fused road
    (classes last, C > the short-row tiles) and the others."""
    rng = np.random.default_rng(26)
    eps16 = float(np.finfo(np.float16).eps)
    for shape, axis in (((8, 10), -1), ((6, 300), -1), ((4, 7, 3), 1)):
        x, t, w = _loss_inputs(shape, axis, np.float16, rng, True, not probs, probs)
        x64, w64 = x.astype(np.float64), w.astype(np.float64)
        t64 = t.astype(np.float64) if probs else t
        for reduction in ("mean", "sum", "none"):
            for eps in (0.0, 0.1):
                loss, grad = cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                                           label_smoothing=eps, return_grad=True)
                assert np.asarray(loss).dtype == grad.dtype == np.float16
                want = reference.cross_entropy(x64, t64, axis, w64, -100, reduction, eps)
                np.testing.assert_allclose(np.asarray(loss, np.float64), want,
                                           rtol=2 * eps16, atol=1e-6)
                want = reference.cross_entropy_grad(x64, t64, axis, w64, -100, reduction,
                                                    eps)
                np.testing.assert_allclose(grad.astype(np.float64), want, rtol=eps16,
                                           atol=1e-3 * eps16 * np.abs(want).max(),
                                           err_msg=f"{shape} {reduction} eps={eps}")


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_cross_entropy_integer_logits_values(dtype):
    """Integer (and bool) logits: float64 loss and gradient, the twins' values."""
    rng = np.random.default_rng(27)
    for shape, axis in (((8, 10), -1), ((5, 200), -1), ((4, 6, 3), 1)):
        x = (rng.random(shape) < 0.5) if dtype == np.bool_ else \
            rng.integers(0, 9, shape).astype(dtype)
        C = shape[axis]
        t = rng.integers(0, C, tuple(n for d, n in enumerate(shape)
                                    if d != axis % len(shape)))
        p = rng.random(shape)
        p /= p.sum(axis=axis, keepdims=True)
        for tt in (t, p):
            for reduction in ("mean", "none"):
                kw = dict(axis=axis, reduction=reduction, label_smoothing=0.1)
                loss, grad = cross_entropy(x, tt, return_grad=True, **kw)
                assert np.asarray(loss).dtype == grad.dtype == np.float64
                x64 = x.astype(np.float64)
                np.testing.assert_allclose(
                    loss, reference.cross_entropy(x64, tt, axis, None, -100, reduction, 0.1),
                    rtol=1e-12, atol=1e-14)
                np.testing.assert_allclose(
                    grad, reference.cross_entropy_grad(x64, tt, axis, None, -100, reduction,
                                                       0.1), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("ignore_index", [-1, 3], ids=lambda i: f"ignore={i}")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_other_than_the_default(ignore_index, reduction):
    """ignore_index=-1 (below the classes) and 3 (a class: its targets are dropped)
    for the two losses and the two nodes, against the twins and finite differences;
    -100 then is an out-of-range target like any other."""
    rng = np.random.default_rng(28)
    for shape, axis in (((5, 5, 3), 1), ((6, 100), -1)):  # the second: the fused road
        C = shape[axis]
        x = rng.standard_normal(shape) * 2
        bshape = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
        t = rng.integers(0, C, bshape)
        t.flat[::3] = ignore_index
        t.flat[1] = 0 if ignore_index == 3 else 3  # a live target of the other kind
        assert (t == ignore_index).any() and (t != ignore_index).any()
        w = rng.random(C) + 0.5
        lp = log_softmax(x, axis=axis)
        go = rng.standard_normal(bshape) if reduction == "none" else 1.7
        go_c = np.expand_dims(go, axis) if reduction == "none" else go
        tw = (axis, w, ignore_index, reduction)
        want = reference.cross_entropy(x, t, *tw, 0.1)
        want_grad = reference.cross_entropy_grad(x, t, *tw, 0.1)
        kw = dict(axis=axis, weight=w, ignore_index=ignore_index, reduction=reduction)
        loss, grad = cross_entropy(x, t, label_smoothing=0.1, return_grad=True, **kw)
        np.testing.assert_allclose(loss, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cross_entropy(x, t, label_smoothing=0.1, **kw), want,
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)
        ce = CrossEntropyLoss(weight=w, ignore_index=ignore_index, reduction=reduction,
                              label_smoothing=0.1, axis=axis)
        np.testing.assert_allclose(ce(x, t), want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ce.backward(go), want_grad * go_c, rtol=1e-12,
                                   atol=1e-14)
        want = reference.nll_loss(lp, t, *tw)
        np.testing.assert_allclose(nll_loss(lp, t, **kw), want, rtol=1e-12, atol=1e-14)
        nll = NLLLoss(weight=w, ignore_index=ignore_index, reduction=reduction, axis=axis)
        np.testing.assert_allclose(nll(lp, t), want, rtol=1e-12, atol=1e-14)
        if shape == (5, 5, 3):  # the finite differences of the twin, on the small case
            fd = _finite_difference(lambda v: np.sum(go * reference.nll_loss(v, t, *tw)), lp)
            np.testing.assert_allclose(nll.backward(go), fd, rtol=1e-6, atol=1e-8)
        # the default ignore_index is no longer special
        t[t == ignore_index] = -100
        for call in (lambda: cross_entropy(x, t, **kw),
                     lambda: cross_entropy(x, t, return_grad=True, **kw),
                     lambda: nll_loss(lp, t, **kw), lambda: ce(x, t), lambda: nll(lp, t)):
            with pytest.raises(IndexError, match="out of bounds"):
                call()


def test_cross_entropy_label_smoothing_bounds_and_num_threads_checks():
    """label_smoothing in [0, 1], both ends included (1: the uniform target alone);
    num_threads below 1 a ValueError on every road."""
    rng = np.random.default_rng(29)
    x, t, w = _loss_inputs((6, 5), -1, np.float64, rng, True, True)
    _, p, _ = _loss_inputs((6, 5), -1, np.float64, rng, False, False, probs=True)
    xf, tf, _ = _loss_inputs((4, 300), -1, np.float32, rng, False, False)  # fused road
    for xx, tt, ww in ((x, t, w), (x, p, w), (x, t, None), (xf, tf, None)):
        for bad in (-0.1, -1e-9, 1.0 + 1e-9):
            with pytest.raises(ValueError, match="label_smoothing"):
                cross_entropy(xx, tt, weight=ww, label_smoothing=bad)
        for eps in (0.0, 1.0):
            for reduction in ("mean", "sum", "none"):
                loss, grad = cross_entropy(xx, tt, weight=ww, reduction=reduction,
                                           label_smoothing=eps, return_grad=True)
                x64 = xx.astype(np.float64)
                tol = RTOL[xx.dtype] * 10
                np.testing.assert_allclose(
                    loss, reference.cross_entropy(x64, tt, -1, ww, -100, reduction, eps),
                    rtol=tol, atol=tol)
                np.testing.assert_allclose(
                    grad, reference.cross_entropy_grad(x64, tt, -1, ww, -100, reduction,
                                                       eps), rtol=tol, atol=tol)
        for bad in (0, -1):
            for return_grad in (False, True):
                with pytest.raises(ValueError, match="num_threads"):
                    cross_entropy(xx, tt, weight=ww, num_threads=bad,
                                  return_grad=return_grad)


def _long_rows_for_the_gradient(n, dtype, rng, rows=9):
    """Rows of n scores (a standard normal times 4) with a dominant class in the last
    chunk and in the first, a chunk of -inf, only -inf, a +inf, a NaN, scores times 40
    (terms far below e**-87), and a dominant class of score 0 (the target)."""
    chunk = 4096 if dtype == np.float32 else 2048
    x = (rng.standard_normal((rows, n)) * 4).astype(dtype)
    x[1, n - 1] = 45
    x[2, 0] = 50
    x[3, chunk:2 * chunk] = -np.inf
    x[4] = -np.inf
    x[5, n // 2] = np.inf
    x[6, n // 3] = np.nan
    x[7] *= 10
    x[8] -= 40  # a dominant class at 0: the loss is its dominated sum's log1p
    x[8, n // 2] = 0
    t = rng.integers(0, n, rows)
    t[1], t[2], t[8] = n - 1, 1, n // 2
    return x, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("chunks,extra", [(1, 1), (3, -5), (5, 1000), (64, 3)],
                         ids=lambda v: str(v))
def test_cross_entropy_grad_of_long_rows(dtype, chunks, extra, isa, no_warnings):
    """Rows of several chunks (4096 float32 / 2048 float64 elements): the gradient's
    softmax and the loss's logsumexp from one set of statistics, each chunk's exps kept
    for the write (up to 64 chunks; longer rows the general road).  The loss has the
    bits it has without the gradient; the gradient the same bits with 1 to 3 threads
    and for each row alone, and within a few ulps of a long-double twin: relative for
    the other classes' entries (as a log-probability's), against the sample's share for
    the target's."""
    chunk = 4096 if dtype == np.float32 else 2048
    n = chunks * chunk + extra
    rng = np.random.default_rng(n)
    x, t = _long_rows_for_the_gradient(n, dtype, rng)
    eps, tiny = np.finfo(dtype).eps, np.finfo(dtype).tiny
    ok = [0, 1, 2, 3, 7, 8]
    other = np.ones((len(ok), n), bool)  # the entries of the classes not the target
    other[np.arange(len(ok)), t[ok]] = False
    # the gradient of the summed losses: softmax(x) less 1 at the target
    loss, grad = cross_entropy(x, t, return_grad=True, reduction="none")
    np.testing.assert_array_equal(loss, cross_entropy(x, t, reduction="none"))
    for kw in ({}, {"reduction": "sum", "label_smoothing": 0.1}):
        l1, g1 = cross_entropy(x, t, return_grad=True, num_threads=1, **kw)
        np.testing.assert_array_equal(l1, cross_entropy(x, t, num_threads=1, **kw))
        for nt in (2, 3):
            ln, gn = cross_entropy(x, t, return_grad=True, num_threads=nt, **kw)
            np.testing.assert_array_equal(ln, l1, err_msg=f"threads={nt}")
            np.testing.assert_array_equal(gn, g1, err_msg=f"threads={nt}")
        if not kw:  # the mean's: each sample's share of it (at the target: absolute)
            want = grad[ok] / len(x)
            np.testing.assert_allclose(g1[ok][other], want[other], rtol=4 * eps, atol=4 * tiny)
            np.testing.assert_allclose(g1[ok][~other], want[~other], rtol=0,
                                       atol=2 * eps / len(x))
    for r in range(len(x)):
        lr, gr = cross_entropy(x[r:r + 1], t[r:r + 1], return_grad=True, reduction="none")
        np.testing.assert_array_equal(lr, loss[r:r + 1], err_msg=f"row {r}")
        np.testing.assert_array_equal(gr[0], grad[r], err_msg=f"row {r}")
    # rows 4-6 (only -inf, a +inf, a NaN): a NaN gradient; the losses NaN, +inf
    # (the logsumexp's +inf less a finite score), NaN
    assert np.isnan(grad[4:7]).all()
    assert np.isnan(loss[[4, 6]]).all() and loss[5] == np.inf
    xl = x[ok].astype(np.longdouble)
    e = np.exp(xl - xl.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    # (a probability's relative accuracy: that of its logarithm, x - max - log(sum))
    scale = 2 + np.abs(np.where(np.isneginf(xl), 0, xl - xl.max(axis=1, keepdims=True)))
    err = np.abs(grad[ok] - p)
    bound = 4 * eps * scale * p + 4 * tiny
    assert np.all(err[other] <= bound[other]), np.max(err[other] / bound[other])
    want_t = p[np.arange(len(ok)), t[ok]] - 1
    got_t = grad[ok][np.arange(len(ok)), t[ok]]
    assert np.all(np.abs(got_t - want_t) <= 2 * eps), (got_t, want_t)


@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_cross_entropy_grad_of_long_streamed_rows(num_threads, isa):
    """An output past the streaming threshold (kernels.stream_bytes()): the long rows'
    gradient goes out with non-temporal stores; the same bits as each row alone."""
    from logsoftmax_c import _dispatch
    n = 3 * 4096 + 5
    rows = -(-_dispatch.kernels.stream_bytes() // (n * 4)) + 3
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((rows, n)) * 4).astype(np.float32)
    t = rng.integers(0, n, rows)
    loss, grad = cross_entropy(x, t, return_grad=True, reduction="none",
                               num_threads=num_threads)
    assert grad.nbytes >= _dispatch.kernels.stream_bytes()
    for r in (0, 1, rows // 2, rows - 2, rows - 1):
        lr, gr = cross_entropy(x[r:r + 1], t[r:r + 1], return_grad=True, reduction="none")
        assert lr[0] == loss[r], r
        np.testing.assert_array_equal(gr[0], grad[r], err_msg=f"row {r}")


@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_cross_entropy_threads_bit_identical(probs, isa):
    """The loss and the gradient do not depend on the thread count (class indices on
    (256, 4000) float32: the fused kernel; probabilities: softmax then NumPy)."""
    rng = np.random.default_rng(30)
    shape = (256, 4000)
    x, t, _ = _loss_inputs(shape, -1, np.float32, rng, False, True, probs)
    w = (rng.random(shape[-1]) + 0.5).astype(np.float32)
    for kw in ({"reduction": "mean"}, {"reduction": "none", "weight": w,
                                       "label_smoothing": 0.1}):
        one = cross_entropy(x, t, return_grad=True, num_threads=1, **kw)
        for nt in (2, 3):
            loss, grad = cross_entropy(x, t, return_grad=True, num_threads=nt, **kw)
            np.testing.assert_array_equal(loss, one[0], err_msg=f"threads={nt} {kw}")
            np.testing.assert_array_equal(grad, one[1], err_msg=f"threads={nt} {kw}")
            np.testing.assert_array_equal(cross_entropy(x, t, num_threads=nt, **kw), one[0])
    # and the values are right (the first rows, against the twin in float64)
    x64 = x[:8].astype(np.float64)
    t8 = t[:8].astype(np.float64) if probs else t[:8]
    want = reference.cross_entropy_grad(x64, t8, -1, w.astype(np.float64), -100, "none",
                                        0.1)
    np.testing.assert_allclose(one[1][:8], want, rtol=0, atol=50 * np.finfo(np.float32).eps
                               * np.abs(want).max())


def test_cross_entropy_extreme_logits_without_warnings(no_warnings):
    x = np.array([[1000.0, -1000.0, 0.0], [-np.inf, 0.0, 1.0]])
    t = np.array([0, 2])
    loss, grad = cross_entropy(x, t, reduction="none", return_grad=True)
    np.testing.assert_allclose(loss, [0.0, np.log1p(np.exp(-1.0))], atol=1e-15)
    assert np.all(np.isfinite(grad))


def test_bad_targets_raise_clear_errors():
    x = np.zeros((4, 5))
    with pytest.raises(IndexError, match="out of bounds"):
        cross_entropy(x, np.array([0, 1, 5, 2]))
    with pytest.raises(IndexError, match="out of bounds"):
        nll_loss(x, np.array([0, 1, -1, 2]))
    with pytest.raises(ValueError, match="shape"):
        cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="probability target has shape"):
        cross_entropy(x, np.full((4, 4), 0.25))
    with pytest.raises(TypeError, match="target"):
        cross_entropy(x, np.array([True, False, True, True]))
    with pytest.raises(ValueError, match="weight"):
        cross_entropy(x, np.array([0, 1, 2, 3]), weight=np.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(x, np.array([0, 1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        cross_entropy(x, np.array([0, 1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="class axis"):
        cross_entropy(np.float64(1.0), np.int64(0))
    # ignore_index itself is not out of range
    assert cross_entropy(x, np.array([0, -100, 2, 3]), reduction="sum") == pytest.approx(
        3 * np.log(5))


@pytest.mark.parametrize("fill", [-np.inf, np.inf, np.nan], ids=str)
@pytest.mark.parametrize("C", [5, 100], ids=lambda c: f"C={c}")
@pytest.mark.parametrize("smoothing", [0.0, 0.2], ids=lambda s: f"eps={s}")
def test_ignored_samples_add_nothing_whatever_they_hold(fill, C, smoothing, no_warnings):
    """A padded row (ignore_index) of -inf, +inf or NaN: the other samples' losses and
    gradients, and 0 for it, as if it held zeros (and as PyTorch)."""
    rng = np.random.default_rng(31)
    x = rng.standard_normal((4, C))
    t = np.array([2, -100, 1, -100])
    clean = x.copy()
    clean[[1, 3]] = 0.0
    x[1] = fill
    x[3, 0] = fill  # the class an ignored target is read at
    for reduction in ("none", "sum", "mean"):
        for fn, kw in ((cross_entropy, {"label_smoothing": smoothing, "return_grad": True}),
                       (nll_loss, {})):
            if fn is nll_loss and smoothing:
                continue
            got = fn(x, t, reduction=reduction, **kw)
            want = fn(clean, t, reduction=reduction, **kw)
            got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
            loss, wloss = got[0], want[0]
            assert np.all(np.isfinite(loss)), (reduction, fn.__name__, loss)
            np.testing.assert_array_equal(loss, wloss)
            if reduction == "none":
                assert np.all(np.asarray(loss)[[1, 3]] == 0)
                want_live = reference.cross_entropy(x[[0, 2]], t[[0, 2]], -1, None, -100,
                                                    "none", smoothing)
                if fn is cross_entropy:
                    np.testing.assert_allclose(np.asarray(loss)[[0, 2]], want_live,
                                               rtol=1e-13)
            if len(got) == 2:
                # the ignored rows' gradient is 0, also where their softmax is NaN
                # (PyTorch: NaN)
                assert np.all(got[1][[1, 3]] == 0), got[1]
                np.testing.assert_array_equal(got[1][[0, 2]], want[1][[0, 2]])
    if torch is not None:
        tl = F.cross_entropy(_t(x), _t(t), reduction="none", label_smoothing=smoothing)
        np.testing.assert_allclose(cross_entropy(x, t, reduction="none",
                                                 label_smoothing=smoothing),
                                   tl.numpy(), rtol=1e-12)


def test_empty_batches_and_no_classes(no_warnings):
    """No samples: 'mean' is NaN (0 / 0, as PyTorch), 'sum' 0, 'none' empty; no classes
    (every target ignored, or empty probability rows): each loss 0, an empty gradient."""
    for fn in (cross_entropy, nll_loss):
        for t in (np.zeros(0, dtype=np.int64), np.zeros((0, 3))):
            assert np.isnan(fn(np.zeros((0, 3)), t))
            assert fn(np.zeros((0, 3)), t, reduction="sum") == 0
            assert fn(np.zeros((0, 3)), t, reduction="none").shape == (0,)
        # all targets ignored: no weight to divide by
        assert np.isnan(fn(np.zeros((2, 3)), np.array([-100, -100])))
    for t in (np.zeros((2, 0)), np.array([-100, -100])):
        for eps in (0.0, 0.1):
            loss, grad = cross_entropy(np.zeros((2, 0)), t, reduction="none",
                                       label_smoothing=eps, return_grad=True)
            assert loss.tolist() == [0.0, 0.0] and grad.shape == (2, 0)
        assert nll_loss(np.zeros((2, 0)), t, reduction="none").tolist() == [0.0, 0.0]
    assert NLLLoss()(np.zeros((2, 0)), np.zeros((2, 0))) == 0
    node = NLLLoss()
    assert np.isnan(node(np.zeros((2, 3)), np.array([-100, -100])))
    assert node.backward().shape == (2, 3)
    ce = CrossEntropyLoss()
    assert np.isnan(ce(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)))
    assert ce.backward().shape == (0, 3)


def test_bool_axis_and_non_number_smoothing_raise_type_error():
    x, t = np.zeros((4, 5)), np.array([0, 1, 2, 3])
    for fn in (cross_entropy, nll_loss):
        with pytest.raises(TypeError):
            fn(x, t, axis=True)
    with pytest.raises(TypeError):
        log_softmax_backward(x, x, axis=False)
    with pytest.raises(TypeError, match="label_smoothing"):
        cross_entropy(x, t, label_smoothing="0.1")


def test_cross_entropy_is_fused_memory():
    """No array of the logits' size besides the gradient (and none without it)."""
    x = np.random.default_rng(0).standard_normal((256, 4000)).astype(np.float32)
    t = np.random.default_rng(1).integers(0, 4000, 256)
    cross_entropy(x, t, return_grad=True)  # warm up
    tracemalloc.start()
    try:
        cross_entropy(x, t, label_smoothing=0.1)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < x.nbytes / 8, peak
        tracemalloc.reset_peak()
        cross_entropy(x, t, return_grad=True, label_smoothing=0.1)
        _, peak = tracemalloc.get_traced_memory()
        assert peak < x.nbytes * 1.2, peak
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", ["probs", "probs+weight", "weight+smoothing",
                                  "probs+weight+smoothing", "classes first"])
def test_cross_entropy_grad_no_input_sized_temporaries(case):
    """With class probabilities, weights and label smoothing too, the gradient is the
    only array of the logits' size; the class axis first as well."""
    rng = np.random.default_rng(2)
    shape, axis = ((4000, 256), 0) if case == "classes first" else ((256, 4000), -1)
    x = rng.standard_normal(shape)
    C = shape[axis]
    if "probs" in case:
        t = rng.random(shape)
        t /= t.sum(axis=axis, keepdims=True)
    else:
        t = rng.integers(0, C, shape[1] if axis == 0 else shape[0])
    w = rng.random(C) + 0.5 if "weight" in case else None
    eps = 0.1 if "smoothing" in case or case == "classes first" else 0.0
    kw = dict(axis=axis, weight=w, label_smoothing=eps, return_grad=True)
    cross_entropy(x, t, **kw)  # warm up
    tracemalloc.start()
    try:
        _, grad = cross_entropy(x, t, **kw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - grad.nbytes < 0.15 * x.nbytes, f"{(peak - grad.nbytes) / 2**20:.1f} MiB"
    want = reference.cross_entropy_grad(x, t, axis, w, -100, "mean", eps)
    np.testing.assert_allclose(grad, want, rtol=0, atol=1e-12 * np.abs(want).max())


# ---------------------------------------------------------------------------------------
# nodes

def test_nodes_chain_and_repr():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 10))
    t = rng.integers(0, 10, 8)
    ls, nll, ce = LogSoftmax(), NLLLoss(), CrossEntropyLoss()
    l1 = nll(ls(x), t)
    l2 = ce(x, t)
    assert l1 == pytest.approx(l2, rel=1e-14)
    np.testing.assert_allclose(ls.backward(nll.backward()), ce.backward(), atol=1e-15)
    np.testing.assert_allclose(ce.backward(2.0), 2 * ce.backward(), rtol=1e-15)
    assert "LogSoftmax" in repr(ls) and "mean" in repr(ce)
    with pytest.raises(RuntimeError, match="before the forward"):
        Softmax().backward(x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("probs", [False, True], ids=["indices", "probs"])
def test_loss_nodes_grad_output_shapes(reduction, probs):
    """backward(): the default 1.0 and any scalar scale the gradient for every reduction
    (for 'none', of the sum of the losses); an array of the loss's shape scales each
    sample's; any other shape is a ValueError, not a silent per-class scale."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 3, 5))
    t = rng.random(x.shape) if probs else rng.integers(0, 3, (4, 5))
    inp = {CrossEntropyLoss: x, NLLLoss: log_softmax(x, axis=1)}
    for cls in (CrossEntropyLoss, NLLLoss):
        node = cls(reduction=reduction, axis=1)
        loss = node(inp[cls], t)
        one = node.backward()
        assert one.shape == x.shape
        np.testing.assert_array_equal(node.backward(1.0), one)
        np.testing.assert_allclose(node.backward(np.float32(3.0)), 3 * one, rtol=1e-15)
        if reduction == "none":
            g = rng.standard_normal(loss.shape)
            np.testing.assert_allclose(node.backward(g), one * g[:, None, :], rtol=1e-15)
            bad = [np.ones(3), np.ones((4, 5, 1)), np.ones(x.shape)]
        else:
            bad = [np.ones(3), np.ones(1), np.ones((4, 5))]
        for g in bad:
            with pytest.raises(ValueError, match="grad_output"):
                node.backward(g)


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nodes_match_torch_nn(reduction):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((6, 4, 3))
    t = rng.integers(0, 4, (6, 3))
    t[0, 0] = -100
    w = rng.random(4) + 0.5
    g = rng.standard_normal(t.shape) if reduction == "none" else 1.7
    for node, tnode, inp in (
            (CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=0.1, axis=1),
             torch.nn.CrossEntropyLoss(weight=_t(w), reduction=reduction,
                                       label_smoothing=0.1), x),
            (NLLLoss(weight=w, reduction=reduction, axis=1),
             torch.nn.NLLLoss(weight=_t(w), reduction=reduction), log_softmax(x, axis=1))):
        xt = _t(inp).requires_grad_()
        out = tnode(xt, _t(t))
        out.backward(_t(np.asarray(g, dtype=np.float64)) if reduction == "none"
                     else torch.tensor(g, dtype=torch.float64))
        np.testing.assert_allclose(node(inp, t), out.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(node.backward(g), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    for node, tnode in ((Softmax(axis=1), torch.nn.Softmax(dim=1)),
                        (LogSoftmax(axis=1), torch.nn.LogSoftmax(dim=1))):
        gy = rng.standard_normal(x.shape)
        xt = _t(x).requires_grad_()
        tnode(xt).backward(_t(gy))
        node(x)
        np.testing.assert_allclose(node.backward(gy), xt.grad.numpy(), rtol=1e-12,
                                   atol=1e-15)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_node_probability_targets(reduction, weighted):
    """NLLLoss with class probabilities (class axis 1): backward is -s * w_c * p_c
    times grad_output, s = 1 / the number of samples for 'mean' (not of elements);
    and the finite differences of the twin."""
    rng = np.random.default_rng(32)
    shape = (5, 4, 3)
    lp = log_softmax(rng.standard_normal(shape) * 2, axis=1)
    p = rng.random(shape)
    p /= p.sum(axis=1, keepdims=True)
    w = rng.random(4) + 0.5 if weighted else None
    node = NLLLoss(weight=w, reduction=reduction, axis=1)
    want = reference.nll_loss(lp, p, 1, w, -100, reduction)
    np.testing.assert_allclose(node(lp, p), want, rtol=1e-13, atol=1e-15)
    go = rng.standard_normal((5, 3)) if reduction == "none" else 1.7
    go_c = go[:, None, :] if reduction == "none" else go
    share = 1 / 15 if reduction == "mean" else 1.0
    wc = np.ones(4) if w is None else w
    closed = -share * wc[None, :, None] * p * go_c
    grad = node.backward(go)
    assert grad.shape == shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, closed, rtol=1e-13, atol=1e-16)
    fd = _finite_difference(
        lambda v: np.sum(go * reference.nll_loss(v, p, 1, w, -100, reduction)), lp)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    # float32 in: float32 out, the same values
    node32 = NLLLoss(weight=w, reduction=reduction, axis=1)
    node32(lp.astype(np.float32), p.astype(np.float32))
    g32 = node32.backward(go)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, closed, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_nodes_axis1_weights_ignored_against_twins(reduction):
    """Without PyTorch: CrossEntropyLoss and NLLLoss with the classes on axis 1,
    per-class weights, ignored targets and, for 'none', a grad_output per sample.
    C equals the trailing size, so a grad_output expanded at the wrong axis would
    broadcast silently.  Against reference.cross_entropy_grad and the finite
    differences of the twin nll_loss."""
    rng = np.random.default_rng(33)
    shape = (6, 4, 4)
    x = rng.standard_normal(shape) * 2
    t = rng.integers(0, 4, (6, 4))
    t[0, 0] = t[2, 3] = t[5, 1] = t[3, 2] = -100
    w = np.array([0.3, 1.7, 0.6, 2.5])  # summed weights far from the count of targets
    go = rng.standard_normal(t.shape) if reduction == "none" else 1.7
    go_c = go[:, None, :] if reduction == "none" else go
    for eps in (0.0, 0.1):
        ce = CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=eps, axis=1)
        np.testing.assert_allclose(ce(x, t), reference.cross_entropy(x, t, 1, w, -100,
                                                                     reduction, eps),
                                   rtol=1e-13, atol=1e-15)
        want = reference.cross_entropy_grad(x, t, 1, w, -100, reduction, eps) * go_c
        np.testing.assert_allclose(ce.backward(go), want, rtol=1e-12, atol=1e-15)
    fd = _finite_difference(
        lambda v: np.sum(go * reference.cross_entropy(v, t, 1, w, -100, reduction, 0.1)), x)
    np.testing.assert_allclose(ce.backward(go), fd, rtol=1e-6, atol=1e-8)
    lp = log_softmax(x, axis=1)
    nll = NLLLoss(weight=w, reduction=reduction, axis=1)
    np.testing.assert_allclose(nll(lp, t), reference.nll_loss(lp, t, 1, w, -100, reduction),
                               rtol=1e-13, atol=1e-15)
    fd = _finite_difference(
        lambda v: np.sum(go * reference.nll_loss(v, t, 1, w, -100, reduction)), lp)
    np.testing.assert_allclose(nll.backward(go), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 6)], ids=shape_id)
def test_activation_nodes_backward_along_axis0(shape):
    """LogSoftmax(axis=0) and Softmax(axis=0): forward and backward along axis 0, against
    the twins on the twin's forward output (float64), and finite differences."""
    rng = np.random.default_rng(34)
    x = rng.standard_normal(shape) * 2
    gy = rng.standard_normal(shape)
    for node, fwd, twin in ((LogSoftmax(axis=0), reference.log_softmax,
                             reference.log_softmax_backward),
                            (Softmax(axis=0), reference.softmax,
                             reference.softmax_backward)):
        y_ref = fwd(x.astype(np.longdouble), axis=0).astype(np.float64)
        np.testing.assert_allclose(node(x), y_ref, rtol=1e-13, atol=1e-15)
        want = twin(gy, y_ref, axis=0)
        np.testing.assert_allclose(node.backward(gy), want, rtol=1e-12, atol=1e-14,
                                   err_msg=repr(node))
    if len(shape) == 2:
        node = LogSoftmax(axis=0)
        node(x)
        fd = _finite_difference(lambda v: np.sum(gy * reference.log_softmax(v, axis=0)), x)
        np.testing.assert_allclose(node.backward(gy), fd, rtol=1e-6, atol=1e-8)


def test_a_small_classifier_learns():
    """A linear classifier trained with the nodes: the loss falls."""
    rng = np.random.default_rng(8)
    centers = rng.standard_normal((3, 4)) * 3
    labels = rng.integers(0, 3, 120)
    data = centers[labels] + rng.standard_normal((120, 4))
    W = np.zeros((4, 3))
    loss_fn = CrossEntropyLoss()
    losses = []
    for _ in range(50):
        losses.append(float(loss_fn(data @ W, labels)))
        W -= 0.5 * data.T @ loss_fn.backward()
    assert losses[-1] < 0.3 * losses[0]


def test_public_api():
    for name in ("softmax", "logsumexp", "log_softmax_backward", "softmax_backward",
                 "nll_loss", "cross_entropy", "LogSoftmax", "Softmax", "NLLLoss",
                 "CrossEntropyLoss"):
        assert name in lsc.__all__ and hasattr(lsc, name)
