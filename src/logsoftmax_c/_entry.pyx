# The public log_softmax, softmax and logsumexp, compiled: their common call (an
# array, an axis, at most out=, keepdims and num_threads) goes from the call straight
# to the kernels' C function, with no Python frame between (the frame and its keyword
# matching took a tenth of a 64x10 float call; the argument layer's Python, run cold
# after a large call, 15-25 us of 1024x1000 floats').  Everything else goes to the
# argument layer, _api._family.  log_softmax_backward and softmax_backward likewise:
# C-contiguous gradients along the last axis to the kernels, the rest to _losses;
# cross_entropy and nll_loss too: rows of scores and in-range class indices, with or
# without class weights, no smoothing, to the kernels' loss call (cross_entropy's
# gradient too, with finite weights that are not negative), the rest to _losses.
#
# Compiled once: the kernel build in use (_dispatch) hands over its C functions with
# use_kernels; _api hands over the argument layer with set_fallback, _losses the
# gradients' with set_backward_fallback and the losses' with set_loss_fallback.  Their
# docstrings are _api's and _losses' (set there).

from cpython.pycapsule cimport PyCapsule_GetPointer

# the kernels' _direct_call (_kernels.pxi): the result, or None where it does not apply
ctypedef object (*direct_call_t)(object x, object axis, Py_ssize_t max_size, int op,
                                 object out, bint keepdims, object num_threads)

# the kernels' _backward_call (_kernels.pxi): likewise, for the gradients
ctypedef object (*backward_call_t)(object grad_output, object output, object axis,
                                   object out, bint softmax, object num_threads)

# the kernels' _loss_call (_kernels.pxi): likewise, for the losses
ctypedef object (*loss_call_t)(object x, object target, object axis, object weight,
                               object ignore_index, object reduction, object num_threads,
                               bint nll, Py_ssize_t max_size, bint grad)

cdef direct_call_t _direct_call = NULL
cdef backward_call_t _backward_call = NULL
cdef loss_call_t _loss_call = NULL
cdef object _backward_fallback = None
cdef object _loss_fallback = None
cdef object _capsule = None
cdef object _family = None
cdef Py_ssize_t _max_small = 0
cdef int _op_log_softmax = -1
cdef int _op_softmax = -1
cdef int _op_logsumexp = -1


def use_kernels(capsule, backward_capsule, loss_capsule):
    """Send the common calls to this kernel build's DIRECT_CALL capsule, the common
    gradient calls to its BACKWARD_CALL capsule and the common loss calls to its
    LOSS_CALL capsule."""
    global _direct_call, _backward_call, _loss_call, _capsule
    _direct_call = <direct_call_t>PyCapsule_GetPointer(capsule, b"logsoftmax_c.direct_call")
    _backward_call = <backward_call_t>PyCapsule_GetPointer(
        backward_capsule, b"logsoftmax_c.backward_call")
    _loss_call = <loss_call_t>PyCapsule_GetPointer(loss_capsule, b"logsoftmax_c.loss_call")
    _capsule = capsule


def kernels_in_use():
    """The DIRECT_CALL capsule that the common calls go to."""
    return _capsule


def set_fallback(family, Py_ssize_t max_small, int op_log_softmax, int op_softmax,
                 int op_logsumexp):
    """family(op, x, axis, out, dtype, num_threads, where, keepdims=...) takes every
    call; the direct call runs inputs of up to max_small elements on one thread
    (larger ones as the kernels' set_call_helpers say)."""
    global _family, _max_small, _op_log_softmax, _op_softmax, _op_logsumexp
    _family = family
    _max_small = max_small
    _op_log_softmax = op_log_softmax
    _op_softmax = op_softmax
    _op_logsumexp = op_logsumexp


cdef inline bint _threads_ok(num_threads):
    """None or an int >= 1 (anything else: the argument layer's checks and errors)."""
    return num_threads is None or (type(num_threads) is int and num_threads >= 1)


