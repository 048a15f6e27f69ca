/*
 * Log-softmax kernels for one floating type.  Included by lsc_kernels.h once per type
 * with LSC_T (the type), LSC_SFX (name suffix), LSC_EXP (vectorisable exp) and
 * LSC_CHUNK (elements per row chunk) defined.
 *
 * Algorithm for one slice x[0..n) (a row, or a column of a block):
 *   m    = max_j x_j
 *   s    = sum over j of exp(x_j - m), leaving out ONE occurrence of the maximum
 *   y_j  = (x_j - m) - log1p(s)
 * Leaving out the maximum's term (which is exactly 1) and using log1p keeps the
 * dominant class's log-probability -log1p(s) accurate in relative terms when s is
 * tiny (Blanchard, Higham & Higham 2021), where log(1 + s) would round to 0.
 * Where the maximum dominates, the sum is accumulated without it by counting the
 * elements equal to m (x_j - m == 0 exactly iff x_j == m) instead of adding their
 * exp: s = rest + (count - 1).  Row chunks first try the plain sum (see
 * lsc_chunk_stats_contig); column blocks always count.
 *
 * Rows are cut into chunks of LSC_CHUNK elements at fixed positions; each chunk gives
 * (max, rest, count) and chunks are combined in index order.  The arithmetic is thus
 * the same whichever thread handles which chunk: results do not depend on the
 * number of threads.
 *
 * The same statistics feed three write passes (LSC_OP_*): log_softmax writes
 * (x_j - m) - log1p(s); softmax writes exp of that log-probability; logsumexp writes
 * m + log1p(s) once per slice, into an output whose stride along the slice is 0.
 * Contiguous rows of one chunk (the common case) take a shorter road with the same
 * arithmetic for log_softmax (lsc_log_softmax_row1), and for softmax compute each exp
 * once, as exp(x_j - m) / (1 + s) (lsc_softmax_row1): no less accurate, since the
 * rounding of x_j - m, not of the division, dominates the error of small
 * probabilities.
 *
 * Special values fall out of the arithmetic: a NaN makes its chunk's rest NaN; a +inf
 * maximum gives inf - inf = NaN; -inf entries give exp(-inf) = 0 and y = -inf.  A
 * slice with no finite maximum (only -inf and NaN) is all NaN.
 */

#define LSC_CAT_(a, b) a##_##b
#define LSC_CAT(a, b) LSC_CAT_(a, b)
#define LSC_FN(name) LSC_CAT(name, LSC_SFX)

/* ---- contiguous building blocks ------------------------------------------- */

/* the largest element, NaN left out.  Four independent accumulators (over the four
   quarters of the first 4q elements): one would chain every vector max on the
   previous one's latency.  The max is exact in any order. */
LSC_INLINE LSC_T LSC_FN(lsc_max)(const LSC_T *restrict x, ptrdiff_t n)
{
    LSC_T m0 = -INFINITY, m1 = -INFINITY, m2 = -INFINITY, m3 = -INFINITY;
    const ptrdiff_t w = LSC_SIMD_BYTES / (ptrdiff_t)sizeof(LSC_T);
    const ptrdiff_t q = n / (4 * w) * w;
    const LSC_T *x1 = x + q, *x2 = x + 2 * q, *x3 = x + 3 * q;
#pragma omp simd reduction(max:m0, m1, m2, m3)
    for (ptrdiff_t j = 0; j < q; j++) {
        m0 = x[j] > m0 ? x[j] : m0;
        m1 = x1[j] > m1 ? x1[j] : m1;
        m2 = x2[j] > m2 ? x2[j] : m2;
        m3 = x3[j] > m3 ? x3[j] : m3;
    }
#pragma omp simd reduction(max:m0)
    for (ptrdiff_t j = 4 * q; j < n; j++) {
        m0 = x[j] > m0 ? x[j] : m0;
    }
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    return m2 > m0 ? m2 : m0;
}

/* Sums run lane by lane: element j goes to lane j % W (W the vector width), each
 * lane adds LSC_COL_FOLD consecutive terms of its own in LSC_T, then folds that partial
 * sum into a double accumulator of its own with Kahan's compensation; the W lanes are
 * added in a fixed tree order at the end.  No lane adds more than a few terms in LSC_T,
 * so the error of a long sum stays that of a short one even where all the terms are
 * equal and their roundings do not cancel, and there is no horizontal reduction inside
 * the loop (without -ffast-math gcc reduces a vector's lanes one by one, in order).
 * The loops over the lanes are vectorised as a whole: one vector holds every lane. */
#define LSC_W (LSC_SIMD_BYTES / (ptrdiff_t)sizeof(LSC_T))

/* sum of the W lanes' (acc - comp), pairwise in a fixed order */
LSC_INLINE double LSC_FN(lsc_lanes_total)(double *acc, const double *comp)
{
    for (ptrdiff_t l = 0; l < LSC_W; l++) {
        acc[l] -= comp[l];
    }
    for (ptrdiff_t w = LSC_W / 2; w >= 1; w /= 2) {
        for (ptrdiff_t l = 0; l < w; l++) {
            acc[l] += acc[l + w];
        }
    }
    return acc[0];
}

/* Fetch the n elements after x[0..n) (in a C-contiguous array the next row, or chunk)
   while the arithmetic on x runs: the next max pass would otherwise wait for them.
   Prefetches do not fault past the end of the array. */
LSC_INLINE void LSC_FN(lsc_prefetch_next)(const LSC_T *x, ptrdiff_t n)
{
    for (ptrdiff_t k = 0; k < n; k += 64 / (ptrdiff_t)sizeof(LSC_T)) {
        __builtin_prefetch(x + n + k, 0, 3);
    }
}

