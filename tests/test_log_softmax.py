"""log_softmax: correctness against the reference twin, and the API's semantics."""
import numpy as np
import pytest
from numpy.exceptions import AxisError

import logsoftmax_c
from logsoftmax_c import log_softmax, logsumexp, reference, softmax

from conftest import (FLOAT_DTYPES, LARGE_SHAPES, LAYOUTS, SMALL_SHAPES, arrays,
                      assert_ulps, error_scale, make_layout, ref_longdouble, result_dtype,
                      shape_id, ulp_errors)

ALL_SHAPES = SMALL_SHAPES + list(LARGE_SHAPES)
CHUNK = {np.float32: 4096, np.float64: 2048}


def _same(a, b):
    """Equal values, NaN where NaN, same dtype and shape."""
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


# ---------------------------------------------------------------------------------------
# the sweep: every dtype, shape, layout and axis against the long-double twin

@pytest.mark.parametrize("shape", ALL_SHAPES, ids=shape_id)
def test_sweep_matches_longdouble_reference(shape, isa, no_warnings):
    failures = []
    for x, axis, label in arrays(shapes=[shape]):
        before = np.array(x, copy=True)
        try:
            y = log_softmax(x, axis=axis)
            rt = result_dtype(x.dtype)
            assert isinstance(y, np.ndarray), f"returned {type(y).__name__}"
            assert y.dtype == rt, f"dtype {y.dtype}, expected {rt}"
            assert y.shape == x.shape, f"shape {y.shape}, expected {x.shape}"
            assert _same(np.asarray(x), before), "the input was modified"
            assert_ulps(y, x, axis, k=4, msg="vs long double")
        except AssertionError as e:
            failures.append(f"{label}: {e}")
        except Exception as e:  # an unexpected exception is a failure of this case too
            failures.append(f"{label}: raised {type(e).__name__}: {e}")
    assert not failures, f"{len(failures)} failing cases, e.g.:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("shape", SMALL_SHAPES, ids=shape_id)
def test_sweep_matches_twin_in_result_dtype(shape, isa):
    """The twin computed in the result dtype (float64 for ints, float32 for float16)."""
    failures = []
    for x, axis, label in arrays(shapes=[shape], seed=1):
        y = log_softmax(x, axis=axis)
        r = reference.log_softmax(x, axis=axis)
        try:
            assert r.dtype == y.dtype, f"dtype {y.dtype}, twin {r.dtype}"
            assert np.array_equal(np.isnan(y), np.isnan(r)), "NaN positions differ"
            # both err by a few eps*scale from the truth
            assert_ulps(y, x, axis, k=8, ref=r, msg="vs twin")
        except AssertionError as e:
            failures.append(f"{label}: {e}")
    assert not failures, f"{len(failures)} failing cases, e.g.:\n" + "\n".join(failures[:10])


def test_default_axis_is_last(isa):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5, 6))
    y = log_softmax(x)
    assert _same(y, log_softmax(x, axis=-1))
    assert_ulps(y, x, -1, k=4)
    # and it is not axis 0
    assert not np.allclose(y, log_softmax(x, axis=0))


# ---------------------------------------------------------------------------------------
# axes

@pytest.mark.parametrize("axis", [(0, 2), (2, 0), (-1, 0), (0, 1, 2), (1, 2), None],
                         ids=str)
@pytest.mark.parametrize("layout", ["C", "F", "step", "reversed", "transposed"])
def test_tuple_axes_normalise_jointly(axis, layout, isa):
    rng = np.random.default_rng(3)
    x = make_layout(rng.standard_normal((3, 4, 5)), layout)
    y = log_softmax(x, axis=axis)
    assert_ulps(y, x, axis, k=4)
    # the joint slices sum to one
    total = np.sum(np.exp(y.astype(np.longdouble)), axis=axis)
    np.testing.assert_allclose(total.astype(np.float64), 1.0, rtol=1e-13)


def test_axis_none_is_all_axes(isa):
    x = np.random.default_rng(4).standard_normal((3, 4, 5))
    y = log_softmax(x, axis=None)
    assert_ulps(y, x, None, k=4)
    assert_ulps(log_softmax(x, axis=(0, 1, 2)), x, None, k=4)
    np.testing.assert_allclose(np.exp(y).sum(), 1.0, rtol=1e-13)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)], ids=shape_id)
def test_empty_axis_tuple_normalises_each_element_alone(shape, isa):
    x = np.random.default_rng(5).standard_normal(shape) * 100
    for dt in (np.float16, np.float32, np.float64, np.int64):
        y = log_softmax(x.astype(dt), axis=())
        assert y.dtype == result_dtype(dt)
        assert np.array_equal(y, np.zeros(shape)), (dt, y)


@pytest.mark.parametrize("axis", [2, -3, 5, (0, 2), (0, -3)], ids=str)
def test_axis_out_of_range_raises_axis_error(axis):
    with pytest.raises(AxisError):
        log_softmax(np.ones((3, 4)), axis=axis)


@pytest.mark.parametrize("axis", [(0, 0), (1, -1), (0, 1, 0)], ids=str)
def test_repeated_axes_raise_value_error(axis):
    with pytest.raises(ValueError):
        log_softmax(np.ones((3, 4)), axis=axis)


@pytest.mark.parametrize("axis", [1.0, True, False, np.bool_(True), (True,), (0, 1.0)],
                         ids=repr)
def test_axis_must_be_an_integer(axis):
    # a bool is not an axis (TypeError, as NumPy's reductions), on the small call's
    # path and the argument layer's alike
    for shape in ((3, 4), (300, 400)):
        for f in (log_softmax, softmax, logsumexp):
            with pytest.raises(TypeError):
                f(np.ones(shape), axis=axis)


@pytest.mark.parametrize("axis", [1, -2, (0, 1), 5], ids=str)
def test_zero_d_input_axis_out_of_range_names_dimension_0(axis):
    for f in (log_softmax, softmax, logsumexp):
        with pytest.raises(AxisError, match="dimension 0"):
            f(np.array(1.5), axis=axis)


def test_numpy_integer_axis(isa):
    x = np.random.default_rng(6).standard_normal((3, 4))
    assert _same(log_softmax(x, axis=np.int64(0)), log_softmax(x, axis=0))


# ---------------------------------------------------------------------------------------
# layouts

LAYOUT_NAMES = ["C", "F", "step rows", "step cols", "reversed rows", "reversed both",
                "transposed", "broadcast rows", "broadcast cols", "broadcast scalar",
                "view in bigger buffer", "unaligned"]


def _layout_case(name, dtype):
    """A (6, 10) array of `dtype` in the named layout, and the values it holds."""
    rng = np.random.default_rng(7)
    base = (rng.standard_normal((6, 10)) * 3).astype(dtype)
    base[2, 3] = base[2, 7]  # a tie
    if name == "C":
        x = base.copy()
    elif name == "F":
        x = np.asfortranarray(base)
    elif name == "step rows":
        x = np.repeat(base, 2, axis=0)[::2]
    elif name == "step cols":
        x = np.repeat(base, 3, axis=1)[:, ::3]
    elif name == "reversed rows":
        x = base[::-1].copy()[::-1]
    elif name == "reversed both":
        x = base[::-1, ::-1].copy()[::-1, ::-1]
    elif name == "transposed":
        x = base.T.copy().T
    elif name == "broadcast rows":
        x = np.broadcast_to(base[:1], (6, 10))
    elif name == "broadcast cols":
        x = np.broadcast_to(base[:, :1], (6, 10))
    elif name == "broadcast scalar":
        x = np.broadcast_to(base[0, 0], (6, 10))
    elif name == "view in bigger buffer":
        buf = np.zeros((20, 40), dtype=dtype)
        x = buf[3:15:2, 5:35:3]
        x[...] = base
    elif name == "unaligned":
        raw = np.zeros(base.nbytes + 1, dtype=np.uint8)
        x = raw[1:].view(dtype).reshape(base.shape)
        x[...] = base
        assert not x.flags.aligned
    else:
        raise ValueError(name)
    if not name.startswith("broadcast"):
        assert np.array_equal(x, base)
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("axis", [0, 1, -1, None, (0, 1), ()], ids=str)
@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_any_layout(name, axis, dtype, isa):
    x = _layout_case(name, dtype)
    y = log_softmax(x, axis=axis)
    assert y.dtype == dtype and y.shape == x.shape
    assert_ulps(y, x, axis, k=4, msg=name)
    out = np.empty(x.shape, dtype=dtype)
    assert log_softmax(x, axis=axis, out=out) is out
    assert_ulps(out, x, axis, k=4, msg=f"{name} with out=")


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">f2", ">i4", ">i8", "<f8"])
def test_non_native_byte_order(dtype, isa):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((5, 9)) * 5).astype(dtype)
    if np.dtype(dtype).kind == "i":
        x = rng.integers(-9, 9, (5, 9)).astype(dtype)
    for axis in (0, 1, None):
        y = log_softmax(x, axis=axis)
        assert y.dtype == result_dtype(np.dtype(dtype).newbyteorder("="))
        assert y.dtype.isnative
        assert_ulps(y, x, axis, k=4, msg=f"{dtype} axis={axis}")



@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(64, 10), (300, 400)], ids=shape_id)
def test_out_in_the_other_byte_order(dtype, shape, isa):
    """out= of the result dtype in the other byte order is written by a conversion, as
    NumPy's ufuncs do; the values are the same."""
    rng = np.random.default_rng(81)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    swapped = np.dtype(dtype).newbyteorder("S")
    for axis in (0, 1):
        out = np.full(shape, 7, swapped)
        assert log_softmax(x, axis=axis, out=out) is out
        assert_ulps(out, x, axis, k=4)
        # the same bits as into a native out= (which the sweeps check against the
        # references)
        out = np.full(shape, 7, swapped)
        assert softmax(x, axis=axis, out=out) is out
        np.testing.assert_array_equal(out, softmax(x, axis=axis, out=np.empty_like(x)))
        red = np.full(shape[1 - axis], 7, swapped)
        assert logsumexp(x, axis=axis, out=red) is red
        np.testing.assert_array_equal(red, logsumexp(x, axis=axis))
        want = reference.logsumexp(x.astype(np.longdouble), axis=axis)
        np.testing.assert_allclose(red, want, rtol=8 * np.finfo(dtype).eps, atol=0)
    with pytest.raises(TypeError, match="dtype"):
        log_softmax(x, out=np.empty(shape, np.dtype(np.float16).newbyteorder("S")))

# ---------------------------------------------------------------------------------------
# dtypes

@pytest.mark.parametrize("dtype,expected", [
    (np.float16, np.float16), (np.float32, np.float32), (np.float64, np.float64),
    (np.longdouble, np.longdouble), (np.bool_, np.float64), (np.int8, np.float64),
    (np.int16, np.float64), (np.int32, np.float64), (np.int64, np.float64),
    (np.uint8, np.float64), (np.uint16, np.float64), (np.uint32, np.float64),
    (np.uint64, np.float64),
], ids=lambda d: np.dtype(d).name)
def test_result_dtype_rules(dtype, expected, isa):
    x = np.array([[0, 1, 1, 2], [3, 0, 1, 1]]).astype(dtype)
    y = log_softmax(x)
    assert y.dtype == np.dtype(expected)
    assert_ulps(y, x, -1, k=4)


def test_float16_computes_in_float32(isa):
    x = (np.random.default_rng(9).standard_normal((4, 300)) * 3).astype(np.float16)
    y = log_softmax(x)
    assert y.dtype == np.float16
    expected = log_softmax(x.astype(np.float32)).astype(np.float16)
    # one float32 result rounded to float16: at most one float16 ulp apart
    assert np.all(np.abs(y.astype(np.float64) - expected.astype(np.float64))
                  <= np.spacing(np.abs(expected)).astype(np.float64))
    assert_ulps(y, x, -1, k=2)


def _half_sweep():
    """float32 values for the float16 cast: every float16 value, the midpoints between
    neighbours (ties, to even) and a float32 ulp either side of them, the overflow
    boundary (65504 .. 65520), values far below the subnormals, random bit patterns."""
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    h = h[np.isfinite(h)].astype(np.float32)
    h = np.unique(h)
    mid = ((h[:-1].astype(np.float64) + h[1:]) / 2).astype(np.float32)
    up = np.nextafter(mid, np.float32(np.inf))
    down = np.nextafter(mid, np.float32(-np.inf))
    edges = np.array([65504, 65519.996, 65520, 65536, 1e6, 3e38, 1e-30, 1e-45, 2**-25,
                      2**-24, 1.5 * 2**-24, 2**-14, np.inf], np.float32)
    bits = np.random.default_rng(16).integers(0, 2**32, 200_000, dtype=np.uint64)
    rand = bits.astype(np.uint32).view(np.float32)
    v = np.concatenate([h, mid, up, down, edges, -edges, rand])
    return v[np.isfinite(v) | np.isinf(v)]


def test_float16_conversions_match_numpys_casts(isa, no_warnings):
    """The kernels' float16 <-> float32 conversions (F16C where the build has it, else
    bit by bit): every float16 value to float32, and float32 values around every
    float16 rounding boundary, ties, the overflow and subnormal ranges and random bit
    patterns to float16, bit for bit NumPy's casts; a NaN stays a NaN, with its sign.
    Sizes off the vector width reach the scalar tails."""
    from logsoftmax_c import _dispatch
    conv = _dispatch.kernels.convert_half
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    for n in (h.size, h.size - 3):
        got = np.empty(n, np.float32)
        conv(h[:n], got, 2)
        want = h[:n].astype(np.float32)
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan)
        assert np.array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))
        assert np.array_equal(np.signbit(got[nan]), np.signbit(want[nan]))
    v = _half_sweep()
    nanv = np.array([np.nan, -np.nan], np.float32)
    for src in (v, v[:-5], nanv):
        got = np.empty(src.size, np.float16)
        conv(src, got, 3)
        with np.errstate(over="ignore"):
            want = src.astype(np.float16)
        nan = np.isnan(want)
        assert np.array_equal(np.isnan(got), nan)
        assert np.array_equal(got[~nan].view(np.uint16), want[~nan].view(np.uint16))
        assert np.array_equal(np.signbit(got[nan]), np.signbit(want[nan]))
    with pytest.raises(TypeError):
        conv(v, np.empty(v.size, np.float64), 1)
    with pytest.raises(ValueError):
        conv(v[::2], np.empty(v[::2].size, np.float16), 1)


