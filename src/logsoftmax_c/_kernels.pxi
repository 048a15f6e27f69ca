# Softmax-family drivers (log_softmax, softmax, logsumexp): map an n-d array and a set
# of reduced axes onto strided slices and split the slices across OpenMP threads.  The per-slice arithmetic is C
# (lsc_kernels.h); this file decides the walk.
#
# Compiled once per instruction-set level (_kernels_baseline.pyx, _kernels_avx2.pyx,
# _kernels_avx512.pyx each include it); logsoftmax_c._dispatch imports the best one.

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport fabs, isfinite, signbit
from libc.stdint cimport uint16_t, uintptr_t
from libc.stdlib cimport free, malloc

import numpy

cnp.import_array()

cdef extern from "lsc_kernels.h" nogil:
    ctypedef struct lsc_stats:
        double m
        double rest
        double count
        double s
        double f
    enum:
        LSC_CHUNK_F32
        LSC_CHUNK_F64
        LSC_FETCH_IN
        LSC_FETCH_OUT
        LSC_BMAX
        LSC_COL_CHUNK_BYTES
        LSC_SMALL_N
        LSC_TILE
        LSC_OP_LOG_SOFTMAX
        LSC_OP_SOFTMAX
        LSC_OP_LOGSUMEXP
    unsigned int lsc_ftz_enter()
    void lsc_ftz_leave(unsigned int m)
    int lsc_ftz_is_on()
    int lsc_ftz_team_begin()
    void lsc_ftz_team_end(int paused)
    void lsc_combine(const lsc_stats *st, Py_ssize_t nc, double *mc, int single)
    void lsc_softmax_scales(lsc_stats *st, Py_ssize_t nc)
    void lsc_row_far_f32(const char *x, Py_ssize_t sx, char *y, Py_ssize_t sy,
                         Py_ssize_t n, int stream, int op, int far)
    void lsc_row_far_f64(const char *x, Py_ssize_t sx, char *y, Py_ssize_t sy,
                         Py_ssize_t n, int stream, int op, int far)
    void lsc_log_softmax_rows_f32(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                  Py_ssize_t n, Py_ssize_t nr, int prefetch, int stream)
    void lsc_log_softmax_rows_f64(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                  Py_ssize_t n, Py_ssize_t nr, int prefetch, int stream)
    void lsc_softmax_rows_f32(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                              Py_ssize_t n, Py_ssize_t nr, int stream)
    void lsc_softmax_rows_f64(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                              Py_ssize_t n, Py_ssize_t nr, int stream)
    void lsc_logsumexp_rows_f32(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                Py_ssize_t n, Py_ssize_t nr, int prefetch)
    void lsc_logsumexp_rows_f64(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                Py_ssize_t n, Py_ssize_t nr, int prefetch)
    void lsc_softmax_long_rows_f32(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                   Py_ssize_t n, Py_ssize_t nr, int prefetch, int stream)
    void lsc_softmax_long_rows_f64(const char *x, Py_ssize_t sxr, char *y, Py_ssize_t syr,
                                   Py_ssize_t n, Py_ssize_t nr, int prefetch, int stream)
    void lsc_log_softmax_long_rows_f32(const char *x, Py_ssize_t sxr, char *y,
                                       Py_ssize_t syr, Py_ssize_t n, Py_ssize_t nr,
                                       int stream)
    void lsc_log_softmax_long_rows_f64(const char *x, Py_ssize_t sxr, char *y,
                                       Py_ssize_t syr, Py_ssize_t n, Py_ssize_t nr,
                                       int stream)
    lsc_stats lsc_chunk_stats_f32(const char *x, Py_ssize_t sx, Py_ssize_t n)
    lsc_stats lsc_chunk_stats_f64(const char *x, Py_ssize_t sx, Py_ssize_t n)
    void lsc_chunk_write_f32(const char *x, Py_ssize_t sx, char *y, Py_ssize_t sy,
                             Py_ssize_t n, float m, float c, int stream, int op)
    void lsc_chunk_write_f64(const char *x, Py_ssize_t sx, char *y, Py_ssize_t sy,
                             Py_ssize_t n, double m, double c, int stream, int op)
    float lsc_lse_value_f32(const char *x, Py_ssize_t sx, Py_ssize_t n, const double *mc)
    double lsc_lse_value_f64(const char *x, Py_ssize_t sx, Py_ssize_t n, const double *mc)
    void lsc_cols_f32(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                      Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                      Py_ssize_t rows, int op, int stream)
    void lsc_cols_f64(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                      Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                      Py_ssize_t rows, int op, int stream)
    void lsc_cols_seq_f32(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                          Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                          Py_ssize_t w0, Py_ssize_t w, Py_ssize_t rows, int op, int stream)
    void lsc_cols_seq_f64(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                          Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                          Py_ssize_t w0, Py_ssize_t w, Py_ssize_t rows, int op, int stream)
    void lsc_f16_to_f32(const uint16_t *s, float *d, Py_ssize_t n)
    void lsc_f32_to_f16(const float *s, uint16_t *d, Py_ssize_t n)
    int lsc_cols_banded_f32(Py_ssize_t n)
    int lsc_cols_banded_f64(Py_ssize_t n)
    int lsc_cols_narrow_f32(Py_ssize_t n, Py_ssize_t inner)
    int lsc_cols_narrow_f64(Py_ssize_t n, Py_ssize_t inner)
    int lsc_onepass_n(Py_ssize_t n)
    int lsc_onepass_n_f64(Py_ssize_t n)
    Py_ssize_t lsc_onepass_sub_width(Py_ssize_t n, Py_ssize_t es)
    int lsc_cols_rows_f32(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                          Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                          int op)
    int lsc_cols_rows_f64(const char *x, Py_ssize_t sxn, Py_ssize_t sxi, char *y,
                          Py_ssize_t syn, Py_ssize_t syi, Py_ssize_t n, Py_ssize_t b,
                          int op)
    void lsc_rows_tile_f32(const char *x, Py_ssize_t sxr, Py_ssize_t sx, char *y,
                           Py_ssize_t syr, Py_ssize_t sy, Py_ssize_t n, Py_ssize_t g,
                           int op)
    void lsc_rows_tile_f64(const char *x, Py_ssize_t sxr, Py_ssize_t sx, char *y,
                           Py_ssize_t syr, Py_ssize_t sy, Py_ssize_t n, Py_ssize_t g,
                           int op)
    void lsc_backward_row_f32(const float *g, const float *y, float *r, Py_ssize_t n,
                              int softmax, int prefetch)
    void lsc_backward_row_f64(const double *g, const double *y, double *r, Py_ssize_t n,
                              int softmax, int prefetch)
    void lsc_backward_rows_f32(const float *g, const float *y, float *r, Py_ssize_t nr,
                               Py_ssize_t n, int softmax, int stream, int prefetch)
    void lsc_backward_rows_f64(const double *g, const double *y, double *r, Py_ssize_t nr,
                               Py_ssize_t n, int softmax, int stream, int prefetch)
    void lsc_softmax_scaled_rows_f32(const float *x, float *y, Py_ssize_t n, Py_ssize_t nr,
                                     const float *scale, float *lse, int prefetch,
                                     int stream)
    void lsc_softmax_scaled_rows_f64(const double *x, double *y, Py_ssize_t n, Py_ssize_t nr,
                                     const double *scale, double *lse, int prefetch,
                                     int stream)
    void lsc_backward_block_f32(const char *g, const char *y, char *r, Py_ssize_t sn,
                                Py_ssize_t si, Py_ssize_t rn, Py_ssize_t ri, Py_ssize_t n,
                                Py_ssize_t b, int softmax)
    void lsc_backward_block_f64(const char *g, const char *y, char *r, Py_ssize_t sn,
                                Py_ssize_t si, Py_ssize_t rn, Py_ssize_t ri, Py_ssize_t n,
                                Py_ssize_t b, int softmax)
    int lsc_cpu_level()
    int lsc_rows_untiled(Py_ssize_t n, int op, int f64)
    const char *LSC_ISA_NAME

cdef enum:
    MAXDIMS = 64
    # softmax's column blocks in bands are streamed from this size on (and
    # STREAM_BYTES, below): their exps bound the write, and streamed below it a middle
    # axis took 1.08-1.17 of the time (16x384x384, 64x256x256 axis 1; axis 0
    # 0.78-0.93).  The one pass streams from STREAM_BYTES, as log_softmax (2048x2048
    # 0.76 / 0.88 of the time with 1 / 2 threads, 1024x2048 float64 0.84 / 0.92)
    SOFTMAX_COLS_STREAM_BYTES = 33554432
    # inputs from this size per thread on come from beyond the caches: the row
    # pipelines fetch their rows ahead (lsc_log_softmax_rows).  1024 rows of 1000
    # floats (3.9 MiB): 1 thread 8-26% faster with the fetches, 2 threads (2 MiB
    # each) 1-9% slower; 512 rows (2 MiB, 1 thread): 1% faster to 5% slower
    PREFETCH_THREAD_BYTES = 3145728
    # softmax rows, and softmax's streamed gradient rows, of several chunks fetch the next
    # row during a row's write from this size of input on (lsc_softmax_long_rows,
    # lsc_backward_apply_long): softmax 131-268 MB, 1 and 2 threads, 0.8-0.98 of the
    # time; 65 MB (from the Xeon's L3) 1.15-1.25
    LONG_ROWS_PREFETCH_BYTES = 134217728
    # rows per task of the row pipelines (lsc_log_softmax_rows, _long_rows): enough
    # that their start and end (passes outside the pipeline) are a small share (rows
    # of 384 floats: 256 rows 1-5% faster than 32)
    ROW_BLOCK = 256
    # direct calls (_direct_call) keep the GIL for inputs up to this size (64x10
    # floats, 1-2 us: releasing it cost about 80 ns a call)
    KEEP_GIL_ELEMENTS = 1024
    # elements per task of convert_half (float16 <-> float32)
    CONVERT_PIECE = 65536


cdef struct Layout:
    # the reduced axes, merged into one: length and byte strides in x and y
    Py_ssize_t n, sxn, syn
    # the other axis with the smallest x stride ("inner"), and the rest ("outer")
    Py_ssize_t inner, sxi, syi
    Py_ssize_t outer
    int nouter
    Py_ssize_t oshape[MAXDIMS]
    Py_ssize_t osx[MAXDIMS]
    Py_ssize_t osy[MAXDIMS]
    # write the output with non-temporal stores (it is far larger than the caches)
    int stream
    # what the write pass produces (LSC_OP_*); for LSC_OP_LOGSUMEXP, y has stride 0
    # along the reduced axes and each slice's value is written once
    int op


cdef struct Offsets:
    Py_ssize_t x, y


cdef inline Py_ssize_t _abs(Py_ssize_t v) noexcept nogil:
    return -v if v < 0 else v


cdef void _sort_by_stride(int *dims, int nd, const cnp.npy_intp *sx) noexcept nogil:
    """Insertion sort of axis numbers by decreasing |x stride| (stable)."""
    cdef int i, j, d
    for i in range(1, nd):
        d = dims[i]
        j = i - 1
        while j >= 0 and _abs(sx[dims[j]]) < _abs(sx[d]):
            dims[j + 1] = dims[j]
            j -= 1
        dims[j + 1] = d


cdef inline bint _mergeable(int a, int b, const cnp.npy_intp *shape,
                            const cnp.npy_intp *sx, const cnp.npy_intp *sy) noexcept nogil:
    """Axis a followed by axis b walk memory as one axis, in both arrays."""
    return sx[a] == sx[b] * shape[b] and sy[a] == sy[b] * shape[b]