/* acc[l], comp[l] += part[l] with Kahan's compensation, lane by lane */
LSC_INLINE void LSC_FN(lsc_lanes_fold)(double *acc, double *comp, const LSC_T *part)
{
#pragma omp simd
    for (ptrdiff_t l = 0; l < LSC_W; l++) {
        double t0 = (double)part[l] - comp[l];
        double t = acc[l] + t0;
        comp[l] = (t - acc[l]) - t0;
        acc[l] = t;
    }
}

/* sum of exp(x_j - m), storing in y[j] (y may be x) nothing (store 0), x_j - m (1) or
 * exp(x_j - m) (2).  With a store the output is written while the arithmetic runs, and
 * a last pass over the row touches only y, in L1.  `store` is a constant at each call:
 * the stores that do not apply compile away. */
LSC_INLINE double LSC_FN(lsc_sumexp_store)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m,
                                           int store)
{
    enum { V = LSC_COL_FOLD };
    double acc[LSC_W], comp[LSC_W];
    LSC_T part[LSC_W];
    for (ptrdiff_t l = 0; l < LSC_W; l++) {
        acc[l] = 0.0;
        comp[l] = 0.0;
    }
    ptrdiff_t j0 = 0;
    for (; j0 + V * LSC_W <= n; j0 += V * LSC_W) {
        const LSC_T *a = x + j0;
        LSC_T *b = y + j0;
#pragma omp simd
        for (ptrdiff_t l = 0; l < LSC_W; l++) {
            /* four chains of exp in flight: fewer leave the FMA units idle */
            LSC_T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (ptrdiff_t v = 0; v < V; v += 4) {
                LSC_T d0 = a[v * LSC_W + l] - m;
                LSC_T d1 = a[(v + 1) * LSC_W + l] - m;
                LSC_T d2 = a[(v + 2) * LSC_W + l] - m;
                LSC_T d3 = a[(v + 3) * LSC_W + l] - m;
                LSC_T e0 = LSC_EXP(d0);
                LSC_T e1 = LSC_EXP(d1);
                LSC_T e2 = LSC_EXP(d2);
                LSC_T e3 = LSC_EXP(d3);
                if (store) {
                    b[v * LSC_W + l] = store == 2 ? e0 : d0;
                    b[(v + 1) * LSC_W + l] = store == 2 ? e1 : d1;
                    b[(v + 2) * LSC_W + l] = store == 2 ? e2 : d2;
                    b[(v + 3) * LSC_W + l] = store == 2 ? e3 : d3;
                }
                s0 += e0;
                s1 += e1;
                s2 += e2;
                s3 += e3;
            }
            part[l] = (s0 + s1) + (s2 + s3);
        }
        LSC_FN(lsc_lanes_fold)(acc, comp, part);
    }
    /* the last, partial block: fewer than V terms per lane */
    LSC_T s = 0;
#pragma omp simd reduction(+:s)
    for (ptrdiff_t j = j0; j < n; j++) {
        LSC_T d = x[j] - m;
        LSC_T e = LSC_EXP(d);
        if (store) {
            y[j] = store == 2 ? e : d;
        }
        s += e;
    }
    return LSC_FN(lsc_lanes_total)(acc, comp) + (double)s;
}

/* sum of exp(x_j - m) */
LSC_INLINE double LSC_FN(lsc_sumexp)(const LSC_T *x, ptrdiff_t n, LSC_T m)
{
    return LSC_FN(lsc_sumexp_store)(x, NULL, n, m, 0);
}

/* sum of exp(x_j - m) over x_j != m, and the number of x_j == m.  When the max
 * dominates, the result -log1p(rest) is tiny and its relative accuracy is that of
 * the terms exp(x_j - m), whose error is the absolute error of d = x_j - m (near
 * d = -60 a float difference rounds at 2**-19).  That rounding error is recovered
 * exactly (Knuth's TwoSum: err = (x_j - m) - d) and applied to the term to first
 * order, exp(d + err) = exp(d) (1 + err), which the FMA rounds once. */
LSC_INLINE LSC_T LSC_FN(lsc_rest_term)(LSC_T v, LSC_T m, LSC_T *is_max)
{
    /* below lo exp(d) is 0 and err is not needed (-inf would make it NaN) */
    const LSC_T lo = LSC_EXP_LO;
    LSC_T d = v - m;
    LSC_T bb = d - v;
    LSC_T err = (v - (d - bb)) + (-m - bb);
    err = d > lo ? err : (LSC_T)0;
    LSC_T e = LSC_EXP(d);
    e = e + e * err;
    *is_max = d == 0 ? (LSC_T)1 : (LSC_T)0;
    return d == 0 ? (LSC_T)0 : e;
}

