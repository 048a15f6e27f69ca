/*
 * Float columns in one pass along the rows (the AVX-512 and AVX2 builds).
 *
 * The column bands (lsc_cols_vec) read a band of two to eight vectors of each row, rows
 * a whole row of x apart: 128 to 512 bytes of each 4 KiB page, too little for the L2's
 * stream prefetcher, so every line comes through the core's own few L1 miss buffers
 * (4096x4096 along axis 0 moved about 11 GiB/s a core, where a copy moves 27).  Here a
 * block of columns (one a thread: _run_cols) goes down its rows once for its statistics
 * and once for its write, each row's part of the block read whole (8 KiB of each row of
 * 4096x4096 with 2 threads).  From 4096 rows: in shorter columns the max rises at too
 * many of the rows, each rise a double exp (docs/performance.md, the tenth Xeon round).
 *
 * Each column carries a running max m and the sum T, times 2**64, of exp(x - m) over
 * its elements but one occurrence of the max (Blanchard, Higham and Higham's form:
 * y = x - m - log1p(s)):
 * - an element not above m adds exp(x - m) 2**64 (lsc_vexp_f32s: normal down to
 *   2**-190 of the max), corrected for the rounding of x - m (its error exactly, by
 *   TwoSum: exp(fl(x - m) + err) = exp(fl(x - m)) (1 + err)) and for the exp's own
 *   one-step argument reduction, into a float partial sum of the lane, which every
 *   LSC_ONEPASS_FOLD rows go into T in double;
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
 * Used for log_softmax of float columns of lsc_onepass_n(n) rows (lsc_cols).
 */
#ifndef LSC_COLS_ONEPASS_H
#define LSC_COLS_ONEPASS_H

#if (defined(__AVX512F__) && LSC_SIMD_BYTES == 64) || \
    (defined(__AVX2__) && defined(__FMA__) && LSC_SIMD_BYTES == 32)
#define LSC_COLS_ONEPASS 1
/* columns of at least this many rows */
#define LSC_ONEPASS_MIN_N 4096
/* rows whose terms a lane adds up in float before adding them into double (a divisor
   of LSC_COL_FOLD) */
#define LSC_ONEPASS_FOLD 4

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
/* the lanes of p into double, added to t[0] (the low half) and t[1] */
static inline void lsc_op_fold(lsc_opvd *t, lsc_opv p)
{
    t[0] = _mm512_add_pd(t[0], _mm512_cvtps_pd(_mm512_castps512_ps256(p)));
    t[1] = _mm512_add_pd(t[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(p, 1)));
}
#define LSC_OP_SPLAT _mm512_set1_ps
#define LSC_OP_LOAD _mm512_load_ps
#define LSC_OP_LOADU _mm512_loadu_ps
#define LSC_OP_STORE _mm512_store_ps
#define LSC_OP_STREAM _mm512_stream_ps
#define LSC_OP_LOADD _mm512_load_pd
#define LSC_OP_STORED _mm512_store_pd

/* One row's step of a vector of columns: x v, max *mv, the lanes' float partial sums
   *pv, their double sums t[0] (the low half of the lanes) and t[1] */