cdef bint _build_layout(cnp.ndarray x, const cnp.npy_intp *sy, unsigned long long mask,
                        Layout *L) noexcept:
    """Describe x (and y, of x's shape and the byte strides sy) as slices along one
    merged reduced axis.

    Returns False when the reduced axes cannot be walked as a single strided axis
    (the caller then gathers each slice).  Axes of length 1 are dropped; the other
    axes are merged where memory allows and ordered by stride so that the
    smallest-stride one becomes `inner`.
    """
    cdef int nd = cnp.PyArray_NDIM(x)
    cdef const cnp.npy_intp *shape = cnp.PyArray_DIMS(x)
    cdef const cnp.npy_intp *sx = cnp.PyArray_STRIDES(x)
    cdef int red[MAXDIMS]
    cdef int oth[MAXDIMS]
    cdef int nr = 0, no = 0, d, i, g
    cdef Py_ssize_t gshape[MAXDIMS]
    cdef Py_ssize_t gsx[MAXDIMS]
    cdef Py_ssize_t gsy[MAXDIMS]
    for d in range(nd):
        if shape[d] == 1:
            continue
        if (mask >> d) & 1:
            red[nr] = d
            nr += 1
        else:
            oth[no] = d
            no += 1

    _sort_by_stride(red, nr, sx)
    L.n = 1
    L.sxn = 0
    L.syn = 0
    for i in range(nr):
        if i > 0 and not _mergeable(red[i - 1], red[i], shape, sx, sy):
            return False
        L.n *= shape[red[i]]
        L.sxn = sx[red[i]]
        L.syn = sy[red[i]]

    _sort_by_stride(oth, no, sx)
    g = -1
    for i in range(no):
        d = oth[i]
        if g >= 0 and gsx[g] == sx[d] * shape[d] and gsy[g] == sy[d] * shape[d]:
            gshape[g] *= shape[d]
            gsx[g] = sx[d]
            gsy[g] = sy[d]
        else:
            g += 1
            gshape[g] = shape[d]
            gsx[g] = sx[d]
            gsy[g] = sy[d]
    L.inner = 1
    L.sxi = 0
    L.syi = 0
    if g >= 0:
        L.inner = gshape[g]
        L.sxi = gsx[g]
        L.syi = gsy[g]
        g -= 1
    L.nouter = g + 1
    L.stream = cnp.PyArray_NBYTES(x) >= STREAM_BYTES  # (y: as many)
    L.op = LSC_OP_LOG_SOFTMAX
    L.outer = 1
    for i in range(L.nouter):
        L.oshape[i] = gshape[i]
        L.osx[i] = gsx[i]
        L.osy[i] = gsy[i]
        L.outer *= gshape[i]
    return True


cdef inline Offsets _outer_offsets(const Layout *L, Py_ssize_t o) noexcept nogil:
    """Byte offsets in x and y of outer index o (last outer axis fastest)."""
    cdef Offsets off
    cdef Py_ssize_t q
    cdef int d
    off.x = 0
    off.y = 0
    for d in range(L.nouter - 1, -1, -1):
        q = o % L.oshape[d]
        o = o // L.oshape[d]
        off.x += q * L.osx[d]
        off.y += q * L.osy[d]
    return off


# ---- row mode: the reduced axis is the most contiguous one --------------------------

