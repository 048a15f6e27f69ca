"""The argument layer: array conversion, dtype rules, axes, ``out=``, threads.

Everything here is validation and bookkeeping; the arithmetic is in the kernels
(``_kernels.pxi``), which see aligned native float32/float64 arrays of any strides.
"""
import operator

import numpy as np

try:  # NumPy >= 2.0
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # NumPy 1.25, 1.26
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple

from . import _dispatch, _threads, reference

__all__ = ["log_softmax"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_KERNEL_DTYPES = (_F32, _F64)
# inputs up to this size run on one thread: the C fast path takes them
_SMALL = _threads.MIN_PARALLEL_ELEMENTS - 1


def _result_dtype(xdtype, dtype, name):
    """The dtype a function returns: `dtype` if given, else floats keep theirs,
    bool and integers give float64 (as SciPy)."""
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating-point type, got {dt}")
        return dt.newbyteorder("=")
    kind = xdtype.kind
    if kind == "f":
        return xdtype.newbyteorder("=")
    if kind in "biu":
        return _F64
    raise TypeError(f"{name}: unsupported input dtype {xdtype} "
                    "(expected a real floating, integer or bool array)")


def _axes(axis, ndim):
    """Normalised tuple of distinct reduced axes (AxisError / ValueError as NumPy)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        return normalize_axis_tuple(axis, ndim)
    return (normalize_axis_index(operator.index(axis), ndim),)


def _check_threads(num_threads):
    if num_threads is None:
        return None
    n = operator.index(num_threads)
    if n < 1:
        raise ValueError(f"num_threads must be None or >= 1, got {n}")
    return n


def _check_out(out, shape, rt, name):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: out must be a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{name}: out has shape {out.shape}, expected {shape}")
    if out.dtype != rt:
        raise TypeError(f"{name}: out has dtype {out.dtype}, expected {rt}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")


def _same_memory_layout(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides)


def _gather_slices(src, dst, axes, nthreads):
    """Slice by slice through a contiguous buffer, for reduced axes that do not form
    one strided axis (axis=(0, 2) of a C array, axis=None of a sliced array, ...).
    Extra memory: one slice."""
    nd = src.ndim
    other = [d for d in range(nd) if d not in axes]
    order = other + list(axes)
    xs = src.transpose(order)
    ys = dst.transpose(order)
    red_shape = xs.shape[len(other):]
    buf = np.empty(red_shape, dtype=src.dtype)
    flat = buf.reshape(-1)
    for idx in np.ndindex(*xs.shape[:len(other)]):
        np.copyto(buf, xs[idx])
        _dispatch.kernels.log_softmax_axes(flat, flat, 1, nthreads)
        ys[idx] = buf


def log_softmax(x, axis=-1, *, out=None, dtype=None, num_threads=None):
    """Logarithm of the softmax along `axis`: ``x - max - log(sum(exp(x - max)))``.

    Parameters
    ----------
    x : array_like
        Real input (floating, integer or bool).  Integers and bool compute in float64.
    axis : int, tuple of ints or None, default -1
        Axis, or axes normalised jointly; None means all elements.
    out : ndarray, optional
        Where to write the result: the input's shape and the result dtype, any strides.
        May be `x` itself (in place).
    dtype : floating dtype, optional
        Compute and return in this dtype (float16 computes in float32).
    num_threads : int, optional
        Threads to use; default: the library's default for this size of input.

    Returns
    -------
    ndarray
        Log-probabilities, `out` if given.
    """
    if out is None and dtype is None and (num_threads is None or (type(num_threads) is int
                                                                 and num_threads == 1)):
        y = _dispatch.kernels.log_softmax_small(x, axis, _SMALL)
        if y is not None:
            return y
    name = "log_softmax"
    x = np.asarray(x)
    rt = _result_dtype(x.dtype, dtype, name)
    nthreads = _check_threads(num_threads)
    if x.ndim == 0:
        axes = _axes(axis, 1)  # a 0-d array is one slice of one element
    else:
        axes = _axes(axis, x.ndim)
    if out is None:
        y = np.empty_like(x, dtype=rt)
    else:
        _check_out(out, x.shape, rt, name)
        y = out
    if x.size == 0:
        return y
    if x.ndim == 0:
        log_softmax(x.reshape(1), 0, out=y.reshape(1), dtype=rt, num_threads=num_threads)
        return y

    ct = _F32 if rt == _F16 else rt
    if ct not in _KERNEL_DTYPES:
        # np.longdouble: the NumPy twin, which computes in that precision
        y[...] = reference.log_softmax(x, axis=axes, dtype=rt)
        return y

    if x.dtype == ct and x.flags.aligned:
        src = x
        if out is not None and out is not x and np.may_share_memory(out, x) \
                and not _same_memory_layout(out, x):
            src = x.copy()  # partial overlap: read from a snapshot
    elif y.dtype == ct and y.flags.aligned:
        np.copyto(y, x, casting="unsafe")  # convert straight into the output
        src = y
    else:
        src = x.astype(ct)  # float16 (and odd layouts): a compute-dtype copy
    if y.dtype == ct and y.flags.aligned:
        dst = y
    else:
        dst = src if src is not x else np.empty_like(src)

    mask = 0
    for a in axes:
        mask |= 1 << a
    nt = _threads.threads_for(nthreads, x.size)
    if not _dispatch.kernels.log_softmax_axes(src, dst, mask, nt):
        _gather_slices(src, dst, axes, nt)
    if dst is not y:
        with np.errstate(over="ignore"):  # float16 results below -65504 are -inf
            np.copyto(y, dst, casting="unsafe")
    return y