LSC_INLINE void LSC_FN(lsc_sumexp_rest)(const LSC_T *restrict x, ptrdiff_t n, LSC_T m,
                                        double *rest_out, double *count_out)
{
    enum { V = LSC_COL_FOLD };
    double acc[LSC_W], comp[LSC_W];
    LSC_T part[LSC_W], cnt[LSC_W];
    for (ptrdiff_t l = 0; l < LSC_W; l++) {
        acc[l] = 0.0;
        comp[l] = 0.0;
        cnt[l] = 0;
    }
    ptrdiff_t j0 = 0;
    for (; j0 + V * LSC_W <= n; j0 += V * LSC_W) {
        const LSC_T *a = x + j0;
#pragma omp simd
        for (ptrdiff_t l = 0; l < LSC_W; l++) {
            LSC_T s = 0, c = cnt[l], one;
            for (ptrdiff_t v = 0; v < V; v++) {
                s += LSC_FN(lsc_rest_term)(a[v * LSC_W + l], m, &one);
                c += one;
            }
            part[l] = s;
            cnt[l] = c;
        }
        LSC_FN(lsc_lanes_fold)(acc, comp, part);
    }
    LSC_T s = 0, c = 0;
#pragma omp simd reduction(+:s, c)
    for (ptrdiff_t j = j0; j < n; j++) {
        LSC_T one;
        s += LSC_FN(lsc_rest_term)(x[j], m, &one);
        c += one;
    }
    double count_total = (double)c;
    for (ptrdiff_t l = 0; l < LSC_W; l++) {
        count_total += (double)cnt[l];
    }
    *rest_out = LSC_FN(lsc_lanes_total)(acc, comp) + (double)s;
    *count_out = count_total;
}

/* The start of a contiguous one-chunk row: its max m and, if that is finite, the sum
 * of exp(x - m) into *total, with lsc_sumexp_store's `store` into y.  Returns 0 when
 * the max is not finite (the caller takes the general path). */
LSC_INLINE int LSC_FN(lsc_row1_sum)(const LSC_T *x, LSC_T *y, ptrdiff_t n, int store,
                                    LSC_T *m, double *total)
{
    *m = LSC_FN(lsc_max)(x, n);
    if (!(*m > -INFINITY && *m < INFINITY)) {
        return 0;
    }
    LSC_FN(lsc_prefetch_next)(x, n);
    *total = LSC_FN(lsc_sumexp_store)(x, y, n, *m, store);
    return 1;
}

/* log1p of the row's dominated sum from its plain sum `total`, as lsc_row's one-chunk
 * case has it: total - 1, or the recount without the max's terms when total < 2. */
LSC_INLINE double LSC_FN(lsc_row1_log)(const LSC_T *x, ptrdiff_t n, LSC_T m, double total)
{
    double rest = total - 1.0, count = 1.0;
    if (!(total >= 2.0)) {
        LSC_FN(lsc_sumexp_rest)(x, n, m, &rest, &count);
    }
    return lsc_log1p_sum(rest + (count - 1.0), sizeof(LSC_T) == sizeof(float));
}

/* softmax of one contiguous row of 1 <= n <= LSC_CHUNK elements with a finite max,
 * exp computed once: the sum pass stores exp(x_j - m), then y_j *= 1 / S.  S holds
 * the max's exact 1, so the dominant class's probability 1 / S and the small ones
 * exp(x_j - m) / S keep their relative accuracy; no recount of the dominated sum is
 * needed (that is only for the dominant log-probability -log1p(S - 1)).  Returns 0,
 * having written nothing, when the max is not finite. */
static int LSC_FN(lsc_softmax_row1)(const LSC_T *x, LSC_T *y, ptrdiff_t n)
{
    LSC_T m;
    double total;
    if (!LSC_FN(lsc_row1_sum)(x, y, n, 2, &m, &total)) {
        return 0;
    }
    const LSC_T f = (LSC_T)(1.0 / total);  /* NaN if a NaN took part */
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        y[j] *= f;
    }
    return 1;
}

/* log_softmax of one contiguous row of 1 <= n <= LSC_CHUNK elements with a finite
 * max: the arithmetic of lsc_row's one-chunk case (the same results, bit for bit),
 * with x_j - m stored by the sum pass and the offset subtracted in place.  The
 * dominated recount reads x again, so y may not be x.  Returns 0, having written
 * nothing, when the max is not finite. */
static int LSC_FN(lsc_log_softmax_row1)(const LSC_T *x, LSC_T *y, ptrdiff_t n)
{
    LSC_T m;
    double total;
    if (!LSC_FN(lsc_row1_sum)(x, y, n, 1, &m, &total)) {
        return 0;
    }
    const LSC_T c = (LSC_T)LSC_FN(lsc_row1_log)(x, n, m, total);
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        y[j] = y[j] - c;
    }
    return 1;
}

/* y = (x - m) - c; y may be x itself */
LSC_INLINE void LSC_FN(lsc_shift)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c)
{
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        y[j] = (x[j] - m) - c;
    }
}

/* y = exp((x - m) - c); y may be x itself */
LSC_INLINE void LSC_FN(lsc_shift_exp)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c)
{
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        y[j] = LSC_EXP((x[j] - m) - c);
    }
}

/* lsc_shift with non-temporal stores (y must not be x: the caller checks) */
static void LSC_FN(lsc_shift_stream)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c)
{
#if LSC_STREAM
    const ptrdiff_t w = LSC_SIMD_BYTES / (ptrdiff_t)sizeof(LSC_T);
    ptrdiff_t j = 0;
    if (((uintptr_t)y) % sizeof(LSC_T) == 0) {
        for (; j < n && ((uintptr_t)(y + j)) % LSC_SIMD_BYTES != 0; j++) {
            y[j] = (x[j] - m) - c;
        }
        LSC_CAT(lsc_v, LSC_SFX) vm = LSC_CAT(LSC_VSET1, LSC_SFX)(m);
        LSC_CAT(lsc_v, LSC_SFX) vc = LSC_CAT(LSC_VSET1, LSC_SFX)(c);
        for (; j + w <= n; j += w) {
            LSC_CAT(lsc_v, LSC_SFX) v = LSC_CAT(LSC_VLOADU, LSC_SFX)(x + j);
            v = LSC_CAT(LSC_VSUB, LSC_SFX)(LSC_CAT(LSC_VSUB, LSC_SFX)(v, vm), vc);
            LSC_CAT(LSC_VSTREAM, LSC_SFX)(y + j, v);
        }
        LSC_SFENCE();
    }
    for (; j < n; j++) {
        y[j] = (x[j] - m) - c;
    }
#else
    LSC_FN(lsc_shift)(x, y, n, m, c);
#endif
}

