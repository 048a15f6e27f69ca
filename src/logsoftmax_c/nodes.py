"""Activation and loss nodes with forward and backward, for small networks in NumPy.

Each node is called on an array (the forward pass, keeping what its backward needs)
and ``.backward(grad_output)`` returns the gradient with respect to the input (for
the losses: with respect to the logits or log-probabilities).  Names and arguments
follow ``torch.nn``; the class axis is ``axis`` (default -1, the last).
"""
import numpy as np

from . import _api, _losses

__all__ = ["LogSoftmax", "Softmax", "NLLLoss", "CrossEntropyLoss"]


class _Node:
    _saved = None

    def _need(self):
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the forward pass")
        return self._saved


class LogSoftmax(_Node):
    """y = log_softmax(x, axis); backward: g - exp(y) * sum(g)."""

    def __init__(self, axis=-1):
        self.axis = axis

    def __call__(self, x):
        y = _api.log_softmax(x, axis=self.axis)
        self._saved = y
        return y

    forward = __call__

    def backward(self, grad_output):
        return _losses.log_softmax_backward(grad_output, self._need(), axis=self.axis)

    def __repr__(self):
        return f"LogSoftmax(axis={self.axis})"


class Softmax(_Node):
    """y = softmax(x, axis); backward: y * (g - sum(g * y))."""

    def __init__(self, axis=-1):
        self.axis = axis

    def __call__(self, x):
        y = _api.softmax(x, axis=self.axis)
        self._saved = y
        return y

    forward = __call__

    def backward(self, grad_output):
        return _losses.softmax_backward(grad_output, self._need(), axis=self.axis)

    def __repr__(self):
        return f"Softmax(axis={self.axis})"


def _scale_grad(grad, grad_output, reduction, axis, name):
    """The loss's gradient times grad_output: the loss's shape (a scalar for 'mean'
    and 'sum', per sample for 'none'), or a scalar for any reduction."""
    g = np.asarray(grad_output, dtype=grad.dtype)
    if g.ndim == 0:
        return grad * g
    batch = grad.shape[:axis] + grad.shape[axis + 1:]
    if reduction != "none" or g.shape != batch:
        want = batch if reduction == "none" else ()
        raise ValueError(f"{name}.backward: grad_output has shape {g.shape}, expected "
                         f"the loss's shape {want} (or a scalar)")
    return grad * np.expand_dims(g, axis)


class _Loss(_Node):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", axis=-1):
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.axis = axis


class NLLLoss(_Loss):
    """nll_loss(log_probs, target); backward: gradient with respect to log_probs."""

    def __call__(self, log_probs, target):
        lp = np.asarray(log_probs)
        rt, ct = _losses._compute_dtype(lp, "NLLLoss")
        tg = _losses._Targets(lp, target, self.axis, self.weight, self.ignore_index,
                              self.reduction, "NLLLoss")
        loss = _losses.nll_loss(lp, target, axis=self.axis, weight=self.weight,
                                ignore_index=self.ignore_index, reduction=self.reduction)
        if self.reduction == "mean":
            # 1 / the number of samples, or / the summed weights of the non-ignored
            # targets (inf for none)
            if tg.probs:
                with np.errstate(divide="ignore"):
                    scale = ct.type(1) / ct.type(np.prod(tg.batch_shape))
            else:
                scale = _losses._grad_scale(tg, ct)
        else:
            scale = 1
        self._saved = (lp.shape, tg, ct, rt, scale)
        return loss

    forward = __call__

    def backward(self, grad_output=1.0):
        shape, tg, ct, rt, scale = self._need()
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = _losses.nll_loss_grad(shape, tg, ct, scale)
        return _scale_grad(grad, grad_output, self.reduction, tg.axis,
                           "NLLLoss").astype(rt, copy=False)

    def __repr__(self):
        return f"NLLLoss(reduction={self.reduction!r}, axis={self.axis})"


class CrossEntropyLoss(_Loss):
    """cross_entropy(logits, target), fused; backward: gradient with respect to logits,
    computed in the forward pass."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                 axis=-1):
        super().__init__(weight, ignore_index, reduction, axis)
        self.label_smoothing = label_smoothing

    def __call__(self, logits, target):
        loss, grad = _losses.cross_entropy(
            logits, target, axis=self.axis, weight=self.weight,
            ignore_index=self.ignore_index, reduction=self.reduction,
            label_smoothing=self.label_smoothing, return_grad=True)
        self._saved = grad
        return loss

    forward = __call__

    def backward(self, grad_output=1.0):
        grad = self._need()
        axis = _api._axes(self.axis, grad.ndim)[0]
        return _scale_grad(grad, grad_output, self.reduction, axis, "CrossEntropyLoss")

    def __repr__(self):
        return (f"CrossEntropyLoss(reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}, axis={self.axis})")
