/*
 * Log-softmax kernels for one floating type.  Included by lsc_kernels.h once per type
 * with LSC_T (the type), LSC_SFX (name suffix), LSC_EXP (vectorisable exp), LSC_CHUNK
 * (elements per row chunk) and the vector parameters (LSC_V ..., see lsc_kernels.h)
 * defined; the end of this file undefines them.
 *
 * Algorithm for one slice x[0..n) (a row, or a column of a block):
 *   m    = max_j x_j
 *   s    = sum over j of exp(x_j - m), leaving out ONE occurrence of the maximum
 *   y_j  = (x_j - m) - log1p(s)
 * Leaving out the maximum's term (which is exactly 1) and using log1p keeps the
 * dominant class's log-probability -log1p(s) accurate in relative terms when s is
 * tiny (Blanchard, Higham & Higham 2021), where log(1 + s) would round to 0.
 * Contiguous runs first add up the whole sum S = 1 + s (lsc_vsums, the exps kept in
 * a buffer).  Where the maximum dominates (S < 2), a second pass over the buffer
 * (lsc_vdominated) adds the sum again without the maximum, by counting the elements
 * equal to m (x_j - m == 0 exactly iff x_j == m) instead of adding their exp: s = rest
 * + (count - 1).  Where s is small (below LSC_DOM_CORRECT_BELOW, lsc_vstats) the rest
 * also gets the rounding errors of the differences x_j - m back to first order, so
 * that -log1p(s) keeps its relative accuracy for non-integer scores too.  Elsewhere
 * s = S - 1.  The column kernels count in their one pass; they add the correction
 * in it too (the same TwoSum) for short columns, and for columns of
 * LSC_COL_LIGHT_MIN_N rows and more only where s is below LSC_DOM_CORRECT_BELOW
 * (lsc_band_stats).
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
 * arithmetic for log_softmax (lsc_log_softmax_row1, and for many such rows the
 * pipeline lsc_log_softmax_rows), and for softmax compute each exp once, as
 * exp(x_j - m) / S (lsc_softmax_row1): no less accurate, since the
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

/* ---- contiguous building blocks ------------------------------------------- *
 * Contiguous runs are handled whole-vector (lsc_simd.h): LSC_W elements per vector,
 * LSC_U vectors carried through the exp-sum loop side by side. */
#define LSC_W (LSC_SIMD_BYTES / (ptrdiff_t)sizeof(LSC_T))
#define LSC_U 4
/* (lsc_slot) a run whose sum goes plain: no slot for its max */
#define LSC_SLOT_PLAIN LSC_U
#define LSC_VLOAD(p) (*(const LSC_VU *)(p))
/* a vector of type VT from p, unaligned */
#define LSC_VLOAD_T(VT, p) \
    ({ VT v_; memcpy(&v_, (p), sizeof v_); v_; })
/* elements in a cache line */
#define LSC_LINE_T (64 / (ptrdiff_t)sizeof(LSC_T))
/* the rows of a band that lsc_band_emit_block writes at a time */
#define LSC_EMIT_ROWS 8
#define LSC_VSTORE(p, v) (*(LSC_VU *)(p) = (v))
/* a whole vector to p, aligned to LSC_SIMD_BYTES, with a non-temporal store where the
   target has them (the caller issues LSC_SFENCE() after its last one) */
#if LSC_STREAM
#define LSC_VSTREAM_A(p, v) \
    LSC_CAT(LSC_VSTREAM, LSC_SFX)((LSC_T *)(p), (LSC_CAT(lsc_v, LSC_SFX))(v))
#else
#define LSC_VSTREAM_A(p, v) LSC_VSTORE(p, v)
#endif
/* the dominated sums below which lsc_vstats corrects for the rounding of x_j - m */
#define LSC_DOM_CORRECT_BELOW 0.0625

/* the elements before y's first vector boundary (y aligned to its element size) */
static inline ptrdiff_t LSC_FN(lsc_to_boundary)(const void *y)
{
    const uintptr_t a = (uintptr_t)y;
    return (ptrdiff_t)((LSC_SIMD_BYTES - a % LSC_SIMD_BYTES) % LSC_SIMD_BYTES / sizeof(LSC_T));
}

/* all bits set in the lanes from lane l on (0 <= l <= LSC_W), clear before it */
LSC_INLINE LSC_V LSC_FN(lsc_lanes_from)(ptrdiff_t l)
{
    typedef LSC_V V;
    V io;
    for (int i = 0; i < LSC_W; i++) {
        io[i] = (LSC_T)i;
    }
    return (V)(io >= LSC_SPLAT(V, (LSC_T)l));
}

/* the largest element, NaN left out (a NaN fails every `>`).  Four independent
   accumulators: one would chain every vector max on the previous one's latency.  A
   tail shorter than a vector is covered by reading the last LSC_W elements again.
   The max is exact in any order. */
LSC_INLINE LSC_T LSC_FN(lsc_max_lanes)(const LSC_T *x, ptrdiff_t n, LSC_V *lm)
{
    typedef LSC_V V;
    const V ninf = LSC_SPLAT(V, -INFINITY);
    V m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    ptrdiff_t j = 0;
    for (; j + 4 * LSC_W <= n; j += 4 * LSC_W) {
        V a = LSC_VLOAD(x + j), b = LSC_VLOAD(x + j + LSC_W);
        V c = LSC_VLOAD(x + j + 2 * LSC_W), d = LSC_VLOAD(x + j + 3 * LSC_W);
        m0 = LSC_VMAX(a, m0);
        m1 = LSC_VMAX(b, m1);
        m2 = LSC_VMAX(c, m2);
        m3 = LSC_VMAX(d, m3);
    }
    if (lm != NULL) {
        lm[0] = m0;
        lm[1] = m1;
        lm[2] = m2;
        lm[3] = m3;
    }
    for (; j + LSC_W <= n; j += LSC_W) {
        V a = LSC_VLOAD(x + j);
        m0 = LSC_VMAX(a, m0);
    }
    if (j < n && n >= LSC_W) {
        V a = LSC_VLOAD(x + n - LSC_W);
        m1 = LSC_VMAX(a, m1);
        j = n;
    }
    m0 = LSC_VMAX(m1, m0);
    m2 = LSC_VMAX(m3, m2);
    m0 = LSC_VMAX(m2, m0);
    LSC_T m = LSC_HMAX(m0);
    for (; j < n; j++) {
        m = x[j] > m ? x[j] : m;
    }
    return m;
}

LSC_INLINE LSC_T LSC_FN(lsc_max)(const LSC_T *x, ptrdiff_t n)
{
    return LSC_FN(lsc_max_lanes)(x, n, NULL);
}

/* The slot of a run x[0..n) of max m for its sums (lsc_vsums3w), from the maxima lm of
 * the lanes of their loop (the elements x[j], j below the last multiple of
 * LSC_U * LSC_W in the run, with j mod (LSC_U * LSC_W) in [u W, (u + 1) W) for lm[u]:
 * lsc_max_lanes), and *b, a lower bound of the run's exp-sum from the W maxima of
 * lm[0..LSC_U) folded together (one term each of as many elements): 2 where each is
 * within LSC_BOUND_NEAR of m (the terms of the W - 1 lanes other than the max's add
 * up to more than 1; from LSC_BOUND_LANES_MIN_N elements on), else the sum of their
 * exps (from LSC_BOUND_MIN_N on), else 0.  LSC_SLOT_PLAIN where *b >= 2: the sum
 * cannot be dominated, and goes without the max's slot; else the first u whose lanes
 * hold m (0 where none does: the max only in the run's end).  A function of the run's
 * values alone, whichever loop took its max. */
LSC_INLINE int LSC_FN(lsc_slot)(const LSC_V *lm, LSC_T m, ptrdiff_t n, LSC_T *b)
{
    typedef LSC_V V;
    const V c = LSC_VMAX(LSC_VMAX(lm[3], lm[2]), LSC_VMAX(lm[1], lm[0]));
    const V near = LSC_SPLAT(V, m - (LSC_T)LSC_BOUND_NEAR(LSC_W));
    const V vm = LSC_SPLAT(V, m);
#if defined(LSC_MASK_ADD)
    /* with mask registers, from the compares' masks themselves (LSC_VANY moves each
       into a vector and tests that), the equal lanes of the LSC_U vectors side by side
       in one word, whose lowest set bit is in the slot's lanes (none: 64, slot 0).
       Rows of 384 floats 0.965 of the time (Zen 4, 1 thread), 256 0.98. */
    const int all_near = n >= LSC_BOUND_LANES_MIN_N && n >= LSC_U * LSC_W &&
                         LSC_CMPNLT_MASK(c, near) == (LSC_MASK_T)((1u << LSC_W) - 1u);
    uint64_t eq = 0;
    for (int u = 0; u < LSC_U; u++) {
        eq |= (uint64_t)LSC_CMPEQ_MASK(lm[u], vm) << (u * LSC_W);
    }
    const int slot = (int)(_tzcnt_u64(eq) / LSC_W) % LSC_U;
#else
    const int all_near = n >= LSC_BOUND_LANES_MIN_N && n >= LSC_U * LSC_W &&
                         !LSC_VANY((LSC_VI)(c < near));
    /* without branches (the slot of one row has nothing to do with the next's: a loop
       that returned at the first match took 1.2 times as long on rows of 128 floats) */
    unsigned bits = 1u << LSC_U;
    for (int u = 0; u < LSC_U; u++) {
        bits |= (unsigned)LSC_VANY((LSC_VI)(lm[u] == vm)) << u;
    }
    const int slot = (int)(__builtin_ctz(bits) % LSC_U);
#endif
    *b = all_near ? 2
         : n < LSC_BOUND_MIN_N ? 0
                               : (LSC_T)LSC_WIDE_SUM(LSC_VEXP(c - LSC_SPLAT(V, m)));
    return *b >= 2 ? LSC_SLOT_PLAIN : slot;
}

/* the max of x[0..n) (lsc_max) and its slot (lsc_slot) */
LSC_INLINE LSC_T LSC_FN(lsc_max_slot)(const LSC_T *x, ptrdiff_t n, int *us)
{
    LSC_V lm[LSC_U];
    LSC_T b;
    const LSC_T m = LSC_FN(lsc_max_lanes)(x, n, lm);
    *us = LSC_FN(lsc_slot)(lm, m, n, &b);
    return m;
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

/* acc, comp += p lane by lane in double (LSC_NVD vectors), with Kahan's compensation */
LSC_INLINE void LSC_FN(lsc_vfold)(LSC_V p, lsc_vf64 *acc, lsc_vf64 *comp)
{
    for (int k = 0; k < LSC_NVD; k++) {
        lsc_vf64 t0 = LSC_TO_VD(p, k) - comp[k];
        lsc_vf64 t = acc[k] + t0;
        comp[k] = (t - acc[k]) - t0;
        acc[k] = t;
    }
}

/* lsc_vfold of the LSC_U partial sums of a block of lsc_vsums's loop (or of the
   dominated pass) that ends at j: the first block's fold, into zeros, is the sums
   themselves (what lsc_vfold gives there, without its arithmetic) */
LSC_INLINE void LSC_FN(lsc_vfold_block)(const LSC_V *part, lsc_vf64 *acc, lsc_vf64 *comp,
                                        ptrdiff_t j)
{
    const LSC_V p = (part[0] + part[1]) + (part[2] + part[3]);
    if (j > LSC_FOLD * LSC_U * LSC_W) {
        LSC_FN(lsc_vfold)(p, acc, comp);
        return;
    }
    for (int k = 0; k < LSC_NVD; k++) {
        acc[k] = LSC_TO_VD(p, k);
    }
}

/* lsc_vfold of p + q, where q (the sums of lsc_vsums3w's first slot, less their start of
   1) may hold whole terms of 1 besides small ones; first: acc and comp are still zero
   (the fold is then the sum itself: the same bits, a shorter chain).  For double, q's
   nearest integers go to kacc (an exact sum), the rest, q - round(q) (exact, and no
   larger than q's terms other than 1), joins p lane by lane in double: so the small
   terms keep their digits beside the 1s in double as in LSC_T.  For float, q joins p
   whole (kacc is left as it is): two floats add exactly in double unless their scales
   lie more than 2**29 apart, and then round at 2**-53 of the larger.  The S - 1 that
   this serves needs the digits of the small terms only where it is at least
   LSC_DOM_CORRECT_BELOW (a smaller one is added up again: lsc_vstats), so its error
   stays below 2**-47 of it, far inside a float's.  The chain after a row's loop, which
   no other work of the row pipeline hides, is that much shorter: rows of 384 floats
   of scores a standard normal times 4, which all take this loop, 0.94 of the time
   (Zen 4, 1 thread; 256 floats 0.91). */
LSC_INLINE void LSC_FN(lsc_vfold2)(LSC_V p, LSC_V q, lsc_vf64 *acc, lsc_vf64 *comp,
                                   lsc_vf64 *kacc, const int first)
{
    if (sizeof(LSC_T) == sizeof(float)) {
        (void)kacc;
        for (int k = 0; k < LSC_NVD; k++) {
            if (first) {
                acc[k] = LSC_TO_VD(p, k) + LSC_TO_VD(q, k);
                continue;
            }
            lsc_vf64 t0 = (LSC_TO_VD(p, k) + LSC_TO_VD(q, k)) - comp[k];
            lsc_vf64 t = acc[k] + t0;
            comp[k] = (t - acc[k]) - t0;
            acc[k] = t;
        }
        return;
    }
    /* round to the nearest integer by the shifter 1.5 * 2**52, |q| < 2**51 */
    const LSC_V sh = LSC_SPLAT(LSC_V, (LSC_T)6755399441055744.0);
    const LSC_V kq = (q + sh) - sh;
    const LSC_V f = q - kq;
    for (int k = 0; k < LSC_NVD; k++) {
        if (first) {
            acc[k] = LSC_TO_VD(p, k) + LSC_TO_VD(f, k);
            kacc[k] = LSC_TO_VD(kq, k);
            continue;
        }
        lsc_vf64 t0 = (LSC_TO_VD(p, k) + LSC_TO_VD(f, k)) - comp[k];
        lsc_vf64 t = acc[k] + t0;
        comp[k] = (t - acc[k]) - t0;
        acc[k] = t;
        kacc[k] += LSC_TO_VD(kq, k);
    }
}

/* the lane sum of lsc_vfold's acc - comp (the upper half's lanes onto the lower's
   for a float vector's, then a fixed tree) */
LSC_INLINE double LSC_FN(lsc_vfold_sum)(const lsc_vf64 *acc, const lsc_vf64 *comp)
{
    lsc_vf64 a = acc[0] - comp[0];
    for (int k = 1; k < LSC_NVD; k++) {
        a += acc[k] - comp[k];
    }
    return lsc_hsum_vf64(a);
}

/* err = (v - m) - d for d = fl(v - m), nm = -m, recovered exactly, plus the relative
 * error of the vector exp where it has one (LSC_VEXP_CW): see lsc_vdominated_step */
LSC_INLINE LSC_V LSC_FN(lsc_vdiff_err)(LSC_V v, LSC_V d, LSC_V nm)
{
#if defined(LSC_VABSMAX)
    LSC_V big = LSC_VABSMAX(v, nm), small = LSC_VABSMIN(v, nm);
    LSC_V err = small - (d - big);
#else
    LSC_V bb = d - v;
    LSC_V err = (v - (d - bb)) + (nm - bb);
#endif
#if defined(LSC_VEXP_CW)
    err = d * LSC_SPLAT(LSC_V, LSC_VEXP_CW) + err;  /* and the exp's own (lsc_simd.h) */
#endif
    return err;
}

/* corr + ev * err, leaving out the lanes where ev < LSC_CORR_MIN (a scaled term whose
   correction would be subnormal: each such product cost a microcode assist, most of
   why log_softmax of scores a standard normal times 64, every row dominated, took 2.7
   (AVX-512) to 4.2 (AVX2) times its time on normal scores; those corrections are far
   below an ulp of any normal sum); with guard, also those where ev == 0 (whose err
   may be NaN, from a -inf), which AVX-512's mask leaves out anyway.  The lanes left
   out never form their product. */
LSC_INLINE LSC_V LSC_FN(lsc_vcorr_add)(LSC_V ev, LSC_V err, LSC_V corr, const int guard)
{
    const LSC_V lo = LSC_SPLAT(LSC_V, (LSC_T)LSC_CORR_MIN);
#if defined(LSC_MASK_FMA)
    (void)guard;
    return LSC_MASK_FMA(ev, err, corr, LSC_CMPNLT_MASK(ev, lo));
#else
    /* (a NaN lane kept, as with the mask) */
    const LSC_V evk = (LSC_V)((LSC_VI)ev & ~(LSC_VI)(ev < lo));
    if (guard) {
        return corr + (LSC_V)((LSC_VI)(evk * err) & ~(LSC_VI)(ev == LSC_SPLAT(LSC_V, 0)));
    }
    return corr + evk * err;
#endif
}

/* one vector of the dominated pass (lsc_vdominated): adds ev = exp(v - m) to *part
 * where v != m (a NaN lane is added), and ev * err to *corr, err = (v - m) - fl(v - m)
 * recovered exactly, plus the relative error of the vector exp where it has one
 * (LSC_VEXP_CW); counts the lanes where v == m: as -1 each in *cnt, or with AVX-512
 * (mask registers) as a number in *neq.  err is Knuth's TwoSum, or with AVX-512
 * Dekker's Fast2Sum on the operands ordered by magnitude (vrangeps), one operation
 * fewer.  A lane with v = -inf has ev = 0 and a NaN err: with guard, lanes whose exp
 * is 0 add nothing to *corr; without, such a lane makes *corr NaN (and lsc_vdominated
 * goes again with guard), and every other lane adds the same as with guard. */
LSC_INLINE void LSC_FN(lsc_vdominated_step)(LSC_V v, LSC_V ev, LSC_V vm, LSC_V nm,
                                            LSC_V *part, LSC_V *corr, LSC_VI *cnt,
                                            ptrdiff_t *neq, const int guard)
{
    /* a max's lane: d == 0 */
    LSC_V d = v - vm;
    const LSC_V at_max = LSC_SPLAT(LSC_V, (LSC_T)0);
#if defined(LSC_MASK_ADD)
    (void)cnt;
    LSC_MASK_T ne = LSC_CMPNEQ_MASK(d, at_max);
    *part = LSC_MASK_ADD(*part, ne, *part, ev);
    *neq += LSC_W - __builtin_popcount((unsigned)ne);
#else
    (void)neq;
    LSC_VI z = (LSC_VI)(d == at_max);
    *part += (LSC_V)((LSC_VI)ev & ~z);
    *cnt += z;
#endif
    LSC_V err = LSC_FN(lsc_vdiff_err)(v, d, nm);
    *corr = LSC_FN(lsc_vcorr_add)(ev, err, *corr, guard);
}

/* The sum S of exp(x_j - m) over a contiguous run x[0..n) against its finite max m,
 * the max's terms included (each exactly 1), and e[j] = exp(x_j - m) (e may be x),
 * in one pass.  Each lane adds up to LSC_FOLD terms (plus a few at the end) in
 * LSC_T, then folds them into a double accumulator of its own with Kahan's
 * compensation; the lanes are added in a fixed tree at the end.  No lane adds more
 * than a few terms in LSC_T, so the error of a long sum stays that of a short one
 * even where all the terms are equal and their roundings do not cancel.  The last
 * partial vector is padded with -inf (whose terms are 0): a masked load with
 * AVX-512, a buffer otherwise.  A NaN makes S NaN.
 *
 * The max's term of 1 would cost the small terms that its lane adds after it their
 * digits (a lane's sum near 1 rounds at 2**-24 for float), and with them the digits
 * of S - 1 that the dominant element's log-probability -log1p(S - 1) needs where S
 * is below 2.  So the loop's first vector of each step, whose sums start at 1 and go
 * on with the rounding error of each addition kept aside (Fast2Sum, exact: the sum
 * is at least 1, no term is above 1) and join the others' in double (less the 1,
 * exactly: lsc_vfold2), takes the slot us of the step that holds the max (lsc_slot:
 * a function of the run's values alone); the others take the rest in order, and the
 * run's end (after the last whole step) goes the same way as the first vector.  S - 1
 * then keeps the accuracy of a sum without the 1 (for float, within 2**-47 of it where
 * lsc_vstats takes it: lsc_vfold2).  Three operations for
 * one vector in four, where a loop that added up the terms other than 1 besides the
 * sum (a compare, an and-not and an add on every vector), which the rows that might
 * be dominated took, made those rows 1.13-1.18 times as long.  A run whose slot is
 * LSC_SLOT_PLAIN (its bound says S >= 2, where the dominant log-probability is no
 * smaller than log 2 and S is accurate enough) takes the plain sums, every vector's
 * alike, and S - 1 from S.
 *
 * The same loop can carry the passes of two other runs (the rows or chunks of a
 * pipeline, lsc_log_softmax_rows and lsc_log_softmax_long_rows): with LSC_C_MAX the
 * max of xc[0..nc) into mc[0] and its slot into mc[2] (what the loop does not reach,
 * lsc_max_lanes finishes; with LSC_C_BOUND as well, a lower bound of xc's exp-sum
 * into mc[1]), with LSC_C_WRITE ya[0..n) = (xa - ma) - ca (ya may be xa).  Their work
 * is independent of the sum's, so it fills the time the processor would otherwise
 * spend waiting between the passes of one row; the sum's own arithmetic is the same
 * either way.  With LSC_C_PREFETCH the loop also fetches xp[0..n) (a later run: the
 * next chunk of a chunked row, a later row of a pipeline) a cache line at a time,
 * which keeps the memory busy while the arithmetic runs without the burst of
 * lsc_prefetch_next (into L2 alone with LSC_C_PREFETCH_L2, for runs that come from
 * memory); with LSC_C_PREFETCH_W it fetches yp[0..n) for writing (a later row's
 * output), so that the write pass's stores find their lines in the cache; with
 * LSC_C_STREAM (ya aligned to a vector, an output far larger than the caches) the
 * write's whole vectors go to memory with non-temporal stores instead; with
 * LSC_C_WPART as well, only the whole vectors of ya[0..nw) (lsc_vsums_written: a run
 * ya that is not aligned to a vector, shifted by the caller to its first vector
 * boundary, which writes the rest).  With LSC_C_NO_EXPS the exps are not stored in e
 * (the caller knows that its statistics will not read them), and with LSC_C_EXP_SUM as
 * well the sum's exps are lsc_vexp_f32_sum's (lsc_vexp_f64_sum's): the same where a
 * term is at least e**-87 (e**-707), a tiny normal number below (the padding's -inf
 * too), which leaves S in double as it was (rows of 128-4096 floats, scores a standard
 * normal times 1 and 4, fastest of 151 rounds of tools/ab_rows: 0.95-0.98 and
 * 0.975-0.995 of the time).  carry, a constant at each call (but for LSC_C_NO_EXPS, a
 * branch the predictor gets right along a run), holds these bits, so that each call
 * compiles to a loop with that work alone. */
LSC_INLINE double LSC_FN(lsc_vsums3w_k)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T m,
                                        int us, const LSC_T *xc, ptrdiff_t nc, LSC_T *mc,
                                        const LSC_T *xa, LSC_T *ya, LSC_T ma, LSC_T ca,
                                        const LSC_T *xp, const LSC_T *yp, const int carry,
                                        ptrdiff_t nw, double *r1, const int plain)
{
    typedef LSC_V V;
    const V vm = LSC_SPLAT(V, m), vma = LSC_SPLAT(V, ma), vca = LSC_SPLAT(V, ca);
    const V ninf = LSC_SPLAT(V, -INFINITY);
    V part[LSC_U], mx[LSC_U], cor;
    lsc_vf64 acc[LSC_NVD] = {}, comp[LSC_NVD] = {}, kacc[LSC_NVD] = {};
    /* the offset within a step of each slot's vector: the first us's, then the others
       in order */
    ptrdiff_t off[LSC_U];
    for (int u = 0; u < LSC_U; u++) {
        off[u] = plain ? u * LSC_W : (u == 0 ? us : u - 1 < us ? u - 1 : u) * LSC_W;
    }
    for (int u = 0; u < LSC_U; u++) {
        mx[u] = ninf;
    }
    /* the exps of the sum alone (LSC_C_EXP_SUM), or those that may be stored */
#define LSC_SUM_EXP(d) ((carry & LSC_C_EXP_SUM) ? LSC_VEXP_SUM(d) : LSC_VEXP(d))
    ptrdiff_t j = 0;
    /* the loop carries xc's max up to jc */
    const ptrdiff_t jc =
        !(carry & LSC_C_MAX) ? 0 : (nc < n ? nc : n) / (LSC_U * LSC_W) * (LSC_U * LSC_W);
    while (j + LSC_U * LSC_W <= n) {
        for (int u = 1; u < LSC_U; u++) {
            part[u] = LSC_SPLAT(V, 0);
        }
        part[0] = LSC_SPLAT(V, (LSC_T)(plain ? 0 : 1));
        cor = LSC_SPLAT(V, 0);
        for (int f = 0; f < LSC_FOLD && j + LSC_U * LSC_W <= n;
             f++, j += LSC_U * LSC_W) {
            /* all loads before the stores: e may be x */
            V v[LSC_U];
            for (int u = 0; u < LSC_U; u++) {
                v[u] = LSC_VLOAD(x + j + off[u]);
            }
            for (ptrdiff_t l = 0; l < LSC_U * LSC_W; l += 64 / (ptrdiff_t)sizeof(LSC_T)) {
                if ((carry & LSC_C_PREFETCH) && (carry & LSC_C_PREFETCH_L2)) {
                    __builtin_prefetch(xp + j + l, 0, 2);
                }
                else if (carry & LSC_C_PREFETCH) {
                    __builtin_prefetch(xp + j + l, 0, 3);
                }
                if (carry & LSC_C_PREFETCH_W) {
                    __builtin_prefetch(yp + j + l, 1, 3);
                }
            }
            if ((carry & LSC_C_MAX) && j < jc) {
                for (int u = 0; u < LSC_U; u++) {
                    mx[u] = LSC_VMAX(LSC_VLOAD(xc + j + u * LSC_W), mx[u]);
                }
            }
            if (carry & LSC_C_WRITE) {
                for (int u = 0; u < LSC_U; u++) {
                    if ((carry & LSC_C_WPART) && j + (u + 1) * LSC_W > nw) {
                        break;
                    }
                    const V w = (LSC_VLOAD(xa + j + u * LSC_W) - vma) - vca;
                    if (carry & LSC_C_STREAM) {
                        LSC_VSTREAM_A(ya + j + u * LSC_W, w);
                    }
                    else {
                        LSC_VSTORE(ya + j + u * LSC_W, w);
                    }
                }
            }
            for (int u = 0; u < LSC_U; u++) {
                v[u] = LSC_SUM_EXP(v[u] - vm);
            }
            if (plain) {
                part[0] += v[0];
            }
            else {
                const V t = part[0] + v[0];
                cor += v[0] - (t - part[0]);
                part[0] = t;
            }
            for (int u = 1; u < LSC_U; u++) {
                part[u] += v[u];
            }
            if (!(carry & LSC_C_NO_EXPS)) {
                for (int u = 0; u < LSC_U; u++) {
                    LSC_VSTORE(e + j + off[u], v[u]);
                }
            }
        }
        if (plain) {
            LSC_FN(lsc_vfold_block)(part, acc, comp, j);
        }
        else {
            LSC_FN(lsc_vfold2)((cor + part[1]) + (part[2] + part[3]),
                               part[0] - LSC_SPLAT(V, 1), acc, comp, kacc,
                               j <= LSC_FOLD * LSC_U * LSC_W);
        }
    }
    /* what is left: whole vectors, then a part of one (with nothing left, no fold),
       their sum kept as the first slot's */
    const int tail = j < n;
    part[0] = LSC_SPLAT(V, (LSC_T)(plain ? 0 : 1));
    cor = LSC_SPLAT(V, 0);
#define LSC_TAIL_ADD(ev)                                                                    \
    do {                                                                                    \
        if (plain) {                                                                        \
            part[0] += (ev);                                                                \
        }                                                                                   \
        else {                                                                              \
            const V t_ = part[0] + (ev);                                                    \
            cor += (ev) - (t_ - part[0]);                                                   \
            part[0] = t_;                                                                   \
        }                                                                                   \
    } while (0)
    for (; j + LSC_W <= n; j += LSC_W) {
        if ((carry & LSC_C_WRITE) && (!(carry & LSC_C_WPART) || j + LSC_W <= nw)) {
            const V w = (LSC_VLOAD(xa + j) - vma) - vca;
            if (carry & LSC_C_STREAM) {
                LSC_VSTREAM_A(ya + j, w);
            }
            else {
                LSC_VSTORE(ya + j, w);
            }
        }
        V ev = LSC_SUM_EXP(LSC_VLOAD(x + j) - vm);
        LSC_TAIL_ADD(ev);
        if (!(carry & LSC_C_NO_EXPS)) {
            LSC_VSTORE(e + j, ev);
        }
    }
    if (j < n && n >= LSC_W) {
        /* the last whole vector x[n - W .. n), its lanes before j (done above) left out
           of the sum and stored again unchanged: no masked or partial memory access,
           whose cost (a row of 1000 floats with AVX-512: 12% of the row's time)
           exceeds that of a vector step.  (In place, those lanes of x already hold
           their results: they go back as they were read.) */
        const ptrdiff_t b0 = n - LSC_W;
        const LSC_VI keep = (LSC_VI)LSC_FN(lsc_lanes_from)(j - b0);
        if ((carry & LSC_C_WRITE) && !(carry & LSC_C_WPART)) {
            const V a = LSC_VLOAD(xa + b0), w = (a - vma) - vca;
            LSC_VSTORE(ya + b0, ya == xa ? LSC_VSEL(keep, w, a) : w);
        }
        const V a = LSC_VLOAD(x + b0);
        V ev = LSC_SUM_EXP(a - vm);
        const V evk = (V)((LSC_VI)ev & keep);
        LSC_TAIL_ADD(evk);
        if (!(carry & LSC_C_NO_EXPS)) {
            LSC_VSTORE(e + b0, e == x ? LSC_VSEL(keep, ev, a) : ev);
        }
    }
    else if (j < n) {
#if defined(LSC_MASK_ADD)
        const LSC_MASK_T k = (LSC_MASK_T)((1u << (n - j)) - 1u);
        if ((carry & LSC_C_WRITE) && !(carry & LSC_C_WPART)) {
            LSC_MASK_STORE(ya + j, k, (LSC_MASK_LOAD(k, xa + j, 0) - vma) - vca);
        }
        V ev = LSC_SUM_EXP(LSC_MASK_LOAD(k, x + j, -INFINITY) - vm);
        LSC_TAIL_ADD(ev);
        if (!(carry & LSC_C_NO_EXPS)) {
            LSC_MASK_STORE(e + j, k, ev);
        }
#else
        LSC_T buf[LSC_W];
        const ptrdiff_t r = n - j;
        for (ptrdiff_t l = 0; l < LSC_W; l++) {
            buf[l] = l < r ? x[j + l] : (LSC_T)-INFINITY;
        }
        V ev = LSC_SUM_EXP(LSC_VLOAD(buf) - vm);
        LSC_TAIL_ADD(ev);
        memcpy(buf, &ev, sizeof buf);
        if (!(carry & LSC_C_NO_EXPS)) {
            for (ptrdiff_t l = 0; l < r; l++) {
                e[j + l] = buf[l];
            }
        }
        if ((carry & LSC_C_WRITE) && !(carry & LSC_C_WPART)) {
            for (ptrdiff_t l = j; l < n; l++) {
                ya[l] = (xa[l] - ma) - ca;
            }
        }
#endif
    }
#undef LSC_TAIL_ADD
#undef LSC_SUM_EXP
    if (carry & LSC_C_MAX) {
        /* the lane maxima of xc's steps (those from jc on, a whole number of steps, from
           lsc_max_lanes), its max and its slot */
        V lm[LSC_U];
        LSC_T mm = -INFINITY;
        if (jc < nc) {
            mm = LSC_FN(lsc_max_lanes)(xc + jc, nc - jc, lm);
            for (int u = 0; u < LSC_U; u++) {
                lm[u] = LSC_VMAX(lm[u], mx[u]);
            }
        }
        else {
            for (int u = 0; u < LSC_U; u++) {
                lm[u] = mx[u];
            }
        }
        mx[0] = LSC_VMAX(lm[1], lm[0]);
        mx[2] = LSC_VMAX(lm[3], lm[2]);
        mx[0] = LSC_VMAX(mx[2], mx[0]);
        const LSC_T ml = LSC_HMAX(mx[0]);
        mm = ml > mm ? ml : mm;
        LSC_T b;
        mc[0] = mm;
        mc[2] = (LSC_T)LSC_FN(lsc_slot)(lm, mm, nc, &b);
        if (carry & LSC_C_BOUND) {
            mc[1] = b;
        }
    }
    if (tail && plain) {
        LSC_FN(lsc_vfold)(part[0], acc, comp);
    }
    else if (tail) {
        LSC_FN(lsc_vfold2)(cor, part[0] - LSC_SPLAT(V, 1), acc, comp, kacc,
                           n < LSC_U * LSC_W);
    }
    if (plain || sizeof(LSC_T) == sizeof(float)) {
        const double sp = LSC_FN(lsc_vfold_sum)(acc, comp);
        if (r1 != NULL) {
            *r1 = sp - 1.0;
        }
        return sp;
    }
    lsc_vf64 ka = kacc[0];
    for (int k = 1; k < LSC_NVD; k++) {
        ka += kacc[k];
    }
    const double kn = lsc_hsum_vf64(ka), small = LSC_FN(lsc_vfold_sum)(acc, comp);
    if (r1 != NULL) {
        *r1 = (kn - 1.0) + small;
    }
    return kn + small;
}

