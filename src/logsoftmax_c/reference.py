"""Readable NumPy twins of the public functions.

They define what the kernels compute and are the oracle of the tests (run them in
np.longdouble for a reference more precise than the kernels).  The library also uses
them for inputs the kernels do not cover (np.longdouble).  Slow: temporaries the size
of the input.
"""
import numpy as np


def log_softmax(x, axis=-1, dtype=None):
    """log_softmax(x)_i = x_i - max - log1p(sum of exp(x_j - max) over j != one argmax).

    Same semantics as logsoftmax_c.log_softmax (dtype rules, NaN/inf rules, empty
    arrays), computed in the result dtype (float16 in float32).
    """
    x = np.asarray(x)
    if dtype is not None:
        rt = np.dtype(dtype)
    elif x.dtype.kind == "f":
        rt = x.dtype
    elif x.dtype.kind in "biu":
        rt = np.dtype(np.float64)
    else:
        raise TypeError(f"log_softmax does not support dtype {x.dtype}")
    ct = np.dtype(np.float32) if rt == np.float16 else rt
    x = x.astype(ct)
    if x.ndim == 0:
        return log_softmax(x.reshape(1), axis=0 if axis in (None, 0, -1) else axis).reshape(()).astype(rt)
    if x.size == 0:
        return np.empty_like(x, dtype=rt)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        m = np.max(x, axis=axis, keepdims=True)            # NaN propagates
        d = x - m                                            # +inf or all -inf max: NaN
        is_max = d == 0
        # the sum without one occurrence of the maximum (whose term is exactly 1)
        rest = np.sum(np.where(is_max, 0, np.exp(d)), axis=axis, keepdims=True)
        count = np.sum(is_max, axis=axis, keepdims=True)
        s = rest + (count - 1).astype(ct)
        s = np.where(np.isfinite(m), s, np.nan)             # no finite maximum: NaN
        y = d - np.log1p(s)
    return y.astype(rt)
