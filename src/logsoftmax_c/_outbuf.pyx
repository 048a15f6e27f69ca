# cython: wraparound=True
# Output arrays for large results, from a small cache of freed blocks.
#
# A fresh NumPy array of tens of MiB is a fresh mmap: every page of it faults (and is
# zeroed by the kernel) on its first write, and is unmapped again when the array
# dies.  For a log-softmax that reads and writes each element once, those faults
# cost as much as the arithmetic, or more.  Arrays from `empty` below are ordinary
# ndarrays whose memory comes from a block owned by an `_Block` (their `.base`);
# when the last array using a block dies, the block goes back to a cache instead of
# to the system, and the next output of the same size reuses it, already mapped.
#
# The cache is bounded (`set_cache_bytes`, LOGSOFTMAX_C_OUTPUT_CACHE); 0 turns it off.
# Blocks are tracked by tracemalloc (in NumPy's domain) while an array holds them.

import os

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free

cnp.import_array()

cdef extern from "Python.h":
    int PyTraceMalloc_Track(unsigned int domain, uintptr_t ptr, size_t size)
    int PyTraceMalloc_Untrack(unsigned int domain, uintptr_t ptr)

cdef extern from "stdlib.h" nogil:
    int posix_memalign(void **memptr, size_t alignment, size_t size)

cdef extern from *:
    """
    #if defined(__linux__)
    #include <sys/mman.h>
    static void lsc_advise_huge(void *p, size_t n) {
    #ifdef MADV_HUGEPAGE
        madvise(p, n, MADV_HUGEPAGE);
    #endif
    }
    #else
    static void lsc_advise_huge(void *p, size_t n) { (void)p; (void)n; }
    #endif
    """
    void lsc_advise_huge(void *p, size_t n) nogil

# NumPy's tracemalloc domain for array data
DEF NPY_TRACE_DOMAIN = 389047
# blocks are whole pages, aligned to a huge page
DEF GRAIN = 4096
DEF ALIGN = 2097152
# a cache line: the most a result is moved within its block
DEF LINE = 64

# outputs smaller than this come from NumPy's allocator.  malloc keeps a block mapped
# between calls only where its threshold for mmap has been raised past the block's size
# (by the free of a larger mapped block), which other allocators in the process undo:
# in the bench, interleaved with PyTorch, softmax_backward of 1024x1000 float64 (a
# 7.8 MiB output) took 1.28-1.39 times the time of its out= with outputs from malloc,
# level with the cache (Zen 4; was 8 MiB)
MIN_BYTES = 4 * 1024 * 1024

cdef size_t _cache_limit = 0          # set at import, see _default_limit in Python
cdef size_t _cached_bytes = 0
cdef list _free = []                  # [(size, address)] of blocks ready for reuse, oldest first


cdef void _release(void *ptr, size_t size) noexcept:
    """A block no array uses any more: into the cache, or back to the system."""
    global _cached_bytes
    PyTraceMalloc_Untrack(NPY_TRACE_DOMAIN, <uintptr_t>ptr)
    if size > _cache_limit:
        free(ptr)
        return
    # make room, oldest blocks first
    while _free and _cached_bytes + size > _cache_limit:
        old_size, old_addr = _free.pop(0)
        _cached_bytes -= <size_t>old_size
        free(<void *><uintptr_t>old_addr)
    _free.append((size, <uintptr_t>ptr))
    _cached_bytes += size


cdef class _Block:
    """Owner of one block of output memory (the base of the arrays built on it)."""
    cdef void *ptr
    cdef readonly size_t size

    def __dealloc__(self):
        if self.ptr != NULL:
            _release(self.ptr, self.size)
            self.ptr = NULL


cdef _Block _take(size_t nbytes):
    """A block for nbytes: a cached one of the same size (nbytes rounded up to GRAIN),
    else a new one.  Reuse of the same size is the common case (the same shapes, call
    after call), and it wastes nothing."""
    global _cached_bytes
    cdef size_t want = (nbytes + GRAIN - 1) // GRAIN * GRAIN
    cdef Py_ssize_t i, best = -1
    cdef size_t size, best_size = 0
    for i in range(len(_free)):
        size = <size_t>_free[i][0]
        if size == want:
            best = i
            best_size = size
            break
    cdef _Block b = _Block.__new__(_Block)
    cdef void *p = NULL
    if best >= 0:
        size, addr = _free.pop(best)
        _cached_bytes -= best_size
        p = <void *><uintptr_t>addr
        want = best_size
    else:
        if posix_memalign(&p, ALIGN, want) != 0:
            raise MemoryError(f"cannot allocate {want} bytes for the output")
        lsc_advise_huge(p, want)
    b.ptr = p
    b.size = want
    PyTraceMalloc_Track(NPY_TRACE_DOMAIN, <uintptr_t>p, want)
    return b