/* lsc_vsums3w_k by the run's slot us (lsc_slot): a loop for the plain sums, one for the
   sums with the max's slot; *r1 (if r1 is not NULL) = S - 1 */
LSC_INLINE double LSC_FN(lsc_vsums3w)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T m, int us,
                                      const LSC_T *xc, ptrdiff_t nc, LSC_T *mc,
                                      const LSC_T *xa, LSC_T *ya, LSC_T ma, LSC_T ca,
                                      const LSC_T *xp, const LSC_T *yp, const int carry,
                                      ptrdiff_t nw, double *r1)
{
    if (us == LSC_SLOT_PLAIN) {
        return LSC_FN(lsc_vsums3w_k)(x, e, n, m, 0, xc, nc, mc, xa, ya, ma, ca, xp, yp, carry,
                                     nw, r1, 1);
    }
    return LSC_FN(lsc_vsums3w_k)(x, e, n, m, us, xc, nc, mc, xa, ya, ma, ca, xp, yp, carry, nw,
                                 r1, 0);
}

LSC_INLINE double LSC_FN(lsc_vsums3)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T m, int us,
                                     const LSC_T *xc, ptrdiff_t nc, LSC_T *mc,
                                     const LSC_T *xa, LSC_T *ya, LSC_T ma, LSC_T ca,
                                     const LSC_T *xp, const LSC_T *yp, const int carry,
                                     double *r1)
{
    return LSC_FN(lsc_vsums3w)(x, e, n, m, us, xc, nc, mc, xa, ya, ma, ca, xp, yp, carry, n, r1);
}

/* lsc_vsums3w for a row of the row pipelines by its kind (lsc_rows_kind), or a chunk of
   a long row by its own (lsc_chunk_noe): LSC_ROW_STORE its exps stored into e,
   LSC_ROW_PLAIN not (and summed alone: LSC_C_EXP_SUM; a row or chunk whose dominated
   pass runs takes its terms again from x, lsc_vstats).  A loop of each
   kind, each with its work known at compile time (one loop that tests a variable took
   1.07 times as long on rows of 384 and 1000 floats).  A float row's kind is always
   plain, and its bound (which its slot takes, lsc_slot) is not written out
   (LSC_C_BOUND). */
LSC_INLINE double LSC_FN(lsc_vsums3wr)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T m, int us,
                                       const LSC_T *xc, ptrdiff_t nc, LSC_T *mc,
                                       const LSC_T *xa, LSC_T *ya, LSC_T ma, LSC_T ca,
                                       const LSC_T *xp, const LSC_T *yp, const int carry,
                                       ptrdiff_t nw, int kind, double *r1)
{
    const int c = sizeof(LSC_T) == sizeof(float) ? carry & ~LSC_C_BOUND : carry;
    if (kind == LSC_ROW_STORE) {
        return LSC_FN(lsc_vsums3w)(x, e, n, m, us, xc, nc, mc, xa, ya, ma, ca, xp, yp, c, nw, r1);
    }
    return LSC_FN(lsc_vsums3w)(x, NULL, n, m, us, xc, nc, mc, xa, ya, ma, ca, xp, yp,
                               c | LSC_C_NO_EXPS | LSC_C_EXP_SUM, nw, r1);
}

/* the kind of loop (lsc_vsums3wr) for a row with bound b: a sum of at least
   1 + LSC_DOM_CORRECT_BELOW needs nothing but itself (lsc_row1_log_e); below, the
   dominated pass may need the exps, which float rows take again there and double rows
   store (1024x1000, normal scores times 16, most rows dominated, from L3: float 1.24
   times as long with the stores, double 0.87; a double exp costs twice a float's
   operations per element) */
static inline int LSC_FN(lsc_rows_kind)(LSC_T b)
{
    return sizeof(LSC_T) == sizeof(float) || b >= 1 + LSC_DOM_CORRECT_BELOW ? LSC_ROW_PLAIN
                                                                             : LSC_ROW_STORE;
}

/* the elements of ya[0..nw) that lsc_vsums3w's loop writes with LSC_C_WPART:
   ya[0..lsc_vsums_written(nw)), its whole vectors */
static inline ptrdiff_t LSC_FN(lsc_vsums_written)(ptrdiff_t nw)
{
    return nw / LSC_W * LSC_W;
}

LSC_INLINE double LSC_FN(lsc_vsums)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T m, int us,
                                    double *r1)
{
    return LSC_FN(lsc_vsums3)(x, e, n, m, us, NULL, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, 0, r1);
}

/* lsc_vdominated_pass's term exp(v - m) 2**64 for the vector v, from e, the exps that
 * lsc_vsums stored: e times 2**64, or, where a lane of e is below the smallest normal
 * number while its scaled exp may not be (a term flushed there), the scaled exps
 * themselves.  The same bits either way (the scaled exp is the exp times 2**64 wherever
 * the exp is normal), without an exp per vector where no term is that small. */
LSC_INLINE LSC_V LSC_FN(lsc_dom_term)(LSC_V v, LSC_V vm, LSC_V e)
{
    const LSC_V d = v - vm;
    const LSC_T tiny = sizeof(LSC_T) == sizeof(float) ? (LSC_T)FLT_MIN : (LSC_T)DBL_MIN;
    /* below these, the scaled exps are 0 too (lsc_simd.h) */
    const LSC_T lo = sizeof(LSC_T) == sizeof(float) ? (LSC_T)-134.0 : (LSC_T)-755.0;
    const LSC_VI lost =
        (LSC_VI)(e < LSC_SPLAT(LSC_V, tiny)) & (LSC_VI)(d >= LSC_SPLAT(LSC_V, lo));
    return LSC_VANY(lost) ? LSC_VEXPS(d) : e * LSC_SPLAT(LSC_V, (LSC_T)LSC_VEXP_S);
}

/* The dominated sum of a run whose max m dominates: *rest = the sum of e_j =
 * exp(x_j - m) over x_j != m, plus the first-order correction for the rounding of the
 * differences d_j = fl(x_j - m), sum of e_j err_j (exp(d + err) = exp(d) (1 + err) to
 * first order); *count = the number of x_j == m (x_j - m == 0 exactly iff x_j == m).
 * Leaving the max's exact 1 out keeps the digits of a tiny rest, which the dominant
 * element's log-probability -log1p(rest + count - 1) needs; the correction keeps its
 * relative accuracy where the differences round (near d = -60 a float difference
 * rounds at 2**-19).  The terms are the scaled exps (lsc_vexp_f32s, 2**64 e_j: from
 * the exps e[j] that lsc_vsums stored, lsc_dom_term, where from_e, e not x; taken here
 * where not), so that a rest made of terms below the smallest normal number keeps
 * them, and the corrections (products far smaller still) are no subnormals; the rest
 * is folded into double as in lsc_vsums, the correction, a small quantity, added up
 * in LSC_T, both scaled back at the end (exactly) (lsc_vdominated_step). */
LSC_INLINE void LSC_FN(lsc_vdominated_pass)(const LSC_T *x, const LSC_T *e, ptrdiff_t n,
                                            LSC_T m, double *rest, double *count,
                                            const int guard, const int from_e)
{
    typedef LSC_V V;
    const V vm = LSC_SPLAT(V, m), nm = LSC_SPLAT(V, -m);
    V part[LSC_U], corr[2] = {LSC_SPLAT(V, 0), LSC_SPLAT(V, 0)};
    LSC_VI cnt = {};
    ptrdiff_t eq = 0;
    lsc_vf64 acc[LSC_NVD] = {}, comp[LSC_NVD] = {};
    ptrdiff_t j = 0;
    /* the term of the vector v of x at j: e's, or the scaled exp */
#define LSC_DOM_TERM(v, j)                                                                  \
    (from_e ? LSC_FN(lsc_dom_term)((v), vm, (V)LSC_VLOAD(e + (j))) : LSC_VEXPS((v) - vm))
    while (j + LSC_U * LSC_W <= n) {
        for (int u = 0; u < LSC_U; u++) {
            part[u] = LSC_SPLAT(V, 0);
        }
        for (int f = 0; f < LSC_FOLD && j + LSC_U * LSC_W <= n;
             f++, j += LSC_U * LSC_W) {
            for (int u = 0; u < LSC_U; u++) {
                const V v = LSC_VLOAD(x + j + u * LSC_W);
                LSC_FN(lsc_vdominated_step)(v, LSC_DOM_TERM(v, j + u * LSC_W), vm, nm,
                                            &part[u], &corr[u & 1], &cnt, &eq, guard);
            }
        }
        LSC_FN(lsc_vfold_block)(part, acc, comp, j);
    }
    const int tail = j < n;
    part[0] = LSC_SPLAT(V, 0);
    for (; j + LSC_W <= n; j += LSC_W) {
        const V v = LSC_VLOAD(x + j);
        LSC_FN(lsc_vdominated_step)(v, LSC_DOM_TERM(v, j), vm, nm, &part[0], &corr[0], &cnt,
                                    &eq, guard);
    }
#undef LSC_DOM_TERM
    if (j < n && n >= LSC_W) {
        /* the last whole vector, its lanes before j (done above) as -inf with exps 0,
           which add nothing (guarded), as in lsc_vsums3w */
        const ptrdiff_t b0 = n - LSC_W;
        const LSC_VI keep = (LSC_VI)LSC_FN(lsc_lanes_from)(j - b0);
        const V v = LSC_VSEL(keep, LSC_VLOAD(x + b0), LSC_SPLAT(V, -INFINITY));
        const V eb = (V)((LSC_VI)LSC_VLOAD(e + b0) & keep);
        const V ev = from_e ? LSC_FN(lsc_dom_term)(v, vm, eb) : LSC_VEXPS(v - vm);
        LSC_FN(lsc_vdominated_step)(v, ev, vm, nm, &part[0], &corr[0], &cnt, &eq, 1);
        j = n;
    }
#if defined(LSC_MASK_ADD)
    if (j < n) {
        const LSC_MASK_T k = (LSC_MASK_T)((1u << (n - j)) - 1u);
        /* (guarded: the lanes past the end read as -inf, their exps as 0) */
        const V v = LSC_MASK_LOAD(k, x + j, -INFINITY);
        const V ev = from_e ? LSC_FN(lsc_dom_term)(v, vm, LSC_MASK_LOAD(k, e + j, 0))
                            : LSC_VEXPS(v - vm);
        LSC_FN(lsc_vdominated_step)(v, ev, vm, nm, &part[0], &corr[0], &cnt, &eq, 1);
        j = n;
    }
#else
    if (j < n) {
        /* a run shorter than a vector, padded with -inf (guarded; its exps taken here,
           from_e or not) */
        LSC_T buf[LSC_W];
        for (ptrdiff_t l = 0; l < LSC_W; l++) {
            buf[l] = j + l < n ? x[j + l] : (LSC_T)-INFINITY;
        }
        const V v = LSC_VLOAD(buf);
        LSC_FN(lsc_vdominated_step)(v, LSC_VEXPS(v - vm), vm, nm, &part[0], &corr[0], &cnt,
                                    &eq, 1);
        j = n;
    }
#endif
    if (tail) {
        LSC_FN(lsc_vfold)(part[0], acc, comp);
    }
    double r = LSC_FN(lsc_vfold_sum)(acc, comp);
    r += LSC_WIDE_SUM(corr[0] + corr[1]);
    r = r * (1.0 / LSC_VEXP_S);
#if defined(LSC_MASK_ADD)
    double k = (double)eq;
#else
    double k = -LSC_WIDE_SUM_I(cnt);
#endif
    *rest = r;
    *count = k;
}

/* lsc_vdominated_pass with its terms from e where e is not NULL, taken from x where it is */
LSC_INLINE void LSC_FN(lsc_vdominated)(const LSC_T *x, const LSC_T *e, ptrdiff_t n, LSC_T m,
                                       double *rest, double *count)
{
    for (int guard = 0; guard < 2; guard++) {
        if (e != NULL) {
            LSC_FN(lsc_vdominated_pass)(x, e, n, m, rest, count, guard, 1);
        }
        else {
            LSC_FN(lsc_vdominated_pass)(x, NULL, n, m, rest, count, guard, 0);
        }
        if (*rest == *rest) {
            break;
        }
        /* a -inf in the run (no NaN: S < 2 had none): again, guarded */
    }
}

/* A run's (rest, count) from its sum S and S - 1, r1, of lsc_vsums (e holding its exps,
 * e not x; or NULL).  Where the max dominates (S < 1 + LSC_DOM_CORRECT_BELOW), the rest
 * is added up again without the max's terms and with the correction for the rounding
 * of the differences (lsc_vdominated, which takes its terms from x where e is NULL): each
 * term exp(fl(x_j - m)) is off by a relative |x_j - m| 2**-24 or so (float); the terms
 * of a rest this small are several units below the max, and the rest that
 * -log1p(rest) is accurate to needs them corrected.  Elsewhere the terms come from
 * differences of a few units at most, whose roundings are a few ulps at most, and
 * lsc_vsums3w's S - 1, r1, keeps the accuracy of a sum without the max's 1: rest = r1,
 * count = 1 (a NaN S gives a NaN rest). */
LSC_INLINE void LSC_FN(lsc_vstats)(const LSC_T *x, const LSC_T *e, ptrdiff_t n, LSC_T m,
                                   double s, double r1, double *rest, double *count)
{
    if (s < 1.0 + LSC_DOM_CORRECT_BELOW) {
        LSC_FN(lsc_vdominated)(x, e, n, m, rest, count);
    }
    else {
        *rest = r1;
        *count = 1.0;
    }
}

/* y = (x - m) - c; y may be x itself */
LSC_INLINE void LSC_FN(lsc_shift)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c)
{
    const LSC_V vm = LSC_SPLAT(LSC_V, m), vc = LSC_SPLAT(LSC_V, c);
    /* the stores aligned to a vector (stores across two cache lines cost more than
       such loads: a row of 1M floats 16 bytes past a line, 1.15 times as long as on
       one, with the input either way): the first whole vector on its own, then on
       from y's first vector boundary, for runs of at least four vectors.  In place,
       the first vector goes out last: the loop reads the elements it covers. */
    const ptrdiff_t h = n >= 4 * LSC_W && (uintptr_t)y % sizeof(LSC_T) == 0
                            ? LSC_FN(lsc_to_boundary)(y)
                            : 0;
    LSC_V w0 = vm;
    if (h > 0) {
        w0 = (LSC_VLOAD(x) - vm) - vc;
        if (y != x) {
            LSC_VSTORE(y, w0);
        }
    }
    ptrdiff_t j = h;
    for (; j + 2 * LSC_W <= n; j += 2 * LSC_W) {
        LSC_V a = LSC_VLOAD(x + j), b = LSC_VLOAD(x + j + LSC_W);
        LSC_VSTORE(y + j, (a - vm) - vc);
        LSC_VSTORE(y + j + LSC_W, (b - vm) - vc);
    }
    for (; j + LSC_W <= n; j += LSC_W) {
        LSC_VSTORE(y + j, (LSC_VLOAD(x + j) - vm) - vc);
    }
    if (j < n && n >= LSC_W) {
        /* the last whole vector, its lanes before j stored again unchanged (see
           lsc_vsums3w) */
        const LSC_VI keep = (LSC_VI)LSC_FN(lsc_lanes_from)(j - (n - LSC_W));
        const LSC_V a = LSC_VLOAD(x + n - LSC_W), w = (a - vm) - vc;
        LSC_VSTORE(y + n - LSC_W, y == x ? LSC_VSEL(keep, w, a) : w);
        j = n;
    }
#if defined(LSC_MASK_ADD)
    if (j < n) {
        const LSC_MASK_T k = (LSC_MASK_T)((1u << (n - j)) - 1u);
        LSC_MASK_STORE(y + j, k, (LSC_MASK_LOAD(k, x + j, 0) - vm) - vc);
    }
#else
    for (; j < n; j++) {
        y[j] = (x[j] - m) - c;
    }
#endif
    if (h > 0 && y == x) {
        LSC_VSTORE(y, w0);
    }
}

/* The products of softmax's writes, a * f for an exp a >= 0 (or NaN) and its row's
 * factor f, with those below the smallest normal number 0: the lanes of a below
 * lo = tiny / f (lsc_flush_below) are not multiplied (their product is formed from lo
 * instead, and cleared).  A product that rounds to a subnormal costs a microcode
 * assist: cross_entropy's gradient (softmax times 1/1024) of scores a standard normal
 * times 16 took 3.3 times as long with them.  Every softmax row path writes through
 * these (lsc_vscale, lsc_scaled_to, lsc_scale_exp): the same bits on each.  lo is
 * rounded up (by a relative 2**-20, past the roundings of the quotient), so that lo * f
 * itself is normal: rounded to nearest, it fell below the smallest normal number in
 * about half of the rows, and every lane cleared there (most of them, on scores a
 * standard normal times 64) took an assist on the way (the AVX2 build's row softmax
 * 1.75 times as long as on normal scores). */
static inline LSC_T LSC_FN(lsc_flush_below)(LSC_T f)
{
    const double tiny = sizeof(LSC_T) == sizeof(float) ? FLT_MIN : DBL_MIN;
    return (LSC_T)(tiny / (double)f * (1.0 + 0x1p-20));
}

LSC_INLINE LSC_V LSC_FN(lsc_vmul_flush)(LSC_V a, LSC_V vf, LSC_V vlo)
{
#if defined(LSC_MASKZ_MUL)
    /* (one compare more than the product alone: the rows' softmax 1.00-1.01 of the
       time; with the bound, its product and a clear, 1.03-1.04) */
    return LSC_MASKZ_MUL(LSC_CMPNLT_MASK(a, vlo), a, vf);
#else
    /* (a NaN lane: a itself, as LSC_VMAX's second operand, and kept) */
    const LSC_V p = LSC_VMAX(vlo, a) * vf;
    return (LSC_V)((LSC_VI)p & ~(LSC_VI)(a < vlo));
#endif
}

LSC_INLINE LSC_T LSC_FN(lsc_mul_flush)(LSC_T a, LSC_T f, LSC_T lo)
{
    return a < lo ? (LSC_T)0 : a * f;
}

/* y *= f (lsc_vmul_flush) */
LSC_INLINE void LSC_FN(lsc_vscale)(LSC_T *y, ptrdiff_t n, LSC_T f)
{
    const LSC_T lo = LSC_FN(lsc_flush_below)(f);
    const LSC_V vf = LSC_SPLAT(LSC_V, f), vlo = LSC_SPLAT(LSC_V, lo);
    ptrdiff_t j = 0;
    for (; j + LSC_W <= n; j += LSC_W) {
        LSC_VSTORE(y + j, LSC_FN(lsc_vmul_flush)(LSC_VLOAD(y + j), vf, vlo));
    }
    for (; j < n; j++) {
        y[j] = LSC_FN(lsc_mul_flush)(y[j], f, lo);
    }
}

/* The start of a contiguous one-chunk row: its max m and, if that is finite, the
 * exps e[j] = exp(x_j - m) (e may be x) and their sum *s (lsc_vsums).  Returns 0,
 * having written nothing, when the max is not finite (the caller takes the general
 * path). */
LSC_INLINE int LSC_FN(lsc_row1_sums)(const LSC_T *x, LSC_T *e, ptrdiff_t n, LSC_T *m,
                                     double *s, double *r1)
{
    int us;
    *m = LSC_FN(lsc_max_slot)(x, n, &us);
    if (!(*m > -INFINITY && *m < INFINITY)) {
        return 0;
    }
    LSC_FN(lsc_prefetch_next)(x, n);
    *s = LSC_FN(lsc_vsums)(x, e, n, *m, us, r1);
    return 1;
}

/* log1p of a row's dominated sum from lsc_row1_sums' S and S - 1, r1 (e holding the
   exps, e not x, or NULL): a chunk's arithmetic (lsc_vstats) */
LSC_INLINE double LSC_FN(lsc_row1_log)(const LSC_T *x, const LSC_T *e, ptrdiff_t n, LSC_T m,
                                       double s, double r1)
{
    double rest, count;
    LSC_FN(lsc_vstats)(x, e, n, m, s, r1, &rest, &count);
    return lsc_log1p_sum(rest + (count - 1.0), sizeof(LSC_T) == sizeof(float));
}

