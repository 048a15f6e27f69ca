"""Gradients of log_softmax / softmax, and the losses nll_loss and cross_entropy.

Argument checks here; the softmax-family arithmetic comes from the kernels through
`_api` (logsumexp per row for the losses, softmax written straight into the gradient
buffer): no array of log-probabilities is made.

The backward functions run one kernel pass per row along the last axis of C-contiguous
arrays (the common layout); other layouts and dtypes go through NumPy compositions with
``out=`` ufunc calls and keepdims reductions.  Either way no temporary the size of the
input besides the output.
"""
import math
import numbers

import numpy as np

from . import _api, _entry

__all__ = ["log_softmax_backward", "softmax_backward", "nll_loss", "cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


# ---- gradients -------------------------------------------------------------------------

def _backward_args(grad_output, output, axis, out, name):
    g = np.asarray(grad_output)
    y = np.asarray(output)
    if g.shape != y.shape:
        raise ValueError(f"{name}: grad_output has shape {g.shape}, output {y.shape}")
    rt = _api._result_dtype(np.result_type(g.dtype, y.dtype), None, name)
    axes = _api._axes(axis, max(g.ndim, 1))
    if g.ndim == 0:
        g, y, axes = g.reshape(1), y.reshape(1), (0,)
    ct = _api._F32 if rt == _api._F16 else rt
    if out is not None:
        _api._check_out(out, np.shape(grad_output), rt, name)
    # compute into the result unless it would overwrite an input still to be read
    if out is not None and out.dtype == ct and not (
            np.may_share_memory(out, g) or np.may_share_memory(out, y)):
        r = out.reshape(g.shape)
    else:
        r = _api.empty_like(g, ct)
    return g, y, axes, r, rt


def _rows_kernel(g, y, r, axes, softmax, num_threads):
    """The kernels: one pass for the sums and one for the result, for inputs in the
    compute dtype with one memory layout (any axes, strides and order).  False
    (nothing done) for anything else, which the NumPy composition below handles."""
    if (g.size == 0 or g.dtype != r.dtype or y.dtype != r.dtype
            or r.dtype not in _api._KERNEL_DTYPES or not g.flags.aligned
            or not y.flags.aligned or g.strides != y.strides):
        return False
    nt = _api._threads.threads_for(num_threads, g.size)
    kernels = _api._dispatch.kernels
    if axes == (g.ndim - 1,) and g.flags.c_contiguous and y.flags.c_contiguous \
            and r.flags.c_contiguous:
        kernels.backward_rows(g, y, r, softmax, nt)
        return True
    return kernels.backward_axes(g, y, r, _api._axes_bits(axes), softmax, nt)


def _backward_result(r, out, rt, shape):
    if out is None:
        return r.astype(rt, copy=False).reshape(shape)
    if not np.shares_memory(r, out):
        with np.errstate(over="ignore"):
            np.copyto(out, r.reshape(shape), casting="unsafe")
    return out


def _log_softmax_backward(grad_output, output, axis=-1, *, out=None, num_threads=None):
    """Gradient of log_softmax with respect to its input: ``g - exp(y) * sum(g)``.

    `output` is y = log_softmax(x, axis) and `grad_output` the gradient with respect to
    y (same shape).  As PyTorch's autograd.  No temporary the size of the input
    besides the result.  num_threads: at most that many threads (default: as
    log_softmax); the result does not depend on it.
    """
    shape = np.shape(grad_output)
    nt = _api._check_threads(num_threads)
    g, y, axes, r, rt = _backward_args(grad_output, output, axis, out,
                                       "log_softmax_backward")
    if _rows_kernel(g, y, r, axes, False, nt):
        return _backward_result(r, out, rt, shape)
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.sum(g, axis=axes, keepdims=True, dtype=r.dtype)
        np.exp(y, out=r, casting="unsafe", dtype=r.dtype)  # in r's dtype, not y's
        np.multiply(r, s, out=r)
        np.subtract(g, r, out=r, casting="unsafe")
    return _backward_result(r, out, rt, shape)


def _softmax_backward(grad_output, output, axis=-1, *, out=None, num_threads=None):
    """Gradient of softmax with respect to its input: ``y * (g - sum(g * y))``.

    `output` is y = softmax(x, axis) and `grad_output` the gradient with respect to y.
    As PyTorch's autograd.  No temporary the size of the input besides the result.
    num_threads: as log_softmax_backward.
    """
    shape = np.shape(grad_output)
    nt = _api._check_threads(num_threads)
    g, y, axes, r, rt = _backward_args(grad_output, output, axis, out, "softmax_backward")
    if _rows_kernel(g, y, r, axes, True, nt):
        return _backward_result(r, out, rt, shape)
    with np.errstate(invalid="ignore", over="ignore"):
        np.multiply(g, y, out=r, casting="unsafe", dtype=r.dtype)
        s = np.sum(r, axis=axes, keepdims=True)
        np.subtract(g, s, out=r, casting="unsafe")
        np.multiply(r, y, out=r, casting="unsafe")
    return _backward_result(r, out, rt, shape)


# The public gradients are compiled (_entry.pyx): C-contiguous float32/float64 ones
# along the last axis reach the kernels without a Python frame; the rest comes here.
_entry.set_backward_fallback(_log_softmax_backward, _softmax_backward)
log_softmax_backward = _entry.log_softmax_backward
log_softmax_backward.__doc__ = _log_softmax_backward.__doc__
softmax_backward = _entry.softmax_backward
softmax_backward.__doc__ = _softmax_backward.__doc__


# ---- losses ----------------------------------------------------------------------------

class _Targets:
    """Checked loss arguments: the class axis, targets, weights, the reduction."""

    def __init__(self, x, target, axis, weight, ignore_index, reduction, name):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        if x.ndim == 0:
            raise ValueError(f"{name}: the input must have a class axis, got a 0-d array")
        self.axis = _api._axes(_api._axis_index(axis), x.ndim)[0]
        self.nclass = x.shape[self.axis]
        self.batch_shape = x.shape[:self.axis] + x.shape[self.axis + 1:]
        t = np.asarray(target)
        if t.dtype.kind in "iu":
            self.probs = False
            if t.shape != self.batch_shape:
                raise ValueError(
                    f"{name}: class-index target has shape {t.shape}, expected "
                    f"{self.batch_shape} (the input's shape {x.shape} without the class "
                    f"axis {self.axis})")
            # the common case first, in two reductions: every target a class and none
            # ignore_index (a segmentation batch has a target per pixel, and each pass
            # over them costs as much as the gather)
            lo, hi = (t.min(), t.max()) if t.size else (0, -1)
            self.any_ignored = not (0 <= lo and hi < self.nclass
                                    and not lo <= ignore_index <= hi)
            if not self.any_ignored:
                self.ignored = np.zeros(t.shape, dtype=bool)
                self.index = t.astype(np.intp, copy=False)
            else:
                self.ignored = t == ignore_index
                bad = ~self.ignored & ((t < 0) | (t >= self.nclass))
                if bad.any():
                    v = t[bad].flat[0]
                    raise IndexError(f"{name}: target {v} is out of bounds for "
                                     f"{self.nclass} classes (and is not "
                                     f"ignore_index={ignore_index})")
                self.any_ignored = bool(self.ignored.any())
                self.index = np.where(self.ignored, 0, t).astype(np.intp)
        elif t.dtype.kind == "f":
            self.probs = True
            self.any_ignored = False
            if t.shape != x.shape:
                raise ValueError(
                    f"{name}: class-probability target has shape {t.shape}, expected the "
                    f"input's shape {x.shape} (or give class indices as an integer array)")
        else:
            raise TypeError(f"{name}: target must be an integer array of class indices or "
                            f"a floating array of class probabilities, got dtype {t.dtype}")
        self.t = t
        self.weight = None
        if weight is not None:
            w = np.asarray(weight)
            if w.shape != (self.nclass,) or w.dtype.kind not in "biuf":
                raise ValueError(f"{name}: weight must be a real array of shape "
                                 f"({self.nclass},), got {w.dtype} {w.shape}")
            self.weight = w
        self.reduction = reduction
        # class indices, no weights, none ignored: every sample weighs 1
        self.plain = not self.probs and self.weight is None and not self.any_ignored

    def along_axis(self, v, ndim):
        """v (shape (C,)) shaped to broadcast along the class axis of an ndim array."""
        shape = [1] * ndim
        shape[self.axis] = self.nclass
        return np.reshape(v, shape)

    def expand(self, v):
        """A per-sample array (batch shape) with the class axis back, length 1."""
        return np.expand_dims(v, self.axis)

    def picked(self, a):
        """a[..., t, ...] along the class axis, per sample (ignored samples: class 0,
        whatever it holds; the callers drop them with `drop_ignored`)."""
        if self.nclass == 0:  # then every target is ignored
            return np.zeros(self.batch_shape, dtype=a.dtype)
        if self.gathers(a):
            # (NumPy's take_along_axis: 5 ns a sample, a loss's largest cost after its
            # logsumexp along a middle axis)
            return _api._dispatch.kernels.pick(
                a, np.ascontiguousarray(self.index), *self._acb(a)).reshape(self.batch_shape)
        return np.take_along_axis(a, self.expand(self.index), self.axis).squeeze(self.axis)

    def gathers(self, a):
        """Whether the kernels' gather (pick) takes a: C order, a kernel
        dtype in the machine's byte order, the classes along the class axis."""
        return (a.dtype in _api._KERNEL_DTYPES and a.flags.c_contiguous
                and a.dtype.isnative and a.shape[self.axis] == self.nclass)

    def _acb(self, a):
        """a's shape as (before the class axis, classes, after it)."""
        A = math.prod(a.shape[:self.axis])
        return A, self.nclass, a.size // max(A * self.nclass, 1)

    def add_at(self, a, v):
        """a[..., t, ...] += v per sample, in place (a as `gathers` takes it; v in a's
        dtype, the batch shape)."""
        if self.nclass:
            _api._dispatch.kernels.pick(a, np.ascontiguousarray(self.index), *self._acb(a),
                                        add=np.ascontiguousarray(v))

    def drop_ignored(self, losses):
        """0 for the ignored samples, whatever their input (an inf or a NaN in a padded
        row gives no NaN), as PyTorch."""
        if not self.any_ignored:
            return losses
        return np.where(self.ignored, losses.dtype.type(0), losses)

    def sample_weights(self, ct):
        """w[t_i] for class-index targets, 0 where ignored."""
        if self.weight is None and not self.any_ignored:
            return np.ones(self.batch_shape, dtype=ct)
        w = 1 if self.weight is None else self.weight.astype(ct)[self.index]
        return np.where(self.ignored, ct.type(0), ct.type(1) * w).astype(ct)

    def reduce(self, losses, denom):
        """losses per sample -> the reduction; and the factor each sample's gradient gets."""
        if self.reduction == "none":
            return losses, 1
        total = np.sum(losses, dtype=losses.dtype)
        if self.reduction == "sum":
            return total, 1
        # no samples, or all ignored: NaN, as PyTorch
        denom = losses.dtype.type(denom)
        with np.errstate(invalid="ignore", divide="ignore"):
            return losses.dtype.type(total / denom), losses.dtype.type(1) / denom


def _per_class(v, C):
    """v / C, a uniform share over the C classes; 0 when there are none (the sums over
    the classes it multiplies are empty)."""
    return v / C if C else 0.0


def _compute_dtype(x, name):
    rt = _api._result_dtype(x.dtype, None, name)
    return rt, (_api._F32 if rt == _api._F16 else rt)


def _weighted_class_sum(a, p, tg, ct):
    """Per sample: sum over classes of a * p (* weight), without an input-sized product."""
    ax = tg.axis
    am = np.moveaxis(a, ax, -1)
    pm = np.moveaxis(p, ax, -1)
    if tg.weight is None:
        return np.einsum("...c,...c->...", am, pm, dtype=ct, casting="unsafe")
    return np.einsum("...c,...c,c->...", am, pm, tg.weight.astype(ct), dtype=ct,
                     casting="unsafe")


def _class_sum(a, tg, ct):
    """Per sample: sum over classes of a (* weight)."""
    if tg.weight is None:
        return np.sum(a, axis=tg.axis, dtype=ct)
    return np.einsum("...c,c->...", np.moveaxis(a, tg.axis, -1), tg.weight.astype(ct),
                     dtype=ct, casting="unsafe")


def _nll_loss(log_probs, target, *, axis=-1, weight=None, ignore_index=-100,
              reduction="mean"):
    """Negative log-likelihood loss, as ``torch.nn.functional.nll_loss``.

    Parameters
    ----------
    log_probs : array_like
        Log-probabilities (e.g. from `log_softmax`) with the classes along `axis`.
    target : array_like
        Class indices (integer array of the input's shape without the class axis;
        entries equal to `ignore_index` take no part), or class probabilities
        (a floating array of the input's shape).
    axis : int, default -1
        The class axis; ``axis=1`` for PyTorch's (N, C, d1, ...) layout.
    weight : array_like of shape (C,), optional
        Per-class weights.
    ignore_index : int, default -100
    reduction : {'mean', 'sum', 'none'}
        'mean' divides by the summed weights of the non-ignored targets (class
        indices) or by the number of samples (class probabilities), as PyTorch.
    """
    name = "nll_loss"
    lp = np.asarray(log_probs)
    rt, ct = _compute_dtype(lp, name)
    tg = _Targets(lp, target, axis, weight, ignore_index, reduction, name)
    with np.errstate(invalid="ignore", over="ignore"):
        if tg.probs:
            losses = -_weighted_class_sum(lp, tg.t, tg, ct)
            denom = losses.size
        else:
            if tg.plain:
                losses = -tg.picked(lp).astype(ct, copy=False)
                denom = losses.size
            else:
                w = tg.sample_weights(ct)
                losses = tg.drop_ignored(-w * tg.picked(lp).astype(ct))
                denom = np.sum(w, dtype=ct)
        loss, _ = tg.reduce(np.asarray(losses, dtype=ct), denom)
    return np.asarray(loss).astype(rt)[()]


def nll_loss_grad(log_probs_shape, tg, ct, grad_scale):
    """Gradient of nll_loss with respect to the log-probabilities (used by the nodes)."""
    grad = np.zeros(log_probs_shape, dtype=ct)
    if tg.probs:
        np.multiply(tg.t, -1, out=grad, casting="unsafe")
        if tg.weight is not None:
            grad *= tg.along_axis(tg.weight.astype(ct), grad.ndim)
        grad *= grad_scale
        return grad
    w = np.where(tg.ignored, ct.type(0), tg.sample_weights(ct) * grad_scale)
    if tg.nclass:
        np.put_along_axis(grad, tg.expand(tg.index), tg.expand(-w), tg.axis)
    return grad


def _cross_entropy(logits, target, *, axis=-1, weight=None, ignore_index=-100,
                   reduction="mean", label_smoothing=0.0, return_grad=False,
                   num_threads=None):
    """Cross-entropy of softmax(logits) and the targets, as
    ``torch.nn.functional.cross_entropy``, fused: no array of log-probabilities.

    ``loss_i = logsumexp(x_i) - x_i[t_i]`` (class indices), with per-class `weight`,
    `ignore_index` and `label_smoothing` as PyTorch; with class-probability targets
    ``loss_i = logsumexp(x_i) * sum(p_i) - sum(p_i * x_i)`` (weighted per class).

    Parameters
    ----------
    logits : array_like
        Unnormalised scores with the classes along `axis`.
    target, axis, weight, ignore_index, reduction :
        As for `nll_loss`.
    label_smoothing : float in [0, 1], default 0
        Mix the targets with the uniform distribution, as PyTorch.
    return_grad : bool, default False
        Also return the gradient of the loss with respect to the logits (for
        ``reduction='none'``: of the sum of the losses), computed in the same pass:
        the softmax is written straight into the gradient array.
    num_threads : int, optional
        Threads for the kernels.

    Returns
    -------
    loss, or (loss, grad_logits)
        loss: a scalar (0-d) for 'mean' and 'sum', per sample for 'none'.
    """
    name = "cross_entropy"
    x = np.asarray(logits)
    rt, ct = _compute_dtype(x, name)
    tg = _Targets(x, target, axis, weight, ignore_index, reduction, name)
    if not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{name}: label_smoothing must be a real number, got "
                        f"{type(label_smoothing).__name__}")
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {eps}")
    C = tg.nclass
    grad = None
    if return_grad and _fusable(x, tg, ct):
        # the common case: one kernel pass gives the scaled softmax and the lse
        grad, lse = _scaled_softmax_and_lse(x, tg, ct, eps, num_threads)
    else:
        # (without dtype= where x is in it already: the compiled small call)
        kw = {} if x.dtype == ct else {"dtype": ct}
        lse = np.asarray(_api.logsumexp(x, axis=tg.axis, num_threads=num_threads, **kw))
    if C == 0:
        # no classes: the lse (-inf) only multiplies sums over them, which are empty
        lse = np.zeros(tg.batch_shape, dtype=ct)
    with np.errstate(invalid="ignore", over="ignore"):
        if tg.probs:
            # p' = (1 - eps) p + eps / C; loss_i = lse_i * sum(w p') - sum(w p' x)
            wp = _class_sum(tg.t, tg, ct)
            wpx = _weighted_class_sum(x, tg.t, tg, ct)
            if eps:
                wsum = C if tg.weight is None else np.sum(tg.weight, dtype=ct)
                wp = (1 - eps) * wp + _per_class(eps, C) * wsum
                wpx = (1 - eps) * wpx + _per_class(eps, C) * _class_sum(x, tg, ct)
            losses = lse * wp - wpx
            denom = losses.size
        else:
            if tg.plain:
                # no weights, nothing ignored: each sample's weight 1 (the same values)
                losses = lse - tg.picked(x).astype(ct, copy=False)
                denom = losses.size
            else:
                w = tg.sample_weights(ct)
                losses = tg.drop_ignored(w * (lse - tg.picked(x).astype(ct)))
                denom = np.sum(w, dtype=ct)
            if eps:
                # mean over classes of -log_softmax (weighted): (lse * sum(w) - sum(w x)) / C
                wsum = C if tg.weight is None else np.sum(tg.weight, dtype=ct)
                smooth = (lse * wsum - _class_sum(x, tg, ct)) * _per_class(1, C)
                smooth = tg.drop_ignored(smooth)
                losses = (1 - eps) * losses + eps * smooth
        losses = np.asarray(losses, dtype=ct)
        loss, scale = tg.reduce(losses, denom)
    loss = np.asarray(loss).astype(rt)[()]
    if not return_grad:
        return loss
    grad = _cross_entropy_grad(x, tg, ct, eps, scale, num_threads, grad)
    if not tg.probs and grad.size and tg.any_ignored:
        # the loss does not depend on an ignored sample: 0, also where its softmax is
        # NaN (a padded row of -inf, an inf or a NaN in it; PyTorch gives NaN there)
        np.moveaxis(grad, tg.axis, -1)[tg.ignored] = 0
    return loss, grad.astype(rt, copy=False)