/* y[0..n) = t[0..n) with non-temporal stores where y is aligned to the element size
   (t is a small buffer in L1; the caller issues LSC_SFENCE() after its last call) */
LSC_INLINE void LSC_FN(lsc_stream_copy)(const LSC_T *t, LSC_T *y, ptrdiff_t n)
{
    ptrdiff_t j = 0;
#if LSC_STREAM
    const ptrdiff_t w = LSC_SIMD_BYTES / (ptrdiff_t)sizeof(LSC_T);
    if (((uintptr_t)y) % sizeof(LSC_T) == 0) {
        for (; j < n && ((uintptr_t)(y + j)) % LSC_SIMD_BYTES != 0; j++) {
            y[j] = t[j];
        }
        for (; j + w <= n; j += w) {
            LSC_CAT(LSC_VSTREAM, LSC_SFX)(y + j, LSC_CAT(LSC_VLOADU, LSC_SFX)(t + j));
        }
    }
#endif
    for (; j < n; j++) {
        y[j] = t[j];
    }
}

/* a chunk with no finite maximum: only -inf (contributes nothing) or a NaN (poisons) */
static lsc_stats LSC_FN(lsc_nonfinite_chunk)(const LSC_T *x, ptrdiff_t n, LSC_T m)
{
    lsc_stats st = {(double)m, 0.0, 0.0};
    for (ptrdiff_t j = 0; j < n; j++) {
        if (x[j] != x[j]) {
            st.rest = NAN;
            break;
        }
    }
    return st;
}

/* A chunk's statistics.  The plain sum S of exp(x_j - m) includes the max's exact 1,
 * and log(S) is as accurate as S: that serves every element but the max, whose
 * log-probability is -log1p(S - 1).  With S >= 2 that is still within a few ulps (the
 * cancellation in S - 1 costs a factor S / log(S) <= 2.9); below, the max dominates
 * and the rest must keep its own digits: the chunk (still in L1) is summed again,
 * without the max's terms. */
static inline lsc_stats LSC_FN(lsc_chunk_stats_contig)(const LSC_T *x, ptrdiff_t n)
{
    LSC_T m = LSC_FN(lsc_max)(x, n);
    /* the chunk is in L1 now and the sums ahead are arithmetic */
    LSC_FN(lsc_prefetch_next)(x, n);
    if (m == -INFINITY) {
        return LSC_FN(lsc_nonfinite_chunk)(x, n, m);
    }
    double total = LSC_FN(lsc_sumexp)(x, n, m);
    lsc_stats st = {(double)m, total - 1.0, 1.0};
    if (!(total >= 2.0)) {
        LSC_FN(lsc_sumexp_rest)(x, n, m, &st.rest, &st.count);
    }
    return st;
}

/* ---- strided access through a chunk-sized buffer ---------------------------- */

static inline void LSC_FN(lsc_gather)(const char *x, ptrdiff_t sx, ptrdiff_t n, LSC_T *buf)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        buf[j] = *(const LSC_T *)(x + j * sx);
    }
}

/* statistics of one chunk x[0..n), n <= LSC_CHUNK, at byte stride sx */
static lsc_stats LSC_FN(lsc_chunk_stats)(const char *x, ptrdiff_t sx, ptrdiff_t n)
{
    if (sx == (ptrdiff_t)sizeof(LSC_T)) {
        return LSC_FN(lsc_chunk_stats_contig)((const LSC_T *)x, n);
    }
    LSC_T buf[LSC_CHUNK];
    LSC_FN(lsc_gather)(x, sx, n, buf);
    return LSC_FN(lsc_chunk_stats_contig)(buf, n);
}

/* y[j] = (x[j] - m) - c (op LSC_OP_LOG_SOFTMAX) or exp of it (LSC_OP_SOFTMAX) for one
   chunk, any strides (y may alias x exactly); stream: use non-temporal stores where
   y is contiguous and not x */
static void LSC_FN(lsc_chunk_write)(const char *x, ptrdiff_t sx, char *y, ptrdiff_t sy,
                                    ptrdiff_t n, LSC_T m, LSC_T c, int stream, int op)
{
    if (sx == (ptrdiff_t)sizeof(LSC_T) && sy == (ptrdiff_t)sizeof(LSC_T)) {
        if (op == LSC_OP_SOFTMAX && stream && x != y) {
            LSC_T buf[LSC_CHUNK];
            LSC_FN(lsc_shift_exp)((const LSC_T *)x, buf, n, m, c);
            LSC_FN(lsc_stream_copy)(buf, (LSC_T *)y, n);
            LSC_SFENCE();
        }
        else if (op == LSC_OP_SOFTMAX) {
            LSC_FN(lsc_shift_exp)((const LSC_T *)x, (LSC_T *)y, n, m, c);
        }
        else if (stream && x != y) {
            LSC_FN(lsc_shift_stream)((const LSC_T *)x, (LSC_T *)y, n, m, c);
        }
        else {
            LSC_FN(lsc_shift)((const LSC_T *)x, (LSC_T *)y, n, m, c);
        }
        return;
    }
    LSC_T buf[LSC_CHUNK];
    LSC_FN(lsc_gather)(x, sx, n, buf);
    if (op == LSC_OP_SOFTMAX) {
        LSC_FN(lsc_shift_exp)(buf, buf, n, m, c);
    }
    else {
        LSC_FN(lsc_shift)(buf, buf, n, m, c);
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        *(LSC_T *)(y + j * sy) = buf[j];
    }
}