/* lsc_row1_log of a row from the row pipelines' loop (lsc_vsums3wr): its sum s, s - 1
 * (r1) and, where stored, its exps in e (not x); the same results bit for bit.  Rows that may
 * be dominated (S below 1 + LSC_DOM_CORRECT_BELOW) by their bound keep the store
 * (double rows: lsc_rows_kind): their dominated pass then reads the exps instead of
 * taking them again (float64 rows of normal scores times 16, most of them dominated:
 * 1.12-1.28 times as long when it took them). */
LSC_INLINE double LSC_FN(lsc_row1_log_e)(const LSC_T *x, const LSC_T *e, ptrdiff_t n, LSC_T m,
                                         double s, double r1, int stored)
{
    return LSC_FN(lsc_row1_log)(x, stored ? e : NULL, n, m, s, r1);
}

/* softmax of one contiguous row of 1 <= n <= LSC_CHUNK elements with a finite max,
 * exp computed once: the sum pass stores exp(x_j - m), then y_j *= 1 / S.  S holds
 * the max's exact 1, so the dominant class's probability 1 / S and the small ones
 * exp(x_j - m) / S keep their relative accuracy; the dominated sum and its correction
 * are not needed (they are for the dominant log-probability -log1p(S - 1)).  y may be
 * x.  Returns 0, having written nothing, when the max is not finite. */
static int LSC_FN(lsc_softmax_row1)(const LSC_T *x, LSC_T *y, ptrdiff_t n)
{
    LSC_T m;
    double s, r1;
    if (!LSC_FN(lsc_row1_sums)(x, y, n, &m, &s, &r1)) {
        return 0;
    }
    LSC_FN(lsc_vscale)(y, n, (LSC_T)(1.0 / s));  /* NaN if a NaN took part */
    return 1;
}

/* log_softmax of one contiguous row of 1 <= n <= LSC_CHUNK elements with a finite
 * max: the arithmetic of lsc_row's one-chunk case (the same results, bit for bit),
 * the exps in a buffer on the stack (in L1, aligned; y is written once).  Returns 0,
 * having written nothing, when the max is not finite. */
static int LSC_FN(lsc_log_softmax_row1)(const LSC_T *x, LSC_T *y, ptrdiff_t n)
{
    LSC_T m;
    double s, r1;
    LSC_T buf[LSC_CHUNK] __attribute__((aligned(64)));
    if (!LSC_FN(lsc_row1_sums)(x, buf, n, &m, &s, &r1)) {
        return 0;
    }
    const LSC_T c = (LSC_T)LSC_FN(lsc_row1_log)(x, buf, n, m, s, r1);
    LSC_FN(lsc_shift)(x, y, n, m, c);
    return 1;
}

/* y = exp(x - m) f, the exps those of lsc_vsums (bit for bit), for a chunk of a softmax
   row with its max m and factor f (lsc_softmax_scales); a chunk of -inf (m = -inf) is
   f 0.  y may be x. */
LSC_INLINE void LSC_FN(lsc_scale_exp)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T f)
{
    ptrdiff_t j = 0;
    if (m == -INFINITY) {
        for (; j < n; j++) {
            y[j] = f * (LSC_T)0;
        }
        return;
    }
    const LSC_V vm = LSC_SPLAT(LSC_V, m), vf = LSC_SPLAT(LSC_V, f);
    const LSC_V vlo = LSC_SPLAT(LSC_V, LSC_FN(lsc_flush_below)(f));
    for (; j + LSC_W <= n; j += LSC_W) {
        LSC_VSTORE(y + j, LSC_FN(lsc_vmul_flush)(LSC_VEXP(LSC_VLOAD(x + j) - vm), vf, vlo));
    }
    if (j < n) {
        LSC_T t[LSC_W];
        for (ptrdiff_t l = 0; l < LSC_W; l++) {
            t[l] = j + l < n ? x[j + l] : m;
        }
        LSC_VSTORE(t, LSC_FN(lsc_vmul_flush)(LSC_VEXP(LSC_VLOAD(t) - vm), vf, vlo));
        for (ptrdiff_t l = 0; j + l < n; l++) {
            y[j + l] = t[l];
        }
    }
}

/* lsc_shift with non-temporal stores (y must not be x: the caller checks), without the
   fence (lsc_shift_stream) */
static void LSC_FN(lsc_shift_stream_nf)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m,
                                        LSC_T c)
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
    }
    for (; j < n; j++) {
        y[j] = (x[j] - m) - c;
    }
#else
    LSC_FN(lsc_shift)(x, y, n, m, c);
#endif
}

/* lsc_shift with non-temporal stores, fenced (y must not be x: the caller checks) */
static void LSC_FN(lsc_shift_stream)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c)
{
    LSC_FN(lsc_shift_stream_nf)(x, y, n, m, c);
    LSC_SFENCE();
}

/* lsc_shift, or with stream its non-temporal stores (y not x; the caller fences after
   its last row) */
LSC_INLINE void LSC_FN(lsc_shift_to)(const LSC_T *x, LSC_T *y, ptrdiff_t n, LSC_T m, LSC_T c,
                                     int stream)
{
    if (stream) {
        LSC_FN(lsc_shift_stream_nf)(x, y, n, m, c);
    }
    else {
        LSC_FN(lsc_shift)(x, y, n, m, c);
    }
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

/* y[0..n) = t[0..n) * f (lsc_vscale's product), with stream non-temporal stores
   where y is aligned to the element size (the caller issues LSC_SFENCE() after its
   last call); with pf, a vector's worth of pf (the row that comes
   next) fetched into L2 a vector step */
LSC_INLINE void LSC_FN(lsc_scaled_to)(const LSC_T *t, LSC_T *y, ptrdiff_t n, LSC_T f,
                                      int stream, const LSC_T *pf)
{
    const LSC_T lo = LSC_FN(lsc_flush_below)(f);
    const LSC_V vf = LSC_SPLAT(LSC_V, f), vlo = LSC_SPLAT(LSC_V, lo);
    ptrdiff_t j = 0;
    stream = LSC_STREAM && stream && ((uintptr_t)y) % sizeof(LSC_T) == 0;
    if (stream) {
        for (; j < n && ((uintptr_t)(y + j)) % LSC_SIMD_BYTES != 0; j++) {
            y[j] = LSC_FN(lsc_mul_flush)(t[j], f, lo);
        }
    }
    for (; j + LSC_W <= n; j += LSC_W) {
        if (pf != NULL) {
            __builtin_prefetch(pf + j, 0, 2);
        }
        const LSC_V w = LSC_FN(lsc_vmul_flush)(LSC_VLOAD(t + j), vf, vlo);
        if (stream) {
            LSC_VSTREAM_A(y + j, w);
        }
        else {
            LSC_VSTORE(y + j, w);
        }
    }
    for (; j < n; j++) {
        y[j] = LSC_FN(lsc_mul_flush)(t[j], f, lo);
    }
}

/* lsc_softmax_row1 (the same results, bit for bit) for an output far larger than the
   caches: the exps in a buffer on the stack, written scaled with non-temporal stores
   (y not x; the caller issues LSC_SFENCE() after its last row: a fence a row costs
   more than the stores save) */
static int LSC_FN(lsc_softmax_row1_stream)(const LSC_T *x, LSC_T *y, ptrdiff_t n)
{
    LSC_T m;
    double s, r1;
    LSC_T buf[LSC_CHUNK] __attribute__((aligned(64)));
    if (!LSC_FN(lsc_row1_sums)(x, buf, n, &m, &s, &r1)) {
        return 0;
    }
    LSC_FN(lsc_scaled_to)(buf, y, n, (LSC_T)(1.0 / s), 1, NULL);
    return 1;
}

/* a chunk with no finite maximum: only -inf (contributes nothing) or a NaN (poisons) */
static lsc_stats LSC_FN(lsc_nonfinite_chunk)(const LSC_T *x, ptrdiff_t n, LSC_T m)
{
    lsc_stats st = {(double)m, 0.0, 0.0, 0.0};
    for (ptrdiff_t j = 0; j < n; j++) {
        if (x[j] != x[j]) {
            st.rest = NAN;
            st.s = NAN;
            break;
        }
    }
    return st;
}

/* A chunk's rest and count from its sum s (e holding its exps, e not x, or NULL:
   lsc_chunk_exps), unless its max m is below mr, the max of the chunks before it in
   its row (lsc_stats) */
LSC_INLINE void LSC_FN(lsc_chunk_split)(lsc_stats *st, const LSC_T *x, const LSC_T *e,
                                        ptrdiff_t n, LSC_T m, double s, double r1, double mr)
{
    st->m = (double)m;
    st->s = s;
    if ((double)m < mr) {
        st->rest = r1;
        st->count = 1.0;
        return;
    }
    LSC_FN(lsc_vstats)(x, e, n, m, s, r1, &st->rest, &st->count);
}

/* The exps a chunk's sums keep (LSC_C_NO_EXPS clear) for its dominated pass, chunk
 * max m, mr the max of the chunks before it in its row, b a lower bound of the
 * chunk's sum (lsc_slot's; 0 where not known): a double chunk's, unless m is below mr
 * (lsc_chunk_split needs none then) or b says that the chunk is not dominated
 * (lsc_rows_kind, as for a double row); a float chunk's never.  A float chunk's
 * dominated pass takes its exps again from x, as a float row's does (lsc_rows_kind),
 * and its sums take the summed exps (LSC_C_EXP_SUM: the same S); the bits are the
 * same either way (lsc_dom_term).  (A constant for float, so that its loops have
 * neither the stores nor the branch.)  Against storing a float chunk's exps, same
 * bits, fastest of 61 alternated calls, scores a standard normal times 4: log_softmax
 * 2048x32000 0.92 / 0.96 of the time (1 / 2 threads), 512x6000 0.92, 1x1000000
 * 0.95 / 0.93; logsumexp 2048x32000 0.96 / 0.94, 512x6000 0.89; cross_entropy
 * 2048x32000 0.95 / 0.94, 512x6000 0.81.  Double chunks by their bound, each kind
 * its own loop (lsc_vsums3wr; with the stores' branch in one loop: 0.98-1.00), against
 * storing every chunk not below mr: 2048x8192 0.93 / 0.94, 512x3000 0.93, scores
 * times 16 (dominated chunks among them) 0.91. */
static inline int LSC_FN(lsc_chunk_noe)(LSC_T m, double mr, LSC_T b)
{
    if (sizeof(LSC_T) == sizeof(float)) {
        return LSC_C_NO_EXPS | LSC_C_EXP_SUM;
    }
    return (double)m < mr || LSC_FN(lsc_rows_kind)(b) == LSC_ROW_PLAIN ? LSC_C_NO_EXPS : 0;
}

/* the exps that lsc_chunk_split may read, from the sums' carry bits noe
   (lsc_chunk_noe): buf where they were stored, else NULL (taken again from x where a
   dominated pass needs them) */
static inline const LSC_T *LSC_FN(lsc_chunk_exps)(const LSC_T *buf, int noe)
{
    return (noe & LSC_C_NO_EXPS) ? NULL : buf;
}

/* A chunk's statistics: its max, its sum and, unless its max is below mr (the max of
 * the chunks before it in its row, or -inf), its dominated sum and count
 * (lsc_vstats), from the exps of lsc_vsums in a buffer in L1. */
static inline lsc_stats LSC_FN(lsc_chunk_stats_contig)(const LSC_T *x, ptrdiff_t n, double mr,
                                                      int far)
{
    int us;
    LSC_T m = LSC_FN(lsc_max_slot)(x, n, &us);
    if (m == -INFINITY) {
        LSC_FN(lsc_prefetch_next)(x, n);
        return LSC_FN(lsc_nonfinite_chunk)(x, n, m);
    }
    /* the chunk is in L1 now and the sums ahead are arithmetic: they fetch the n
       elements after it (in a C-contiguous array the next chunk or row) as they go */
    LSC_T buf[LSC_CHUNK];
    lsc_stats st;
    /* (a chunk below the row's max so far needs no exps: lsc_chunk_split; a float
       chunk keeps none: lsc_chunk_noe) */
    const int noe = LSC_FN(lsc_chunk_noe)(m, mr, 0);
    /* into L1, or with far (an input from memory) into L2: logsumexp of 2048x32000
       floats, 1 / 2 threads, 22.0-22.7 / 10.5-11.1 ms against 24.2-25.1 / 11.6-12.5
       (cross_entropy alike); but from L2 and L3 (8x128256, 64x128256) 1.1-1.5 times as
       long into L2 */
    double r1;
    const double s =
        far ? LSC_FN(lsc_vsums3)(x, buf, n, m, us, NULL, 0, NULL, NULL, NULL, 0, 0, x + n,
                                 NULL, LSC_C_PREFETCH | LSC_C_PREFETCH_L2 | noe, &r1)
            : LSC_FN(lsc_vsums3)(x, buf, n, m, us, NULL, 0, NULL, NULL, NULL, 0, 0, x + n,
                                 NULL, LSC_C_PREFETCH | noe, &r1);
    LSC_FN(lsc_chunk_split)(&st, x, LSC_FN(lsc_chunk_exps)(buf, noe), n, m, s, r1, mr);
    return st;
}

/* ---- strided access through a chunk-sized buffer ---------------------------- */

static inline void LSC_FN(lsc_gather)(const char *x, ptrdiff_t sx, ptrdiff_t n, LSC_T *buf)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        buf[j] = *(const LSC_T *)(x + j * sx);
    }
}

/* statistics of one chunk x[0..n), n <= LSC_CHUNK, at byte stride sx
   (lsc_chunk_stats_contig; lsc_chunk_stats: all of them) */
static lsc_stats LSC_FN(lsc_chunk_stats_below)(const char *x, ptrdiff_t sx, ptrdiff_t n,
                                               double mr, int far)
{
    if (sx == (ptrdiff_t)sizeof(LSC_T)) {
        return LSC_FN(lsc_chunk_stats_contig)((const LSC_T *)x, n, mr, far);
    }
    LSC_T buf[LSC_CHUNK];
    LSC_FN(lsc_gather)(x, sx, n, buf);
    return LSC_FN(lsc_chunk_stats_contig)(buf, n, mr, 0);
}

static lsc_stats LSC_FN(lsc_chunk_stats)(const char *x, ptrdiff_t sx, ptrdiff_t n)
{
    return LSC_FN(lsc_chunk_stats_below)(x, sx, n, -INFINITY, 0);
}

/* y[j] = (x[j] - m) - c (op LSC_OP_LOG_SOFTMAX) or, c the chunk's factor, exp(x[j] - m) c
   (LSC_OP_SOFTMAX: lsc_scale_exp) for one chunk, any strides (y may alias x exactly);
   stream: use non-temporal stores where y is contiguous and not x, for
   LSC_OP_LOG_SOFTMAX (the exps' write is bound by its arithmetic: streamed, through a
   buffer, it was 3-17% slower at 16 and 64 MiB) */
static void LSC_FN(lsc_chunk_write)(const char *x, ptrdiff_t sx, char *y, ptrdiff_t sy,
                                    ptrdiff_t n, LSC_T m, LSC_T c, int stream, int op)
{
    if (sx == (ptrdiff_t)sizeof(LSC_T) && sy == (ptrdiff_t)sizeof(LSC_T)) {
        if (op == LSC_OP_SOFTMAX) {
            LSC_FN(lsc_scale_exp)((const LSC_T *)x, (LSC_T *)y, n, m, c);
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
        LSC_FN(lsc_scale_exp)(buf, buf, n, m, c);
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

/* one row of n >= 1 elements: x at byte stride sx into y at byte stride sy; far: x
   comes from memory (its chunks' sums fetch the next chunk into L2 rather than L1) */
static void LSC_FN(lsc_row_far)(const char *x, ptrdiff_t sx, char *y, ptrdiff_t sy,
                                ptrdiff_t n, int stream, int op, int far)
{
    ptrdiff_t nc = LSC_FN(lsc_nchunks)(n);
    if (nc < 1) {
        return;
    }
    if (nc == 1 && sx == (ptrdiff_t)sizeof(LSC_T) && sy == (ptrdiff_t)sizeof(LSC_T) &&
        op != LSC_OP_LOGSUMEXP && (!stream || op == LSC_OP_SOFTMAX)) {
        /* a contiguous one-chunk row (rows of several chunks keep the chunk-by-chunk
           path, shared with the threads that split long rows) */
        if (op == LSC_OP_SOFTMAX && stream && x != y) {
            /* exp once */
            if (LSC_FN(lsc_softmax_row1_stream)((const LSC_T *)x, (LSC_T *)y, n)) {
                LSC_SFENCE();
                return;
            }
        }
        else if (op == LSC_OP_SOFTMAX) {
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
        /* (a chunk whose max is below an earlier one's skips its dominated pass;
           softmax takes none) */
        double mr = op == LSC_OP_SOFTMAX ? INFINITY : -INFINITY;
        for (ptrdiff_t c = 0; c < nc; c++) {
            ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
            st[c] = LSC_FN(lsc_chunk_stats_below)(x + c * LSC_CHUNK * sx, sx, len, mr, far);
            mr = st[c].m > mr ? st[c].m : mr;
        }
        if (op == LSC_OP_SOFTMAX) {
            lsc_softmax_scales(st, nc);
            for (ptrdiff_t c = 0; c < nc; c++) {
                ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
                LSC_FN(lsc_chunk_write)(x + c * LSC_CHUNK * sx, sx, y + c * LSC_CHUNK * sy,
                                        sy, len, (LSC_T)st[c].m, (LSC_T)st[c].f, stream, op);
            }
            if (st != local) {
                free(st);
            }
            return;
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

/* lsc_row_far for an x in the caches */
static void LSC_FN(lsc_row)(const char *x, ptrdiff_t sx, char *y, ptrdiff_t sy, ptrdiff_t n,
                            int stream, int op)
{
    LSC_FN(lsc_row_far)(x, sx, y, sy, n, stream, op, 0);
}

/* softmax of nr rows of 1 <= n <= LSC_CHUNK contiguous elements, row r at byte offset
 * r * sxr in x and r * syr in y (y may be x; otherwise the rows of y overlap no row of
 * x): each row as lsc_row computes it alone (lsc_softmax_row1; a row whose max is not
 * finite through lsc_row).  With stream (an output far larger than the caches, y not
 * x) the rows are written with non-temporal stores and fenced once, at the end. */
static void LSC_FN(lsc_softmax_rows)(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t syr,
                                     ptrdiff_t n, ptrdiff_t nr, int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    stream = LSC_STREAM && stream && x != y;
    for (ptrdiff_t r = 0; r < nr; r++) {
        const LSC_T *xr = (const LSC_T *)(x + r * sxr);
        LSC_T *yr = (LSC_T *)(y + r * syr);
        if (!(stream ? LSC_FN(lsc_softmax_row1_stream)(xr, yr, n)
                     : LSC_FN(lsc_softmax_row1)(xr, yr, n))) {
            LSC_FN(lsc_row)((const char *)xr, es, (char *)yr, es, n, stream, LSC_OP_SOFTMAX);
        }
    }
    if (stream) {
        LSC_SFENCE();
    }
}

/* The write of a contiguous softmax row of n elements in chunks whose exps are in buf
 * (lsc_softmax_long_rows, lsc_softmax_scaled_long_row): chunk c's y = its exps times
 * st[c].f (lsc_softmax_scales) times scale, the factor rounded once to the element
 * type (scale 1: st[c].f's rounding alone); a chunk with no finite max (no exps in
 * buf) from x.  stream: non-temporal stores (the caller fences); pf, if not NULL: a
 * row fetched into L2 meanwhile, chunk by chunk. */
LSC_INLINE void LSC_FN(lsc_softmax_write_chunks)(const LSC_T *x, LSC_T *y, ptrdiff_t n,
                                                 const lsc_stats *st, const LSC_T *buf,
                                                 double scale, int stream, const LSC_T *pf)
{
    const ptrdiff_t nc = LSC_FN(lsc_nchunks)(n);
    for (ptrdiff_t c = 0; c < nc; c++) {
        const ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
        const LSC_T f = (LSC_T)(st[c].f * scale);
        if (!(st[c].m > -INFINITY && st[c].m < INFINITY)) {
            LSC_FN(lsc_scale_exp)(x + c * LSC_CHUNK, y + c * LSC_CHUNK, len, (LSC_T)st[c].m, f);
        }
        else {
            LSC_FN(lsc_scaled_to)(buf + c * LSC_CHUNK, y + c * LSC_CHUNK, len, f, stream,
                                  pf != NULL ? pf + c * LSC_CHUNK : NULL);
        }
    }
}

/* softmax of nr rows of n > LSC_CHUNK contiguous elements, row
 * r at byte offset r * sxr in x and r * syr in y (y may be x; otherwise the rows of y
 * overlap no row of x), with lsc_row's arithmetic (lsc_softmax_scales: the same
 * results, bit for bit) and exp once an element: each chunk's max, then its exps into
 * a buffer of a row (from the scratch pool; sized for L2) and their sum, while the
 * loop fetches the next chunk; then the row from the buffer times each chunk's factor
 * (with stream, an output far larger than the caches and y not x, with non-temporal
 * stores, fenced once at the end), and with prefetch (an input from memory) the next
 * row fetched into L2 meanwhile, a line a vector step: the reads then overlap the
 * writes (2048x32000 and 1024x65536 floats from memory take 0.8-0.85 of their time
 * without the fetch; from L3, 512x16384 and 512x32000 would take 1.15-1.25 of it).
 * lsc_row recomputed every exp in its write pass:
 * 2048x32000 floats, 1 thread, took 1.8 times as long.  Rows of more than
 * LSC_SOFTMAX_ROW_CHUNKS chunks, or without a buffer, go through lsc_row. */
static void LSC_FN(lsc_softmax_long_rows)(const char *x, ptrdiff_t sxr, char *y,
                                          ptrdiff_t syr, ptrdiff_t n, ptrdiff_t nr,
                                          int prefetch, int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T), nc = LSC_FN(lsc_nchunks)(n);
    LSC_T *buf = nc <= LSC_SOFTMAX_ROW_CHUNKS
                     ? (LSC_T *)lsc_scratch_get((size_t)n * sizeof(LSC_T))
                     : NULL;
    stream = LSC_STREAM && stream && x != y;
    if (buf == NULL) {
        for (ptrdiff_t r = 0; r < nr; r++) {
            LSC_FN(lsc_row)(x + r * sxr, es, y + r * syr, es, n, stream, LSC_OP_SOFTMAX);
        }
        return;
    }
    lsc_stats st[LSC_SOFTMAX_ROW_CHUNKS];
    for (ptrdiff_t r = 0; r < nr; r++) {
        const LSC_T *xr = (const LSC_T *)(x + r * sxr);
        const LSC_T *xn = (const LSC_T *)(x + (r + 1) * sxr);
        LSC_T *yr = (LSC_T *)(y + r * syr);
        for (ptrdiff_t c = 0; c < nc; c++) {
            const ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
            const LSC_T *xc = xr + c * LSC_CHUNK;
            int us;
            const LSC_T m = LSC_FN(lsc_max_slot)(xc, len, &us);
            if (m > -INFINITY && m < INFINITY) {
                double r1;
                const double s = LSC_FN(lsc_vsums3)(xc, buf + c * LSC_CHUNK, len, m, us, NULL,
                                                    0, NULL, NULL, NULL, 0, 0, xc + len, NULL,
                                                    LSC_C_PREFETCH, &r1);
                st[c] = (lsc_stats){(double)m, r1, 1.0, s, 0.0};
            }
            else {
                st[c] = LSC_FN(lsc_nonfinite_chunk)(xc, len, m);
            }
        }
        lsc_softmax_scales(st, nc);
        LSC_FN(lsc_softmax_write_chunks)(xr, yr, n, st, buf, 1.0, stream,
                                         prefetch && r + 1 < nr ? xn : NULL);
    }
    if (stream) {
        LSC_SFENCE();
    }
    lsc_scratch_put(buf);
}

/* How many rows ahead of its current row a row pipeline of nr rows of n elements
 * fetches (lsc_log_softmax_rows): nr, none, without prefetch or for rows shorter than
 * LSC_PREFETCH_MIN_ROW bytes; else at least LSC_PREFETCH_BYTES past the row after the
 * next (whose max the loop takes). */
static inline ptrdiff_t LSC_FN(lsc_rows_ahead)(ptrdiff_t n, ptrdiff_t nr, int prefetch)
{
    const ptrdiff_t rb = n * (ptrdiff_t)sizeof(LSC_T);
    return prefetch && rb >= LSC_PREFETCH_MIN_ROW ? 3 + (LSC_PREFETCH_BYTES - 1) / rb : nr;
}

/* The ends of streamed rows of lsc_log_softmax_rows that start h elements before a
 * vector boundary: row (xw, yw, max m, logarithm c)'s first h elements, and the pending
 * end of the row written before it (*pt_y, nt elements from *pt_x, with *pt_m, *pt_c;
 * none if *pt_y is NULL).  Where the pending end runs into yw (y's rows one after the
 * other), the two fill one vector, streamed whole; else each goes out with plain
 * stores (lines written in part plainly and in part with non-temporal stores, at
 * different times, cost a read of the line from memory each).  With yw NULL, the
 * pending end alone goes out.  Clears the pending end (the caller sets the new one). */
LSC_INLINE void LSC_FN(lsc_rows_ends)(const LSC_T **pt_x, LSC_T **pt_y, LSC_T *pt_m,
                                      LSC_T *pt_c, ptrdiff_t nt, const LSC_T *xw, LSC_T *yw,
                                      ptrdiff_t h, LSC_T m, LSC_T c, ptrdiff_t n)
{
    LSC_T *py = *pt_y;
    const LSC_T *px = *pt_x;
#if defined(__GNUC__) && !defined(__clang__)
    /* (a shuffle by a computed index: gcc's; other compilers take the buffer below) */
    if (py != NULL && yw != NULL && py + nt == yw && nt + h == LSC_W && n >= LSC_W) {
        /* in registers: the pending end in the last lanes of the vector that ends
           there, the start in the first lanes of the row's first vector, put side by
           side (a store of the two parts to memory and a load of the whole, which the
           processor cannot forward, had 13% of the samples of rows of 384 floats, and
           this form takes 0.97 of the time) */
        typedef LSC_VI VI;
        VI idx;
        for (int l = 0; l < LSC_W; l++) {
            idx[l] = l + (LSC_W - nt);
        }
        const LSC_V v = __builtin_shuffle(LSC_VLOAD(px + nt - LSC_W), LSC_VLOAD(xw), idx);
        const VI first = ~(VI)LSC_FN(lsc_lanes_from)(nt);
        const LSC_V vm = LSC_VSEL(first, LSC_SPLAT(LSC_V, *pt_m), LSC_SPLAT(LSC_V, m));
        const LSC_V vc = LSC_VSEL(first, LSC_SPLAT(LSC_V, *pt_c), LSC_SPLAT(LSC_V, c));
        LSC_VSTREAM_A(py, (v - vm) - vc);
    }
    else
#else
    (void)n;
#endif
    if (py != NULL && yw != NULL && py + nt == yw && nt + h == LSC_W) {
        LSC_T t[LSC_W] __attribute__((aligned(64)));
        LSC_FN(lsc_shift)(px, t, nt, *pt_m, *pt_c);
        LSC_FN(lsc_shift)(xw, t + nt, h, m, c);
        LSC_VSTREAM_A(py, LSC_VLOAD(t));
    }
    else {
        if (py != NULL) {
            LSC_FN(lsc_shift)(px, py, nt, *pt_m, *pt_c);
        }
        if (yw != NULL) {
            LSC_FN(lsc_shift)(xw, yw, h, m, c);
        }
    }
    *pt_y = NULL;
    *pt_x = NULL;
}

/* log_softmax of nr rows of 1 <= n <= LSC_CHUNK contiguous elements, row r at byte
 * offset r * sxr in x and r * syr in y (y may be x; otherwise the rows of y overlap no
 * row of x): each row with lsc_log_softmax_row1's arithmetic (the same results, bit for
 * bit: the sums' terms below e**-87, e**-707 for double, clamped there by LSC_C_EXP_SUM,
 * leave S in double as it was), in a pipeline.  Iteration r runs one loop over the
 * columns that carries the exp-sum of row r (lsc_vsums3wr, with its exps where the loop
 * that took its max showed that they may be read: lsc_rows_kind, lsc_row1_log_e), the
 * max of row r + 2 and the write of row r - 3; then the statistics and logarithm of row
 * r - 1.  So the waits between the passes of one row (for its max and slot, for its sum,
 * for its logarithm) overlap the work on its neighbours: the loads of row r's loop,
 * placed by its slot, need not wait for the end of the loop before (a max one row ahead:
 * rows of 128 floats 1.2 times as long), the branch on whether row r - 1's max dominates
 * (lsc_vstats) tests a sum finished a loop earlier, which keeps a misprediction cheap,
 * and a row's write comes a loop after its logarithm, whose latency the loop in between
 * hides.  A row whose max is not finite goes through lsc_row alone.  With prefetch (for
 * rows that come from beyond the caches), the loop also fetches the input of rows
 * ahead, and where it holds LSC_FETCH_OUT their output for writing.  With stream (an
 * output far larger than the caches), where y is not x and its rows start on vector
 * boundaries, the writes are non-temporal stores (and the output is not fetched). */
static void LSC_FN(lsc_log_softmax_rows)(const char *x, ptrdiff_t sxr, char *y,
                                         ptrdiff_t syr, ptrdiff_t n, ptrdiff_t nr,
                                         int prefetch, int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    /* Rows of y that start h elements before a vector boundary (all at one offset
       within a vector) are streamed from it: the loop writes the whole vectors from
       there, and lsc_rows_ends the elements before and after them (one vector with the
       next row's first h where the rows are one after the other; plain stores at each
       end of every row took 3 times as long on 16x384x384).  (Rows at varying offsets
       keep plain stores: streamed on their own, after the loop, rows of 128 and 384
       floats took 1.15-1.24 of the time.) */
    stream = LSC_STREAM && stream && x != y && (uintptr_t)y % es == 0 &&
             syr % LSC_SIMD_BYTES == 0;
    const ptrdiff_t h = stream ? LSC_FN(lsc_to_boundary)(y) : 0;
    const ptrdiff_t hw_end = h > 0 ? h + LSC_FN(lsc_vsums_written)(n - h) : n;
    /* a written row's end after its last whole vector (from pt_x, pt_y, with its max and
       logarithm), waiting for the next row's start to fill that vector: rows of y
       one after the other (syr = n elements) share it */
    const LSC_T *pt_x = NULL;
    LSC_T *pt_y = NULL, pt_m = 0, pt_c = 0;
    const ptrdiff_t pt_n = n - hw_end;
    LSC_T buf[2][LSC_CHUNK] __attribute__((aligned(64)));
    /* the rows waiting for their write, oldest first, with their max and logarithm
       (two between iterations, three after the last) */
    ptrdiff_t wq[3] = {0, 0, 0};
    LSC_T mq[3] = {0, 0, 0}, cq[3] = {0, 0, 0};
    int nq = 0;
    if (nr < 1) {
        return;
    }
    /* m, us, dom: the max, slot and kind of row r; m1, us1, dom1 those of row r + 1
       (the loops take the max two rows ahead: the slot, which places the loads of a
       row's loop, is known a whole loop before them); row sr (if hs) is summed, its
       statistics pending, with max ms and sum ss (lsc_row1_log_e) */
    int us, us1 = 0;
    LSC_T m = LSC_FN(lsc_max_slot)((const LSC_T *)x, n, &us), m1 = 0, ms = 0;
    if (nr > 1) {
        m1 = LSC_FN(lsc_max_slot)((const LSC_T *)(x + sxr), n, &us1);
    }
    double ss = 0.0, sr1 = 0.0;
    int hs = 0, dom = LSC_FN(lsc_rows_kind)(0), dom1 = dom, se = 0;
    ptrdiff_t sr = 0;
    /* with prefetch, iteration r fetches the input of row r + ahead (whose max
       iteration r + ahead - 2 takes; the rows between span at least
       LSC_PREFETCH_BYTES) and the output of row r + ahead - 3 (which iteration
       r + ahead writes), a cache line per vector step of its loop: where the rows come
       from memory, the hardware's prefetchers alone leave the loop waiting on it */
    const ptrdiff_t ahead = LSC_FN(lsc_rows_ahead)(n, nr, prefetch);
    for (ptrdiff_t r = 0; r < nr; r++) {
        const LSC_T *xr = (const LSC_T *)(x + r * sxr);
        const LSC_T *xn = (const LSC_T *)(x + (r + 2) * sxr);
        const LSC_T *xw = (const LSC_T *)(x + wq[0] * sxr);
        LSC_T *yw = (LSC_T *)(y + wq[0] * syr);
        /* the exps stored, or not, by the row's bound (from the loop that took its max:
           lsc_rows_kind) */
        LSC_T *const e = buf[r & 1];
        const int next = r + 2 < nr, hw = nq == 2;
        const int finite = m > -INFINITY && m < INFINITY;
        /* the max of row r + 2, its bound (LSC_C_BOUND), its slot */
        LSC_T mn[3] = {0, 0, 0};
        double s = 0.0, r1 = 0.0;
        if (!finite) {
            LSC_FN(lsc_rows_ends)(&pt_x, &pt_y, &pt_m, &pt_c, pt_n, NULL, NULL, 0, 0, 0, n);
            if (hw) {
                LSC_FN(lsc_shift_to)(xw, yw, n, mq[0], cq[0], stream);
            }
            LSC_FN(lsc_row)((const char *)xr, es, y + r * syr, es, n, stream,
                            LSC_OP_LOG_SOFTMAX);
            if (next) {
                int un;
                mn[0] = LSC_FN(lsc_max_slot)(xn, n, &un);
                mn[2] = (LSC_T)un;
            }
        }
        else if (next && hw && stream && h == 0 && r + ahead < nr) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw, yw, mq[0], cq[0],
                                     (const LSC_T *)(x + (r + ahead) * sxr), NULL,
                                     LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE | LSC_C_STREAM |
                                         LSC_C_PREFETCH | LSC_C_PREFETCH_L2, n, dom, &r1);
        }
        else if (next && hw && stream && h == 0) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw, yw, mq[0], cq[0], NULL,
                                     NULL,
                                     LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE | LSC_C_STREAM, n,
                                     dom, &r1);
        }
        else if (next && hw && stream) {
            /* from y's first vector boundary, the ends plain */
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw + h, yw + h, mq[0], cq[0],
                                     r + ahead < nr ? (const LSC_T *)(x + (r + ahead) * sxr)
                                                    : xr,
                                     NULL,
                                     LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE | LSC_C_STREAM |
                                         LSC_C_PREFETCH | LSC_C_PREFETCH_L2 | LSC_C_WPART,
                                     n - h, dom, &r1);
            LSC_FN(lsc_rows_ends)(&pt_x, &pt_y, &pt_m, &pt_c, pt_n, xw, yw, h, mq[0], cq[0], n);
            pt_x = xw + hw_end;
            pt_y = yw + hw_end;
            pt_m = mq[0];
            pt_c = cq[0];
        }
        else if (next && hw && r + ahead < nr && (prefetch & LSC_FETCH_OUT)) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw, yw, mq[0], cq[0],
                                     (const LSC_T *)(x + (r + ahead) * sxr),
                                     (const LSC_T *)(y + (r + ahead - 3) * syr),
                                     LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE | LSC_C_PREFETCH |
                                         LSC_C_PREFETCH_W, n, dom, &r1);
        }
        else if (next && hw && r + ahead < nr) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw, yw, mq[0], cq[0],
                                     (const LSC_T *)(x + (r + ahead) * sxr), NULL,
                                     LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE | LSC_C_PREFETCH, n,
                                     dom, &r1);
        }
        else if (next && hw) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, xw, yw, mq[0], cq[0], NULL,
                                     NULL, LSC_C_MAX | LSC_C_BOUND | LSC_C_WRITE, n, dom, &r1);
        }
        else if (next) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, NULL, NULL, 0, 0, NULL,
                                     NULL, LSC_C_MAX | LSC_C_BOUND, n, dom, &r1);
        }
        else if (hw) {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, NULL, 0, NULL, xw, yw, mq[0], cq[0], NULL,
                                     NULL, LSC_C_WRITE, n, dom, &r1);
        }
        else {
            s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, NULL, 0, NULL, NULL, NULL, 0, 0, NULL, NULL,
                                     0, n, dom, &r1);
        }
        if (hw) {
            wq[0] = wq[1];
            mq[0] = mq[1];
            cq[0] = cq[1];
            nq = 1;
        }
        if (hs) {
            wq[nq] = sr;
            mq[nq] = ms;
            cq[nq] = (LSC_T)LSC_FN(lsc_row1_log_e)((const LSC_T *)(x + sr * sxr),
                                                   buf[sr & 1], n, ms, ss, sr1, se);
            nq++;
            hs = 0;
        }
        if (finite) {
            sr = r;
            ms = m;
            ss = s;
            sr1 = r1;
            se = dom == LSC_ROW_STORE;
            hs = 1;
        }
        m = m1;
        us = us1;
        dom = dom1;
        m1 = mn[0];
        us1 = (int)mn[2];
        dom1 = LSC_FN(lsc_rows_kind)(mn[1]);
    }
    if (hs) {
        wq[nq] = sr;
        mq[nq] = ms;
        cq[nq] = (LSC_T)LSC_FN(lsc_row1_log_e)((const LSC_T *)(x + sr * sxr), buf[sr & 1],
                                               n, ms, ss, sr1, se);
        nq++;
    }
    LSC_FN(lsc_rows_ends)(&pt_x, &pt_y, &pt_m, &pt_c, pt_n, NULL, NULL, 0, 0, 0, n);
    for (int q = 0; q < nq; q++) {
        LSC_FN(lsc_shift_to)((const LSC_T *)(x + wq[q] * sxr), (LSC_T *)(y + wq[q] * syr),
                             n, mq[q], cq[q], stream);
    }
    if (stream) {
        LSC_SFENCE();
    }
}

