/*
 * Float and double columns in one pass along the rows (the AVX-512 and AVX2 builds).
 *
 * The column bands (lsc_cols_vec) read a band of two to eight vectors of each row, rows
 * a whole row of x apart: 128 to 512 bytes of each 4 KiB page, too little for the L2's
 * stream prefetcher, so every line comes through the core's own few L1 miss buffers
 * (4096x4096 along axis 0 moved about 11 GiB/s a core, where a copy moves 27).  Here a
 * block of columns (one a thread: _run_cols) goes down its rows once for its statistics
 * and once for its write, each row's part of the block read whole (8 KiB of each row of
 * 4096x4096 with 2 threads).  Float columns from 2048 rows: in shorter ones the max
 * rises at too many of the rows, each rise a double exp, and the bands' lighter
 * arithmetic wins where the blocks stay in the caches (docs/history/rounds.md, the tenth
 * and eleventh Xeon rounds); double columns from 1024 (below).
 *
 * Each float column carries a running max m and the sum T, times 2**64, of exp(x - m) over
 * its elements but one occurrence of the max (Blanchard, Higham and Higham's form:
 * y = x - m - log1p(s)):
 * - an element not above m adds exp(x - m) 2**64 (lsc_vexp_f32s: normal down to
 *   2**-190 of the max), corrected for the rounding of x - m (its error exactly, by
 *   TwoSum: exp(fl(x - m) + err) = exp(fl(x - m)) (1 + err)) and for the exp's own
 *   one-step argument reduction (softmax's terms without either: LSC_ONEPASS_LIGHT),
 *   into a float partial sum of the lane, which every LSC_ONEPASS_FOLD rows go into T
 *   in double;
 * - an element above m (rare: about ln n times a column of logits) makes the old max
 *   one of the terms, in double: T = (T + partial + 2**64) exp(m - x), the factor's
 *   argument exact in double, and x the new m.
 * Every column's arithmetic is the same sequence down its rows lane by lane, whatever
 * its lane, block, thread or strides (strided rows are gathered into a buffer first;
 * the strips start at row 1 of every column): a column's bits depend on n alone, as
 * the other column kernels'.  Special values follow from the arithmetic: -inf adds
 * nothing, NaN makes T NaN, and a column whose max is not finite or whose T is NaN
 * gives NaN (the reference twin's rules).
 *
 * Used for log_softmax, softmax and logsumexp of float columns of lsc_onepass_n(n) rows,
 * double ones of lsc_onepass_n_f64(n) (lsc_cols).
 */
#ifndef LSC_COLS_ONEPASS_H
#define LSC_COLS_ONEPASS_H

#if (defined(__AVX512F__) && LSC_SIMD_BYTES == 64) || \
    (defined(__AVX2__) && defined(__FMA__) && LSC_SIMD_BYTES == 32)
#define LSC_COLS_ONEPASS 1
/* float columns of at least this many rows */
#define LSC_ONEPASS_MIN_N 2048
/* double columns of at least this many rows */
#define LSC_ONEPASS_MIN_N_F64 1024
/* rows whose terms a lane adds up in float before adding them into double (a divisor
   of LSC_COL_FOLD) */
#define LSC_ONEPASS_FOLD 4
/* softmax's float columns sum their terms without the correction for the rounding of
   x - m and for the exp's one-step reduction that log_softmax's dominant element and
   logsumexp (whose result is log1p(s) alone where the max is 0) need: softmax's result
   takes log1p(s) as an absolute quantity, whose error from the terms' is at most
   s / (1 + s) times their weighted mean |x - m| 2**-24, a few units of 2**-24 at most,
   as the rows' and the bands' sums (double columns keep it: lsc_onepass_step_f64) */
#define LSC_ONEPASS_LIGHT 1

/* the terms x - m from which the scaled exp is a normal number (below: 0) */
#if defined(__AVX512F__)
#define LSC_ONEPASS_LO ((float)(LSC_VEXP_F32_NORMAL - LSC_VEXP_S_LN))
#else
#define LSC_ONEPASS_LO ((float)(LSC_VEXP_F32_LO - LSC_VEXP_S_LN))
#endif

static inline int lsc_onepass_n(ptrdiff_t n)
{
    return n >= LSC_ONEPASS_MIN_N;
}

/* Sub-blocks.  A block of columns whose rows fit in LSC_ONEPASS_SUB_BYTES goes to its
 * write while its rows are still in the last-level cache, where x's second read costs
 * no traffic to memory: the caller (_run_cols) cuts a thread's columns into blocks of
 * lsc_onepass_sub_width(n, es) columns, where those hold at least LSC_ONEPASS_SUB_RUN
 * bytes of each row (shorter runs of each row lost more in the statistics than the
 * write gained).  New (with the prefetches below) / one block a thread, fastest of 3-4
 * processes of 11 calls, 1 / 2 threads: 4096x4096 along axis 0 0.82-0.88 / 0.90-0.95,
 * 2048x8192 0.86-0.87 / 0.88-0.89, 4096x2048 double 0.90 / 0.90, 2048x4096 0.91 /
 * 0.91 (perf, 4096x4096: the write's samples 0.61 / 0.73 of the statistics', 0.75 /
 * 0.89 before; two threads' streamed stores together stay at the machine's rate
 * whatever they read).  8192x2048 in sub-blocks of runs of 1 KiB: 1.01 / 1.12; of 2
 * KiB (16 MiB): 1.08 / 0.98; so its columns stay whole (docs/history/rounds.md, the
 * tenth round on Zen 4).  Columns no wider than a sub-block: 0, one block a thread as
 * before.  Each sub-block's write goes on during the next one's statistics
 * (lsc_onepass_pend, lsc_cols_seq). */
#define LSC_ONEPASS_SUB_BYTES (8 << 20)
#define LSC_ONEPASS_SUB_RUN 2048
static inline ptrdiff_t lsc_onepass_sub_width(ptrdiff_t n, ptrdiff_t es)
{
    ptrdiff_t w = n > 0 ? LSC_ONEPASS_SUB_BYTES / (n * es) / 16 * 16 : 0;
    return w * es >= LSC_ONEPASS_SUB_RUN ? w : 0;
}

/* The statistics fetch the next strip's rows while they take a strip's (one prefetch
 * a vector of each row, into L2: locality 2, which was as fast as the stream
 * prefetcher's alone on whole rows, and kept the sub-blocks' runs of 2 KiB of each
 * row as fast, where without it their statistics took 1.28 times as long: 16 new
 * streams a strip, each too short for the prefetcher to learn); not for strided
 * columns, whose strip is a gathered copy, nor for runs of each row longer than
 * LSC_ONEPASS_PF_RUN bytes, which the stream prefetcher follows (8192x2048 in blocks
 * of 8 KiB runs took 1.10 times as long with it).  The rows of the strip from row i0
 * whose row LSC_COL_FOLD below is still in the column, for runs of run bytes. */
