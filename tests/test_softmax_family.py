"""softmax, logsumexp and where= masks: against the long-double twins, SciPy and the
rules shared with log_softmax (dtypes, special values, out=, threads)."""
import warnings

import numpy as np
import pytest
from numpy.exceptions import AxisError

import logsoftmax_c
from logsoftmax_c import log_softmax, logsumexp, reference, softmax

from conftest import (FLOAT_DTYPES, LARGE_SHAPES, SMALL_SHAPES, arrays, assert_ulps,
                      error_scale, result_dtype, shape_id)
from test_log_softmax import (CHUNK, LONG_COLUMNS, _pipeline_rows, _special_rows,
                              long_columns)

ALL_SHAPES = SMALL_SHAPES + list(LARGE_SHAPES)


def _as_slices(x, axis):
    x = np.asarray(x)
    if x.ndim == 0:
        return x.reshape(1), 0
    return x, axis


def _reduced_axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def assert_softmax_close(got, x, axis, k=8, where=None, msg=""):
    """Relative error of each probability within k * eps * scale, where scale (as for
    log_softmax) bounds the absolute error of the log-probability it is the exp of;
    results below the smallest normal number only absolutely."""
    xl, ax = _as_slices(np.asarray(x).astype(np.longdouble), axis)
    wl = None if where is None else np.broadcast_to(where, np.shape(x)).reshape(xl.shape)
    ref = reference.softmax(xl, axis=ax, where=wl).reshape(np.shape(x))
    got = np.asarray(got)
    eps = np.longdouble(np.finfo(got.dtype).eps)
    tiny = np.longdouble(np.finfo(got.dtype).tiny)
    scale = error_scale(np.where(np.broadcast_to(where, np.shape(x)), x, -np.inf)
                        if where is not None else x, axis)
    with np.errstate(invalid="ignore"):
        err = np.abs(got.astype(np.longdouble) - ref)
        bound = k * eps * ref * np.where(np.isfinite(scale), scale, 1) + 4 * tiny
        bad = ~(err <= bound)
    bad &= ~(np.isnan(got) & np.isnan(ref))
    if bad.any():
        i = np.unravel_index(np.argmax(bad), bad.shape)
        raise AssertionError(f"{msg}: at {i}: got {got[i]!r}, expected {ref[i]!r}")


def assert_lse_close(got, x, axis, keepdims=False, k=4, where=None, msg=""):
    """|got - ref| within k * eps * (1 + |ref|) of the long-double twin; special values
    exactly."""
    ref = reference.logsumexp(np.asarray(x).astype(np.longdouble), axis=axis,
                              keepdims=keepdims, where=where)
    got = np.asarray(got)
    assert got.shape == ref.shape, f"{msg}: shape {got.shape}, expected {ref.shape}"
    eps = np.longdouble(np.finfo(got.dtype).eps)
    g = got.astype(np.longdouble)
    fin = np.isfinite(ref)
    with np.errstate(invalid="ignore"):
        ok = np.where(fin, np.abs(g - ref) <= k * eps * (1 + np.abs(ref)),
                      (g == ref) | (np.isnan(g) & np.isnan(ref)))
    if not np.all(ok):
        i = np.unravel_index(np.argmin(ok), ok.shape) if ok.ndim else ()
        raise AssertionError(f"{msg}: at {i}: got {got[i]!r}, expected {ref[i]!r}")


# ---------------------------------------------------------------------------------------
# the sweep

@pytest.mark.parametrize("shape", ALL_SHAPES, ids=shape_id)
def test_softmax_sweep_matches_longdouble_reference(shape, isa, no_warnings):
    failures = []
    for x, axis, label in arrays(shapes=[shape]):
        before = np.array(x, copy=True)
        try:
            p = softmax(x, axis=axis)
            rt = result_dtype(x.dtype)
            assert isinstance(p, np.ndarray) and p.dtype == rt and p.shape == x.shape
            assert np.array_equal(np.asarray(x), before), "the input was modified"
            assert_softmax_close(p, x, axis, msg="vs long double")
        except Exception as e:
            failures.append(f"{label}: {type(e).__name__}: {e}")
    assert not failures, f"{len(failures)} failing cases, e.g.:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("shape", ALL_SHAPES, ids=shape_id)
def test_logsumexp_sweep_matches_longdouble_reference(shape, isa, no_warnings):
    failures = []
    for x, axis, label in arrays(shapes=[shape]):
        for keepdims in (False, True):
            try:
                r = logsumexp(x, axis=axis, keepdims=keepdims)
                rt = result_dtype(x.dtype)
                assert np.asarray(r).dtype == rt, f"dtype {np.asarray(r).dtype}"
                assert_lse_close(r, x, axis, keepdims, msg=f"keepdims={keepdims}")
            except Exception as e:
                failures.append(f"{label} keepdims={keepdims}: {type(e).__name__}: {e}")
    assert not failures, f"{len(failures)} failing cases, e.g.:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("shape", [(3, 4), (4, 3, 5), (17, 1000)], ids=shape_id)
def test_twins_in_result_dtype(shape, isa):
    """Against the twins run in the result dtype, within the accuracy of that dtype:
    a softmax probability within 8 eps * scale of it relatively (the twin's own error
    included; scale as for log_softmax), a logsumexp within 4 eps * (1 + |value|);
    results below the smallest normal number only absolutely (flushed or not)."""
    for x, axis, label in arrays(shapes=[shape], dtypes=FLOAT_DTYPES, seed=2):
        rt = result_dtype(x.dtype)
        eps, tiny = np.finfo(rt).eps, np.finfo(rt).tiny
        p, tp = softmax(x, axis=axis), reference.softmax(x, axis=axis)
        assert p.dtype == tp.dtype == rt, label
        scale = error_scale(x, axis).astype(np.float64)
        err = np.abs(p.astype(np.float64) - tp)
        bound = 8 * eps * scale * tp + 4 * tiny
        assert np.all(err <= bound), (
            f"{label}: softmax off by {np.max(err / bound):.3g} x the bound")
        r, tr = logsumexp(x, axis=axis), reference.logsumexp(x, axis=axis)
        assert r.dtype == tr.dtype == rt, label
        err = np.abs(np.float64(r) - tr) if np.ndim(r) == 0 else np.abs(
            r.astype(np.float64) - tr)
        bound = 4 * eps * (1 + np.abs(tr.astype(np.float64)))
        assert np.all(err <= bound), (
            f"{label}: logsumexp off by {np.max(err / bound):.3g} x the bound")