/* logsumexp of nr rows of 1 <= n <= LSC_CHUNK contiguous elements, row r at byte offset
 * r * sxr in x, its value at r * syr in y: lsc_row's arithmetic for one chunk (the same
 * results, bit for bit, as lsc_log_softmax_rows'), in a pipeline as lsc_log_softmax_rows
 * without its write: iteration r runs one loop that carries the exp-sum of row r and the
 * max of row r + 2, then the statistics and logarithm of row r - 1.  A row whose max is
 * not finite goes through lsc_row alone. */
static void LSC_FN(lsc_logsumexp_rows)(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t syr,
                                       ptrdiff_t n, ptrdiff_t nr, int prefetch)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    LSC_T buf[2][LSC_CHUNK] __attribute__((aligned(64)));
    if (nr < 1) {
        return;
    }
    /* m, us, dom: the max, slot and kind of row r; m1, us1, dom1 those of row r + 1
       (the max two rows ahead, as lsc_log_softmax_rows); row sr (if hs) is summed,
       with max ms and sum ss */
    int us, us1 = 0;
    LSC_T m = LSC_FN(lsc_max_slot)((const LSC_T *)x, n, &us), m1 = 0, ms = 0;
    if (nr > 1) {
        m1 = LSC_FN(lsc_max_slot)((const LSC_T *)(x + sxr), n, &us1);
    }
    double ss = 0.0, sr1 = 0.0;
    int hs = 0, dom = LSC_FN(lsc_rows_kind)(0), dom1 = dom, se = 0;
    ptrdiff_t sr = 0;
    /* with prefetch, iteration r fetches the input of row r + ahead, as
       lsc_log_softmax_rows */
    const ptrdiff_t ahead = LSC_FN(lsc_rows_ahead)(n, nr, prefetch);
    for (ptrdiff_t r = 0; r <= nr; r++) {
        /* the max of row r + 2, its bound (LSC_C_BOUND), its slot */
        LSC_T mn[3] = {0, 0, 0};
        double s = 0.0, r1 = 0.0;
        int finite = 0;
        /* the exps stored, or not, by the row's bound (from the loop that took its max:
           lsc_rows_kind) */
        LSC_T *const e = buf[r & 1];
        if (r < nr) {
            const LSC_T *xr = (const LSC_T *)(x + r * sxr);
            const LSC_T *xn = (const LSC_T *)(x + (r + 2) * sxr);
            const int next = r + 2 < nr;
            finite = m > -INFINITY && m < INFINITY;
            if (!finite) {
                LSC_FN(lsc_row)((const char *)xr, es, y + r * syr, 0, n, 0, LSC_OP_LOGSUMEXP);
                if (next) {
                    int un;
                    mn[0] = LSC_FN(lsc_max_slot)(xn, n, &un);
                    mn[2] = (LSC_T)un;
                }
            }
            else if (next && r + ahead < nr) {
                s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, NULL, NULL, 0, 0,
                                         (const LSC_T *)(x + (r + ahead) * sxr), NULL,
                                         LSC_C_MAX | LSC_C_BOUND | LSC_C_PREFETCH, n, dom, &r1);
            }
            else if (next) {
                s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, xn, n, mn, NULL, NULL, 0, 0,
                                         NULL, NULL, LSC_C_MAX | LSC_C_BOUND, n, dom, &r1);
            }
            else {
                s = LSC_FN(lsc_vsums3wr)(xr, e, n, m, us, NULL, 0, NULL, NULL, NULL, 0, 0,
                                         NULL, NULL, 0, n, dom, &r1);
            }
        }
        if (hs) {
            /* lsc_combine of one chunk, then lsc_lse_value */
            const double c = LSC_FN(lsc_row1_log_e)((const LSC_T *)(x + sr * sxr),
                                                    buf[sr & 1], n, ms, ss, sr1, se);
            *(LSC_T *)(y + sr * syr) = (LSC_T)((double)ms + c);
            hs = 0;
        }
        if (finite) {
            sr = r;
            ms = m;
            ss = s;
            sr1 = r1;
            se = dom == LSC_ROW_STORE;
            hs = 1;
        }
        m = m1;
        us = us1;
        dom = dom1;
        m1 = mn[0];
        us1 = (int)mn[2];
        dom1 = LSC_FN(lsc_rows_kind)(mn[1]);
    }
}

/* log_softmax of nr rows of n > LSC_CHUNK contiguous elements, row r at byte offset
 * r * sxr in x and r * syr in y (y may be x; otherwise the rows of y overlap no row of
 * x), with lsc_row's arithmetic (the same chunk statistics, combined in the same
 * order: the same results, bit for bit), in a pipeline over the chunks.  One loop
 * carries the exp-sum of chunk c of row r, the max of the chunk after it and the
 * write of a chunk of row r - 1, so that a row's write pass, which waits on memory,
 * overlaps the arithmetic of the next row's sums.  With stream (an output far larger
 * than the caches, y not x) the writes are non-temporal stores, and the loop fetches
 * the input two chunks ahead into L2.  Streamed rows of y that all start h elements
 * before a vector boundary (syr a whole number of vectors) are written from it, as in
 * lsc_log_softmax_rows: row r - 1's part for chunk wc runs from wc * LSC_CHUNK + h, in
 * whole vectors (the last of them h elements into the next chunk of the same row), and
 * the row's first h elements and its end after its last whole vector go out through
 * lsc_rows_ends, with the end of the row before where the rows are one after the
 * other.  Rows of y at offsets that vary go row by row through lsc_row. */
static void LSC_FN(lsc_log_softmax_long_rows)(const char *x, ptrdiff_t sxr, char *y,
                                              ptrdiff_t syr, ptrdiff_t n, ptrdiff_t nr,
                                              int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    stream = LSC_STREAM && stream && x != y;
    const ptrdiff_t nc = LSC_FN(lsc_nchunks)(n), last = n - (nc - 1) * LSC_CHUNK;
    LSC_T buf[LSC_CHUNK] __attribute__((aligned(64)));
    lsc_stats local[2][64];
    lsc_stats *st[2] = {local[0], local[1]};
    if (nr < 1) {
        return;
    }
    if (stream && ((uintptr_t)y % es != 0 || syr % LSC_SIMD_BYTES != 0)) {
        /* rows of y at varying offsets within a vector: row by row, each chunk's write
           aligned on its own */
        for (ptrdiff_t r = 0; r < nr; r++) {
            LSC_FN(lsc_row)(x + r * sxr, es, y + r * syr, es, n, 1, LSC_OP_LOG_SOFTMAX);
        }
        return;
    }
    if (nc > 64) {
        st[0] = (lsc_stats *)malloc(2 * (size_t)nc * sizeof(lsc_stats));
        if (st[0] == NULL) {
            /* out of memory for the chunk tables: row by row */
            for (ptrdiff_t r = 0; r < nr; r++) {
                LSC_FN(lsc_row)(x + r * sxr, es, y + r * syr, es, n, stream,
                                LSC_OP_LOG_SOFTMAX);
            }
            return;
        }
        st[1] = st[0] + nc;
    }
    /* a row's elements before its first vector boundary (streamed), and the end of the
       part that the chunks' writes cover; a written row's end after it (from pt_x, pt_y,
       with its max and logarithm) waits for the next row's start */
    const ptrdiff_t h = stream ? LSC_FN(lsc_to_boundary)(y) : 0;
    const ptrdiff_t hw_end = stream ? h + LSC_FN(lsc_vsums_written)(n - h) : n;
    const LSC_T *pt_x = NULL;
    LSC_T *pt_y = NULL, pt_m = 0, pt_c = 0;
    /* m: the max of the chunk about to be summed, bnd the bound of its sum where the
       loop before took its max (0 where not known: lsc_chunk_noe); (mw, cw): the write
       of row r - 1 */
    int us;
    LSC_T m = LSC_FN(lsc_max_slot)((const LSC_T *)x, LSC_CHUNK, &us), mw = 0, cw = 0;
    LSC_T bnd = 0;
    /* (the bound is written out for double chunks alone, which use it) */
    const int cb = sizeof(LSC_T) == sizeof(float) ? 0 : LSC_C_BOUND;
    int hw = 0;
    for (ptrdiff_t r = 0; r < nr; r++) {
        lsc_stats *sr = st[r & 1];
        /* the max of the row's chunks so far: a chunk below it skips its dominated pass */
        double mr = -INFINITY;
        for (ptrdiff_t c = 0; c < nc; c++) {
            const ptrdiff_t len = c == nc - 1 ? last : LSC_CHUNK;
            const LSC_T *xr = (const LSC_T *)(x + r * sxr) + c * LSC_CHUNK;
            /* the next chunk: of this row, or the first of the next */
            const LSC_T *xn = NULL;
            ptrdiff_t ln = 0;
            if (c + 1 < nc) {
                xn = xr + LSC_CHUNK;
                ln = c + 1 == nc - 1 ? last : LSC_CHUNK;
            }
            else if (r + 1 < nr) {
                xn = (const LSC_T *)(x + (r + 1) * sxr);
                ln = LSC_CHUNK;
            }
            /* row r - 1 is written last chunk first (the chunks it read last are still
               in the cache), chunk wc's part from wc * LSC_CHUNK + h, lw elements (up to
               hw_end: the last chunk's part may be empty) */
            const ptrdiff_t wc = nc - 1 - c;
            ptrdiff_t lw = hw_end - wc * LSC_CHUNK - h;
            lw = lw < 0 ? 0 : lw > LSC_CHUNK ? LSC_CHUNK : lw;
            const LSC_T *xw = NULL;
            LSC_T *yw = NULL;
            if (hw) {
                xw = (const LSC_T *)(x + (r - 1) * sxr) + wc * LSC_CHUNK + h;
                yw = (LSC_T *)(y + (r - 1) * syr) + wc * LSC_CHUNK + h;
            }
            /* the loop carries a part as long as the chunk (streamed: up to as long,
               its whole vectors); another goes on its own */
            const int wcarry = hw && (stream ? lw <= len : lw == len);
            LSC_T mn[3] = {0, 0, 0};  /* the next chunk's max, (bound,) slot */
            double s, r1;
            if (hw && !wcarry) {
                LSC_FN(lsc_shift_to)(xw, yw, lw, mw, cw, stream);
            }
            if (m == -INFINITY) {
                sr[c] = LSC_FN(lsc_nonfinite_chunk)(xr, len, m);
                if (wcarry) {
                    LSC_FN(lsc_shift_to)(xw, yw, lw, mw, cw, stream);
                }
                if (xn != NULL) {
                    int un;
                    mn[0] = LSC_FN(lsc_max_slot)(xn, ln, &un);
                    mn[2] = (LSC_T)un;
                }
            }
            else {
                /* a chunk below the row's max so far, or whose bound says it is not
                   dominated, needs no exps (lsc_chunk_split); a float chunk keeps none
                   (lsc_chunk_noe) */
                const int noe = LSC_FN(lsc_chunk_noe)(m, mr, bnd);
                /* streamed, the loop fetches the chunk after the next (in row order;
                   the last: this one again) into L2 */
                const LSC_T *xf = xr;
                if (stream && c + 2 < nc) {
                    xf = xr + 2 * LSC_CHUNK;
                }
                else if (stream && r + 1 < nr) {
                    xf = (const LSC_T *)(x + (r + 1) * sxr) + (c + 2 - nc) * LSC_CHUNK;
                }
                /* the loop of the chunk's kind (lsc_vsums3wr): its exps stored or not */
                const int kind = (noe & LSC_C_NO_EXPS) ? LSC_ROW_PLAIN : LSC_ROW_STORE;
                if (xn != NULL && wcarry && stream) {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, xn, ln, mn, xw, yw, mw, cw, xf,
                                             NULL,
                                             LSC_C_MAX | cb | LSC_C_WRITE | LSC_C_STREAM |
                                                 LSC_C_WPART | LSC_C_PREFETCH |
                                                 LSC_C_PREFETCH_L2,
                                             lw, kind, &r1);
                }
                else if (xn != NULL && wcarry) {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, xn, ln, mn, xw, yw, mw, cw, NULL,
                                             NULL, LSC_C_MAX | cb | LSC_C_WRITE, len, kind, &r1);
                }
                else if (xn != NULL) {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, xn, ln, mn, NULL, NULL, 0, 0,
                                             NULL, NULL, LSC_C_MAX | cb, len, kind, &r1);
                }
                else if (wcarry && stream) {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, NULL, 0, NULL, xw, yw, mw, cw,
                                             NULL, NULL, LSC_C_WRITE | LSC_C_WPART, lw, kind,
                                             &r1);
                }
                else if (wcarry) {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, NULL, 0, NULL, xw, yw, mw, cw,
                                             NULL, NULL, LSC_C_WRITE, len, kind, &r1);
                }
                else {
                    s = LSC_FN(lsc_vsums3wr)(xr, buf, len, m, us, NULL, 0, NULL, NULL, NULL, 0, 0,
                                             NULL, NULL, 0, len, kind, &r1);
                }
                LSC_FN(lsc_chunk_split)(&sr[c], xr, LSC_FN(lsc_chunk_exps)(buf, noe), len, m, s,
                                        r1, mr);
            }
            if (hw && stream && wc == 0) {
                /* row r - 1 done but for its ends */
                const LSC_T *xh = (const LSC_T *)(x + (r - 1) * sxr);
                LSC_T *yh = (LSC_T *)(y + (r - 1) * syr);
                LSC_FN(lsc_rows_ends)(&pt_x, &pt_y, &pt_m, &pt_c, n - hw_end, xh, yh, h, mw,
                                      cw, n);
                pt_x = xh + hw_end;
                pt_y = yh + hw_end;
                pt_m = mw;
                pt_c = cw;
            }
            mr = sr[c].m > mr ? sr[c].m : mr;
            m = mn[0];
            bnd = mn[1];
            us = (int)mn[2];
        }
        double mc[2];
        lsc_combine(sr, nc, mc, sizeof(LSC_T) == sizeof(float));
        mw = (LSC_T)mc[0];
        cw = (LSC_T)mc[1];
        hw = 1;
    }
    const LSC_T *xl = (const LSC_T *)(x + (nr - 1) * sxr);
    LSC_T *yl = (LSC_T *)(y + (nr - 1) * syr);
    if (stream) {
        LSC_FN(lsc_rows_ends)(&pt_x, &pt_y, &pt_m, &pt_c, n - hw_end, xl, yl, h, mw, cw, n);
    }
    LSC_FN(lsc_shift_to)(xl + h, yl + h, n - h, mw, cw, stream);
    if (stream) {
        LSC_SFENCE();
    }
    if (st[0] != local[0]) {
        free(st[0]);
    }
}

/* One contiguous row for a cross-entropy gradient: y = softmax(x) * scale, and the
 * row's log-sum-exp into *lse, from one set of statistics.  Rows of one chunk with a
 * finite max take lsc_softmax_row1's road (exp once) with the scale folded into the
 * final factor, and the correction of the dominated sum only for the log-sum-exp;
 * the others go through lsc_row (lsc_softmax_scaled_rows takes rows of 2 to
 * LSC_SOFTMAX_ROW_CHUNKS chunks to lsc_softmax_scaled_long_row instead). */
