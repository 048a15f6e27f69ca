"""The argument layer: array conversion, dtype rules, axes, ``out=``, threads.

Everything here is validation and bookkeeping; the arithmetic is in the kernels
(``_kernels.pxi``), which see aligned native float32/float64 arrays of any strides.
"""
import math
import operator

import numpy as np

try:  # NumPy >= 2.0
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # NumPy 1.25, 1.26
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple
from numpy.exceptions import AxisError

from . import _dispatch, _entry, _outbuf, _threads, reference
# what the kernels' write pass produces (the same in every ISA build)
from ._kernels_baseline import OP_LOG_SOFTMAX as _OP_LOG_SOFTMAX
from ._kernels_baseline import OP_LOGSUMEXP as _OP_LSE
from ._kernels_baseline import OP_SOFTMAX as _OP_SOFTMAX

__all__ = ["log_softmax", "softmax", "logsumexp", "set_output_cache"]

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_KERNEL_DTYPES = (_F32, _F64)
# inputs up to this size run on one thread (the compiled path runs them without asking
# threads_for)
_SMALL = _threads.MIN_PARALLEL_ELEMENTS - 1


def _result_dtype(xdtype, dtype, name):
    """The dtype a function returns: `dtype` if given, else floats keep theirs,
    bool and integers give float64 (as SciPy)."""
    kind = xdtype.kind
    if kind not in "fbiu":
        # also with dtype=: NumPy's ufuncs do not cast complex, strings, datetimes or
        # objects to a float for you either
        raise TypeError(f"{name}: unsupported input dtype {xdtype} "
                        "(expected a real floating, integer or bool array)")
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"{name}: dtype must be a floating-point type, got {dt}")
        return dt.newbyteorder("=")
    if kind == "f":
        return xdtype.newbyteorder("=")
    return _F64


def _axis_index(a):
    """An axis as an int: TypeError for a bool (as NumPy's reductions) or a non-integer."""
    if isinstance(a, (bool, np.bool_)):
        raise TypeError(f"an integer is required for the axis, got {a!r}")
    return operator.index(a)