def _assert_exp_of(p, ls, x, axis, msg=""):
    """p within 8 eps * scale of exp(ls), relatively (error_scale: each of the two
    carries the rounding of x - max, |x - max| eps / 2 of a probability, and log_softmax
    its logarithm's too); NaN where ls is."""
    assert np.array_equal(np.isnan(p), np.isnan(ls)), msg
    e = np.exp(ls.astype(np.longdouble))
    scale = error_scale(x, axis)
    with np.errstate(invalid="ignore"):
        bound = 8 * np.finfo(p.dtype).eps * e * np.where(np.isfinite(scale), scale, 1)
        bad = ~(np.abs(p - e) <= bound + 4 * np.longdouble(np.finfo(p.dtype).tiny))
    bad &= ~np.isnan(p)
    assert not bad.any(), f"{msg}: at {np.argwhere(bad)[0]}"


def test_softmax_is_exp_of_log_softmax_and_sums_to_one(isa):
    x = np.random.default_rng(0).standard_normal((33, 5000)).astype(np.float32) * 5
    p = softmax(x)
    _assert_exp_of(p, log_softmax(x), x, -1)
    assert_softmax_close(p, x, -1)
    np.testing.assert_allclose(p.sum(axis=-1, dtype=np.float64), 1.0, rtol=1e-5)


def test_dominant_class_keeps_its_digits(isa):
    x = np.array([40.0, 0.0, -1.0])
    p = softmax(x)
    ref = reference.softmax(x.astype(np.longdouble))
    # the small probabilities are accurate relatively, and the big one rounds to 1
    np.testing.assert_allclose(p[1:], ref[1:].astype(np.float64), rtol=4e-16)
    assert p[0] == 1.0
    # logsumexp: 40 + log1p(exp(-40) + exp(-41)) differs from 40 in the last bits only
    assert logsumexp(np.array([0.0, -40.0])) == np.log1p(np.exp(-40.0))


# ---------------------------------------------------------------------------------------
# agreement with SciPy

@pytest.mark.parametrize("axis", [0, 1, -1, None, (0, 2)], ids=str)
def test_matches_scipy(axis, isa):
    special = pytest.importorskip("scipy.special")
    x = np.random.default_rng(3).standard_normal((5, 6, 7)) * 10
    np.testing.assert_allclose(softmax(x, axis=axis), special.softmax(x, axis=axis),
                               rtol=1e-13)
    np.testing.assert_allclose(logsumexp(x, axis=axis), special.logsumexp(x, axis=axis),
                               rtol=1e-14)
    np.testing.assert_allclose(logsumexp(x, axis=axis, keepdims=True),
                               special.logsumexp(x, axis=axis, keepdims=True), rtol=1e-14)


def test_logsumexp_special_values_as_scipy(isa, no_warnings):
    inf, nan = np.inf, np.nan
    for dtype in FLOAT_DTYPES:
        big = np.finfo(dtype).max / 4  # big + log(2) rounds to big
        rows = [[-inf, -inf], [inf, 1.0], [inf, -inf], [inf, nan], [nan, 1.0], [-inf, nan],
                [-inf, 2.0], [big, big], [inf, inf]]
        want = np.array([-inf, inf, inf, nan, nan, nan, 2.0, big, inf], dtype=dtype)
        for axis, x in ((1, np.array(rows, dtype=dtype)),
                        (0, np.ascontiguousarray(np.array(rows, dtype=dtype).T))):
            got = logsumexp(x, axis=axis)
            assert np.array_equal(got, want, equal_nan=True), (dtype, axis, got)


def test_empty_reduction_gives_minus_inf(isa):
    assert np.array_equal(logsumexp(np.zeros((3, 0))), np.full(3, -np.inf))
    assert logsumexp(np.zeros(0)) == -np.inf
    assert logsumexp(np.zeros((0, 3))).shape == (0,)
    assert logsumexp(np.zeros((0, 3)), axis=0).tolist() == [-np.inf] * 3
    assert softmax(np.zeros((3, 0))).shape == (3, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.longdouble,
                                   np.int16], ids=lambda d: np.dtype(d).name)
def test_full_reduction_gives_a_numpy_scalar_on_every_path(dtype, isa):
    """A full reduction without out= is a NumPy scalar, as NumPy's reductions: also for
    an empty input and for long double (the NumPy fallback)."""
    rt = np.dtype(np.float64) if np.dtype(dtype).kind == "i" else np.dtype(dtype)
    for x, axis, want in ((np.zeros(0, dtype), -1, -np.inf),
                          (np.zeros((0, 2), dtype), None, -np.inf),
                          (np.zeros(3, dtype), -1, np.log(3)),
                          (np.zeros((2, 3), dtype), None, np.log(6)),
                          (np.zeros((2, 3), dtype), (0, 1), np.log(6)),
                          (np.array(0, dtype), None, 0.0)):
        r = logsumexp(x, axis=axis)
        assert isinstance(r, np.generic) and r.dtype == rt, (x.shape, axis, type(r))
        assert r == pytest.approx(want, rel=1e-3), (x.shape, axis, r)
        out = np.empty((), rt)
        assert logsumexp(x, axis=axis, out=out) is out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", [((64, 64), 1), ((64, 64), 0), ((4, 300), 1),
                                        ((300, 4), 0), ((1024, 1024), 1),
                                        ((1024, 1024), 0)], ids=str)
@pytest.mark.parametrize("masked", [False, True], ids=["", "where"])
def test_logsumexp_into_an_out_overlapping_x(dtype, shape, axis, masked, isa):
    """out= a row or column of x itself: the result of x as it was (as NumPy's
    reductions), not of x as the kernels overwrite it."""
    rng = np.random.default_rng(hash((shape, axis)) % 2**32)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    where = rng.random(shape) < 0.9 if masked else None
    x0 = x.copy()
    want = reference.logsumexp(x0.astype(np.longdouble), axis=axis, where=where)
    n = shape[1 - axis]
    for dst in (lambda a: a[:, -1] if axis == 1 else a[-1],
                lambda a: a[::-1, 3] if axis == 1 else a[0, ::-1],
                lambda a: a.reshape(-1)[5:5 + n]):
        x[...] = x0
        out = dst(x)
        r = logsumexp(x, axis=axis, where=where, out=out)
        assert r is out
        err = np.abs(out.astype(np.longdouble) - want) / np.spacing(
            np.abs(want).astype(dtype) + 1)
        assert err.max() <= 4, (err.max(), dst)


