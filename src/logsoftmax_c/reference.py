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


# ---- gradients ---------------------------------------------------------------------

def log_softmax_backward(grad_output, output, axis=-1):
    """d/dx of sum(g * log_softmax(x)), from y = log_softmax(x): g - exp(y) * sum(g)."""
    g, y = np.asarray(grad_output), np.asarray(output)
    return g - np.exp(y) * np.sum(g, axis=axis, keepdims=True)


def softmax_backward(grad_output, output, axis=-1):
    """d/dx of sum(g * softmax(x)), from y = softmax(x): y * (g - sum(g * y))."""
    g, y = np.asarray(grad_output), np.asarray(output)
    return y * (g - np.sum(g * y, axis=axis, keepdims=True))


# ---- losses (PyTorch's semantics, the class axis moved last) -------------------------

def _reduce(losses, reduction, denom):
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.sum(losses)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(losses) / denom


def nll_loss(log_probs, target, axis=-1, weight=None, ignore_index=-100, reduction="mean"):
    """-w[t] * log_probs[..., t] per sample (class indices), or -sum_c w_c p_c lp_c
    (class probabilities); 'mean' divides by the summed weights of the counted targets
    (indices) or by the number of samples (probabilities)."""
    lp = np.moveaxis(np.asarray(log_probs), axis, -1)
    C = lp.shape[-1]
    w = np.ones(C, dtype=lp.dtype) if weight is None else np.asarray(weight, lp.dtype)
    t = np.asarray(target)
    if t.dtype.kind == "f":
        losses = -np.sum(np.moveaxis(t, axis, -1) * w * lp, axis=-1)
        return _reduce(losses, reduction, losses.size)
    keep = t != ignore_index
    ts = np.where(keep, t, 0)
    picked = np.take_along_axis(lp, ts[..., None], -1)[..., 0]
    wt = np.where(keep, w[ts], 0)
    return _reduce(-wt * picked, reduction, np.sum(wt))


def cross_entropy(logits, target, axis=-1, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """nll_loss of log_softmax(logits), with PyTorch's label smoothing: for class indices
    (1 - eps) * nll + eps / C * (weighted sum over classes of -log_softmax), the second
    term reduced like the first; for probabilities, the targets mixed with 1 / C."""
    x = np.asarray(logits)
    lp = log_softmax(x, axis=axis)
    C = x.shape[axis]
    t = np.asarray(target)
    eps = label_smoothing
    if t.dtype.kind == "f":
        return nll_loss(lp, t * (1 - eps) + eps / C, axis, weight, ignore_index, reduction)
    nll = nll_loss(lp, t, axis, weight, ignore_index, reduction)
    if not eps:
        return nll
    lpm = np.moveaxis(lp, axis, -1)
    w = np.ones(C, dtype=lp.dtype) if weight is None else np.asarray(weight, lp.dtype)
    keep = t != ignore_index
    smooth = np.where(keep, -np.sum(lpm * w, axis=-1), 0)
    wt = np.where(keep, w[np.where(keep, t, 0)], 0)
    return (1 - eps) * nll + eps / C * _reduce(smooth, reduction, np.sum(wt))


def cross_entropy_grad(logits, target, axis=-1, weight=None, ignore_index=-100,
                       reduction="mean", label_smoothing=0.0):
    """d/dx of cross_entropy (for reduction='none', of the sum of the losses), from
    the smoothed targets q (one-hot of t mixed with 1 / C, or the probabilities mixed
    with 1 / C) and weights w: grad_c = s * (softmax_c * sum_k w_k q_k - w_c q_c), with
    s each sample's share of the reduction (0 for an ignored target)."""
    x = np.moveaxis(np.asarray(logits), axis, -1)
    C = x.shape[-1]
    p = softmax(x, axis=-1)
    w = np.ones(C, dtype=p.dtype) if weight is None else np.asarray(weight, p.dtype)
    t = np.asarray(target)
    eps = label_smoothing
    if t.dtype.kind == "f":
        q = np.moveaxis(t, axis, -1) * (1 - eps) + eps / C
        share = np.ones(x.shape[:-1])
        denom = share.size
    else:
        keep = t != ignore_index
        ts = np.where(keep, t, 0)
        q = np.eye(C, dtype=p.dtype)[ts] * (1 - eps) + eps / C
        share = keep.astype(p.dtype)
        denom = np.sum(np.where(keep, w[ts], 0))
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(share > 0, share / denom, 0)  # all ignored: 0, as PyTorch
    wq = w * q
    grad = share[..., None] * (p * np.sum(wq, axis=-1, keepdims=True) - wq)
    return np.moveaxis(grad, -1, axis)
