# The public log_softmax, softmax and logsumexp, compiled: their common small call (an
# array, an axis, at most out= and keepdims) goes from the call straight to the
# kernels' C function, with no Python frame between (the frame and its keyword
# matching took a tenth of a 64x10 float call).  Everything else goes to the argument
# layer, _api._family.
#
# Compiled once: the kernel build in use (_dispatch) hands over its C function with
# use_kernels; _api hands over the argument layer with set_fallback.  Their
# docstrings are _api's (set there, with the parameters the functions share).

from cpython.pycapsule cimport PyCapsule_GetPointer

# the kernels' _small_call (_kernels.pxi): the result, or None where it does not apply
ctypedef object (*small_call_t)(object x, object axis, Py_ssize_t max_size, int op,
                                object out, bint keepdims)

cdef small_call_t _small_call = NULL
cdef object _capsule = None
cdef object _family = None
cdef Py_ssize_t _max_small = 0
cdef int _op_log_softmax = -1
cdef int _op_softmax = -1
cdef int _op_logsumexp = -1


def use_kernels(capsule):
    """Send the small calls to this kernel build's SMALL_CALL capsule."""
    global _small_call, _capsule
    _small_call = <small_call_t>PyCapsule_GetPointer(capsule, b"logsoftmax_c.small_call")
    _capsule = capsule


def kernels_in_use():
    """The SMALL_CALL capsule that the small calls go to."""
    return _capsule


def set_fallback(family, Py_ssize_t max_small, int op_log_softmax, int op_softmax,
                 int op_logsumexp):
    """family(op, x, axis, out, dtype, num_threads, where, keepdims=...) takes every
    call; the small call path only inputs of up to max_small elements."""
    global _family, _max_small, _op_log_softmax, _op_softmax, _op_logsumexp
    _family = family
    _max_small = max_small
    _op_log_softmax = op_log_softmax
    _op_softmax = op_softmax
    _op_logsumexp = op_logsumexp


cdef inline bint _plain(where, dtype, num_threads):
    """Nothing but x, axis, out and a valid thread count: the small call may take it
    (it runs one thread whatever the count, and checks out itself)."""
    return where is None and dtype is None and (
        num_threads is None or (type(num_threads) is int and num_threads >= 1))


cdef inline object _elementwise(int op, x, axis, where, out, dtype, num_threads):
    """log_softmax (op _op_log_softmax) or softmax (_op_softmax)."""
    if _small_call != NULL and _plain(where, dtype, num_threads):
        y = _small_call(x, axis, _max_small, op, out, False)
        if y is not None:
            return y
    return _family(op, x, axis, out, dtype, num_threads, where)


def log_softmax(x, axis=-1, *, where=None, out=None, dtype=None, num_threads=None):
    return _elementwise(_op_log_softmax, x, axis, where, out, dtype, num_threads)


def softmax(x, axis=-1, *, where=None, out=None, dtype=None, num_threads=None):
    return _elementwise(_op_softmax, x, axis, where, out, dtype, num_threads)


def logsumexp(x, axis=-1, *, keepdims=False, where=None, out=None, dtype=None,
              num_threads=None):
    if (_small_call != NULL and type(keepdims) is bool
            and _plain(where, dtype, num_threads)):
        y = _small_call(x, axis, _max_small, _op_logsumexp, out, keepdims)
        if y is not None:
            return y
    return _family(_op_logsumexp, x, axis, out, dtype, num_threads, where,
                   keepdims=bool(keepdims))