/* log-sum-exp of a slice from its combined {max, log1p(rest)}.  Without a finite max
   (only -inf, or a +inf) the statistics hold no sum: the slice is scanned again, and
   the result is NaN if it holds a NaN, else the max (-inf, or +inf, as SciPy). */
static LSC_T LSC_FN(lsc_lse_value)(const char *x, ptrdiff_t sx, ptrdiff_t n, const double *mc)
{
    double m = mc[0];
    if (m > -INFINITY && m < INFINITY) {
        return (LSC_T)(m + mc[1]);
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        LSC_T v = *(const LSC_T *)(x + j * sx);
        if (v != v) {
            return (LSC_T)NAN;
        }
    }
    return (LSC_T)m;
}

/* ---- whole rows ------------------------------------------------------------ */

static inline ptrdiff_t LSC_FN(lsc_nchunks)(ptrdiff_t n)
{
    return (n + LSC_CHUNK - 1) / LSC_CHUNK;
}

/* one row of n >= 1 elements: x at byte stride sx into y at byte stride sy */
static void LSC_FN(lsc_row)(const char *x, ptrdiff_t sx, char *y, ptrdiff_t sy, ptrdiff_t n,
                            int stream, int op)
{
    ptrdiff_t nc = LSC_FN(lsc_nchunks)(n);
    if (nc < 1) {
        return;
    }
    if (nc == 1 && sx == (ptrdiff_t)sizeof(LSC_T) && sy == (ptrdiff_t)sizeof(LSC_T) &&
        op != LSC_OP_LOGSUMEXP && !stream && (op == LSC_OP_SOFTMAX || x != y)) {
        /* a contiguous one-chunk row (rows of several chunks keep the chunk-by-chunk
           path, shared with the threads that split long rows) */
        if (op == LSC_OP_SOFTMAX) {
            /* exp once */
            if (LSC_FN(lsc_softmax_row1)((const LSC_T *)x, (LSC_T *)y, n)) {
                return;
            }
        }
        else {
            if (LSC_FN(lsc_log_softmax_row1)((const LSC_T *)x, (LSC_T *)y, n)) {
                return;
            }
        }
    }
    lsc_stats local[64];
    lsc_stats *st = nc <= 64 ? local : (lsc_stats *)malloc((size_t)nc * sizeof(lsc_stats));
    double mc[2];
    if (st == NULL) {
        /* out of memory for the chunk table: the row is still computed,
           as NaN, rather than crashing a worker thread */
        mc[0] = 0.0;
        mc[1] = NAN;
    }
    else {
        for (ptrdiff_t c = 0; c < nc; c++) {
            ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
            st[c] = LSC_FN(lsc_chunk_stats)(x + c * LSC_CHUNK * sx, sx, len);
        }
        lsc_combine(st, nc, mc, sizeof(LSC_T) == sizeof(float));
        if (st != local) {
            free(st);
        }
    }
    if (op == LSC_OP_LOGSUMEXP) {
        *(LSC_T *)y = LSC_FN(lsc_lse_value)(x, sx, n, mc);
        return;
    }
    for (ptrdiff_t c = 0; c < nc; c++) {
        ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
        LSC_FN(lsc_chunk_write)(x + c * LSC_CHUNK * sx, sx, y + c * LSC_CHUNK * sy, sy,
                                len, (LSC_T)mc[0], (LSC_T)mc[1], stream, op);
    }
}

/* One contiguous row for a cross-entropy gradient: y = softmax(x) * scale, and the
 * row's log-sum-exp into *lse, from one set of statistics.  Rows of one chunk with a
 * finite max take lsc_softmax_row1's road (exp once) with the scale folded into the
 * final factor, and the dominated sum recounted only for the log-sum-exp; the others
 * go through lsc_row. */
static void LSC_FN(lsc_softmax_scaled_row)(const LSC_T *x, LSC_T *y, ptrdiff_t n,
                                           LSC_T scale, LSC_T *lse)
{
    LSC_T m;
    double total;
    if (n <= LSC_CHUNK && LSC_FN(lsc_row1_sum)(x, y, n, 2, &m, &total)) {
        *lse = (LSC_T)((double)m + LSC_FN(lsc_row1_log)(x, n, m, total));
        const LSC_T f = (LSC_T)((double)scale / total);
#pragma omp simd
        for (ptrdiff_t j = 0; j < n; j++) {
            y[j] *= f;
        }
        return;
    }
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    LSC_FN(lsc_row)((const char *)x, es, (char *)lse, 0, n, 0, LSC_OP_LOGSUMEXP);
    LSC_FN(lsc_row)((const char *)x, es, (char *)y, es, n, 0, LSC_OP_SOFTMAX);
#pragma omp simd
    for (ptrdiff_t j = 0; j < n; j++) {
        y[j] *= scale;
    }
}

