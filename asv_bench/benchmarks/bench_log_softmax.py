"""log_softmax: time, peak memory, and figures relative to a copy and to the NumPy twin.

Parameters, as in bottleneck's and NumPy's suites:
  shape        (64, 10) small: per-call overhead; (64, 32000) and (8, 128256):
               vocabulary-sized rows of a language model's logits; (4096, 4096):
               64 MB of float32, bound by memory bandwidth
  dtype        float32, float64
  axis, order  the reduced axis last, in the middle or first of a 3-D array, in C and
               Fortran order: the row and column-block walks of the kernels
  num_threads  1, and None: the library's default (every usable CPU, for inputs
               large enough to pay for threads)

Only the public API is used, so the suite runs against every commit in the history.
"""
import numpy as np

from logsoftmax_c import log_softmax
from logsoftmax_c import reference

from .common import (cached_output_array, cached_random_array, calls_per_sample, median_times,
                     random_array)

SHAPES = [(64, 10), (64, 32000), (8, 128256), (4096, 4096)]
DTYPES = ["float32", "float64"]
THREADS = [1, None]


class LastAxis:
    """The common case: the last axis of a C-ordered 2-D array, across sizes."""

    params = [SHAPES, DTYPES, THREADS]
    param_names = ["shape", "dtype", "num_threads"]

    def setup(self, shape, dtype, num_threads):
        self.x = cached_random_array(shape, dtype)
        self.out = cached_output_array(shape, dtype)
        self.number = calls_per_sample(self.x)

    def time_log_softmax(self, shape, dtype, num_threads):
        # allocates its result, as most callers do
        log_softmax(self.x, num_threads=num_threads)

    def time_log_softmax_out(self, shape, dtype, num_threads):
        # no allocation: the argument checks and the kernels
        log_softmax(self.x, out=self.out, num_threads=num_threads)


class ManyShortRows:
    """Many short rows past the caches: 64 MB of float32 in rows of 256, a result that
    is written with non-temporal stores (the row pipeline's, not row by row)."""

    shape = (65536, 256)
    params = [THREADS]
    param_names = ["num_threads"]

    def setup(self, num_threads):
        self.x = cached_random_array(self.shape, "float32")

    def time_log_softmax(self, num_threads):
        log_softmax(self.x, num_threads=num_threads)


class ColumnsOffGrid:
    """Non-last axes past the caches whose rows of the result start at offsets that vary
    within a vector (rows of 4090 and 8732 float32): the column bands write whole
    cache lines, two bands completing the line they share."""

    params = [[((4096, 4090), 0), ((32, 81, 8732), 1)], THREADS]
    param_names = ["shape_axis", "num_threads"]

    def setup(self, shape_axis, num_threads):
        self.x = cached_random_array(shape_axis[0], "float32")

    def time_log_softmax(self, shape_axis, num_threads):
        log_softmax(self.x, axis=shape_axis[1], num_threads=num_threads)


class LongColumns:
    """Long columns past the caches, which log_softmax takes in one pass down the rows
    in the AVX-512 and AVX2 builds (float32 from 2048 rows, float64 from 1024): 64 MB
    along axis 0, and float64 along the middle axis of a 3-D array."""

    params = [[((4096, 4096), 0, "float32"), ((4096, 2048), 0, "float64"),
               ((16, 2048, 512), 1, "float64")], THREADS]
    param_names = ["shape_axis_dtype", "num_threads"]

    def setup(self, shape_axis_dtype, num_threads):
        shape, _, dtype = shape_axis_dtype
        self.x = cached_random_array(shape, dtype)

    def time_log_softmax(self, shape_axis_dtype, num_threads):
        log_softmax(self.x, axis=shape_axis_dtype[1], num_threads=num_threads)