#define LSC_ONEPASS_PREFETCH(p) __builtin_prefetch((p), 0, 2)
#define LSC_ONEPASS_PF_RUN 4096
static inline ptrdiff_t lsc_onepass_pf_rows(ptrdiff_t n, ptrdiff_t i0, ptrdiff_t rows,
                                            ptrdiff_t run, int gathered)
{
    const ptrdiff_t r = gathered || run > LSC_ONEPASS_PF_RUN ? 0 : n - i0 - LSC_COL_FOLD;
    return r < 0 ? 0 : r < rows ? r : rows;
}

#if defined(__AVX512F__)
/* the vectors of the one pass: LSC_OPW floats, a double vector of half as many */
#define LSC_OPW 16
typedef __m512 lsc_opv;
typedef __m512d lsc_opvd;
/* the first cnt floats at p (cnt < LSC_OPW: the others 0), and the first cnt lanes of v
   to p */
static inline __mmask16 lsc_op_mask(ptrdiff_t cnt)
{
    return cnt >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cnt) - 1);
}
static inline lsc_opv lsc_op_loadn(const float *p, ptrdiff_t cnt)
{
    return _mm512_maskz_loadu_ps(lsc_op_mask(cnt), p);
}
static inline void lsc_op_storen(float *p, lsc_opv v, ptrdiff_t cnt)
{
    _mm512_mask_storeu_ps(p, lsc_op_mask(cnt), v);
}
/* whether a lane of m is -inf */
static inline int lsc_op_any_ninf(lsc_opv m)
{
    return _mm512_cmp_ps_mask(m, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ) != 0;
}
/* the lanes of p into double, added to t[0] (the low half) and t[1] */
static inline void lsc_op_fold(lsc_opvd *t, lsc_opv p)
{
    t[0] = _mm512_add_pd(t[0], _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
    t[1] = _mm512_add_pd(t[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
}
/* the same for doubles (LSC_OPW / 2 a vector) */
static inline lsc_opvd lsc_op_loadn_d(const double *p, ptrdiff_t cnt)
{
    return _mm512_maskz_loadu_pd((__mmask8)lsc_op_mask(cnt), p);
}
static inline void lsc_op_storen_d(double *p, lsc_opvd v, ptrdiff_t cnt)
{
    _mm512_mask_storeu_pd(p, (__mmask8)lsc_op_mask(cnt), v);
}
#define LSC_OP_STREAMD _mm512_stream_pd
#define LSC_OP_LOADUD _mm512_loadu_pd
#define LSC_OP_STOREUD _mm512_storeu_pd
#define LSC_OP_SPLAT _mm512_set1_ps
#define LSC_OP_LOAD _mm512_load_ps
#define LSC_OP_LOADU _mm512_loadu_ps
#define LSC_OP_STOREU _mm512_storeu_ps
#define LSC_OP_STORE _mm512_store_ps
#define LSC_OP_STREAM _mm512_stream_ps
#define LSC_OP_LOADD _mm512_load_pd
#define LSC_OP_STORED _mm512_store_pd

/* One row's step of a vector of columns: x v, max *mv, the lanes' float partial sums
   *pv, their double sums t[0] (the low half of the lanes) and t[1]; with light, the
   terms without their correction (softmax's: LSC_ONEPASS_LIGHT); ninf: some lane's max
   is -inf (LSC_ONEPASS_ROWS_OF) */
static inline __attribute__((always_inline)) void lsc_onepass_step(__m512 v, __m512 *mv,
                                                                   __m512 *pv, __m512d *t,
                                                                   const int light,
                                                                   const int ninf)
{
    const __m512 m = *mv;
    const __m512 d = _mm512_sub_ps(v, m);
    const __mmask16 up = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_GT_OQ);
    /* the lanes whose term counts: x - m not below the scaled exp's range (-inf
       too, against a finite max); NaN's count; with ninf, x not -inf (whose x - m is
       NaN against a max of -inf).  (The first compare is the exp's own, which gcc
       then makes once: 0.97-0.98 of the time of 4096x4096 and 8192x2048 along axis 0,
       where a compare masked by the other was made apart.) */
    __mmask16 live = _mm512_cmp_ps_mask(d, _mm512_set1_ps(LSC_ONEPASS_LO), _CMP_NLT_UQ);
    if (ninf) {
        live = _kand_mask16(
            live, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ));
    }
    __m512 e = (__m512)lsc_vexp_f32s((lsc_vf32)d);
    if (light) {
        e = _mm512_maskz_mov_ps(live, e);
    }
    else {
        /* err = (x - m) - d, exactly (TwoSum of x and -m), and the exp's own error from
           its one-step argument reduction, d LSC_VEXP_F32_CW (lsc_simd.h) */
        const __m512 bb = _mm512_sub_ps(d, v);
        const __m512 err = _mm512_fmadd_ps(
            d, _mm512_set1_ps(LSC_VEXP_F32_CW),
            _mm512_sub_ps(_mm512_sub_ps(v, _mm512_sub_ps(d, bb)), _mm512_add_ps(m, bb)));
        e = _mm512_maskz_fmadd_ps(live, e, err, e);
    }
    if (__builtin_expect(up == 0, 1)) {
        *pv = _mm512_add_ps(*pv, e);
        return;
    }
    /* the lanes above their max: the partial sum into T, the old max into the sum,
       all rescaled to the new max, in double */
    const __m512 p = *pv;
    for (int h = 0; h < 2; h++) {
        const __mmask8 uh = (__mmask8)(up >> (8 * h));
        if (uh == 0) {
            continue;
        }
        const __m256 ph = h ? _mm512_extractf32x8_ps(p, 1) : _mm512_castps512_ps256(p);
        const __m256 mh = h ? _mm512_extractf32x8_ps(m, 1) : _mm512_castps512_ps256(m);
        const __m256 vh = h ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v);
        const __m512d f = (__m512d)lsc_vexp_f64(
            (lsc_vf64)_mm512_sub_pd(_mm512_cvtps_pd(mh), _mm512_cvtps_pd(vh)));
        const __m512d tn = _mm512_mul_pd(
            _mm512_add_pd(_mm512_add_pd(t[h], _mm512_cvtps_pd(ph)), _mm512_set1_pd(LSC_VEXP_S)),
            f);
        t[h] = _mm512_mask_mov_pd(t[h], uh, tn);
    }
    /* the other lanes add their term as above; the raised ones start a partial sum */
    *pv = _mm512_maskz_add_ps((__mmask16)~up, p, e);
    *mv = _mm512_mask_mov_ps(m, up, v);
}