/* ---- column blocks: the reduced axis is not the contiguous one ---------------
 *
 * x is a block of n rows (byte stride sxn) by b <= LSC_BMAX columns (byte stride
 * sxi); the slices are the columns, and the inner loops run along the contiguous
 * columns, vectorised.  The rows are taken in chunks of `rows` (the caller's choice,
 * about LSC_COL_CHUNK_BYTES of a full-width block), so that each chunk's max and sum
 * passes hit L1: per column a running max, a running sum of exp(x - max) over the
 * elements below it (in double across chunks) and the count of elements equal to it;
 * when a chunk raises a column's max, the column's sum is rescaled.  A column's
 * arithmetic depends only on n and `rows`, not on b or on where the block starts: the
 * drivers may cut the columns into blocks as the threads need.
 */

LSC_INLINE void LSC_FN(lsc_cols_body)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi,
                                      char *y, ptrdiff_t syn, ptrdiff_t syi,
                                      ptrdiff_t n, ptrdiff_t b, ptrdiff_t rows, int op,
                                      int stream)
{
    LSC_T mx[LSC_BMAX], ms[LSC_BMAX], cm[LSC_BMAX], part[LSC_BMAX], count[LSC_BMAX];
    LSC_T off[LSC_BMAX];
    double acc[LSC_BMAX], comp[LSC_BMAX];
    const LSC_T lo = LSC_EXP_LO;
    if (rows < 1) {
        rows = 1;
    }
    for (ptrdiff_t k = 0; k < b; k++) {
        mx[k] = -INFINITY;
        ms[k] = 0;
        count[k] = 0;
        part[k] = 0;
        acc[k] = 0.0;
        comp[k] = 0.0;
    }
    for (ptrdiff_t j0 = 0; j0 < n; j0 += rows) {
        ptrdiff_t j1 = n - j0 < rows ? n : j0 + rows;
        for (ptrdiff_t k = 0; k < b; k++) {
            cm[k] = -INFINITY;
        }
        for (ptrdiff_t j = j0; j < j1; j++) {
            const char *xr = x + j * sxn;
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                LSC_T v = *(const LSC_T *)(xr + k * sxi);
                cm[k] = v > cm[k] ? v : cm[k];
            }
        }
        /* past the first chunks a column's max seldom grows: skip the rescale's exps
           when no column's did */
        int any_grow = 0;
#pragma omp simd reduction(|:any_grow)
        for (ptrdiff_t k = 0; k < b; k++) {
            any_grow |= cm[k] > mx[k];
        }
#pragma omp simd
        for (ptrdiff_t k = 0; k < (any_grow ? b : 0); k++) {
            /* a higher max: what was counted as equal to the old max, and the sum,
               are rescaled to the new one (from -inf: scale 0, all was 0) */
            int grow = cm[k] > mx[k];
            LSC_T d = mx[k] - cm[k];
            LSC_T bb = d - mx[k];
            LSC_T err = (mx[k] - (d - bb)) + (-cm[k] - bb);
            err = d > lo ? err : (LSC_T)0;
            LSC_T e = LSC_EXP(d);
            double scale = (double)(e + e * err);
            double a = grow ? (acc[k] + (double)count[k]) * scale : acc[k];
            comp[k] = grow ? 0.0 : comp[k];
            acc[k] = a;
            count[k] = grow ? (LSC_T)0 : count[k];
            mx[k] = grow ? cm[k] : mx[k];
            /* what is subtracted: while the max is still -inf, the column has seen
               only -inf (whose exp must come out 0, not exp(-inf + inf)) and NaN */
            ms[k] = mx[k] == -INFINITY ? (LSC_T)0 : mx[k];
        }
        /* each lane adds LSC_COL_FOLD terms in LSC_T, then folds them into double */
        for (ptrdiff_t jf = j0; jf < j1; jf += LSC_COL_FOLD) {
            ptrdiff_t jf1 = j1 - jf < LSC_COL_FOLD ? j1 : jf + LSC_COL_FOLD;
            for (ptrdiff_t j = jf; j < jf1; j++) {
                const char *xr = x + j * sxn;
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    /* the term with the rounding error of d, as lsc_sumexp_rest */
                    LSC_T v = *(const LSC_T *)(xr + k * sxi);
                    LSC_T d = v - ms[k];
                    LSC_T bb = d - v;
                    LSC_T err = (v - (d - bb)) + (-ms[k] - bb);
                    err = d > lo ? err : (LSC_T)0;
                    LSC_T e = LSC_EXP(d);
                    e = e + e * err;
                    LSC_T p = part[k] + (d == 0 ? (LSC_T)0 : e);
                    LSC_T c = count[k] + (d == 0 ? (LSC_T)1 : (LSC_T)0);
                    part[k] = p;  /* unconditional stores: no masked store needed */
                    count[k] = c;
                }
            }
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                double a = acc[k], c = comp[k];
                LSC_KAHAN_ADD(a, c, (double)part[k]);
                acc[k] = a;
                comp[k] = c;
                part[k] = 0;
            }
        }
    }
    if (op == LSC_OP_LOGSUMEXP) {
        for (ptrdiff_t k = 0; k < b; k++) {
            double mc[2] = {(double)mx[k],
                            lsc_log1p_f64(acc[k] + ((double)count[k] - 1.0))};
            *(LSC_T *)(y + k * syi) = LSC_FN(lsc_lse_value)(x + k * sxi, sxn, n, mc);
        }
        return;
    }