@pytest.mark.parametrize("dtype,gaps", [(np.float32, [80.0, 87.5, 95.0, 103.0]),
                                        (np.float64, [700.0, 709.5, 720.0, 744.0])],
                         ids=["float32", "float64"])
@pytest.mark.parametrize("n", [2, 17, 100, 5002], ids=lambda n: f"n={n}")
def test_subnormal_results_are_exact_or_flushed_to_zero(dtype, gaps, n, isa, no_warnings):
    """The README's one exception to the accuracy: a dominant class's log-probability,
    or a probability, below the smallest normal number is that value or 0 (flushed),
    never anything else; a normal one keeps its digits."""
    tiny = np.finfo(dtype).tiny
    for gap in gaps:
        row = np.full(n, -np.inf, dtype)
        row[0], row[1] = 0, -gap
        d = np.longdouble(row[1])  # the gap as the input holds it
        want = np.exp(d).astype(dtype)
        for x, axis, at in ((row, -1, (0,)), (np.tile(row, (3, 1)), -1, (0, 0)),
                            (np.tile(row[:, None], (1, 3)), 0, (0, 0))):
            lp = log_softmax(x, axis=axis)[at]
            p = softmax(x, axis=axis)[at[:-1] + (1,) if axis == -1 else (1,) + at[1:]]
            for got, ref in ((-lp, want), (p, want)):
                if ref >= tiny:
                    assert abs(got - ref) <= 4 * np.spacing(ref), (gap, n, axis, got, ref)
                else:
                    assert got == 0 or abs(got - ref) <= 4 * np.spacing(tiny), (
                        gap, n, axis, got, ref)


@pytest.mark.parametrize("dtype,scale", [(np.float32, 16.0), (np.float32, 64.0),
                                         (np.float64, 200.0), (np.float64, 800.0)],
                         ids=["float32-x16", "float32-x64", "float64-x200", "float64-x800"])
@pytest.mark.parametrize("shape,axis", [((64, 1000), -1), ((3, 5000), -1), ((300, 40), 0),
                                        ((6, 130, 33), 1)], ids=str)
@pytest.mark.parametrize("num_threads", [1, 2])
def test_scores_far_below_their_max(dtype, scale, shape, axis, num_threads, isa,
                                    no_warnings):
    """Scores that reach far below their slice's max (a standard normal times 16 to
    800): exps below the smallest normal number, which the vector exps make 0, and
    dominated sums whose corrections are far smaller still.  Every function to the
    sweeps' accuracy against the long-double twins, and each slice's dominant class
    to a few of its own ulps (or, below the smallest normal number, flushed)."""
    rng = np.random.default_rng(int(scale) + len(shape))
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    y = log_softmax(x, axis=axis, num_threads=num_threads)
    assert_ulps(y, x, axis, k=4)
    assert_softmax_close(softmax(x, axis=axis, num_threads=num_threads), x, axis)
    assert_lse_close(logsumexp(x, axis=axis, num_threads=num_threads), x, axis)
    xs = np.moveaxis(x, axis, -1).reshape(-1, shape[axis])
    ys = np.moveaxis(y, axis, -1).reshape(-1, shape[axis])
    ref = reference.log_softmax(xs.astype(np.longdouble), axis=-1)
    rows = np.arange(xs.shape[0])
    top = np.argmax(xs, axis=1)
    got, want = ys[rows, top].astype(np.longdouble), ref[rows, top]
    tiny = np.longdouble(np.finfo(dtype).tiny)
    normal = -want >= tiny
    err = np.abs(got - want) / np.spacing(np.abs(want).astype(dtype)).astype(np.longdouble)
    assert normal.any() and err[normal].max() <= 4, err[normal].max()
    assert np.all((got[~normal] == 0) | (np.abs(got - want)[~normal] <= 4 * tiny))


def test_zero_d_and_scalars(isa):
    assert logsumexp(3.0) == 3.0 and np.ndim(logsumexp(3.0)) == 0
    assert softmax(3.0) == 1.0 and softmax(np.float32(3)).dtype == np.float32
    assert logsumexp(np.ones((2, 3)), axis=None) == pytest.approx(1 + np.log(6))


FAMILY = [log_softmax, softmax, logsumexp]


@pytest.mark.parametrize("fn", FAMILY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", [np.array(2.5), np.array(-1.5, np.float32), 3,
                               np.array(1.0, np.float16), np.array(2.0, np.longdouble)],
                         ids=["float64", "float32", "int", "float16", "longdouble"])
def test_0d_input_out_is_checked(fn, x):
    """A 0-d input takes a 0-d out of the result dtype: another shape (also one of one
    element) is a ValueError, another dtype a TypeError, and nothing is written."""
    rt = result_dtype(np.asarray(x).dtype)
    expected = {log_softmax: 0.0, softmax: 1.0, logsumexp: float(x)}[fn]
    for axis in (None, 0, -1):
        for shape in [(3,), (1,), (1, 1)]:
            out = np.full(shape, 7, dtype=rt)
            with pytest.raises(ValueError, match="shape"):
                fn(x, axis=axis, out=out)
            assert np.all(out == 7), (axis, shape)
        for wrong in (np.float32 if rt != np.float32 else np.float64, np.int64):
            out = np.full((), 7, dtype=wrong)
            with pytest.raises(TypeError, match="dtype"):
                fn(x, axis=axis, out=out)
            assert out == 7, (axis, wrong)
        out = np.full((), 7, dtype=rt)
        assert fn(x, axis=axis, out=out) is out
        assert out == expected