#else
/* AVX2 and FMA: 8 floats a vector, the masks as vectors */
#define LSC_OPW 8
typedef __m256 lsc_opv;
typedef __m256d lsc_opvd;
static inline __m256i lsc_op_mask(ptrdiff_t cnt)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(cnt < 8 ? cnt : 8)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline lsc_opv lsc_op_loadn(const float *p, ptrdiff_t cnt)
{
    return _mm256_maskload_ps(p, lsc_op_mask(cnt));
}
static inline void lsc_op_storen(float *p, lsc_opv v, ptrdiff_t cnt)
{
    _mm256_maskstore_ps(p, lsc_op_mask(cnt), v);
}
static inline int lsc_op_any_ninf(lsc_opv m)
{
    const __m256 q = _mm256_cmp_ps(m, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ);
    return !_mm256_testz_ps(q, q);
}
static inline void lsc_op_fold(lsc_opvd *t, lsc_opv p)
{
    t[0] = _mm256_add_pd(t[0], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
    t[1] = _mm256_add_pd(t[1], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
}
static inline __m256i lsc_op_mask_d(ptrdiff_t cnt)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(cnt < 4 ? cnt : 4)),
                              _mm256_setr_epi64x(0, 1, 2, 3));
}
static inline lsc_opvd lsc_op_loadn_d(const double *p, ptrdiff_t cnt)
{
    return _mm256_maskload_pd(p, lsc_op_mask_d(cnt));
}
static inline void lsc_op_storen_d(double *p, lsc_opvd v, ptrdiff_t cnt)
{
    _mm256_maskstore_pd(p, lsc_op_mask_d(cnt), v);
}
#define LSC_OP_STREAMD _mm256_stream_pd
#define LSC_OP_LOADUD _mm256_loadu_pd
#define LSC_OP_STOREUD _mm256_storeu_pd
#define LSC_OP_SPLAT _mm256_set1_ps
#define LSC_OP_LOAD _mm256_load_ps
#define LSC_OP_LOADU _mm256_loadu_ps
#define LSC_OP_STOREU _mm256_storeu_ps
#define LSC_OP_STORE _mm256_store_ps
#define LSC_OP_STREAM _mm256_stream_ps
#define LSC_OP_LOADD _mm256_load_pd
#define LSC_OP_STORED _mm256_store_pd

/* the step as above, with the AVX2 exp (which clamps its argument: the lanes below its
   range are left out by the same compare) */
static inline __attribute__((always_inline)) void lsc_onepass_step(__m256 v, __m256 *mv,
                                                                   __m256 *pv, __m256d *t,
                                                                   const int light,
                                                                   const int ninf)
{
    const __m256 m = *mv;
    const __m256 d = _mm256_sub_ps(v, m);
    const __m256 up = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_GT_OQ);
    __m256 live = _mm256_cmp_ps(d, _mm256_set1_ps(LSC_ONEPASS_LO), _CMP_NLT_UQ);
    if (ninf) {
        live = _mm256_and_ps(live,
                             _mm256_cmp_ps(v, _mm256_set1_ps(-INFINITY), _CMP_NEQ_UQ));
    }
    __m256 e = (__m256)lsc_vexp_f32s((lsc_vf32)d);
    if (light) {
        e = _mm256_and_ps(live, e);
    }
    else {
        const __m256 bb = _mm256_sub_ps(d, v);
        const __m256 err = _mm256_fmadd_ps(
            d, _mm256_set1_ps(LSC_VEXP_F32_CW),
            _mm256_sub_ps(_mm256_sub_ps(v, _mm256_sub_ps(d, bb)), _mm256_add_ps(m, bb)));
        e = _mm256_and_ps(live, _mm256_fmadd_ps(e, err, e));
    }
    if (__builtin_expect(_mm256_testz_ps(up, up), 1)) {
        *pv = _mm256_add_ps(*pv, e);
        return;
    }
    const __m256 p = *pv;
    for (int h = 0; h < 2; h++) {
        /* the float lanes' masks widened to the double lanes */
        const __m256d uh = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(
            _mm_castps_si128(h ? _mm256_extractf128_ps(up, 1) : _mm256_castps256_ps128(up))));
        if (_mm256_testz_pd(uh, uh)) {
            continue;
        }
        const __m128 ph = h ? _mm256_extractf128_ps(p, 1) : _mm256_castps256_ps128(p);
        const __m128 mh = h ? _mm256_extractf128_ps(m, 1) : _mm256_castps256_ps128(m);
        const __m128 vh = h ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v);
        const __m256d f = (__m256d)lsc_vexp_f64(
            (lsc_vf64)_mm256_sub_pd(_mm256_cvtps_pd(mh), _mm256_cvtps_pd(vh)));
        const __m256d tn = _mm256_mul_pd(
            _mm256_add_pd(_mm256_add_pd(t[h], _mm256_cvtps_pd(ph)), _mm256_set1_pd(LSC_VEXP_S)),
            f);
        t[h] = _mm256_blendv_pd(t[h], tn, uh);
    }
    *pv = _mm256_andnot_ps(up, _mm256_add_ps(p, e));
    *mv = _mm256_blendv_ps(m, v, up);
}
#endif

/* The rows of the strip of rows i0 .. i0 + rows - 1 of a block of b columns (byte
   strides sxn, sxi; elements of es bytes): x's own, or where g is not NULL (strided
   columns) gathered into g, rows bv elements apart; *pitch: their byte stride */
static inline __attribute__((always_inline)) const char *lsc_onepass_strip(
    const char *x, ptrdiff_t sxn, ptrdiff_t sxi, ptrdiff_t i0, ptrdiff_t rows, ptrdiff_t b,
    char *g, ptrdiff_t bv, ptrdiff_t es, ptrdiff_t *pitch)
{
    const char *base = x + i0 * sxn;
    *pitch = sxn;
    if (g == NULL) {
        return base;
    }
    for (ptrdiff_t r = 0; r < rows; r++) {
        for (ptrdiff_t k = 0; k < b; k++) {
            memcpy(g + (r * bv + k) * es, base + r * sxn + k * sxi, (size_t)es);
        }
    }
    *pitch = bv * es;
    return g;
}

/* The one pass's write takes LSC_ONEPASS_ROWS rows at a time, each vector of m and c
   loaded once for them, where the block's m, c and part of a row of x do not fit in L1
   together (3 b sizeof(T) above LSC_ONEPASS_ROWS_BYTES) or its rows are parts of x's
   rows (the threads' blocks).  Row by row, x's stream evicted m and c, which then came
   from L2 for every row: streamed over 4096 rows of 4096 floats, y = (x - m) - c took
   1.77 times as long as y = x - 1, two rows a vector of m and c 1.43, four 1.3
   (tools/experiments/onepass_write.c).  In the kernel, new / old with 1 / 2 threads:
   4096x4096 along axis 0 0.92 / 0.90-0.94, 8192x4096 0.93 / 0.92, 2048x8192 double
   0.91 / 0.91-1.01, 16384x1024 with 2 threads 0.87; 4 rows at a time 0.97 / 0.92 on
   4096x4096; whole rows that fit in L1 with their m and c lost 4-10% in pairs
   (8192x2048 and 16384x1024 with 1 thread: two streams of x and y for one), so they
   go row by row. */
