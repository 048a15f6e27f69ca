"""Property-based tests for the rest of the family: softmax, logsumexp, where= masks,
the gradients and the losses, against the float64 / long-double twins of reference.py
and by their invariants."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from logsoftmax_c import (cross_entropy, log_softmax, log_softmax_backward, logsumexp,
                          nll_loss, reference, softmax, softmax_backward)

from test_properties import (LONG_SETTINGS, NARROW, SETTINGS, TIED, WIDE, cases,
                             long_columns)
from test_softmax_family import assert_lse_close, assert_softmax_close

STRATEGIES = pytest.mark.parametrize("strategy", [NARROW, WIDE, TIED],
                                     ids=["narrow", "wide", "ties"])


def _eps(x):
    return float(np.finfo(x.dtype).eps)


def _ld(x):
    return np.asarray(x, dtype=np.longdouble)


@STRATEGIES
def test_softmax_matches_twin_and_sums_to_one(strategy, isa):
    @SETTINGS
    @given(strategy)
    def check(case):
        x, axis = case
        p = softmax(x, axis=axis)
        assert p.dtype == x.dtype and p.shape == x.shape
        want = reference.softmax(_ld(x), axis=axis)
        # relative to each probability, with the rounding of x - max (|x - max| ulps)
        spread = np.abs(_ld(x) - np.max(_ld(x), axis=axis, keepdims=True))
        tol = 8 * _eps(x) * (1 + spread) * want + np.finfo(x.dtype).tiny * 4
        assert np.all(np.abs(_ld(p) - want) <= tol)
        np.testing.assert_allclose(np.sum(p, axis=axis, dtype=np.float64), 1.0,
                                   rtol=0, atol=64 * _eps(x) * max(1, x.size))
    check()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("func", [softmax, logsumexp], ids=lambda f: f.__name__)
def test_long_float_columns_follow_the_twins(func, dtype, isa):
    """softmax and logsumexp of long columns of drawn kinds (the one pass in the AVX-512
    and AVX2 builds): against the long-double twins, special values exactly, and each
    column's bits the same with 2 threads and at other offsets among the vectors."""
    @settings(LONG_SETTINGS, max_examples=15)
    @given(long_columns(dtype))
    def check(x):
        r = func(x, axis=0)
        if func is softmax:
            assert_softmax_close(r, x, 0)
        else:
            assert_lse_close(r, x, 0)
        assert np.array_equal(func(x, axis=0, num_threads=2), r, equal_nan=True)
        # (blocks narrower than 16 columns take the row kernels' bits instead)
        if x.shape[1] - 3 >= 16:
            assert np.array_equal(func(x[:, 3:], axis=0), r[..., 3:], equal_nan=True)
    check()


@STRATEGIES
def test_logsumexp_matches_twin_and_shifts(strategy, isa):
    @SETTINGS
    @given(strategy, st.booleans())
    def check(case, keepdims):
        x, axis = case
        r = logsumexp(x, axis=axis, keepdims=keepdims)
        want = reference.logsumexp(_ld(x), axis=axis, keepdims=keepdims)
        scale = 1 + np.abs(want) + np.max(np.abs(_ld(x)))
        assert np.all(np.abs(_ld(r) - want) <= 8 * _eps(x) * scale)
        # logsumexp(x + c) == logsumexp(x) + c, for an exactly representable shift c
        c = x.dtype.type(2.0)
        shifted = logsumexp(x + c, axis=axis, keepdims=keepdims)
        assume(np.all(np.isfinite(x + c)))
        np.testing.assert_allclose(shifted, _ld(r) + 2, rtol=0,
                                   atol=16 * _eps(x) * float(np.max(scale)))
    check()


@st.composite
def masked_cases(draw):
    """(x, axis, where): where of x's shape or broadcastable (a size-1 axis, or the
    trailing axes only), some slices fully masked."""
    x, axis = draw(NARROW)
    shape = x.shape
    kind = draw(st.sampled_from(["full", "one", "trailing"]))
    if kind == "full":
        mshape = shape
    elif kind == "one":
        k = draw(st.integers(0, len(shape) - 1))
        mshape = shape[:k] + (1,) + shape[k + 1:]
    else:
        mshape = shape[draw(st.integers(0, len(shape) - 1)):]
    where = draw(hnp.arrays(np.bool_, mshape))
    return x, axis, where


def test_where_matches_twins(isa):
    @SETTINGS
    @given(masked_cases())
    def check(case):
        x, axis, where = case
        for fn in ("log_softmax", "softmax", "logsumexp"):
            got = getattr(__import__("logsoftmax_c"), fn)(x, axis=axis, where=where)
            want = getattr(reference, fn)(x.astype(np.float64), axis=axis, where=where)
            np.testing.assert_allclose(got, want, rtol=1e-4 if x.dtype == np.float32 else 1e-11,
                                       atol=1e-4 if x.dtype == np.float32 else 1e-11,
                                       err_msg=fn)
            assert not np.isnan(got).any()
        m = np.broadcast_to(where, x.shape)
        assert np.all(softmax(x, axis=axis, where=where)[~m] == 0)
        assert np.all(log_softmax(x, axis=axis, where=where)[~m] == -np.inf)
    check()