cdef inline bint _plain(where, dtype, num_threads):
    """Nothing but x, axis, out and a valid thread count: the direct call may take it
    (it checks out itself)."""
    return where is None and dtype is None and _threads_ok(num_threads)


cdef inline object _elementwise(int op, x, axis, where, out, dtype, num_threads):
    """log_softmax (op _op_log_softmax) or softmax (_op_softmax)."""
    if _direct_call != NULL and _plain(where, dtype, num_threads):
        y = _direct_call(x, axis, _max_small, op, out, False, num_threads)
        if y is not None:
            return y
    return _family(op, x, axis, out, dtype, num_threads, where)


def log_softmax(x, axis=-1, *, where=None, out=None, dtype=None, num_threads=None):
    return _elementwise(_op_log_softmax, x, axis, where, out, dtype, num_threads)


def softmax(x, axis=-1, *, where=None, out=None, dtype=None, num_threads=None):
    return _elementwise(_op_softmax, x, axis, where, out, dtype, num_threads)


def logsumexp(x, axis=-1, *, keepdims=False, where=None, out=None, dtype=None,
              num_threads=None):
    if (_direct_call != NULL and type(keepdims) is bool
            and _plain(where, dtype, num_threads)):
        y = _direct_call(x, axis, _max_small, _op_logsumexp, out, keepdims, num_threads)
        if y is not None:
            return y
    return _family(_op_logsumexp, x, axis, out, dtype, num_threads, where,
                   keepdims=bool(keepdims))


def set_backward_fallback(log_softmax_backward, softmax_backward):
    """The argument layer's gradients (_losses), which take every gradient call that
    the direct one does not."""
    global _backward_fallback
    _backward_fallback = (log_softmax_backward, softmax_backward)


cdef inline object _gradient(bint softmax, grad_output, output, axis, out, num_threads):
    """log_softmax_backward (softmax False) or softmax_backward."""
    if _backward_call != NULL and _threads_ok(num_threads):
        r = _backward_call(grad_output, output, axis, out, softmax, num_threads)
        if r is not None:
            return r
    return _backward_fallback[softmax](grad_output, output, axis, out=out,
                                       num_threads=num_threads)


def log_softmax_backward(grad_output, output, axis=-1, *, out=None, num_threads=None):
    return _gradient(False, grad_output, output, axis, out, num_threads)


def softmax_backward(grad_output, output, axis=-1, *, out=None, num_threads=None):
    return _gradient(True, grad_output, output, axis, out, num_threads)


def set_loss_fallback(nll_loss, cross_entropy):
    """The argument layer's losses (_losses), which take every loss call that the
    direct one does not."""
    global _loss_fallback
    _loss_fallback = (nll_loss, cross_entropy)


def nll_loss(log_probs, target, *, axis=-1, weight=None, ignore_index=-100,
             reduction="mean"):
    if _loss_call != NULL:
        r = _loss_call(log_probs, target, axis, weight, ignore_index, reduction, None, True,
                       _max_small, False)
        if r is not None:
            return r
    return _loss_fallback[0](log_probs, target, axis=axis, weight=weight,
                             ignore_index=ignore_index, reduction=reduction)


def cross_entropy(logits, target, *, axis=-1, weight=None, ignore_index=-100,
                  reduction="mean", label_smoothing=0.0, return_grad=False,
                  num_threads=None):
    if (_loss_call != NULL and (return_grad is False or return_grad is True)
            and (type(label_smoothing) is float or type(label_smoothing) is int)
            and label_smoothing == 0 and _threads_ok(num_threads)):
        r = _loss_call(logits, target, axis, weight, ignore_index, reduction, num_threads,
                       False, _max_small, return_grad is True)
        if r is not None:
            return r
    return _loss_fallback[1](logits, target, axis=axis, weight=weight,
                             ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=label_smoothing, return_grad=return_grad,
                             num_threads=num_threads)