#define LSC_ONEPASS_ROWS 2
#define LSC_ONEPASS_ROWS_BYTES 24576

/* G rows of a one pass's write (xg[0 .. G), yg[0 .. G): their x and y), the first h
 * elements of each row by masked stores, then each vector of m and c loaded once for the
 * G rows (streamed or stored as the caller's `stream`), the tail masked: the
 * statement that LSC_ONEPASS_WRITE uses for a single row and for LSC_ONEPASS_ROWS of
 * them (b, m, c and stream its own; gcc makes a loop of each value of stream).  With
 * pf (bytes, not 0), each whole vector of x also fetches the one pf bytes further into
 * L1, the next group's: LSC_ONEPASS_WRITE's for rows whose runs are short (at most
 * LSC_ONEPASS_PF_RUN bytes, the sub-blocks' and the threads' blocks), too short for
 * the stream prefetcher, so that their loads from L3 waited (the write's samples on
 * the first use of each load).  New / old, fastest of 6 processes of 11 calls, 1 / 2
 * threads: 4096x4096 along axis 0 0.94 / 0.97, 2048x8192 0.96 / 1.00, 4096x2048
 * double 0.94 / 0.93; into L2 (locality 2) 0.96-0.99 / 0.96-1.08. */
#define LSC_ONEPASS_GROUP(W, LOADN, STOREN, LOADU, STOREU, STREAMV, F, G, xg, yg, h, pf)     \
    do {                                                                                     \
        for (int k = 0; k < (G); k++) {                                                      \
            for (ptrdiff_t j = 0; j < (h); j += W) {                                         \
                STOREN((yg)[k] + j,                                                          \
                       F(LOADN((xg)[k] + j, (h) - j) - LOADN(m + j, (h) - j) -               \
                         LOADN(c + j, (h) - j)),                                             \
                       (h) - j);                                                             \
            }                                                                                \
        }                                                                                    \
        ptrdiff_t j = (h);                                                                   \
        for (; j + W <= b; j += W) {                                                         \
            const __typeof__(LOADU(m)) mv = LOADU(m + j), cv = LOADU(c + j);                 \
            for (int k = 0; k < (G); k++) {                                                  \
                if (pf) {                                                                    \
                    __builtin_prefetch((const char *)((xg)[k] + j) + (pf), 0, 3);            \
                }                                                                            \
                const __typeof__(LOADU(m)) r = F(LOADU((xg)[k] + j) - mv - cv);              \
                if (stream) {                                                                \
                    STREAMV((yg)[k] + j, r);                                                 \
                }                                                                            \
                else {                                                                       \
                    STOREU((yg)[k] + j, r);                                                  \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        if (j < b) {                                                                         \
            for (int k = 0; k < (G); k++) {                                                  \
                STOREN((yg)[k] + j,                                                          \
                       F(LOADN((xg)[k] + j, b - j) - LOADN(m + j, b - j) -                   \
                         LOADN(c + j, b - j)),                                               \
                       b - j);                                                               \
            }                                                                                \
        }                                                                                    \
    } while (0)

/* The write of a one pass, y = F((x - m) - c) row by row (F: nothing for log_softmax, the
 * vector exp for softmax), as the function NAME for the element type T (W of them a
 * vector, the ISA's loads and stores of them): with stream, whole vectors from each
 * row's first 64-byte boundary with non-temporal stores; elsewhere whole vectors, the
 * tail masked; rows LSC_ONEPASS_ROWS at a time (above) where x and y are contiguous
 * along the columns and y's rows all start at one offset within a line.  Strided columns
 * (gathered into g first) and outputs that are strided or not aligned to their elements
 * go through the row buffer rb (bv elements) with the same vector operations, so that a
 * column's bits do not depend on its layout. */
#define LSC_ONEPASS_WRITE(NAME, T, W, LOADN, STOREN, LOADU, STOREU, STREAMV, F)              \
    static void NAME(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y, ptrdiff_t syn,    \
                     ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b, const T *m, const T *c, T *g,  \
                     T *rb, int stream, ptrdiff_t i0, ptrdiff_t i1, int fence)               \
    {                                                                                        \
        const ptrdiff_t es = (ptrdiff_t)sizeof(T);                                           \
        const int pfok = b * es <= LSC_ONEPASS_PF_RUN;                                       \
        ptrdiff_t i = i0;                                                                    \
        if (sxi == es && syi == es && ((uintptr_t)y) % es == 0 && syn % 64 == 0 &&           \
            (sxn != b * es || 3 * b * es > LSC_ONEPASS_ROWS_BYTES)) {                        \
            ptrdiff_t h = stream ? (ptrdiff_t)((64 - ((uintptr_t)y) % 64) % 64) / es : 0;    \
            h = h < b ? h : b;                                                               \
            for (; i + LSC_ONEPASS_ROWS <= i1; i += LSC_ONEPASS_ROWS) {                      \
                const T *xg[LSC_ONEPASS_ROWS];                                               \
                T *yg[LSC_ONEPASS_ROWS];                                                     \
                for (int k = 0; k < LSC_ONEPASS_ROWS; k++) {                                 \
                    xg[k] = (const T *)(x + (i + k) * sxn);                                  \
                    yg[k] = (T *)(y + (i + k) * syn);                                        \
                }                                                                            \
                const ptrdiff_t pf = pfok && i + 2 * LSC_ONEPASS_ROWS <= n                   \
                                         ? LSC_ONEPASS_ROWS * sxn : 0;                       \
                LSC_ONEPASS_GROUP(W, LOADN, STOREN, LOADU, STOREU, STREAMV, F,               \
                                  LSC_ONEPASS_ROWS, xg, yg, h, pf);                          \
            }                                                                                \
        }                                                                                    \
        for (; i < i1; i++) {                                                                \
            const char *xr = x + i * sxn;                                                    \
            char *yr = y + i * syn;                                                          \
            const T *xf = (const T *)xr;                                                     \
            if (sxi != es) {                                                                 \
                for (ptrdiff_t k = 0; k < b; k++) {                                          \
                    memcpy(g + k, xr + k * sxi, (size_t)es);                                 \
                }                                                                            \
                xf = g;                                                                      \
            }                                                                                \
            if (sxi != es || syi != es || ((uintptr_t)yr) % es != 0) {                       \
                for (ptrdiff_t j = 0; j < b; j += W) {                                       \
                    STOREN(rb + j,                                                           \
                           F(LOADN(xf + j, b - j) - LOADN(m + j, b - j) -                    \
                             LOADN(c + j, b - j)),                                           \
                           b - j);                                                           \
                }                                                                            \
                for (ptrdiff_t k = 0; k < b; k++) {                                          \
                    memcpy(yr + k * syi, rb + k, (size_t)es);                                \
                }                                                                            \
                continue;                                                                    \
            }                                                                                \
            T *yf[1] = {(T *)yr};                                                            \
            ptrdiff_t h = stream ? (ptrdiff_t)((64 - ((uintptr_t)yr) % 64) % 64) / es : 0;   \
            h = h < b ? h : b;                                                               \
            const ptrdiff_t pf = pfok && sxi == es && i + 1 < n ? sxn : 0;                   \
            LSC_ONEPASS_GROUP(W, LOADN, STOREN, LOADU, STOREU, STREAMV, F, 1, &xf, yf, h,    \
                              pf);                                                           \
        }                                                                                    \
        if (stream && fence) {                                                               \
            LSC_SFENCE();                                                                    \
        }                                                                                    \
    }

/* F of the writes: log_softmax's (nothing), softmax's (the vector exp of lsc_simd.h, as
   the other column kernels') */
#define LSC_OP_LOG(v) (v)
#define LSC_OP_EXP(v) ((lsc_opv)lsc_vexp_f32((lsc_vf32)(v)))
#define LSC_OP_EXPD(v) ((lsc_opvd)lsc_vexp_f64((lsc_vf64)(v)))
LSC_ONEPASS_WRITE(lsc_onepass_write_f32, float, LSC_OPW, lsc_op_loadn, lsc_op_storen,
                  LSC_OP_LOADU, LSC_OP_STOREU, LSC_OP_STREAM, LSC_OP_LOG)
LSC_ONEPASS_WRITE(lsc_onepass_write_f64, double, LSC_OPW / 2, lsc_op_loadn_d,
                  lsc_op_storen_d, LSC_OP_LOADUD, LSC_OP_STOREUD, LSC_OP_STREAMD, LSC_OP_LOG)
LSC_ONEPASS_WRITE(lsc_onepass_softmax_f32, float, LSC_OPW, lsc_op_loadn, lsc_op_storen,
                  LSC_OP_LOADU, LSC_OP_STOREU, LSC_OP_STREAM, LSC_OP_EXP)
LSC_ONEPASS_WRITE(lsc_onepass_softmax_f64, double, LSC_OPW / 2, lsc_op_loadn_d,
                  lsc_op_storen_d, LSC_OP_LOADUD, LSC_OP_STOREUD, LSC_OP_STREAMD, LSC_OP_EXPD)

/* The output of a one pass for op, as the function NAME for the element type T:
   logsumexp's values lse[k] (double) to y + k syi, or the write (WRITE, SOFTMAX) from
   the maxes m and offsets c */
#define LSC_ONEPASS_OUT(NAME, T, WRITE, SOFTMAX)                                           \
    static void NAME(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y, ptrdiff_t syn, \
                     ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b, int op, const double *lse,   \
                     const T *m, const T *c, T *g, T *rb, int stream, ptrdiff_t i0,        \
                     ptrdiff_t i1, int fence)                                              \
    {                                                                                      \
        if (op == LSC_OP_LOGSUMEXP) {                                                      \
            for (ptrdiff_t k = 0; k < b; k++) {                                            \
                *(T *)(y + k * syi) = (T)lse[k];                                           \
            }                                                                              \
        }                                                                                  \
        else if (op == LSC_OP_SOFTMAX) {                                                   \
            SOFTMAX(x, sxn, sxi, y, syn, syi, n, b, m, c, g, rb, stream, i0, i1, fence);   \
        }                                                                                  \
        else {                                                                             \
            WRITE(x, sxn, sxi, y, syn, syi, n, b, m, c, g, rb, stream, i0, i1, fence);     \
        }                                                                                  \
    }
LSC_ONEPASS_OUT(lsc_onepass_out_f32, float, lsc_onepass_write_f32, lsc_onepass_softmax_f32)
LSC_ONEPASS_OUT(lsc_onepass_out_f64, double, lsc_onepass_write_f64, lsc_onepass_softmax_f64)

/* A block's write left to the next block's statistics (lsc_cols_seq): the sub-blocks of
 * a thread's columns take turns, the write of one in runs of LSC_ONEPASS_PEND_ROWS rows
 * between the vectors of columns of the next one's statistics, so that the core's
 * streamed stores (bound by memory) go on beside the statistics' arithmetic instead of
 * after it; the block's streamed stores fenced once, after its last row.  Held: the
 * block's arguments, its scratch (m, c, rb, g), the rows written (done), and the
 * schedule: every step of the statistics (a vector of columns down a strip) adds the
 * block's n to acc, each S of it makes one row due (S: the statistics' steps), so that
 * the last rows are due at the statistics' last step.  Each element's arithmetic is the
 * write's own, whatever the runs: the same bits as the write after the statistics. */
#define LSC_ONEPASS_PEND_ROWS 16
typedef struct {
    const char *x;
    char *y;
    ptrdiff_t sxn, sxi, syn, syi, n, b;
    int op, stream, dbl, active;
    const void *m, *c;
    void *g, *rb, *scratch;
    ptrdiff_t done, due, acc, S, thr;
} lsc_onepass_pend;

/* rows done .. i1 - 1 of the block left in p, then the streamed stores fenced if fence */
static void lsc_onepass_pend_rows(lsc_onepass_pend *p, ptrdiff_t i1, int fence)
{
    if (p->dbl) {
        lsc_onepass_out_f64(p->x, p->sxn, p->sxi, p->y, p->syn, p->syi, p->n, p->b, p->op,
                            NULL, (const double *)p->m, (const double *)p->c,
                            (double *)p->g, (double *)p->rb, p->stream, p->done, i1, fence);
    }
    else {
        lsc_onepass_out_f32(p->x, p->sxn, p->sxi, p->y, p->syn, p->syi, p->n, p->b, p->op,
                            NULL, (const float *)p->m, (const float *)p->c,
                            (float *)p->g, (float *)p->rb, p->stream, p->done, i1, fence);
    }
    p->done = i1;
}

/* the rows due of the block left in p, LSC_ONEPASS_PEND_ROWS at a time */
static __attribute__((noinline)) void lsc_onepass_pend_due(lsc_onepass_pend *p)
{
    const ptrdiff_t k = p->acc / p->S;
    p->acc -= k * p->S;
    p->due += k;
    ptrdiff_t i1 = p->due / LSC_ONEPASS_PEND_ROWS * LSC_ONEPASS_PEND_ROWS;
    i1 = i1 < p->n ? i1 : p->n;
    if (i1 > p->done) {
        lsc_onepass_pend_rows(p, i1, 0);
    }
}

/* the schedule of p's write over S steps of statistics */
static inline void lsc_onepass_pend_start(lsc_onepass_pend *p, ptrdiff_t S)
{
    p->S = S > 0 ? S : 1;
    p->acc = 0;
    p->due = p->done;
    p->thr = p->S * LSC_ONEPASS_PEND_ROWS;
}

/* a step of statistics: p's rows due, if any */
#define LSC_ONEPASS_TICK(p)                                     \
    do {                                                        \
        if ((p) != NULL && ((p)->acc += (p)->n) >= (p)->thr) { \
            lsc_onepass_pend_due(p);                            \
        }                                                       \
    } while (0)

/* the rest of p's write, fenced, and its scratch back */
static void lsc_onepass_pend_finish(lsc_onepass_pend *p)
{
    if (p->active) {
        lsc_onepass_pend_rows(p, p->n, 1);
        lsc_scratch_put(p->scratch);
        p->active = 0;
    }
}

/* logsumexp of a column whose max m is not finite: NaN if it holds a NaN, else m (the
   reference twin's rules) */
static double lsc_onepass_lse_nonfinite(const char *x, ptrdiff_t sxn, ptrdiff_t n, int single,
                                        double m)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        const double v = single ? (double)*(const float *)(x + i * sxn)
                                : *(const double *)(x + i * sxn);
        if (v != v) {
            return NAN;
        }
    }
    return m;
}

/* A column block of n rows (lsc_onepass_n(n)) by b columns of float x (byte strides sxn
 * between rows, sxi between columns) into y (syn, syi), for op: log_softmax and softmax
 * write y (which may be x), logsumexp one value a column, at y + k syi for column k.
 * stream: y's rows written with non-temporal stores from their first 64-byte boundary.
 * Returns 0, having done nothing, if its scratch cannot be had. */
static int lsc_cols_onepass_f32(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                int op, int stream, lsc_onepass_pend *prev,
                                lsc_onepass_pend *self)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(float);
    const ptrdiff_t bv = (b + 15) / 16 * 16;
    const int gather = sxi != es;
    /* m, c (float), T (double), the write's row buffer, and for strided columns a
       strip's rows gathered */
    const size_t need = (size_t)bv * (4 + 4 + 8 + 4) + (gather ? (size_t)LSC_COL_FOLD * bv * 4 : 0);
    char *scratch = (char *)lsc_scratch_get(need);
    if (scratch == NULL) {
        return 0;
    }
    float *m = (float *)scratch;
    float *c = m + bv;
    double *T = (double *)(c + bv);
    float *rb = (float *)(T + bv);
    float *g = gather ? rb + bv : NULL;
    /* row 0: the maxes */
    if (gather) {
        for (ptrdiff_t k = 0; k < b; k++) {
            m[k] = *(const float *)(x + k * sxi);
        }
    }
    else {
        memcpy(m, x, (size_t)b * sizeof(float));
    }
    for (ptrdiff_t k = b; k < bv; k++) {
        m[k] = 0.0f;
    }
    memset(T, 0, (size_t)bv * sizeof(double));
    if (prev != NULL) {
        lsc_onepass_pend_start(prev, (n - 1 + LSC_COL_FOLD - 1) / LSC_COL_FOLD *
                                         ((b + LSC_OPW - 1) / LSC_OPW));
    }
    /* a vector of columns down a strip; NINF: a lane's max is -inf.  (Else no lane's max
       is, nor becomes -inf, and -inf's x - m is below the exp's range: its term left out
       by the exp's own compare, without one of its own; the same bits where the max
       ends finite, and a max that ends NaN or +inf makes the column NaN whatever T.
       0.96-0.98 of the time of 4096x4096, 8192x2048 and 2048x8192 along axis 0, 1 and 2
       threads; softmax 0.90-0.94 with 2.  Double's one pass, its base in place of the
       max, measured 0.99-1.02: it keeps its compare.) */
#define LSC_ONEPASS_ROWS_OF(LIGHT, NINF)                                                    \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                  \
        if (r < pfr) {                                                                      \
            LSC_ONEPASS_PREFETCH(base + (r + LSC_COL_FOLD) * pitch + j * es);               \
        }                                                                                   \
        const lsc_opv v = lsc_op_loadn((const float *)(base + r * pitch) + j, b - j);       \
        lsc_onepass_step(v, &mv, &pv, t, LIGHT, NINF);                                      \
        if ((r + 1) % LSC_ONEPASS_FOLD == 0 || r == rows - 1) {                             \
            lsc_op_fold(t, pv);                                                             \
            pv = LSC_OP_SPLAT(0.0f);                                                        \
        }                                                                                   \
    }
    /* strips of LSC_COL_FOLD rows from row 1: each vector of columns down the strip,
       its partial sums then added into T (light a constant in each copy) */