# The public losses are compiled (_entry.pyx): rows of float32/float64 scores in C order
# with in-range class indices, class weights or none, no smoothing, reach the kernels
# (their logsumexp and gather; cross_entropy's gradient, the fused pass, where the
# weights are finite and not negative) without a Python frame, with the bits of this
# road; the rest comes here.
_entry.set_loss_fallback(_nll_loss, _cross_entropy)
nll_loss = _entry.nll_loss
nll_loss.__doc__ = _nll_loss.__doc__
cross_entropy = _entry.cross_entropy
cross_entropy.__doc__ = _cross_entropy.__doc__


def _subtract_product(grad, a, b):
    """grad -= a * b in place, a and b broadcast to grad, through buffers of a few
    thousand elements rather than a product the size of grad."""
    with np.nditer([grad, a, b], flags=["external_loop", "buffered", "zerosize_ok"],
                   op_flags=[["readwrite"], ["readonly"], ["readonly"]],
                   op_dtypes=[grad.dtype] * 3, casting="unsafe",
                   buffersize=8192) as it:
        for g, u, v in it:
            g -= u * v


def _fusable(x, tg, ct):
    """Class-index targets on C-contiguous logits with the classes last, in a kernel
    dtype: the gradient's softmax and the loss's logsumexp come from one pass.  Rows
    longer than the kernels' short-row tiles, so that the logsumexp is the one the
    loss alone gets (the same arithmetic, the same bits)."""
    return (not tg.probs and tg.axis == x.ndim - 1 and x.dtype == ct
            and ct in _api._KERNEL_DTYPES and x.flags.c_contiguous and x.size > 0
            and tg.nclass > _api._dispatch.kernels.SMALL_N)


