"""Shared fixtures and the array generator of the test suite.

The generator sweeps dtypes, shapes, memory layouts and axes in one loop (as
bottleneck's test suite does); the tests compare every case with the readable NumPy
twin ``logsoftmax_c.reference`` run in np.longdouble.
"""
import itertools
import warnings

import numpy as np
import pytest

from logsoftmax_c import _dispatch, reference

# ---------------------------------------------------------------------------------------
# kernel builds

ISAS = _dispatch.available_isas()


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test once per kernel build this machine supports, restoring the previous one."""
    previous = _dispatch.set_isa(request.param)
    try:
        yield request.param
    finally:
        _dispatch.set_isa(previous)


@pytest.fixture
def no_warnings():
    """Turn every warning (RuntimeWarning from NumPy floating-point errors) into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------------------
# the array generator

DTYPES = (np.float16, np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8)
FLOAT_DTYPES = (np.float32, np.float64)
LENGTHS = (7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65)

SMALL_SHAPES = (
    [(), (0,), (1,), (2,)]
    + [(n,) for n in LENGTHS]
    + [(0, 5), (5, 0), (3, 4), (4, 3, 5), (2, 3, 4, 5)]
)
# big shapes run with a few dtypes only, to keep the sweep fast
LARGE_SHAPES = {
    (100_003,): (np.float32,),
    (2, 2049): (np.float64,),
    (1000, 17): (np.float32, np.float64, np.int32),
    (17, 1000): (np.float32, np.float64, np.bool_),
}
LAYOUTS = ("C", "F", "step", "reversed", "transposed", "embedded", "broadcast")
# value families; "ties" are integer-valued, so maxima repeat (the kernels treat
# elements equal to the maximum specially)
VALUE_KINDS = ("normal", "ties", "wide")


def shape_id(shape):
    return "x".join(map(str, shape)) if shape else "0d"


def _values(rng, shape, dtype, kind):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        return rng.integers(0, 40, size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-20, 21, size=shape).astype(dtype)
    if kind == "ties":
        v = rng.integers(-3, 4, size=shape).astype(np.float64)
    elif kind == "wide":
        v = rng.uniform(-60.0, 60.0, size=shape)
    else:
        v = 4.0 * rng.standard_normal(shape)
    return np.asarray(v).astype(dtype)


def make_layout(values, layout):
    """An array equal to `values` (same shape and dtype) stored in the given layout."""
    shape, dtype, nd = values.shape, values.dtype, values.ndim
    if layout == "C" or nd == 0:
        return np.ascontiguousarray(values)
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "step":
        # every axis sliced with a step out of a bigger buffer
        buf = np.zeros(tuple(2 * n for n in shape), dtype=dtype)
        x = buf[(slice(None, None, 2),) * nd]
    elif layout == "reversed":
        # negative strides on every axis
        buf = np.zeros(shape, dtype=dtype)
        x = buf[(slice(None, None, -1),) * nd]
    elif layout == "transposed":
        # a C array of permuted shape, transposed back (a rotation, not only a reversal)
        perm = tuple(range(1, nd)) + (0,) if nd > 2 else tuple(reversed(range(nd)))
        inv = tuple(np.argsort(perm))
        buf = np.zeros(tuple(shape[p] for p in perm), dtype=dtype)
        x = buf.transpose(inv)
    elif layout == "embedded":
        # a non-contiguous view inside a bigger Fortran buffer: offset, step 3 on the
        # last axis, and one axis reversed
        big = tuple(n + 2 for n in shape[:-1]) + (3 * shape[-1] + 2,)
        buf = np.zeros(big, dtype=dtype, order="F")
        idx = tuple(slice(1, 1 + n) for n in shape[:-1]) + (slice(1, 1 + 3 * shape[-1], 3),)
        x = buf[idx]
        x = x[::-1]
    elif layout == "broadcast":
        # a zero stride: the values repeat along the broadcast axis
        b = nd // 2
        small = values[tuple(slice(0, 1) if d == b else slice(None) for d in range(nd))]
        return np.broadcast_to(small, shape)
    else:
        raise ValueError(layout)
    x[...] = values
    assert x.shape == shape and x.dtype == dtype
    return x


def axes_for(ndim):
    """Every axis, negative axes, tuples of two axes (one with negatives), (), None."""
    if ndim == 0:
        return [None, 0, -1]
    axes = list(range(ndim)) + [-k for k in range(1, ndim + 1)]
    axes += list(itertools.combinations(range(ndim), 2))
    if ndim >= 2:
        axes.append((-1, 0))
    axes += [(), None]
    return axes