#define LSC_ONEPASS_STRIPS(LIGHT)                                                           \
    for (ptrdiff_t i0 = 1; i0 < n; i0 += LSC_COL_FOLD) {                                    \
        const ptrdiff_t rows = n - i0 < LSC_COL_FOLD ? n - i0 : LSC_COL_FOLD;               \
        ptrdiff_t pitch;                                                                    \
        const char *base = lsc_onepass_strip(x, sxn, sxi, i0, rows, b, (char *)g, bv, es,   \
                                             &pitch);                                       \
        const ptrdiff_t pfr = lsc_onepass_pf_rows(n, i0, rows, b * es, g != NULL);          \
        for (ptrdiff_t j = 0; j < b; j += LSC_OPW) {                                        \
            lsc_opv mv = LSC_OP_LOAD(m + j), pv = LSC_OP_SPLAT(0.0f);                       \
            lsc_opvd t[2] = {LSC_OP_LOADD(T + j), LSC_OP_LOADD(T + j + LSC_OPW / 2)};       \
            if (lsc_op_any_ninf(mv)) {                                                      \
                LSC_ONEPASS_ROWS_OF(LIGHT, 1);                                              \
            }                                                                               \
            else {                                                                          \
                LSC_ONEPASS_ROWS_OF(LIGHT, 0);                                              \
            }                                                                               \
            LSC_OP_STORED(T + j, t[0]);                                                     \
            LSC_OP_STORED(T + j + LSC_OPW / 2, t[1]);                                       \
            LSC_OP_STORE(m + j, mv);                                                        \
            LSC_ONEPASS_TICK(prev);                                                         \
        }                                                                                   \
    }
    if (op == LSC_OP_SOFTMAX && LSC_ONEPASS_LIGHT) {
        LSC_ONEPASS_STRIPS(1)
    }
    else {
        LSC_ONEPASS_STRIPS(0)
    }