static void LSC_FN(lsc_softmax_scaled_row)(const LSC_T *x, LSC_T *y, ptrdiff_t n,
                                           LSC_T scale, LSC_T *lse)
{
    LSC_T m;
    double s, r1;
    if (n <= LSC_CHUNK && LSC_FN(lsc_row1_sums)(x, y, n, &m, &s, &r1)) {
        *lse = (LSC_T)((double)m + LSC_FN(lsc_row1_log)(x, y, n, m, s, r1));
        LSC_FN(lsc_vscale)(y, n, (LSC_T)((double)scale / s));
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

/* lsc_softmax_scaled_row for a contiguous row of 2 to LSC_SOFTMAX_ROW_CHUNKS chunks,
 * buf a buffer of n elements: the chunks' statistics taken once for both results, with
 * each chunk's exps kept in buf (lsc_softmax_long_rows' way), then the row written from
 * buf times its chunk's factor exp(m_c - M) / S (lsc_softmax_scales) and scale, rounded
 * once to the element type.  The log-sum-exp has lsc_row's bits: each chunk's sums are
 * the same (the kept exps are the ones its sums add up; its own sums leave S as these,
 * LSC_C_EXP_SUM), and its rest and count come from lsc_chunk_split as there (from x
 * again for a float chunk, from the kept exps for a double one where lsc_row's keeps
 * them), combined in index order.  pf: the next row, fetched into L2 during the write
 * (an input from memory); stream: non-temporal stores for the write (y not x; the
 * caller fences).  (Before: the log-sum-exp's pass, softmax's with every exp taken
 * again in its write, and a pass for the scale: 2048x32000 and 256x50257 floats,
 * 512x8192 doubles, 1 and 2 threads, 1.6 to 2.4 times as long.) */
static void LSC_FN(lsc_softmax_scaled_long_row)(const LSC_T *x, LSC_T *y, ptrdiff_t n,
                                                LSC_T scale, LSC_T *lse, LSC_T *buf,
                                                const LSC_T *pf, int stream)
{
    const ptrdiff_t nc = LSC_FN(lsc_nchunks)(n);
    lsc_stats st[LSC_SOFTMAX_ROW_CHUNKS];
    double mr = -INFINITY;
    for (ptrdiff_t c = 0; c < nc; c++) {
        const ptrdiff_t len = c == nc - 1 ? n - c * LSC_CHUNK : LSC_CHUNK;
        const LSC_T *xc = x + c * LSC_CHUNK;
        LSC_T *e = buf + c * LSC_CHUNK;
        int us;
        const LSC_T m = LSC_FN(lsc_max_slot)(xc, len, &us);
        if (m > -INFINITY && m < INFINITY) {
            double r1;
            const double s = LSC_FN(lsc_vsums3)(xc, e, len, m, us, NULL, 0, NULL, NULL, NULL, 0,
                                                0, xc + len, NULL, LSC_C_PREFETCH, &r1);
            LSC_FN(lsc_chunk_split)(&st[c], xc,
                                    LSC_FN(lsc_chunk_exps)(e, LSC_FN(lsc_chunk_noe)(m, mr, 0)),
                                    len, m, s, r1, mr);
        }
        else {
            st[c] = LSC_FN(lsc_nonfinite_chunk)(xc, len, m);
        }
        mr = st[c].m > mr ? st[c].m : mr;
    }
    double mc[2];
    lsc_combine(st, nc, mc, sizeof(LSC_T) == sizeof(float));
    *lse = LSC_FN(lsc_lse_value)((const char *)x, (ptrdiff_t)sizeof(LSC_T), n, mc);
    lsc_softmax_scales(st, nc);
    LSC_FN(lsc_softmax_write_chunks)(x, y, n, st, buf, (double)scale, stream, pf);
}

/* lsc_softmax_scaled_row for nr contiguous rows of n elements one after the other (row r
 * at x + r n, y + r n; y not x), scale[r], lse[r]: rows of several chunks through
 * lsc_softmax_scaled_long_row with one buffer of a row; with prefetch (an input from
 * memory) each row's write fetches the next row; with stream (an output far larger
 * than the caches) the long rows' writes are non-temporal, fenced once at the end. */
static void LSC_FN(lsc_softmax_scaled_rows)(const LSC_T *x, LSC_T *y, ptrdiff_t n,
                                            ptrdiff_t nr, const LSC_T *scale, LSC_T *lse,
                                            int prefetch, int stream)
{
    const ptrdiff_t nc = LSC_FN(lsc_nchunks)(n);
    LSC_T *buf = nc > 1 && nc <= LSC_SOFTMAX_ROW_CHUNKS
                     ? (LSC_T *)lsc_scratch_get((size_t)n * sizeof(LSC_T))
                     : NULL;
    stream = LSC_STREAM && stream && buf != NULL;
    for (ptrdiff_t r = 0; r < nr; r++) {
        if (buf != NULL) {
            LSC_FN(lsc_softmax_scaled_long_row)(x + r * n, y + r * n, n, scale[r], lse + r,
                                                buf, prefetch && r + 1 < nr ? x + (r + 1) * n
                                                                           : NULL,
                                                stream);
        }
        else {
            LSC_FN(lsc_softmax_scaled_row)(x + r * n, y + r * n, n, scale[r], lse + r);
        }
    }
    if (stream) {
        LSC_SFENCE();
    }
    if (buf != NULL) {
        lsc_scratch_put(buf);
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

/* Fetch row j of a column block (b contiguous elements at x + j * sxn) ahead of its
   use, a cache line at a time, if the block has such a row.  A block's rows are far
   apart (one row of the array each), which the hardware's stream prefetchers,
   working within a page, follow poorly. */
LSC_INLINE void LSC_FN(lsc_cols_prefetch)(const char *x, ptrdiff_t sxn, ptrdiff_t j,
                                          ptrdiff_t n, ptrdiff_t b)
{
    if (j < n) {
        const char *r = x + j * sxn;
        for (ptrdiff_t k = 0; k < b * (ptrdiff_t)sizeof(LSC_T); k += 64) {
            __builtin_prefetch(r + k, 0, 3);
        }
    }
}

LSC_INLINE void LSC_FN(lsc_cols_body)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi,
                                      char *y, ptrdiff_t syn, ptrdiff_t syi,
                                      ptrdiff_t n, ptrdiff_t b, ptrdiff_t rows, int op,
                                      int stream)
{
    LSC_T mx[LSC_BMAX], ms[LSC_BMAX], cm[LSC_BMAX], part[LSC_BMAX], count[LSC_BMAX];
    LSC_T off[LSC_BMAX];
    double acc[LSC_BMAX], comp[LSC_BMAX];
    if (rows < 1) {
        rows = 1;
    }
    /* (zeros the compiler cannot see as constants: otherwise it makes each array's a
       memset, a rep stos, whose start-up took a tenth of the time of a tile of short
       rows) */
    LSC_T z = 0;
    double zd = 0.0;
    LSC_OPAQUE(z);
    LSC_OPAQUE(zd);
    for (ptrdiff_t k = 0; k < b; k++) {
        mx[k] = -INFINITY;
        ms[k] = z;
        count[k] = z;
        part[k] = z;
        acc[k] = zd;
        comp[k] = zd;
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
           when no column's did; the first chunk's takes its max, with nothing to
           rescale (what the rescale gives there: a scale of 0 times sums of 0) */
        int any_grow = 0;
        if (j0 == 0) {
#pragma omp simd
            for (ptrdiff_t k = 0; k < b; k++) {
                mx[k] = cm[k];
                ms[k] = cm[k] == -INFINITY ? (LSC_T)0 : cm[k];
            }
        }
        else {
#pragma omp simd reduction(|:any_grow)
            for (ptrdiff_t k = 0; k < b; k++) {
                any_grow |= cm[k] > mx[k];
            }
        }
#pragma omp simd
        for (ptrdiff_t k = 0; k < (any_grow ? b : 0); k++) {
            /* a higher max: what was counted as equal to the old max, and the sum,
               are rescaled to the new one (from -inf: scale 0, all was 0) */
            int grow = cm[k] > mx[k];
            LSC_T d = mx[k] - cm[k];
            LSC_T bb = d - mx[k];
            LSC_T err = (mx[k] - (d - bb)) + (-cm[k] - bb);
            /* (scaled, as the terms below: acc is 2**64 times the sum) */
            LSC_T e = LSC_EXPS(d);
            err = e >= (LSC_T)LSC_CORR_MIN ? err : (LSC_T)0;
            double scale = (double)(e + e * err) * (1.0 / LSC_VEXP_S);
            double a = grow ? (acc[k] + (double)count[k] * LSC_VEXP_S) * scale : acc[k];
            comp[k] = grow ? 0.0 : comp[k];
            acc[k] = a;
            count[k] = grow ? (LSC_T)0 : count[k];
            mx[k] = grow ? cm[k] : mx[k];
            /* what is subtracted: while the max is still -inf, the column has seen
               only -inf (whose exp must come out 0, not exp(-inf + inf)) and NaN */
            ms[k] = mx[k] == -INFINITY ? (LSC_T)0 : mx[k];
        }
        /* each lane adds LSC_FOLD terms in LSC_T, then folds them into double */
        for (ptrdiff_t jf = j0; jf < j1; jf += LSC_FOLD) {
            ptrdiff_t jf1 = j1 - jf < LSC_FOLD ? j1 : jf + LSC_FOLD;
            for (ptrdiff_t j = jf; j < jf1; j++) {
                const char *xr = x + j * sxn;
                if (sxi == (ptrdiff_t)sizeof(LSC_T)) {
                    /* the same row of the next chunk, for its max pass */
                    LSC_FN(lsc_cols_prefetch)(x, sxn, j + rows, n, b);
                }
#pragma omp simd
                for (ptrdiff_t k = 0; k < b; k++) {
                    /* the term with the rounding error of d (TwoSum, as lsc_vdominated),
                       scaled by 2**64 (as lsc_cols_step's) */
                    LSC_T v = *(const LSC_T *)(xr + k * sxi);
                    LSC_T d = v - ms[k];
                    LSC_T bb = d - v;
                    LSC_T err = (v - (d - bb)) + (-ms[k] - bb);
                    LSC_T e = LSC_EXPS(d);
                    err = e >= (LSC_T)LSC_CORR_MIN ? err : (LSC_T)0;  /* (lsc_vcorr_add) */
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
            double mc[2] = {(double)mx[k], lsc_log1p_f64(acc[k] * (1.0 / LSC_VEXP_S) +
                                                         ((double)count[k] - 1.0))};
            *(LSC_T *)(y + k * syi) = LSC_FN(lsc_lse_value)(x + k * sxi, sxn, n, mc);
        }
        return;
    }
#pragma omp simd
    for (ptrdiff_t k = 0; k < b; k++) {
        /* lsc_combine for one chunk, vectorised over the columns */
        double m = (double)mx[k];
        double lse = lsc_log1p_core(acc[k] * (1.0 / LSC_VEXP_S) + ((double)count[k] - 1.0),
                                    sizeof(LSC_T) == sizeof(float));
        off[k] = (LSC_T)(m > -INFINITY && m < INFINITY ? lse : NAN);
    }
    if (stream) {
        /* each row of the block through an L1 buffer, then out with non-temporal
           stores (y's rows are contiguous here: syi is the element size) */
        LSC_T *t = part;
        for (ptrdiff_t j = 0; j < n; j++) {
            const char *xr = x + j * sxn;
            LSC_FN(lsc_cols_prefetch)(x, sxn, j + LSC_COL_AHEAD, n, b);
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
    const int ahead = sxi == (ptrdiff_t)sizeof(LSC_T);
    if (op == LSC_OP_SOFTMAX) {
        for (ptrdiff_t j = 0; j < n; j++) {
            const char *xr = x + j * sxn;
            char *yr = y + j * syn;
            if (ahead) {
                LSC_FN(lsc_cols_prefetch)(x, sxn, j + LSC_COL_AHEAD, n, b);
            }
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
        if (ahead) {
            LSC_FN(lsc_cols_prefetch)(x, sxn, j + LSC_COL_AHEAD, n, b);
        }
#pragma omp simd
        for (ptrdiff_t k = 0; k < b; k++) {
            *(LSC_T *)(yr + k * syi) = (*(const LSC_T *)(xr + k * sxi) - mx[k]) - off[k];
        }
    }
}

/* ---- column bands: whole vectors of columns through a packed copy ------------------
 *
 * Where a vector of columns down all n rows takes at most LSC_COL_PACK_BYTES, a column
 * block goes through in bands of LSC_COL_BAND_BYTES / (n * LSC_SIMD_BYTES) vectors of
 * columns (LSC_COL_BAND_MIN_V to LSC_COL_BAND_V of them), each in three passes:
 *   1. down the rows of x (from memory, in runs of up to 512 bytes of a row): the max
 *      of each vector of columns, and where needed a packed copy of the band, vector
 *      column by vector column, each one contiguous;
 *   2. each vector column (from cache): per lane, the dominated sum with its
 *      correction and the count of the max (lsc_vdominated_step's arithmetic, the
 *      count per lane), the sums in registers down the rows;
 *   3. down the rows again: the band's rows of y.
 * x is read from memory once.  The later passes read the band in x itself, or from
 * the packed copy where the rows of x are a multiple of 1 KiB apart (with a
 * power-of-two row length a column's rows fall into a handful of cache sets: a
 * 4096-float row is 16 KiB, every row of a column maps to one of 4 sets of a 1 MiB,
 * 16-way L2, where they would evict each other long before the next pass), where the
 * columns are strided (gathered) and for a last partial vector of columns.  The bands
 * of a block run in a pipeline: the sums of a band carry the write pass of the band
 * before and fetch the band after (for packed float bands, do its first pass), so
 * that the memory's traffic overlaps the arithmetic.  Every column, dominated or not,
 * gets the dominated sum, so -log1p(s) keeps its relative accuracy everywhere; a
 * column's arithmetic depends only on n, not on its band, its block or the strides.
 */

/* the terms of lsc_cols_step without their correction, the same operations: ev =
   exp(v - m) (scaled) into *part where d = v - m != 0, the count of d == 0 into *cnt;
   ev returned.  (lsc_cols_step keeps its own copy of them, in its order: built on this
   function, its loops spilled more registers, and columns of 81 rows took 2-4% longer) */
LSC_INLINE LSC_V LSC_FN(lsc_cols_term)(LSC_V d, LSC_V *part, LSC_V *cnt)
{
    LSC_V ev = LSC_VEXPS(d);
#if defined(LSC_MASK_ADD)
    LSC_MASK_T ne = LSC_CMPNEQ_MASK(d, LSC_SPLAT(LSC_V, 0));
    *part = LSC_MASK_ADD(*part, ne, *part, ev);
    *cnt = LSC_MASK_ADD(*cnt, (LSC_MASK_T)~ne, *cnt, LSC_SPLAT(LSC_V, 1));
#else
    LSC_VI z = (LSC_VI)(d == LSC_SPLAT(LSC_V, 0));
    *part += (LSC_V)((LSC_VI)ev & ~z);
    *cnt += (LSC_V)((LSC_VI)LSC_SPLAT(LSC_V, 1) & z);
#endif
    return ev;
}

/* one vector of a column sum: lsc_vdominated_step with ev computed here (scaled, as
   lsc_vdominated_pass: *part and *corr are 2**64 times the sums) and the count of the
   max per lane in *cnt */
LSC_INLINE void LSC_FN(lsc_cols_step)(LSC_V v, LSC_V vm, LSC_V nm, LSC_V *part, LSC_V *corr,
                                      LSC_V *cnt, const int guard)
{
    LSC_V d = v - vm;
    LSC_V ev = LSC_VEXPS(d);
    LSC_V err = LSC_FN(lsc_vdiff_err)(v, d, nm);
#if defined(LSC_MASK_ADD)
    LSC_MASK_T ne = LSC_CMPNEQ_MASK(d, LSC_SPLAT(LSC_V, 0));
    *part = LSC_MASK_ADD(*part, ne, *part, ev);
    *cnt = LSC_MASK_ADD(*cnt, (LSC_MASK_T)~ne, *cnt, LSC_SPLAT(LSC_V, 1));
#else
    LSC_VI z = (LSC_VI)(d == LSC_SPLAT(LSC_V, 0));
    *part += (LSC_V)((LSC_VI)ev & ~z);
    *cnt += (LSC_V)((LSC_VI)LSC_SPLAT(LSC_V, 1) & z);
#endif
    *corr = LSC_FN(lsc_vcorr_add)(ev, err, *corr, guard);
}

/* A band of a column block: b columns (x, y; column strides sxi, syi: the element
 * size, or else the rows are gathered and scattered through `row`), nv = ceil(b / LSC_W)
 * <= LSC_COL_BAND_V vectors of them, its packed copy buf (vector column v, n vectors, at
 * buf + v * pn * LSC_W: lsc_bands' pn), the maxes vmx and offsets vo of its vectors of columns, and
 * the next row j its write pass writes. */
typedef struct {
    const char *x;
    char *y;
    LSC_T *buf;
    /* the band's values: (vector column v, row j) at src + v * sv + j * sr, in buf or
       in x itself */
    const char *src;
    ptrdiff_t sv, sr;
    ptrdiff_t sxi, syi, b, nv, j;
    /* its first pass: packed (not read in place), and its first `loaded` vectors of
       columns done (by the sums of the band before it) */
    int packed;
    ptrdiff_t loaded;
    /* the last band of the block (no band after it continues its rows) */
    int last;
    LSC_V vmx[LSC_COL_BAND_V], vo[LSC_COL_BAND_V];
    LSC_T mx[LSC_COL_BAND_V * LSC_W], off[LSC_COL_BAND_V * LSC_W];
    double lse[LSC_COL_BAND_V * LSC_W];
    LSC_T row[LSC_COL_BAND_V * LSC_W] __attribute__((aligned(64)));
    /* lsc_band_write_lines: rows j (in lrow[j % 2] + LSC_LINE_T, after a line of
       padding) */
    LSC_T lrow[2][LSC_COL_BAND_V * LSC_W + LSC_LINE_T] __attribute__((aligned(64)));
} LSC_FN(lsc_band);

/* the parameters of a column block's bands; direct: read the bands where they are */
typedef struct {
    ptrdiff_t sxn, syn, n;
    /* the vectors from one vector column of a packed band to the next (n and a cache
       line: see LSC_COL_PAD) */
    ptrdiff_t pn;
    int op, stream, direct;
    /* rows ahead that the sums fetch the next band's rows into L1 and into L2 (see
       lsc_cols_ahead) */
    ptrdiff_t ahead, far;
    /* streamed rows off the cache lines (lsc_band_write_lines): per row j the end of
       its last band's part that did not fill a line, stash[j * 64 / size .. + scnt[j]);
       NULL where not streamed */
    LSC_T *stash;
    int16_t *scnt;
    /* (lsc_band_emit_block) the block's x and the per-column mx and off of all its
       bands, column c at bmx[c] and boff[c]; bmx NULL elsewhere */
    const char *x0;
    LSC_T *bmx, *boff;
} LSC_FN(lsc_bands);

#if LSC_STREAM
/* Streamed rows of a band where the rows of y (contiguous columns) do not all start at
 * one offset within a vector (lsc_band_write_lines).  A row goes out in whole cache
 * lines with non-temporal stores; a line that a band's part of the row begins or ends
 * within is shared with the band before or after it: the end of a band's part goes to
 * the row's stash (unless the band is the block's last), and the next band completes
 * the line from it and streams it whole.  (Partial lines written at different times,
 * or plain stores to them, each cost a read of the line from memory: 4096x4090 axis 0
 * took 2.6 times as long written that way, through lsc_stream_copy, as with plain stores
 * throughout.)  Row jj of band w, computed in w->lrow[jj % 2], goes out here. */
static void LSC_FN(lsc_band_emit_lines)(LSC_FN(lsc_band) *w, const LSC_FN(lsc_bands) *p,
                                        ptrdiff_t jj)
{
    typedef LSC_V V;
    typedef LSC_VI VI;
    typedef __typeof__(((VI){0})[0]) IT;
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T), lw = LSC_LINE_T, b = w->b;
    /* lanes < lw - q of the vector at lanes_below + q all ones */
    static const IT lanes_below[2 * LSC_LINE_T] = {
        [0 ... LSC_LINE_T - 1] = (IT)-1};
    const LSC_T *row = w->lrow[jj % 2] + lw;
    LSC_T *y = (LSC_T *)(w->y + jj * p->syn), *st = p->stash + jj * lw;
    /* the elements before the first line boundary */
    const ptrdiff_t a = (ptrdiff_t)((64 - ((uintptr_t)y) % 64) % 64 / (uintptr_t)es);
    const ptrdiff_t ns = p->scnt[jj], h = a < b ? a : b;
    ptrdiff_t k = h;
    if (ns > 0 && ns + h == lw) {
        /* the band before ended in the line this one begins in: the line whole, from
           the stash (its first ns lanes) and the row (the padding before it unread) */
        for (ptrdiff_t u = 0; u < lw; u += LSC_W) {
            const VI m = LSC_VLOAD_T(VI, lanes_below + lw - ns + u);
            const VI v = ((VI)LSC_VLOAD(st + u) & m) | ((VI)LSC_VLOAD(row + u - ns) & ~m);
            LSC_VSTREAM_A(y - ns + u, (V)v);
        }
    }
    else if (ns > 0) {
        /* a band narrower than the rest of the line: on to the next band, or out */
        memcpy(st + ns, row, (size_t)(h * es));
        if (w->last) {
            memcpy(y - ns, st, (size_t)((ns + h) * es));
            p->scnt[jj] = 0;
        }
        else {
            p->scnt[jj] = (int16_t)(ns + h);
        }
        return;
    }
    else {
        memcpy(y, row, (size_t)(h * es));
    }
    for (; k + lw <= b; k += lw) {
        for (ptrdiff_t u = 0; u < lw; u += LSC_W) {
            LSC_VSTREAM_A(y + k + u, LSC_VLOAD(row + k + u));
        }
    }
    /* the end of the band's part: to the stash for the next band, or plain at the end
       of the block */
    const ptrdiff_t t = b - k;
    if (t > 0 && !w->last) {
        memcpy(st, row + k, (size_t)(t * es));
        p->scnt[jj] = (int16_t)t;
    }
    else {
        memcpy(y + k, row + k, (size_t)(t * es));
        p->scnt[jj] = 0;
    }
}

#if LSC_COLS_ONEPASS
#define LSC_BAND_EMIT_BLOCK 1
/* the first cnt < LSC_W elements at p (the other lanes 0), and the first cnt lanes of
   v to p (lsc_cols_onepass.h's masked loads and stores) */
LSC_INLINE LSC_V LSC_FN(lsc_loadn)(const LSC_T *p, ptrdiff_t cnt)
{
    if (sizeof(LSC_T) == sizeof(float)) {
        return (LSC_V)lsc_op_loadn((const float *)(const void *)p, cnt);
    }
    return (LSC_V)lsc_op_loadn_d((const double *)(const void *)p, cnt);
}
LSC_INLINE void LSC_FN(lsc_storen)(LSC_T *p, LSC_V v, ptrdiff_t cnt)
{
    if (sizeof(LSC_T) == sizeof(float)) {
        lsc_op_storen((float *)(void *)p, (lsc_opv)v, cnt);
    }
    else {
        lsc_op_storen_d((double *)(void *)p, (lsc_opvd)v, cnt);
    }
}
/* y's vector of the cnt elements from x, mx, off (cnt < LSC_W: the others 0) */
LSC_INLINE LSC_V LSC_FN(lsc_band_vec)(const LSC_T *x, const LSC_T *mx, const LSC_T *off,
                                      ptrdiff_t cnt, const int soft)
{
    LSC_V r;
    if (cnt >= LSC_W) {
        r = (LSC_VLOAD(x) - LSC_VLOAD(mx)) - LSC_VLOAD(off);
    }
    else {
        r = (LSC_FN(lsc_loadn)(x, cnt) - LSC_FN(lsc_loadn)(mx, cnt)) -
            LSC_FN(lsc_loadn)(off, cnt);
    }
    return soft ? LSC_VEXP(r) : r;
}
/* elements k .. k + cnt - 1 of the row, within one line of y: streamed where they are
   the whole line, else by masked stores */
LSC_INLINE void LSC_FN(lsc_band_emit_part)(const LSC_T *xr, const LSC_T *mx,
                                           const LSC_T *off, LSC_T *y, ptrdiff_t k,
                                           ptrdiff_t cnt, const int soft)
{
    const LSC_T *xk = xr + k, *mk = mx + k, *ok = off + k;
    LSC_T *yk = y + k;
    for (ptrdiff_t u = 0; u < LSC_LINE_T; u += LSC_W) {
        if (cnt == LSC_LINE_T) {
            LSC_VSTREAM_A(yk + u, LSC_FN(lsc_band_vec)(xk + u, mk + u, ok + u, LSC_W, soft));
        }
        else if (cnt > u) {
            const ptrdiff_t c = cnt - u < LSC_W ? cnt - u : LSC_W;
            const LSC_V v = LSC_FN(lsc_band_vec)(xk + u, mk + u, ok + u, c, soft);
            LSC_FN(lsc_storen)(yk + u, v, c);
        }
    }
}

/* Row jj of band w where the block's x is read in place and its columns are
 * contiguous (lsc_cols_vec: p->bmx), in the AVX-512 and AVX2 builds: each line of y
 * computed at once from x, at any offset, and from the block's per-column mx and off
 * (the lanes of each band's vmx and vo: the same operations on the same values, so
 * the same bits as lsc_band_write_row), then streamed.  The line a band shares with
 * the band before is the later band's, whose write comes after the other's and reads
 * the other's x where it still is (its tail left unwritten); the block's first and
 * last partial lines by masked stores.  No row buffer, no stash: through them (as
 * lsc_band_write_lines still goes for the other blocks), the unaligned loads of a row
 * waited on its stores, which waited behind the streamed stores of the rows before,
 * and 32x81x8732 along axis 1 (rows 34928 bytes apart) took 1.4 times as long as
 * 32x81x8704, whose rows' vectors go straight to y. */
static void LSC_FN(lsc_band_emit_block)(LSC_FN(lsc_band) *w, const LSC_FN(lsc_bands) *p,
                                        ptrdiff_t jj)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T), lw = LSC_LINE_T, b = w->b;
    const int soft = p->op == LSC_OP_SOFTMAX;
    /* the band's first column within the block */
    const ptrdiff_t c0 = (w->x - p->x0) / es;
    const LSC_T *xr = (const LSC_T *)(w->x + jj * p->sxn), *mx = p->bmx + c0,
                *off = p->boff + c0;
    LSC_T *y = (LSC_T *)(w->y + jj * p->syn);
    /* the elements before the first line boundary */
    const ptrdiff_t a = (ptrdiff_t)((64 - ((uintptr_t)y) % 64) % 64 / (uintptr_t)es);
    ptrdiff_t k = 0;
    if (a > 0) {
        /* the line the band before ended in (from its first column where there is
           none), to the band's end if that comes first */
        const ptrdiff_t lo = c0 > 0 ? a - lw : 0, hi = a < b ? a : b;
        LSC_FN(lsc_band_emit_part)(xr, mx, off, y, lo, hi - lo, soft);
        k = a;
    }
    for (; k + lw <= b; k += lw) {
        LSC_FN(lsc_band_emit_part)(xr, mx, off, y, k, lw, soft);
    }
    /* the end of the band's part: the next band's, or plain at the end of the block */
    if (k < b && w->last) {
        LSC_FN(lsc_band_emit_part)(xr, mx, off, y, k, b - k, soft);
    }
}
#endif

/* Row j of band w (its values at c) into w->lrow[j % 2]; row j - 1 out (stored a call
 * before: read back at once, the unaligned loads of lines would wait on the stores),
 * and row j too if it is the last; or, for lsc_band_emit_block, rows j - j %
 * LSC_EMIT_ROWS to j, the rows lsc_band_write_row left to it (the write of a band's
 * rows goes in order, and all of them before the next band's: the lines two bands
 * share need nothing else).  Called once a row, the call's spills of the sums' vector
 * registers took 32x81x8732 along axis 1 1.1 times as long as every 8 rows (16 and 32
 * measured level with 8). */
__attribute__((noinline)) static void LSC_FN(lsc_band_write_lines)(
    LSC_FN(lsc_band) *w, const LSC_FN(lsc_bands) *p, ptrdiff_t j, const char *c)
{
    typedef LSC_V V;
#if defined(LSC_BAND_EMIT_BLOCK)
    if (p->bmx != NULL) {
        for (ptrdiff_t i = j - j % LSC_EMIT_ROWS; i <= j; i++) {
            LSC_FN(lsc_band_emit_block)(w, p, i);
        }
        return;
    }
#endif
    LSC_T *row = w->lrow[j % 2] + LSC_LINE_T;
    for (ptrdiff_t v = 0; v < w->nv; v++) {
        V r = (LSC_VLOAD(c + v * w->sv) - w->vmx[v]) - w->vo[v];
        if (p->op == LSC_OP_SOFTMAX) {
            r = LSC_VEXP(r);
        }
        LSC_VSTORE(row + v * LSC_W, r);
    }
    if (j > 0) {
        LSC_FN(lsc_band_emit_lines)(w, p, j - 1);
    }
    if (j == p->n - 1) {
        LSC_FN(lsc_band_emit_lines)(w, p, j);
    }
}
#endif

/* One row of a band's write pass (y's rows in order), if any is left (through
 * lsc_band_write_lines where the rows have stashes): whole vectors
 * straight to y (with non-temporal stores where y's row is aligned to a vector), the
 * rest through the band's row: the end of a row that is a partial vector, all of it
 * where non-temporal stores need aligning (lsc_stream_copy aligns them) or where y's
 * columns are not contiguous. */
LSC_INLINE void LSC_FN(lsc_band_write_row)(LSC_FN(lsc_band) *w, const LSC_FN(lsc_bands) *p)
{
    typedef LSC_V V;
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    const ptrdiff_t j = w->j, nv = w->nv;
    if (j >= p->n) {
        return;
    }
    w->j = j + 1;
    char *yr = w->y + j * p->syn;
    const char *c = w->src + j * w->sr;
#if LSC_STREAM
    if (__builtin_expect(p->stash != NULL || p->bmx != NULL, 0)) {
        /* (lsc_band_emit_block's rows LSC_EMIT_ROWS at a time: the call spills the
           sums' vector registers around it) */
        if (p->bmx == NULL || (j + 1) % LSC_EMIT_ROWS == 0 || j + 1 == p->n) {
            LSC_FN(lsc_band_write_lines)(w, p, j, c);
        }
        return;
    }
#endif
    const int direct = w->syi == es && (!p->stream || ((uintptr_t)yr) % LSC_SIMD_BYTES == 0);
    const ptrdiff_t nd = direct ? w->b / LSC_W : 0;
    /* (read once: the stores below could alias them as far as the compiler knows) */
    const ptrdiff_t sv = w->sv;
    const int op = p->op, stream = p->stream;
    for (ptrdiff_t v = 0; v < nv; v++) {
        V r = (LSC_VLOAD(c + v * sv) - w->vmx[v]) - w->vo[v];
        if (op == LSC_OP_SOFTMAX) {
            r = LSC_VEXP(r);
        }
        if (v >= nd) {
            LSC_VSTORE(w->row + v * LSC_W, r);
        }
#if LSC_STREAM
        else if (stream) {
            LSC_CAT(LSC_VSTREAM, LSC_SFX)((LSC_T *)(yr + v * LSC_SIMD_BYTES),
                                          (LSC_CAT(lsc_v, LSC_SFX))r);
        }
#endif
        else {
            LSC_VSTORE(yr + v * LSC_SIMD_BYTES, r);
        }
    }
    if (w->syi != es) {
        for (ptrdiff_t k = 0; k < w->b; k++) {
            *(LSC_T *)(yr + k * w->syi) = w->row[k];
        }
    }
    else if (nd < nv) {
        LSC_FN(lsc_stream_copy)(w->row + nd * LSC_W, (LSC_T *)(yr + nd * LSC_SIMD_BYTES),
                                w->b - nd * LSC_W);
    }
}

/* The sums of vector columns v .. v + G - 1 of band s against their maxes vm (-inf
 * lanes as 0), per lane: rest[k] the dominated sum (LSC_FOLD rows in LSC_T, then in
 * double with Kahan's compensation, as lsc_vsums), corr[k] its correction (both 2**64
 * times their value: lsc_cols_step), cnt[k] the count of the max; with light, corr[k]
 * left out (0: the terms of lsc_cols_term alone, the same rest and count bit for bit).
 * Columns side by side give the processor independent chains of exps to overlap.  The
 * loop carries the write pass of band w (if not NULL): a row of it each time *debt,
 * counting the vectors summed, reaches the row's vectors; and fetches row j of the G
 * vector columns at xp (if not NULL; the line of each vector's end) in row j. */
LSC_INLINE void LSC_FN(lsc_cols_vsums)(const LSC_FN(lsc_band) *s, ptrdiff_t v, const LSC_V *vm,
                                       const LSC_FN(lsc_bands) *p, double *rest,
                                       LSC_T *corr, LSC_T *cnt, const char *xp,
                                       LSC_FN(lsc_band) *w, ptrdiff_t *debt, const int G,
                                       const int guard, LSC_FN(lsc_band) *ld,
                                       const int carry, const int light)
{
    typedef LSC_V V;
    const ptrdiff_t n = p->n;
    const char *c = s->src + v * s->sv;
    const ptrdiff_t sv = s->sv, sr = s->sr;
    V nm[LSC_COL_G], cr[LSC_COL_G], ct[LSC_COL_G], part[LSC_COL_G], lm[LSC_COL_G];
    const char *lx = carry ? ld->x + v * LSC_SIMD_BYTES : NULL;
    LSC_T *lb = carry ? ld->buf + v * p->pn * LSC_W : NULL;
    for (int g = 0; g < G; g++) {
        lm[g] = LSC_SPLAT(V, -INFINITY);
    }
    /* (set in a loop over the G in use: an initialiser of the whole arrays became
       two `rep stos`, 6% of the time of 32x10x784 axis 1) */
    lsc_vf64 acc[LSC_COL_G][LSC_NVD], comp[LSC_COL_G][LSC_NVD];
    for (int g = 0; g < G; g++) {
        for (int h = 0; h < LSC_NVD; h++) {
            acc[g][h] = LSC_SPLAT(lsc_vf64, 0.0);
            comp[g][h] = LSC_SPLAT(lsc_vf64, 0.0);
        }
        nm[g] = -vm[g];
        cr[g] = LSC_SPLAT(V, 0);
        ct[g] = LSC_SPLAT(V, 0);
    }
    for (ptrdiff_t j0 = 0; j0 < n; j0 += LSC_FOLD) {
        const ptrdiff_t j1 = n - j0 < LSC_FOLD ? n : j0 + LSC_FOLD;
        for (int g = 0; g < G; g++) {
            part[g] = LSC_SPLAT(V, 0);
        }
        for (ptrdiff_t j = j0; j < j1; j++) {
            for (int g = 0; g < G; g++) {
                if (carry) {
                    /* the first pass of band ld, vector of columns v + g, row j (its
                       rows fetched p->ahead ahead, into the next G vectors of
                       columns at the bottom; and into L2 p->far ahead, within
                       these columns: wrapped as well, measured slower) */
                    const char *xr = lx + j * p->sxn + g * LSC_SIMD_BYTES;
                    const ptrdiff_t ja = j + p->ahead;
                    __builtin_prefetch(ja < n ? xr + p->ahead * p->sxn
                                              : lx + (ja - n) * p->sxn + (G + g) * LSC_SIMD_BYTES,
                                       0, 3);
                    if (j + p->far < n) {
                        __builtin_prefetch(xr + p->far * p->sxn, 0, 1);
                    }
                    const V a = LSC_VLOAD(xr);
                    lm[g] = LSC_VMAX(a, lm[g]);
                    LSC_VSTORE(lb + (g * p->pn + j) * LSC_W, a);
                }
                else if (xp != NULL) {
                    /* the line of the vector's last byte: where the rows are not on
                       cache lines, the vectors' first bytes left each row's last line
                       of the band unfetched, and its first pass waited on them (a
                       fifth of the kernel's samples in 32x81x4366 double along axis
                       1, 1 thread); the band's first line is the last of the band
                       before, in the caches already */
                    __builtin_prefetch(xp + j * p->sxn + g * LSC_SIMD_BYTES + LSC_SIMD_BYTES - 1,
                                       0, 3);
                }
                if (light) {
                    (void)LSC_FN(lsc_cols_term)(LSC_VLOAD(c + g * sv + j * sr) - vm[g], &part[g],
                                                &ct[g]);
                }
                else {
                    LSC_FN(lsc_cols_step)(LSC_VLOAD(c + g * sv + j * sr), vm[g], nm[g],
                                          &part[g], &cr[g], &ct[g], guard);
                }
            }
        }
        for (int g = 0; g < G; g++) {
            LSC_FN(lsc_vfold)(part[g], acc[g], comp[g]);
        }
        if (w != NULL) {
            /* as many vectors of w's write as this loop took */
            *debt += G * (j1 - j0);
            while (*debt >= w->nv) {
                *debt -= w->nv;
                LSC_FN(lsc_band_write_row)(w, p);
            }
        }
    }
    if (carry) {
        for (int g = 0; g < G; g++) {
            ld->vmx[v + g] = lm[g];
        }
        ld->loaded = v + G;
    }
    for (int g = 0; g < G; g++) {
        for (int h = 0; h < LSC_NVD; h++) {
            lsc_vf64 r = acc[g][h] - comp[g][h];
            memcpy(rest + g * LSC_W + h * (LSC_SIMD_BYTES / 8), &r, sizeof r);
        }
        if (light) {
            for (ptrdiff_t k = 0; k < LSC_W; k++) {
                corr[g * LSC_W + k] = 0;
            }
        }
        else {
            memcpy(corr + g * LSC_W, &cr[g], sizeof cr[g]);
        }
        memcpy(cnt + g * LSC_W, &ct[g], sizeof ct[g]);
    }
}

/* The offsets of nl columns from their statistics (rest, corr, cnt: lsc_cols_vsums;
 * mx, their maxes): off[k] = log1p(s), NaN where the max is not finite.  Float columns
 * for log_softmax and softmax (fl) by lsc_col_off_f32 (exact: their sums are floats,
 * columns of at most LSC_FOLD rows); the others by lsc_log1p_core in double, kept in
 * lse[k] (logsumexp's).  One source for lsc_band_stats and lsc_cols_short, inlined in
 * each, so that the two keep each other's bits (an out-of-line copy took 1.04 of the
 * time of 32x81x4366 float64 along axis 1). */
LSC_INLINE void LSC_FN(lsc_cols_offsets)(const double *rest, const LSC_T *corr,
                                         const LSC_T *cnt, const LSC_T *mx, LSC_T *off,
                                         double *lse, ptrdiff_t nl, const int fl,
                                         const int exact)
{
    if (sizeof(LSC_T) == sizeof(float) && fl && exact) {
#pragma omp simd
        for (ptrdiff_t k = 0; k < nl; k++) {
            off[k] = (LSC_T)lsc_col_off_f32(rest[k], (float)corr[k], (float)cnt[k],
                                            (float)mx[k], 1);
        }
    }
    else if (sizeof(LSC_T) == sizeof(float) && fl) {
#pragma omp simd
        for (ptrdiff_t k = 0; k < nl; k++) {
            off[k] = (LSC_T)lsc_col_off_f32(rest[k], (float)corr[k], (float)cnt[k],
                                            (float)mx[k], 0);
        }
    }
    else {
#pragma omp simd
        for (ptrdiff_t k = 0; k < nl; k++) {
            lse[k] = lsc_log1p_core((rest[k] + (double)corr[k]) * (1.0 / LSC_VEXP_S) +
                                        ((double)cnt[k] - 1.0),
                                    sizeof(LSC_T) == sizeof(float));
            off[k] = mx[k] > -INFINITY && mx[k] < INFINITY ? (LSC_T)lse[k] : (LSC_T)NAN;
        }
    }
}

/* Pass 2 of band s, its statistics: per column mx[k], off[k] = log1p(s) where the max
 * is finite, else NaN, lse[k] = log1p(s) whatever the max; and vo.  Carries the write
 * pass of band w (if not NULL) and the next band's x: for a packed float band ld (if
 * not NULL), the first pass of its whole vectors of contiguous columns (as many as the
 * sums reach, in order: ld->loaded; each loads a row of x as the sums take a row, and
 * fetches p->ahead rows ahead), else the fetch of its nvp vectors of
 * columns (if not 0), a cache line per vector, the first pass after the sums.  The
 * fetch a whole band ahead lost the lines of packed bands (rows a multiple of 1 KiB
 * apart, in a handful of cache sets) before their first pass read them.  (Inlined into
 * lsc_cols_vec: left out of line by the compiler once lsc_band_write_row grew, its
 * loops lost the constants of lsc_cols_vec's specialised copies, and the column paths
 * took 1.1-1.2 times as long.) */
LSC_INLINE void LSC_FN(lsc_band_stats)(LSC_FN(lsc_band) *s, const LSC_FN(lsc_bands) *p,
                                   ptrdiff_t nvp, LSC_FN(lsc_band) *w, LSC_FN(lsc_band) *ld)
{
    typedef LSC_V V;
    ptrdiff_t debt = 0;
    /* the vectors of columns summed, and those with a lane that took the correction */
    ptrdiff_t nvec = 0, ndom = 0;
    /* softmax's columns take no correction at all: its results take log1p(s) as an
       absolute quantity, which needs none (the float one pass's LSC_ONEPASS_LIGHT;
       lsc_cols_short alike) */
    const int soft = p->op == LSC_OP_SOFTMAX;
    const int adaptive = !soft && p->n >= LSC_COL_LIGHT_MIN_N;
    /* ld's whole vectors of contiguous columns */
    const ptrdiff_t nld =
        ld != NULL && ld->sxi == (ptrdiff_t)sizeof(LSC_T) ? ld->b / LSC_W : 0;
    for (ptrdiff_t v = 0; v < s->nv;) {
        const ptrdiff_t left = s->nv - v;
        const int G = left >= LSC_COL_G ? LSC_COL_G : (left >= 2 ? 2 : 1);
        LSC_T corr[LSC_COL_G * LSC_W], cnt[LSC_COL_G * LSC_W];
        double rest[LSC_COL_G * LSC_W];
        LSC_T *mx = s->mx + v * LSC_W, *off = s->off + v * LSC_W;
        double *lse = s->lse + v * LSC_W;
        V vm[LSC_COL_G];
        for (int g = 0; g < G; g++) {
            const V vmx = s->vmx[v + g];
            /* a column of only -inf and NaN: its exps against 0, not exp(-inf + inf) */
            vm[g] = (V)((LSC_VI)vmx & ~(LSC_VI)(vmx == LSC_SPLAT(V, -INFINITY)));
            memcpy(mx + g * LSC_W, &vmx, sizeof vmx);
        }
        /* the next band comes in as this one's sums go: its first pass where its
           vectors of columns are whole (ld, in order), else a cache line per vector */
        const char *xp = v + G <= nvp ? s->x + (s->nv + v) * LSC_SIMD_BYTES : NULL;
        LSC_FN(lsc_band) *l =
            LSC_COL_CARRY_LOAD && ld != NULL && ld->packed && v + G <= nld && ld->loaded == v
                ? ld
                : NULL;
        /* The correction of the terms for the rounding of x - m (lsc_cols_step) matters
           only to a column whose dominated sum is below LSC_DOM_CORRECT_BELOW (as for a
           row, lsc_vstats) and whose max is finite (else the result is NaN or the max
           anyway); the others leave it out, in columns of LSC_COL_LIGHT_MIN_N rows and
           more (adaptive; shorter ones, dominated more often, take it throughout).
           Most vectors of such columns have no such lane: their sums go without it
           (light, lsc_cols_term alone: the same rest and count bit for bit), and a
           vector that has one goes again with it.  Where such vectors were many in
           the band so far, the sums take it from the start.  Either way a column's
           result depends on its own values and n alone (never on its neighbours, nor
           on the choice). */
        const int light = soft || (adaptive && LSC_COL_LIGHT_SHARE * ndom <= nvec);
        /* (each form a loop of its own, light a constant in each) */
#define LSC_COLS_VSUMS(G_, ld_, carry_)                                                   \
    do {                                                                                  \
        if (light) {                                                                      \
            LSC_FN(lsc_cols_vsums)(s, v, vm, p, rest, corr, cnt, xp, w, &debt, G_, 0, ld_, \
                                   carry_, 1);                                            \
        }                                                                                 \
        else {                                                                            \
            LSC_FN(lsc_cols_vsums)(s, v, vm, p, rest, corr, cnt, xp, w, &debt, G_, 0, ld_, \
                                   carry_, 0);                                            \
        }                                                                                 \
    } while (0)
        if (G == LSC_COL_G && l != NULL) {
            LSC_COLS_VSUMS(LSC_COL_G, l, 1);
        }
        else if (G == LSC_COL_G) {
            LSC_COLS_VSUMS(LSC_COL_G, NULL, 0);
        }
        else if (G == 2 && l != NULL) {
            LSC_COLS_VSUMS(2, l, 1);
        }
        else if (G == 2) {
            LSC_COLS_VSUMS(2, NULL, 0);
        }
        else if (l != NULL) {
            LSC_COLS_VSUMS(1, l, 1);
        }
        else {
            LSC_COLS_VSUMS(1, NULL, 0);
        }
#undef LSC_COLS_VSUMS
        const ptrdiff_t nl = G * LSC_W;
        nvec += G;
        /* the lanes that take the correction (all where not adaptive; soft's light sums
           leave every correction 0, none of them NaN): rest / 2**64 +
           (cnt - 1) below LSC_DOM_CORRECT_BELOW with a finite max, that is, one lane
           equal to the max (cnt is at least 1 where the max is finite, 0 where it is
           not: no lane's difference is 0) and the rest below LSC_DOM_CORRECT_BELOW
           2**64; and whether any of their corrections is NaN (without light: from a
           -inf, which the guard leaves out) */
        int dom[LSC_COL_G * LSC_W];
        int anyd = 0, nan = 0;
        if (adaptive) {
#pragma omp simd reduction(| : anyd, nan)
            for (ptrdiff_t k = 0; k < nl; k++) {
                const int d = cnt[k] == (LSC_T)1 && rest[k] < LSC_DOM_CORRECT_BELOW * LSC_VEXP_S;
                dom[k] = d;
                anyd |= d;
                nan |= d & (corr[k] != corr[k]);
            }
        }
        else {
            /* (in a column with a finite max and no NaN, where going again helps) */
#pragma omp simd reduction(| : nan)
            for (ptrdiff_t k = 0; k < nl; k++) {
                nan |= (corr[k] != corr[k]) & (rest[k] == rest[k]) & (mx[k] > -INFINITY) &
                       (mx[k] < INFINITY);
            }
        }
        for (int g = 0; (adaptive ? anyd : nan) && g < G; g++) {
            int need = !adaptive;
            for (ptrdiff_t k = g * LSC_W; adaptive && k < (g + 1) * LSC_W; k++) {
                need |= dom[k];
            }
            ndom += need;
            if (need && (light || nan)) {
                LSC_T cnt1[LSC_W];
                double rest1[LSC_W];
                LSC_FN(lsc_cols_vsums)(s, v + g, vm + g, p, rest1, corr + g * LSC_W, cnt1, NULL,
                                       NULL, NULL, 1, 1, NULL, 0, 0);
            }
        }
        if (adaptive) {
#pragma omp simd
            for (ptrdiff_t k = 0; k < nl; k++) {
                corr[k] = dom[k] ? corr[k] : (LSC_T)0;
            }
        }
        /* (float columns' lse unset: only logsumexp reads it) */
        if (p->n <= LSC_FOLD) {
            LSC_FN(lsc_cols_offsets)(rest, corr, cnt, mx, off, lse, nl,
                                     p->op != LSC_OP_LOGSUMEXP, 1);
        }
        else {
            LSC_FN(lsc_cols_offsets)(rest, corr, cnt, mx, off, lse, nl,
                                     p->op != LSC_OP_LOGSUMEXP, 0);
        }
        for (int g = 0; g < G; g++) {
            memcpy(&s->vo[v + g], off + g * LSC_W, sizeof s->vo[v + g]);
        }
        v += G;
    }
}

/* A band s of the b columns at x (y), before its first pass: whether it is packed, its
 * maxes at -inf, none of its vectors of columns loaded. */
static void LSC_FN(lsc_band_setup)(LSC_FN(lsc_band) *s, const LSC_FN(lsc_bands) *p,
                                   const char *x, char *y, ptrdiff_t b, int last)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    const int cx = s->sxi == es;
    const ptrdiff_t nf = cx ? b / LSC_W : 0, nv = (b + LSC_W - 1) / LSC_W;
    /* read in place: whole vectors of contiguous columns, where the caller allows */
    const int direct = p->direct && cx && nf == nv;
    s->x = x;
    s->y = y;
    s->b = b;
    s->nv = nv;
    s->j = 0;
    s->packed = !direct;
    s->loaded = 0;
    s->last = last;
    s->src = direct ? x : (const char *)s->buf;
    s->sv = direct ? LSC_SIMD_BYTES : p->pn * LSC_SIMD_BYTES;
    s->sr = direct ? p->sxn : LSC_SIMD_BYTES;
    for (ptrdiff_t v = 0; v < nv; v++) {
        s->vmx[v] = LSC_SPLAT(LSC_V, -INFINITY);
    }
    for (ptrdiff_t l = b; l < nv * LSC_W; l++) {
        s->row[l] = 0;
    }
}

/* Pass 1 of a band s (from lsc_band_setup), past the vectors of columns that the sums of
 * the band before did (s->loaded): the maxes s->vmx of its b columns (nv vectors of
 * them), and their packed copy in s->buf unless the band is read in place (p->direct,
 * whole vectors of contiguous columns).  A last partial vector is packed with 0 in its
 * other lanes (computed, never written); so are all of them where x's columns are not
 * contiguous (gathered through s->row).  first: fetch the band's rows ahead here (a
 * first band, and packed double bands: see lsc_cols_vec; the sums of a band before
 * fetch the others). */
static void LSC_FN(lsc_band_load)(LSC_FN(lsc_band) *s, const LSC_FN(lsc_bands) *p, int first)
{
    typedef LSC_V V;
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T), n = p->n, pn = p->pn, sxi = s->sxi;
    const int cx = sxi == es;
    const char *x = s->x;
    const ptrdiff_t b = s->b, nv = s->nv;
    /* the whole vectors loaded straight from x */
    const ptrdiff_t nf = cx ? b / LSC_W : 0;
    LSC_T *buf = s->buf, *row = s->row;
    const int direct = !s->packed;
    /* eight vectors of columns at a time down the rows: runs of 512 bytes of each row
       of x, the maxes in registers (after the ones the band before loaded) */
    for (ptrdiff_t v0 = s->loaded; v0 < nf; v0 += 8) {
        const ptrdiff_t nc = nf - v0 < 8 ? nf - v0 : 8;
        const char *xv = x + v0 * LSC_SIMD_BYTES;
        LSC_T *bv = direct ? NULL : buf + v0 * pn * LSC_W;
        V m[8];
        for (int u = 0; u < 8; u++) {
            m[u] = LSC_SPLAT(V, -INFINITY);
        }
        if (nc == 8) {
            for (ptrdiff_t j = 0; j < n; j++) {
                const char *xr = xv + j * p->sxn;
                if (first) {
                    /* a first band: nothing fetched it */
                    for (int u = 0; u < 8; u++) {
                        __builtin_prefetch(xr + LSC_COL_AHEAD_PACK * p->sxn + u * LSC_SIMD_BYTES,
                                           0, 3);
                    }
                }
                for (int u = 0; u < 8; u++) {
                    V a = LSC_VLOAD(xr + u * LSC_SIMD_BYTES);
                    m[u] = LSC_VMAX(a, m[u]);
                    if (!direct) {
                        LSC_VSTORE(bv + (u * pn + j) * LSC_W, a);
                    }
                }
            }
        }
        else {
            for (ptrdiff_t j = 0; j < n; j++) {
                const char *xr = xv + j * p->sxn;
                if (first) {
                    for (ptrdiff_t u = 0; u < nc; u++) {
                        __builtin_prefetch(xr + LSC_COL_AHEAD_PACK * p->sxn + u * LSC_SIMD_BYTES,
                                           0, 3);
                    }
                }
                for (ptrdiff_t u = 0; u < nc; u++) {
                    V a = LSC_VLOAD(xr + u * LSC_SIMD_BYTES);
                    m[u] = LSC_VMAX(a, m[u]);
                    if (!direct) {
                        LSC_VSTORE(bv + (u * pn + j) * LSC_W, a);
                    }
                }
            }
        }
        for (ptrdiff_t u = 0; u < nc; u++) {
            s->vmx[v0 + u] = m[u];
        }
    }
    /* the rest of each row (a last partial vector, or all of a strided row) through
       row */
    for (ptrdiff_t j = 0; j < n && nf < nv; j++) {
        const char *xr = x + j * p->sxn;
        if (cx) {
            memcpy(row + nf * LSC_W, xr + nf * LSC_SIMD_BYTES, (size_t)((b - nf * LSC_W) * es));
        }
        else {
            for (ptrdiff_t k = 0; k < b; k++) {
                row[k] = *(const LSC_T *)(xr + k * sxi);
            }
        }
        for (ptrdiff_t v = nf; v < nv; v++) {
            V a = LSC_VLOAD(row + v * LSC_W);
            s->vmx[v] = LSC_VMAX(a, s->vmx[v]);
            LSC_VSTORE(buf + (v * pn + j) * LSC_W, a);
        }
    }
}

/* b columns (x, y) in bands of at most LSC_COL_BAND_BYTES of packed copy, in a
 * pipeline: the sums of band i carry the write pass of band i - 1 (a row of it for
 * each row's worth of vectors summed) and fetch band i + 1, whose first pass follows
 * (for packed float bands, they do most of that first pass themselves).  Two bands'
 * copies, three where the sums do a first pass, from the scratch pool.  Returns 0,
 * having done nothing, if they cannot be had. */
static int LSC_FN(lsc_cols_vec)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                int op, int stream)
{
    typedef LSC_FN(lsc_band) Band;
    /* the bands are read where they are unless the rows of x are a multiple of 1 KiB
       apart: then a column's rows fall into few cache sets (see above) */
    const int direct = sxn % 1024 != 0;
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    const ptrdiff_t nv = (b + LSC_W - 1) / LSC_W;
    const int lse = op == LSC_OP_LOGSUMEXP;
    ptrdiff_t bv = LSC_COL_BAND_BYTES / (n * LSC_SIMD_BYTES);
    bv = bv < LSC_COL_BAND_MIN_V ? LSC_COL_BAND_MIN_V
         : (bv > LSC_COL_BAND_V ? LSC_COL_BAND_V : bv);
    bv = bv > nv ? nv : bv;
    /* Where y's rows start at one offset within a vector (syn a multiple of the vector
       size) and the block does not start at a vector boundary of y, a first band of
       the columns before y's first boundary, so that the others write whole aligned
       vectors of y: a vector of y split between two bands would be written twice,
       each time in part, and through a buffer where the stores are non-temporal.
       Not for a block of a few vectors written with plain stores: its two bands would
       both end in a part of a vector, which goes through `row` row by row (80x16x16
       along axis 1, y 16 bytes past a line: 3.5 times as long as y on a line). */
    ptrdiff_t b0 = bv * LSC_W;
    if (syi == es && syn % LSC_SIMD_BYTES == 0 && ((uintptr_t)y) % es == 0 &&
        (stream || nv > 4)) {
        const ptrdiff_t h = LSC_FN(lsc_to_boundary)(y);
        b0 = h > 0 ? h : b0;
    }
    /* the packed copies, unless every band is read in place (lsc_band_load: whole
       vectors of contiguous columns, where p.direct) */
    const ptrdiff_t bf = b < b0 ? b : b0;  /* the first band's columns */
    const int copies = !(direct && sxi == es) || bf % LSC_W != 0 || (b - bf) % LSC_W != 0;
    const ptrdiff_t pn = n + LSC_COL_PAD / LSC_SIMD_BYTES;
    const size_t nbuf = copies ? (size_t)(pn * bv * LSC_SIMD_BYTES) : 0;
    /* three bands where the sums of one carry the first pass of the next (packed float
       bands), else two */
    const int nband = LSC_COL_CARRY_LOAD && copies ? 3 : 2;
    /* a streamed y whose rows do not all start at one offset within a vector: the
       rows' stashes (lsc_band_write_lines), a line and a count a row (where they do,
       the first band above aligns the others' rows to vectors) */
    const int lines = LSC_STREAM && stream && !lse && syi == es && ((uintptr_t)y) % es == 0 &&
                      syn % LSC_SIMD_BYTES != 0;
#if defined(LSC_BAND_EMIT_BLOCK)
    /* (with AVX-512 and AVX2, where x is read in place, the lines straight from it
       instead: the block's per-column mx and off, lsc_band_emit_block) */
    const int block = lines && direct && sxi == es;
#else
    const int block = 0;
#endif
    const size_t nstash = lines && !block ? (size_t)n * 66 : 0;
    const size_t nblock = block ? (size_t)(2 * ((b * es + 63) / 64 * 64)) : 0;
    /* the bands (a whole number of cache lines each), then the copies and stashes, from
       the scratch pool, which keeps them between calls: a block's malloc and free of the
       bands alone (about 30 KiB, above the sizes glibc keeps at hand) took a third of the
       time of 80x16x16 along axis 1 (a block of 16 columns by 16 rows for each of the
       80), which now takes none */
    const size_t nbands = nband * sizeof(Band);
    char *scratch = (char *)lsc_scratch_get(nbands + nband * nbuf + nstash + nblock);
    if (scratch == NULL) {
        return 0;
    }
    Band *band = (Band *)scratch;
    scratch += nbands;
    LSC_T *bufs = copies ? (LSC_T *)scratch : NULL;
    int16_t *scnt = nstash ? (int16_t *)(scratch + nband * nbuf + (size_t)n * 64) : NULL;
    if (nstash) {
        memset(scnt, 0, (size_t)n * sizeof *scnt);
    }
    LSC_T *bmx = block ? (LSC_T *)(scratch + nband * nbuf + nstash) : NULL;
    LSC_T *boff = block ? bmx + nblock / 2 / es : NULL;
    ptrdiff_t ahead, far;
    lsc_cols_ahead(sxn, &ahead, &far);
    const LSC_FN(lsc_bands) p = {sxn, syn, n, pn, op, stream, direct, ahead, far,
                                 nstash ? (LSC_T *)(scratch + nband * nbuf) : NULL, scnt,
                                 x, bmx, boff};
    for (int h = 0; h < nband; h++) {
        band[h].buf = copies ? (LSC_T *)((char *)bufs + h * nbuf) : NULL;
        band[h].sxi = sxi;
        band[h].syi = syi;
    }
    Band *cur = &band[0], *prev = NULL;
    LSC_FN(lsc_band_setup)(cur, &p, x, y, bf, bf >= b);
    LSC_FN(lsc_band_load)(cur, &p, 1);
    for (ptrdiff_t k = cur->b;; k += cur->b) {
        /* cur: loaded, columns k - cur->b on; prev: the band before it, its write pass
           still to do; next: the band after it, its first pass begun by cur's sums */
        const ptrdiff_t bn = b - k < bv * LSC_W ? b - k : bv * LSC_W;
        Band *next = NULL;
        if (bn > 0 && nband == 3) {
            next = &band[0] != cur && &band[0] != prev ? &band[0]
                   : (&band[1] != cur && &band[1] != prev ? &band[1] : &band[2]);
            LSC_FN(lsc_band_setup)(next, &p, x + k * sxi, y + k * syi, bn, k + bn >= b);
        }
        LSC_FN(lsc_band_stats)(cur, &p, sxi == es ? (bn + LSC_W - 1) / LSC_W : 0,
                               lse ? NULL : prev, next);
        if (block) {
            memcpy(bmx + (k - cur->b), cur->mx, (size_t)(cur->b * es));
            memcpy(boff + (k - cur->b), cur->off, (size_t)(cur->b * es));
        }
        if (lse) {
            for (ptrdiff_t c = 0; c < cur->b; c++) {
                double mc[2] = {(double)cur->mx[c], cur->lse[c]};
                *(LSC_T *)(cur->y + c * syi) =
                    LSC_FN(lsc_lse_value)(cur->x + c * sxi, sxn, n, mc);
            }
        }
        while (prev != NULL && !lse && prev->j < n) {
            LSC_FN(lsc_band_write_row)(prev, &p);
        }
        if (bn == 0) {
            break;
        }
        if (next == NULL) {
            /* (two bands: prev's, done with) */
            next = cur == &band[0] ? &band[1] : &band[0];
            LSC_FN(lsc_band_setup)(next, &p, x + k * sxi, y + k * syi, bn, k + bn >= b);
        }
        /* the rest of next's first pass (a short first band did little of it), which
           fetches its rows itself after a short first band, and for packed double
           bands (not carried by the sums: the lines the sums fetch a band ahead,
           rows a multiple of 1 KiB apart, fall into a few cache sets and are mostly
           gone by then; 2048x8192 double axis 0 0.91-0.95 of the time) */
        LSC_FN(lsc_band_load)(next, &p,
                              (k == b0 && b0 < bv * LSC_W) || (!LSC_COL_CARRY_LOAD && !direct));
        prev = cur;
        cur = next;
    }
    while (!lse && cur->j < n) {
        LSC_FN(lsc_band_write_row)(cur, &p);
    }
    if (stream) {
        LSC_SFENCE();
    }
    lsc_scratch_put(band);
    return 1;
}

/* ---- short columns: each vector of columns through all its passes at once ----------
 *
 * Columns of at most LSC_COL_SHORT_N rows (two classes along a middle axis, a few rows
 * along axis 0), contiguous in x and y: each group of up to LSC_COL_G whole vectors of
 * columns goes through the bands' three passes before the next, its rows copied to a
 * buffer in L1 as the max is taken (rows a multiple of 4 KiB apart fall into one set of
 * L1), then the sums (lsc_cols_vsums, as in a band), the statistics (lsc_band_stats'
 * arithmetic for columns this short: the correction throughout but for softmax, the
 * sums again with the guard where a correction is NaN) and the write, all from the
 * buffer.  The same bits as the bands for every column (a column's arithmetic is the
 * bands', in the same order); the bands' set-up, their pipeline and the statistics'
 * per-band loops cost more than the arithmetic itself in such columns.  The groups are
 * chosen as lsc_band_stats chooses them, so that the statistics' loop over the lanes
 * has the same variable count in both: with a constant count (groups of at most 2
 * vectors) gcc vectorised it otherwise and moved the last bit of some double columns; a
 * copy of the loop out of line, shared by both, kept the bits but took 1.04 of the time
 * of 32x81x4366 float64 along axis 1 (test_short_columns_same_bits_as_the_bands
 * compares the two paths); both inline lsc_cols_offsets, one source for that loop. */
/* (LSC_COL_SHORT_N: lsc_kernels.h) */
/* (their float sums are never folded into double: lsc_col_off_f32's exact form) */
_Static_assert(LSC_COL_SHORT_N <= LSC_COL_FOLD, "short columns fold their sums");
/* (and blocks of at most this many bytes, whatever their rows' distance) */
#define LSC_COL_SHORT_BYTES (64 * 1024)
LSC_INLINE void LSC_FN(lsc_cols_short)(const char *x, ptrdiff_t sxn, char *y, ptrdiff_t syn,
                                       ptrdiff_t n, ptrdiff_t nvec, int op, const int soft)
{
    /* (soft: op is softmax, whose terms go without their correction as in the bands,
       lsc_band_stats; a constant in each copy, where op is one only in softmax's: a
       variable in the sums took log_softmax's short columns 1.03-1.06 times as long) */
    typedef LSC_V V;
    LSC_T buf[LSC_COL_G * LSC_COL_SHORT_N * LSC_W] __attribute__((aligned(64)));
    /* the band the sums read: vector column g at buf + g n LSC_W, row j LSC_W on */
    LSC_FN(lsc_band) s;
    s.src = (const char *)buf;
    s.sv = n * LSC_SIMD_BYTES;
    s.sr = LSC_SIMD_BYTES;
    const LSC_FN(lsc_bands) p = {sxn, syn, n, n, op, 0, 1, 0, 0, NULL, NULL};
    for (ptrdiff_t v = 0; v < nvec;) {
        const ptrdiff_t left = nvec - v;
        const int G = left >= LSC_COL_G ? LSC_COL_G : (left >= 2 ? 2 : 1);
        const char *xv = x + v * LSC_SIMD_BYTES;
        char *yv = y + v * LSC_SIMD_BYTES;
        V vmx[LSC_COL_G], vm[LSC_COL_G], vo[LSC_COL_G];
        for (int g = 0; g < G; g++) {
            vmx[g] = LSC_SPLAT(V, -INFINITY);
        }
        for (ptrdiff_t j = 0; j < n; j++) {
            for (int g = 0; g < G; g++) {
                /* (the group two on, a line a vector: prefetches do not fault past the
                   end of the rows) */
                __builtin_prefetch(xv + j * sxn + (2 * LSC_COL_G + g) * LSC_SIMD_BYTES, 0, 3);
                const V a = LSC_VLOAD(xv + j * sxn + g * LSC_SIMD_BYTES);
                vmx[g] = LSC_VMAX(a, vmx[g]);
                LSC_VSTORE(buf + (g * n + j) * LSC_W, a);
            }
        }
        LSC_T mx[LSC_COL_G * LSC_W], off[LSC_COL_G * LSC_W];
        LSC_T corr[LSC_COL_G * LSC_W], cnt[LSC_COL_G * LSC_W];
        double rest[LSC_COL_G * LSC_W], lse[LSC_COL_G * LSC_W];
        for (int g = 0; g < G; g++) {
            /* (as lsc_band_stats: a column of only -inf and NaN against 0) */
            vm[g] = (V)((LSC_VI)vmx[g] & ~(LSC_VI)(vmx[g] == LSC_SPLAT(V, -INFINITY)));
            memcpy(mx + g * LSC_W, &vmx[g], sizeof vmx[g]);
        }
        /* (each G a loop of its own) */
        if (n == 2) {
            /* Two rows: the step on the element that is not the max alone (per lane the
               other one, or the second where they are equal), the count of the max
               started at 1.  The max's own step adds nothing to the sum (its term is
               left out), 1 to the count and ev * 0 to the correction: the sums' bits
               whatever the order, as lsc_cols_vsums makes them; a lane whose max is not
               finite comes out NaN either way.  (n is a constant in lsc_cols' copy for
               two rows.) */
            for (int g = 0; g < G; g++) {
                const V a0 = LSC_VLOAD(buf + (g * n) * LSC_W);
                const V a1 = LSC_VLOAD(buf + (g * n + 1) * LSC_W);
                const LSC_VI top = (LSC_VI)(a0 == vmx[g]);
                const V o = (V)((top & (LSC_VI)a1) | (~top & (LSC_VI)a0));
                V part = LSC_SPLAT(V, 0), cr = LSC_SPLAT(V, 0), ct = LSC_SPLAT(V, 1);
                if (soft) {
                    (void)LSC_FN(lsc_cols_term)(o - vm[g], &part, &ct);
                }
                else {
                    LSC_FN(lsc_cols_step)(o, vm[g], -vm[g], &part, &cr, &ct, 0);
                }
                lsc_vf64 acc[LSC_NVD], comp[LSC_NVD];
                for (int h = 0; h < LSC_NVD; h++) {
                    acc[h] = LSC_SPLAT(lsc_vf64, 0.0);
                    comp[h] = LSC_SPLAT(lsc_vf64, 0.0);
                }
                LSC_FN(lsc_vfold)(part, acc, comp);
                for (int h = 0; h < LSC_NVD; h++) {
                    const lsc_vf64 r = acc[h] - comp[h];
                    memcpy(rest + g * LSC_W + h * (LSC_SIMD_BYTES / 8), &r, sizeof r);
                }
                memcpy(corr + g * LSC_W, &cr, sizeof cr);
                memcpy(cnt + g * LSC_W, &ct, sizeof ct);
            }
        }
        else if (G == LSC_COL_G) {
            LSC_FN(lsc_cols_vsums)(&s, 0, vm, &p, rest, corr, cnt, NULL, NULL, NULL, LSC_COL_G,
                                   0, NULL, 0, soft);
        }
        else if (G == 2) {
            LSC_FN(lsc_cols_vsums)(&s, 0, vm, &p, rest, corr, cnt, NULL, NULL, NULL, 2, 0, NULL,
                                   0, soft);
        }
        else {
            LSC_FN(lsc_cols_vsums)(&s, 0, vm, &p, rest, corr, cnt, NULL, NULL, NULL, 1, 0, NULL,
                                   0, soft);
        }
        /* a NaN correction in a column with a finite max: the sums again with the
           guard, as in lsc_band_stats (which also asks for a rest that is not NaN: where
           it is, the result is NaN whatever the correction, so going again here changes
           nothing).  (In vectors: the baseline build's gcc made the lanes' loop a
           reduction through an MMX register, without emms, and the x87 instructions
           after it, long double among them, faulted.) */
        int nan = 0;
        for (int g = 0; g < G; g++) {
            V cv;
            memcpy(&cv, corr + g * LSC_W, sizeof cv);
            nan |= LSC_VANY((LSC_VI)(cv != cv) & (LSC_VI)(vmx[g] > LSC_SPLAT(V, -INFINITY)) &
                            (LSC_VI)(vmx[g] < LSC_SPLAT(V, INFINITY)));
        }
        const ptrdiff_t nl = G * LSC_W;
        for (int g = 0; nan && g < G; g++) {
            LSC_T cnt1[LSC_W];
            double rest1[LSC_W];
            LSC_FN(lsc_cols_vsums)(&s, g, vm + g, &p, rest1, corr + g * LSC_W, cnt1, NULL, NULL,
                                   NULL, 1, 1, NULL, 0, 0);
        }
        /* (as lsc_band_stats: the sums of at most LSC_COL_SHORT_N <= LSC_FOLD rows are
           floats) */
        LSC_FN(lsc_cols_offsets)(rest, corr, cnt, mx, off, lse, nl, 1, 1);
        for (int g = 0; g < G; g++) {
            memcpy(&vo[g], off + g * LSC_W, sizeof vo[g]);
        }
        for (ptrdiff_t j = 0; j < n; j++) {
            for (int g = 0; g < G; g++) {
                V r = (LSC_VLOAD(buf + (g * n + j) * LSC_W) - vmx[g]) - vo[g];
                if (op == LSC_OP_SOFTMAX) {
                    r = LSC_VEXP(r);
                }
                LSC_VSTORE(yv + j * syn + g * LSC_SIMD_BYTES, r);
            }
        }
        v += G;
    }
}

/* lsc_cols_short through a copy for each of 2 to 4 rows (the classes of a
   segmentation map), n a constant in each: its loops down the rows unrolled, 0.88-0.95
   of the time */
LSC_INLINE void LSC_FN(lsc_cols_short_n)(const char *x, ptrdiff_t sxn, char *y, ptrdiff_t syn,
                                         ptrdiff_t n, ptrdiff_t nvec, int op, const int soft)
{
    switch (n) {
    case 2:
        LSC_FN(lsc_cols_short)(x, sxn, y, syn, 2, nvec, op, soft);
        break;
    case 3:
        LSC_FN(lsc_cols_short)(x, sxn, y, syn, 3, nvec, op, soft);
        break;
    case 4:
        LSC_FN(lsc_cols_short)(x, sxn, y, syn, 4, nvec, op, soft);
        break;
    default:
        LSC_FN(lsc_cols_short)(x, sxn, y, syn, n, nvec, op, soft);
        break;
    }
}

/* softmax's copies, out of line, so that lsc_cols (and log_softmax's copies in it)
   keeps the code it had (inlined there, log_softmax's short columns measured 1.02-1.03
   times as long, within this machine's noise) */
static __attribute__((noinline)) void LSC_FN(lsc_cols_short_softmax)(const char *x,
                                                                     ptrdiff_t sxn, char *y,
                                                                     ptrdiff_t syn,
                                                                     ptrdiff_t n,
                                                                     ptrdiff_t nvec)
{
    LSC_FN(lsc_cols_short_n)(x, sxn, y, syn, n, nvec, LSC_OP_SOFTMAX, 1);
}

/* whether lsc_cols takes columns of n rows through bands of whole vectors (which
   depends on n alone, so that a column's arithmetic does not depend on the layout) */
static int LSC_FN(lsc_cols_banded)(ptrdiff_t n)
{
    return n * LSC_SIMD_BYTES <= LSC_COL_PACK_BYTES;
}

/* A column block of n rows by b columns (b <= LSC_BMAX, or any b where
   lsc_cols_banded) */
static void LSC_FN(lsc_cols)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi,
                             char *y, ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                             ptrdiff_t rows, int op, int stream)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
#if LSC_COLS_ONEPASS
    /* long columns: one pass along the rows (lsc_cols_onepass.h) */
    if (sizeof(LSC_T) == sizeof(float) && lsc_onepass_n(n) &&
        lsc_cols_onepass_f32(x, sxn, sxi, y, syn, syi, n, b, op, stream, NULL, NULL)) {
        return;
    }
    if (sizeof(LSC_T) == sizeof(double) && lsc_onepass_n_f64(n) &&
        lsc_cols_onepass_f64(x, sxn, sxi, y, syn, syi, n, b, op, stream, NULL, NULL)) {
        return;
    }
#endif
    /* short columns (not streamed: outputs in the caches), their whole vectors: up to 8
       rows, up to LSC_COL_SHORT_N where the rows are not a multiple of 1 KiB apart or
       the block is small (else the rows of a vector of columns share a set of L1 and
       of L2 and go before they are read; the bands, whose pipeline fetches them, took
       0.95-1.0 of the time of 8x12x128x128 along axis 1 from 10 rows on) */
    if (sxi == es && syi == es && op != LSC_OP_LOGSUMEXP && !stream && b >= LSC_W &&
        (n <= 8 || (n <= LSC_COL_SHORT_N &&
                    (sxn % 1024 != 0 || n * b * es <= LSC_COL_SHORT_BYTES)))) {
        const ptrdiff_t nf = b / LSC_W;
        if (op == LSC_OP_SOFTMAX) {
            LSC_FN(lsc_cols_short_softmax)(x, sxn, y, syn, n, nf);
        }
        else {
            LSC_FN(lsc_cols_short_n)(x, sxn, y, syn, n, nf, op, 0);
        }
        x += nf * LSC_SIMD_BYTES;
        y += nf * LSC_SIMD_BYTES;
        b -= nf * LSC_W;
        if (b == 0) {
            return;
        }
    }
    if (LSC_FN(lsc_cols_banded)(n) &&
        LSC_FN(lsc_cols_vec)(x, sxn, sxi, y, syn, syi, n, b, op, stream)) {
        return;
    }
    /* pieces of LSC_BMAX columns (more come only where bands were to take them) */
    for (ptrdiff_t k = 0; k < b; k += LSC_BMAX) {
        const ptrdiff_t w = b - k < LSC_BMAX ? b - k : LSC_BMAX;
        if (sxi == es && syi == es) {
            /* constant strides let gcc emit packed loads and stores */
            LSC_FN(lsc_cols_body)(x + k * es, sxn, es, y + k * es, syn, es, n, w, rows, op,
                                  stream);
        }
        else {
            LSC_FN(lsc_cols_body)(x + k * sxi, sxn, sxi, y + k * syi, syn, syi, n, w, rows, op,
                                  0);
        }
    }
}