def _grad_scale(tg, ct):
    """Each sample's share of the reduction (1 / the summed weights for 'mean')."""
    if tg.reduction != "mean":
        return 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 / np.sum(tg.sample_weights(ct), dtype=ct)


def _softmax_factor(tg, ct, eps, scale):
    """a_i: the factor of sample i's softmax in the gradient (class-index targets)."""
    C = tg.nclass
    live = np.where(tg.ignored, 0, scale).astype(ct)
    # (an inf scale, where the weights sum to 0, times a 0 weight: NaN, unwarned)
    with np.errstate(invalid="ignore", over="ignore"):
        wsum = C if tg.weight is None else np.sum(tg.weight, dtype=ct)
        a = live * ((1 - eps) * tg.sample_weights(ct) + _per_class(eps, C) * wsum)
    return live, a.astype(ct)


def _scaled_softmax_and_lse(x, tg, ct, eps, num_threads):
    """softmax(x) * a_i (the gradient before its per-class terms) and logsumexp(x)."""
    C = tg.nclass
    _, a = _softmax_factor(tg, ct, eps, _grad_scale(tg, ct))
    grad = _api.empty_like(x, ct)
    lse = np.empty(tg.batch_shape, dtype=ct)
    nt = _api._threads.threads_for(_api._check_threads(num_threads), x.size)
    _api._dispatch.kernels.softmax_scaled_rows(
        x.reshape(-1, C), grad.reshape(-1, C), np.ascontiguousarray(a).reshape(-1),
        lse.reshape(-1), nt)
    return grad, lse