cdef inline void _one_row(const floating *tag, const char *xp, char *yp, const Layout *L,
                          Py_ssize_t r, int far) noexcept nogil:
    """Row r; far: the input comes from memory (lsc_row_far)."""
    cdef Offsets off = _outer_offsets(L, r // L.inner)
    cdef Py_ssize_t i = r % L.inner
    if floating is float:
        lsc_row_far_f32(xp + off.x + i * L.sxi, L.sxn, yp + off.y + i * L.syi, L.syn, L.n,
                        L.stream, L.op, far)
    else:
        lsc_row_far_f64(xp + off.x + i * L.sxi, L.sxn, yp + off.y + i * L.syi, L.syn, L.n,
                        L.stream, L.op, far)


cdef void _rows_chunked(const floating *tag, const char *xp, char *yp, const Layout *L,
                        int nt) noexcept nogil:
    """Few long rows: threads share out the chunks of each row.

    Same chunk boundaries and combine order as `lsc_row`, so the result is
    bit-identical to the one-thread path.
    """
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t chunk = LSC_CHUNK_F32 if floating is float else LSC_CHUNK_F64
    cdef Py_ssize_t nchunks = (L.n + chunk - 1) // chunk
    cdef Py_ssize_t nrows = L.outer * L.inner
    cdef Py_ssize_t ntask = nrows * nchunks
    cdef Py_ssize_t t, r, c, ln
    cdef double m, v
    cdef Offsets off
    cdef lsc_stats *st = <lsc_stats *>malloc(ntask * sizeof(lsc_stats))
    cdef double *mc = <double *>malloc(2 * nrows * sizeof(double))
    if st == NULL or mc == NULL:
        free(st)
        free(mc)
        for r in range(nrows):
            _one_row(tag, xp, yp, L, r, 0)
        return
    fteam = lsc_ftz_team_begin()
    with parallel(num_threads=nt):
        tfpm = lsc_ftz_enter()
        for t in prange(ntask, schedule='static'):
            r = t // nchunks
            c = t % nchunks
            off = _outer_offsets(L, r // L.inner)
            ln = L.n - c * chunk
            if ln > chunk:
                ln = chunk
            if floating is float:
                st[t] = lsc_chunk_stats_f32(xp + off.x + (r % L.inner) * L.sxi + c * chunk * L.sxn,
                                            L.sxn, ln)
            else:
                st[t] = lsc_chunk_stats_f64(xp + off.x + (r % L.inner) * L.sxi + c * chunk * L.sxn,
                                            L.sxn, ln)
        lsc_ftz_leave(tfpm)
    lsc_ftz_team_end(fteam)
    for r in range(nrows):
        if L.op == LSC_OP_SOFTMAX:
            lsc_softmax_scales(st + r * nchunks, nchunks)
        else:
            lsc_combine(st + r * nchunks, nchunks, mc + 2 * r, floating is float)
    if L.op == LSC_OP_LOGSUMEXP:
        for r in range(nrows):
            off = _outer_offsets(L, r // L.inner)
            if floating is float:
                (<float *>(yp + off.y + (r % L.inner) * L.syi))[0] = lsc_lse_value_f32(
                    xp + off.x + (r % L.inner) * L.sxi, L.sxn, L.n, mc + 2 * r)
            else:
                (<double *>(yp + off.y + (r % L.inner) * L.syi))[0] = lsc_lse_value_f64(
                    xp + off.x + (r % L.inner) * L.sxi, L.sxn, L.n, mc + 2 * r)
        free(st)
        free(mc)
        return
    fteam = lsc_ftz_team_begin()
    with parallel(num_threads=nt):
        tfpm = lsc_ftz_enter()
        for t in prange(ntask, schedule='static'):
            r = t // nchunks
            c = t % nchunks
            off = _outer_offsets(L, r // L.inner)
            ln = L.n - c * chunk
            if ln > chunk:
                ln = chunk
            # (softmax: the chunk's max and factor)
            m = st[t].m if L.op == LSC_OP_SOFTMAX else mc[2 * r]
            v = st[t].f if L.op == LSC_OP_SOFTMAX else mc[2 * r + 1]
            if floating is float:
                lsc_chunk_write_f32(xp + off.x + (r % L.inner) * L.sxi + c * chunk * L.sxn, L.sxn,
                                    yp + off.y + (r % L.inner) * L.syi + c * chunk * L.syn, L.syn,
                                    ln, <float>m, <float>v, L.stream, L.op)
            else:
                lsc_chunk_write_f64(xp + off.x + (r % L.inner) * L.sxi + c * chunk * L.sxn, L.sxn,
                                    yp + off.y + (r % L.inner) * L.syi + c * chunk * L.syn, L.syn,
                                    ln, m, v, L.stream, L.op)
        lsc_ftz_leave(tfpm)
    lsc_ftz_team_end(fteam)
    free(st)
    free(mc)


cdef inline void _one_tile(const floating *tag, const char *xp, char *yp, const Layout *L,
                           Py_ssize_t t, Py_ssize_t ntile) noexcept nogil:
    """Tile t: LSC_TILE consecutive rows along `inner` of one outer index."""
    cdef Offsets off = _outer_offsets(L, t // ntile)
    cdef Py_ssize_t i0 = (t % ntile) * LSC_TILE
    cdef Py_ssize_t g = L.inner - i0
    if g > LSC_TILE:
        g = LSC_TILE
    if floating is float:
        lsc_rows_tile_f32(xp + off.x + i0 * L.sxi, L.sxi, L.sxn,
                          yp + off.y + i0 * L.syi, L.syi, L.syn, L.n, g, L.op)
    else:
        lsc_rows_tile_f64(xp + off.x + i0 * L.sxi, L.sxi, L.sxn,
                          yp + off.y + i0 * L.syi, L.syi, L.syn, L.n, g, L.op)


cdef void _run_tiles(const floating *tag, const char *xp, char *yp, const Layout *L,
                     int nt) noexcept nogil:
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t ntile = (L.inner + LSC_TILE - 1) // LSC_TILE
    cdef Py_ssize_t ntask = L.outer * ntile
    cdef Py_ssize_t t
    if nt > ntask:
        nt = <int>ntask
    if nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(ntask, schedule='static'):
                _one_tile(tag, xp, yp, L, t, ntile)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for t in range(ntask):
            _one_tile(tag, xp, yp, L, t, ntile)


cdef inline void _one_row_block(const floating *tag, const char *xp, char *yp,
                               const Layout *L, Py_ssize_t t, Py_ssize_t nb,
                               Py_ssize_t bs, bint long_rows, int pf,
                               bint stream) noexcept nogil:
    """Block t of bs consecutive rows along `inner` of one outer index, through the row
    pipeline (contiguous log_softmax rows, of one chunk or of several; logsumexp rows
    of one chunk) or, softmax rows, one by one with a single fence after their streamed
    writes (rows of several chunks with their exps kept in a buffer of a row); with pf,
    the pipelines of one chunk and the softmax rows of several fetch their rows
    ahead; with stream, the writes that can go with non-temporal stores do."""
    cdef Offsets off = _outer_offsets(L, t // nb)
    cdef Py_ssize_t i0 = (t % nb) * bs
    cdef Py_ssize_t g = L.inner - i0
    cdef const char *xb
    cdef char *yb
    if g > bs:
        g = bs
    xb = xp + off.x + i0 * L.sxi
    yb = yp + off.y + i0 * L.syi
    if floating is float:
        if L.op == LSC_OP_LOGSUMEXP:
            lsc_logsumexp_rows_f32(xb, L.sxi, yb, L.syi, L.n, g, pf)
        elif L.op == LSC_OP_SOFTMAX and long_rows:
            lsc_softmax_long_rows_f32(xb, L.sxi, yb, L.syi, L.n, g, pf, stream)
        elif L.op == LSC_OP_SOFTMAX:
            lsc_softmax_rows_f32(xb, L.sxi, yb, L.syi, L.n, g, stream)
        elif long_rows:
            lsc_log_softmax_long_rows_f32(xb, L.sxi, yb, L.syi, L.n, g,
                                          stream)
        else:
            lsc_log_softmax_rows_f32(xb, L.sxi, yb, L.syi, L.n, g, pf,
                                     stream)
    else:
        if L.op == LSC_OP_LOGSUMEXP:
            lsc_logsumexp_rows_f64(xb, L.sxi, yb, L.syi, L.n, g, pf)
        elif L.op == LSC_OP_SOFTMAX and long_rows:
            lsc_softmax_long_rows_f64(xb, L.sxi, yb, L.syi, L.n, g, pf, stream)
        elif L.op == LSC_OP_SOFTMAX:
            lsc_softmax_rows_f64(xb, L.sxi, yb, L.syi, L.n, g, stream)
        elif long_rows:
            lsc_log_softmax_long_rows_f64(xb, L.sxi, yb, L.syi, L.n, g,
                                          stream)
        else:
            lsc_log_softmax_rows_f64(xb, L.sxi, yb, L.syi, L.n, g, pf,
                                     stream)


cdef void _run_row_blocks(const floating *tag, const char *xp, char *yp, const Layout *L,
                          int nt, bint long_rows) noexcept nogil:
    """The rows in blocks of up to ROW_BLOCK, at least one block per thread (each row's
    arithmetic is the same whatever block it is in)."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t bs = (L.inner + nt - 1) // nt
    if bs > ROW_BLOCK:
        bs = ROW_BLOCK
    cdef Py_ssize_t nb = (L.inner + bs - 1) // bs
    cdef Py_ssize_t ntask = L.outer * nb
    cdef Py_ssize_t t
    if nt > ntask:
        nt = <int>ntask
    cdef Py_ssize_t nbytes = L.outer * L.inner * L.n * <Py_ssize_t>sizeof(floating)
    cdef int pf = nbytes // nt >= PREFETCH_THREAD_BYTES
    if L.op == LSC_OP_SOFTMAX and long_rows:
        pf = nbytes >= LONG_ROWS_PREFETCH_BYTES
    elif pf and L.op == LSC_OP_LOG_SOFTMAX and floating is float and not ROWS_FETCH_OUT_F32:
        pf = LSC_FETCH_IN
    elif pf:
        pf = LSC_FETCH_IN | LSC_FETCH_OUT
    # (ROWS_TEAM_STREAM_BYTES)
    cdef bint stream = L.stream and not (
        floating is float and nt > 1 and L.op == LSC_OP_LOG_SOFTMAX and not long_rows
        and nbytes < ROWS_TEAM_STREAM_BYTES)
    if nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(ntask, schedule='static'):
                _one_row_block(tag, xp, yp, L, t, nb, bs, long_rows, pf, stream)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for t in range(ntask):
            _one_row_block(tag, xp, yp, L, t, nb, bs, long_rows, pf, stream)


cdef void _run_rows(const floating *tag, const char *xp, char *yp, const Layout *L,
                    int nt) noexcept nogil:
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t chunk = LSC_CHUNK_F32 if floating is float else LSC_CHUNK_F64
    cdef Py_ssize_t nrows = L.outer * L.inner
    cdef Py_ssize_t nchunks = (L.n + chunk - 1) // chunk
    cdef Py_ssize_t r
    # rows one by one (lsc_row_far) from memory: as softmax's long rows, by the size
    cdef int far = nrows * L.n * <Py_ssize_t>sizeof(floating) >= LONG_ROWS_PREFETCH_BYTES
    # (lsc_rows_untiled looks at the length alone, not at the strides: a log_softmax
    # or logsumexp row's bits then do not depend on its layout)
    if (L.n <= LSC_SMALL_N and L.inner > 1
            and not lsc_rows_untiled(L.n, L.op, floating is double)):
        _run_tiles(tag, xp, yp, L, nt)
    elif nt > 1 and nrows < 4 * nt and nchunks > 1:
        _rows_chunked(tag, xp, yp, L, nt)
    elif (L.op == LSC_OP_LOG_SOFTMAX and (L.inner > 1 or nchunks > 1)
          and L.sxn == sizeof(floating) and L.syn == sizeof(floating)):
        _run_row_blocks(tag, xp, yp, L, nt, nchunks > 1)
    elif (L.op != LSC_OP_LOG_SOFTMAX and L.inner > 1 and nchunks == 1
          and L.sxn == sizeof(floating)
          and (L.op == LSC_OP_LOGSUMEXP or L.syn == sizeof(floating))):
        _run_row_blocks(tag, xp, yp, L, nt, False)
    elif (L.op == LSC_OP_SOFTMAX and nchunks > 1 and L.sxn == sizeof(floating)
          and L.syn == sizeof(floating)):
        _run_row_blocks(tag, xp, yp, L, nt, True)
    elif nt > 1 and nrows > 1:
        if nt > nrows:
            nt = <int>nrows
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for r in prange(nrows, schedule='static'):
                _one_row(tag, xp, yp, L, r, far)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for r in range(nrows):
            _one_row(tag, xp, yp, L, r, far)


# ---- column mode: another axis is more contiguous than the reduced one ---------------

cdef inline Py_ssize_t _head_cols(const floating *tag, const char *y) noexcept nogil:
    """The columns before a row of y at y reaches a 64-byte boundary (0 where y is not
    aligned to its elements)."""
    cdef Py_ssize_t es = <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t h = <Py_ssize_t>((64 - <uintptr_t>y % 64) % 64)
    return h // es if h % es == 0 else 0


cdef inline Py_ssize_t _col_rows(const floating *tag) noexcept nogil:
    """The column kernel's rows per L1 chunk: fixed by the dtype, so that a column's
    arithmetic does not depend on the block width (which depends on the threads)."""
    return LSC_COL_CHUNK_BYTES // (LSC_BMAX * <Py_ssize_t>sizeof(floating))


cdef inline void _cols_span(const floating *tag, const char *xp, char *yp, const Layout *L,
                            Offsets off, Py_ssize_t k0, Py_ssize_t width) noexcept nogil:
    """Columns k0 .. k0 + width - 1 of the outer index at off through the column kernel."""
    cdef Py_ssize_t rows = _col_rows(tag)
    if floating is float:
        lsc_cols_f32(xp + off.x + k0 * L.sxi, L.sxn, L.sxi,
                     yp + off.y + k0 * L.syi, L.syn, L.syi, L.n, width, rows, L.op,
                     L.stream)
    else:
        lsc_cols_f64(xp + off.x + k0 * L.sxi, L.sxn, L.sxi,
                     yp + off.y + k0 * L.syi, L.syn, L.syi, L.n, width, rows, L.op,
                     L.stream)


cdef inline void _one_block(const floating *tag, const char *xp, char *yp, const Layout *L,
                            Py_ssize_t t, Py_ssize_t nb, Py_ssize_t bw, bint cut) noexcept nogil:
    """Block t % nb of the columns of outer index t // nb: bw columns from (t % nb) * bw,
    the last block to the end.  With cut, the boundaries between blocks move by the
    columns before y's rows reach a 64-byte boundary (the first block takes them too):
    the other blocks then start on whole vectors of y and of an x at y's offset (a
    fresh output's), rather than each with a short band of those few columns, a pass
    down all the rows of its own."""
    cdef Offsets off = _outer_offsets(L, t // nb)
    cdef Py_ssize_t i = t % nb
    cdef Py_ssize_t k0 = i * bw
    cdef Py_ssize_t k1 = k0 + bw
    cdef Py_ssize_t h
    if cut:
        h = _head_cols(tag, yp + off.y)
        if i > 0:
            k0 += h
        k1 += h
    if i == nb - 1 or k1 > L.inner:
        k1 = L.inner
    if k0 >= k1:
        return
    _cols_span(tag, xp, yp, L, off, k0, k1 - k0)


cdef inline bint _cols_onepass(const floating *tag, Py_ssize_t n) noexcept nogil:
    """Whether columns of n rows go in one pass (lsc_cols)."""
    if floating is float:
        return lsc_onepass_n(n)
    else:
        return lsc_onepass_n_f64(n)


cdef void _onepass_thread(const floating *tag, const char *xp, char *yp, const Layout *L,
                          Py_ssize_t t, int nt, Py_ssize_t sbw) noexcept nogil:
    """Thread t's share of the one pass's columns (of outer index 0; nt threads, as
    _run_cols's blocks), in sub-blocks of sbw columns (lsc_onepass_sub_width), all
    cut where _one_block cuts its blocks, each block's write during the next one's
    statistics (lsc_cols_seq).  Thread t's first sub-block is t / nt of
    one shorter, so that the threads' writes (memory-bound) fall in the others'
    statistics (arithmetic) rather than all at once: 0.99 / 0.96 / 0.94 of the time
    of sub-blocks in step (4096x4096 / 2048x8192 / 2048x4096 along axis 0, 2
    threads)."""
    cdef Py_ssize_t per = (L.inner + nt - 1) // nt
    cdef Offsets off = _outer_offsets(L, 0)
    cdef Py_ssize_t h = 0
    cdef Py_ssize_t c0, c1, w
    cdef Py_ssize_t rows = _col_rows(tag)
    per += (16 - per % 16) % 16
    if L.syi == <Py_ssize_t>sizeof(floating) and L.syn % 64 == 0:
        h = _head_cols(tag, yp + off.y)
    c0 = t * per
    c1 = c0 + per + h
    if t > 0:
        c0 += h
    if t == nt - 1 or c1 > L.inner:
        c1 = L.inner
    w = sbw * (nt - t) // nt
    w += (16 - w % 16) % 16
    if w < 16:
        w = 16
    if t == 0:
        w += h
    if c0 >= c1:
        return
    if floating is float:
        lsc_cols_seq_f32(xp + off.x + c0 * L.sxi, L.sxn, L.sxi, yp + off.y + c0 * L.syi,
                         L.syn, L.syi, L.n, c1 - c0, w, sbw, rows, L.op, L.stream)
    else:
        lsc_cols_seq_f64(xp + off.x + c0 * L.sxi, L.sxn, L.sxi, yp + off.y + c0 * L.syi,
                         L.syn, L.syi, L.n, c1 - c0, w, sbw, rows, L.op, L.stream)


cdef void _run_cols(const floating *tag, const char *xp, char *yp, const Layout *L,
                    int nt) noexcept nogil:
    # block width: the widest that still gives every thread two blocks (long runs of
    # each row for the walk down the rows; at most LSC_BMAX columns unless the kernel
    # takes them in bands or in one pass), a multiple of 16 and at least 256 bytes of
    # each row.  The one pass (columns of lsc_onepass_n rows for float,
    # lsc_onepass_n_f64 for double) takes one block a thread: the longest runs of each
    # row; or, for columns of one outer index wider than lsc_onepass_sub_width, each
    # thread's share in sub-blocks whose rows stay in the last-level cache for their
    # write (_onepass_thread)
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef bint banded
    cdef bint onepass = _cols_onepass(tag, L.n)
    if floating is float:
        banded = lsc_cols_banded_f32(L.n)
    else:
        banded = lsc_cols_banded_f64(L.n)
    cdef Py_ssize_t sbw = lsc_onepass_sub_width(L.n, <Py_ssize_t>sizeof(floating))
    cdef int tt
    if onepass and L.outer == 1 and sbw > 0 and L.inner > sbw:
        # wide columns of one outer index: each thread's share in sub-blocks
        if nt > 1:
            fteam = lsc_ftz_team_begin()
            with parallel(num_threads=nt):
                tfpm = lsc_ftz_enter()
                for tt in prange(nt, schedule='static', chunksize=1):
                    _onepass_thread(tag, xp, yp, L, tt, nt, sbw)
                lsc_ftz_leave(tfpm)
            lsc_ftz_team_end(fteam)
        else:
            _onepass_thread(tag, xp, yp, L, 0, 1, sbw)
        return
    cdef Py_ssize_t need = ((1 if onepass else 2) * nt + L.outer - 1) // L.outer
    cdef Py_ssize_t bw = (L.inner + need - 1) // need
    cdef Py_ssize_t bw_min = 256 // <Py_ssize_t>sizeof(floating)
    bw += (16 - bw % 16) % 16
    if bw < bw_min:
        bw = bw_min
    if bw > LSC_BMAX and not banded and not onepass:
        bw = LSC_BMAX
    if bw > L.inner:
        bw = L.inner
    cdef Py_ssize_t nb = (L.inner + bw - 1) // bw
    cdef Py_ssize_t ntask = L.outer * nb
    cdef Py_ssize_t t
    # blocks cut at y's vector boundaries where the kernel aligns its bands to them
    # (lsc_cols_vec: y's columns contiguous, its rows a multiple of 64 bytes apart), and
    # for the one pass's streamed rows (lsc_cols_onepass_f32, lsc_cols_onepass_f64)
    cdef bint cut = ((banded or onepass) and nb > 1 and L.syi == <Py_ssize_t>sizeof(floating)
                     and L.syn % 64 == 0)
    if nt > ntask:
        nt = <int>ntask
    if nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(ntask, schedule='static'):
                _one_block(tag, xp, yp, L, t, nb, bw, cut)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for t in range(ntask):
            _one_block(tag, xp, yp, L, t, nb, bw, cut)


cdef inline void _one_narrow(const floating *tag, const char *xp, char *yp,
                             const Layout *L, Py_ssize_t t) noexcept nogil:
    """The narrow column block of outer index t through the row kernels
    (lsc_cols_rows), or the column kernel if its buffer cannot be had."""
    cdef Offsets off = _outer_offsets(L, t)
    cdef Py_ssize_t rows = LSC_COL_CHUNK_BYTES // (LSC_BMAX * <Py_ssize_t>sizeof(floating))
    if floating is float:
        if not lsc_cols_rows_f32(xp + off.x, L.sxn, L.sxi, yp + off.y, L.syn, L.syi,
                                 L.n, L.inner, L.op):
            lsc_cols_f32(xp + off.x, L.sxn, L.sxi, yp + off.y, L.syn, L.syi, L.n,
                         L.inner, rows, L.op, 0)
    else:
        if not lsc_cols_rows_f64(xp + off.x, L.sxn, L.sxi, yp + off.y, L.syn, L.syi,
                                 L.n, L.inner, L.op):
            lsc_cols_f64(xp + off.x, L.sxn, L.sxi, yp + off.y, L.syn, L.syi, L.n,
                         L.inner, rows, L.op, 0)


cdef void _run_narrow(const floating *tag, const char *xp, char *yp, const Layout *L,
                      int nt) noexcept nogil:
    """Column blocks narrower than LSC_NARROW, one per outer index, a task each."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t t
    if nt > L.outer:
        nt = <int>L.outer
    if nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(L.outer, schedule='static'):
                _one_narrow(tag, xp, yp, L, t)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for t in range(L.outer):
            _one_narrow(tag, xp, yp, L, t)


cdef void _run(const floating *tag, const char *xp, char *yp, const Layout *L,
               int nt) noexcept nogil:
    cdef Layout C
    cdef bint narrow
    if floating is float:
        narrow = lsc_cols_narrow_f32(L.n, L.inner)
    else:
        narrow = lsc_cols_narrow_f64(L.n, L.inner)
    if narrow and _abs(L.sxi) < _abs(L.sxn):
        _run_narrow(tag, xp, yp, L, nt)
    elif L.inner > 1 and _abs(L.sxi) < _abs(L.sxn):
        if (L.op == LSC_OP_SOFTMAX and L.stream and not _cols_onepass(tag, L.n)
                and L.outer * L.inner * L.n * <Py_ssize_t>sizeof(floating)
                < SOFTMAX_COLS_STREAM_BYTES):
            C = L[0]
            C.stream = 0
            _run_cols(tag, xp, yp, &C, nt)
        else:
            _run_cols(tag, xp, yp, L, nt)
    else:
        _run_rows(tag, xp, yp, L, nt)


OP_LOG_SOFTMAX = LSC_OP_LOG_SOFTMAX
OP_SOFTMAX = LSC_OP_SOFTMAX
OP_LOGSUMEXP = LSC_OP_LOGSUMEXP


def log_softmax_axes(cnp.ndarray x, cnp.ndarray y, unsigned long long mask, int nthreads,
                     int op=LSC_OP_LOG_SOFTMAX):
    """y[...] = log_softmax(x) jointly over the axes whose bits are set in `mask`
    (op OP_LOG_SOFTMAX), or softmax(x) (OP_SOFTMAX), or logsumexp(x) (OP_LOGSUMEXP).

    x and y: aligned float32 or float64 arrays of one dtype and one shape, any
    strides; y may be x itself.  For OP_LOGSUMEXP, y has stride 0 along the reduced
    axes (a keepdims result broadcast to x's shape) and gets one value per slice.
    Returns False, having written nothing, when the reduced axes cannot be walked as
    one strided axis of both arrays.
    """
    cdef Layout L
    if op < LSC_OP_LOG_SOFTMAX or op > LSC_OP_LOGSUMEXP:
        raise ValueError(f"unknown operation {op}")
    if not _build_layout(x, cnp.PyArray_STRIDES(y), mask, &L):
        return False
    L.op = op
    if L.n == 0 or L.outer == 0 or L.inner == 0:
        return True
    cdef const char *xp = <const char *>cnp.PyArray_DATA(x)
    cdef char *yp = <char *>cnp.PyArray_DATA(y)
    cdef int typenum = cnp.PyArray_TYPE(x)
    if typenum != cnp.PyArray_TYPE(y) or typenum not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError("log_softmax_axes needs float32 or float64 arrays of one dtype")
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            _run(<const float *>NULL, xp, yp, &L, nthreads)
        else:
            _run(<const double *>NULL, xp, yp, &L, nthreads)
    lsc_ftz_leave(fpm)
    return True


cdef extern from "numpy/arrayobject.h":
    # declared here with a void* descr: NULL means "the prototype's dtype"
    object _new_like_array "PyArray_NewLikeArray"(cnp.ndarray proto, cnp.NPY_ORDER order,
                                                   void *descr, int subok)


cdef void _span(cnp.ndarray a, char **lo, char **hi) noexcept:
    """The bytes of a (at least one element) lie in [*lo, *hi)."""
    cdef char *p = <char *>cnp.PyArray_DATA(a)
    cdef Py_ssize_t l = 0, h = cnp.PyArray_ITEMSIZE(a), ext
    cdef int d
    for d in range(cnp.PyArray_NDIM(a)):
        ext = cnp.PyArray_STRIDES(a)[d] * (cnp.PyArray_DIMS(a)[d] - 1)
        if ext < 0:
            l += ext
        else:
            h += ext
    lo[0] = p + l
    hi[0] = p + h


cdef bint _disjoint(cnp.ndarray a, cnp.ndarray b) noexcept:
    """a and b (at least one element each) share no byte."""
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    _span(a, &alo, &ahi)
    _span(b, &blo, &bhi)
    return ahi <= blo or bhi <= alo


cdef bint _disjoint_or_same(cnp.ndarray a, cnp.ndarray b) noexcept:
    """a and b (of one shape, at least one element) share no byte, or are the same
    memory with the same strides (an in-place call)."""
    cdef int d
    if cnp.PyArray_DATA(a) == cnp.PyArray_DATA(b):
        for d in range(cnp.PyArray_NDIM(a)):
            if cnp.PyArray_STRIDES(a)[d] != cnp.PyArray_STRIDES(b)[d]:
                return _disjoint(a, b)
        return True
    return _disjoint(a, b)


cdef inline void _run_typed(int typenum, const char *xp, char *yp,
                            const Layout *L, int nt) noexcept nogil:
    if typenum == cnp.NPY_FLOAT32:
        _run(<const float *>NULL, xp, yp, L, nt)
    else:
        _run(<const double *>NULL, xp, yp, L, nt)


cdef void _run_direct(cnp.ndarray a, cnp.ndarray y, const Layout *L, int nt):
    """A direct call's kernels on nt threads, keeping the GIL for inputs of up to
    KEEP_GIL_ELEMENTS (NumPy's loops, too, keep it below a size)."""
    cdef int typenum = cnp.PyArray_TYPE(a)
    cdef const char *xp = <const char *>cnp.PyArray_DATA(a)
    cdef char *yp = <char *>cnp.PyArray_DATA(y)
    cdef unsigned int fpm = lsc_ftz_enter()
    if cnp.PyArray_SIZE(a) <= KEEP_GIL_ELEMENTS:
        _run_typed(typenum, xp, yp, L, 1)
    else:
        with nogil:
            _run_typed(typenum, xp, yp, L, nt)
    lsc_ftz_leave(fpm)


# The thread count and the output of the direct calls past the small ones
# (set_call_helpers): logsoftmax_c._threads.threads_for and _outbuf.empty_like, the
# argument layer's own, and _outbuf's size from which it serves an output from its
# cache.
cdef object _threads_for = None
cdef object _cached_empty_like = None
cdef Py_ssize_t _cached_min_bytes = 0


def set_call_helpers(threads_for, cached_empty_like, Py_ssize_t cached_min_bytes):
    """Let _direct_call take calls of any size: threads_for(num_threads, size) gives
    their thread count, cached_empty_like(x, dtype, axes) their outputs of
    cached_min_bytes and more (the argument layer's empty_like).  Without them (None),
    _direct_call takes small calls only."""
    global _threads_for, _cached_empty_like, _cached_min_bytes
    _threads_for = threads_for
    _cached_empty_like = cached_empty_like
    _cached_min_bytes = cached_min_bytes


cdef cnp.ndarray _new_output(cnp.ndarray a, int ax):
    """A fresh result of a's shape and dtype for a reduction along ax, as the argument
    layer makes it: a large one from its empty_like (the output cache's, see there),
    a smaller one in a's order (KEEPORDER) from NumPy, as empty_like would."""
    if (_cached_empty_like is not None
            and cnp.PyArray_NBYTES(a) >= _cached_min_bytes):
        return _cached_empty_like(a, (<object>a).dtype, (ax,))
    return _new_like_array(a, cnp.NPY_KEEPORDER, NULL, 0)


cdef object _direct_call(object x, object axis, Py_ssize_t max_size, int op, object out,
                         bint keepdims, object num_threads):
    """The common call, log_softmax(x, axis), softmax (op OP_SOFTMAX) or logsumexp
    (op OP_LOGSUMEXP, with keepdims), with at most an `out` array and a num_threads
    (None or an int >= 1), done in C.

    Applies to an aligned native float32/float64 ndarray of at least one element and an
    int axis in range, and an `out` that is None or a writeable aligned native ndarray
    of the result's shape and x's dtype, sharing no memory with x (or, but for
    logsumexp, being x's memory with x's strides): returns the result (`out` if
    given; logsumexp of a 1-d x without out: a scalar, as NumPy's reductions),
    the same array, bits and threads as the argument layer's.  Inputs of up to
    `max_size` elements run on one thread; larger ones take their thread count and
    fresh output from the argument layer's helpers (set_call_helpers), or return None
    without them.  Returns None for anything else, which the caller then handles in
    full (and where `out` is wrong, raises the error).  (The public functions reach
    it as a C function, through DIRECT_CALL: the argument layer in Python, run after a
    large call has pushed it out of the caches, took 15-25 us of 1024x1000 floats'
    call.)
    """
    if type(x) is not cnp.ndarray or type(axis) is not int:
        return None
    if op < LSC_OP_LOG_SOFTMAX or op > LSC_OP_LOGSUMEXP:
        raise ValueError(f"unknown operation {op}")
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int typenum = cnp.PyArray_TYPE(a)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        return None
    if not cnp.PyArray_ISALIGNED(a) or not cnp.PyArray_ISNOTSWAPPED(a):
        return None
    cdef int nd = cnp.PyArray_NDIM(a)
    cdef Py_ssize_t size = cnp.PyArray_SIZE(a)
    if nd == 0 or size == 0:
        return None
    cdef int nt = 1
    if size > max_size:
        if _threads_for is None:
            return None
        nt = _threads_for(num_threads, size)
    if not -nd <= axis < nd:
        return None
    cdef int ax = <int>axis
    if ax < 0:
        ax += nd
    if op == LSC_OP_LOGSUMEXP:
        return _direct_lse(a, ax, out, keepdims, nt)
    cdef cnp.ndarray y
    if out is None:
        y = _new_output(a, ax) if size > max_size else _new_like_array(
            a, cnp.NPY_KEEPORDER, NULL, 0)
    else:
        if type(out) is not cnp.ndarray:
            return None
        y = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(y) != typenum or cnp.PyArray_NDIM(y) != nd
                or not cnp.PyArray_SAMESHAPE(a, y) or not cnp.PyArray_ISALIGNED(y)
                or not cnp.PyArray_ISNOTSWAPPED(y) or not cnp.PyArray_ISWRITEABLE(y)
                or not _disjoint_or_same(a, y)):
            return None
    cdef Layout L
    if not _build_layout(a, cnp.PyArray_STRIDES(y), 1ULL << ax, &L):
        return None
    L.op = op
    _run_direct(a, y, &L, nt)
    return y


cdef object _direct_lse(cnp.ndarray a, int ax, object out, bint keepdims, int nt):
    """_direct_call's logsumexp along axis ax of a (checked there), on nt threads: y
    of a's shape without ax (with it as 1 for keepdims), seen by the kernels with
    stride 0 there."""
    cdef int nd = cnp.PyArray_NDIM(a), typenum = cnp.PyArray_TYPE(a), d, k
    cdef int ynd = nd if keepdims else nd - 1
    cdef cnp.npy_intp dims[MAXDIMS]
    cdef cnp.npy_intp sy[MAXDIMS]
    k = 0
    for d in range(nd):
        if d != ax:
            dims[k] = cnp.PyArray_DIMS(a)[d]
            k += 1
        elif keepdims:
            dims[k] = 1
            k += 1
    cdef cnp.ndarray y
    if out is None:
        y = cnp.PyArray_EMPTY(ynd, dims, typenum, 0)
    else:
        if type(out) is not cnp.ndarray:
            return None
        y = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(y) != typenum or cnp.PyArray_NDIM(y) != ynd
                or not cnp.PyArray_ISALIGNED(y) or not cnp.PyArray_ISNOTSWAPPED(y)
                or not cnp.PyArray_ISWRITEABLE(y)):
            return None
        for d in range(ynd):
            if cnp.PyArray_DIMS(y)[d] != dims[d]:
                return None
        if not _disjoint(a, y):
            return None
    k = 0
    for d in range(nd):
        if d != ax:
            sy[d] = cnp.PyArray_STRIDES(y)[k]
            k += 1
        else:
            sy[d] = 0
            k += keepdims
    cdef Layout L
    if not _build_layout(a, sy, 1ULL << ax, &L):
        return None
    L.op = LSC_OP_LOGSUMEXP
    _run_direct(a, y, &L, nt)
    if out is None and ynd == 0:
        return y[()]  # a full reduction gives a scalar, as NumPy's reductions
    return y


cdef bint _loss_values(const floating *x, const Py_ssize_t *ip, floating *v,
                       const floating *w, floating *wv, Py_ssize_t n, Py_ssize_t C,
                       bint nll, double *amax) noexcept nogil:
    """Per row i of the n rows of C elements of x, its target's score s = x[i, ip[i]]:
    v[i] = v[i] - s (v holding the row's logsumexp), or with nll v[i] = -s; with class
    weights w (else NULL), wv[i] = w[ip[i]] and v[i] = wv[i] * (v[i] - s), or
    (-wv[i]) * s.
    Whether all of v (and wv) are finite, and (if so) their largest magnitude into
    amax."""
    cdef Py_ssize_t i
    cdef floating r, q
    cdef double m = 0
    cdef bint finite = True
    for i in range(n):
        # (as the argument layer's NumPy operations, down to a NaN's sign: -s, or
        # (-w) * s)
        r = x[i * C + ip[i]]
        if w != NULL:
            q = w[ip[i]]
            wv[i] = q
            r = (-q) * r if nll else q * (v[i] - r)
            finite = finite and isfinite(q)
            m = fabs(q) if fabs(q) > m else m
        else:
            r = -r if nll else v[i] - r
        v[i] = r
        finite = finite and isfinite(r)
        m = fabs(r) if fabs(r) > m else m
    amax[0] = m
    return finite


# NumPy's add.reduce: the losses' sums, as the argument layer's np.sum takes them
_add_reduce = numpy.add.reduce


cdef object _loss_call(object x, object target, object axis, object weight,
                       object ignore_index, object reduction, object num_threads, bint nll,
                       Py_ssize_t max_size, bint grad):
    """cross_entropy's common call (or nll_loss's, nll), done in C: 2-d aligned native
    C-ordered float32/float64 scores x (log-probabilities for nll) with the classes
    along axis -1 or 1, at least one row and one class; a 1-d ndarray of integer class
    indices, one a row, each a class and none ignore_index (an int); no weights, or
    an ndarray of one a class (booleans, integers or floats); reduction 'mean', 'sum'
    or 'none'; no smoothing (the caller's part); num_threads None or an int >= 1 (for
    the logsumexp, as _direct_call takes it, with max_size).  Returns the loss as the
    argument layer's general road gives it (_losses: the same bits and type), or None
    for any other call, which the caller then hands to it (with its checks and
    errors); also None for a sum of losses (or weights) that are not all finite or
    could overflow, which the argument layer takes with NumPy's warnings silenced.
    (The argument layer's checks took 20-40 us of a 64x10 float call, 2-9 times
    PyTorch's; 85 us with weights.)  With grad (cross_entropy's return_grad, fewer
    than 2**24 rows; class weights all finite and not negative, nor -0, their sum
    below the largest finite value, and for the mean a sum of the targets' weights
    that is not 0), (loss, gradient) as _losses gives them, bit for bit: _ce_grad.
    (The argument layer took about 40 us of a 64x1000 float call, four times its
    softmax.)"""
    if (type(x) is not cnp.ndarray or type(target) is not cnp.ndarray
            or type(axis) is not int or type(ignore_index) is not int
            or type(reduction) is not str
            or (weight is not None and type(weight) is not cnp.ndarray)):
        return None
    cdef int red
    if reduction == "mean":
        red = 0
    elif reduction == "sum":
        red = 1
    elif reduction == "none":
        red = 2
    else:
        return None
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef cnp.ndarray t = <cnp.ndarray>target
    cdef int typenum = cnp.PyArray_TYPE(a)
    if ((typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64)
            or cnp.PyArray_NDIM(a) != 2 or (axis != -1 and axis != 1)
            or not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a)
            or not cnp.PyArray_ISNOTSWAPPED(a)):
        return None
    cdef Py_ssize_t n = cnp.PyArray_DIMS(a)[0], nclass = cnp.PyArray_DIMS(a)[1]
    if (n == 0 or nclass == 0 or cnp.PyArray_NDIM(t) != 1 or cnp.PyArray_DIMS(t)[0] != n
            or not (cnp.PyArray_ISSIGNED(t)
                    or (cnp.PyArray_ISUNSIGNED(t) and cnp.PyArray_ITEMSIZE(t) < 8))):
        return None
    cdef cnp.ndarray wa = None, wv = None, ga = None
    cdef cnp.npy_intp dims[1]
    if grad and (nll or n >= 16777216):
        return None
    if weight is not None:
        wa = <cnp.ndarray>weight
        if (cnp.PyArray_NDIM(wa) != 1 or cnp.PyArray_DIMS(wa)[0] != nclass
                or not (cnp.PyArray_ISBOOL(wa) or cnp.PyArray_ISINTEGER(wa)
                        or cnp.PyArray_ISFLOAT(wa))):
            return None
        # the weights in x's type, as the argument layer's astype casts them
        wa = cnp.PyArray_FROMANY(wa, typenum, 1, 1,
                                 cnp.NPY_ARRAY_CARRAY | cnp.NPY_ARRAY_FORCECAST)
        dims[0] = n
        wv = cnp.PyArray_EMPTY(1, dims, typenum, 0)
    if not (cnp.PyArray_TYPE(t) == cnp.NPY_INTP and cnp.PyArray_IS_C_CONTIGUOUS(t)
            and cnp.PyArray_ISALIGNED(t) and cnp.PyArray_ISNOTSWAPPED(t)):
        # (a safe cast: signed integers, unsigned ones narrower than intp)
        t = cnp.PyArray_FROMANY(t, cnp.NPY_INTP, 1, 1, cnp.NPY_ARRAY_CARRAY)
    cdef const Py_ssize_t *ip = <const Py_ssize_t *>cnp.PyArray_DATA(t)
    cdef Py_ssize_t i, lo = ip[0], hi = ip[0]
    for i in range(1, n):
        lo = ip[i] if ip[i] < lo else lo
        hi = ip[i] if ip[i] > hi else hi
    if lo < 0 or hi >= nclass or lo <= ignore_index <= hi:
        return None
    cdef cnp.ndarray v, g = None
    # the gradient's factor a row (_ce_grad_factors)
    if grad:
        ga = _ce_grad_factors(wa, ip, n, red == 0, typenum)
        if ga is None:
            return None
    if nll:
        dims[0] = n
        v = cnp.PyArray_EMPTY(1, dims, typenum, 0)
    elif grad:
        pair = _ce_grad(a, max_size, num_threads, ga, wa is None and red != 0)
        if pair is None:
            return None
        g, v = pair
    else:
        lse = _direct_call(x, 1, max_size, LSC_OP_LOGSUMEXP, None, False, num_threads)
        if lse is None:
            return None
        v = <cnp.ndarray>lse
    cdef double amax = 0
    cdef bint finite
    if typenum == cnp.NPY_FLOAT32:
        finite = _loss_values(<const float *>cnp.PyArray_DATA(a), ip,
                              <float *>cnp.PyArray_DATA(v),
                              <const float *>(NULL if wa is None else cnp.PyArray_DATA(wa)),
                              <float *>(NULL if wv is None else cnp.PyArray_DATA(wv)),
                              n, nclass, nll, &amax)
    else:
        finite = _loss_values(<const double *>cnp.PyArray_DATA(a), ip,
                              <double *>cnp.PyArray_DATA(v),
                              <const double *>(NULL if wa is None else cnp.PyArray_DATA(wa)),
                              <double *>(NULL if wv is None else cnp.PyArray_DATA(wv)),
                              n, nclass, nll, &amax)
    if grad:
        if not finite:
            return None
        _ce_grad_targets(g, ip, n, nclass, ga)
    if red == 2:
        return (v, g) if grad else v
    # no partial sum reaches the largest finite value: NumPy's sums raise no flag
    if not finite or amax * <double>n >= (1e38 if typenum == cnp.NPY_FLOAT32 else 1e307):
        return None
    dtype = (<object>a).dtype
    total = _add_reduce(v, None, dtype)
    if red == 1:
        return (total, g) if grad else total
    # the mean in the scores' type, as NumPy's scalars divide: over the rows, or over
    # their weights' sum (a 0 gives NaN or an inf, as the argument layer's, unwarned)
    if typenum == cnp.NPY_FLOAT32:
        loss = dtype.type(<float>(<double>total) / (
            <float>n if wv is None else <float>(<double>_add_reduce(wv, None, dtype))))
    else:
        loss = dtype.type(<double>total / (
            <double>n if wv is None else <double>_add_reduce(wv, None, dtype)))
    return (loss, g) if grad else loss


cdef object _ce_grad_factors(cnp.ndarray wa, const Py_ssize_t *ip, Py_ssize_t n, bint mean,
                             int typenum):
    """cross_entropy's gradient: each row's factor a_i in the scores' type (typenum),
    the factor of its softmax and the term taken off at its target, as _losses'
    _softmax_factor gives it without smoothing, or None.  Without class weights (wa
    None) every a_i is the reduction's share s: 1 / n in the type for the mean (as
    _losses' _grad_scale and reduce), else 1.  With wa (in the scores' type, one a
    class), there a_i is s (w[t_i] + 0 sum(w)), s = 1 / the sum of the w[t_i] for the
    mean (NumPy's sum, rounded to the type): s w[t_i] rounded once, where the weights
    are finite and none is negative or -0 and their sum cannot overflow; None
    otherwise, and for a mean whose sum is 0 (NaN gradients: the argument layer's
    road)."""
    cdef bint single = typenum == cnp.NPY_FLOAT32
    cdef Py_ssize_t C = 0 if wa is None else cnp.PyArray_DIMS(wa)[0], i
    cdef const float *wf = NULL
    cdef const double *wd = NULL
    cdef double q, big = 0
    if wa is not None:
        wf = <const float *>cnp.PyArray_DATA(wa)
        wd = <const double *>cnp.PyArray_DATA(wa)
        for i in range(C):
            q = <double>wf[i] if single else wd[i]
            if not (isfinite(q) and not signbit(q)):
                return None
            big = q if q > big else big
        if big * <double>C >= (1e38 if single else 1e307):
            return None
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    cdef cnp.ndarray ga = cnp.PyArray_EMPTY(1, dims, typenum, 0)
    cdef float *gf = <float *>cnp.PyArray_DATA(ga)
    cdef double *gd = <double *>cnp.PyArray_DATA(ga)
    if wa is None:
        for i in range(n):
            if single:
                gf[i] = <float>1 / <float>n if mean else <float>1
            else:
                gd[i] = 1.0 / <double>n if mean else 1.0
        return ga
    for i in range(n):
        if single:
            gf[i] = wf[ip[i]]
        else:
            gd[i] = wd[ip[i]]
    if not mean:
        return ga
    cdef double den = <double>_add_reduce(ga, None, (<object>ga).dtype)
    if den == 0:
        return None
    cdef float sf = <float>1 / <float>den
    cdef double sd = 1.0 / den
    for i in range(n):
        if single:
            gf[i] = sf * gf[i]
        else:
            gd[i] = sd * gd[i]
    return ga


cdef object _ce_grad(cnp.ndarray a, Py_ssize_t max_size, object num_threads, cnp.ndarray ga,
                     bint unit):
    """cross_entropy's gradient before its targets' terms, row i's softmax(a) times
    ga[i] (_ce_grad_factors) along the rows of a (_loss_call's 2-d scores), and the
    rows' logsumexp: (grad, lse), as _losses computes them (the same bits), or None.
    Rows longer than the short-row tiles (SMALL_N) take the kernels' fused pass
    (softmax_scaled_rows: the logsumexp with the bits of logsumexp's own); shorter
    ones softmax and logsumexp apart, the softmax then times its factor as NumPy
    multiplies (no flush to zero), unless every factor is 1 (unit: no pass)."""
    cdef Py_ssize_t n = cnp.PyArray_DIMS(a)[0], nclass = cnp.PyArray_DIMS(a)[1], i, j
    cdef Py_ssize_t size = n * nclass
    cdef int typenum = cnp.PyArray_TYPE(a), nt = 1
    cdef cnp.ndarray g, lse
    cdef cnp.npy_intp dims[1]
    cdef float *gf
    cdef double *gd
    cdef const float *af
    cdef const double *ad
    if nclass <= LSC_SMALL_N:
        lse_o = _direct_call(a, 1, max_size, LSC_OP_LOGSUMEXP, None, False, num_threads)
        g_o = _direct_call(a, 1, max_size, LSC_OP_SOFTMAX, None, False, num_threads)
        if lse_o is None or g_o is None:
            return None
        g = <cnp.ndarray>g_o
        if unit:
            pass
        elif typenum == cnp.NPY_FLOAT32:
            gf = <float *>cnp.PyArray_DATA(g)
            af = <const float *>cnp.PyArray_DATA(ga)
            for i in range(n):
                for j in range(nclass):
                    gf[i * nclass + j] = gf[i * nclass + j] * af[i]
        else:
            gd = <double *>cnp.PyArray_DATA(g)
            ad = <const double *>cnp.PyArray_DATA(ga)
            for i in range(n):
                for j in range(nclass):
                    gd[i * nclass + j] = gd[i * nclass + j] * ad[i]
        return g, lse_o
    if size > max_size:
        if _threads_for is None:
            return None
        nt = _threads_for(num_threads, size)
    g = _new_output(a, 1) if size > max_size else _new_like_array(a, cnp.NPY_KEEPORDER,
                                                                    NULL, 0)
    dims[0] = n
    lse = cnp.PyArray_EMPTY(1, dims, typenum, 0)
    softmax_scaled_rows(a, g, ga, lse, nt)
    return g, lse


cdef void _ce_grad_targets(cnp.ndarray g, const Py_ssize_t *ip, Py_ssize_t n,
                           Py_ssize_t nclass, cnp.ndarray ga):
    """g[i, ip[i]] += -ga[i] for the n rows of g (_ce_grad_factors), with flush-to-zero
    as pick's add."""
    cdef Py_ssize_t i
    cdef unsigned int fpm = lsc_ftz_enter()
    if cnp.PyArray_TYPE(g) == cnp.NPY_FLOAT32:
        for i in range(n):
            (<float *>cnp.PyArray_DATA(g))[i * nclass + ip[i]] += -(
                <const float *>cnp.PyArray_DATA(ga))[i]
    else:
        for i in range(n):
            (<double *>cnp.PyArray_DATA(g))[i * nclass + ip[i]] += -(
                <const double *>cnp.PyArray_DATA(ga))[i]
    lsc_ftz_leave(fpm)


cdef void _backward(const floating *g, const floating *y, floating *r, Py_ssize_t rows,
                    Py_ssize_t n, int softmax, int nt, int stream) noexcept nogil:
    """Row by row; streamed, in nt blocks of consecutive rows, one per thread, each
    fencing its own stores (each row's arithmetic is the same either way).  Rows of
    several chunks fetch the next row during a row's result pass where they are streamed
    and the inputs are LONG_ROWS_PREFETCH_BYTES or more (softmax's: 2048x32000 floats
    0.92 / 0.95 of the time with 1 / 2 threads; log_softmax's, with plain stores and an
    exp an element, 1.05 as long)."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t i, t, r0, r1
    cdef int pf = stream and rows * n * <Py_ssize_t>sizeof(floating) >= LONG_ROWS_PREFETCH_BYTES
    if nt > rows:
        nt = <int>rows
    if not stream and nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for i in prange(rows, schedule='static'):
                if floating is float:
                    lsc_backward_row_f32(g + i * n, y + i * n, r + i * n, n, softmax, pf)
                else:
                    lsc_backward_row_f64(g + i * n, y + i * n, r + i * n, n, softmax, pf)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    elif nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(nt, schedule='static'):
                r0 = rows * t // nt
                r1 = rows * (t + 1) // nt
                if floating is float:
                    lsc_backward_rows_f32(g + r0 * n, y + r0 * n, r + r0 * n, r1 - r0, n,
                                          softmax, stream, pf)
                else:
                    lsc_backward_rows_f64(g + r0 * n, y + r0 * n, r + r0 * n, r1 - r0, n,
                                          softmax, stream, pf)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    elif floating is float:
        lsc_backward_rows_f32(g, y, r, rows, n, softmax, stream, pf)
    else:
        lsc_backward_rows_f64(g, y, r, rows, n, softmax, stream, pf)


def backward_rows(cnp.ndarray g, cnp.ndarray y, cnp.ndarray r, bint softmax, int nthreads):
    """r = the gradient through log_softmax (softmax False) or softmax (True) along
    the last axis.  g, y, r: C-contiguous float32 or float64 arrays of one dtype and
    shape, with at least one element; r may be g or y."""
    cdef int typenum = cnp.PyArray_TYPE(g)
    if not (cnp.PyArray_TYPE(y) == typenum == cnp.PyArray_TYPE(r)) \
            or typenum not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError("backward_rows needs float32 or float64 arrays of one dtype")
    if not (cnp.PyArray_IS_C_CONTIGUOUS(g) and cnp.PyArray_IS_C_CONTIGUOUS(y)
            and cnp.PyArray_IS_C_CONTIGUOUS(r)) \
            or not cnp.PyArray_SAMESHAPE(g, y) or not cnp.PyArray_SAMESHAPE(g, r):
        raise ValueError("backward_rows needs C-contiguous arrays of one shape")
    if cnp.PyArray_SIZE(g) > 0:
        _backward_rows(g, y, r, softmax, nthreads)


cdef void _backward_rows(cnp.ndarray g, cnp.ndarray y, cnp.ndarray r, bint softmax,
                         int nthreads):
    """backward_rows past its checks (at least one element)."""
    cdef int typenum = cnp.PyArray_TYPE(g)
    cdef int nd = cnp.PyArray_NDIM(g)
    cdef Py_ssize_t n = cnp.PyArray_DIMS(g)[nd - 1] if nd > 0 else 1
    cdef Py_ssize_t size = cnp.PyArray_SIZE(g)
    # softmax's: a large r that is neither input (r may be g or y) goes out with
    # non-temporal stores (2048x32000 floats 0.76 / 0.90 of the time with 1 / 2 threads,
    # 4096x1000 0.81 / 0.65); not log_softmax's, whose exps bound it (0.97-1.14)
    cdef int stream = (softmax and cnp.PyArray_NBYTES(r) >= STREAM_BYTES
                       and cnp.PyArray_DATA(r) != cnp.PyArray_DATA(g)
                       and cnp.PyArray_DATA(r) != cnp.PyArray_DATA(y))
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            _backward(<const float *>cnp.PyArray_DATA(g), <const float *>cnp.PyArray_DATA(y),
                      <float *>cnp.PyArray_DATA(r), size // n, n, softmax, nthreads, stream)
        else:
            _backward(<const double *>cnp.PyArray_DATA(g), <const double *>cnp.PyArray_DATA(y),
                      <double *>cnp.PyArray_DATA(r), size // n, n, softmax, nthreads, stream)
    lsc_ftz_leave(fpm)


cdef object _backward_call(object grad_output, object output, object axis, object out,
                           bint softmax, object num_threads):
    """The common gradient call, log_softmax_backward or softmax_backward (softmax)
    along the last axis of C-contiguous aligned native float32/float64 ndarrays g and
    y of one dtype and shape (at least one element), into None or an `out` of that
    dtype and shape, C-contiguous, aligned, writeable and sharing no memory with
    either, done in C (backward_rows): returns the result (`out` if given), the same
    array, bits and threads as the argument layer's (_losses), which handles
    everything else (None here).  Needs set_call_helpers.  (The public functions reach
    it through BACKWARD_CALL: the argument layer's Python, run after a large call had
    pushed it out of the caches, took 17-30 us of 1024x1000 floats' call.)"""
    if (type(grad_output) is not cnp.ndarray or type(output) is not cnp.ndarray
            or type(axis) is not int or _threads_for is None):
        return None
    cdef cnp.ndarray g = <cnp.ndarray>grad_output
    cdef cnp.ndarray y = <cnp.ndarray>output
    cdef int typenum = cnp.PyArray_TYPE(g)
    cdef int nd = cnp.PyArray_NDIM(g)
    if (typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64) \
            or cnp.PyArray_TYPE(y) != typenum or nd == 0 \
            or cnp.PyArray_NDIM(y) != nd or not cnp.PyArray_SAMESHAPE(g, y):
        return None
    if not (cnp.PyArray_IS_C_CONTIGUOUS(g) and cnp.PyArray_IS_C_CONTIGUOUS(y)
            and cnp.PyArray_ISALIGNED(g) and cnp.PyArray_ISALIGNED(y)
            and cnp.PyArray_ISNOTSWAPPED(g) and cnp.PyArray_ISNOTSWAPPED(y)):
        return None
    cdef Py_ssize_t size = cnp.PyArray_SIZE(g)
    if size == 0 or (axis != -1 and axis != nd - 1):
        return None
    cdef cnp.ndarray r
    if out is None:
        r = _new_output(g, nd - 1)
    else:
        if type(out) is not cnp.ndarray:
            return None
        r = <cnp.ndarray>out
        if (cnp.PyArray_TYPE(r) != typenum or cnp.PyArray_NDIM(r) != nd
                or not cnp.PyArray_SAMESHAPE(g, r) or not cnp.PyArray_IS_C_CONTIGUOUS(r)
                or not cnp.PyArray_ISALIGNED(r) or not cnp.PyArray_ISNOTSWAPPED(r)
                or not cnp.PyArray_ISWRITEABLE(r)
                or not _disjoint(g, r) or not _disjoint(y, r)):
            return None
    _backward_rows(g, y, r, softmax, _threads_for(num_threads, size))
    return r


cdef inline void _softmax_scaled_block(const floating *x, floating *y, const floating *scale,
                                       floating *lse, Py_ssize_t n, Py_ssize_t r0,
                                       Py_ssize_t g, int pf, int stream) noexcept nogil:
    if floating is float:
        lsc_softmax_scaled_rows_f32(x + r0 * n, y + r0 * n, n, g, scale + r0, lse + r0, pf,
                                    stream)
    else:
        lsc_softmax_scaled_rows_f64(x + r0 * n, y + r0 * n, n, g, scale + r0, lse + r0, pf,
                                    stream)


cdef void _softmax_scaled(const floating *x, floating *y, const floating *scale,
                          floating *lse, Py_ssize_t rows, Py_ssize_t n,
                          int nt) noexcept nogil:
    """The rows in blocks of up to ROW_BLOCK, at least one block per thread (each row's
    arithmetic is the same whatever block it is in)."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t nbytes = rows * n * <Py_ssize_t>sizeof(floating)
    # as softmax's rows of several chunks (lsc_softmax_long_rows)
    cdef int pf = nbytes >= LONG_ROWS_PREFETCH_BYTES
    cdef int stream = nbytes >= STREAM_BYTES
    cdef Py_ssize_t bs, nb, t, g
    if nt > rows:
        nt = <int>rows
    if nt <= 1:
        _softmax_scaled_block(x, y, scale, lse, n, 0, rows, pf, stream)
        return
    bs = (rows + nt - 1) // nt
    if bs > ROW_BLOCK:
        bs = ROW_BLOCK
    nb = (rows + bs - 1) // bs
    fteam = lsc_ftz_team_begin()
    with parallel(num_threads=nt):
        tfpm = lsc_ftz_enter()
        for t in prange(nb, schedule='static'):
            g = rows - t * bs
            if g > bs:
                g = bs
            _softmax_scaled_block(x, y, scale, lse, n, t * bs, g, pf, stream)
        lsc_ftz_leave(tfpm)
    lsc_ftz_team_end(fteam)


def softmax_scaled_rows(cnp.ndarray x, cnp.ndarray y, cnp.ndarray scale, cnp.ndarray lse,
                        int nthreads):
    """y[i] = softmax(x[i]) * scale[i] and lse[i] = logsumexp(x[i]) for the rows of
    C-contiguous 2-d arrays x, y (y not x) and C-contiguous 1-d scale, lse, all of one
    float32 or float64 dtype (the cross-entropy gradient, from one set of statistics)."""
    cdef int typenum = cnp.PyArray_TYPE(x)
    if not (cnp.PyArray_TYPE(y) == typenum == cnp.PyArray_TYPE(scale)
            == cnp.PyArray_TYPE(lse)) or typenum not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError("softmax_scaled_rows needs float32 or float64 arrays of one dtype")
    if cnp.PyArray_NDIM(x) != 2 or not cnp.PyArray_SAMESHAPE(x, y) \
            or cnp.PyArray_NDIM(scale) != 1 or cnp.PyArray_NDIM(lse) != 1 \
            or cnp.PyArray_DIMS(scale)[0] != cnp.PyArray_DIMS(x)[0] \
            or cnp.PyArray_DIMS(lse)[0] != cnp.PyArray_DIMS(x)[0]:
        raise ValueError("softmax_scaled_rows: x, y of shape (rows, n); scale, lse (rows,)")
    if not (cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_IS_C_CONTIGUOUS(y)
            and cnp.PyArray_IS_C_CONTIGUOUS(scale) and cnp.PyArray_IS_C_CONTIGUOUS(lse)):
        raise ValueError("softmax_scaled_rows needs C-contiguous arrays")
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(x)[0], n = cnp.PyArray_DIMS(x)[1]
    if rows == 0 or n == 0:
        return
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            _softmax_scaled(<const float *>cnp.PyArray_DATA(x), <float *>cnp.PyArray_DATA(y),
                            <const float *>cnp.PyArray_DATA(scale),
                            <float *>cnp.PyArray_DATA(lse), rows, n, nthreads)
        else:
            _softmax_scaled(<const double *>cnp.PyArray_DATA(x),
                            <double *>cnp.PyArray_DATA(y),
                            <const double *>cnp.PyArray_DATA(scale),
                            <double *>cnp.PyArray_DATA(lse), rows, n, nthreads)
    lsc_ftz_leave(fpm)


cdef inline void _backward_one(const floating *tag, const char *gp, const char *yp, char *rp,
                               const Layout *L, Py_ssize_t t, Py_ssize_t nb, Py_ssize_t bw,
                               bint cols, int softmax) noexcept nogil:
    """Work item t: a block of up to bw slices side by side along `inner` (cols), or
    one slice (bw 1)."""
    cdef Offsets off = _outer_offsets(L, t // nb)
    cdef Py_ssize_t k0 = (t % nb) * bw
    cdef Py_ssize_t width = L.inner - k0
    cdef Py_ssize_t o = off.x + k0 * L.sxi
    cdef Py_ssize_t orr = off.y + k0 * L.syi
    if width > bw:
        width = bw
    if not cols:
        width = 0  # one slice: the row kernel's arithmetic
    if floating is float:
        lsc_backward_block_f32(gp + o, yp + o, rp + orr, L.sxn, L.sxi, L.syn, L.syi, L.n,
                               width, softmax)
    else:
        lsc_backward_block_f64(gp + o, yp + o, rp + orr, L.sxn, L.sxi, L.syn, L.syi, L.n,
                               width, softmax)


cdef void _backward_layout(const floating *tag, const char *gp, const char *yp, char *rp,
                           const Layout *L, int softmax, int nt) noexcept nogil:
    # slices side by side in blocks (vectorised across them) when `inner` is the more
    # contiguous axis, else one slice per work item
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t bw = 1
    cdef Py_ssize_t need
    cdef bint cols = L.inner > 1 and _abs(L.sxi) < _abs(L.sxn)
    if cols:
        need = (2 * nt + L.outer - 1) // L.outer
        bw = (L.inner + need - 1) // need
        bw += (16 - bw % 16) % 16
        if bw < 16:
            bw = 16
        if bw > LSC_BMAX:
            bw = LSC_BMAX
        if bw > L.inner:
            bw = L.inner
    cdef Py_ssize_t nb = (L.inner + bw - 1) // bw
    cdef Py_ssize_t ntask = L.outer * nb
    cdef Py_ssize_t t
    if nt > ntask:
        nt = <int>ntask
    if nt > 1:
        fteam = lsc_ftz_team_begin()
        with parallel(num_threads=nt):
            tfpm = lsc_ftz_enter()
            for t in prange(ntask, schedule='static'):
                _backward_one(tag, gp, yp, rp, L, t, nb, bw, cols, softmax)
            lsc_ftz_leave(tfpm)
        lsc_ftz_team_end(fteam)
    else:
        for t in range(ntask):
            _backward_one(tag, gp, yp, rp, L, t, nb, bw, cols, softmax)


def backward_axes(cnp.ndarray g, cnp.ndarray y, cnp.ndarray r, unsigned long long mask,
                  bint softmax, int nthreads):
    """r = the gradient through log_softmax (softmax False) or softmax (True) jointly
    over the axes whose bits are set in `mask`.  g, y, r: aligned float32 or float64
    arrays of one dtype and one shape, g and y with one set of strides (r may be g
    or y, but must not overlap them otherwise).  Returns
    False, having written nothing, when the reduced axes cannot be walked as one
    strided axis."""
    cdef int typenum = cnp.PyArray_TYPE(g)
    cdef int nd = cnp.PyArray_NDIM(g)
    cdef int d
    if not (cnp.PyArray_TYPE(y) == typenum == cnp.PyArray_TYPE(r)) \
            or typenum not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise TypeError("backward_axes needs float32 or float64 arrays of one dtype")
    if not (cnp.PyArray_SAMESHAPE(g, y) and cnp.PyArray_SAMESHAPE(g, r)):
        raise ValueError("backward_axes needs arrays of one shape")
    for d in range(nd):
        if cnp.PyArray_STRIDES(g)[d] != cnp.PyArray_STRIDES(y)[d]:
            raise ValueError("backward_axes needs g and y with one set of strides")
    cdef Layout L
    if not _build_layout(g, cnp.PyArray_STRIDES(r), mask, &L):
        return False
    if L.n == 0 or L.outer == 0 or L.inner == 0:
        return True
    cdef const char *gp = <const char *>cnp.PyArray_DATA(g)
    cdef const char *yp = <const char *>cnp.PyArray_DATA(y)
    cdef char *rp = <char *>cnp.PyArray_DATA(r)
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            _backward_layout(<const float *>NULL, gp, yp, rp, &L, softmax, nthreads)
        else:
            _backward_layout(<const double *>NULL, gp, yp, rp, &L, softmax, nthreads)
    lsc_ftz_leave(fpm)
    return True


cdef inline void _convert_piece(int ts, char *sp, char *dp, Py_ssize_t t,
                                Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i0 = t * CONVERT_PIECE
    cdef Py_ssize_t m = n - i0
    if m > CONVERT_PIECE:
        m = CONVERT_PIECE
    if ts == cnp.NPY_FLOAT16:
        lsc_f16_to_f32(<const uint16_t *>sp + i0, <float *>dp + i0, m)
    else:
        lsc_f32_to_f16(<const float *>sp + i0, <uint16_t *>dp + i0, m)


cdef void _half_rows_part(const uint16_t *x, uint16_t *y, float *buf, Py_ssize_t n,
                          Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t br,
                          int op) noexcept nogil:
    """Rows r0..r1 of n (float16) from x into y, br rows at a time through buf."""
    cdef Py_ssize_t r, k
    cdef Py_ssize_t rb = n * <Py_ssize_t>sizeof(float)
    r = r0
    while r < r1:
        k = r1 - r
        if k > br:
            k = br
        lsc_f16_to_f32(x + r * n, buf, k * n)
        if op == LSC_OP_SOFTMAX:
            lsc_softmax_rows_f32(<const char *>buf, rb, <char *>buf, rb, n, k, 0)
        else:
            lsc_log_softmax_rows_f32(<const char *>buf, rb, <char *>buf, rb, n, k, 0, 0)
        lsc_f32_to_f16(buf, y + r * n, k * n)
        r += k


def half_rows(cnp.ndarray x, cnp.ndarray y, int op, Py_ssize_t block, int nthreads):
    """log_softmax or softmax (op) of the float16 rows of a C-contiguous x along its
    last axis, of 1 <= n <= the chunk length, into the float16 y (C-contiguous, x's
    shape; x itself or memory x does not share): each thread takes a contiguous share
    of the rows and runs them through a float32 buffer of its own, about `block`
    elements (at least a row) at a time: converted, computed by the row kernels (the
    bits of the float32 computation: each row's arithmetic is that of the row alone)
    and converted back, all three while the buffer is in the core's cache."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t n = x.shape[x.ndim - 1] if x.ndim else 1
    cdef Py_ssize_t nr = cnp.PyArray_SIZE(x) // n if n else 0
    if n < 1 or n > LSC_CHUNK_F32 or nr < 1:
        raise ValueError("half_rows needs rows of 1 to the chunk length")
    cdef Py_ssize_t br = block // n
    if br < 1:
        br = 1
    cdef int nt = nthreads if nthreads > 1 else 1
    if nt > nr:
        nt = <int>nr
    if br > (nr + nt - 1) // nt:
        br = (nr + nt - 1) // nt
    # each thread's buffer on a cache line (br * n rounded up to 16 floats)
    cdef Py_ssize_t each = (br * n + 15) // 16 * 16
    cdef void *mem = malloc(<size_t>(nt * each + 16) * sizeof(float))
    if mem == NULL:
        raise MemoryError("cannot allocate the float32 buffers of a float16 computation")
    cdef float *bp = <float *>((<uintptr_t>mem + 63) // 64 * 64)
    cdef const uint16_t *xp = <const uint16_t *>cnp.PyArray_DATA(x)
    cdef uint16_t *yp = <uint16_t *>cnp.PyArray_DATA(y)
    cdef Py_ssize_t t
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if nt > 1:
            fteam = lsc_ftz_team_begin()
            with parallel(num_threads=nt):
                tfpm = lsc_ftz_enter()
                for t in prange(nt, schedule='static'):
                    _half_rows_part(xp, yp, bp + t * each, n, t * nr // nt,
                                    (t + 1) * nr // nt, br, op)
                lsc_ftz_leave(tfpm)
            lsc_ftz_team_end(fteam)
        else:
            _half_rows_part(xp, yp, bp, n, 0, nr, br, op)
    lsc_ftz_leave(fpm)
    free(mem)


def convert_half(cnp.ndarray src, cnp.ndarray dst, int nthreads):
    """dst[...] = src, float16 to float32 or float32 to float16 (round to nearest even,
    as NumPy's casts), both C-contiguous and of one size, in pieces of CONVERT_PIECE
    elements over up to nthreads threads."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef Py_ssize_t n = cnp.PyArray_SIZE(src)
    cdef int ts = cnp.PyArray_TYPE(src), td = cnp.PyArray_TYPE(dst)
    if not ((ts == cnp.NPY_FLOAT16 and td == cnp.NPY_FLOAT32)
            or (ts == cnp.NPY_FLOAT32 and td == cnp.NPY_FLOAT16)):
        raise TypeError("convert_half converts between float16 and float32")
    if (cnp.PyArray_SIZE(dst) != n or not cnp.PyArray_IS_C_CONTIGUOUS(src)
            or not cnp.PyArray_IS_C_CONTIGUOUS(dst) or not cnp.PyArray_ISWRITEABLE(dst)):
        raise ValueError("convert_half needs C-contiguous arrays of one size, dst writeable")
    if not (cnp.PyArray_ISNOTSWAPPED(src) and cnp.PyArray_ISNOTSWAPPED(dst)):
        raise ValueError("convert_half needs arrays in the machine's byte order")
    cdef char *sp = <char *>cnp.PyArray_DATA(src)
    cdef char *dp = <char *>cnp.PyArray_DATA(dst)
    cdef Py_ssize_t npiece = (n + CONVERT_PIECE - 1) // CONVERT_PIECE
    cdef Py_ssize_t t
    cdef int nt = nthreads
    if nt > npiece:
        nt = <int>npiece
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if nt > 1:
            fteam = lsc_ftz_team_begin()
            with parallel(num_threads=nt):
                tfpm = lsc_ftz_enter()
                for t in prange(npiece, schedule='static'):
                    _convert_piece(ts, sp, dp, t, n)
                lsc_ftz_leave(tfpm)
            lsc_ftz_team_end(fteam)
        else:
            for t in range(npiece):
                _convert_piece(ts, sp, dp, t, n)
    lsc_ftz_leave(fpm)


cdef inline void _convert_rows(int ts, const char *sp, Py_ssize_t ss, char *dp,
                               Py_ssize_t ds, Py_ssize_t r0, Py_ssize_t r1,
                               Py_ssize_t w) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(r0, r1):
        if ts == cnp.NPY_FLOAT16:
            lsc_f16_to_f32(<const uint16_t *>(sp + r * ss), <float *>(dp + r * ds), w)
        else:
            lsc_f32_to_f16(<const float *>(sp + r * ss), <uint16_t *>(dp + r * ds), w)


def convert_half_rows(cnp.ndarray src, cnp.ndarray dst, int nthreads):
    """convert_half for two 2-D arrays of one shape whose rows are contiguous, at any
    distance from each other (a band of columns of a C-order array), in pieces of
    about CONVERT_PIECE elements over up to nthreads threads."""
    cdef unsigned int tfpm = 0
    cdef int fteam = 0
    cdef int ts = cnp.PyArray_TYPE(src), td = cnp.PyArray_TYPE(dst)
    if not ((ts == cnp.NPY_FLOAT16 and td == cnp.NPY_FLOAT32)
            or (ts == cnp.NPY_FLOAT32 and td == cnp.NPY_FLOAT16)):
        raise TypeError("convert_half_rows converts between float16 and float32")
    if (cnp.PyArray_NDIM(src) != 2 or cnp.PyArray_NDIM(dst) != 2
            or src.shape[0] != dst.shape[0] or src.shape[1] != dst.shape[1]
            or (src.shape[1] > 1 and (src.strides[1] != src.itemsize
                                      or dst.strides[1] != dst.itemsize))
            or not cnp.PyArray_ISWRITEABLE(dst)):
        raise ValueError("convert_half_rows needs 2-D arrays of one shape with "
                         "contiguous rows, dst writeable")
    if not (cnp.PyArray_ISNOTSWAPPED(src) and cnp.PyArray_ISNOTSWAPPED(dst)):
        raise ValueError("convert_half_rows needs arrays in the machine's byte order")
    cdef Py_ssize_t nr = src.shape[0], w = src.shape[1]
    cdef Py_ssize_t ss = src.strides[0], ds = dst.strides[0]
    cdef const char *sp = <const char *>cnp.PyArray_DATA(src)
    cdef char *dp = <char *>cnp.PyArray_DATA(dst)
    if nr == 0 or w == 0:
        return
    cdef Py_ssize_t per = CONVERT_PIECE // w if w < CONVERT_PIECE else 1
    cdef Py_ssize_t npiece = (nr + per - 1) // per
    cdef Py_ssize_t t, r1
    cdef int nt = nthreads
    if nt > npiece:
        nt = <int>npiece
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if nt > 1:
            fteam = lsc_ftz_team_begin()
            with parallel(num_threads=nt):
                tfpm = lsc_ftz_enter()
                for t in prange(npiece, schedule='static'):
                    r1 = (t + 1) * per
                    if r1 > nr:
                        r1 = nr
                    _convert_rows(ts, sp, ss, dp, ds, t * per, r1, w)
                lsc_ftz_leave(tfpm)
            lsc_ftz_team_end(fteam)
        else:
            _convert_rows(ts, sp, ss, dp, ds, 0, nr, w)
    lsc_ftz_leave(fpm)


cdef void _gather(floating *x, const Py_ssize_t *ip, floating *v, Py_ssize_t A,
                  Py_ssize_t C, Py_ssize_t B, bint add) noexcept nogil:
    """v[k] = x[a, ip[k], b], or with add x[a, ip[k], b] += v[k] (k = a * B + b)."""
    cdef Py_ssize_t a, b, k = 0
    for a in range(A):
        for b in range(B):
            if add:
                x[(a * C + ip[k]) * B + b] += v[k]
            else:
                v[k] = x[(a * C + ip[k]) * B + b]
            k += 1


def pick(cnp.ndarray x, cnp.ndarray index, Py_ssize_t A, Py_ssize_t C, Py_ssize_t B,
         cnp.ndarray add=None):
    """x, a C-contiguous float32 or float64 array, seen as (A, C, B); index, a
    C-contiguous intp array of A * B entries in [0, C) (not checked here: the losses
    check their targets).  Without add: a new 1-d array out[a * B + b] = x[a, index[a,
    b], b].  With add (C-contiguous, x's dtype, A * B elements): x[a, index[a, b], b]
    += add[a * B + b], in place (x writeable), and None."""
    cdef int typenum = cnp.PyArray_TYPE(x)
    if (typenum not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)
            or cnp.PyArray_TYPE(index) != cnp.NPY_INTP
            or (add is not None and cnp.PyArray_TYPE(add) != typenum)):
        raise TypeError("pick needs a float32 or float64 x, intp indices and an add of "
                        "x's dtype")
    if (not cnp.PyArray_IS_C_CONTIGUOUS(x) or not cnp.PyArray_IS_C_CONTIGUOUS(index)
            or cnp.PyArray_SIZE(x) != A * C * B or cnp.PyArray_SIZE(index) != A * B
            or (add is not None and (not cnp.PyArray_IS_C_CONTIGUOUS(add)
                                     or cnp.PyArray_SIZE(add) != A * B
                                     or not cnp.PyArray_ISWRITEABLE(x)))):
        raise ValueError("pick needs C-contiguous arrays of A * C * B and A * B elements "
                         "(and an add of A * B, x writeable)")
    cdef cnp.ndarray v = add if add is not None else cnp.PyArray_EMPTY(1, [A * B], typenum, 0)
    cdef const Py_ssize_t *ip = <const Py_ssize_t *>cnp.PyArray_DATA(index)
    cdef bint adding = add is not None
    cdef unsigned int fpm = lsc_ftz_enter()
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            _gather(<float *>cnp.PyArray_DATA(x), ip, <float *>cnp.PyArray_DATA(v), A, C, B,
                    adding)
        else:
            _gather(<double *>cnp.PyArray_DATA(x), ip, <double *>cnp.PyArray_DATA(v), A, C,
                    B, adding)
    lsc_ftz_leave(fpm)
    return None if adding else v


def threads_flush_to_zero(int nthreads):
    """Whether each of up to 64 OpenMP threads has flush-to-zero set, seen from a plain
    parallel region, as other code that shares the threads would run (lsc_ftz_enter:
    the kernels must leave them as they found them).  For the tests."""
    cdef int on[64]
    cdef int t
    if nthreads < 1 or nthreads > 64:
        raise ValueError("nthreads must be in 1 .. 64")
    with nogil:
        for t in prange(nthreads, schedule='static', num_threads=nthreads):
            on[t] = lsc_ftz_is_on()
    return [bool(on[t]) for t in range(nthreads)]


def stream_bytes(team=False):
    """Outputs of this many bytes and more are written with non-temporal stores; with
    team, those of log_softmax's row pipeline of float32 rows (rows of one chunk) run
    by more than one thread."""
    return ROWS_TEAM_STREAM_BYTES if team else STREAM_BYTES


def rows_untiled(Py_ssize_t n, int op, bint f64):
    """Whether rows of n <= SMALL_N elements take the row kernels instead of tiles."""
    return n <= LSC_SMALL_N and lsc_rows_untiled(n, op, f64) != 0


def cpu_level():
    """0 baseline, 1 x86-64-v3 (AVX2, FMA), 2 x86-64-v4 (AVX-512): what this CPU runs."""
    return lsc_cpu_level()


def _cache_bytes(level):
    """One core's data (or unified) cache of that level in bytes, as Linux reports it; 0
    where it does not."""
    import glob
    for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(d + "/level") as f:
                lv = f.read().strip()
            with open(d + "/type") as f:
                kind = f.read().strip()
            with open(d + "/size") as f:
                size = f.read().strip()
        except OSError:
            continue
        digits = size[:len(size) - 1]  # (no negative index: wraparound is off here)
        if (lv == str(level) and kind != "Instruction" and digits.isdigit()
                and size.endswith(("K", "M"))):
            return int(digits) << (10 if size.endswith("K") else 20)
    return 0


# Outputs from this size on are written with non-temporal stores: the larger of 8 MiB
# and 8 times a core's L2.  Against plain stores: Zen 3 (512 KiB of L2, 32 MiB of L3),
# outputs of 9-32 MiB 0.63-0.97 of the time (rows, long rows, column blocks; 1 and 2
# threads), 0.75-1.05 with a sum of the result after; 2-4 MiB 0.92-1.18 alone and up to
# 1.5 with the sum (the result no longer in the cache).  A Xeon with 2 MiB of L2: 9 MiB
# (rows of 384 floats) 1.07-1.10 of the time, 16 MiB level, 32 MiB about 0.98, 64 MiB
# and more 0.57-0.89.
# (read once: also the float16 blocks' size, logsoftmax_c._api)
L2_BYTES = _cache_bytes(2)
cdef Py_ssize_t STREAM_BYTES = max(8388608, 8 * L2_BYTES)

# A team of threads on log_softmax's row pipeline of float rows (rows of one chunk)
# writes with non-temporal stores from a larger size, 5/16 of the L3 (10 MiB of 32):
# the team's streamed stores share the memory's write bandwidth, while the L3, which
# then holds the input and the output together, serves each core on its own.  Zen 4
# (1 MiB of L2, 32 MiB of L3), 2 threads, plain stores against streamed: 6144x384
# floats (9 MiB) 0.83-0.86 of the time (1 thread: 1.05-1.08, which keeps
# STREAM_BYTES), 2048x1024 0.86, 2304x1024 0.82, 4608x512 0.89, 8192x256 0.94; 12 MiB
# mixed (4096x768 0.92, 1500x2048 0.90, 12288x256 1.07), 16 MiB 1.13.  Double rows,
# twice the exps' arithmetic a byte, keep STREAM_BYTES (1024x1024 and 1152x1024 1.02).
# The L3 counts here for at most L3_TEAM_MAX_BYTES: a virtual machine may report the
# host's whole L3, most of it other guests' (the Xeon's reports 480 MiB, of which a
# buffer of 4 MiB read over and over came at memory's rate); there, with 2 threads,
# streamed from STREAM_BYTES (16 MiB) rather than 150 MiB: 4096x4096 0.63, 12288x1024
# 0.64-0.70, 32x512x1024 0.60, 2048x4096 0.69-0.86 of the time (rows of 1000 floats,
# not a whole number of vectors, are not streamed either way: 20000x1000 0.97-0.99;
# docs/history/rounds.md, the thirteenth round on the Xeon).
L3_BYTES = _cache_bytes(3)
cdef Py_ssize_t L3_TEAM_MAX_BYTES = 32 << 20
cdef Py_ssize_t ROWS_TEAM_STREAM_BYTES = max(STREAM_BYTES,
                                             min(L3_BYTES, L3_TEAM_MAX_BYTES) * 5 // 16)

# The float rows of log_softmax's row pipeline that fetch their input ahead
# (PREFETCH_THREAD_BYTES) fetch their output rows for writing too, but where a core's
# L1 data cache is 32 KiB or less: there the lines fetched ahead for writing crowd the
# rows being read.  Zen 4 (32 KiB): 1024x1000 floats with 1 thread 0.88-0.91 of the
# time without the output's fetch, 2048x1000 0.91-0.98, 1024x1000 doubles 1.05 (they
# keep it); the Xeon (48 KiB): 1024x1000 and 16x384x384 floats level or 1.05 without
# it (docs/history/rounds.md, the first round on Zen 4).
L1D_BYTES = _cache_bytes(1)
cdef bint ROWS_FETCH_OUT_F32 = not (0 < L1D_BYTES <= 32768)


ISA = (<bytes>LSC_ISA_NAME).decode()
CHUNK = {"float32": LSC_CHUNK_F32, "float64": LSC_CHUNK_F64}
# rows up to this long go through tiles of rows (the column kernel)
SMALL_N = LSC_SMALL_N
# _direct_call as a C function for the public functions (_entry.pyx), which call it
# with no Python call in between; its type there: direct_call_t
DIRECT_CALL = PyCapsule_New(<void *>_direct_call, b"logsoftmax_c.direct_call", NULL)
# _backward_call likewise; its type there: backward_call_t
BACKWARD_CALL = PyCapsule_New(<void *>_backward_call, b"logsoftmax_c.backward_call", NULL)
# _loss_call likewise; its type there: loss_call_t
LOSS_CALL = PyCapsule_New(<void *>_loss_call, b"logsoftmax_c.loss_call", NULL)