def test_backward_matches_twins(isa):
    @SETTINGS
    @given(NARROW, st.integers(0, 2**32 - 1), st.sampled_from(["C", "F", "reversed"]))
    def check(case, seed, layout):
        x, axis = case
        rng = np.random.default_rng(seed)
        g = rng.standard_normal(x.shape).astype(x.dtype)
        tol = 64 * _eps(x)
        for fwd, bwd, twin in ((log_softmax, log_softmax_backward,
                                reference.log_softmax_backward),
                               (softmax, softmax_backward, reference.softmax_backward)):
            y = fwd(x, axis=axis)
            gl, yl = g, y
            if layout == "F":
                gl, yl = np.asfortranarray(g), np.asfortranarray(y)
            elif layout == "reversed":
                gl, yl = g[::-1].copy()[::-1], y[::-1].copy()[::-1]
            r = bwd(gl, yl, axis=axis)
            want = twin(g.astype(np.float64), y.astype(np.float64), axis=axis)
            scale = 1 + np.max(np.abs(want)) + np.max(np.abs(g))
            assert np.max(np.abs(r - want)) <= tol * scale * max(1, x.size) ** 0.5, bwd.__name__
            # both gradients sum to zero along the axis (the outputs are normalised)
            s = np.sum(r, axis=axis, dtype=np.float64)
            assert np.all(np.abs(s) <= tol * scale * max(1, x.size))
    check()


@st.composite
def loss_cases(draw):
    """(x, target, axis, weight, ignore_index, reduction, label_smoothing, probs)."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(hnp.arrays(dtype, shape, elements=st.floats(-30, 30, width=32)))
    C = shape[axis]
    batch = tuple(n for d, n in enumerate(shape) if d != axis % len(shape))
    probs = draw(st.booleans())
    if probs:
        t = draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=32)))
        t = t / np.maximum(np.sum(t, axis=axis, keepdims=True), 1e-3)
    else:
        t = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, C - 1)))
        if t.size and draw(st.booleans()):
            t.flat[::2] = -100
    weight = None
    if draw(st.booleans()):
        weight = draw(hnp.arrays(dtype, (C,), elements=st.floats(0.25, 2, width=32)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    eps = draw(st.sampled_from([0.0, 0.1]))
    return x, t, axis, weight, reduction, eps, probs


def test_losses_match_twins(isa):
    @SETTINGS
    @given(loss_cases())
    def check(case):
        x, t, axis, w, reduction, eps, probs = case
        x64 = x.astype(np.float64)
        w64 = None if w is None else w.astype(np.float64)
        t64 = t.astype(np.float64) if probs else t
        want = reference.cross_entropy(x64, t64, axis, w64, -100, reduction, eps)
        want_grad = reference.cross_entropy_grad(x64, t64, axis, w64, -100, reduction, eps)
        with np.errstate(invalid="ignore", divide="ignore"):
            loss, grad = cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                                       label_smoothing=eps, return_grad=True)
            plain = cross_entropy(x, t, axis=axis, weight=w, reduction=reduction,
                                  label_smoothing=eps)
        np.testing.assert_array_equal(plain, loss)
        rt = 1e-4 if x.dtype == np.float32 else 1e-11
        scale = 1 + np.max(np.abs(want), initial=0)
        np.testing.assert_allclose(loss, want, rtol=rt, atol=rt * scale, equal_nan=True)
        gscale = 1 + np.max(np.abs(want_grad), initial=0)
        np.testing.assert_allclose(grad, want_grad, rtol=0, atol=rt * gscale, equal_nan=True)
        lp = log_softmax(x64, axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            got = nll_loss(lp, t64, axis=axis, weight=w64, reduction=reduction)
        np.testing.assert_allclose(got, reference.nll_loss(lp, t64, axis, w64, -100,
                                                           reduction),
                                   rtol=1e-12, atol=1e-12, equal_nan=True)
    check()


def test_results_do_not_depend_on_threads():
    @SETTINGS
    @given(cases(bound=50.0, max_side=60), st.sampled_from(["softmax", "logsumexp"]))
    def check(case, fn):
        x, axis = case
        x = np.repeat(x, 1 + 70_000 // x.size, axis=0)  # big enough to be threaded
        f = getattr(__import__("logsoftmax_c"), fn)
        one = f(x, axis=axis, num_threads=1)
        two = f(x, axis=axis, num_threads=2)
        np.testing.assert_array_equal(one, two)
    check()