#pragma omp simd
    for (ptrdiff_t k = 0; k < b; k++) {
        /* lsc_combine for one chunk, vectorised over the columns */
        double m = (double)mx[k];
        double lse = lsc_log1p_f64(acc[k] + ((double)count[k] - 1.0));
        off[k] = (LSC_T)(m > -INFINITY && m < INFINITY ? lse : NAN);
    }
    if (stream) {
        /* each row of the block through an L1 buffer, then out with non-temporal
           stores (y's rows are contiguous here: syi is the element size) */
        LSC_T *t = part;
        for (ptrdiff_t j = 0; j < n; j++) {
            const char *xr = x + j * sxn;
            if (op == LSC_OP_SOFTMAX) {
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    t[k] = LSC_EXP((*(const LSC_T *)(xr + k * sxi) - mx[k]) - off[k]);
                }
            }
            else {
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    t[k] = (*(const LSC_T *)(xr + k * sxi) - mx[k]) - off[k];
                }
            }
            LSC_FN(lsc_stream_copy)(t, (LSC_T *)(y + j * syn), b);
        }
        LSC_SFENCE();
        return;
    }
    if (op == LSC_OP_SOFTMAX) {
        for (ptrdiff_t j = 0; j < n; j++) {
            const char *xr = x + j * sxn;
            char *yr = y + j * syn;
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                *(LSC_T *)(yr + k * syi) =
                    LSC_EXP((*(const LSC_T *)(xr + k * sxi) - mx[k]) - off[k]);
            }
        }
        return;
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        const char *xr = x + j * sxn;
        char *yr = y + j * syn;
#pragma omp simd
        for (ptrdiff_t k = 0; k < b; k++) {
            *(LSC_T *)(yr + k * syi) = (*(const LSC_T *)(xr + k * sxi) - mx[k]) - off[k];
        }
    }
}

static void LSC_FN(lsc_cols)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi,
                             char *y, ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                             ptrdiff_t rows, int op, int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    if (sxi == es && syi == es) {
        /* constant strides let gcc emit packed loads and stores */
        LSC_FN(lsc_cols_body)(x, sxn, es, y, syn, es, n, b, rows, op, stream);
    }
    else {
        LSC_FN(lsc_cols_body)(x, sxn, sxi, y, syn, syi, n, b, rows, op, 0);
    }
}

/* ---- tiles of short rows ---------------------------------------------------------
 *
 * Rows of n <= LSC_SMALL_N elements cost more in per-row overhead (loop set-up, one
 * log1p each) than in arithmetic.  g <= LSC_TILE such rows (row r at x + r * sxr,
 * elements at byte stride sx) are transposed into a buffer whose columns are the rows,
 * and go through the column kernel, vectorised across the rows.
 */
static void LSC_FN(lsc_rows_tile)(const char *x, ptrdiff_t sxr, ptrdiff_t sx,
                                  char *y, ptrdiff_t syr, ptrdiff_t sy,
                                  ptrdiff_t n, ptrdiff_t g, int op)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    LSC_T buf[LSC_SMALL_N * LSC_TILE];
    for (ptrdiff_t r = 0; r < g; r++) {
        const char *xr = x + r * sxr;
        for (ptrdiff_t j = 0; j < n; j++) {
            buf[j * g + r] = *(const LSC_T *)(xr + j * sx);
        }
    }
    LSC_FN(lsc_cols_body)((const char *)buf, g * es, es, (char *)buf, g * es, es, n, g, n, op,
                          0);
    /* logsumexp: one value per row, in the buffer's first line */
    ptrdiff_t nout = op == LSC_OP_LOGSUMEXP ? 1 : n;
    for (ptrdiff_t r = 0; r < g; r++) {
        char *yr = y + r * syr;
        for (ptrdiff_t j = 0; j < nout; j++) {
            *(LSC_T *)(yr + j * sy) = buf[j * g + r];
        }
    }
}

/* ---- gradients through one row -----------------------------------------------------
 * softmax == 0: r = g - exp(y) * sum(g), through y = log_softmax(x);
 * softmax == 1: r = y * (g - sum(g * y)), through y = softmax(x).
 * One reduction pass and one elementwise pass; r may be g or y. */

/* the row's sum, continued over n more contiguous elements (n a multiple of
   LSC_SUM_BLOCK except at the end of the row): blocks of LSC_SUM_BLOCK, Kahan in double */
LSC_INLINE void LSC_FN(lsc_backward_accumulate)(const LSC_T *g, const LSC_T *y, ptrdiff_t n,
                                                int softmax, double *total, double *comp)
{
    for (ptrdiff_t j0 = 0; j0 < n; j0 += LSC_SUM_BLOCK) {
        ptrdiff_t j1 = n - j0 < LSC_SUM_BLOCK ? n : j0 + LSC_SUM_BLOCK;
        LSC_T s = 0;
        if (softmax) {
#pragma omp simd reduction(+:s)
            for (ptrdiff_t j = j0; j < j1; j++) {
                s += g[j] * y[j];
            }
        }
        else {
#pragma omp simd reduction(+:s)
            for (ptrdiff_t j = j0; j < j1; j++) {
                s += g[j];
            }
        }
        LSC_KAHAN_ADD(*total, *comp, (double)s);
    }
}

LSC_INLINE void LSC_FN(lsc_backward_apply)(const LSC_T *g, const LSC_T *y, LSC_T *r,
                                           ptrdiff_t n, LSC_T sum, int softmax)
{
    if (softmax) {
#pragma omp simd
        for (ptrdiff_t j = 0; j < n; j++) {
            r[j] = y[j] * (g[j] - sum);
        }
    }
    else {
#pragma omp simd
        for (ptrdiff_t j = 0; j < n; j++) {
            r[j] = g[j] - LSC_EXP(y[j]) * sum;
        }
    }
}