static inline __attribute__((always_inline)) void lsc_onepass_step(__m512 v, __m512 *mv,
                                                                   __m512 *pv, __m512d *t)
{
    const __m512 m = *mv;
    const __m512 d = _mm512_sub_ps(v, m);
    const __mmask16 up = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_GT_OQ);
    /* the lanes whose term counts: x not -inf (whose x - m is NaN against a max of
       -inf), x - m not below the scaled exp's range (-inf too); NaN's count */
    const __mmask16 live = _mm512_mask_cmp_ps_mask(
        _mm512_cmp_ps_mask(v, _mm512_set1_ps(-INFINITY), _CMP_NEQ_UQ), d,
        _mm512_set1_ps(LSC_ONEPASS_LO), _CMP_NLT_UQ);
    /* err = (x - m) - d, exactly (TwoSum of x and -m), and the exp's own error from its
       one-step argument reduction, d LSC_VEXP_F32_CW (lsc_simd.h) */
    const __m512 bb = _mm512_sub_ps(d, v);
    const __m512 err = _mm512_fmadd_ps(
        d, _mm512_set1_ps(LSC_VEXP_F32_CW),
        _mm512_sub_ps(_mm512_sub_ps(v, _mm512_sub_ps(d, bb)), _mm512_add_ps(m, bb)));
    __m512 e = (__m512)lsc_vexp_f32s((lsc_vf32)d);
    e = _mm512_maskz_fmadd_ps(live, e, err, e);
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
static inline void lsc_op_fold(lsc_opvd *t, lsc_opv p)
{
    t[0] = _mm256_add_pd(t[0], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
    t[1] = _mm256_add_pd(t[1], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
}
#define LSC_OP_SPLAT _mm256_set1_ps
#define LSC_OP_LOAD _mm256_load_ps
#define LSC_OP_LOADU _mm256_loadu_ps
#define LSC_OP_STORE _mm256_store_ps
#define LSC_OP_STREAM _mm256_stream_ps
#define LSC_OP_LOADD _mm256_load_pd
#define LSC_OP_STORED _mm256_store_pd

/* the step as above, with the AVX2 exp (which clamps its argument: the lanes below its
   range are left out by the same compare) */
static inline __attribute__((always_inline)) void lsc_onepass_step(__m256 v, __m256 *mv,
                                                                   __m256 *pv, __m256d *t)
{
    const __m256 m = *mv;
    const __m256 d = _mm256_sub_ps(v, m);
    const __m256 up = _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256 live = _mm256_and_ps(
        _mm256_cmp_ps(v, _mm256_set1_ps(-INFINITY), _CMP_NEQ_UQ),
        _mm256_cmp_ps(d, _mm256_set1_ps(LSC_ONEPASS_LO), _CMP_NLT_UQ));
    const __m256 bb = _mm256_sub_ps(d, v);
    const __m256 err = _mm256_fmadd_ps(
        d, _mm256_set1_ps(LSC_VEXP_F32_CW),
        _mm256_sub_ps(_mm256_sub_ps(v, _mm256_sub_ps(d, bb)), _mm256_add_ps(m, bb)));
    __m256 e = (__m256)lsc_vexp_f32s((lsc_vf32)d);
    e = _mm256_and_ps(live, _mm256_fmadd_ps(e, err, e));
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

/* A column block of n rows (lsc_onepass_n(n)) by b columns of float x (byte strides sxn
 * between rows, sxi between columns) into y (syn, syi); y may be x.  stream: y's rows
 * written with non-temporal stores from their first 64-byte boundary.  Returns 0, having
 * done nothing, if its scratch cannot be had. */
static int lsc_cols_onepass_f32(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(float);
    const ptrdiff_t bv = (b + 15) / 16 * 16;
    const int gather = sxi != es;
    /* m, c (float), T (double), and for strided columns a strip's rows gathered */
    const size_t need = (size_t)bv * (4 + 4 + 8) + (gather ? (size_t)LSC_COL_FOLD * bv * 4 : 0);
    char *scratch = (char *)lsc_scratch_get(need);
    if (scratch == NULL) {
        return 0;
    }
    float *m = (float *)scratch;
    float *c = m + bv;
    double *T = (double *)(c + bv);
    float *g = gather ? (float *)(T + bv) : NULL;
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
    /* strips of LSC_COL_FOLD rows from row 1: each vector of columns down the strip,
       its partial sums then added into T */
    for (ptrdiff_t i0 = 1; i0 < n; i0 += LSC_COL_FOLD) {
        const ptrdiff_t rows = n - i0 < LSC_COL_FOLD ? n - i0 : LSC_COL_FOLD;
        const char *base = x + i0 * sxn;
        ptrdiff_t pitch = sxn;
        if (gather) {
            for (ptrdiff_t r = 0; r < rows; r++) {
                const char *xr = base + r * sxn;
                float *gr = g + r * bv;
                for (ptrdiff_t k = 0; k < b; k++) {
                    gr[k] = *(const float *)(xr + k * sxi);
                }
            }
            base = (const char *)g;
            pitch = bv * es;
        }
        for (ptrdiff_t j = 0; j < b; j += LSC_OPW) {
            lsc_opv mv = LSC_OP_LOAD(m + j), pv = LSC_OP_SPLAT(0.0f);
            lsc_opvd t[2] = {LSC_OP_LOADD(T + j), LSC_OP_LOADD(T + j + LSC_OPW / 2)};
            for (ptrdiff_t r = 0; r < rows; r++) {
                const lsc_opv v = lsc_op_loadn((const float *)(base + r * pitch) + j, b - j);
                lsc_onepass_step(v, &mv, &pv, t);
                if ((r + 1) % LSC_ONEPASS_FOLD == 0 || r == rows - 1) {
                    lsc_op_fold(t, pv);
                    pv = LSC_OP_SPLAT(0.0f);
                }
            }
            LSC_OP_STORED(T + j, t[0]);
            LSC_OP_STORED(T + j + LSC_OPW / 2, t[1]);
            LSC_OP_STORE(m + j, mv);
        }
    }
    /* each column's log1p(s); NaN for the max where it is not finite or T is NaN (the
       whole column NaN) */
    for (ptrdiff_t k = 0; k < b; k++) {
        const double t = T[k];
        if (!isfinite(m[k]) || t != t) {
            m[k] = NAN;
            c[k] = 0.0f;
        }
        else {
            c[k] = (float)lsc_log1p_sum(t * (1.0 / LSC_VEXP_S), 1);
        }
    }
    /* y = (x - m) - c, row by row */
    for (ptrdiff_t i = 0; i < n; i++) {
        const char *xr = x + i * sxn;
        char *yr = y + i * syn;
        if (gather || syi != es || ((uintptr_t)yr) % es != 0) {
            for (ptrdiff_t k = 0; k < b; k++) {
                const float d = *(const float *)(xr + k * sxi) - m[k];
                *(float *)(yr + k * syi) = d - c[k];
            }
            continue;
        }
        const float *xf = (const float *)xr;
        float *yf = (float *)yr;
        ptrdiff_t j = 0;
        if (stream) {
            /* up to the row's first 64-byte boundary with plain stores, then whole
               vectors streamed */
            ptrdiff_t h = (ptrdiff_t)((64 - ((uintptr_t)yf) % 64) % 64) / es;
            h = h < b ? h : b;
            for (; j < h; j += LSC_OPW) {
                lsc_op_storen(yf + j,
                              lsc_op_loadn(xf + j, h - j) - lsc_op_loadn(m + j, h - j) -
                                  lsc_op_loadn(c + j, h - j),
                              h - j);
            }
            for (j = h; j + LSC_OPW <= b; j += LSC_OPW) {
                LSC_OP_STREAM(yf + j, LSC_OP_LOADU(xf + j) - LSC_OP_LOADU(m + j) -
                                          LSC_OP_LOADU(c + j));
            }
        }
        for (; j < b; j += LSC_OPW) {
            lsc_op_storen(yf + j,
                          lsc_op_loadn(xf + j, b - j) - lsc_op_loadn(m + j, b - j) -
                              lsc_op_loadn(c + j, b - j),
                          b - j);
        }
    }
    if (stream) {
        LSC_SFENCE();
    }
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
#endif

#endif