def _reduced(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _longdouble_oracle(fn, x, axis, where=None):
    """fn (log_softmax, softmax or logsumexp) written out in plain long-double NumPy,
    with the README's rules.  Per slice (masked-out entries taken as -inf): m the max,
    d = x - m, s = sum(exp(d)); log_softmax d - log(s), softmax exp(d) / s, logsumexp
    m + log(s).  A slice with a NaN or +inf, or of only -inf, has no finite max:
    log_softmax and softmax all NaN; logsumexp NaN (a NaN), +inf (+inf, no NaN), -inf
    (only -inf).  Masked-out entries: -inf (log_softmax), 0 (softmax)."""
    x = np.asarray(x, dtype=np.longdouble)
    axes = _reduced(x.ndim, axis)
    if where is not None:
        x = np.where(where, x, -np.inf)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore", under="ignore"):
        m = np.max(x, axis=axes, keepdims=True)
        finite_max = np.isfinite(m)
        d = x - np.where(finite_max, m, 0)
        s = np.sum(np.exp(d), axis=axes, keepdims=True)
        if fn is logsumexp:
            has_nan = np.isnan(x).any(axis=axes, keepdims=True)
            has_pinf = np.isposinf(x).any(axis=axes, keepdims=True)
            r = np.where(finite_max, m + np.log(s),
                         np.where(has_nan, np.nan, np.where(has_pinf, np.inf, -np.inf)))
            return np.squeeze(r, axis=axes)
        if fn is log_softmax:
            y, masked = np.where(finite_max, d - np.log(s), np.nan), -np.inf
        else:
            y, masked = np.where(finite_max, np.exp(d) / s, np.nan), 0
    if where is not None:
        y = np.where(where, y, masked)
    return y


def _longdouble_input():
    rng = np.random.default_rng(40)
    x = (rng.standard_normal((5, 6, 7)) * 4).astype(np.longdouble)
    x[0, 1, 2] = np.nan
    x[1, 2, 3] = np.inf
    x[2, 3, :] = -np.inf          # a last-axis slice of only -inf
    x[3, :, 4] = -np.inf
    x[4, ::2, 1::3] = -np.inf     # -inf entries among finite ones
    x[3, 0, 0] = 45               # a dominant element
    # beyond float64's range where long double is wider
    big = np.longdouble(1e300)
    if np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp:
        big *= np.longdouble(1e300)
    x[4, 5, 6] = big
    x[4, 5, 5] = -big
    return x


@pytest.mark.parametrize("fn", FAMILY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis,masked", [(a, False) for a in (-1, 0, 1, (0, 2), None, ())]
                         + [(a, True) for a in (-1, 0, (0, 2), None)], ids=str)
def test_longdouble_against_an_oracle_written_here(fn, axis, masked, no_warnings):
    """np.longdouble input goes through the NumPy twins (reference.py), so comparing
    it with them compares them with themselves: here against the oracle above,
    within a few long-double ulps (log_softmax relative to the scale 1 + |x - m| +
    log(s), softmax relatively to that, logsumexp to 1 + |value|)."""
    x = _longdouble_input()
    where = None
    if masked:
        where = np.random.default_rng(41).random(x.shape) < 0.7
        where[1, 1, :] = False        # a fully masked last-axis slice
        where[0, 1, 2] = False        # the NaN masked out
    eps = np.finfo(np.longdouble).eps
    got = fn(x, axis=axis, where=where)
    want = _longdouble_oracle(fn, x, axis, where)
    assert np.asarray(got).dtype == np.longdouble
    assert np.shape(got) == want.shape
    got = np.asarray(got)
    xm = x if where is None else np.where(where, x, -np.inf)
    label = f"{fn.__name__} axis={axis} where={masked}"
    if fn is log_softmax:
        assert_ulps(got, xm, _reduced(x.ndim, axis), k=4, ref=want, msg=label)
        return
    # NaN, infinities and (softmax) zeros exactly; the rest within the bound
    fin = np.isfinite(want) & (want != 0)
    assert np.array_equal(got[~fin], want[~fin], equal_nan=True), label
    with np.errstate(invalid="ignore", over="ignore"):
        if fn is softmax:
            scale = error_scale(xm, _reduced(x.ndim, axis))
            bound = 8 * eps * want[fin] * scale[fin]
        else:
            bound = 4 * eps * (1 + np.abs(want[fin]))
    err = np.abs(got[fin] - want[fin])
    assert np.all(err <= bound), (
        f"{label}: off by {float(np.max(err / bound)):.3g} x the bound")


def test_logsumexp_past_2_31_elements_of_a_broadcast(no_warnings):
    """2**31 + 37 elements that take no memory (a broadcast scalar, stride 0): the
    counts are 64-bit, in one long row shared by two threads and in two rows of that
    length.  Against v + log(n) in float64."""
    n = 2**31 + 37
    eps = np.finfo(np.float32).eps

    def check(got, v):
        want = np.float64(v) + np.log(np.float64(n))
        assert abs(np.float64(got) - want) <= 4 * eps * (1 + abs(want)), (got, want)

    r = logsumexp(np.broadcast_to(np.float32(0.5), (n,)), num_threads=2)
    assert np.ndim(r) == 0 and r.dtype == np.float32
    check(r, 0.5)
    x = np.broadcast_to(np.array([[0.5], [-1.25]], np.float32), (2, n))
    r = logsumexp(x, axis=1, num_threads=2)
    assert r.shape == (2,) and r.dtype == np.float32
    check(r[0], 0.5)
    check(r[1], -1.25)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [5, 17, 12_347], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_special_values(dtype, n, mode, num_threads, isa, no_warnings):
    """softmax NaN exactly where log_softmax is, else its exp; logsumexp as the twin."""
    names, x = _special_rows(n, dtype, np.random.default_rng(n))
    axis = 1
    if mode == "columns":
        x = np.ascontiguousarray(x.T)
        axis = 0
    ls = log_softmax(x, axis=axis, num_threads=num_threads)
    p = softmax(x, axis=axis, num_threads=num_threads)
    _assert_exp_of(p, ls, x, axis, msg=str(names))
    # and the oracle: the twin in long double (NaN slices, 0 for -inf entries)
    assert_softmax_close(p, x, axis, msg=f"softmax of {names}")
    for nt in (1, num_threads):
        r = logsumexp(x, axis=axis, num_threads=nt)
        assert_lse_close(r, x, axis, msg=f"logsumexp of {names}")


@LONG_COLUMNS
@pytest.mark.parametrize("func", [softmax, logsumexp], ids=lambda f: f.__name__)
def test_long_float_columns_of_every_kind(func, dtype, n, isa, no_warnings):
    """softmax and logsumexp of the columns of test_log_softmax's test of the same name
    (float32 from 2048 rows, float64 from 1024: one pass along the rows in the AVX-512
    and AVX2 builds): against the long-double twin, special values exactly, softmax
    NaN where log_softmax is and its exp elsewhere, and each column's bits the same
    with 1 to 3 threads, at other offsets among the vectors, strided, reversed, into a
    strided out=, in place (softmax) and along a middle axis."""
    x, names, _ = long_columns(dtype, n)
    r = func(x, axis=0, num_threads=1)
    if func is softmax:
        assert_softmax_close(r, x, 0, msg=f"softmax of {names}")
        _assert_exp_of(r, log_softmax(x, axis=0), x, 0, msg=str(names))
    else:
        assert_lse_close(r, x, 0, msg=f"logsumexp of {names}")
    for nt in (2, 3):
        assert np.array_equal(func(x, axis=0, num_threads=nt), r, equal_nan=True), nt
    for k in (1, 5, 17):
        assert np.array_equal(func(x[:, k:], axis=0), r[..., k:], equal_nan=True), k
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    assert np.array_equal(func(wide, axis=0, num_threads=2), r, equal_nan=True)
    assert np.array_equal(func(x[:, ::-1], axis=0)[..., ::-1], r, equal_nan=True)
    out = np.full(r.shape[:-1] + (2 * r.shape[-1],), 7, dtype=dtype)[..., ::2]
    func(x, axis=0, out=out)
    assert np.array_equal(out, r, equal_nan=True)
    if func is softmax:
        z = x.copy()
        softmax(z, axis=0, out=z)
        assert np.array_equal(z, r, equal_nan=True)
    mid = np.stack([x[:, 3:], x[:, :-3]])
    rm = func(mid, axis=1, num_threads=2)
    assert np.array_equal(rm[0], r[..., 3:], equal_nan=True)
    assert np.array_equal(rm[1], r[..., :-3], equal_nan=True)


@pytest.mark.parametrize("func", [softmax, logsumexp], ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape,axis", [((3, 200_000), -1), ((200_000, 3), 0),
                                        ((4, 100, 300), 1), ((1, 300_000), -1),
                                        ((40_000, 8), -1)], ids=str)
