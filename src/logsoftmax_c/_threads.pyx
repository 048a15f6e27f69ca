# The one place that decides how many threads a call uses.

import os

from libc.stdlib cimport getenv

cdef extern from "lsc_omp.h" nogil:
    int lsc_omp_max_threads()

cdef extern from *:
    """
    #ifndef LSC_HAVE_OPENMP
    #define LSC_HAVE_OPENMP 0
    #endif
    """
    int LSC_HAVE_OPENMP

OPENMP = bool(LSC_HAVE_OPENMP)

# A call takes at most one thread per this many elements: a thread's share of the
# work must pay for waking it.  Measured on 2 cores (the Xeon, the kernels called with
# no Python between), 1 / 2 threads, us: 16384 elements about even (float32 rows of
# 1024: log_softmax 3.2 / 3.4, softmax 3.6 / 3.5, logsumexp 2.7 / 3.0; float64 2
# threads 1.0-1.4 times faster); 32768 elements 2 threads 1.2-1.7 times faster for
# every function and dtype (rows of 128 and 1024, columns of 1024: log_softmax 6.5 /
# 4.9, softmax_backward 5.3 / 4.1 float32).
MIN_THREAD_ELEMENTS = 16384
# Below this many elements a call runs on one thread.
MIN_PARALLEL_ELEMENTS = 2 * MIN_THREAD_ELEMENTS


def _cgroup_cpu_quota():
    """CPUs allowed by a cgroup CPU quota (v2 cpu.max or v1 cfs), or None."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            return max(1, int(quota) // int(period))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") as f:
            quota = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
            period = int(f.read())
        if quota > 0 and period > 0:
            return max(1, quota // period)
    except (OSError, ValueError):
        pass
    return None


def usable_cpus():
    """CPUs this process may run on: affinity mask, capped by a cgroup quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return min(n, quota) if quota else n


_USABLE_CPUS = usable_cpus()
cdef int _usable_cpus = _USABLE_CPUS


cdef int _default_threads() noexcept:
    if not LSC_HAVE_OPENMP:
        return 1
    cdef int n = lsc_omp_max_threads()
    # (the process's environment, which os.environ's changes reach, read without
    # Python: the compiled calls ask for every large call)
    if getenv(b"OMP_NUM_THREADS") == NULL and n > _usable_cpus:
        n = _usable_cpus
    return n if n > 1 else 1


def default_threads():
    """Threads used when the caller does not say.

    OpenMP's own limit, which reflects OMP_NUM_THREADS and threadpoolctl's
    threadpool_limits; without OMP_NUM_THREADS also capped by the usable CPUs
    (OpenMP itself ignores cgroup quotas).
    """
    return _default_threads()


# An explicit thread count is capped at this many threads per usable CPU (or at the
# default count, if that is more): past the CPUs more threads only cost their stacks
# and their start, and a count past a C int would not reach the kernels.
MAX_THREADS_PER_CPU = 4


def threads_for(num_threads, Py_ssize_t size):
    """Threads for one call on `size` elements; num_threads is None (the default
    count) or an int >= 1 (at most that many, and at most MAX_THREADS_PER_CPU per
    usable CPU).  At most one thread per MIN_THREAD_ELEMENTS elements (so inputs below
    MIN_PARALLEL_ELEMENTS run on one): waking more costs more than they save."""
    if size < MIN_PARALLEL_ELEMENTS or not LSC_HAVE_OPENMP:
        return 1
    cdef int d = _default_threads()
    cdef Py_ssize_t most = size // MIN_THREAD_ELEMENTS
    if num_threads is not None:
        d = min(num_threads, max(MAX_THREADS_PER_CPU * _usable_cpus, d))
    return d if d < most else most
