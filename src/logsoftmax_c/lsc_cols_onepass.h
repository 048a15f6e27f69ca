/*
 * Float columns in one pass along the rows (the AVX-512 build).
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

#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#define LSC_COLS_ONEPASS 1
/* columns of at least this many rows */
#define LSC_ONEPASS_MIN_N 4096
/* rows whose terms a lane adds up in float before adding them into double (a divisor
   of LSC_COL_FOLD) */
#define LSC_ONEPASS_FOLD 4

static inline int lsc_onepass_n(ptrdiff_t n)
{
    return n >= LSC_ONEPASS_MIN_N;
}

/* One row's step of a vector of 16 columns: x v, max *mv, the lanes' float partial sums
   *pv, their double sums t[0] (lanes 0-7) and t[1] (lanes 8-15) */
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
        _mm512_set1_ps((float)(LSC_VEXP_F32_NORMAL - LSC_VEXP_S_LN)), _CMP_NLT_UQ);
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
    const __mmask16 tail = (__mmask16)((1u << (b % 16)) - 1);
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
        for (ptrdiff_t j = 0; j < b; j += 16) {
            const __mmask16 lm = b - j >= 16 ? (__mmask16)0xffff : tail;
            __m512 mv = _mm512_load_ps(m + j), pv = _mm512_setzero_ps();
            __m512d t[2] = {_mm512_load_pd(T + j), _mm512_load_pd(T + j + 8)};
            for (ptrdiff_t r = 0; r < rows; r++) {
                const __m512 v = _mm512_maskz_loadu_ps(lm, (const float *)(base + r * pitch) + j);
                lsc_onepass_step(v, &mv, &pv, t);
                if ((r + 1) % LSC_ONEPASS_FOLD == 0 || r == rows - 1) {
                    t[0] = _mm512_add_pd(t[0], _mm512_cvtps_pd(_mm512_castps512_ps256(pv)));
                    t[1] = _mm512_add_pd(t[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(pv, 1)));
                    pv = _mm512_setzero_ps();
                }
            }
            _mm512_store_pd(T + j, t[0]);
            _mm512_store_pd(T + j + 8, t[1]);
            _mm512_store_ps(m + j, mv);
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
            if (h > 0) {
                const __mmask16 hm = (__mmask16)((1u << h) - 1);
                const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(hm, xf),
                                               _mm512_maskz_loadu_ps(hm, m));
                _mm512_mask_storeu_ps(yf, hm, _mm512_sub_ps(d, _mm512_maskz_loadu_ps(hm, c)));
            }
            for (j = h; j + 16 <= b; j += 16) {
                const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(xf + j), _mm512_loadu_ps(m + j));
                _mm512_stream_ps(yf + j, _mm512_sub_ps(d, _mm512_loadu_ps(c + j)));
            }
        }
        for (; j < b; j += 16) {
            const __mmask16 lm = b - j >= 16 ? (__mmask16)0xffff
                                             : (__mmask16)((1u << (b - j)) - 1);
            const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(lm, xf + j),
                                           _mm512_maskz_loadu_ps(lm, m + j));
            _mm512_mask_storeu_ps(yf + j, lm, _mm512_sub_ps(d, _mm512_maskz_loadu_ps(lm, c + j)));
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