def test_result_does_not_depend_on_threads(func, shape, axis, isa):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32) * 6
    one = func(x, axis=axis, num_threads=1)
    for nt in (2, 3, 8):
        assert np.array_equal(func(x, axis=axis, num_threads=nt), one)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [65, 100, 1000, 2048, 4096], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_logsumexp_rows_of_a_matrix_match_each_row_alone(dtype, n, num_threads, isa,
                                                         no_warnings):
    """The rows of a matrix run through a pipeline (one loop carries a row's exp-sum
    and the next row's max); a row alone does not.  Same bits, with rows of no finite
    max, a NaN and a +inf at the ends of the threads' blocks and in between."""
    x = _pipeline_rows(n, dtype)
    x[51, 7] = 60                   # a dominant element
    lse = logsumexp(x, axis=-1, num_threads=num_threads)
    alone = np.array([logsumexp(r, num_threads=1) for r in x], dtype=dtype)
    assert np.array_equal(lse, alone, equal_nan=True)
    assert np.isnan(lse[[32, 68]]).all() and lse[33] == np.inf
    assert lse[0] == lse[31] == lse[69] == -np.inf
    clean = [r for r in range(70) if r not in (0, 31, 32, 33, 68, 69)]
    want = reference.logsumexp(x[clean].astype(np.longdouble), axis=-1)
    np.testing.assert_allclose(lse[clean], want.astype(dtype),
                               rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [128, 1000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_logsumexp_rows_beyond_the_caches_match_each_row_alone(dtype, n, num_threads, isa,
                                                               no_warnings):
    """Inputs of 3 MiB per thread and more: the pipeline also fetches rows ahead.  The
    same bits as each row alone."""
    base = _pipeline_rows(n, dtype)
    x = np.tile(base, (-(-(3 << 20) * num_threads // base.nbytes) + 1, 1))
    x[-2, 7] = 60
    lse = logsumexp(x, axis=-1, num_threads=num_threads)
    alone = np.array([logsumexp(r, num_threads=1) for r in x], dtype=dtype)
    assert np.array_equal(lse, alone, equal_nan=True)
    assert np.array_equal(lse[:70], logsumexp(base, axis=-1), equal_nan=True)


def _chunked_rows(n, dtype):
    """_pipeline_rows of n, with rows whose chunks (of CHUNK elements) hold the special
    values: a chunk of -inf, a NaN in a chunk of -inf, finite values in the last chunk
    alone, the max in a later chunk than the first."""
    x = _pipeline_rows(n, dtype)
    c = CHUNK[np.dtype(dtype).type]
    x[3, c:2 * c] = -np.inf
    x[4, c:2 * c] = -np.inf
    x[4, min(c + 5, n - 1)] = np.nan
    x[5, :-5] = -np.inf
    x[6, -3] = 40
    x[7, 0] = 40
    return x


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [CHUNK[np.float32] + 1, 10_000, 3 * CHUNK[np.float32] + 5],
                         ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_softmax_rows_of_several_chunks_match_each_row_alone(dtype, n, num_threads, isa,
                                                             no_warnings):
    """Contiguous rows of several chunks keep their exps in a buffer of a row (exp once
    an element); a row alone with two threads shares its chunks out between them and
    computes the exps again in its write; a strided row goes chunk by chunk through a
    gathered copy.  The same bits every way, and in place, with the special values in
    and across chunks; against the long-double twin."""
    x = _chunked_rows(n, dtype)
    p = softmax(x, axis=-1, num_threads=num_threads)
    alone = np.stack([softmax(r, num_threads=2) for r in x])
    assert np.array_equal(p, alone, equal_nan=True)
    wide = np.zeros((x.shape[0], 2 * n), dtype=dtype)
    wide[:, ::2] = x
    assert np.array_equal(softmax(wide[:, ::2], axis=-1, num_threads=num_threads), p,
                          equal_nan=True)
    z = x.copy()
    assert softmax(z, axis=-1, out=z, num_threads=num_threads) is z
    assert np.array_equal(z, p, equal_nan=True)
    ls = log_softmax(x, axis=-1, num_threads=num_threads)
    assert np.array_equal(np.isnan(p), np.isnan(ls))
    assert np.isnan(p[[0, 4, 31, 32, 33]]).all() and not np.isnan(p[[3, 5, 6, 7]]).any()
    assert (p[3, CHUNK[np.dtype(dtype).type]:2 * CHUNK[np.dtype(dtype).type]] == 0).all()
    assert_softmax_close(p, x, -1, msg=f"n={n}")


@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_softmax_rows_from_memory_match_each_row_alone(num_threads, isa, no_warnings):
    """Inputs of 128 MiB and more: the rows of several chunks also fetch the next row
    during a row's write.  The same bits as each row alone."""
    n = 4 * CHUNK[np.float32] + 3
    base = _chunked_rows(n, np.float32)
    x = np.tile(base, (-(-(128 << 20) // base.nbytes) + 1, 1))
    x[-1] = -np.inf
    x[-3, 9] = 50
    p = softmax(x, axis=-1, num_threads=num_threads)
    for r in list(range(70)) + list(range(x.shape[0] - 75, x.shape[0])):
        assert np.array_equal(p[r], softmax(x[r], num_threads=1), equal_nan=True), r
    assert np.array_equal(p[70:140], p[:70], equal_nan=True)
    assert_softmax_close(p[:70], x[:70], -1)


# ---------------------------------------------------------------------------------------
# arguments

def test_dtype_rules():
    assert softmax(np.arange(4)).dtype == np.float64
    assert softmax(np.ones(3, np.float16)).dtype == np.float16
    assert logsumexp(np.ones(3, np.float16)).dtype == np.float16
    assert logsumexp(np.ones((2, 3), np.int32)).dtype == np.float64
    assert logsumexp(np.ones(3, np.float64), dtype=np.float32).dtype == np.float32
    assert logsumexp(np.ones(3, np.longdouble)).dtype == np.longdouble
    assert softmax(np.ones(3, np.longdouble)).dtype == np.longdouble
    with pytest.raises(TypeError, match="complex"):
        softmax(np.ones(3, complex))
    with pytest.raises(TypeError, match="floating"):
        logsumexp(np.ones(3), dtype=np.int32)


def test_float16_large_values_without_warning(no_warnings):
    x = np.array([60000, 60000, 0], dtype=np.float16)
    assert logsumexp(x) == np.float16(60000 + np.log(2))
    np.testing.assert_allclose(softmax(x), [0.5, 0.5, 0])


@pytest.mark.parametrize("axis", [2, -3, (0, 2)], ids=str)
def test_axis_errors(axis):
    with pytest.raises(AxisError):
        softmax(np.ones((2, 3)), axis=axis)
    with pytest.raises(AxisError):
        logsumexp(np.ones((2, 3)), axis=axis)
    with pytest.raises(ValueError):
        logsumexp(np.ones((2, 3)), axis=(1, 1))


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, 1, 2, (0, 2), None], ids=str)
def test_logsumexp_out(axis, keepdims, isa):
    x = np.random.default_rng(1).standard_normal((4, 5, 6))
    want = logsumexp(x, axis=axis, keepdims=keepdims)
    buf = np.zeros(tuple(2 * n for n in np.shape(want)) or (), dtype=np.float64)
    out = buf[(slice(None, None, 2),) * np.ndim(want)] if np.ndim(want) else buf
    r = logsumexp(x, axis=axis, keepdims=keepdims, out=out)
    assert r is out
    np.testing.assert_array_equal(out, want)
    with pytest.raises(ValueError, match="shape"):
        logsumexp(x, axis=axis, keepdims=keepdims, out=np.zeros((7,)))
    out32 = np.zeros(np.shape(want), np.float32)
    with pytest.raises(TypeError, match="dtype"):
        logsumexp(x, axis=axis, keepdims=keepdims, out=out32)
    r = logsumexp(x, axis=axis, keepdims=keepdims, out=out32, dtype=np.float32)
    np.testing.assert_allclose(r, want, rtol=1e-6)


def _laid_out(rng, shape, dtype, layout):
    """Scores of `shape` in a C or Fortran array, or strided or reversed views."""
    base = (rng.standard_normal(tuple(2 * n for n in shape)) * 4).astype(dtype)
    return {"C": np.ascontiguousarray(base[tuple(slice(0, n) for n in shape)]),
            "F": np.asfortranarray(base[tuple(slice(0, n) for n in shape)]),
            "strided": base[tuple(slice(None, None, 2) for n in shape)],
            "reversed": base[tuple(slice(n - 1, None, -1) for n in shape)]}[layout]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed"])
def test_small_calls_match_the_argument_layer(dtype, layout, isa, no_warnings):
    """Small calls (x, an int axis, at most out= and keepdims) go from the compiled
    public functions straight to the kernels; with dtype= the same call goes through
    the argument layer.  Both give the same bits, the same shape and type (a scalar
    for logsumexp's full reduction), into a fresh array or into out=."""
    rng = np.random.default_rng(5)
    for shape in [(1,), (7,), (64, 10), (3, 1, 9), (5, 4, 33), (2, 70, 3)]:
        x = _laid_out(rng, shape, dtype, layout)
        x0 = x.copy()
        for axis in range(-x.ndim, x.ndim):
            for f in (log_softmax, softmax):
                fast, full = f(x, axis), f(x, axis, dtype=dtype)
                assert type(fast) is np.ndarray and fast.dtype == dtype
                assert np.array_equal(fast, full, equal_nan=True), (f.__name__, shape, axis)
                out = np.full(shape, 7, dtype)
                assert f(x, axis, out=out) is out
                if f is log_softmax:
                    assert np.array_equal(out, full), (shape, axis)
                else:
                    # softmax's row kernels write a contiguous row as exp(x - max) / sum
                    # and a strided one as the exp of the log-probability, whose
                    # rounding grows with |log p|: not the same bits (out is C-ordered,
                    # the fresh result in x's order)
                    tol = 4 * np.finfo(dtype).eps * full * (1 + np.abs(np.log(full)))
                    assert np.all(np.abs(out - full) <= tol), (shape, axis)
            for keepdims in (False, True):
                fast = logsumexp(x, axis, keepdims=keepdims)
                full = logsumexp(x, axis, keepdims=keepdims, dtype=dtype)
                assert type(fast) is type(full) and np.shape(fast) == np.shape(full)
                assert np.asarray(fast).dtype == dtype
                assert np.array_equal(fast, full), (shape, axis, keepdims)
                out = np.full(np.shape(full), 7, dtype)
                assert logsumexp(x, axis, keepdims=keepdims, out=out) is out
                assert np.array_equal(out, full), (shape, axis, keepdims)
        assert np.array_equal(x, x0)  # the input untouched


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", ["C", "F", "strided", "reversed"])
def test_large_direct_calls_match_the_argument_layer(dtype, layout, isa, no_warnings):
    """Calls past the small ones (65536 elements and more) also go from the compiled
    public functions straight to the kernels, on the argument layer's thread count and
    into its kind of fresh output: the same bits, shape, dtype and memory order as the
    same call through the argument layer (dtype=), into a fresh array, into out= and
    in place, for every thread count asked; the input untouched."""
    rng = np.random.default_rng(6)
    for shape in [(70001,), (300, 257), (3, 129, 200)]:
        x = _laid_out(rng, shape, dtype, layout)
        x0 = x.copy()
        for axis in range(-x.ndim, x.ndim):
            for nt in (None, 1, 2):
                for f in (log_softmax, softmax):
                    fast = f(x, axis, num_threads=nt)
                    full = f(x, axis, dtype=dtype, num_threads=nt)
                    assert type(fast) is np.ndarray and fast.dtype == dtype
                    assert fast.strides == full.strides, (f.__name__, shape, axis)
                    assert np.array_equal(fast, full), (f.__name__, shape, axis, nt)
                    out = np.full(shape, 7, dtype)
                    assert f(x, axis, out=out, num_threads=nt) is out
                    want = f(x, axis, out=np.full(shape, 7, dtype), dtype=dtype,
                             num_threads=nt)
                    assert np.array_equal(out, want), (f.__name__, shape, axis, nt)
                for keepdims in (False, True):
                    fast = logsumexp(x, axis, keepdims=keepdims, num_threads=nt)
                    full = logsumexp(x, axis, keepdims=keepdims, dtype=dtype,
                                     num_threads=nt)
                    assert type(fast) is type(full) and fast.shape == full.shape
                    assert fast.dtype == dtype
                    assert np.array_equal(fast, full), (shape, axis, keepdims, nt)
                    out = np.full(full.shape, 7, dtype)
                    r = logsumexp(x, axis, keepdims=keepdims, out=out, num_threads=nt)
                    assert r is out and np.array_equal(out, full)
            # in place: the input's own memory, through the direct call and through
            # the argument layer
            y1, y2 = x.copy(order="K"), x.copy(order="K")
            assert log_softmax(y1, axis, out=y1) is y1
            log_softmax(y2, axis, out=y2, dtype=dtype)
            assert np.array_equal(y1, y2), (shape, axis)
        assert np.array_equal(x, x0)  # the input untouched


def test_large_direct_calls_take_the_output_cache(no_warnings):
    """A fresh output of 8 MiB and more from the compiled path comes from the output
    cache (its base an _outbuf block), starting where x does within a cache line for
    the column kernels (axis 0 of a C-ordered x), on a line for the rows."""
    from logsoftmax_c import _outbuf
    old = logsoftmax_c.set_output_cache(64 << 20)
    try:
        base = np.random.default_rng(7).standard_normal(2048 * 1100 + 16).astype(
            np.float32)
        k = (16 - base.ctypes.data % 64) % 64 // 4
        x = base[k:k + 2048 * 1100].reshape(2048, 1100)  # 16 bytes past a line
        assert x.nbytes >= 8 << 20 and x.ctypes.data % 64 == 16
        for axis, offset in ((-1, 0), (0, x.ctypes.data % 64)):
            for f in (log_softmax, softmax):
                y = f(x, axis)
                assert isinstance(y.base, _outbuf._Block), (f.__name__, axis)
                assert y.flags.c_contiguous and y.ctypes.data % 64 == offset
                assert np.array_equal(y, f(x, axis, dtype=np.float32))
    finally:
        logsoftmax_c.set_output_cache(old)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
def test_short_rows_of_whole_vectors_take_the_row_kernels(dtype, fn, isa, no_warnings):
    """Rows of up to 64 elements go through tiles, but for the lengths where the row
    kernels are faster (AVX2: rows of whole vectors from a length per function and
    dtype), through those: then every row of a batch has the bits of the row alone,
    whatever the batch's layout.  Either way within a few ulps of the reference."""
    from logsoftmax_c import _api, _dispatch
    f = {"log_softmax": log_softmax, "softmax": softmax, "logsumexp": logsumexp}[fn]
    op = {"log_softmax": _api._OP_LOG_SOFTMAX, "softmax": _api._OP_SOFTMAX,
          "logsumexp": _api._OP_LSE}[fn]
    rng = np.random.default_rng(9)
    taken = []
    for n in (8, 12, 16, 24, 32, 40, 48, 56, 60, 64):
        x = (rng.standard_normal((37, n)) * 4).astype(dtype)
        y = f(x, axis=-1)
        want = getattr(reference, fn)(x.astype(np.longdouble), axis=-1)
        scale = np.maximum(1, np.abs(want)) if fn != "softmax" else np.abs(want) * (
            1 + np.abs(np.log(want)))
        assert np.all(np.abs(y - want) <= 8 * np.finfo(dtype).eps * scale), n
        if _dispatch.kernels.rows_untiled(n, op, dtype == np.float64):
            taken.append(n)
            alone = np.stack([f(r, axis=-1) for r in x])
            assert np.array_equal(y, alone), n
            # a strided batch (the strided rows' kernel) and one at an odd offset
            buf = np.empty((37, 2 * n), dtype)
            buf[:, ::2] = x
            assert np.array_equal(f(buf[:, ::2], axis=-1), alone) or fn == "softmax", n
            odd = np.empty(37 * n + 1, dtype)[1:].reshape(37, n)
            odd[...] = x
            assert np.array_equal(f(odd, axis=-1), alone), n
    if _dispatch.current_isa() == "avx2":
        # the lengths measured faster through the row kernels (lsc_rows_untiled)
        assert taken == {("log_softmax", np.float32): [64],
                         ("softmax", np.float32): [32, 40, 48, 56, 64],
                         ("logsumexp", np.float32): [48, 56, 64],
                         ("log_softmax", np.float64): [24, 32, 40, 48, 56, 60, 64],
                         ("softmax", np.float64): [16, 24, 32, 40, 48, 56, 60, 64],
                         ("logsumexp", np.float64): [16, 24, 32, 40, 48, 56, 60, 64]}[fn, dtype]
    else:
        assert taken == []


def test_softmax_out_in_place_and_strided(isa):
    x = np.random.default_rng(2).standard_normal((6, 50))
    want = softmax(x, axis=0)
    out = np.zeros((12, 50))[::2]
    assert softmax(x, axis=0, out=out) is out
    np.testing.assert_array_equal(out, want)
    y = x.copy()
    assert softmax(y, axis=0, out=y) is y
    np.testing.assert_array_equal(y, want)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros_like(x)
        ro.flags.writeable = False
        softmax(x, out=ro)


# ---------------------------------------------------------------------------------------
# where= masks

MASK_CASES = [
    ((4, 9), -1), ((4, 9), 0), ((3, 70), -1), ((70, 3), 0), ((2, 3, 5), (0, 2)),
    ((2, 3, 5), None), ((5, 5000), -1), ((5000, 5), 0), ((7,), 0),
]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", MASK_CASES, ids=str)
def test_where_matches_twins(shape, axis, dtype, isa, no_warnings):
    rng = np.random.default_rng(len(shape) + 7)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    w = rng.random(shape) < 0.6
    # one fully masked slice, and one where only one entry counts
    red = _reduced_axes(len(shape), axis)
    if len(red) < len(shape):
        other = [d for d in range(len(shape)) if d not in red]
        w[tuple(0 if d in other else slice(None) for d in range(len(shape)))] = False
        sl = tuple(1 if d in other else slice(None) for d in range(len(shape)))
        w[sl] = False
        w[sl][(0,) * len(red)] = True
    ls = log_softmax(x, axis=axis, where=w)
    p = softmax(x, axis=axis, where=w)
    r = logsumexp(x, axis=axis, where=w)
    ct = np.float64 if np.dtype(dtype).kind != "f" else dtype
    assert ls.dtype == p.dtype == np.asarray(r).dtype == np.dtype(ct)
    assert np.all(ls[~w] == -np.inf) and np.all(p[~w] == 0)
    assert not np.isnan(ls).any() and not np.isnan(p).any() and not np.isnan(r).any()
    xl = x.astype(np.longdouble)
    with np.errstate(invalid="ignore"):
        want = reference.log_softmax(xl, axis=axis, where=w)
    k = 3 * np.finfo(ct).eps * (1 + np.abs(np.where(w, xl, 0)).max())
    fin = np.isfinite(want)
    assert np.array_equal(np.isfinite(ls), fin)
    assert np.all(np.abs(ls[fin] - want[fin]) <= 4 * k)
    assert_softmax_close(p, x, axis, where=w, k=16, msg="softmax where")
    assert_lse_close(r, xl.astype(ct) if ct == np.float16 else x, axis, where=w, k=8)
    if len(red) < len(shape):
        assert np.all(p[tuple(0 if d in other else slice(None)
                              for d in range(len(shape)))] == 0)
    # as if the masked entries were absent: a slice's softmax sums to 1
    fully = ~np.any(w, axis=axis, keepdims=True)
    sums = np.sum(p.astype(np.float64), axis=axis, keepdims=True)
    np.testing.assert_allclose(sums[~fully], 1, rtol=2e-3 if dtype == np.float16 else 1e-5)


def test_where_broadcasts_and_masks_padded_sequences(isa, no_warnings):
    """A batch of padded sequences: positions past each length take no part."""
    lengths = np.array([3, 1, 0, 5])
    scores = np.random.default_rng(0).standard_normal((4, 5))
    scores[0, 4] = np.nan  # padding may hold anything
    scores[1, 2] = np.inf
    w = np.arange(5)[None, :] < lengths[:, None]
    p = softmax(scores, where=w)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(p[i, :n], reference.softmax(scores[i, :n]) if n else [])
        assert np.all(p[i, n:] == 0)
    # a (5,) mask broadcast over the batch: disallowed tokens
    allowed = np.array([True, False, True, True, False])
    ls = log_softmax(scores[2:], where=allowed)
    assert np.all(ls[:, ~allowed] == -np.inf)
    np.testing.assert_allclose(ls[:, allowed], reference.log_softmax(scores[2:, allowed]))
    np.testing.assert_allclose(logsumexp(scores[2:], where=allowed),
                               reference.logsumexp(scores[2:, allowed]))


def test_where_fully_masked_gives_no_nan(isa, no_warnings):
    x = np.array([[1.0, np.nan, np.inf], [-np.inf, -np.inf, 2.0]])
    w = np.zeros_like(x, dtype=bool)
    assert np.all(log_softmax(x, where=w) == -np.inf)
    assert np.all(softmax(x, where=w) == 0)
    assert np.all(logsumexp(x, where=w) == -np.inf)
    assert logsumexp(x, axis=None, where=w) == -np.inf
    w[1, 2] = True
    np.testing.assert_array_equal(softmax(x, where=w), [[0, 0, 0], [0, 0, 1]])
    assert softmax(np.float64(2.0), where=np.bool_(False)) == 0


def test_where_in_place_and_errors():
    x = np.random.default_rng(0).standard_normal((3, 4))
    w = np.array([True, True, False, True])
    want = log_softmax(x, where=w)
    y = x.copy()
    assert log_softmax(y, out=y, where=w) is y
    np.testing.assert_array_equal(y, want)
    with pytest.raises(TypeError, match="boolean"):
        softmax(x, where=np.ones(4, dtype=int))
    with pytest.raises(ValueError, match="broadcast"):
        softmax(x, where=np.ones(3, dtype=bool))


def test_no_warnings_anywhere(isa):
    x = np.array([[np.inf, np.nan, -np.inf], [-np.inf, -np.inf, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        softmax(x)
        logsumexp(x)
        logsumexp(x, axis=0)
        softmax(x.astype(np.float16))


@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("mask_shape", [(2000, 1), (2000,), (2000, 2000)], ids=str)
def test_where_no_input_sized_temporaries(fn, axis, mask_shape):
    """A broadcast mask is never materialised, and logsumexp works block by block:
    the extra memory is at most the user's own mask (its negation) and one block."""
    import tracemalloc
    import logsoftmax_c
    f = getattr(logsoftmax_c, fn)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 2000))
    where = rng.random(mask_shape) < 0.8
    f(x, axis=axis, where=where)  # warm up
    tracemalloc.start()
    try:
        y = f(x, axis=axis, where=where)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - y.nbytes <= where.nbytes + 0.1 * x.nbytes, f"{peak / 2**20:.1f} MiB"
    want = getattr(reference, fn)(x, axis=axis, where=where)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", logsoftmax_c.__all__)
def test_public_callables_have_their_docstrings(name):
    """Every public function and class documents itself, the shared parameters
    included where a function has them (help() and IDEs show these)."""
    obj = getattr(logsoftmax_c, name)
    if name == "__version__":
        return
    doc = obj.__doc__ or ""
    assert len(doc.strip()) > 40, name
    if name in ("log_softmax", "softmax", "logsumexp"):
        assert "x : array_like" in doc and "where : array_like of bool" in doc
        assert "{common}" not in doc