#undef LSC_ONEPASS_STRIPS
#undef LSC_ONEPASS_ROWS_OF
    if (prev != NULL) {
        lsc_onepass_pend_finish(prev);
    }
    /* each column's log1p(s); NaN for the max where it is not finite or T is NaN (the
       whole column NaN); logsumexp: m + log1p(s) in double, into T first (y may
       overlap x) */
    const int lse = op == LSC_OP_LOGSUMEXP;
    for (ptrdiff_t k = 0; k < b; k++) {
        const double t = T[k];
        if (lse) {
            T[k] = !isfinite(m[k]) ? lsc_onepass_lse_nonfinite(x + k * sxi, sxn, n, 1, m[k])
                   : t != t        ? NAN
                                   : (double)m[k] + lsc_log1p_sum(t * (1.0 / LSC_VEXP_S), 1);
        }
        else if (!isfinite(m[k]) || t != t) {
            m[k] = NAN;
            c[k] = 0.0f;
        }
        else {
            c[k] = (float)lsc_log1p_sum(t * (1.0 / LSC_VEXP_S), 1);
        }
    }
    if (self != NULL && !lse) {
        /* the write left to the next block's statistics */
        *self = (lsc_onepass_pend){x, y, sxn, sxi, syn, syi, n, b, op, stream, 0, 1,
                                   m, c, g, rb, scratch, 0, 0, 0, 1, 1};
        return 1;
    }
    lsc_onepass_out_f32(x, sxn, sxi, y, syn, syi, n, b, op, T, m, c, g, rb, stream, 0, n, 1);
    lsc_scratch_put(scratch);
    return 1;
}