def _axes(axis, ndim):
    """Normalised tuple of distinct reduced axes (AxisError / ValueError as NumPy)."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        return normalize_axis_tuple(tuple(_axis_index(a) for a in axis), ndim)
    return (normalize_axis_index(_axis_index(axis), ndim),)


def _axes_0d(axis):
    """The axes of a 0-d input, taken as one slice of one element: None, (), 0, -1 and
    tuples of these; anything else is out of bounds for an array of dimension 0."""
    try:
        return _axes(axis, 1)
    except AxisError:
        raise AxisError(f"axis {axis} is out of bounds for array of dimension 0") from None


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
    if out.dtype != rt and out.dtype.newbyteorder("=") != rt:
        # (the result dtype in either byte order: a non-native out= is written by a
        # conversion, as NumPy's ufuncs do)
        raise TypeError(f"{name}: out has dtype {out.dtype}, expected {rt}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")


# np.empty_like(x, dtype) with large outputs from the block cache (see there)
empty_like = _outbuf.empty_like


def set_output_cache(nbytes):
    """Keep up to `nbytes` of the memory of dead large outputs for reuse; returns the
    previous limit.

    A new output of 4 MiB or more is built on a block from this cache when one fits,
    so that it does not pay the page faults of fresh memory (for a large array they
    cost as much as the log-softmax itself).  Each block is owned by the array's
    ``.base`` and goes back to the cache when the last array using it dies; the
    oldest blocks are released when the cache is full.  0 turns the cache off.  The
    default is 1/8 of the memory, at most 1 GiB, or the environment variable
    LOGSOFTMAX_C_OUTPUT_CACHE (bytes, with an optional K, M or G suffix).
    """
    n = operator.index(nbytes)
    if n < 0:
        raise ValueError(f"set_output_cache: nbytes must be >= 0, got {n}")
    return _outbuf.set_cache_bytes(n)


def _same_memory_layout(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.strides == b.strides)


def _gather_slices(src, dst, axes, nthreads, op):
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
    if op == _OP_LSE:
        # one value per slice, at stride 0 along the slice
        one = np.empty(1, dtype=src.dtype)
        res = np.lib.stride_tricks.as_strided(one, flat.shape, (0,))
    for idx in np.ndindex(*xs.shape[:len(other)]):
        np.copyto(buf, xs[idx])
        if op == _OP_LSE:
            _dispatch.kernels.log_softmax_axes(flat, res, 1, nthreads, op)
            ys[idx] = one[0]  # ys has stride 0 along the reduced axes
        else:
            _dispatch.kernels.log_softmax_axes(flat, flat, 1, nthreads, op)
            ys[idx] = buf


_NAMES = {_OP_LOG_SOFTMAX: "log_softmax", _OP_SOFTMAX: "softmax", _OP_LSE: "logsumexp"}
# what a masked-out entry, and a fully masked slice, come out as
_MASKED_VALUE = {_OP_LOG_SOFTMAX: -np.inf, _OP_SOFTMAX: 0.0, _OP_LSE: -np.inf}


def _where_mask(where, shape, name):
    """`where` as a read-only boolean view of `shape` (TypeError / ValueError), and its
    negation in `where`'s own shape (broadcastable to `shape`: no array of `shape` is
    made for a broadcast mask)."""
    w = np.asarray(where)
    if w.dtype != np.bool_:
        raise TypeError(f"{name}: where must be a boolean array, got dtype {w.dtype}")
    try:
        mask = np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{name}: where of shape {w.shape} does not broadcast to the "
                         f"input's shape {shape}") from None
    return mask, np.logical_not(w)


# logsumexp with where= works through blocks of about this many elements
_WHERE_BLOCK = 1 << 18


def _lead_blocks(lead, per_index, limit):
    """Index tuples over the leading dimensions `lead` that cut an array into blocks of
    about `limit` elements (at least one index), `per_index` elements per index."""
    def rec(prefix, d):
        if d == len(lead):
            yield prefix
            return
        inner = per_index * int(np.prod(lead[d + 1:], dtype=np.int64))
        if inner * lead[d] <= limit:
            yield prefix + (slice(None),)
        elif inner <= limit:
            step = max(1, limit // inner)
            for i in range(0, lead[d], step):
                yield prefix + (slice(i, i + step),)
        else:
            for i in range(lead[d]):
                yield from rec(prefix + (i,), d + 1)
    yield from rec((), 0)


def _masked_lse(x, notmask, dst, axes, ct, nthreads):
    """logsumexp with where=, block by block: each block of whole slices is copied into
    a buffer with -inf where masked and reduced by the kernels into dst (x's shape,
    stride 0 along the reduced axes).  Extra memory: one block."""
    other = [d for d in range(x.ndim) if d not in axes]
    order = other + list(axes)
    xs, ds = x.transpose(order), dst.transpose(order)
    ns = np.broadcast_to(notmask, x.shape).transpose(order)
    lead = xs.shape[:len(other)]
    per_slice = int(np.prod(xs.shape[len(other):], dtype=np.int64))
    nt = _threads.threads_for(nthreads, x.size)
    for idx in _lead_blocks(lead, per_slice, _WHERE_BLOCK):
        xb, db = xs[idx], ds[idx]
        buf = np.empty_like(xb, dtype=ct)  # in the block's memory order: a fast copy
        np.copyto(buf, xb, casting="unsafe")
        np.copyto(buf, -np.inf, where=ns[idx])
        red = tuple(range(buf.ndim - len(axes), buf.ndim))
        bits = ((1 << len(axes)) - 1) << red[0]
        if not _dispatch.kernels.log_softmax_axes(buf, db, bits, nt, _OP_LSE):
            _gather_slices(buf, db, red, nt, _OP_LSE)
        del buf  # before the next block's


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def _lse_result(y, out):
    """logsumexp's result: a full reduction without out= gives a NumPy scalar, as
    NumPy's reductions."""
    return y[()] if out is None and y.ndim == 0 else y