/* A thread's b columns (of one outer index) as lsc_cols in sub-blocks, the first w0
 * columns wide, then w each (the last to the end; _onepass_thread's cuts).  Where they
 * go in one pass, the write of each block is left to the next one's statistics
 * (lsc_onepass_pend), the last block's written after its own.  On the Xeon (whose
 * guests' share of L3 did not keep a sub-block's rows for their write: a loop over 4 MiB
 * read it at memory's rate), new / each block written after its statistics, fastest of
 * 3 processes of 9 calls, 1 / 2 threads: 4096x4096 along axis 0 0.92 / 0.91, 4096x2048
 * double 0.92 / 0.94, 2048x4096 0.96 / 0.94, 2048x8192 1.05 / 1.00 (8192x2048, whose
 * columns stay whole, the same code: 0.98 / 1.01); 16 rows at a time, where 2 rows at a
 * time took 1.03-1.06 times as long (docs/history/rounds.md, the thirteenth round on the
 * Xeon).  The same bits: each element's arithmetic is the write's own. */
static void LSC_FN(lsc_cols_seq)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                 ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                 ptrdiff_t w0, ptrdiff_t w, ptrdiff_t rows, int op,
                                 int stream)
{
#if LSC_COLS_ONEPASS
    const int single = sizeof(LSC_T) == sizeof(float);
    const int onepass = single ? lsc_onepass_n(n) : lsc_onepass_n_f64(n);
    lsc_onepass_pend pend[2];
    pend[0].active = 0;
    pend[1].active = 0;
    int cur = 0;
#endif
    ptrdiff_t wk = w0;
    for (ptrdiff_t k = 0; k < b; k += wk) {
        wk = k == 0 ? w0 : w;
        wk = wk < b - k ? wk : b - k;
        const char *xk = x + k * sxi;
        char *yk = y + k * syi;
#if LSC_COLS_ONEPASS
        if (onepass) {
            lsc_onepass_pend *prev = pend[cur ^ 1].active ? &pend[cur ^ 1] : NULL;
            const int done =
                single
                    ? lsc_cols_onepass_f32(xk, sxn, sxi, yk, syn, syi, n, wk, op, stream, prev,
                                           &pend[cur])
                    : lsc_cols_onepass_f64(xk, sxn, sxi, yk, syn, syi, n, wk, op, stream, prev,
                                           &pend[cur]);
            if (done) {
                cur ^= 1;
                continue;
            }
            if (prev != NULL) {
                lsc_onepass_pend_finish(prev);
            }
        }
#endif
        LSC_FN(lsc_cols)(xk, sxn, sxi, yk, syn, syi, n, wk, rows, op, stream);
    }
#if LSC_COLS_ONEPASS
    lsc_onepass_pend_finish(&pend[0]);
    lsc_onepass_pend_finish(&pend[1]);
#endif
}

