"""softmax and logsumexp: time, peak memory, and the speed-up over the NumPy twins.

The same walks as log_softmax (rows, column blocks, tiles of short rows), with a
different write pass: exp of the log-probability (softmax) or one value per slice
(logsumexp); and the masked path (where=), which goes through the argument layer.
Parameters as in bench_log_softmax.py, on a smaller grid.
"""
import numpy as np

from logsoftmax_c import logsumexp, reference, softmax

from .common import (cached_output_array, cached_random_array, calls_per_sample, median_times,
                     random_array)

SHAPES = [(64, 10), (64, 32000), (4096, 4096)]
DTYPES = ["float32", "float64"]
THREADS = [1, None]


class LastAxis:
    params = [SHAPES, DTYPES, THREADS]
    param_names = ["shape", "dtype", "num_threads"]

    def setup(self, shape, dtype, num_threads):
        self.x = cached_random_array(shape, dtype)
        self.out = cached_output_array(shape, dtype)
        self.number = calls_per_sample(self.x)

    def time_softmax(self, shape, dtype, num_threads):
        softmax(self.x, num_threads=num_threads)

    def time_softmax_out(self, shape, dtype, num_threads):
        softmax(self.x, out=self.out, num_threads=num_threads)

    def time_logsumexp(self, shape, dtype, num_threads):
        logsumexp(self.x, num_threads=num_threads)


class AxisOrder:
    """Each axis of a 3-D array of 4M float32 elements, in C order."""

    shape = (64, 256, 256)
    params = [[-1, 1, 0], THREADS]
    param_names = ["axis", "num_threads"]

    def setup(self, axis, num_threads):
        self.x = cached_random_array(self.shape, "float32")
        self.out = cached_output_array(self.shape, "float32")

    def time_softmax(self, axis, num_threads):
        softmax(self.x, axis=axis, out=self.out, num_threads=num_threads)

    def time_logsumexp(self, axis, num_threads):
        logsumexp(self.x, axis=axis, num_threads=num_threads)


class LongColumns:
    """Long columns past the caches, which softmax and logsumexp take in one pass down
    the rows in the AVX-512 and AVX2 builds (float32 from 2048 rows, float64 from
    1024): 64 MB along axis 0."""

    params = [[((4096, 4096), "float32"), ((4096, 2048), "float64")], THREADS]
    param_names = ["shape_dtype", "num_threads"]

    def setup(self, shape_dtype, num_threads):
        self.x = cached_random_array(*shape_dtype)

    def time_softmax(self, shape_dtype, num_threads):
        softmax(self.x, axis=0, num_threads=num_threads)

    def time_logsumexp(self, shape_dtype, num_threads):
        logsumexp(self.x, axis=0, num_threads=num_threads)


class Masked:
    """where= on (512, 32000) float32 logits: a padding mask broadcast over rows."""

    shape = (512, 32000)
    params = [THREADS]
    param_names = ["num_threads"]

    def setup(self, num_threads):
        self.x = cached_random_array(self.shape, "float32")
        self.out = cached_output_array(self.shape, "float32")
        self.where = np.arange(self.shape[1]) < 30000

    def time_softmax_where(self, num_threads):
        softmax(self.x, where=self.where, out=self.out, num_threads=num_threads)

    def time_logsumexp_where(self, num_threads):
        logsumexp(self.x, where=self.where, num_threads=num_threads)


class PeakMemory:
    """softmax needs its result only; logsumexp nothing of the input's size."""

    shape = (4096, 4096)
    params = [[-1, 0]]
    param_names = ["axis"]

    def setup(self, axis):
        self.x = random_array(self.shape, "float32")

    def peakmem_copy(self, axis):
        self.x.copy()

    def peakmem_softmax(self, axis):
        softmax(self.x, axis=axis)

    def peakmem_logsumexp(self, axis):
        logsumexp(self.x, axis=axis)


class Relative:
    """Speed-up over the NumPy twins (larger is better; see WORKFLOW.md)."""

    params = [[(64, 32000), (4096, 4096)], DTYPES]
    param_names = ["shape", "dtype"]
    timeout = 180

    def setup(self, shape, dtype):
        self.x = cached_random_array(shape, dtype)

    def track_softmax_speedup_vs_reference(self, shape, dtype):
        x = self.x
        t_ours, t_ref = median_times([lambda: softmax(x), lambda: reference.softmax(x)],
                                     repeat=3)
        return round(t_ref / t_ours, 2)

    track_softmax_speedup_vs_reference.unit = "x"

    def track_logsumexp_speedup_vs_reference(self, shape, dtype):
        x = self.x
        t_ours, t_ref = median_times([lambda: logsumexp(x), lambda: reference.logsumexp(x)],
                                     repeat=3)
        return round(t_ref / t_ours, 2)

    track_logsumexp_speedup_vs_reference.unit = "x"