class NarrowAndHalf:
    """Paths of their own: a middle axis whose inner run is shorter than a vector (the
    columns through the row kernels, transposed), ten classes along axis 1 of NCHW
    logits (short columns), and float16 logits (converted block by block)."""

    params = [["64x1000x3 axis 1", "32x10x28x28 axis 1", "1024x1000 float16"], THREADS]
    param_names = ["case", "num_threads"]
    cases = {"64x1000x3 axis 1": ((64, 1000, 3), 1, "float32"),
             "32x10x28x28 axis 1": ((32, 10, 28, 28), 1, "float32"),
             "1024x1000 float16": ((1024, 1000), -1, "float16")}

    def setup(self, case, num_threads):
        shape, self.axis, dtype = self.cases[case]
        self.x = cached_random_array(shape, "float32").astype(dtype)

    def time_log_softmax(self, case, num_threads):
        log_softmax(self.x, axis=self.axis, num_threads=num_threads)


class AxisOrder:
    """Each axis of a 3-D array of 4M elements, in C and Fortran order."""

    shape = (64, 256, 256)
    params = [DTYPES, [-1, 1, 0], ["C", "F"], THREADS]
    param_names = ["dtype", "axis", "order", "num_threads"]

    def setup(self, dtype, axis, order, num_threads):
        self.x = cached_random_array(self.shape, dtype, order)
        self.out = cached_output_array(self.shape, dtype, order)

    def time_log_softmax(self, dtype, axis, order, num_threads):
        log_softmax(self.x, axis=axis, out=self.out, num_threads=num_threads)


class PeakMemory:
    """Peak memory of the process around one call on a 64 MB float32 input.

    Compare with peakmem_copy (the input plus one array of its size): log_softmax
    should need exactly as much (its result, no temporary), in place nothing beyond
    the input, while the NumPy twin holds several temporaries of the input's size.
    """

    shape = (4096, 4096)
    params = [[-1, 0], ["C", "F"]]
    param_names = ["axis", "order"]

    def setup(self, axis, order):
        # not cached: the in-place benchmark overwrites it
        self.x = random_array(self.shape, "float32", order)

    def peakmem_copy(self, axis, order):
        self.x.copy()

    def peakmem_log_softmax(self, axis, order):
        log_softmax(self.x, axis=axis)

    def peakmem_log_softmax_inplace(self, axis, order):
        log_softmax(self.x, axis=axis, out=self.x)

    def peakmem_reference(self, axis, order):
        reference.log_softmax(self.x, axis=axis)


class Relative:
    """Figures that carry over between machines, measured side by side in one call.

    Larger is better for both, while `asv compare` and `asv continuous` count a larger
    value as worse: read them in the graphs of `asv publish`, and leave them out of
    regression gates (see WORKFLOW.md).
    """

    params = [SHAPES, DTYPES, THREADS]
    param_names = ["shape", "dtype", "num_threads"]
    timeout = 180

    def setup(self, shape, dtype, num_threads):
        self.x = cached_random_array(shape, dtype)
        self.out = cached_output_array(shape, dtype)

    def track_bandwidth_vs_copy(self, shape, dtype, num_threads):
        """Memory throughput as a percentage of np.copyto's on the same arrays.

        Both read the input once and write a result of the same size into the same
        preallocated array, so the ratio of times is the ratio of GB/s.
        """
        x, out = self.x, self.out
        t_ours, t_copy = median_times([
            lambda: log_softmax(x, out=out, num_threads=num_threads),
            lambda: np.copyto(out, x),
        ])
        return round(100.0 * t_copy / t_ours, 1)

    track_bandwidth_vs_copy.unit = "%"

    def track_speedup_vs_reference(self, shape, dtype, num_threads):
        """How many times faster than logsoftmax_c.reference.log_softmax (NumPy)."""
        x = self.x
        t_ours, t_reference = median_times([
            lambda: log_softmax(x, num_threads=num_threads),
            lambda: reference.log_softmax(x),
        ], repeat=3)
        return round(t_reference / t_ours, 2)

    track_speedup_vs_reference.unit = "x"