/* ---- narrow column blocks through the row kernels ----------------------------------
 *
 * A block of n rows by b < LSC_NARROW columns gives the column kernels a vector or two
 * (or part of one) per row, too little work to pay for their walk down the rows
 * (64x1000x3 axis 1: 8 ns an element, 1.5 times PyTorch's time; 64x1000x8 3 times).  Such a block is transposed into a buffer whose
 * rows are its columns, goes through the row pipelines there (in place), and is
 * transposed back.  The drivers choose this by the array's inner length and n alone
 * (lsc_cols_narrow), never by the threads' blocks, so a column's arithmetic still
 * does not depend on the number of threads.
 */
static inline int LSC_FN(lsc_cols_narrow)(ptrdiff_t n, ptrdiff_t inner)
{
    return inner > 1 && inner < LSC_NARROW && n > LSC_SMALL_N;
}

#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
/* With AVX-512, the transposes of dense blocks of 2 to 15 columns (to 9 double ones;
 * x's block, or y's, one contiguous run: row j's b elements at j b) by permutes: a run
 * of LSC_W rows is b vectors, and each column's vector (element t b + c of the run in
 * lane t) is picked from each pair of them by a vpermt2ps (vpermt2pd), the pairs'
 * picks joined by masked moves; back, each vector of the run from the columns' vectors
 * alike.  Element by element, 64x1000x3 along axis 1 spent 60% of its time in the two
 * transposes; by permutes the whole call takes 0.42-0.63 of the time for 2 to 15 float
 * columns, 0.76-0.77 for 3 and 9 double ones.  The last rows (fewer than LSC_W) one by
 * one.  Returns 0 for other blocks. */
#define LSC_DEAL_MAX 15
/* (double blocks up to 9 columns: 64x1000x15 double took 1.05 of the time of the
   elements one by one, 64x1000x9 0.77) */
#define LSC_DEAL_MAX_T ((ptrdiff_t)(sizeof(LSC_T) == sizeof(float) ? LSC_DEAL_MAX : 9))
/* the vector picked from v[0 .. 2 np) by lane indices ix into a pair, km[p] the lanes
   taken from pair p >= 1 */
LSC_INLINE LSC_V LSC_FN(lsc_deal_pick)(const LSC_V *v, const int32_t *ix, const unsigned *km,
                                       ptrdiff_t np)
{
    if (sizeof(LSC_T) == sizeof(float)) {
        const __m512i i = _mm512_loadu_si512(ix);
        __m512 r = _mm512_permutex2var_ps((__m512)v[0], i, (__m512)v[1]);
        for (ptrdiff_t p = 1; p < np; p++) {
            r = _mm512_mask_mov_ps(
                r, (__mmask16)km[p],
                _mm512_permutex2var_ps((__m512)v[2 * p], i, (__m512)v[2 * p + 1]));
        }
        return (LSC_V)r;
    }
    else {
        const __m512i i = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)ix));
        __m512d r = _mm512_permutex2var_pd((__m512d)v[0], i, (__m512d)v[1]);
        for (ptrdiff_t p = 1; p < np; p++) {
            r = _mm512_mask_mov_pd(
                r, (__mmask8)km[p],
                _mm512_permutex2var_pd((__m512d)v[2 * p], i, (__m512d)v[2 * p + 1]));
        }
        return (LSC_V)r;
    }
}

