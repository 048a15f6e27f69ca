"""Property-based tests: invariants of log-softmax that hold for any finite input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from logsoftmax_c import log_softmax

from conftest import assert_ulps, error_scale, ref_longdouble

SETTINGS = settings(deadline=None, max_examples=60,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

FLOATS = st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])


def _elements(dtype, bound):
    bound = float(np.dtype(dtype).type(bound))  # representable in the dtype
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False,
                     width=8 * np.dtype(dtype).itemsize)


@st.composite
def cases(draw, bound=1e4, max_side=24):
    """(x, axis): a finite float32/float64 array of 1-3 dims (any layout) and an axis."""
    dtype = draw(FLOATS)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=max_side))
    x = draw(hnp.arrays(dtype, shape, elements=_elements(dtype, bound)))
    layout = draw(st.sampled_from(["C", "F", "reversed", "step"]))
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "reversed":
        x = x[::-1].copy()[::-1]
    elif layout == "step":
        big = np.zeros((2 * shape[0],) + shape[1:], dtype=dtype)
        big[::2] = x
        x = big[::2]
    nd = x.ndim
    axis = draw(st.one_of(st.integers(-nd, nd - 1), st.none(),
                          st.permutations(range(nd)).map(lambda p: tuple(p[:2]))))
    return x, axis


WIDE = cases(bound=1e30)
NARROW = cases(bound=1e4)
# integer-valued floats: repeated maxima and other ties
TIED = cases(bound=5.0).map(lambda case: (np.round(case[0]), case[1]))


def _max_abs(x, axis):
    return np.max(np.abs(x), axis=axis, keepdims=True)


@pytest.mark.parametrize("strategy", [NARROW, WIDE, TIED], ids=["narrow", "wide", "ties"])
def test_matches_longdouble_reference(strategy, isa):
    @SETTINGS
    @given(strategy)
    def check(case):
        x, axis = case
        y = log_softmax(x, axis=axis)
        assert y.dtype == x.dtype and y.shape == x.shape
        assert_ulps(y, x, axis, k=4)
    check()


@pytest.mark.parametrize("strategy", [NARROW, TIED], ids=["narrow", "ties"])
def test_output_is_at_most_zero(strategy, isa):
    @SETTINGS
    @given(strategy)
    def check(case):
        x, axis = case
        y = log_softmax(x, axis=axis)
        eps = np.finfo(x.dtype).eps
        # <= 0 up to rounding; the maximum's output is -log1p(s) <= 0 exactly
        assert np.all(y <= 4 * eps * error_scale(x, axis).astype(np.float64))
    check()


@pytest.mark.parametrize("strategy", [NARROW, WIDE, TIED], ids=["narrow", "wide", "ties"])
def test_probabilities_sum_to_one(strategy, isa):
    @SETTINGS
    @given(strategy)
    def check(case):
        x, axis = case
        y = log_softmax(x, axis=axis).astype(np.longdouble)
        # logsumexp of the output is 0: each log-probability errs by a few eps*scale,
        # so sum(p_i * delta_i) <= 4 eps (1 + log(n) + entropy) <= 4 eps (1 + 2 log(n))
        m = np.max(y, axis=axis, keepdims=True)
        lse = (m + np.log(np.sum(np.exp(y - m), axis=axis, keepdims=True)))
        n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
        tol = 8 * np.finfo(x.dtype).eps * (1 + 2 * np.log(n))
        assert np.all(np.abs(lse.astype(np.float64)) <= tol), float(np.max(np.abs(lse)))
    check()


@pytest.mark.parametrize("strategy", [NARROW, TIED], ids=["narrow", "ties"])
def test_monotone_within_a_slice(strategy, isa):
    @SETTINGS
    @given(strategy)
    def check(case):
        x, axis = case
        y = log_softmax(x, axis=axis)
        # x_i <= x_j  =>  y_i <= y_j, checked between each element and the slice maximum
        # and between sorted neighbours of each slice
        if axis is None:
            axes = tuple(range(x.ndim))
        elif isinstance(axis, tuple):
            axes = tuple(a % x.ndim for a in axis)
        else:
            axes = (axis % x.ndim,)
        other = [d for d in range(x.ndim) if d not in axes]
        xs = np.transpose(x, other + list(axes)).reshape(
            int(np.prod([x.shape[d] for d in other])), -1)
        ys = np.transpose(y, other + list(axes)).reshape(xs.shape)
        order = np.argsort(xs, axis=1, kind="stable")
        xs_sorted = np.take_along_axis(xs, order, axis=1)
        ys_sorted = np.take_along_axis(ys, order, axis=1)
        assert np.all(np.diff(xs_sorted, axis=1) >= 0)
        bad = np.diff(ys_sorted, axis=1) < 0
        assert not bad.any(), "a larger input got a smaller output"
        # equal inputs, equal outputs
        same = np.diff(xs_sorted, axis=1) == 0
        assert np.all(np.diff(ys_sorted, axis=1)[same] == 0)
    check()


@pytest.mark.parametrize("strategy", [NARROW, WIDE], ids=["narrow", "wide"])
def test_shift_invariance(strategy, isa):
    @SETTINGS
    @given(strategy, st.floats(-100.0, 100.0, allow_nan=False))
    def check(case, c):
        x, axis = case
        xs = (x + x.dtype.type(c)).astype(x.dtype)
        # x + c rounds: compare each to its own exact result, and the two results to each
        # other with the rounding of the shift itself included in the scale
        assume(np.all(np.isfinite(xs)))
        y = log_softmax(x, axis=axis)
        ys = log_softmax(xs, axis=axis)
        eps = np.finfo(x.dtype).eps
        scale = np.maximum(error_scale(x, axis), error_scale(xs, axis)).astype(np.float64)
        shift_err = eps * (np.abs(x.astype(np.float64)) + abs(c))
        shift_err = shift_err + eps * _max_abs(x.astype(np.float64), axis) + eps * abs(c)
        tol = 8 * eps * scale + 2 * shift_err
        assert np.all(np.abs(y.astype(np.float64) - ys.astype(np.float64)) <= tol)
    check()


def test_shift_invariance_exact_for_power_of_two_shift(isa):
    """Adding an exactly representable shift that keeps every x + c exact."""
    @SETTINGS
    @given(cases(bound=8.0))
    def check(case):
        x, axis = case
        # x in [-8, 8]: adding 16 is exact when x has few significant bits
        xr = np.round(x * 64) / 64
        xr = xr.astype(x.dtype)
        ys = log_softmax((xr + 16).astype(x.dtype), axis=axis)
        assert np.all((xr + 16).astype(np.float64) - 16 == xr.astype(np.float64))
        assert_ulps(ys, xr, axis, k=4)
    check()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_any_values_follow_the_twin(dtype, isa):
    """Including NaN and infinities: same NaN pattern and values as the long-double twin."""
    big = float(np.float32(1e30)) if dtype == np.float32 else 1e300
    elements = st.one_of(st.floats(-big, big, width=8 * np.dtype(dtype).itemsize),
                         st.sampled_from([np.nan, np.inf, -np.inf]))

    @SETTINGS
    @given(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, max_side=20),
                      elements=elements))
    def check(x):
        for axis in (-1, 0, None):
            y = log_softmax(x, axis=axis)
            r = ref_longdouble(x, axis)
            assert np.array_equal(np.isnan(y), np.isnan(r)), axis
            assert_ulps(y, x, axis, k=4, msg=f"axis={axis}")
    check()


@st.composite
def long_columns(draw, dtype):
    """A float32 (n, width) array of 2048 to 2348 rows, or a float64 one of 1024 to 1324
    (the one pass of long columns in the AVX-512 and AVX2 builds), each column of a
    drawn kind and scale, from a drawn seed."""
    lo = 2048 if dtype == np.float32 else 1024
    n = draw(st.integers(lo, lo + 300))
    width = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    kinds = draw(st.lists(st.sampled_from(["normal", "rising", "falling", "dominated",
                                           "ties", "-inf", "special"]),
                          min_size=width, max_size=width))
    scale = draw(st.sampled_from([1e-3, 1.0, 4.0, 30.0, 1e4, 1e30]))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, width)) * scale
    for k, kind in enumerate(kinds):
        if kind == "rising":
            x[:, k] = np.sort(x[:, k])
        elif kind == "falling":
            x[:, k] = np.sort(x[:, k])[::-1]
        elif kind == "dominated":
            x[rng.integers(0, n), k] = np.abs(x[:, k]).max() + rng.uniform(5, 90)
        elif kind == "ties":
            x[:, k] = np.round(x[:, k] / scale)
        elif kind == "-inf":
            x[rng.random(n) < rng.random(), k] = -np.inf
        elif kind == "special":
            x[rng.integers(0, n), k] = rng.choice([np.nan, np.inf])
    return x.astype(dtype)


# (long draws, checked against long double: fewer examples, no deadline)
LONG_SETTINGS = settings(deadline=None, max_examples=25,
                         suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_long_float_columns_follow_the_twin(dtype, isa):
    """Long float32 and float64 columns of drawn kinds: within a few ulps of the
    long-double twin (the special-value rules included), at most 0, and each column's
    bits the same at other offsets among the vectors (16 columns or more) and with 2
    threads."""
    @LONG_SETTINGS
    @given(long_columns(dtype))
    def check(x):
        y = log_softmax(x, axis=0)
        r = ref_longdouble(x, 0)
        assert np.array_equal(np.isnan(y), np.isnan(r))
        assert_ulps(y, x, 0, k=4)
        assert not np.any(y > 0)
        assert np.array_equal(log_softmax(x, axis=0, num_threads=2), y, equal_nan=True)
        # (blocks narrower than 16 columns take the row kernels' bits instead)
        if x.shape[1] - 3 >= 16:
            assert np.array_equal(log_softmax(x[:, 3:], axis=0), y[:, 3:], equal_nan=True)
    check()