@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
def test_float16_every_value_as_input(fn, isa, no_warnings):
    """Every finite float16 value as input, in rows (axis -1) and columns (axis 0), C
    order (the library's own conversions) and a strided view (NumPy's): the bits of the
    float32 computation of NumPy's cast, cast back by NumPy.  Also float16 into a
    float32 result (dtype=float32) and into an out= of float16."""
    f = getattr(logsoftmax_c, fn)
    h = np.arange(65536, dtype=np.uint16).view(np.float16)
    x = h[np.isfinite(h)].reshape(256, 248)
    rng = np.random.default_rng(5)
    x = x[:, rng.permutation(248)]
    for axis in (-1, 0):
        for xv in (x, np.repeat(x, 2, axis=1)[:, ::2]):
            y = f(xv, axis=axis)
            w32 = f(xv.astype(np.float32), axis=axis)
            with np.errstate(over="ignore"):
                want = w32.astype(np.float16)
            assert y.dtype == np.float16
            assert np.array_equal(y, want, equal_nan=True), (axis, xv.strides)
            got32 = f(xv, axis=axis, dtype=np.float32)
            assert np.array_equal(got32, w32, equal_nan=True)
        if fn != "logsumexp":
            out = np.empty_like(x)
            assert f(x, axis=axis, out=out) is out
            assert np.array_equal(out, f(x, axis=axis), equal_nan=True)


@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
def test_float16_bands_along_the_first_axis(fn, isa, monkeypatch, no_warnings):
    """float16 in C order along axes that take in the first and leave out the last
    goes band by band of the last axes through a float32 buffer (here of about 1000
    elements a thread: bands of 64 columns, a last narrower one, or all the columns
    where there are fewer): the bits of the float32 computation of NumPy's cast, on 1-3
    threads, fresh, into an out= and in place (logsumexp: with and without keepdims,
    and into a float32 out=).  The extra memory is the buffer, not a float32 copy of
    the input.  Both the first and the last axis reduced: the whole-copy path."""
    import tracemalloc

    from logsoftmax_c import _api
    monkeypatch.setattr(_api, "_HALF_BLOCK", 1000)
    monkeypatch.setattr(_api, "_HALF_ONE_BLOCK", 0)
    f = getattr(logsoftmax_c, fn)
    rng = np.random.default_rng(22)
    cases = [((300, 1000), 0), ((9, 10, 50), (0, 1)), ((6, 3, 5, 7), (0, 2)),
             ((7, 5, 300), 0), ((50, 2), 0), ((40, 130), 0), ((1, 70), 0),
             ((5, 4, 3), (0, 2))]
    for shape, axis in cases:
        x = (rng.standard_normal(shape) * 6).astype(np.float16)
        x.flat[::97] = -np.inf
        x.flat[3] = np.nan
        kws = [{"keepdims": False}, {"keepdims": True}] if fn == "logsumexp" else [{}]
        for kw in kws:
            with np.errstate(over="ignore"):
                w32 = f(x.astype(np.float32), axis=axis, **kw)
                want = w32.astype(np.float16)
            for nt in (1, 2, 3):
                got = f(x, axis=axis, num_threads=nt, **kw)
                assert got.dtype == np.float16 and got.shape == want.shape
                assert np.array_equal(got, want, equal_nan=True), (shape, axis, nt, kw)
            out = np.full(want.shape, 7, np.float16)
            assert f(x, axis=axis, out=out, **kw) is out
            assert np.array_equal(out, want, equal_nan=True), (shape, axis, kw)
            if fn == "logsumexp":
                o32 = np.full(want.shape, 7, np.float32)
                assert f(x, axis=axis, out=o32, dtype=np.float32, **kw) is o32
                assert np.array_equal(o32, w32, equal_nan=True), (shape, axis, kw)
            else:
                z = x.copy()
                assert f(z, axis=axis, out=z) is z
                assert np.array_equal(z, want, equal_nan=True), (shape, axis)
    x = (rng.standard_normal((2000, 1000)) * 6).astype(np.float16)
    f(x, axis=0)
    tracemalloc.start()
    try:
        y = f(x, axis=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < y.nbytes + x.nbytes // 2, (peak, x.nbytes)


@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
def test_float16_blocks_of_the_first_axis(fn, isa, monkeypatch, no_warnings):
    """float16 in C order along axes other than the first goes block by block of the
    first axis through a float32 buffer (here of about 1000 elements a thread, so that
    small arrays take many blocks, a last short one, and blocks of one index bigger
    than the buffer); rows of the row kernels (the last axis, 65-4096 elements, two
    rows or more) go through a buffer per thread, each thread's share of the rows in
    such blocks (of one row where a row is bigger, fewer threads than rows): the bits
    of the float32 computation of NumPy's cast, fresh, into an out=, in place, along a
    middle axis, two axes at once (gathered slices) and on 1-3 threads (logsumexp:
    fresh and with keepdims).  An out= that overlaps x otherwise takes the whole-copy
    path: the same bits.  (A first axis reduced: the next test.)"""
    from logsoftmax_c import _api
    monkeypatch.setattr(_api, "_HALF_BLOCK", 1000)
    monkeypatch.setattr(_api, "_HALF_ONE_BLOCK", 0)
    f = getattr(logsoftmax_c, fn)
    rng = np.random.default_rng(21)
    cases = [((37, 300), -1), ((9, 10, 50), 1), ((5, 4000), -1), ((6, 3, 5, 7), (1, 3)),
             ((7, 1, 9), (1, 2)), ((40, 33), 1), ((2, 300), -1), ((1, 300), -1),
             ((3, 5, 1000), -1)]
    for shape, axis in cases:
        x = (rng.standard_normal(shape) * 6).astype(np.float16)
        x.flat[::97] = -np.inf
        x.flat[5] = np.nan
        with np.errstate(over="ignore"):
            want = f(x.astype(np.float32), axis=axis).astype(np.float16)
        for nt in (1, 2, 3):
            assert np.array_equal(f(x, axis=axis, num_threads=nt), want,
                                  equal_nan=True), (shape, axis, nt)
        if fn == "logsumexp":
            with np.errstate(over="ignore"):
                wk = f(x.astype(np.float32), axis=axis, keepdims=True).astype(np.float16)
            assert np.array_equal(f(x, axis=axis, keepdims=True), wk, equal_nan=True)
            continue
        out = np.full_like(x, 7)
        assert f(x, axis=axis, out=out) is out
        assert np.array_equal(out, want, equal_nan=True), (shape, axis)
        z = x.copy()
        assert f(z, axis=axis, out=z) is z
        assert np.array_equal(z, want, equal_nan=True), (shape, axis)
    # an out= sharing x's memory at an offset
    x = (rng.standard_normal((30, 40)) * 6).astype(np.float16)
    with np.errstate(over="ignore"):
        want0 = f(x.astype(np.float32), axis=0).astype(np.float16)
        want1 = f(x.astype(np.float32), axis=1).astype(np.float16)
    assert np.array_equal(f(x, axis=0), want0)
    if fn == "logsumexp":
        return
    buf = np.concatenate([x.ravel(), np.zeros(40, np.float16)])
    xs, ys = buf[40:].reshape(30, 40), buf[:-40].reshape(30, 40)
    xs[...] = x
    assert f(xs, axis=1, out=ys) is ys
    assert np.array_equal(ys, want1)


def _float16_oracle(x, axis):
    """log_softmax in float64 NumPy, rounded to float16 (values below -65520 to -inf)."""
    x64 = np.asarray(x, dtype=np.float64)
    m = x64.max(axis=axis, keepdims=True)
    r = x64 - m - np.log(np.sum(np.exp(x64 - m), axis=axis, keepdims=True))
    with np.errstate(over="ignore"):
        return r.astype(np.float16)


def _assert_float16_matches(y, want, msg):
    assert y.dtype == np.float16 and y.shape == want.shape, msg
    assert np.array_equal(np.isneginf(y), np.isneginf(want)), f"{msg}: {y} vs {want}"
    fin = np.isfinite(want)
    assert np.isfinite(y[fin]).all(), msg
    w = want[fin].astype(np.float64)
    err = np.abs(y[fin].astype(np.float64) - w)
    # one float16 ulp (at most |w| * 2**-10, or the smallest subnormal)
    assert np.all(err <= np.abs(w) * 2.0**-10 + 2.0**-24), f"{msg}: {y} vs {want}"


def test_float16_results_below_its_range_are_minus_inf_without_warning(isa, no_warnings):
    """A float16 log-probability below -65504 (computed in float32) is -inf, with no
    overflow warning from the final float16 cast: along rows, columns, with
    dtype=float16, into out=."""
    y = log_softmax(np.array([60000, -60000], np.float16))
    assert y.dtype == np.float16 and y[0] == 0 and y[1] == -np.inf
    x = np.array([[60000, -60000, -10000, -5000, 100],
                  [-65504, 65504, 1, 2, 3],
                  [1, 2, 3, 4, 5]], np.float16)
    want = _float16_oracle(x, 1)
    # -inf (-120000, -70000, -131008) next to finite values down to -65503
    assert np.isneginf(want).sum() == 3 and np.isfinite(want).sum() == 12
    _assert_float16_matches(log_softmax(x, axis=1), want, "rows")
    xt = np.ascontiguousarray(x.T)
    _assert_float16_matches(log_softmax(xt, axis=0), want.T, "columns")
    out = np.full((3, 10), 7, np.float16)[:, ::2]
    assert log_softmax(x, axis=-1, out=out) is out
    _assert_float16_matches(out, want, "rows into a strided out")
    out = np.full((5, 3), 7, np.float16)
    assert log_softmax(xt, axis=0, out=out) is out
    _assert_float16_matches(out, want.T, "columns into out")
    # float32 input computed and returned in float16
    x32 = np.array([[1e5, -1e5, 0.0, 4e4], [3.0, 2.0, 1.0, 0.0]], np.float32)
    want32 = _float16_oracle(x32, 1)
    assert np.isneginf(want32).sum() == 2
    _assert_float16_matches(log_softmax(x32, dtype=np.float16), want32, "dtype=float16")
    out = np.full((4, 2), 7, np.float16)
    log_softmax(x32.T, axis=0, dtype=np.float16, out=out)
    _assert_float16_matches(out, want32.T, "dtype=float16 columns into out")
    # logsumexp's float16 result above 65504 is +inf, also without a warning
    r = logsumexp(x32[:, :1], axis=0, dtype=np.float16)
    assert r.dtype == np.float16 and r[0] == np.inf
    r = logsumexp(x32, axis=1, dtype=np.float16)
    assert r[0] == np.inf and r[1] == np.float16(3 + np.log1p(np.exp(-1) + np.exp(-2)
                                                                + np.exp(-3)))


def test_longdouble_input_gives_longdouble(isa):
    x = np.array([[1.0, 2.0, 3.0], [1e-3, -5.0, 7.0]], dtype=np.longdouble)
    y = log_softmax(x, axis=1)
    assert y.dtype == np.longdouble
    assert_ulps(y, x, 1, k=4)
    # more precise than the float64 result where long double is wider
    assert_ulps(y.astype(np.float64), x, 1, k=4)


@pytest.mark.parametrize("xlike,expected", [
    ([1.0, 2.0, 3.0], np.float64),
    ([[1, 2], [3, 5]], np.float64),
    ((1, 2, 2), np.float64),
    ([True, False], np.float64),
    (2.5, np.float64),
    (7, np.float64),
    (np.float32(2.5), np.float32),
], ids=["list", "nested int list", "tuple", "bool list", "python float", "python int",
        "numpy scalar"])
def test_array_likes_accepted(xlike, expected, isa):
    y = log_softmax(xlike)
    assert isinstance(y, np.ndarray)
    assert y.dtype == expected
    x = np.asarray(xlike)
    assert y.shape == x.shape
    assert_ulps(y, x, -1, k=4)


def test_object_with_array_protocol(isa):
    class Wrapper:
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a if dtype is None else self.a.astype(dtype)

    x = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, -1.0]], dtype=np.float32)
    y = log_softmax(Wrapper(x), axis=1)
    assert y.dtype == np.float32
    assert_ulps(y, x, 1, k=4)


@pytest.mark.parametrize("x", [
    np.array([1 + 2j, 3j]),
    np.array([1 + 2j], dtype=np.complex64),
    np.array([1.0, "a"], dtype=object),
    np.array([1.0, 2.0], dtype=object),
    np.array(["ab", "cd"]),
    np.array([b"ab"]),
    np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
    np.array([1, 2], dtype="timedelta64[s]"),
], ids=lambda a: str(a.dtype))
def test_unsupported_input_dtype_raises_type_error_naming_it(x):
    # also with dtype=, which NumPy's ufuncs do not take as leave to cast complex,
    # strings, datetimes or objects either
    for f in (log_softmax, softmax, logsumexp):
        for kw in ({}, {"dtype": np.float64}, {"dtype": np.float32}):
            with pytest.raises(TypeError) as info:
                f(x, **kw)
            msg = str(info.value)
            assert str(x.dtype) in msg or x.dtype.name in msg, (f, kw, msg)


def test_unsupported_list_input_raises_type_error():
    with pytest.raises(TypeError):
        log_softmax([1j, 2])


@pytest.mark.parametrize("xdtype", [np.float16, np.float32, np.float64, np.int32, np.bool_],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble, "f4",
                                   "float64"],
                         ids=lambda d: np.dtype(d).name)
def test_dtype_argument_picks_compute_and_result_type(xdtype, dtype, isa):
    rng = np.random.default_rng(10)
    x = (rng.standard_normal((3, 50)) * 4).astype(xdtype)
    for axis in (0, 1):
        y = log_softmax(x, axis=axis, dtype=dtype)
        assert y.dtype == np.dtype(dtype)
        k = 2 if np.dtype(dtype) == np.float16 else 4
        # computed in `dtype`: the input is converted first
        xc = x.astype(np.float32 if np.dtype(dtype) == np.float16 else dtype)
        assert_ulps(y, xc, axis, k=k)


