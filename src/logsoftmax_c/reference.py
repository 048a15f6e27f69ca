"""Readable NumPy twins of the public functions.

They define what the kernels compute and are the oracle of the tests (run them in
np.longdouble for a reference more precise than the kernels).  The library also uses
them for inputs the kernels do not cover (np.longdouble).  Slow: temporaries the size
of the input.
"""
import numpy as np


def _result_dtype(x, dtype, name):
    if dtype is not None:
        return np.dtype(dtype)
    if x.dtype.kind == "f":
        return x.dtype
    if x.dtype.kind in "biu":
        return np.dtype(np.float64)
    raise TypeError(f"{name} does not support dtype {x.dtype}")


def _stats(x, axis):
    """Per slice (keepdims): the max m and log1p(s), s the sum of exp(x - m) without one
    occurrence of the max; NaN where the slice has no finite max."""
    m = np.max(x, axis=axis, keepdims=True)            # NaN propagates
    d = x - m                                            # +inf or all -inf max: NaN
    is_max = d == 0
    rest = np.sum(np.where(is_max, 0, np.exp(d)), axis=axis, keepdims=True)
    count = np.sum(is_max, axis=axis, keepdims=True)
    s = rest + (count - 1).astype(x.dtype)
    s = np.where(np.isfinite(m), s, np.nan)             # no finite maximum: NaN
    return m, d, np.log1p(s)


def log_softmax(x, axis=-1, dtype=None, where=None):
    """log_softmax(x)_i = x_i - max - log1p(sum of exp(x_j - max) over j != one argmax).

    Same semantics as logsoftmax_c.log_softmax (dtype rules, NaN/inf rules, empty
    arrays, where= masks), computed in the result dtype (float16 in float32).
    """
    x = np.asarray(x)
    rt = _result_dtype(x, dtype, "log_softmax")
    ct = np.dtype(np.float32) if rt == np.float16 else rt
    x = x.astype(ct)
    if x.ndim == 0:
        w = None if where is None else np.reshape(where, 1)
        return log_softmax(x.reshape(1), axis=0 if axis in (None, 0, -1) else axis,
                           where=w).reshape(()).astype(rt)
    if x.size == 0:
        return np.empty_like(x, dtype=rt)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        if where is not None:
            x = np.where(where, x, -np.inf)              # masked out: no part in the sum
        m, d, c = _stats(x, axis)
        y = d - c
        if where is not None:
            y = np.where(where, y, -np.inf)
    return y.astype(rt)


def softmax(x, axis=-1, dtype=None, where=None):
    """softmax(x) = exp(log_softmax(x)): accurate for a dominant class too."""
    x = np.asarray(x)
    rt = _result_dtype(x, dtype, "softmax")
    ct = np.dtype(np.float32) if rt == np.float16 else rt
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        p = np.exp(log_softmax(x, axis=axis, dtype=ct, where=where))
    return p.astype(rt)


def logsumexp(x, axis=-1, keepdims=False, dtype=None, where=None):
    """logsumexp(x) = max + log1p(sum of exp(x_j - max) over j != one argmax).

    SciPy's values: a slice of only -inf (or an empty one) gives -inf, one with +inf
    and no NaN +inf, one with a NaN NaN.
    """
    x = np.asarray(x)
    rt = _result_dtype(x, dtype, "logsumexp")
    ct = np.dtype(np.float32) if rt == np.float16 else rt
    x = x.astype(ct)
    if x.ndim == 0:
        x = x.reshape(1)
        where = None if where is None else np.reshape(where, 1)
        axis, keepdims = 0, False
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        if where is not None:
            x = np.where(where, x, -np.inf)
        if x.size == 0:
            return np.sum(np.exp(x), axis=axis, keepdims=keepdims).astype(rt) - np.inf
        m, _, c = _stats(x, axis)
        has_nan = np.any(np.isnan(x), axis=axis, keepdims=True)
        r = np.where(np.isfinite(m), m + c, np.where(has_nan, np.nan, m))
    if not keepdims:
        r = np.squeeze(r, axis=axis)
    return r.astype(rt)