def _cross_entropy_grad(x, tg, ct, eps, scale, num_threads, scaled=None):
    """d loss / d logits = softmax(x) * a_i - b_ic, the softmax written into the result
    (`scaled`: softmax(x) * a_i already computed, class-index targets).  (Not exp(x -
    lse) from the loss's logsumexp, one elementwise pass: lse in the logits' precision
    has lost the small log1p of a dominant class, whose probability, and gradient
    p_t - 1 near 0, then lose digits: 67 ulps on a float32 case of the tests.)"""
    C = tg.nclass
    if scaled is not None:
        grad = scaled
    else:
        # (without dtype= where x is in it already: the compiled small call)
        kw = {} if x.dtype == ct else {"dtype": ct}
        grad = _api.softmax(x, axis=tg.axis, num_threads=num_threads, **kw)
    if grad.size == 0:  # no samples, or no classes
        return grad
    wc = None if tg.weight is None else tg.along_axis(tg.weight.astype(ct), grad.ndim)
    with np.errstate(invalid="ignore", over="ignore"):
        if tg.probs:
            # a_i = sum_c w_c p'_c, b_ic = w_c p'_c
            wp = _class_sum(tg.t, tg, ct)
            if eps:
                wsum = C if tg.weight is None else np.sum(tg.weight, dtype=ct)
                wp = (1 - eps) * wp + _per_class(eps, C) * wsum
            grad *= tg.expand(wp * scale)
            # grad -= scale * w * p' (p' = (1 - eps) p + eps / C)
            coef = scale * (1 - eps)
            if wc is None:
                _subtract_product(grad, tg.t, np.asarray(coef, dtype=ct))
                if eps:
                    grad -= ct.type(scale * _per_class(eps, C))
            else:
                _subtract_product(grad, tg.t, (wc * coef).astype(ct))
                if eps:
                    grad -= wc * (scale * _per_class(eps, C))
            return grad
        # class indices: a_i = s_i ((1 - eps) w_t + eps / C sum w), s_i the sample's share
        # of the reduction (0 if ignored); b_ic = s_i ((1 - eps) w_t [c == t] + eps / C w_c)
        if tg.plain and not eps:
            # every a_i = s (the same values as below): a scalar, not arrays of it
            s = ct.type(scale)
            if scaled is None:
                grad *= s
            if tg.gathers(grad):
                tg.add_at(grad, np.full(tg.batch_shape, -s, dtype=ct))
            else:
                idx = tg.expand(tg.index)
                at_t = np.take_along_axis(grad, idx, tg.axis)
                at_t -= s
                np.put_along_axis(grad, idx, at_t, tg.axis)
            return grad
        live, a = _softmax_factor(tg, ct, eps, scale)
        wt = tg.sample_weights(ct)
        if scaled is None:
            grad *= tg.expand(a)
        if eps:
            if wc is None:
                grad -= tg.expand(live * _per_class(eps, C))
            else:
                _subtract_product(grad, tg.expand(live * _per_class(eps, C)).astype(ct), wc)
        sub = live * (1 - eps) * wt
        if tg.gathers(grad):
            tg.add_at(grad, (-sub).astype(ct, copy=False))
        else:
            idx = tg.expand(tg.index)
            at_t = np.take_along_axis(grad, idx, tg.axis)
            at_t -= tg.expand(sub)
            np.put_along_axis(grad, idx, at_t, tg.axis)
    return grad