/* ---- double columns ----
 *
 * Double has no wider type to rescale a sum in at each rise of the max (a rounded
 * factor each: over a column whose max rises at every row, errors of tens of ulps), so
 * each column's terms are taken against a base b that moves rarely: its sum T of
 * 2**64 exp(x - b) over its elements but one occurrence of the max m, and the max's
 * own term E = 2**64 exp(m - b); s = T / E at the end (the common rounding of b falls
 * out).  b starts at the column's row 0 and moves to m where m rises LSC_ONEPASS_REBASE
 * above it (the terms stay finite: rare, a rounded factor then on what came before):
 * - an element not above m adds its term, exp(x - b) corrected for the rounding of
 *   x - b (TwoSum), to a partial sum of the lane, which every LSC_ONEPASS_FOLD rows
 *   goes into T with Kahan's compensation;
 * - an element above m adds E instead (the old max becomes a term) and its own term
 *   becomes E: no exp more than the element's own.
 * The column's arithmetic depends on n alone, as the float one's; special values as
 * there (b at -inf, a max of +inf: the first rise moves b, by a factor 0).  From 1024
 * rows (with rises this cheap, shorter columns than float's; from 512 the wide blocks
 * lost to the bands).  Float columns measured this scheme (their E in float, R = 40) at
 * 1.03-1.09 times the time of their own: their rises are rare, and the base and E
 * cost two more vectors of state a step. */
#define LSC_ONEPASS_REBASE 560.0
#if defined(__AVX512F__)
#define LSC_ONEPASS_LO_D (LSC_VEXP_F64_NORMAL - LSC_VEXP_S_LN)
#else
#define LSC_ONEPASS_LO_D (LSC_VEXP_F64_LO - LSC_VEXP_S_LN)
#endif

static inline int lsc_onepass_n_f64(ptrdiff_t n)
{
    return n >= LSC_ONEPASS_MIN_N_F64;
}

/* One row's step of a vector of columns of base bv: x v, max *mv, its term *ev, the
   lanes' partial sums *pv.  Returns whether some lane's max rose.  (The terms keep
   their correction for softmax too, unlike float's, LSC_ONEPASS_LIGHT: they are taken
   against the base, which can be far below the max, and the rounding of x - b is a
   relative error of about |x - b| 2**-53 on terms of any size.) */
static inline __attribute__((always_inline)) int lsc_onepass_step_f64(lsc_vf64 v, lsc_vf64 bv,
                                                                      lsc_vf64 *mv,
                                                                      lsc_vf64 *ev,
                                                                      lsc_vf64 *pv)
{
    typedef lsc_vf64 V;
    const V m = *mv;
    const V d = v - bv;
    const V bb = d - v;
    const V err = (v - (d - bb)) - (bv + bb);
    V e = lsc_vexp_f64s(d);
#if defined(__AVX512F__) && defined(__AVX512DQ__) && LSC_SIMD_BYTES == 64
    /* the same in mask registers (kandb is AVX512DQ's, which the x86-64-v4 build
       has): the live lanes' second compare is the exp's own (which gcc then makes
       once), the rise's compare made once and tested there */
    const __mmask8 live =
        _kand_mask8(_mm512_cmp_pd_mask((__m512d)v, _mm512_set1_pd(-INFINITY), _CMP_NEQ_UQ),
                    _mm512_cmp_pd_mask((__m512d)d, _mm512_set1_pd(LSC_ONEPASS_LO_D),
                                       _CMP_NLT_UQ));
    e = (V)_mm512_maskz_fmadd_pd(live, (__m512d)e, (__m512d)err, (__m512d)e);
    const __mmask8 up = _mm512_cmp_pd_mask((__m512d)v, (__m512d)m, _CMP_GT_OQ);
    if (__builtin_expect(up == 0, 1)) {
        *pv += e;
        return 0;
    }
    *pv += (V)_mm512_mask_mov_pd((__m512d)e, up, (__m512d)*ev);
    *ev = (V)_mm512_mask_mov_pd((__m512d)*ev, up, (__m512d)e);
    *mv = (V)_mm512_mask_mov_pd((__m512d)m, up, (__m512d)v);
#else
    /* x not -inf, x - b not below the scaled exp's range; NaN's count */
    const lsc_vi64 live = (v != LSC_SPLAT(V, -INFINITY)) &
                          ~(d < LSC_SPLAT(V, LSC_ONEPASS_LO_D));
    e = lsc_vsel_f64(live, e + e * err, LSC_SPLAT(V, 0.0));
    const lsc_vi64 up = v > m;
    if (__builtin_expect(!LSC_VANY(up), 1)) {
        *pv += e;
        return 0;
    }
    *pv += lsc_vsel_f64(up, *ev, e);
    *ev = lsc_vsel_f64(up, e, *ev);
    *mv = lsc_vsel_f64(up, v, m);
#endif
    return 1;
}

/* The lanes of columns k0 .. k0 + w - 1 whose max rose LSC_ONEPASS_REBASE above the
   base: the base moved to the max, the sums (partial p, T and its compensation cT)
   rescaled by exp(b - m), the max's term 2**64 */