/* the picks of the transpose (out == 0: column c's lane t is element t b + c of a run)
   or of the way back (out == 1: the run's vector q's lane t is column (q W + t) % b,
   row (q W + t) / b): per vector, the lanes' indices into a pair of vectors and the
   masks of those from each pair */
static inline void LSC_FN(lsc_deal_index)(int out, ptrdiff_t b, int32_t ix[][16],
                                          unsigned km[][(LSC_DEAL_MAX + 1) / 2])
{
    for (ptrdiff_t c = 0; c < b; c++) {
        for (ptrdiff_t p = 0; p < (LSC_DEAL_MAX + 1) / 2; p++) {
            km[c][p] = 0;
        }
        for (ptrdiff_t t = 0; t < LSC_W; t++) {
            const ptrdiff_t e = out ? c * LSC_W + t : t * b + c;
            const ptrdiff_t s = out ? e % b : e / LSC_W, l = out ? e / b : e % LSC_W;
            ix[c][t] = (int32_t)(l + LSC_W * (s & 1));
            km[c][s / 2] |= 1u << t;
        }
    }
}

/* The run's columns from src (its dense block) into the rows of dst (pitch elements
   apart), or with out, the rows of src back into dst's dense block.  (b and out
   constants in each copy: every loop below unrolled.) */
LSC_INLINE void LSC_FN(lsc_deal_b)(const LSC_T *src, LSC_T *dst, ptrdiff_t pitch, ptrdiff_t n,
                                   const ptrdiff_t b, const int out)
{
    int32_t ix[LSC_DEAL_MAX][16];
    unsigned km[LSC_DEAL_MAX][(LSC_DEAL_MAX + 1) / 2];
    LSC_FN(lsc_deal_index)(out, b, ix, km);
    const ptrdiff_t np = (b + 1) / 2;
    /* element k of row j: in the block at j b + k, in the rows at k pitch + j */
    const ptrdiff_t sj = out ? 1 : b, sk = out ? pitch : 1;
    const ptrdiff_t dj = out ? b : 1, dk = out ? 1 : pitch;
    ptrdiff_t j = 0;
    for (; j + LSC_W <= n; j += LSC_W) {
        LSC_V v[LSC_DEAL_MAX + 1];
        for (ptrdiff_t s = 0; s < 2 * np; s++) {
            /* the block's vector s, or the rows' column s (out) */
            const ptrdiff_t k = s < b ? s : b - 1;
            v[s] = LSC_VLOAD(src + (out ? k * pitch + j : j * b + k * LSC_W));
        }
        for (ptrdiff_t c = 0; c < b; c++) {
            LSC_VSTORE(dst + (out ? j * b + c * LSC_W : c * pitch + j),
                       LSC_FN(lsc_deal_pick)(v, ix[c], km[c], np));
        }
    }
    for (; j < n; j++) {
        for (ptrdiff_t k = 0; k < b; k++) {
            dst[j * dj + k * dk] = src[j * sj + k * sk];
        }
    }
}

/* the b (2 .. LSC_DEAL_MAX) columns of a dense block into the rows of buf (pitch elements
   apart), and back */
#define LSC_DEAL_CASES(call)                                                              \
    switch (b) {                                                                          \
    case 2: call(2); break;                                                               \
    case 3: call(3); break;                                                               \
    case 4: call(4); break;                                                               \
    case 5: call(5); break;                                                               \
    case 6: call(6); break;                                                               \
    case 7: call(7); break;                                                               \
    case 8: call(8); break;                                                               \
    case 9: call(9); break;                                                               \
    case 10: call(10); break;                                                             \
    case 11: call(11); break;                                                             \
    case 12: call(12); break;                                                             \
    case 13: call(13); break;                                                             \
    case 14: call(14); break;                                                             \
    default: call(15); break;                                                             \
    }
static int LSC_FN(lsc_cols_deal_in)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, LSC_T *buf,
                                    ptrdiff_t pitch, ptrdiff_t n, ptrdiff_t b)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    if (b < 2 || b > LSC_DEAL_MAX_T || sxi != es || sxn != b * es) {
        return 0;
    }
#define LSC_DEAL_IN(k) LSC_FN(lsc_deal_b)((const LSC_T *)x, buf, pitch, n, k, 0)
    LSC_DEAL_CASES(LSC_DEAL_IN)
#undef LSC_DEAL_IN
    return 1;
}

static int LSC_FN(lsc_cols_deal_out)(const LSC_T *buf, ptrdiff_t pitch, char *y, ptrdiff_t syn,
                                     ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    if (b < 2 || b > LSC_DEAL_MAX_T || syi != es || syn != b * es) {
        return 0;
    }
#define LSC_DEAL_OUT(k) LSC_FN(lsc_deal_b)(buf, (LSC_T *)y, pitch, n, k, 1)
    LSC_DEAL_CASES(LSC_DEAL_OUT)
#undef LSC_DEAL_OUT
    return 1;
}
#undef LSC_DEAL_CASES
#endif

/* The b columns (byte stride sxi, sxn between rows) of x into the rows of buf (pitch
 * elements apart): eight columns at a time down the rows (a constant count, which the
 * compiler unrolls: a short loop per row cost more than the copy), the rest one
 * column at a time. */
LSC_INLINE void LSC_FN(lsc_cols_transpose)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi,
                                           LSC_T *buf, ptrdiff_t pitch, ptrdiff_t n,
                                           ptrdiff_t b)
{
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
    if (LSC_FN(lsc_cols_deal_in)(x, sxn, sxi, buf, pitch, n, b)) {
        return;
    }
#endif
    ptrdiff_t k0 = 0;
    for (; k0 + 8 <= b; k0 += 8) {
        const char *xc = x + k0 * sxi;
        LSC_T *bc = buf + k0 * pitch;
        for (ptrdiff_t j = 0; j < n; j++) {
            const char *xr = xc + j * sxn;
            for (int k = 0; k < 8; k++) {
                bc[k * pitch + j] = *(const LSC_T *)(xr + k * sxi);
            }
        }
    }
    for (; k0 < b; k0++) {
        const char *xc = x + k0 * sxi;
        LSC_T *bc = buf + k0 * pitch;
        for (ptrdiff_t j = 0; j < n; j++) {
            bc[j] = *(const LSC_T *)(xc + j * sxn);
        }
    }
}

/* buf's rows (pitch elements apart) back into the b columns of y, as
 * lsc_cols_transpose */
LSC_INLINE void LSC_FN(lsc_cols_untranspose)(const LSC_T *buf, ptrdiff_t pitch, char *y,
                                             ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n,
                                             ptrdiff_t b)
{
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
    if (LSC_FN(lsc_cols_deal_out)(buf, pitch, y, syn, syi, n, b)) {
        return;
    }
#endif
    ptrdiff_t k0 = 0;
    for (; k0 + 8 <= b; k0 += 8) {
        char *yc = y + k0 * syi;
        const LSC_T *bc = buf + k0 * pitch;
        for (ptrdiff_t j = 0; j < n; j++) {
            char *yr = yc + j * syn;
            for (int k = 0; k < 8; k++) {
                *(LSC_T *)(yr + k * syi) = bc[k * pitch + j];
            }
        }
    }
    for (; k0 < b; k0++) {
        char *yc = y + k0 * syi;
        const LSC_T *bc = buf + k0 * pitch;
        for (ptrdiff_t j = 0; j < n; j++) {
            *(LSC_T *)(yc + j * syn) = bc[j];
        }
    }
}

/* A narrow column block (lsc_cols_narrow(n, b)) of n rows by b columns through the row
 * kernels: its columns get the arithmetic of rows of n contiguous elements (bit for
 * bit a row's), in a buffer of b rows of n.  y may be x.  Returns 0, having done
 * nothing, if the buffer cannot be had. */
static int LSC_FN(lsc_cols_rows)(const char *x, ptrdiff_t sxn, ptrdiff_t sxi, char *y,
                                 ptrdiff_t syn, ptrdiff_t syi, ptrdiff_t n, ptrdiff_t b,
                                 int op)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    /* rows of whole cache lines, not a multiple of 4 KiB apart (which would put a
       column's elements into one cache set) */
    ptrdiff_t pitch = (n + LSC_LINE_T - 1) / LSC_LINE_T * LSC_LINE_T;
    if ((pitch * es) % 4096 == 0) {
        pitch += LSC_LINE_T;
    }
    LSC_T *buf = (LSC_T *)lsc_scratch_get((size_t)(b * pitch * es));
    if (buf == NULL) {
        return 0;
    }
    LSC_FN(lsc_cols_transpose)(x, sxn, sxi, buf, pitch, n, b);
    const char *bx = (const char *)buf;
    if (n > LSC_CHUNK) {
        /* rows of several chunks: each alone (lsc_row), in place */
        for (ptrdiff_t k = 0; k < b; k++) {
            const char *xk = bx + k * pitch * es;
            if (op == LSC_OP_LOGSUMEXP) {
                LSC_FN(lsc_row)(xk, es, y + k * syi, 0, n, 0, op);
            }
            else {
                LSC_FN(lsc_row)(xk, es, (char *)xk, es, n, 0, op);
            }
        }
        if (op != LSC_OP_LOGSUMEXP) {
            LSC_FN(lsc_cols_untranspose)(buf, pitch, y, syn, syi, n, b);
        }
    }
    else if (op == LSC_OP_LOGSUMEXP) {
        LSC_FN(lsc_logsumexp_rows)(bx, pitch * es, y, syi, n, b, 0);
    }
    else {
        if (op == LSC_OP_SOFTMAX) {
            LSC_FN(lsc_softmax_rows)(bx, pitch * es, (char *)buf, pitch * es, n, b, 0);
        }
        else {
            LSC_FN(lsc_log_softmax_rows)(bx, pitch * es, (char *)buf, pitch * es, n, b, 0, 0);
        }
        LSC_FN(lsc_cols_untranspose)(buf, pitch, y, syn, syi, n, b);
    }
    lsc_scratch_put(buf);
    return 1;
}

/* ---- tiles of short rows ---------------------------------------------------------
 *
 * Rows of n <= LSC_SMALL_N elements cost more in per-row overhead (loop set-up, one
 * log1p each) than in arithmetic.  g <= LSC_TILE such rows (row r at x + r * sxr,
 * elements at byte stride sx) are transposed into a buffer whose columns are the rows,
 * and go through the column kernel, vectorised across the rows.  (Where the row
 * kernels do better, rows of whole vectors from a length, the drivers send short rows
 * there instead: lsc_rows_untiled.)
 */
static void LSC_FN(lsc_rows_tile)(const char *x, ptrdiff_t sxr, ptrdiff_t sx,
                                  char *y, ptrdiff_t syr, ptrdiff_t sy,
                                  ptrdiff_t n, ptrdiff_t g, int op)
{
    const ptrdiff_t es = (ptrdiff_t)sizeof(LSC_T);
    /* the buffer always LSC_TILE columns wide (the missing rows as zeros, computed and
       never written), so that the column kernel's loops over the columns have a
       constant length: 15-20% faster on tiles of rows of 10 floats with AVX2 */
    enum { G = LSC_TILE };
    LSC_T buf[LSC_SMALL_N * LSC_TILE] __attribute__((aligned(64)));
#if defined(LSC_TILE_T8) && LSC_TILE == 16
    /* contiguous rows of 8 elements or more: blocks of 8 rows by 8 elements through a
       transpose (missing rows as zeros), the row's last block ending at its end, where
       it overlaps the block before unless 8 divides n (the shared elements go in and
       out twice, alike).  Against one by one: 64x16, 64x33, 64x64 float32 tiles 22-32%
       faster; 64x8 and 64x10 25% faster with the overlapping last block, where a
       whole block and the rest one by one had been 4-6% slower. */
    const int t8 = sx == es && sy == es && n >= 8;
    const ptrdiff_t n8 = t8 ? n : 0;
    for (ptrdiff_t r0 = 0; r0 < G; r0 += 8) {
        for (ptrdiff_t jb = 0; jb < n8; jb += 8) {
            const ptrdiff_t j0 = jb + 8 <= n ? jb : n - 8;
            __m256 v[8];
            for (ptrdiff_t i = 0; i < 8; i++) {
                v[i] = _mm256_setzero_ps();
                if (r0 + i < g) {
                    v[i] = _mm256_loadu_ps((const LSC_T *)(x + (r0 + i) * sxr) + j0);
                }
            }
            lsc_transpose8_f32(v);
            for (ptrdiff_t k = 0; k < 8; k++) {
                _mm256_store_ps(buf + (j0 + k) * G + r0, v[k]);
            }
        }
    }
#else
    const ptrdiff_t n8 = 0;
#endif
    for (ptrdiff_t r = 0; r < g; r++) {
        const char *xr = x + r * sxr;
        for (ptrdiff_t j = n8; j < n; j++) {
            buf[j * G + r] = *(const LSC_T *)(xr + j * sx);
        }
    }
    for (ptrdiff_t r = g; r < G; r++) {
        for (ptrdiff_t j = n8; j < n; j++) {
            buf[j * G + r] = 0;
        }
    }
    LSC_FN(lsc_cols_body)((const char *)buf, G * es, es, (char *)buf, G * es, es, n, G, n, op,
                          0);
    /* logsumexp: one value per row, in the buffer's first line */
    ptrdiff_t nout = op == LSC_OP_LOGSUMEXP ? 1 : n;
    const ptrdiff_t m8 = nout == n ? n8 : 0;
#if defined(LSC_TILE_T8) && LSC_TILE == 16
    for (ptrdiff_t r0 = 0; r0 < g; r0 += 8) {
        for (ptrdiff_t jb = 0; jb < m8; jb += 8) {
            const ptrdiff_t j0 = jb + 8 <= n ? jb : n - 8;
            __m256 v[8];
            for (ptrdiff_t k = 0; k < 8; k++) {
                v[k] = _mm256_load_ps(buf + (j0 + k) * G + r0);
            }
            lsc_transpose8_f32(v);
            for (ptrdiff_t i = 0; i < 8 && r0 + i < g; i++) {
                _mm256_storeu_ps((LSC_T *)(y + (r0 + i) * syr) + j0, v[i]);
            }
        }
    }
#endif
    for (ptrdiff_t r = 0; r < g; r++) {
        char *yr = y + r * syr;
        for (ptrdiff_t j = m8; j < nout; j++) {
            *(LSC_T *)(yr + j * sy) = buf[j * G + r];
        }
    }
}

/* ---- gradients through one row -----------------------------------------------------
 * softmax == 0: r = g - exp(y) * sum(g), through y = log_softmax(x);
 * softmax == 1: r = y * (g - sum(g * y)), through y = softmax(x).
 * One reduction pass and one elementwise pass; r may be g or y. */

/* the row's sum, continued over n more contiguous elements (n a multiple of
   LSC_SUM_BLOCK except at the end of the row): blocks of LSC_SUM_BLOCK, each added up
   in LSC_T in LSC_U vectors side by side (one would chain every add on the one
   before), their lanes summed in double, then Kahan in double */
LSC_INLINE void LSC_FN(lsc_backward_accumulate)(const LSC_T *g, const LSC_T *y, ptrdiff_t n,
                                                int softmax, double *total, double *comp)
{
    typedef LSC_V V;
    for (ptrdiff_t j0 = 0; j0 < n; j0 += LSC_SUM_BLOCK) {
        const ptrdiff_t j1 = n - j0 < LSC_SUM_BLOCK ? n : j0 + LSC_SUM_BLOCK;
        V a[LSC_U];
        for (int u = 0; u < LSC_U; u++) {
            a[u] = LSC_SPLAT(V, 0);
        }
        ptrdiff_t j = j0;
        for (; j + LSC_U * LSC_W <= j1; j += LSC_U * LSC_W) {
            for (int u = 0; u < LSC_U; u++) {
                V t = LSC_VLOAD(g + j + u * LSC_W);
                a[u] += softmax ? t * LSC_VLOAD(y + j + u * LSC_W) : t;
            }
        }
        for (; j + LSC_W <= j1; j += LSC_W) {
            V t = LSC_VLOAD(g + j);
            a[0] += softmax ? t * LSC_VLOAD(y + j) : t;
        }
        double s = LSC_WIDE_SUM((a[0] + a[1]) + (a[2] + a[3]));
        for (; j < j1; j++) {
            s += softmax ? (double)(g[j] * y[j]) : (double)g[j];
        }
        LSC_KAHAN_ADD(*total, *comp, s);
    }
}

/* The softmax gradient's result pass, r = y (g - sum), with the loads one block of
 * LSC_U vectors ahead of the stores: each block's loads go before the stores of the
 * block before it.  In a plain loop, where g or y starts a little below r modulo
 * 4 KiB, a load has the page offset of a store made just before it, which the
 * processor takes for a dependency on that store until the full addresses are
 * compared (4K aliasing: 1024x1000 floats 10-15% slower); here such a store comes
 * after the load, for any distance below a block.  (r may be g or y: each element
 * is read before it is written.)  With ahead > 0 the pass also fetches g and y
 * `ahead` elements on, a line at a time: for rows one after the other in memory, the
 * next row, whose sum pass would otherwise wait on L3 (1024x1000 floats: 7% faster in
 * the C harness). */
LSC_INLINE void LSC_FN(lsc_softmax_grad_apply)(const LSC_T *g, const LSC_T *y, LSC_T *r,
                                               ptrdiff_t n, LSC_T sum, ptrdiff_t ahead)
{
    typedef LSC_V V;
    const V vs = LSC_SPLAT(V, sum);
    const ptrdiff_t B = LSC_U * LSC_W;
    ptrdiff_t j = 0;
    if (n >= 2 * B) {
        V gv[LSC_U], yv[LSC_U];
        for (int u = 0; u < LSC_U; u++) {
            gv[u] = LSC_VLOAD(g + u * LSC_W);
            yv[u] = LSC_VLOAD(y + u * LSC_W);
        }
        for (; j + 2 * B <= n; j += B) {
            V gn[LSC_U], yn[LSC_U];
            for (int u = 0; u < LSC_U; u++) {
                gn[u] = LSC_VLOAD(g + j + B + u * LSC_W);
                yn[u] = LSC_VLOAD(y + j + B + u * LSC_W);
            }
            for (ptrdiff_t k = 0; ahead > 0 && k < B; k += 64 / (ptrdiff_t)sizeof(LSC_T)) {
                __builtin_prefetch(g + j + ahead + k, 0, 3);
                __builtin_prefetch(y + j + ahead + k, 0, 3);
            }
            for (int u = 0; u < LSC_U; u++) {
                LSC_VSTORE(r + j + u * LSC_W, yv[u] * (gv[u] - vs));
                gv[u] = gn[u];
                yv[u] = yn[u];
            }
        }
        for (int u = 0; u < LSC_U; u++) {
            LSC_VSTORE(r + j + u * LSC_W, yv[u] * (gv[u] - vs));
        }
        j += B;
    }
    for (; j + LSC_W <= n; j += LSC_W) {
        LSC_VSTORE(r + j, LSC_VLOAD(y + j) * (LSC_VLOAD(g + j) - vs));
    }
    for (; j < n; j++) {
        r[j] = y[j] * (g[j] - sum);
    }
}

LSC_INLINE void LSC_FN(lsc_backward_apply)(const LSC_T *g, const LSC_T *y, LSC_T *r,
                                           ptrdiff_t n, LSC_T sum, int softmax,
                                           ptrdiff_t ahead)
{
    if (softmax) {
        LSC_FN(lsc_softmax_grad_apply)(g, y, r, n, sum, ahead);
    }
    else {
#pragma omp simd
        for (ptrdiff_t j = 0; j < n; j++) {
            r[j] = g[j] - LSC_EXP(y[j]) * sum;
        }
    }
}

/* lsc_backward_apply of a row longer than a chunk; with prefetch (inputs from memory),
   the next row's g and y (gn, yn) fetched into L2 as it goes, a block of LSC_BW_BLOCK
   elements at a time, so that its sum pass reads them from there: softmax's gradient
   of 2048x32000 floats 0.92-0.95 of the time (the prefetches of rows of a chunk go
   into L1) */
#define LSC_BW_BLOCK 512
LSC_INLINE void LSC_FN(lsc_backward_apply_long)(const LSC_T *g, const LSC_T *y, LSC_T *r,
                                                ptrdiff_t n, LSC_T sum, int softmax,
                                                const LSC_T *gn, const LSC_T *yn,
                                                int prefetch)
{
    if (!prefetch) {
        LSC_FN(lsc_backward_apply)(g, y, r, n, sum, softmax, 0);
        return;
    }
    for (ptrdiff_t j0 = 0; j0 < n; j0 += LSC_BW_BLOCK) {
        const ptrdiff_t len = n - j0 < LSC_BW_BLOCK ? n - j0 : LSC_BW_BLOCK;
        for (ptrdiff_t k = 0; k < len; k += LSC_LINE_T) {
            __builtin_prefetch(gn + j0 + k, 0, 2);
            __builtin_prefetch(yn + j0 + k, 0, 2);
        }
        LSC_FN(lsc_backward_apply)(g + j0, y + j0, r + j0, len, sum, softmax, 0);
    }
}

/* one contiguous row; prefetch: see lsc_backward_apply_long */
static void LSC_FN(lsc_backward_row)(const LSC_T *g, const LSC_T *y, LSC_T *r, ptrdiff_t n,
                                     int softmax, int prefetch)
{
    double total = 0.0, comp = 0.0;
    LSC_FN(lsc_backward_accumulate)(g, y, n, softmax, &total, &comp);
    /* (the next row, where the rows are one after the other: prefetches do not fault
       past the end of the array) */
    if (n <= LSC_CHUNK) {
        LSC_FN(lsc_backward_apply)(g, y, r, n, (LSC_T)total, softmax, n);
    }
    else {
        LSC_FN(lsc_backward_apply_long)(g, y, r, n, (LSC_T)total, softmax, g + n, y + n,
                                        prefetch);
    }
}

/* nr rows of n contiguous elements one after the other (row i at g + i n, y + i n,
 * r + i n), each as lsc_backward_row computes it.  With stream (r far larger than the
 * caches, and neither g nor y) each row's result goes through a buffer in L1 to r
 * with non-temporal stores where r is aligned to a vector (lsc_stream_copy), so that
 * r's lines are not read from memory before they are written: the same values, one
 * fence at the end (the caller streams softmax's gradient only, see backward_rows,
 * and calls lsc_backward_row itself where it splits unstreamed rows across threads).
 * Without stream, or in a build without non-temporal stores, row by row through
 * lsc_backward_row. */
static void LSC_FN(lsc_backward_rows)(const LSC_T *g, const LSC_T *y, LSC_T *r, ptrdiff_t nr,
                                      ptrdiff_t n, int softmax, int stream, int prefetch)
{
#if LSC_STREAM
    if (stream) {
        LSC_T buf[LSC_CHUNK] __attribute__((aligned(64)));
        for (ptrdiff_t i = 0; i < nr; i++) {
            const LSC_T *gi = g + i * n, *yi = y + i * n;
            double total = 0.0, comp = 0.0;
            LSC_FN(lsc_backward_accumulate)(gi, yi, n, softmax, &total, &comp);
            for (ptrdiff_t c0 = 0; c0 < n; c0 += LSC_CHUNK) {
                const ptrdiff_t len = n - c0 < LSC_CHUNK ? n - c0 : LSC_CHUNK;
                if (n <= LSC_CHUNK) {
                    LSC_FN(lsc_backward_apply)(gi, yi, buf, n, (LSC_T)total, softmax, n);
                }
                else {
                    LSC_FN(lsc_backward_apply_long)(gi + c0, yi + c0, buf, len, (LSC_T)total,
                                                    softmax, gi + n + c0, yi + n + c0,
                                                    prefetch);
                }
                LSC_FN(lsc_stream_copy)(buf, r + i * n + c0, len);
            }
        }
        LSC_SFENCE();
        return;
    }
#endif
    (void)stream;
    for (ptrdiff_t i = 0; i < nr; i++) {
        LSC_FN(lsc_backward_row)(g + i * n, y + i * n, r + i * n, n, softmax, prefetch);
    }
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
        LSC_FN(lsc_backward_apply)(gb, yb, gb, len, (LSC_T)total, softmax, 0);
        for (ptrdiff_t j = 0; j < len; j++) {
            *(LSC_T *)(r + (c0 + j) * sr) = gb[j];
        }
    }
}

/* The gradients along a strided slice, or across a block of b slices side by side
 * (the columns of a block, as lsc_cols): g and y share one set of byte strides, sn
 * along the slice and si between slices, r has its own (rn, ri); r may be g or y.  Each slice's sum is added up
 * in LSC_T over LSC_COL_FOLD elements at a time and in double across them, the same
 * for every block width; one pass for the sums, one for the result.  (Inlined, so that
 * the unit strides of contiguous columns are constants its loops vectorise with: out
 * of line its loops moved one element at a time, at one thread's speed, and two
 * threads took as long as one or longer: 1024x1000 axis 0 0.77 against 0.60 ms,
 * 64x1000x64 axis 1 2.8 ms either way; inlined, two threads take half the time.) */
LSC_INLINE void LSC_FN(lsc_backward_cols)(const char *g, const char *y, char *r, ptrdiff_t sn,
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
                                     softmax, 0);
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

/* the type's parameters (lsc_kernels.h defines them before each inclusion) */
#undef LSC_T
#undef LSC_SFX
#undef LSC_EXP
#undef LSC_EXPS
#undef LSC_CORR_MIN
#undef LSC_CHUNK
#undef LSC_COL_CARRY_LOAD
#undef LSC_SUM_BLOCK
#undef LSC_V
#undef LSC_VI
#undef LSC_VU
#undef LSC_NVD
#undef LSC_VEXP
#undef LSC_VEXPS
#undef LSC_VEXP_SUM
#undef LSC_VEXP_CW
#undef LSC_VMAX
#undef LSC_VSEL
#undef LSC_MASK_T
#undef LSC_CMPNEQ_MASK
#undef LSC_CMPEQ_MASK
#undef LSC_CMPNLT_MASK
#undef LSC_MASKZ_MUL
#undef LSC_MASK_ADD
#undef LSC_MASK_LOAD
#undef LSC_MASK_STORE
#undef LSC_MASK_FMA
#undef LSC_VABSMAX
#undef LSC_VABSMIN
#undef LSC_TO_VD
#undef LSC_WIDE_SUM
#undef LSC_WIDE_SUM_I
#undef LSC_HMAX
#undef LSC_W
#undef LSC_U
#undef LSC_SLOT_PLAIN
#undef LSC_VLOAD
#undef LSC_VLOAD_T
#undef LSC_LINE_T
#undef LSC_EMIT_ROWS
#undef LSC_VSTORE
#undef LSC_DOM_CORRECT_BELOW
#undef LSC_FN
#undef LSC_CAT
#undef LSC_CAT_