def empty(shape, dtype, order="C", cnp.ndarray like=None):
    """np.empty(shape, dtype, order) ('C' or 'F'), from the block cache when large.
    dtype must be a native number type (the kernels' float32 / float64).  With `like`
    (an array of the same element size), a large result starts at the same offset
    within a cache line as `like`'s data: the kernels then read element k of the input
    and write element k of the output at the same place in their lines, so that both
    are aligned to a vector where either is (an input 16 bytes past a page, as large
    NumPy arrays often are, and an output on a page: 10-15% slower along axis 0)."""
    dt = np.dtype(dtype)
    cdef Py_ssize_t count = 1
    for s in shape:
        count *= s
    cdef size_t nbytes = <size_t>count * <size_t>dt.itemsize
    if nbytes < MIN_BYTES or _cache_limit == 0:
        return np.empty(shape, dt, order)
    cdef size_t offset = 0
    if like is not None and cnp.PyArray_ITEMSIZE(like) == dt.itemsize:
        offset = (<uintptr_t>cnp.PyArray_DATA(like)) % LINE
        if offset % <size_t>dt.itemsize != 0:
            offset = 0
    cdef _Block b = _take(nbytes + LINE)
    cdef cnp.npy_intp dims[64]
    cdef int nd = len(shape)
    cdef int i
    for i in range(nd):
        dims[i] = shape[i]
    flags = cnp.NPY_ARRAY_F_CONTIGUOUS if order == "F" else cnp.NPY_ARRAY_C_CONTIGUOUS
    arr = cnp.PyArray_New(cnp.ndarray, nd, dims, dt.num, NULL, <char *>b.ptr + offset,
                          dt.itemsize,
                          flags | cnp.NPY_ARRAY_WRITEABLE | cnp.NPY_ARRAY_ALIGNED, None)
    cnp.set_array_base(arr, b)
    return arr


def empty_like(cnp.ndarray x, dtype, axes=None):
    """np.empty_like(x, dtype), large C- or Fortran-ordered ones from the block cache
    (`empty`): a fresh output then costs no page faults.  With `axes` (the reduced
    ones) not holding x's contiguous axis (the column kernels' case), a large result
    starts where x does within a cache line (`empty`'s `like`): along axis 0 of
    4096x4096 float32, 5-15% faster for an x 16 bytes past a page.  The row kernels
    are faster with the result on the line (6-10% on 16x384x384 float32).  (The
    argument layer's and the compiled calls' outputs, _api and _kernels.pxi.)"""
    shape = (<object>x).shape
    if cnp.PyArray_IS_C_CONTIGUOUS(x):
        like = x if axes is not None and cnp.PyArray_NDIM(x) - 1 not in axes else None
        return empty(shape, dtype, "C", like)
    if cnp.PyArray_IS_F_CONTIGUOUS(x):
        like = x if axes is not None and 0 not in axes else None
        return empty(shape, dtype, "F", like)
    return np.empty_like(x, dtype=dtype)


def set_cache_bytes(limit):
    """Keep at most `limit` bytes of freed output blocks for reuse (0: none).
    Returns the previous limit."""
    global _cache_limit, _cached_bytes
    cdef size_t new = <size_t>max(0, int(limit))
    old = _cache_limit
    _cache_limit = new
    while _free and _cached_bytes > _cache_limit:
        size, addr = _free.pop(0)
        _cached_bytes -= <size_t>size
        free(<void *><uintptr_t>addr)
    return old


def cache_info():
    """(limit, bytes cached now, blocks cached now)"""
    return _cache_limit, _cached_bytes, len(_free)


ENV = "LOGSOFTMAX_C_OUTPUT_CACHE"


def _default_limit():
    """LOGSOFTMAX_C_OUTPUT_CACHE (bytes, or with a K/M/G suffix), else 1/8 of the
    memory, at most 1 GiB."""
    text = os.environ.get(ENV, "").strip().upper()
    if text:
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text[:-1] if scale != 1 else text
        try:
            return max(0, int(float(digits) * scale))
        except ValueError:
            raise ValueError(f"{ENV}={os.environ[ENV]!r}: expected a number of bytes, "
                             "optionally with a K, M or G suffix") from None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return min(1 << 30, total // 8)


set_cache_bytes(_default_limit())