def test_dtype_float32_on_float64_input_computes_in_float32(isa):
    x = np.array([1.0, 1.0 + 1e-12, 0.5])
    y = log_softmax(x, dtype=np.float32)
    # in float32 the first two inputs are equal, so are their outputs
    assert y[0] == y[1]
    assert_ulps(y, x.astype(np.float32), -1, k=4)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex128, object, "U3",
                                   np.uint8], ids=str)
def test_non_float_dtype_argument_raises_type_error(dtype):
    with pytest.raises(TypeError):
        log_softmax(np.ones(3), dtype=dtype)


# ---------------------------------------------------------------------------------------
# out=

def _out_arrays(shape, dtype):
    """(name, out) in several layouts, filled with a sentinel."""
    c = np.full(shape, 7.0, dtype=dtype)
    f = np.full(shape, 7.0, dtype=dtype, order="F")
    big = np.full((shape[0] * 2 + 1, shape[1] * 3), 7.0, dtype=dtype)
    v = big[1::2, ::3]
    r = np.full(shape, 7.0, dtype=dtype)[::-1, ::-1]
    return [("C", c), ("F", f), ("strided view", v), ("reversed", r)]


@pytest.mark.parametrize("out_layout", ["C", "F", "strided view", "reversed"])
@pytest.mark.parametrize("xdtype,rdtype", [
    (np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float16),
    (np.int32, np.float64), (np.bool_, np.float64), (">f8", np.float64),
    (np.longdouble, np.longdouble),
], ids=lambda d: np.dtype(d).str)
@pytest.mark.parametrize("axis", [0, 1, None], ids=str)
def test_out_any_strides(out_layout, xdtype, rdtype, axis, isa):
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((9, 13)) * 4).astype(xdtype)
    if np.dtype(xdtype).kind in "ib":
        x = rng.integers(0, 2 if np.dtype(xdtype).kind == "b" else 9, (9, 13)).astype(xdtype)
    out = dict(_out_arrays(x.shape, rdtype))[out_layout]
    y = log_softmax(x, axis=axis, out=out)
    assert y is out
    k = 2 if np.dtype(rdtype) == np.float16 else 4
    assert_ulps(out, x, axis, k=k)
    assert_ulps(out, x, axis, k=k, ref=log_softmax(x, axis=axis).astype(np.longdouble))


def test_out_with_dtype_argument(isa):
    x = np.random.default_rng(12).standard_normal((4, 6))
    out = np.empty((4, 6), dtype=np.float32)
    assert log_softmax(x, dtype=np.float32, out=out) is out
    assert_ulps(out, x.astype(np.float32), -1, k=4)