static __attribute__((noinline)) void lsc_onepass_rebase_f64(double *b, const double *m,
                                                             double *E, double *p,
                                                             double *T, double *cT, int w)
{
    for (int k = 0; k < w; k++) {
        if (m[k] - b[k] > LSC_ONEPASS_REBASE) {
            /* (the factor scaled by 2**64 until the product: normal down to 2**-1086) */
            const double f = lsc_chunk_weight_s(b[k], m[k]);
            p[k] = p[k] * f * (1.0 / LSC_VEXP_S);
            T[k] = T[k] * f * (1.0 / LSC_VEXP_S);
            cT[k] = cT[k] * f * (1.0 / LSC_VEXP_S);
            E[k] = LSC_VEXP_S;
            b[k] = m[k];
        }
    }
}

/* As lsc_cols_onepass_f32, for double */
static int lsc_cols_onepass_f64(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                int op, int stream, lsc_onepass_pend *prev,
                                lsc_onepass_pend *self)
{
    typedef lsc_vf64 V;
    enum { W = LSC_OPW / 2 };
    const ptrdiff_t es = (ptrdiff_t)sizeof(double);
    const ptrdiff_t bv = (b + W - 1) / W * W;
    const int gather = sxi != es;
    /* base, max, the max's term, T, its compensation, c, the write's row buffer; for
       strided columns a strip's rows gathered */
    const size_t need = (size_t)bv * 7 * 8 + (gather ? (size_t)LSC_COL_FOLD * bv * 8 : 0);
    char *scratch = (char *)lsc_scratch_get(need);
    if (scratch == NULL) {
        return 0;
    }
    double *B = (double *)scratch;
    double *m = B + bv;
    double *E = m + bv;
    double *T = E + bv;
    double *cT = T + bv;
    double *c = cT + bv;
    double *rb = c + bv;
    double *g = gather ? rb + bv : NULL;
    /* row 0: the maxes and the bases; the max's term 2**64 exp(0), 0 for -inf */
    for (ptrdiff_t k = 0; k < bv; k++) {
        const double v = k < b ? *(const double *)(x + k * sxi) : 0.0;
        m[k] = v;
        B[k] = v;
        E[k] = v == -INFINITY ? 0.0 : LSC_VEXP_S;
        T[k] = 0.0;
        cT[k] = 0.0;
    }
    if (prev != NULL) {
        lsc_onepass_pend_start(prev, (n - 1 + LSC_COL_FOLD - 1) / LSC_COL_FOLD * (bv / W));
    }
    for (ptrdiff_t i0 = 1; i0 < n; i0 += LSC_COL_FOLD) {
        const ptrdiff_t rows = n - i0 < LSC_COL_FOLD ? n - i0 : LSC_COL_FOLD;
        ptrdiff_t pitch;
        const char *base = lsc_onepass_strip(x, sxn, sxi, i0, rows, b, (char *)g, bv, es,
                                             &pitch);
        const ptrdiff_t pfr = lsc_onepass_pf_rows(n, i0, rows, b * es, g != NULL);
        for (ptrdiff_t j = 0; j < b; j += W) {
            V bj = *(const V *)(B + j), mv = *(const V *)(m + j), ev = *(const V *)(E + j);
            V tv = *(const V *)(T + j), cv = *(const V *)(cT + j);
            V pv = LSC_SPLAT(V, 0.0);
            for (ptrdiff_t r = 0; r < rows; r++) {
                if (r < pfr) {
                    LSC_ONEPASS_PREFETCH(base + (r + LSC_COL_FOLD) * pitch + j * es);
                }
                const V v =
                    (V)lsc_op_loadn_d((const double *)(base + r * pitch) + j, b - j);
                if (lsc_onepass_step_f64(v, bj, &mv, &ev, &pv) &&
                    LSC_VANY(mv - bj > LSC_SPLAT(V, LSC_ONEPASS_REBASE))) {
                    double pa[W] __attribute__((aligned(64)));
                    *(V *)pa = pv;
                    *(V *)(m + j) = mv;
                    *(V *)(E + j) = ev;
                    *(V *)(T + j) = tv;
                    *(V *)(cT + j) = cv;
                    lsc_onepass_rebase_f64(B + j, m + j, E + j, pa, T + j, cT + j, W);
                    bj = *(const V *)(B + j);
                    ev = *(const V *)(E + j);
                    tv = *(const V *)(T + j);
                    cv = *(const V *)(cT + j);
                    pv = *(const V *)pa;
                }
                if ((r + 1) % LSC_ONEPASS_FOLD == 0 || r == rows - 1) {
                    /* Kahan */
                    const V yk = pv - cv;
                    const V tk = tv + yk;
                    cv = (tk - tv) - yk;
                    tv = tk;
                    pv = LSC_SPLAT(V, 0.0);
                }
            }
            *(V *)(T + j) = tv;
            *(V *)(cT + j) = cv;
            *(V *)(m + j) = mv;
            *(V *)(E + j) = ev;
            LSC_ONEPASS_TICK(prev);
        }
    }
    if (prev != NULL) {
        lsc_onepass_pend_finish(prev);
    }
    /* each column's log1p(s), s = T / E; NaN for the max where it is not finite or T
       is NaN; logsumexp's values into c first (y may overlap x) */
    const int lse = op == LSC_OP_LOGSUMEXP;
    for (ptrdiff_t k = 0; k < b; k++) {
        const double t = T[k] - cT[k];
        if (lse) {
            c[k] = !isfinite(m[k]) ? lsc_onepass_lse_nonfinite(x + k * sxi, sxn, n, 0, m[k])
                   : t != t        ? NAN
                                   : m[k] + lsc_log1p_sum(t / E[k], 0);
        }
        else if (!isfinite(m[k]) || t != t) {
            m[k] = NAN;
            c[k] = 0.0;
        }
        else {
            c[k] = lsc_log1p_sum(t / E[k], 0);
        }
    }
    if (self != NULL && !lse) {
        *self = (lsc_onepass_pend){x, y, sxn, sxi, syn, syi, n, b, op, stream, 1, 1,
                                   m, c, g, rb, scratch, 0, 0, 0, 1, 1};
        return 1;
    }
    lsc_onepass_out_f64(x, sxn, sxi, y, syn, syi, n, b, op, c, m, c, g, rb, stream, 0, n, 1);
    lsc_scratch_put(scratch);
    return 1;
}
#else
#define LSC_COLS_ONEPASS 0
static inline int lsc_onepass_n(ptrdiff_t n)
{
    (void)n;
    return 0;
}
static inline ptrdiff_t lsc_onepass_sub_width(ptrdiff_t n, ptrdiff_t es)
{
    (void)n;
    (void)es;
    return 0;
}
static inline int lsc_onepass_n_f64(ptrdiff_t n)
{
    (void)n;
    return 0;
}
#endif

#endif