def _half_pair(src, dst):
    """Whether convert_half takes src into dst: float16 and float32, either way, both
    C-contiguous in the machine's byte order (NumPy's casts between them go one
    element at a time)."""
    return ({src.dtype, dst.dtype} == {_F16, _F32} and src.flags.c_contiguous
            and dst.flags.c_contiguous and src.dtype.isnative and dst.dtype.isnative
            and src.shape == dst.shape)


def _convert(src, dst, nthreads, quiet=False):
    """dst[...] = src, a cast; quiet: without NumPy's overflow warning (results below
    float16's -65504 are -inf)."""
    if _half_pair(src, dst) and not np.may_share_memory(src, dst):
        _dispatch.kernels.convert_half(src, dst, _threads.threads_for(nthreads, src.size))
    elif quiet:
        with np.errstate(over="ignore"):
            np.copyto(dst, src, casting="unsafe")
    else:
        np.copyto(dst, src, casting="unsafe")


def _half_block():
    """float16 elements per thread in a block of _half_blocks: its float32 buffer half
    of a core's L2 (as Linux reports it; 1 << 20 where it does not), from 64 Ki to 1 Mi,
    so that the block's three passes (convert, compute in place, convert back) stay in
    L2.  A Xeon with 2 MiB of L2 (256 Ki elements), 1 thread, against 1 Mi: 1024x1000,
    16x384x384 and 4096x4096 0.70-0.81 of the time.  (On Zen 3, blocks of 1 Mi against
    one float32 copy of the whole input: 4096x4096 0.50 / 0.45 of the time with 1 / 2
    threads, 1024x1000 and 16x384x384 level.)"""
    l2 = _dispatch.kernels.L2_BYTES
    return min(1 << 20, max(1 << 16, l2 // 8)) if l2 else 1 << 20


_HALF_BLOCK = _half_block()
# With several threads, inputs of at most this many elements a thread go in one block:
# each block costs three parallel regions, whose start (the threads' wake-up) outweighs
# the L2's gain there (the Xeon, 2 threads, 1024x1000: one block 320 µs, two 375-434 µs;
# 16x384x384 and 4096x4096, above it: 0.83-0.96 of one block's time)
_HALF_ONE_BLOCK = 1 << 20
# (logsumexp's markers for float16 input that goes through _half_blocks, _half_panels)
_HALF_SRC = object()
_HALF_PANELS = object()


def _axes_bits(axes):
    """The kernels' mask of reduced axes: bit a set for each axis a."""
    bits = 0
    for a in axes:
        bits |= 1 << a
    return bits


def _half_share(x, nthreads):
    """The threads of a float16 computation of x through float32 buffers, and the
    float16 elements each thread's buffer takes at a time (_HALF_ONE_BLOCK where one
    block of that size holds all of x, else _HALF_BLOCK)."""
    nt = max(_threads.threads_for(nthreads, x.size), 1)
    return nt, _HALF_ONE_BLOCK if 1 < nt and x.size <= _HALF_ONE_BLOCK * nt else _HALF_BLOCK


def _half_by_rows(op, x, axes):
    """Whether float16 rows (the last axis of a C-order x) go through half_rows: rows of
    one chunk that the float32 computation takes through the row kernels (not the
    tiles of short rows), so that the bits are the same."""
    kernels = _dispatch.kernels
    n = x.shape[-1] if x.ndim else 0
    return (tuple(axes) == (x.ndim - 1,) and 1 <= n <= kernels.CHUNK["float32"]
            and x.size // n > 1
            and (n > kernels.SMALL_N or kernels.rows_untiled(n, op, False)))


def _half_blocks(op, x, y, axes, nthreads):
    """log_softmax / softmax (op) of a float16 C-order x into a float16 C-order y (x
    itself, or memory x does not share) along axes that leave axis 0 out: blocks of
    x's first axis, each converted into a float32 buffer, computed there and converted
    into y.  logsumexp: y is the float32 result seen with stride 0 along the reduced
    axes, which the kernels write.  Extra memory: the buffer, about _HALF_BLOCK
    elements a thread (_HALF_ONE_BLOCK below its size; at least one index of the first
    axis)."""
    per = x.size // x.shape[0]
    nt, each = _half_share(x, nthreads)
    rows = max(1, (each * nt) // per)
    buf = np.empty((min(rows, x.shape[0]),) + x.shape[1:], dtype=_F32)
    bits = _axes_bits(axes)
    kernels = _dispatch.kernels
    for i0 in range(0, x.shape[0], rows):
        xb = x[i0:i0 + rows]
        b = buf[:xb.shape[0]]
        bt = _threads.threads_for(nthreads, xb.size)
        kernels.convert_half(xb, b, bt)
        if op == _OP_LSE:
            if not kernels.log_softmax_axes(b, y[i0:i0 + rows], bits, bt, op):
                _gather_slices(b, y[i0:i0 + rows], axes, bt, op)
            continue
        if not kernels.log_softmax_axes(b, b, bits, bt, op):
            _gather_slices(b, b, axes, bt, op)
        kernels.convert_half(b, y[i0:i0 + rows], bt)


def _half_panels(op, x, y, axes, nthreads):
    """log_softmax / softmax (op) of a float16 C-order x into a float16 C-order y (x
    itself, or memory x does not share) along axes that take in the first and leave
    out the last: bands of the columns after the last reduced axis (x seen as rows of
    them), each converted into a float32 buffer, computed there (the column kernels,
    whose arithmetic does not depend on the band's width) and converted into y.
    logsumexp: y is the float32 keepdims result in C order, which the kernels write
    band by band.  Extra memory: the buffer, about _HALF_BLOCK elements a thread
    (_HALF_ONE_BLOCK below its size), at least 64 columns of the reduced axes, where a
    whole float32 copy of x took twice as much as x."""
    lead = x.shape[:max(axes) + 1]
    inner = x.size // math.prod(lead)
    rows = x.size // inner
    if op == _OP_LSE:
        y2 = y.reshape(y.size // inner, inner)
        ylead = y.shape[:len(lead)]
    else:
        y2 = y.reshape(rows, inner)
    nt, each = _half_share(x, nthreads)
    w = min(inner, max(64, (each * nt // rows) // 64 * 64))
    x2 = x.reshape(rows, inner)
    buf = np.empty(rows * w, dtype=_F32)
    bits = _axes_bits(axes)
    kernels = _dispatch.kernels
    for j0 in range(0, inner, w):
        wj = min(w, inner - j0)
        b = buf[:rows * wj].reshape(rows, wj)
        bt = _threads.threads_for(nthreads, b.size)
        kernels.convert_half_rows(x2[:, j0:j0 + wj], b, bt)
        bv = b.reshape(lead + (wj,))
        if op == _OP_LSE:
            # the band of the result, seen with stride 0 along the reduced axes
            r = y2[:, j0:j0 + wj].reshape(ylead + (wj,))
            strides = tuple(0 if d in axes else st for d, st in enumerate(r.strides))
            dst = np.lib.stride_tricks.as_strided(r, bv.shape, strides, writeable=True)
            if not kernels.log_softmax_axes(bv, dst, bits, bt, op):
                _gather_slices(bv, dst, axes, bt, op)
            continue
        if not kernels.log_softmax_axes(bv, bv, bits, bt, op):
            _gather_slices(bv, bv, axes, bt, op)
        kernels.convert_half_rows(b, y2[:, j0:j0 + wj], bt)


def _compute_copy(x, ct, nthreads):
    """x in the compute dtype ct, a new array."""
    if x.dtype == _F16 and x.flags.c_contiguous and ct == _F32:
        c = np.empty(x.shape, dtype=ct)
        _convert(x, c, nthreads)
        return c
    return x.astype(ct)


def _family(op, x, axis, out, dtype, num_threads, where=None, keepdims=False):
    """The one argument layer of log_softmax, softmax and logsumexp (op _OP_*)."""
    name = _NAMES[op]
    x = np.asarray(x)
    rt = _result_dtype(x.dtype, dtype, name)
    nthreads = _check_threads(num_threads)
    if x.ndim == 0:
        _axes_0d(axis)
        x1 = x.reshape(1)
        w1 = None if where is None else _where_mask(where, (), name)[0].reshape(1)
        if out is not None:
            _check_out(out, (), rt, name)
        r = _family(op, x1, 0, None, rt, num_threads, w1, keepdims=False)
        r = r.reshape(())
        if out is None:
            return r
        out[...] = r
        return out
    axes = _axes(axis, x.ndim)
    mask, notmask = (None, None) if where is None else _where_mask(where, x.shape, name)

    if op == _OP_LSE:
        oshape = _reduced_shape(x.shape, axes, keepdims)
    else:
        oshape = x.shape
    if out is None:
        y = empty_like(x, rt, axes) if op != _OP_LSE else np.empty(oshape, dtype=rt)
    else:
        _check_out(out, oshape, rt, name)
        y = out
    if y.size == 0:
        return y
    if x.size == 0:  # logsumexp over a zero-length axis: log(0)
        y[...] = -np.inf
        return _lse_result(y, out)

    ct = _F32 if rt == _F16 else rt
    if ct not in _KERNEL_DTYPES:
        # np.longdouble: the NumPy twin, which computes in that precision
        twin = getattr(reference, name)
        kw = {"keepdims": keepdims} if op == _OP_LSE else {}
        y[...] = twin(x, axis=axes, dtype=rt, where=mask, **kw)
        return _lse_result(y, out) if op == _OP_LSE else y

    if op == _OP_LSE:
        # the result, seen with stride 0 along the reduced axes, as the kernels want it
        keep = _reduced_shape(x.shape, axes, True)
        # not into an out= that overlaps x, which the kernels still read as they write
        into_y = y.dtype == ct and y.flags.aligned and not (
            out is not None and np.may_share_memory(y, x))
        if into_y:
            res = y if keepdims else np.expand_dims(y, axes)  # a view
        else:
            res = np.empty(keep, dtype=ct)
        strides = tuple(0 if d in axes else s for d, s in enumerate(res.strides))
        dst = np.lib.stride_tricks.as_strided(res, x.shape, strides, writeable=True)
        if mask is not None:
            src = None  # block by block, below
        elif x.dtype == ct and x.flags.aligned:
            src = x
        elif x.dtype == _F16 and x.flags.c_contiguous and 0 not in axes:
            src = _HALF_SRC  # float16 in C order: block by block, below
        elif (x.dtype == _F16 and x.flags.c_contiguous and max(axes) < x.ndim - 1
                and res.flags.c_contiguous):
            src = _HALF_PANELS  # the same, band by band of the last axes
        else:
            src = _compute_copy(x, ct, nthreads)
    else:
        res = None
        if (mask is None and x.dtype == _F16 and y.dtype == _F16
                and (0 not in axes or max(axes) < x.ndim - 1)
                and x.flags.c_contiguous and y.flags.c_contiguous
                and (_same_memory_layout(y, x) or not np.may_share_memory(y, x))):
            # float16 in C order: through a float32 buffer, block by block
            if 0 in axes:
                _half_panels(op, x, y, axes, nthreads)
            elif _half_by_rows(op, x, axes):
                _dispatch.kernels.half_rows(x, y, op, _HALF_BLOCK,
                                            _threads.threads_for(nthreads, x.size))
            else:
                _half_blocks(op, x, y, axes, nthreads)
            return y
        if mask is None and x.dtype == ct and x.flags.aligned:
            src = x
            if out is not None and out is not x and np.may_share_memory(out, x) \
                    and not _same_memory_layout(out, x):
                src = x.copy()  # partial overlap: read from a snapshot
        elif y.dtype == ct and y.flags.aligned and not (
                mask is not None and np.may_share_memory(y, x)
                and not _same_memory_layout(y, x)):
            _convert(x, y, nthreads)  # straight into the output
            src = y
        else:
            src = _compute_copy(x, ct, nthreads)  # float16 (and odd layouts)
        if y.dtype == ct and y.flags.aligned:
            dst = y
        else:
            dst = src if src is not x else np.empty_like(src)
    if src is None:
        _masked_lse(x, notmask, dst, axes, ct, nthreads)
    elif src is _HALF_SRC:
        _half_blocks(op, x, dst, axes, nthreads)
    elif src is _HALF_PANELS:
        _half_panels(op, x, res, axes, nthreads)
    else:
        if mask is not None:
            # masked-out entries take no part: -inf adds nothing to the max and the sum
            np.copyto(src, -np.inf, where=notmask)
        bits = _axes_bits(axes)
        nt = _threads.threads_for(nthreads, x.size)
        if not _dispatch.kernels.log_softmax_axes(src, dst, bits, nt, op):
            _gather_slices(src, dst, axes, nt, op)
    if notmask is not None and op != _OP_LSE:
        # whatever their slice gave (NaN for a fully masked one), masked-out entries
        # are -inf (log_softmax) or 0 (softmax)
        np.copyto(dst, _MASKED_VALUE[op], where=notmask)
    if op == _OP_LSE:
        if not into_y:
            with np.errstate(over="ignore"):
                np.copyto(y, res.reshape(oshape), casting="unsafe")
        return _lse_result(y, out)
    elif dst is not y:
        _convert(dst, y, nthreads, quiet=True)
    return y


_DOC_COMMON = """
    x : array_like
        Real input (floating, integer or bool).  Integers and bool compute in float64.
    axis : int, tuple of ints or None, default -1
        Axis, or axes normalised jointly; None means all elements.
    where : array_like of bool, optional
        Broadcastable to `x`: the entries that take part.  Masked-out entries are left
        out of the normalisation; a fully masked slice gives no NaN and no warning."""


def _common_doc(f, doc=None):
    """f with the parameters its functions share in its docstring (at `{common}`): set
    once here, where an expression in the docstring's place would be no docstring and
    would be evaluated at every call.  `doc`: f's docstring, for a compiled f."""
    f.__doc__ = (f.__doc__ if doc is None else doc).replace("{common}", _DOC_COMMON)
    return f


# log_softmax, softmax and logsumexp are compiled (_entry.pyx): their common calls (an
# aligned float32/float64 ndarray, an int axis, out=, keepdims, num_threads) reach the
# kernels without a Python frame, with _threads.threads_for and this layer's
# empty_like (_dispatch: set_call_helpers); the rest comes back to _family
_entry.set_fallback(_family, _SMALL, _OP_LOG_SOFTMAX, _OP_SOFTMAX, _OP_LSE)

log_softmax = _common_doc(_entry.log_softmax, """\
Logarithm of the softmax along `axis`: ``x - max - log(sum(exp(x - max)))``.

    Parameters
    ----------{common}  Masked-out entries come out as -inf.
    out : ndarray, optional
        Where to write the result: the input's shape and the result dtype, any strides.
        May be `x` itself (in place).
    dtype : floating dtype, optional
        Compute and return in this dtype (float16 computes in float32).
    num_threads : int, optional
        The most threads to use (default: the library's default).  A call takes at
        most one thread per 16K elements (inputs below 32K run on one): more would
        cost more than they save.

    Returns
    -------
    ndarray
        Log-probabilities, `out` if given.
    """)

softmax = _common_doc(_entry.softmax, """\
Softmax along `axis`: ``exp(log_softmax(x))``, in one pass over the output.

    The exponential of the accurate log-probability: a dominant class's probability
    1 - p and the tiny probabilities of the others keep their relative accuracy.

    Parameters
    ----------{common}  Masked-out entries come out as 0.
    out, dtype, num_threads :
        As for `log_softmax`.

    Returns
    -------
    ndarray
        Probabilities, `out` if given.
    """)


logsumexp = _common_doc(_entry.logsumexp, """\
``log(sum(exp(x)))`` along `axis`, as ``max + log1p(sum without the max)``.

    SciPy's values (``scipy.special.logsumexp``) with the accuracy of the log1p form:
    a slice of only -inf gives -inf, one with +inf (and no NaN) +inf, one with a NaN
    NaN; an empty reduction gives -inf.

    Parameters
    ----------{common}  A fully masked slice gives -inf.
    keepdims : bool, default False
        Keep the reduced axes, with length 1.
    out : ndarray, optional
        The reduced shape and the result dtype, any strides.
    dtype, num_threads :
        As for `log_softmax`.

    Returns
    -------
    ndarray
        The reduced array (a NumPy scalar for a full reduction without `out`), `out`
        if given.
    """)