def arrays(shapes=None, dtypes=DTYPES, layouts=LAYOUTS, seed=0):
    """Yield (x, axis, label) over shapes x dtypes x layouts x axes.

    `shapes` defaults to the small shapes plus the large ones (each of those with its own
    few dtypes).  Values are seeded; the value family cycles with the case number, so
    every shape sees ties, normal and wide values.
    """
    if shapes is None:
        shapes = SMALL_SHAPES + list(LARGE_SHAPES)
    rng = np.random.default_rng(seed)
    case = 0
    for shape in shapes:
        shape = tuple(shape)
        sdtypes = LARGE_SHAPES.get(shape, dtypes)
        large = shape in LARGE_SHAPES
        for dtype in sdtypes:
            if dtype not in dtypes and not large:
                continue
            for layout in layouts:
                if len(shape) == 0 and layout != "C":
                    continue
                kind = VALUE_KINDS[case % len(VALUE_KINDS)]
                case += 1
                x = make_layout(_values(rng, shape, dtype, kind), layout)
                axes = axes_for(len(shape))
                if large:
                    # big arrays: each axis, one negative axis, None
                    axes = list(range(len(shape))) + [-1, None]
                for axis in axes:
                    label = (f"shape={shape} dtype={np.dtype(dtype).name} layout={layout} "
                             f"values={kind} axis={axis}")
                    yield x, axis, label


# ---------------------------------------------------------------------------------------
# the oracle and the error measure

def result_dtype(xdtype, dtype=None):
    """The dtype log_softmax returns (the specification's rules)."""
    if dtype is not None:
        return np.dtype(dtype)
    xdtype = np.dtype(xdtype)
    if xdtype.kind == "f":
        return xdtype.newbyteorder("=")
    return np.dtype(np.float64)


def _as_reducible(x, axis):
    """A 0-d array is one slice of one element."""
    x = np.asarray(x)
    if x.ndim == 0:
        return x.reshape(1), 0
    return x, axis


def ref_longdouble(x, axis=-1):
    """The reference twin in np.longdouble (more precise than the kernels)."""
    x = np.asarray(x)
    xl, ax = _as_reducible(x.astype(np.longdouble), axis)
    return reference.log_softmax(xl, axis=ax).reshape(x.shape)


def error_scale(x, axis=-1):
    """1 + |x_i - max| + log(sum_j exp(x_j - max)) per element, in np.longdouble.

    The size of the terms each output is computed from; the error bound is a few
    machine epsilons of it.  NaN where the slice has no finite maximum.
    """
    x = np.asarray(x)
    xl, ax = _as_reducible(x.astype(np.longdouble), axis)
    if xl.size == 0:
        return np.empty(x.shape, dtype=np.longdouble)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(xl, axis=ax, keepdims=True)
        d = xl - m
        lse = np.log(np.sum(np.exp(d), axis=ax, keepdims=True))
        s = 1 + np.abs(d) + lse
    return s.reshape(x.shape)


def ulp_errors(got, x, axis=-1, ref=None):
    """|got - ref| in units of eps(got.dtype) * scale; inf where non-finite values differ."""
    got = np.asarray(got)
    if ref is None:
        ref = ref_longdouble(x, axis)
    ref = np.asarray(ref, dtype=np.longdouble)
    scale = error_scale(x, axis)
    eps = np.longdouble(np.finfo(got.dtype).eps)
    g = got.astype(np.longdouble)
    err = np.zeros(got.shape, dtype=np.longdouble)
    fin = np.isfinite(ref)
    with np.errstate(invalid="ignore", over="ignore"):
        err[fin] = np.abs(g[fin] - ref[fin]) / (eps * scale[fin])
    # non-finite reference values must be matched exactly (NaN for NaN, same infinity)
    nf = ~fin
    mismatch = nf & ~((np.isnan(g) & np.isnan(ref)) | (g == ref))
    err[mismatch] = np.inf
    # a finite reference must not give a non-finite result
    err[fin & ~np.isfinite(g)] = np.inf
    return err


def assert_ulps(got, x, axis=-1, k=4, ref=None, msg=""):
    err = ulp_errors(got, x, axis, ref=ref)
    if err.size and not np.all(err <= k):
        i = np.unravel_index(np.argmax(err), err.shape)
        r = ref_longdouble(x, axis) if ref is None else np.asarray(ref)
        raise AssertionError(
            f"{msg}: max error {float(err[i]):.3g} x eps*scale (allowed {k}) at index {i}: "
            f"got {got[i]!r}, expected {r[i]!r}, input {np.asarray(x)[i]!r}")
