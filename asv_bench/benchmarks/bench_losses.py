"""Gradients and losses: time and peak memory.

cross_entropy on a language model's logits ((2048, 32000) float32, 256 MB; and a
small classifier batch), with and without the gradient; the backward functions on
(64, 32000).  Peak memory shows the fusion: the loss alone needs O(threads x row),
the gradient one array of the logits' size.
"""
import numpy as np

from logsoftmax_c import (cross_entropy, log_softmax, log_softmax_backward, nll_loss,
                          softmax, softmax_backward)

from .common import cached_random_array, random_array

THREADS = [1, None]


def _targets(n, c):
    return np.random.default_rng(0).integers(0, c, n)


class CrossEntropy:
    params = [[(64, 10), (2048, 32000)], THREADS, [0.0, 0.1]]
    param_names = ["shape", "num_threads", "label_smoothing"]
    timeout = 180

    def setup(self, shape, num_threads, label_smoothing):
        self.x = cached_random_array(shape, "float32")
        self.t = _targets(*shape)
        self.number = 1 if self.x.size >= 65536 else 100

    def time_cross_entropy(self, shape, num_threads, label_smoothing):
        cross_entropy(self.x, self.t, label_smoothing=label_smoothing,
                      num_threads=num_threads)

    def time_cross_entropy_grad(self, shape, num_threads, label_smoothing):
        cross_entropy(self.x, self.t, label_smoothing=label_smoothing, return_grad=True,
                      num_threads=num_threads)


class NLL:
    params = [[(64, 10), (2048, 32000)]]
    param_names = ["shape"]

    def setup(self, shape):
        self.lp = log_softmax(cached_random_array(shape, "float32"))
        self.t = _targets(*shape)

    def time_nll_loss(self, shape):
        nll_loss(self.lp, self.t)


class Backward:
    """Gradients along the last axis (row kernel) and axis 0 (column blocks)."""
    params = [["float32", "float64"], [-1, 0]]
    param_names = ["dtype", "axis"]
    shape = (64, 32000)

    def setup(self, dtype, axis):
        x = cached_random_array(self.shape, dtype)
        self.g = cached_random_array(self.shape, dtype, "F").copy(order="C")
        self.ls = log_softmax(x, axis=axis)
        self.sm = softmax(x, axis=axis)
        self.out = np.empty_like(x)

    def time_log_softmax_backward(self, dtype, axis):
        log_softmax_backward(self.g, self.ls, axis=axis, out=self.out)

    def time_softmax_backward(self, dtype, axis):
        softmax_backward(self.g, self.sm, axis=axis, out=self.out)


class ClassAxisOne:
    """Segmentation-style losses and gradients: classes along axis 1 of NCHW logits,
    a target per pixel (the losses' per-sample gathers; the backward functions'
    column blocks across threads)."""

    params = [[(8, 2, 128, 128), (16, 21, 64, 64)], THREADS]
    param_names = ["shape", "num_threads"]

    def setup(self, shape, num_threads):
        self.x = cached_random_array(shape, "float32")
        rng = np.random.default_rng(0)
        self.t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        self.g = cached_random_array(shape, "float32", "F").copy(order="C")
        self.ls = log_softmax(self.x, axis=1)
        self.out = np.empty_like(self.x)

    def time_cross_entropy(self, shape, num_threads):
        cross_entropy(self.x, self.t, axis=1, num_threads=num_threads)

    def time_cross_entropy_grad(self, shape, num_threads):
        cross_entropy(self.x, self.t, axis=1, return_grad=True, num_threads=num_threads)

    def time_log_softmax_backward(self, shape, num_threads):
        log_softmax_backward(self.g, self.ls, axis=1, out=self.out,
                             num_threads=num_threads)


class PeakMemory:
    """(2048, 32000) float32 logits (256 MB): compare with peakmem_copy."""

    shape = (2048, 32000)

    def setup(self):
        self.x = random_array(self.shape, "float32")
        self.t = _targets(*self.shape)

    def peakmem_copy(self):
        self.x.copy()

    def peakmem_cross_entropy(self):
        cross_entropy(self.x, self.t)

    def peakmem_cross_entropy_grad(self):
        cross_entropy(self.x, self.t, return_grad=True)