static void LSC_FN(lsc_backward_row)(const LSC_T *g, const LSC_T *y, LSC_T *r, ptrdiff_t n,
                                     int softmax)
{
    double total = 0.0, comp = 0.0;
    LSC_FN(lsc_backward_accumulate)(g, y, n, softmax, &total, &comp);
    LSC_FN(lsc_backward_apply)(g, y, r, n, (LSC_T)total, softmax);
}

/* lsc_backward_row for a row at byte strides sgy (g and y) and sr (r), through
   chunk-sized buffers: the same arithmetic, so the same results, as a contiguous row */
static void LSC_FN(lsc_backward_row_strided)(const char *g, const char *y, char *r,
                                             ptrdiff_t sgy, ptrdiff_t sr, ptrdiff_t n,
                                             int softmax)
{
    LSC_T gb[LSC_CHUNK], yb[LSC_CHUNK];
    double total = 0.0, comp = 0.0;
    for (ptrdiff_t c0 = 0; c0 < n; c0 += LSC_CHUNK) {
        ptrdiff_t len = n - c0 < LSC_CHUNK ? n - c0 : LSC_CHUNK;
        LSC_FN(lsc_gather)(g + c0 * sgy, sgy, len, gb);
        LSC_FN(lsc_gather)(y + c0 * sgy, sgy, len, yb);
        LSC_FN(lsc_backward_accumulate)(gb, yb, len, softmax, &total, &comp);
    }
    for (ptrdiff_t c0 = 0; c0 < n; c0 += LSC_CHUNK) {
        ptrdiff_t len = n - c0 < LSC_CHUNK ? n - c0 : LSC_CHUNK;
        LSC_FN(lsc_gather)(g + c0 * sgy, sgy, len, gb);
        LSC_FN(lsc_gather)(y + c0 * sgy, sgy, len, yb);
        LSC_FN(lsc_backward_apply)(gb, yb, gb, len, (LSC_T)total, softmax);
        for (ptrdiff_t j = 0; j < len; j++) {
            *(LSC_T *)(r + (c0 + j) * sr) = gb[j];
        }
    }
}

/* The gradients along a strided slice, or across a block of b slices side by side
 * (the columns of a block, as lsc_cols): g and y share one set of byte strides, sn
 * along the slice and si between slices, r has its own (rn, ri); r may be g or y.  Each slice's sum is added up
 * in LSC_T over LSC_COL_FOLD elements at a time and in double across them, the same
 * for every block width; one pass for the sums, one for the result. */
static void LSC_FN(lsc_backward_cols)(const char *g, const char *y, char *r, ptrdiff_t sn,
                                      ptrdiff_t si, ptrdiff_t rn, ptrdiff_t ri, ptrdiff_t n,
                                      ptrdiff_t b, int softmax)
{
    double acc[LSC_BMAX];
    LSC_T part[LSC_BMAX], sum[LSC_BMAX];
    for (ptrdiff_t k = 0; k < b; k++) {
        acc[k] = 0.0;
    }
    for (ptrdiff_t j0 = 0; j0 < n; j0 += LSC_COL_FOLD) {
        ptrdiff_t j1 = n - j0 < LSC_COL_FOLD ? n : j0 + LSC_COL_FOLD;
        for (ptrdiff_t k = 0; k < b; k++) {
            part[k] = 0;
        }
        for (ptrdiff_t j = j0; j < j1; j++) {
            const char *gr = g + j * sn, *yr = y + j * sn;
            if (softmax) {
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    part[k] += *(const LSC_T *)(gr + k * si) * *(const LSC_T *)(yr + k * si);
                }
            }
            else {
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    part[k] += *(const LSC_T *)(gr + k * si);
                }
            }
        }
#pragma omp simd
        for (ptrdiff_t k = 0; k < b; k++) {
            acc[k] += (double)part[k];
        }
    }
    for (ptrdiff_t k = 0; k < b; k++) {
        sum[k] = (LSC_T)acc[k];
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        const char *gr = g + j * sn, *yr = y + j * sn;
        char *rr = r + j * rn;
        if (softmax) {
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                LSC_T yv = *(const LSC_T *)(yr + k * si);
                *(LSC_T *)(rr + k * ri) = yv * (*(const LSC_T *)(gr + k * si) - sum[k]);
            }
        }
        else {
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                LSC_T yv = *(const LSC_T *)(yr + k * si);
                *(LSC_T *)(rr + k * ri) = *(const LSC_T *)(gr + k * si) - LSC_EXP(yv) * sum[k];
            }
        }
    }
}

/* b slices side by side (lsc_backward_cols, with constant unit strides where the
   columns are contiguous), or one slice (b == 0: lsc_backward_row's arithmetic) */
static void LSC_FN(lsc_backward_block)(const char *g, const char *y, char *r, ptrdiff_t sn,
                                       ptrdiff_t si, ptrdiff_t rn, ptrdiff_t ri, ptrdiff_t n,
                                       ptrdiff_t b, int softmax)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    if (b == 0) {
        if (sn == es && rn == es) {
            LSC_FN(lsc_backward_row)((const LSC_T *)g, (const LSC_T *)y, (LSC_T *)r, n,
                                     softmax);
        }
        else {
            LSC_FN(lsc_backward_row_strided)(g, y, r, sn, rn, n, softmax);
        }
    }
    else if (si == es && ri == es) {
        LSC_FN(lsc_backward_cols)(g, y, r, sn, es, rn, es, n, b, softmax);
    }
    else {
        LSC_FN(lsc_backward_cols)(g, y, r, sn, si, rn, ri, n, b, softmax);
    }
}

#undef LSC_W
#undef LSC_FN
#undef LSC_CAT
#undef LSC_CAT_