@pytest.mark.parametrize("layout", ["C", "F", "step", "reversed", "transposed", "embedded"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("axis", [0, 1, -1, None, (0, 2)], ids=str)
def test_out_in_place(layout, dtype, axis, isa):
    v = np.random.default_rng(13).standard_normal((4, 7, 5)) * 5
    v[1, 2, 3] = v[1, 2, 4]  # a tie
    x = make_layout(v.astype(dtype), layout)
    original = np.array(x, copy=True)
    y = log_softmax(x, axis=axis, out=x)
    assert y is x
    assert_ulps(x, original, axis, k=4)


@pytest.mark.parametrize("fn", [log_softmax, softmax], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_in_place_same_bits_as_into_another_array(fn, dtype, isa):
    """Rows whose length is not a multiple of the vector width end in a part of a
    vector, which the kernels take with the last whole vector again where the row has
    one: in place, those lanes already hold results.  Row lengths around every vector
    width, and a dominant class (the dominated sums), give the same bits in place,
    into another array and fresh, and match the reference."""
    rng = np.random.default_rng(16)
    for n in list(range(1, 36)) + [63, 65, 1000, 4095, 4097]:
        v = (rng.standard_normal((6, n)) * 4).astype(dtype)
        v[1, 0] += 40  # a row whose max dominates
        v[2, :] = v[2, :] - 30
        v[2, n // 2] = 5  # another, its max mid-row
        want = fn(v)
        out = np.empty_like(v)
        assert fn(v, out=out) is out
        y = v.copy()
        assert fn(y, out=y) is y
        assert _same(out, want) and _same(y, want), (n, dtype)
        if fn is log_softmax:
            assert_ulps(y, v, -1, k=4, msg=f"n={n}")
        else:
            # relatively within 4 eps of the size of the terms (error_scale: the
            # rounding of x - max alone, at 40 below the max, is 20 eps of a
            # probability; a float64 twin makes it as well, so the long-double one)
            ref = reference.softmax(v.astype(np.longdouble))
            bound = 4 * np.finfo(dtype).eps * ref * error_scale(v, -1)
            assert (np.abs(y - ref) <= bound).all(), f"n={n}"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_out_same_memory_other_view_object(dtype, isa):
    buf = (np.random.default_rng(14).standard_normal((6, 11)) * 3).astype(dtype)
    original = buf.copy()
    x = buf[:, :]
    out = buf[...]
    assert x is not out
    y = log_softmax(x, axis=1, out=out)
    assert y is out
    assert_ulps(buf, original, 1, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shift", [1, -1, 5, 4096], ids=str)
def test_out_partially_overlapping_input(dtype, shift, isa):
    """out shares memory with x, offset: the result is that of the original x."""
    n = 9000
    buf = (np.random.default_rng(15).standard_normal(n + abs(shift)) * 3).astype(dtype)
    if shift > 0:
        x, out = buf[:n], buf[shift:shift + n]
    else:
        x, out = buf[-shift:], buf[:n]
    original = x.copy()
    y = log_softmax(x, out=out)
    assert y is out
    assert_ulps(out, original, -1, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_out_overlapping_transposed_input(dtype, isa):
    """out is the transpose of x (same memory, other strides)."""
    a = (np.random.default_rng(16).standard_normal((8, 8)) * 3).astype(dtype)
    original = a.copy()
    out = a.T
    y = log_softmax(a, axis=1, out=out)
    assert y is out
    # the log-softmax of the rows of the original a, written down the columns of a
    assert_ulps(out, original, 1, k=4)
    assert_ulps(a, original.T, 0, k=4)


def test_out_wrong_shape_raises_value_error_and_writes_nothing():
    x = np.ones((3, 4))
    for shape in [(4, 3), (3, 4, 1), (12,), (3, 5)]:
        out = np.full(shape, 7.0)
        with pytest.raises(ValueError):
            log_softmax(x, out=out)
        assert np.all(out == 7.0)


@pytest.mark.parametrize("out_dtype", [np.float32, np.float16, np.int64, np.longdouble,
                                       np.complex128], ids=lambda d: np.dtype(d).name)
def test_out_wrong_dtype_raises_type_error_and_writes_nothing(out_dtype):
    x = np.ones((3, 4))
    out = np.full((3, 4), 7, dtype=out_dtype)
    with pytest.raises(TypeError):
        log_softmax(x, out=out)
    assert np.all(out == 7)


def test_out_dtype_is_checked_against_result_dtype():
    # integer input computes in float64: a float32 out is refused
    out = np.full(3, 7.0, dtype=np.float32)
    with pytest.raises(TypeError):
        log_softmax(np.array([1, 2, 3]), out=out)
    assert np.all(out == 7.0)
    # float32 input with dtype=float64: float32 out refused
    out = np.full(3, 7.0, dtype=np.float32)
    with pytest.raises(TypeError):
        log_softmax(np.ones(3, np.float32), dtype=np.float64, out=out)
    assert np.all(out == 7.0)


def test_out_read_only_raises_value_error_and_writes_nothing():
    x = np.ones((3, 4))
    out = np.full((3, 4), 7.0)
    out.flags.writeable = False
    with pytest.raises(ValueError):
        log_softmax(x, out=out)
    assert np.all(out == 7.0)
    # in place on a read-only input
    with pytest.raises(ValueError):
        log_softmax(out, out=out)
    assert np.all(out == 7.0)
    b = np.broadcast_to(np.full(4, 7.0), (3, 4))
    with pytest.raises(ValueError):
        log_softmax(x, out=b)
    assert np.all(b == 7.0)


@pytest.mark.parametrize("out", [[7.0] * 4, (7.0,) * 4, 3.0, None.__class__],
                         ids=["list", "tuple", "float", "type"])
def test_out_not_ndarray_raises_type_error(out):
    x = np.ones(4)
    with pytest.raises(TypeError):
        log_softmax(x, out=out)
    if isinstance(out, list):
        assert out == [7.0] * 4


def test_errors_leave_out_unchanged_for_bad_arguments():
    x = np.ones((3, 4))
    out = np.full((3, 4), 7.0)
    with pytest.raises(AxisError):
        log_softmax(x, axis=3, out=out)
    with pytest.raises(ValueError):
        log_softmax(x, num_threads=0, out=out)
    with pytest.raises(TypeError):
        log_softmax(x, dtype=np.int64, out=out)
    assert np.all(out == 7.0)


# ---------------------------------------------------------------------------------------
# the input is never modified

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, ">f8"],
                         ids=str)
@pytest.mark.parametrize("axis", [0, 1, None], ids=str)
def test_input_not_modified(dtype, axis, isa):
    x = (np.random.default_rng(17).standard_normal((50, 70)) * 3).astype(dtype)
    x[3, 4] = np.nan if x.dtype.kind == "f" else 0
    before = x.copy()
    log_softmax(x, axis=axis)
    log_softmax(x, axis=axis, num_threads=2)
    log_softmax(x, axis=axis, out=np.empty((50, 70), result_dtype(x.dtype)))
    assert np.array_equal(x, before, equal_nan=True)


# ---------------------------------------------------------------------------------------
# special values: NaN, +inf, -inf, huge finite; no RuntimeWarning

def _check_special(x, y, axis):
    """The special-value rules, slice by slice (x, y 2-D, slices along `axis`)."""
    xs = np.moveaxis(x, axis, -1)
    ys = np.moveaxis(y, axis, -1)
    for i in range(xs.shape[0]):
        row, out = xs[i], ys[i]
        finite = np.isfinite(row)
        if np.isnan(row).any() or np.isposinf(row).any() or not finite.any():
            assert np.all(np.isnan(out)), f"slice {i}: expected all NaN, got {out}"
            continue
        ninf = np.isneginf(row)
        assert not np.isnan(out).any(), (
            f"slice {i} (finite values and {ninf.sum()} -inf, no NaN/+inf): "
            f"{np.isnan(out).sum()} of {out.size} outputs are NaN")
        assert np.all(np.isneginf(out[ninf])), f"slice {i}: -inf entries not -inf"
        # the rest is exactly the log_softmax of the finite part
        assert_ulps(out[~ninf], row[~ninf], -1, k=4, msg=f"slice {i} finite part")


def _special_rows(n, dtype, rng):
    """Rows of length n with special values; names for the messages."""
    dtype = np.dtype(dtype)
    big = 1e30 if dtype == np.float32 else 1e300
    chunk = CHUNK[dtype.type]
    rows = {}
    base = lambda: (rng.standard_normal(n) * 3).astype(dtype)  # noqa: E731
    rows["plain"] = base()
    r = base(); r[n // 2] = np.nan; rows["nan middle"] = r
    r = base(); r[-1] = np.nan; rows["nan last"] = r
    r = base(); r[0] = np.inf; rows["+inf first"] = r
    r = base(); r[n // 3] = np.inf; r[n // 3 + 1] = -np.inf; rows["+inf and -inf"] = r
    r = base(); r[::3] = -np.inf; rows["-inf every third"] = r
    r = base(); r[1:] = -np.inf; rows["only first finite"] = r
    r = base(); r[:-1] = -np.inf; rows["only last finite"] = r
    rows["all -inf"] = np.full(n, -np.inf, dtype=dtype)
    r = np.full(n, -np.inf, dtype=dtype); r[n // 2] = np.nan; rows["-inf and nan"] = r
    r = np.zeros(n, dtype=dtype); r[0] = big; r[-1] = -big; rows["huge"] = r
    r = np.zeros(n, dtype=dtype); r[:] = -big; r[n // 2] = big; rows["huge negative"] = r
    r = np.full(n, big, dtype=dtype); rows["all huge"] = r
    r = np.full(n, -big, dtype=dtype); r[-1] = 0; rows["huge all below"] = r
    r = base(); r[-1] = 50; rows["max last"] = r
    r = rng.integers(-3, 4, n).astype(dtype); rows["ties"] = r
    if n > 3 * chunk:
        r = base(); r[chunk + 7] = np.nan; rows["nan in chunk 1"] = r
        r = base(); r[2 * chunk + 1] = np.inf; rows["+inf in chunk 2"] = r
        r = base(); r[chunk:2 * chunk] = -np.inf; rows["chunk 1 all -inf"] = r
        r = base(); r[chunk:2 * chunk] = -np.inf; r[chunk + 5] = np.nan
        rows["nan in an all -inf chunk"] = r
        r = base(); r[:-5] = -np.inf; rows["finite only in last chunk"] = r
        r = base(); r[-3] = 40; rows["max in last chunk"] = r
        r = base(); r[5] = 40; r[-3] = 40; rows["tied max in first and last chunk"] = r
        r = base(); r[:chunk] = -np.inf; r[-1] = -np.inf; rows["first chunk all -inf"] = r
        r = base(); r[chunk:] = -big; r[chunk - 1] = big; rows["huge across chunks"] = r
    names = list(rows)
    return names, np.stack([rows[k] for k in names])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [2, 5, 17, 1000, 12_347], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_special_values(dtype, n, mode, num_threads, isa, no_warnings):
    """Rows (axis -1) and columns of a C array (axis 0, the column kernels)."""
    names, x = _special_rows(n, dtype, np.random.default_rng(n))
    axis = 1
    if mode == "columns":
        x = np.ascontiguousarray(x.T)
        axis = 0
    before = x.copy()
    y = log_softmax(x, axis=axis, num_threads=num_threads)
    assert np.array_equal(x, before, equal_nan=True)
    try:
        _check_special(x, y, axis)
        assert_ulps(y, x, axis, k=4)
    except AssertionError as e:
        raise AssertionError(f"rows: {names}\n{e}") from None


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [17, 12_347], ids=lambda n: f"n={n}")
def test_special_values_one_long_row_at_a_time(dtype, n, isa, no_warnings):
    """A single row: with 2 threads the chunks of the row are shared out."""
    names, x = _special_rows(n, dtype, np.random.default_rng(n + 1))
    for name, row in zip(names, x):
        for nt in (1, 2):
            y = log_softmax(row[None, :], num_threads=nt)
            try:
                _check_special(row[None, :], y, 1)
                assert_ulps(y, row[None, :], 1, k=4)
            except AssertionError as e:
                raise AssertionError(f"row {name!r}, num_threads={nt}: {e}") from None


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [300, 3000, 12_347], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("width", [2, 16, 37, 600], ids=lambda w: f"width={w}")
def test_special_values_along_columns_at_every_depth(dtype, n, width, isa, no_warnings):
    """Axis 0 of a C array (n, width): in column k a special value or an all -inf stretch
    sits at a depth that grows with k, so every part of a long column is visited."""
    rng = np.random.default_rng(n + width)
    x = (rng.standard_normal((n, width)) * 3).astype(dtype)
    depth = (np.arange(width) * (n - 1)) // max(width - 1, 1)
    kinds = ("-inf before", "-inf after", "nan", "+inf", "max", "plain")
    for k in range(width):
        kind, p = kinds[k % len(kinds)], depth[k]
        if kind == "-inf before":
            x[:p, k] = -np.inf          # finite values only from depth p on
        elif kind == "-inf after":
            x[p + 1:, k] = -np.inf
        elif kind == "nan":
            x[p, k] = np.nan
        elif kind == "+inf":
            x[p, k] = np.inf
        elif kind == "max":
            x[p, k] = 40
    y = log_softmax(x, axis=0)
    try:
        _check_special(x, y, 0)
        assert_ulps(y, x, 0, k=4)
    except AssertionError as e:
        raise AssertionError(f"columns (kind, depth): "
                             f"{[(kinds[k % 6], int(depth[k])) for k in range(min(width, 12))]}"
                             f"\n{e}") from None


# the most rows that the column kernels take in bands of whole vectors, per build:
# n * vector bytes <= LSC_COL_PACK_BYTES (512 KiB; lsc_cols_banded in lsc_kernels_impl.h)
BANDED_ROWS = {"baseline": 32768, "avx2": 16384, "avx512": 8192}
# n values that only matter in the build whose limit they straddle (they are slow)
_LIMIT_ONLY_N = {16_384: "avx2", 32_768: "baseline", 32_769: "baseline"}


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 81, 300, 4096, 8192, 8193, 16_384, 16_385, 32_768,
                               32_769], ids=lambda n: f"n={n}")
def test_columns_same_bits_whatever_the_threads_bands_and_strides(dtype, n, isa,
                                                                  no_warnings):
    """Axis 0 of an (n, width) array goes through the column kernels: in bands of whole
    vectors of columns (several per block, a partial last vector, strided columns
    gathered) up to a number of rows that depends on the build (n * vector bytes
    <= 512 KiB: 8192 in the AVX-512 build, 16384 in the AVX2 build, 32768 in the
    baseline build), the general column kernel above it: n = 8192 / 8193,
    16384 / 16385 and 32768 / 32769 straddle those limits (16384, 32768 and 32769
    run only in the build whose limit they are).  (float32 in the AVX-512 and AVX2
    builds: one pass down the rows from n = 2048 on, float64 from n = 1024 on,
    lsc_cols_onepass.h.)  A column's
    bits depend on n alone: not on the thread count (which cuts the blocks), on where the column sits among
    the vectors, nor on the strides of x or of out; in place too.  Special values in
    some columns."""
    if n in _LIMIT_ONLY_N and _LIMIT_ONLY_N[n] != isa:
        pytest.skip(f"n={n} straddles the column limit of the {_LIMIT_ONLY_N[n]} "
                    "build only")
    if n in _LIMIT_ONLY_N:
        assert BANDED_ROWS[isa] in (n, n - 1)
    rng = np.random.default_rng(n)
    width = 3000 if n <= 300 else 150
    x = (rng.standard_normal((n, width)) * 4).astype(dtype)
    x[:, 3] = -np.inf                   # no finite max
    x[n // 2, 7] = np.nan
    x[n - 1, 11] = np.inf
    x[: n // 2, 13] = -np.inf           # finite values below a stretch of -inf
    x[0, 17] = 40                       # a dominant element
    x[:, 19] = x[:, 20]                 # ties across columns, and within one
    x[n // 3, 21] = x[:, 21].max()
    y = log_softmax(x, axis=0, num_threads=1)
    for nt in (2, 3):
        assert np.array_equal(log_softmax(x, axis=0, num_threads=nt), y, equal_nan=True), nt
    # the same columns in other lanes of the vectors, and at other strides
    assert np.array_equal(log_softmax(x[:, 5:], axis=0), y[:, 5:], equal_nan=True)
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    assert np.array_equal(log_softmax(wide, axis=0), y, equal_nan=True)
    assert np.array_equal(log_softmax(x[:, ::-1], axis=0)[:, ::-1], y, equal_nan=True)
    out = np.full((n, 2 * width), 7, dtype=dtype)[:, ::2]
    log_softmax(x, axis=0, out=out)
    assert np.array_equal(out, y, equal_nan=True)
    z = x.copy()
    log_softmax(z, axis=0, out=z)
    assert np.array_equal(z, y, equal_nan=True)
    cols = [3, 7, 11, 13, 17, 19, 20, 21, 0, width - 1]
    _check_special(x[:, cols], y[:, cols], 0)
    # (the accuracy of 64 columns for the long limit-only cases: the long-double check
    # of all of them takes seconds)
    assert_ulps(y[:, 22:86] if n in _LIMIT_ONLY_N else y[:, 22:],
                x[:, 22:86] if n in _LIMIT_ONLY_N else x[:, 22:], 0, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 12, 16, 17], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("inner", [40, 1024, 4093], ids=lambda w: f"inner={w}")
def test_short_columns_same_bits_as_the_bands(dtype, n, inner, isa, no_warnings):
    """Columns of up to 16 rows along a middle axis, contiguous in x and out, go through
    their whole vectors one group at a time (lsc_cols_short; up to 8 rows whatever the
    rows' distance, up to 16 where they are not a multiple of 1 KiB apart or the block is
    small: inner 1024 floats is 4 KiB a row, 4093 is not a multiple); the last partial
    vector, strided or reversed columns and logsumexp go through the bands.  The same
    bits either way, special values in some columns, log_softmax and softmax, 1 and 2
    threads, in place; against the long-double twin."""
    rng = np.random.default_rng(100 * n + inner)
    x = (rng.standard_normal((3, n, inner)) * 4).astype(dtype)
    x[:, :, 3] = -np.inf                        # no finite max
    x[1, n // 2, 7] = np.nan
    x[2, n - 1, 11] = np.inf
    x[:, : (n + 1) // 2, 13] = -np.inf          # finite values below -inf ones
    x[0, 0, 17] = 40                            # a dominant element
    x[:, :, 19] = x[:, :, 20]                   # ties across columns, and within one
    x[:, n // 3, 21] = x[:, :, 21].max()
    x[:, :, 23] = 0.0                           # all equal
    x[:, :, 25] = -90.0 if dtype == np.float32 else -712.0
    x[0, 0, 25] = 0                             # terms below the exp's normal range
    for fn in (log_softmax, softmax):
        y = fn(x, axis=1, num_threads=1)
        assert _same(fn(x, axis=1, num_threads=2), y)
        # strided and reversed columns (the bands), the columns one lane on
        wide = np.repeat(x, 2, axis=2)[:, :, ::2]
        assert _same(fn(wide, axis=1), y)
        assert _same(fn(x[:, :, ::-1], axis=1)[:, :, ::-1], y)
        assert _same(fn(x[:, :, 1:], axis=1), y[:, :, 1:])
        z = x.copy()
        fn(z, axis=1, out=z)
        assert _same(z, y)
        out = np.full((3, n, 2 * inner), 7, dtype=dtype)[:, :, ::2]
        fn(x, axis=1, out=out)
        assert _same(out, y)
    y = log_softmax(x, axis=1)
    cols = [3, 7, 11, 13, 17, 19, 20, 21, 23, 25, 0, inner - 1]
    for i in range(3):
        _check_special(x[i][:, cols], y[i][:, cols], 0)
    assert_ulps(y[:, :, 26:], x[:, :, 26:], 1, k=4)
    g = x[0, :, 17].astype(np.longdouble)
    true = -np.log1p(np.sum(np.exp(g[1:] - g[0])))
    assert abs(np.longdouble(y[0, 0, 17]) - true) <= 2 * np.spacing(dtype(abs(true)))


def long_columns(dtype, n):
    """Columns of n rows of every kind for the one-pass column kernels: the array (n by
    the kinds, then 9 plain columns), the kinds' names, and the row of the dominant
    element of the dominated kinds (by name)."""
    f32 = dtype == np.float32
    # near the end of the type's range; subnormal; below the exp's normal range
    huge, tiny, far = (1.5e38, 1e-39, -90.0) if f32 else (8.5e307, 1e-310, -712.0)
    rng = np.random.default_rng(n)
    cols = {}
    cols["plain"] = rng.standard_normal(n) * 4
    cols["rising"] = np.linspace(-30, 30, n)
    cols["rising slowly"] = np.linspace(-1e-3, 1e-3, n) + 7
    cols["rising by steps"] = np.arange(n) * 700.0
    # (a base moved 561 above row 0, where the max before was 559)
    c = rng.standard_normal(n); c[10] = 559; c[20] = 561; cols["rising past the base"] = c
    cols["falling"] = np.linspace(30, -30, n)
    c = rng.standard_normal(n); c[0] = 20; cols["max first"] = c
    c = rng.standard_normal(n); c[-1] = 20; cols["max last"] = c
    # (x - max down to -2 huge: near the range's end, still finite)
    c = rng.choice([-huge, huge, 0.0], n); cols["huge both signs"] = c
    c = np.full(n, -huge); c[n // 2] = huge; cols["huge below huge"] = c
    c = rng.standard_normal(n); c[:n // 2] = -np.inf; cols["-inf first"] = c
    c = rng.standard_normal(n); c[n // 3:] = -np.inf; cols["-inf last"] = c
    c = np.full(n, -np.inf); c[-1] = 5; cols["only last finite"] = c
    cols["all -inf"] = np.full(n, -np.inf)
    c = rng.standard_normal(n); c[n - 7] = np.nan; cols["nan"] = c
    c = rng.standard_normal(n); c[0] = np.nan; cols["nan first"] = c
    c = rng.standard_normal(n); c[n // 5] = np.inf; cols["+inf"] = c
    c = np.full(n, -np.inf); c[3] = np.nan; cols["-inf and nan"] = c
    c = rng.standard_normal(n) * tiny; cols["subnormal"] = c
    cols["ties"] = rng.integers(-2, 3, n).astype(float)
    rests = [1e-30, 1e-9, 1e-4, 0.06, 0.5, 2.0]
    tops = {}
    for r in rests:
        c = rng.uniform(-3, 3, n)
        top = int(rng.integers(0, n))
        c[top] = np.log(np.exp(np.delete(c, top)).sum() / r)
        cols[f"rest {r:g}"] = c
        tops[f"rest {r:g}"] = top
    # equal terms whose difference from the max rounds alike (an error that does not
    # average out: the correction for the rounding of x - max is needed)
    for v, g in ((0.1, 30.3), (0.7, 25.1), (-1.3, 33.3)):
        c = np.full(n, v)
        top = int(rng.integers(0, n))
        c[top] = g
        cols[f"equal terms {v:g} below {g:g}"] = c
        tops[f"equal terms {v:g} below {g:g}"] = top
    # columns far below the max (terms below the normal range)
    c = far - rng.uniform(0, 1, n); c[n // 2] = 0; cols["far below"] = c
    tops["far below"] = n // 2
    names = list(cols)
    x = np.stack([cols[k] for k in names], axis=1).astype(dtype)
    x = np.concatenate([x, (rng.standard_normal((n, 9)) * 4).astype(dtype)], axis=1)
    return x, names, tops


LONG_COLUMNS = pytest.mark.parametrize(
    "dtype,n", [(np.float32, 2048), (np.float32, 2049), (np.float32, 6001),
                (np.float64, 1024), (np.float64, 1025), (np.float64, 3001)],
    ids=lambda v: f"n={v}" if isinstance(v, int) else np.dtype(v).name)


@LONG_COLUMNS
def test_long_float_columns_of_every_kind(dtype, n, isa, no_warnings):
    """Float32 columns of 2048 rows and more, float64 ones of 1024 and more (log_softmax
    in one pass along the rows in the AVX-512 and AVX2 builds, with a running max; the
    float32 sum rescaled in double where the max rises, the float64 one against a base
    moved where the max rises far above it): columns that rise at every row (the max
    raised each time), slowly or by steps that move the base each time, fall, hold
    their max in the first or last row, mix huge values of both signs (x - max
    overflows), start or end with -inf, hold NaN or +inf, subnormals, ties, and
    dominated columns whose sum without the max runs from 1e-30 to 2.  Every output
    within a few ulps, the dominant log-probabilities relative to themselves, the
    special-value rules, and each column's bits the same with 1 to 3 threads, at other
    offsets among the vectors, strided, reversed, into a strided out=, in place, and
    along a middle axis."""
    f32 = dtype == np.float32
    x, names, tops = long_columns(dtype, n)
    y = log_softmax(x, axis=0, num_threads=1)
    try:
        _check_special(x, y, 0)
    except AssertionError as e:
        raise AssertionError(f"columns {names}\n{e}") from None
    finite = [k for k in range(x.shape[1]) if np.isfinite(x[:, k]).all()]
    assert_ulps(y[:, finite], x[:, finite], 0, k=4)
    xl = x.astype(np.longdouble)
    for name, top in tops.items():
        k = names.index(name)
        terms = np.exp(xl[:, k] - xl[top, k])
        terms[top] = 0
        true = -np.log1p(terms.sum())
        err = abs(np.longdouble(y[top, k]) - true) / np.longdouble(
            np.spacing(dtype(abs(true))))
        assert err <= 4, (
            f"{name}: got {y[top, k]!r}, expected {true!r}: {float(err):.1f} ulps")
    for nt in (2, 3):
        assert np.array_equal(log_softmax(x, axis=0, num_threads=nt), y, equal_nan=True), nt
    for k in (1, 5, 17):
        assert np.array_equal(log_softmax(x[:, k:], axis=0), y[:, k:], equal_nan=True), k
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    assert np.array_equal(log_softmax(wide, axis=0, num_threads=2), y, equal_nan=True)
    assert np.array_equal(log_softmax(x[:, ::-1], axis=0)[:, ::-1], y, equal_nan=True)
    out = np.full((n, 2 * x.shape[1]), 7, dtype=dtype)[:, ::2]
    log_softmax(x, axis=0, out=out)
    assert np.array_equal(out, y, equal_nan=True)
    z = x.copy()
    log_softmax(z, axis=0, out=z)
    assert np.array_equal(z, y, equal_nan=True)
    mid = np.stack([x[:, 3:], x[:, :-3]])
    ym = log_softmax(mid, axis=1, num_threads=2)
    assert np.array_equal(ym[0], y[:, 3:], equal_nan=True)
    assert np.array_equal(ym[1], y[:, :-3], equal_nan=True)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("width", [16, 48, 64, 80, 1024, 1040, 4096],
                         ids=lambda w: f"width={w}")
def test_columns_blocks_cut_at_the_outputs_vector_boundaries(dtype, width, isa,
                                                             no_warnings):
    """Where y's rows are a multiple of 64 bytes apart, the threads' column blocks are
    cut where y's rows reach a 64-byte boundary (the first block takes the columns
    before it; blocks of a few vectors written with plain stores are not cut).  x at
    every offset within a cache line, so a fresh output too (it starts where x does
    within a line), and into out= at other offsets: the same bits as one thread on an
    aligned copy, for 1, 2 and 3 threads."""
    rng = np.random.default_rng(width)
    n = 70
    es = np.dtype(dtype).itemsize
    base = (rng.standard_normal((n, width)) * 4).astype(dtype)
    base[:, 0] = -np.inf
    base[5, width - 1] = np.nan
    want = log_softmax(base, axis=0, num_threads=1)
    assert_ulps(want[:, 1:width - 1], base[:, 1:width - 1], 0, k=4)
    for shift in range(64 // es):
        buf = np.empty(n * width + 2 * 64 // es, dtype)
        k = (-(buf.ctypes.data % 64) // es) % (64 // es) + shift
        x = buf[k:k + n * width].reshape(n, width)
        x[...] = base
        for nt in (1, 2, 3):
            y = log_softmax(x, axis=0, num_threads=nt)
            assert np.array_equal(y, want, equal_nan=True), (shift, nt)
            out = np.full(n * width + 64 // es, 7, dtype)[shift:shift + n * width]
            out = out.reshape(n, width)
            assert log_softmax(x, axis=0, out=out, num_threads=nt) is out
            assert np.array_equal(out, want, equal_nan=True), (shift, nt, "out")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("inner", [2, 3, 4, 7, 8, 9, 12, 15, 16], ids=lambda w: f"inner={w}")
@pytest.mark.parametrize("n", [65, 1000, 5000], ids=lambda n: f"n={n}")
def test_narrow_columns_as_rows(dtype, inner, n, isa, no_warnings):
    """Arrays whose inner length (the other axes' most contiguous run) is below 16,
    reduced along columns of more than 64 (a middle or first axis), go through the row
    kernels, transposed: every column gets the bits of the same values reduced as a
    row (5000: rows of several chunks), for 1, 2 and 3 threads, through a reversed
    view, into an out= of other strides and in place; softmax and logsumexp too.  At
    16 (the column kernels) the same threads, views and accuracy.  (The AVX-512 build
    transposes dense blocks by permutes, float32 up to 15 columns, float64 up to 9,
    runs of 16 or 8 rows and the last rows one by one: n = 65 and 1000 leave 1 and 8.)"""
    rng = np.random.default_rng(n * 100 + inner)
    x = (rng.standard_normal((3, n, inner)) * 4).astype(dtype)
    clean = x[1:].copy()
    x[0, :, 0] = -np.inf                # no finite max
    x[1, n // 2, 1] = np.nan
    x[2, n - 1, 1] = np.inf
    x[0, 5, 1] = 40                     # a dominant element
    x[2, :, 0] = x[2, 0, 0]             # all ties
    xt = np.ascontiguousarray(x.transpose(0, 2, 1))
    for f in (log_softmax, softmax, logsumexp):
        y = f(x, axis=1, num_threads=1)
        if inner < 16:
            rows = f(xt, axis=-1, num_threads=1)
            want = rows if f is logsumexp else rows.transpose(0, 2, 1)
            assert np.array_equal(y, want, equal_nan=True), f.__name__
        for nt in (2, 3):
            assert np.array_equal(f(x, axis=1, num_threads=nt), y, equal_nan=True), nt
        back = f(x[:, :, ::-1], axis=1)
        assert np.array_equal(back[..., ::-1], y, equal_nan=True), f.__name__
        if f is logsumexp:
            continue
        out = np.full((3, n, 2 * inner), 7, dtype=dtype)[:, :, ::2]
        assert f(x, axis=1, out=out) is out
        assert np.array_equal(out, y, equal_nan=True), f.__name__
        z = x.copy()
        f(z, axis=1, out=z)
        assert np.array_equal(z, y, equal_nan=True), f.__name__
    y = log_softmax(x, axis=1)
    for i in range(3):
        _check_special(x[i], y[i], 0)
    assert_ulps(log_softmax(clean, axis=1), clean, 1, k=4)
    # the first axis of a matrix, the columns' own layout
    m = np.ascontiguousarray(clean[0])
    assert np.array_equal(log_softmax(m, axis=0), log_softmax(clean, axis=1)[0])


def _pipeline_rows(n, dtype):
    """70 rows of n for the row pipelines: rows of no finite max first, last and
    around the two threads' blocks (rows 0-34 and 35-69), a NaN, a +inf, a peaked row
    after a flat one."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((70, n)) * 4).astype(dtype)
    x[1] *= 10
    x[0] = -np.inf
    x[31] = -np.inf
    x[32, 5] = np.nan
    x[33, n // 2] = np.inf
    x[34] = -np.inf
    x[35, 2] = np.nan
    x[69] = -np.inf
    x[68, n - 1] = np.nan
    x[40, 3] = -np.inf
    x[50, :-1] = -np.inf
    return x


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [65, 100, 1000, 2048, 4096, 10_000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_rows_of_a_matrix_match_each_row_alone(dtype, n, num_threads, isa, no_warnings):
    """The rows of a matrix run through the row pipelines (one loop carries the passes of
    neighbouring rows, or of a row's chunks and the previous row's); a row alone does
    not (one chunk: the one-row path; several: its chunks shared out between two
    threads).  Same bits, also in place, with rows of no finite max at the ends of the
    blocks and in between."""
    x = _pipeline_rows(n, dtype)
    y = log_softmax(x, axis=-1, num_threads=num_threads)
    alone = np.stack([log_softmax(r, num_threads=2) for r in x])
    assert np.array_equal(y, alone, equal_nan=True)
    z = x.copy()
    log_softmax(z, axis=-1, out=z, num_threads=num_threads)
    assert np.array_equal(z, y, equal_nan=True)
    _check_special(x, y, 1)
    assert_ulps(y, x, 1, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [64, 128, 384, 1000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("fn", ["log_softmax", "logsumexp"])
def test_rows_of_every_spread_match_each_row_alone(dtype, n, fn, isa, no_warnings):
    """Rows of scores from 0.25 to 32 times a standard normal, shuffled: the row
    pipelines run the plain loop where a row's bound shows its exp-sum above 2 (every
    lane's max near the row's, or the exps of the lane maxima), the loop that also adds
    up the rest elsewhere, and the dominated passes where the sum needs them.  A row's
    bits depend on none of these, nor on its neighbours or the threads: the same as the
    row alone, within a few ulps of the reference."""
    from logsoftmax_c import _api, _dispatch
    f = {"log_softmax": log_softmax, "logsumexp": logsumexp}[fn]
    op = {"log_softmax": _api._OP_LOG_SOFTMAX, "logsumexp": _api._OP_LSE}[fn]
    rng = np.random.default_rng(n)
    spread = rng.permutation(np.repeat([0.25, 1.0, 2.0, 4.0, 8.0, 32.0], 16))
    x = (rng.standard_normal((spread.size, n)) * spread[:, None]).astype(dtype)
    alone = np.stack([f(r) for r in x])
    y = f(x, axis=-1, num_threads=1)
    assert np.array_equal(f(x, axis=-1, num_threads=2), y)
    # (rows of up to SMALL_N elements that go through tiles have the tiles' bits)
    if n > _dispatch.kernels.SMALL_N or _dispatch.kernels.rows_untiled(
            n, op, dtype == np.float64):
        assert np.array_equal(y, alone)
    if fn == "log_softmax":
        assert_ulps(alone, x, -1, k=4)
    else:
        want = reference.logsumexp(x.astype(np.longdouble), axis=-1)
        tol = 4 * np.finfo(dtype).eps * np.maximum(1, np.abs(want))
        assert np.all(np.abs(alone - want) <= tol)
    # the compare of the lane maxima passes for a share of the rows (AVX2's 8 float or
    # 4 double lanes, as the loop takes them: whole blocks of 4 vectors)
    w = 32 // np.dtype(dtype).itemsize
    whole = n // (4 * w) * (4 * w)
    lanes = x[:, :whole].reshape(x.shape[0], -1, w).max(axis=1)
    near = 0.99 * np.log(w - 1)
    assert np.mean(np.all(lanes >= lanes.max(axis=1, keepdims=True) - near, axis=1)) > 0.1


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [128, 384, 1000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
def test_rows_beyond_the_caches_match_each_row_alone(dtype, n, num_threads, isa,
                                                     no_warnings):
    """Inputs of 3 MiB per thread and more: the row pipelines also fetch rows ahead
    (rows of 512 bytes and more), and their output rows for writing but for float rows
    where a core's L1 is 32 KiB or less (kernels.L1D_BYTES).  The same bits as each
    row alone, with rows of no finite max and NaNs every 70 rows, up to the last rows
    of the matrix and of each block."""
    base = _pipeline_rows(n, dtype)
    x = np.tile(base, (-(-(3 << 20) * num_threads // base.nbytes) + 1, 1))
    x[-1] = -np.inf
    x[-4, 3] = np.nan
    y = log_softmax(x, axis=-1, num_threads=num_threads)
    alone = np.stack([log_softmax(r, num_threads=1) for r in x])
    assert np.array_equal(y, alone, equal_nan=True)
    assert np.array_equal(y[:70], log_softmax(base, axis=-1), equal_nan=True)
    _check_special(x[:70], y[:70], 1)
    assert_ulps(y[:70], x[:70], 1, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [100, 128, 1000, 9216, 12088], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("num_threads", [1, 2], ids=lambda t: f"threads={t}")
@pytest.mark.parametrize("fn", ["log_softmax", "softmax"])
def test_streamed_rows_match_each_row_alone(fn, dtype, n, num_threads, isa, no_warnings):
    """Outputs past the streaming threshold (kernels.stream_bytes(); with 2 threads and
    float32 that of a team on log_softmax's rows of one chunk) through the row paths
    (log_softmax's pipelines, softmax's rows; rows of one chunk, and of several, the
    last shorter or not): where the rows of y start on vector boundaries (a fresh
    output, rows of whole vectors) the writes are non-temporal stores; where they all
    start at one offset within a vector (an out= one element into a buffer, or every
    row of a wider one, with rows of whole vectors), from the first boundary on, the
    ends plain or, rows one after the other, a vector shared by two rows; elsewhere
    (rows of 100 float32 with AVX2 or AVX-512, rows at varying offsets, in place)
    plain ones.  The same bits as each row alone, with the rows of no finite max and
    the NaNs of the pipeline rows up to the matrix's last row, and each row's place in
    its block and in the matrix varying (71 rows in the pattern)."""
    from logsoftmax_c import _dispatch
    f = getattr(logsoftmax_c, fn)
    limit = _dispatch.kernels.stream_bytes(team=num_threads > 1 and dtype == np.float32)
    base = np.concatenate([_pipeline_rows(n, dtype), _pipeline_rows(n, dtype)[:1]])
    reps = -(-limit // base.nbytes) + 1
    x = np.tile(base, (reps, 1))
    assert x.nbytes >= limit
    want = np.concatenate([f(r, num_threads=1)[None] for r in base])
    if fn == "log_softmax":
        assert_ulps(want[2:31], base[2:31], 1, k=4)
    else:
        # the relative error of a probability exp(v) is that of v, absolute
        ref = reference.softmax(base[2:31].astype(np.longdouble), axis=-1)
        bound = 4 * np.finfo(dtype).eps * ref * (1 - np.log(ref)) + np.finfo(dtype).tiny
        assert np.all(np.abs(want[2:31] - ref) <= bound)
    y = f(x, axis=-1, num_threads=num_threads)
    assert y.ctypes.data % 64 == 0
    assert np.array_equal(y.reshape((reps,) + want.shape),
                          np.broadcast_to(want, (reps,) + want.shape), equal_nan=True)
    buf = np.empty(x.size + 1, dtype)
    out = buf[1:].reshape(x.shape)
    assert f(x, axis=-1, out=out, num_threads=num_threads) is out
    assert np.array_equal(out, y, equal_nan=True)
    wide = np.empty((x.shape[0], n + 16), dtype)[:, 1:n + 1]
    assert f(x, axis=-1, out=wide, num_threads=num_threads) is wide
    assert np.array_equal(wide, y, equal_nan=True)
    f(x, axis=-1, out=x, num_threads=num_threads)
    assert np.array_equal(x, y, equal_nan=True)


def test_team_stream_threshold_is_reported():
    """A team of threads on log_softmax's rows streams from no less than the general
    threshold (8 MiB at least), and `python -m logsoftmax_c` reports both."""
    from logsoftmax_c import _dispatch, _info
    k = _dispatch.kernels
    assert k.stream_bytes(team=True) >= k.stream_bytes() >= 8 << 20
    info = _info.runtime_info()
    assert info["stream_bytes"] == k.stream_bytes()
    assert info["stream_team_bytes"] == k.stream_bytes(team=True)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("m", [1027, 1034, 1049], ids=lambda m: f"m={m}")
@pytest.mark.parametrize("num_threads", [1, 2, 3], ids=lambda t: f"threads={t}")
@pytest.mark.parametrize("fn", ["log_softmax", "softmax"])
def test_streamed_columns_off_the_vectors(fn, dtype, m, num_threads, isa, no_warnings):
    """Column blocks past the streaming threshold whose rows of y start at offsets
    that vary from row to row within a vector (rows of m elements, m not a multiple
    of 16; a middle axis of 81 rows): the bands write whole cache lines, the line two
    bands share passed on through a stash (lsc_band_write_lines) or, with AVX-512 and
    AVX2 where x is read in place, written by the later band from x
    (lsc_band_emit_block, a band's rows 8 at a time: 81 rows end with a partial
    group).  Every column gets the same bits as in a block of its own below the
    threshold, fresh, into an out= one element into a buffer, and in place; bands of
    128 columns with AVX2 (about 1 MiB of rows), blocks and their last band of various
    widths (m), the threads' blocks meeting within lines."""
    from logsoftmax_c import _dispatch
    f = getattr(logsoftmax_c, fn)
    limit = _dispatch.kernels.stream_bytes()
    isz = np.dtype(dtype).itemsize
    n = -(-limit // (m * isz))
    rng = np.random.default_rng(m)
    x = (rng.standard_normal((n, m)) * 4).astype(dtype)
    x[:, 5] = -np.inf
    x[3, 7] = np.nan
    assert x.nbytes >= limit
    # pieces of 96 columns: far below the threshold, each a block of its own
    want = np.concatenate([f(x[:, k:k + 96], axis=0, num_threads=1)
                           for k in range(0, m, 96)], axis=1)
    y = f(x, axis=0, num_threads=num_threads)
    assert np.array_equal(y, want, equal_nan=True)
    buf = np.empty(x.size + 1, dtype)
    out = buf[1:].reshape(x.shape)
    assert f(x, axis=0, out=out, num_threads=num_threads) is out
    assert np.array_equal(out, want, equal_nan=True)
    xc = x.copy()
    f(xc, axis=0, out=xc, num_threads=num_threads)
    assert np.array_equal(xc, want, equal_nan=True)
    # a middle axis: rows of m elements, 81 of them to a block
    x3 = (rng.standard_normal((-(-limit // (81 * m * isz)), 81, m)) * 4).astype(dtype)
    assert x3.nbytes >= limit
    want3 = np.stack([np.concatenate([f(b[:, k:k + 96], axis=0, num_threads=1)
                                      for k in range(0, m, 96)], axis=1) for b in x3])
    assert np.array_equal(f(x3, axis=1, num_threads=num_threads), want3)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", ["wide", "streamed", "cached"])
@pytest.mark.parametrize("fn", ["log_softmax", "softmax"])
def test_long_columns_written_by_pairs_of_rows(fn, kind, dtype, isa, no_warnings):
    """Long columns (the one pass of the AVX-512 and AVX2 builds: float32 from 2048
    rows, float64 from 1024) are written two rows at a time where y's rows are a
    multiple of 64 bytes apart and the block's max, offset and row do not fit in L1
    together (rows of 16 KiB: "wide", even with 1 thread) or the block is part of the
    rows (the threads' blocks of 1 KiB or 2 KiB rows, streamed past the threshold or
    not), row by row otherwise.  An odd number of rows leaves one row alone; three
    threads' blocks start and end within vectors; an out= whose rows start 3 elements
    into a line has a head before each row's first line.  Every way gives the bits of
    the row by row write (an out= whose rows are not a multiple of 64 bytes apart), in
    place too, and log_softmax is within a few ulps of a long-double reference."""
    from logsoftmax_c import _dispatch
    f = getattr(logsoftmax_c, fn)
    isz = np.dtype(dtype).itemsize
    limit = _dispatch.kernels.stream_bytes()
    n = 2049 if dtype == np.float32 else 1025
    m = 16384 // isz if kind == "wide" else 256
    if kind == "streamed":
        n = max(n, -(-limit // (m * isz))) | 1
    rng = np.random.default_rng(n + m)
    x = (rng.standard_normal((n, m)) * 4).astype(dtype)
    x[:, 5] = -np.inf
    x[n // 2, 9] = np.nan
    x[0, 17] = 60                       # a dominant element
    assert (x.nbytes >= limit) == (kind != "cached")
    # rows (m + 1) elements apart: row by row
    want = np.empty((n, m + 1), dtype)[:, :m]
    f(x, axis=0, out=want, num_threads=1)
    if fn == "log_softmax":
        assert_ulps(want[:, 20:84], x[:, 20:84], 0, k=4)
    for nt in (1, 2, 3):
        assert np.array_equal(f(x, axis=0, num_threads=nt), want, equal_nan=True), nt
        out = np.empty((n, m + 64 // isz), dtype)[:, 3:m + 3]
        assert f(x, axis=0, out=out, num_threads=nt) is out
        assert np.array_equal(out, want, equal_nan=True), nt
    xc = x.copy()
    f(xc, axis=0, out=xc, num_threads=2)
    assert np.array_equal(xc, want, equal_nan=True)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("fn", ["log_softmax", "softmax", "logsumexp"])
def test_long_columns_in_sub_blocks(fn, dtype, isa, no_warnings):
    """Long columns wider than a sub-block (the one pass cuts each thread's columns
    into blocks of 8 MiB of rows, about 1000 columns of 2049 float32 or 1025 float64
    rows, the second thread's first block half as wide, all cut at y's lines): the
    same bits as each stretch of columns alone, whatever the threads (1, 2, 3) and an
    out= whose rows start 3 elements into a line; in place, strided and reversed too
    (each block's write goes on during the next block's statistics).  Special values and a
    dominant element in the columns at and around the sub-blocks' and threads' edges,
    log_softmax within a few ulps of a long-double reference there."""
    f = getattr(logsoftmax_c, fn)
    n = 2049 if dtype == np.float32 else 1025
    m = 2608                            # rows a multiple of 64 bytes
    rng = np.random.default_rng(m)
    x = (rng.standard_normal((n, m)) * 4).astype(dtype)
    # sub-blocks of 1008 columns; threads' shares of 1312 (2) and 880 (3)
    edges = [0, 500, 880, 1008, 1312, 1760, 1824, 2016, 2320, m - 1]
    cols = sorted({c + d for c in edges for d in (-1, 0, 1) if 0 <= c + d < m})
    for k, c in enumerate(cols):
        kind = k % 4
        if kind == 0:
            x[:, c] = -np.inf
        elif kind == 1:
            x[n // 2, c] = np.nan
        elif kind == 2:
            x[rng.integers(n), c] = 60          # a dominant element
        else:
            x[: n // 2, c] = -np.inf
    # each stretch of 163 columns alone: one block, no sub-blocks
    want = np.concatenate([f(x[:, k:k + 163], axis=0, num_threads=1)
                           for k in range(0, m, 163)], axis=-1)
    for nt in (1, 2, 3):
        assert np.array_equal(f(x, axis=0, num_threads=nt), want, equal_nan=True), nt
    if fn == "logsumexp":
        return
    for nt in (1, 2):
        out = np.empty((n, m + 64 // x.itemsize), dtype)[:, 3:m + 3]
        assert f(x, axis=0, out=out, num_threads=nt) is out
        assert np.array_equal(out, want, equal_nan=True), nt
    xc = x.copy()
    f(xc, axis=0, out=xc, num_threads=2)
    assert np.array_equal(xc, want, equal_nan=True)
    # strided and reversed columns (gathered a strip at a time), into a strided out=
    xs = np.empty((n, 2 * m), dtype)
    xs[:, ::2] = x
    outs = np.empty((n, 2 * m), dtype)[:, 1::2]
    for nt in (1, 2):
        assert np.array_equal(f(xs[:, ::2], axis=0, out=outs, num_threads=nt), want,
                              equal_nan=True), nt
        assert np.array_equal(f(x[:, ::-1], axis=0, num_threads=nt), want[:, ::-1],
                              equal_nan=True), nt
    if fn == "log_softmax":
        fin = [c for c in cols if np.isfinite(x[:, c]).all()]
        assert_ulps(want[:, fin], x[:, fin], 0, k=4)
        _check_special(x[:, cols], want[:, cols], 0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [7, 8, 9, 10, 15, 16, 17, 24, 39, 64], ids=lambda n: f"n={n}")
def test_short_rows_in_tiles(dtype, n, isa, no_warnings):
    """Rows of up to 64 elements go through tiles of 16 rows (transposed in and out,
    with AVX2 float32 by blocks of 8x8 from 8 elements on, the last block of a row
    overlapping the one before where 8 does not divide n): every count of rows
    around the tile and block sizes, contiguous, at an odd offset, into a strided
    out=, in place; rows with no finite max and a NaN.  The same bits whatever the
    count of rows (from two: one row alone takes the row path) and the layout, within
    a few ulps of the reference."""
    rng = np.random.default_rng(n)
    base = (rng.standard_normal((40, n)) * 4).astype(dtype)
    base[3] = -np.inf
    base[9, n // 2] = np.nan
    base[17, 0] = 30
    want = log_softmax(base, axis=-1)
    assert_ulps(want[[r for r in range(40) if r not in (3, 9)]],
                base[[r for r in range(40) if r not in (3, 9)]], 1, k=4)
    assert np.isnan(want[3]).all() and np.isnan(want[9]).all()
    assert_ulps(log_softmax(base[:1], axis=-1), base[:1], 1, k=4)
    for rows in (2, 7, 8, 9, 15, 16, 17, 33, 40):
        x = base[:rows]
        assert np.array_equal(log_softmax(x, axis=-1), want[:rows], equal_nan=True), rows
        buf = np.empty(rows * n + 1, dtype)[1:].reshape(rows, n)
        buf[...] = x
        assert np.array_equal(log_softmax(buf, axis=-1), want[:rows], equal_nan=True), rows
        out = np.full((rows, 2 * n), 7, dtype)[:, ::2]
        assert log_softmax(x, axis=-1, out=out) is out
        assert np.array_equal(out, want[:rows], equal_nan=True), rows
        log_softmax(buf, axis=-1, out=buf)
        assert np.array_equal(buf, want[:rows], equal_nan=True), rows


def test_nan_slice_does_not_affect_other_slices(isa, no_warnings):
    x = np.random.default_rng(18).standard_normal((4, 6))
    clean = log_softmax(x, axis=1)
    x2 = x.copy()
    x2[2, 3] = np.nan
    y = log_softmax(x2, axis=1)
    assert np.all(np.isnan(y[2]))
    assert np.array_equal(y[[0, 1, 3]], clean[[0, 1, 3]])
    # along axis 0 only column 3 is affected
    y0 = log_softmax(x2, axis=0)
    clean0 = log_softmax(x, axis=0)
    assert np.all(np.isnan(y0[:, 3]))
    keep = [0, 1, 2, 4, 5]
    assert np.array_equal(y0[:, keep], clean0[:, keep])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_huge_values_exact(dtype, isa, no_warnings):
    big = dtype(1e30) if dtype == np.float32 else dtype(1e300)
    x = np.array([big, -big, 0.0], dtype=dtype)
    y = log_softmax(x)
    assert np.array_equal(y, np.array([0.0, -2 * np.float64(big), -np.float64(big)]).astype(dtype))
    x = np.array([big, big], dtype=dtype)
    np.testing.assert_array_equal(log_softmax(x), np.full(2, -np.log(2), dtype=dtype))
    x = np.array([-big, -big, -big, -big], dtype=dtype)
    np.testing.assert_array_equal(log_softmax(x), np.full(4, -np.log(4), dtype=dtype))
    # columns
    xc = np.array([[big, 1.0], [-big, 2.0], [0.0, big]], dtype=dtype)
    yc = log_softmax(xc, axis=0)
    assert_ulps(yc, xc, 0, k=4)
    assert yc[0, 0] == 0 and yc[1, 0] == dtype(-2 * np.float64(big))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_axis_none_and_tuple_with_special_values(dtype, isa, no_warnings):
    x = np.random.default_rng(19).standard_normal((3, 4, 5)).astype(dtype)
    x[0, 1, 2] = -np.inf
    y = log_softmax(x, axis=None)
    assert np.isneginf(y[0, 1, 2])
    assert_ulps(y, x, None, k=4)
    x[2, 0, 0] = np.nan
    y = log_softmax(x, axis=(0, 2))
    assert np.all(np.isnan(y[:, 0, :]))
    assert not np.isnan(y[:, 1:, :]).any()
    assert_ulps(y, x, (0, 2), k=4)


def test_special_values_in_0d_and_each_alone(isa, no_warnings):
    assert np.isnan(log_softmax(np.nan))
    assert np.isnan(log_softmax(np.inf))
    assert np.isnan(log_softmax(-np.inf))
    y = log_softmax(np.array([1.0, np.nan, -np.inf, np.inf, 1e300]), axis=())
    assert np.array_equal(y, [0.0, np.nan, np.nan, np.nan, 0.0], equal_nan=True)


# ---------------------------------------------------------------------------------------
# empty and 0-d

@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (2, 0, 3), (0, 0)], ids=shape_id)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.bool_,
                                   np.longdouble], ids=lambda d: np.dtype(d).name)
def test_empty(shape, dtype, isa):
    x = np.zeros(shape, dtype=dtype)
    nd = len(shape)
    axes = [None, (), -1, 0, nd - 1, -nd] + ([(0, nd - 1)] if nd > 1 else [])
    for axis in axes:
        y = log_softmax(x, axis=axis)
        assert y.shape == shape and y.dtype == result_dtype(dtype), (axis, y.shape, y.dtype)
        out = np.empty(shape, dtype=result_dtype(dtype))
        assert log_softmax(x, axis=axis, out=out) is out
    for layout in ("F", "reversed", "transposed", "step"):
        y = log_softmax(make_layout(x, layout), axis=0)
        assert y.shape == shape and y.dtype == result_dtype(dtype)
    with pytest.raises(AxisError):
        log_softmax(x, axis=nd)


@pytest.mark.parametrize("x,rt", [
    (np.float64(3.5), np.float64), (np.array(3.5, np.float32), np.float32),
    (np.array(2, np.int32), np.float64), (np.array(-1e30, np.float32), np.float32),
    (np.array(1.0, np.float16), np.float16), (np.array(True), np.float64),
    (np.array(1.0, np.longdouble), np.longdouble),
], ids=["float64", "float32", "int32", "-1e30 float32", "float16", "bool", "longdouble"])
@pytest.mark.parametrize("axis", [None, 0, -1], ids=str)
def test_0d_input(x, rt, axis, isa):
    y = log_softmax(x, axis=axis)
    assert isinstance(y, np.ndarray) and y.ndim == 0
    assert y.dtype == rt
    assert y == 0.0
    out = np.full((), 7.0, dtype=rt)
    assert log_softmax(x, axis=axis, out=out) is out
    assert out == 0.0


@pytest.mark.parametrize("axis", [1, -2, 2, (0, 1)], ids=str)
def test_0d_input_other_axes(axis):
    with pytest.raises(AxisError):
        log_softmax(np.array(1.0), axis=axis)


# ---------------------------------------------------------------------------------------
# accuracy

@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("g", [10, 20, 30, 60])
@pytest.mark.parametrize("mode", ["row", "column", "long row"])
def test_dominant_element_relative_accuracy(dtype, g, mode, isa):
    true = -np.log1p(np.exp(-np.longdouble(g)) + np.exp(-np.longdouble(g) - 1))
    x = np.array([g, 0, -1], dtype=dtype)
    if mode == "row":
        y0 = log_softmax(x)[0]
    elif mode == "column":
        y0 = log_softmax(np.repeat(x[:, None], 20, axis=1), axis=0)[0]
        assert np.all(y0 == y0[0])
        y0 = y0[0]
    else:
        # the dominant element among many -inf (several chunks)
        long = np.full(20_000, -np.inf, dtype=dtype)
        long[[0, 9_000, 19_999]] = [0, g, -1]
        y0 = log_softmax(long, num_threads=2)[9_000]
    ulp = np.spacing(dtype(abs(true)))
    err = abs(np.longdouble(y0) - true) / np.longdouble(ulp)
    assert y0 != 0
    assert err <= 8, f"got {y0!r}, expected {true!r}: {float(err):.2f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("where", ["first", "middle", "last", "tied"])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_dominant_element_of_long_rows_whatever_its_chunk(dtype, where, nthreads, isa):
    """Long rows (several chunks) whose chunks each have a dominated sum, the row's max
    in one of them: the chunks whose max is below an earlier chunk's skip their
    dominated pass, so the chunk that holds the row's max must not, wherever it is
    (and where two chunks tie for it).  Each row's max log-probability to a few ulps,
    and the same bits with 1 and 2 threads, one row or several (the pipeline)."""
    chunk = CHUNK[dtype]
    nc = 6
    rng = np.random.default_rng(nc + len(where))
    x = np.full((3, nc * chunk - 5), -np.inf)
    # every chunk: a local max and a few terms well below it (a dominated chunk sum)
    for c in range(nc):
        base = c * chunk
        x[:, base + 7] = c * 0.5
        x[:, base + 100 + 64 * np.arange(6)] = c * 0.5 - 3 + rng.uniform(-1, 1, 6)
    pos = {"first": 7, "middle": 3 * chunk + 7, "last": (nc - 1) * chunk + 7,
           "tied": 2 * chunk + 7}[where]
    x[:, pos] = 9.0
    if where == "tied":
        x[:, 4 * chunk + 7] = 9.0
    x = x.astype(dtype)
    xl = x.astype(np.longdouble)
    m = xl.max(axis=1, keepdims=True)
    ref = (xl - m) - np.log(np.exp(xl - m).sum(axis=1, keepdims=True))
    ys = [log_softmax(x, num_threads=nthreads), log_softmax(x[1], num_threads=nthreads)[None],
          log_softmax(x, num_threads=3 - nthreads)]
    for y in ys:
        err = abs(np.longdouble(y[0, pos]) - ref[0, pos]) / np.longdouble(
            np.spacing(dtype(abs(ref[0, pos]))))
        assert err <= 4, f"got {y[0, pos]!r}, expected {ref[0, pos]!r}: {float(err):.1f} ulps"
    assert ys[0].tobytes() == ys[2].tobytes()
    assert ys[1].tobytes() == ys[0][1:2].tobytes()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mode", ["row", "rows", "tiles", "columns", "strided columns"])
def test_dominant_element_within_two_ulps_at_every_gap(dtype, mode, isa):
    """The dominant element's log-probability -log1p(s) to 2 ulps over the whole range
    of gaps where s is a normal number: the rounding of the differences and the
    exp's own argument reduction (one step in the FMA builds) are both put back.
    Columns of 3 rows: contiguous ones (lsc_cols_short) and every other column (the
    bands), whose float statistics take lsc_log1p_f32."""
    gmax = 85.0 if dtype == np.float32 else 700.0
    worst = 0.0
    for g in np.linspace(0.5, gmax, 150):
        for off in (0.0, 3.0, 10.0, -7.0):
            x = np.array([g + off, off, off - 1.5], dtype=dtype)
            xl = x.astype(np.longdouble)
            true = -np.log1p(np.exp(xl[1] - xl[0]) + np.exp(xl[2] - xl[0]))
            if mode == "row":
                y0 = log_softmax(x)[0]
            elif mode == "rows":
                y0 = log_softmax(np.tile(np.pad(x, (0, 97), constant_values=-np.inf),
                                         (5, 1)), axis=1)[3, 0]
            elif mode == "tiles":
                y0 = log_softmax(np.tile(x, (20, 1)), axis=1)[7, 0]
            elif mode == "columns":
                y0 = log_softmax(np.tile(x[:, None], (1, 40)), axis=0)[0, 7]
            else:
                y0 = log_softmax(np.tile(x[:, None], (1, 80))[:, ::2], axis=0)[0, 7]
            ulp = np.longdouble(np.spacing(dtype(abs(true))))
            worst = max(worst, float(abs(np.longdouble(y0) - true) / ulp))
    assert worst <= 2, f"{worst:.2f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [10, 40, 1000, 5000, 9000, 40000])
def test_dominant_element_made_of_terms_below_the_normal_range(dtype, n, isa):
    """A dominant log-probability that is a normal number while most of the terms it
    is made of are below the smallest normal one (one term exp(-82.5), n - 2 terms
    exp(-90) for float32; exp(-700) and exp(-712) for float64): the dominated sum takes
    them scaled, so none is flushed, on the paths of rows (of one chunk or several,
    short rows through their tiles) and columns (in bands of whole vectors, and 40000
    long: beyond the bands of every build)."""
    big, small = (82.5, 90.0) if dtype == np.float32 else (700.0, 712.0)
    x = np.full(n, -small, dtype=dtype)
    x[0], x[7] = 0, -big
    xl = x.astype(np.longdouble)
    true = -np.log1p(np.exp(xl[1:]).sum())
    ulp = np.longdouble(np.spacing(dtype(abs(true))))
    cols = np.tile(x[:, None], (1, 20))
    got = {"row": log_softmax(x)[0],
           "rows": log_softmax(np.tile(x, (3, 1)), axis=1)[1, 0],
           "rows, 2 threads": log_softmax(np.tile(x, (3, 1)), axis=1, num_threads=2)[2, 0],
           "columns": log_softmax(cols, axis=0)[0, 5],
           "strided columns": log_softmax(cols[:, ::2], axis=0)[0, 3],
           "columns, 2 threads": log_softmax(np.tile(x[:, None], (1, 40)), axis=0,
                                             num_threads=2)[0, 33]}
    for path, y0 in got.items():
        err = abs(np.longdouble(y0) - true) / ulp
        assert err <= 4, f"{path}: got {y0!r}, expected {true!r}: {float(err):.1f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1024, 3000, 9000])
@pytest.mark.parametrize("s", [0.07, 0.3, 0.93])
def test_dominant_element_when_the_small_terms_share_the_max_lane(dtype, n, s, isa):
    """A dominated sum s between 1/16 and 1 whose terms lie every 64 elements from the
    max: the positions one lane of a vector sum adds to the max's exact 1, where each
    small term rounds against it.  -log1p(s) must still come out to a few ulps (the
    sums of the max's vector keep each addition's rounding error)."""
    rng = np.random.default_rng(int(s * 100) + n)
    k = 15
    x = np.full(n, -np.inf)
    start = int(rng.integers(0, 64))
    x[start] = 0.0
    terms = s / k * (1 + rng.uniform(-0.01, 0.01, k))
    x[start + 64 * np.arange(1, k + 1)] = np.log(terms) + rng.uniform(-1e-7, 1e-7, k)
    x = x.astype(dtype)
    xl = x.astype(np.longdouble)
    rest = np.exp(xl[np.isfinite(xl)]).sum() - 1
    true = -np.log1p(rest)
    for y0 in (log_softmax(x)[start], log_softmax(np.tile(x, (3, 1)), axis=1)[1, start]):
        err = abs(np.longdouble(y0) - true) / np.longdouble(np.spacing(dtype(abs(true))))
        assert err <= 4, f"got {y0!r}, expected {true!r}: {float(err):.1f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1000, 9000])
def test_dominant_element_at_every_place_of_a_step(dtype, n, isa):
    """The max at each of the first 64 places of a row and of the last 40 (every vector
    and lane of a step of the sums, and the row's end after its last whole step), its
    row's other terms every 64 elements from it, adding up to 0.07: wherever the max
    lies, the vector sums that add the small terms to its exact 1 must keep their
    digits.  The row alone, in a pipeline of rows on 1 and 2 threads, and (9000) in
    chunks."""
    rng = np.random.default_rng(n)
    places = list(range(64)) + list(range(n - 40, n))
    for p in places:
        x = np.full(n, -np.inf)
        x[p] = 0.0
        others = np.concatenate([np.arange(p - 64, -1, -64), np.arange(p + 64, n, 64)])
        others = others[:15]
        terms = 0.07 / len(others) * (1 + rng.uniform(-0.01, 0.01, len(others)))
        x[others] = np.log(terms) + rng.uniform(-1e-7, 1e-7, len(others))
        x = x.astype(dtype)
        xl = x.astype(np.longdouble)
        true = -np.log1p(np.exp(xl[np.isfinite(xl)]).sum() - 1)
        ulp = np.longdouble(np.spacing(dtype(abs(true))))
        rows = np.tile(x, (4, 1))
        got = {"row": log_softmax(x)[p],
               "rows": log_softmax(rows, axis=1)[2, p],
               "rows, 2 threads": log_softmax(rows, axis=1, num_threads=2)[3, p],
               "logsumexp": -logsumexp(rows, axis=1)[1]}
        for path, y0 in got.items():
            err = abs(np.longdouble(y0) - true) / ulp
            assert err <= 4, (f"max at {p}, {path}: got {y0!r}, expected {true!r}: "
                              f"{float(err):.1f} ulps")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [100, 1000])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_terms_far_below_the_max(dtype, n, nthreads, isa):
    """Rows whose other elements lie 80-800 below the max (or are -inf), around where
    a term's exp leaves the normal numbers (e**-87.3 for float32, e**-708.4 for
    float64; the row pipelines' sums clamp such exps, which a sum of at least 1 does
    not see): beside a near term that puts the sum between 1 + 1/16 and 2, beside a
    tie at the max, and alone (a dominated sum).  Every log-probability within a few
    ulps of the long double one (the dominant one's relative to itself), logsumexp
    likewise, and each row bit for bit as the row alone."""
    depths = {np.float32: [80.0, 86.4, 86.5, 86.6, 86.9, 87.0, 87.1, 87.3, 87.34, 87.4,
                           88.0, 90.0, 103.9, 104.0, 120.0, 800.0, np.inf],
              np.float64: [700.0, 706.9, 707.0, 707.1, 708.3, 708.4, 708.5, 709.0,
                           709.8, 720.0, 744.0, 745.2, 746.0, 800.0, np.inf]}[dtype]
    rng = np.random.default_rng(n)
    kinds = ["near", "tie", "alone", "near", "alone", "tie", "near", "alone"]
    x = np.empty((len(kinds), n))
    tops = []
    for i, kind in enumerate(kinds):
        m = rng.uniform(-3, 3)
        x[i] = m - np.resize(rng.permutation(depths), n) - rng.uniform(0, 0.05, n)
        top, other = rng.choice(n, 2, replace=False)
        x[i, top] = m
        if kind == "near":
            x[i, other] = m - 0.7
        elif kind == "tie":
            x[i, other] = m
        tops.append(top)
    x = x.astype(dtype)
    y = log_softmax(x, num_threads=nthreads)
    lse = logsumexp(x, axis=1, num_threads=nthreads)
    assert_ulps(y, x, k=4, msg="far terms")
    xl = x.astype(np.longdouble)
    for i, top in enumerate(tops):
        assert y[i].tobytes() == log_softmax(x[i]).tobytes(), (i, kinds[i])
        mi = xl[i, top]
        rest = np.exp(np.delete(xl[i], top) - mi).sum()
        true = -np.log1p(rest)
        ulp = np.longdouble(np.spacing(dtype(abs(true))))
        err = abs(np.longdouble(y[i, top]) - true)
        assert err <= 4 * ulp, (i, kinds[i], y[i, top], true)
        true_lse = mi + np.log1p(rest)
        eps = np.longdouble(np.finfo(dtype).eps)
        assert abs(np.longdouble(lse[i]) - true_lse) <= 4 * eps * (1 + abs(true_lse)), (
            i, kinds[i], lse[i], true_lse)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [65, 100, 1000, 2048, 4096])
@pytest.mark.parametrize("nthreads", [1, 2])
def test_rows_of_every_kind_of_sum_side_by_side(dtype, n, nthreads, isa):
    """Rows of many kinds one after the other, as the row pipeline takes them: a
    dominated sum that needs its correction (below 1 + 1/16), one between that and 2,
    plain sums, non-finite maxima.  Only the dominated rows' statistics read their
    exps, which the pipeline takes again for them: every row's log_softmax and
    logsumexp must be bit for bit that of the row alone, and each dominant
    log-probability within a few ulps of the long double one."""
    if n > CHUNK[dtype]:
        pytest.skip("one chunk a row")
    rng = np.random.default_rng(n)
    kinds = ["corrected", "light", "plain", "corrected", "nan", "light", "inf", "plain",
             "corrected", "corrected", "light", "plain", "light", "-inf", "plain"]
    x = rng.uniform(-2, 2, (len(kinds), n))
    for i, kind in enumerate(kinds):
        top = int(rng.integers(0, n))
        x[i, top] = x[i].max() + {"corrected": 9.0 + np.log(n), "light": 0.7 + np.log(n),
                                  "plain": 0.0, "nan": 0.0, "inf": 0.0, "-inf": 0.0}[kind]
        if kind in ("nan", "inf"):
            x[i, top] = np.nan if kind == "nan" else np.inf
        elif kind == "-inf":
            x[i] = -np.inf
    x = x.astype(dtype)
    y = log_softmax(x, num_threads=nthreads)
    lse = logsumexp(x, axis=1, num_threads=nthreads)
    for i, kind in enumerate(kinds):
        with np.errstate(invalid="ignore"):
            assert y[i].tobytes() == log_softmax(x[i]).tobytes(), (i, kind)
            assert lse[i].tobytes() == logsumexp(x[i]).tobytes(), (i, kind)
        if kind in ("corrected", "light"):
            xl = x[i].astype(np.longdouble)
            top = int(np.argmax(xl))
            terms = np.exp(xl - xl[top])
            terms[top] = 0
            true = -np.log1p(terms.sum())
            if kind == "corrected":
                assert -true < 1 / 16
            else:
                assert 1 / 16 < np.expm1(-true) < 1
            err = abs(np.longdouble(y[i, top]) - true) / np.longdouble(
                np.spacing(dtype(abs(true))))
            assert err <= 4, f"row {i} ({kind}): {float(err):.1f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("g", [12.3, 25.7, 41.1])
@pytest.mark.parametrize("shape,axis", [((8, 1000), 1), ((1000, 8), 0), ((40, 30), 1),
                                        ((2, 9000), 1)], ids=str)
def test_dominant_element_with_inexact_differences(dtype, g, shape, axis, isa):
    """Random non-integer scores, one of them g above the rest: x_j - max is not exact
    in the input's precision, and the dominant log-probability -log1p(rest) must still
    come out to a few ulps (rows, column blocks, short-row tiles, several chunks)."""
    rng = np.random.default_rng(int(g * 10))
    x = rng.uniform(-3, 3, shape).astype(dtype)
    top = np.argmax(x, axis=axis)
    idx = (np.arange(shape[0]), top) if axis == 1 else (top, np.arange(shape[1]))
    x[idx] = dtype(g) + x[idx]
    y = log_softmax(x, axis=axis)[idx]
    xl = x.astype(np.longdouble)
    m = xl.max(axis=axis, keepdims=True)
    terms = np.exp(xl - m)
    terms[idx] = 0  # the sum without the max's own 1
    true = -np.log1p(terms.sum(axis=axis))
    ulp = np.spacing(np.abs(true).astype(dtype)).astype(np.longdouble)
    err = np.abs(y.astype(np.longdouble) - true) / ulp
    assert float(err.max()) <= 8, f"{float(err.max()):.1f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [2, 81, 1000, 5000], ids=lambda n: f"n={n}")
def test_dominant_columns_among_others(dtype, n, isa):
    """Along axis 0, columns with an element g above the rest (their sums without it
    below 1: dominated) side by side with columns without one, in the same vectors.
    The column kernels add up each column's sum without its max, with the correction
    for the rounding of x - max where that sum is below 1/16 (all columns of fewer
    than 256 rows): every dominant log-probability to a few ulps whatever its
    neighbours, the other columns as well, and each column's bits the same at other
    offsets among the vectors."""
    rng = np.random.default_rng(n)
    width = 45
    x = rng.uniform(-3, 3, (n, width))
    top = rng.integers(0, n, width)
    cols = np.arange(width)
    dom = (cols % 3 == 0) | (cols % 7 == 1)
    gap = np.where(cols % 2 == 0, 12.3, 3.1) + np.log(n)
    x[top[dom], cols[dom]] = 3 + gap[dom]
    x = x.astype(dtype)
    y = log_softmax(x, axis=0)
    assert_ulps(y, x, 0, k=4)
    xl = x.astype(np.longdouble)
    terms = np.exp(xl - xl.max(axis=0))
    terms[top[dom], cols[dom]] = 0
    rest = terms.sum(axis=0)[dom]
    assert np.all(rest < 1)
    true = -np.log1p(rest)
    got = y[top[dom], cols[dom]].astype(np.longdouble)
    err = np.abs(got - true) / np.spacing(np.abs(true).astype(dtype)).astype(np.longdouble)
    assert float(err.max()) <= 4, f"{float(err.max()):.1f} ulps"
    for k in (1, 2, 5):
        assert np.array_equal(log_softmax(x[:, k:], axis=0), y[:, k:])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [300, 1000], ids=lambda n: f"n={n}")
def test_dominated_columns_same_bits_among_any_neighbours(dtype, n, isa):
    """Columns of 256 rows and more sum their terms without the correction for the
    rounding of x - max, and take it where the column's sum without its max is below
    1/16: the vector of columns goes again with it, or, where many vectors before it in
    the band needed it, has it from the start.  The same probe columns (sums without
    the max from 1e-9 to 2, and not dominated at all) beside plain columns and after
    many dominated ones have the same bits, and their dominant log-probabilities are
    within a few ulps."""
    rng = np.random.default_rng(n)
    rests = [1e-9, 1e-4, 0.01, 0.05, 0.0624, 0.0626, 0.07, 0.5, 2.0]
    probe = rng.uniform(-3, 3, (n, len(rests) + 3))
    top = rng.integers(0, n, probe.shape[1])
    for c, r in enumerate(rests):
        # the max above the others by log(their sum / r)
        others = np.delete(probe[:, c], top[c])
        probe[top[c], c] = np.log(np.exp(others).sum() / r)
    probe = probe.astype(dtype)
    plain = rng.uniform(-3, 3, (n, 64)).astype(dtype)
    heavy = rng.uniform(-3, 3, (n, 64))
    heavy[rng.integers(0, n, 64), np.arange(64)] = 30
    heavy = heavy.astype(dtype)
    w = probe.shape[1]
    # plain columns first: summed without the correction, as are the probes' first
    # vectors; after the heavy ones, all with it
    both = np.concatenate([plain, probe], axis=1)
    y = log_softmax(both, axis=0)
    for x, at in ((np.concatenate([heavy, both], axis=1), 64),
                  (np.concatenate([heavy[:, :37], both, heavy], axis=1), 37),
                  (np.concatenate([plain[:, :5], both], axis=1), 5)):
        for nt in (1, 2):
            got = log_softmax(x, axis=0, num_threads=nt)[:, at:at + 64 + w]
            assert np.array_equal(got, y), (at, nt)
    y = y[:, 64:]
    assert_ulps(y, probe, 0, k=4)
    xl = probe.astype(np.longdouble)
    terms = np.exp(xl - xl.max(axis=0))
    terms[top, np.arange(w)] = 0
    true = -np.log1p(terms.sum(axis=0))[:len(rests)]
    got = y[top, np.arange(w)][:len(rests)].astype(np.longdouble)
    err = np.abs(got - true) / np.spacing(np.abs(true).astype(dtype)).astype(np.longdouble)
    assert float(err.max()) <= 4, f"{float(err.max()):.1f} ulps"


@pytest.mark.parametrize("dtype,g", [(np.float32, 20), (np.float32, 30), (np.float32, 60),
                                     (np.float64, 60)], ids=str)
def test_scipy_contrast_dominant_element(dtype, g, isa):
    """scipy.special.log_softmax rounds the dominant log-probability to 0 here."""
    special = pytest.importorskip("scipy.special")
    x = np.array([g, 0, -1], dtype=dtype)
    assert special.log_softmax(x)[0] == 0
    assert log_softmax(x)[0] < 0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,axis", [((3, 20_000), 1), ((20_000, 3), 0), ((700, 300), 0),
                                        ((300, 700), 1), ((64, 64, 64), (0, 2))], ids=str)
@pytest.mark.parametrize("spread", [1.0, 30.0, 1e4])
def test_accuracy_large(dtype, shape, axis, spread, isa):
    rng = np.random.default_rng(20)
    x = (rng.standard_normal(shape) * spread).astype(dtype)
    assert_ulps(log_softmax(x, axis=axis), x, axis, k=4)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_accuracy_many_equal_values(dtype, isa):
    """Long slices of ties: the count of maxima and the sum of equal terms."""
    for n in (4095, 4096, 4097, 2047, 2049, 100_000):
        x = np.zeros(n, dtype=dtype)
        x[::2] = -1
        assert_ulps(log_softmax(x), x, -1, k=4, msg=f"row n={n}")
        xc = np.ascontiguousarray(np.repeat(x[:, None], 3, axis=1))
        assert_ulps(log_softmax(xc, axis=0), xc, 0, k=4, msg=f"column n={n}")
    x = np.ones(300_000, dtype=dtype)
    assert_ulps(log_softmax(x), x, -1, k=4, msg="all equal")
    assert_ulps(log_softmax(x, num_threads=2), x, -1, k=4, msg="all equal, 2 threads")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [300, 1023, 3001, 20_000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("mode", ["row", "column"])
def test_dominant_element_over_equal_terms(dtype, n, mode, isa):
    """A dominant element over n - 1 equal terms, whose differences from the max round
    alike and whose additions in a lane's sum round alike too (those roundings do not
    cancel as random terms' do): the dominant log-probability within a few ulps of
    itself on every path (rows of a pipeline, column bands, the one pass).  Float64's
    lanes fold their sums into double every 4 terms: every 16 left 5.9 ulps here."""
    bound = 4 if dtype == np.float32 else 2.5
    rng = np.random.default_rng(n)
    for v, g in ((0.1, 30.3), (0.7, 25.1), (-1.3, 33.3), (0.1, 24.4), (0.3, 36.0)):
        x = np.full(n, v, dtype=dtype)
        top = int(rng.integers(0, n))
        x[top] = g
        if mode == "column":
            y = log_softmax(np.ascontiguousarray(np.repeat(x[:, None], 24, axis=1)),
                            axis=0)[top, 5]
        else:
            y = log_softmax(np.stack([x, x[::-1], x]), axis=-1)[2, top]
        xl = x.astype(np.longdouble)
        terms = np.exp(xl - xl[top])
        terms[top] = 0
        true = -np.log1p(terms.sum())
        err = abs(np.longdouble(y) - true) / np.longdouble(np.spacing(dtype(abs(true))))
        assert err <= bound, f"{v} below {g}: {float(err):.2f} ulps"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [500, 2048, 4096, 20_000], ids=lambda n: f"n={n}")
@pytest.mark.parametrize("mode", ["row", "column"])
def test_accuracy_one_large_among_many_equal(dtype, n, mode, isa):
    """[c, 0, 0, ..., 0]: the sum is n - 1 equal terms exp(-c), whose rounding errors
    do not cancel as those of random terms do (one-hot-like logits)."""
    for c in (2.0, 3.0, 5.0):
        x = np.zeros(n, dtype=dtype)
        x[0] = c
        if mode == "column":
            x = np.ascontiguousarray(np.repeat(x[:, None], 16, axis=1))
        axis = 0 if mode == "column" else -1
        assert_ulps(log_softmax(x, axis=axis), x, axis, k=4, msg=f"c={c}")


def test_ulp_measure_can_fail():
    """The error measure flags a wrong result (so the sweep's assertion can fail)."""
    x = np.array([0.0, 1.0, 2.0])
    y = log_softmax(x)
    assert ulp_errors(y, x).max() <= 4
    scale = error_scale(x)
    bad = y.copy()
    bad[1] += 6 * np.finfo(np.float64).eps * float(scale[1])
    assert ulp_errors(bad, x).max() > 4
    with pytest.raises(AssertionError):
        assert_ulps(bad, x, -1, k=4)
    nanbad = y.copy()
    nanbad[0] = np.nan
    assert np.isinf(ulp_errors(nanbad, x).max())
    infbad = np.array([-np.inf, 0.0])
    assert np.isinf(ulp_errors(infbad, np.array([-np.inf, np.inf])).max())


def test_isa_fixture_switches_build(isa):
    from logsoftmax_c import _dispatch
    assert _dispatch.current_isa() == isa


def test_public_api():
    assert logsoftmax_c.log_softmax is log_softmax
    assert "log_softmax" in logsoftmax_c.__all__
    with pytest.raises(TypeError):
        log_softmax(np.ones(3), -1, None)  # out and the rest are keyword-only


def test_layouts_of_the_generator_are_what_they_claim():
    v = np.arange(60.0).reshape(3, 4, 5)
    assert make_layout(v, "C").flags.c_contiguous
    assert make_layout(v, "F").flags.f_contiguous
    for name in LAYOUTS:
        x = make_layout(v, name)
        if name != "broadcast":
            assert np.array_equal(x, v), name
    assert any(s < 0 for s in make_layout(v, "reversed").strides)
    assert 0 in make_layout(v, "broadcast").strides
    assert not make_layout(v, "step").flags.c_contiguous
    assert not make_layout(v, "embedded").flags.forc
    assert ref_longdouble(v, 1).dtype == np.longdouble


@pytest.mark.parametrize("fn", ["log_softmax", "softmax"])
@pytest.mark.parametrize("axis", [1, 0])
def test_large_output_written_with_streaming_stores(isa, fn, axis):
    """Outputs of 32 MiB and more take the non-temporal store path (rows, and column
    blocks along axis 0), whose vector loop starts at the first aligned element: an
    out= view one element into a buffer checks the unaligned head as well as the
    body and the tail; 2049 columns leave a partial last column block."""
    import logsoftmax_c
    f = getattr(logsoftmax_c, fn)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4100, 2049)).astype(np.float32)
    assert x.nbytes >= logsoftmax_c._dispatch.kernels.stream_bytes()
    buf = np.empty(x.size + 1, dtype=np.float32)
    out = buf[1:].reshape(x.shape)
    got = f(x, axis=axis, out=out)
    assert got is out
    ref = getattr(reference, fn)(x.astype(np.float64), axis=axis)
    eps = np.finfo(np.float32).eps
    assert np.all(np.abs(out - ref) <= 4 * eps * (1 + np.abs(ref)))
    assert np.array_equal(f(x, axis=axis), out)
