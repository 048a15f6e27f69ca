/*
 * The log-softmax kernels in C: per-row and per-column-block work functions for
 * float and double, called from the Cython drivers in _kernels.pxi (which split
 * the work across OpenMP threads).  Compiled once per instruction-set level.
 */
#ifndef LSC_KERNELS_H
#define LSC_KERNELS_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "lsc_math.h"
#if defined(_OPENMP)
#include <omp.h>
#endif

/* Flush-to-zero while the kernels run (x86: MXCSR.FTZ, set by each thread that runs
 * them and restored when it is done, lsc_ftz_enter / lsc_ftz_leave).  A product or
 * sum whose result would be subnormal then gives 0 in the hardware; otherwise each
 * one costs a microcode assist of about a hundred cycles.  The kernels avoid such
 * results where that is cheap (the exps give 0 below the smallest normal number, the
 * dominated sums take scaled terms, softmax's products are bounded); the others
 * cannot be bounded at no cost: a softmax gradient y (g - sum) with y near the
 * smallest normal number, an exp of a subnormal log-probability.  Measured without
 * it, scores a standard normal times 16: log_softmax_backward and softmax_backward of
 * 2x1048576 floats 1.5 times as long; times 64: softmax and softmax_backward of rows
 * of 10 floats 1.2 and 1.4 times.  Inputs are read as they are (no DAZ): a subnormal input
 * still costs its assist, and is not taken for 0.  Results below the smallest normal
 * number come out as 0, as the README says, and so do such intermediate values: the
 * sums of which a normal result may be made (a dominated rest, a chunk's share of it)
 * take such terms scaled by 2**64 (lsc_vexp_f32s, lsc_chunk_weight_s). */
#if defined(__SSE2__) || defined(__x86_64__)
#include <xmmintrin.h>
#define LSC_MXCSR_FTZ 0x8000u
/* whether this thread's flush-to-zero is lsc_ftz_enter's (not its caller's) */
static _Thread_local int lsc_ftz_ours;
static inline unsigned int lsc_ftz_enter(void)
{
    const unsigned int m = _mm_getcsr();
    if (!(m & LSC_MXCSR_FTZ)) {
        _mm_setcsr(m | LSC_MXCSR_FTZ);
        lsc_ftz_ours = 1;
    }
    return m;
}
static inline void lsc_ftz_leave(unsigned int m)
{
    if (!(m & LSC_MXCSR_FTZ)) {
        _mm_setcsr(m);
        lsc_ftz_ours = 0;
    }
}
/* Around a parallel region started by a thread inside lsc_ftz_enter: the threads that
   the region creates take their creator's floating-point state, and must not take
   flush-to-zero for their own (they would keep it after the region, for whatever else
   runs on them).  So the creator goes back to its caller's state for the region
   (whose threads each enter and leave for themselves), and to flush-to-zero after
   it.  Returns whether it did. */
static inline int lsc_ftz_team_begin(void)
{
    if (lsc_ftz_ours) {
        _mm_setcsr(_mm_getcsr() & ~LSC_MXCSR_FTZ);
        lsc_ftz_ours = 0;
        return 1;
    }
    return 0;
}
static inline void lsc_ftz_team_end(int paused)
{
    if (paused) {
        _mm_setcsr(_mm_getcsr() | LSC_MXCSR_FTZ);
        lsc_ftz_ours = 1;
    }
}
static inline int lsc_ftz_is_on(void) { return (_mm_getcsr() & LSC_MXCSR_FTZ) != 0; }
#else
/* (elsewhere subnormals cost no assist of the kind: nothing to do) */
static inline unsigned int lsc_ftz_enter(void) { return 0; }
static inline void lsc_ftz_leave(unsigned int m) { (void)m; }
static inline int lsc_ftz_team_begin(void) { return 0; }
static inline void lsc_ftz_team_end(int paused) { (void)paused; }
static inline int lsc_ftz_is_on(void) { return 0; }
#endif

/* elements per row chunk: 16 KiB, so a chunk's max and sum passes stay in L1 */
#define LSC_CHUNK_F32 4096
#define LSC_CHUNK_F64 2048
/* softmax rows of up to this many chunks (1 MiB) keep their exps in a buffer of a row,
   which stays in L2, for the write pass (lsc_softmax_long_rows) */
#define LSC_SOFTMAX_ROW_CHUNKS 64
/* bytes of the widest vector this build targets */
#if defined(__AVX512F__)
#define LSC_SIMD_BYTES 64
#elif defined(__AVX__)
#define LSC_SIMD_BYTES 32
#else
#define LSC_SIMD_BYTES 16
#endif
#include "lsc_simd.h"

/* elements per vectorised partial sum of the gradients: 16 vectors, so that each
   lane adds 16 terms before the sum goes on in double.  Fewer make the per-block
   reduction a visible cost; more let the rounding errors of many equal terms (which
   do not cancel) exceed a few ulps. */
#define LSC_SUM_BLOCK_F32 (16 * LSC_SIMD_BYTES / 4)
#define LSC_SUM_BLOCK_F64 (16 * LSC_SIMD_BYTES / 8)
/* terms a lane adds up in its own type before folding into double in the gradients'
   sums; the rows of a strip of the one pass (lsc_cols_onepass.h) */
#define LSC_COL_FOLD 16
/* the same for the exp-sums of the row and column kernels (the vectors of a row lane
   in lsc_vsums, the rows of a column lane), by the type LSC_T where it is used: double
   folds every 4 (16 equal terms, whose roundings do not cancel, left the dominant
   log-probability of a double slice up to 5.9 ulps off; 4, 1.9), float every
   LSC_COL_FOLD (3.5 ulps at most, and the cost of folding more often would fall on the
   float paths that bound the goals) */
#define LSC_FOLD ((int)(sizeof(LSC_T) == sizeof(double) ? 4 : LSC_COL_FOLD))
/* widest column block of the column kernels (4 KiB of float32 per row: long runs
   for the walk down the rows), and the bytes of one row chunk of a full-width block */
#define LSC_BMAX 1024
#define LSC_COL_CHUNK_BYTES 32768
/* Column blocks go in bands (lsc_cols_vec) where a vector of columns down all n rows
   takes at most LSC_COL_PACK_BYTES (a column's arithmetic then depends on n alone);
   a band takes at most LSC_COL_BAND_BYTES of packed copy and LSC_COL_BAND_V vectors,
   but LSC_COL_BAND_MIN_V vectors at least (the runs of each row of x that a band reads
   from memory).  Two or three bands' copies per thread (see lsc_cols_vec).  Measured
   on a Xeon with AVX-512 and 2 MiB of L2 a core, against the earlier 1 MiB bands of up
   to 64 vectors (tuned on Zen 3, 512 KiB of L2, where the bands lived in L3), 1 and 2
   threads:
   - AVX-512: bands of 256 KiB, 2 to 8 vectors (runs of 128 to 512 bytes of a row;
     4096x4096 axis 0 a band of 512 KiB): 4096x4096 axis 0 0.72-0.79 of the time,
     2048x8192 double axis 0 0.84-0.86, 32x81x8732 axis 1 0.88-0.91, 16x256x4096 axis
     1 0.64-0.76, 300x5000 double axis 0 0.77;
   - AVX2 (and narrower): bands of 1 MiB as before, up to 16 vectors (512 bytes of a
     row): 32x81x8732 axis 1 0.88-0.96, 1000x1000 axis 0 0.80-0.90, 300x5000 double
     axis 0 0.83-0.87, 4096x4096 axis 0 level (bands of 512 KiB there: 1.17; of 8
     vectors at most, 16x256x4096 axis 1: 1.3).  On Zen 3, 16 to 32 vectors had
     measured level with 64 (docs/history/rounds.md).
   A first band fetches its rows LSC_COL_AHEAD_PACK rows ahead in its first pass, and
   so does every packed double band (lsc_cols_vec). */
#define LSC_COL_PACK_BYTES (512 * 1024)
#if LSC_SIMD_BYTES >= 64
#define LSC_COL_BAND_BYTES (256 * 1024)
#define LSC_COL_BAND_V 8
#define LSC_COL_BAND_MIN_V 2
#else
#define LSC_COL_BAND_BYTES (1024 * 1024)
#define LSC_COL_BAND_V 16
#define LSC_COL_BAND_MIN_V 1
#endif
/* A packed band's vector columns are n vectors and this many bytes apart: the vectors
   of a row, which the write pass reads together, then fall into different cache sets
   (n vectors apart, a multiple of 4 KiB for n a multiple of 4096 / LSC_SIMD_BYTES, all
   of them into one set of L1 and few of L2) */
#define LSC_COL_PAD 64
#define LSC_COL_AHEAD_PACK 16
/* rows ahead that the sums of a band fetch the band after it, whose first pass they
   carry (lsc_band_stats: float bands that are packed; with double bands, and bands read
   in place, the sums only fetch the next band and its first pass comes after them:
   measured faster), at most: into L1 LSC_COL_AHEAD_LOAD, into L2 LSC_COL_AHEAD_FAR
   (the memory's latency varies with the load on the machine, and 32 rows, a few
   hundred ns of work, were too few for it at times where the rows' stride spreads
   them over the cache's sets; see lsc_cols_ahead for strides that do not) */
#define LSC_COL_AHEAD_LOAD 32
#define LSC_COL_AHEAD_FAR 128
/* The rows ahead that the sums fetch for rows of x sxn bytes apart.  The lines of one
 * column in rows a large power of two apart fall into a few cache sets: in an L2 of
 * 1024 sets (64 KiB apart; 512 KiB of 8 ways, 1 MiB of 16), rows 16 KiB apart share 4
 * sets, 32 of their lines at 8 ways, and the lines fetched 128 rows ahead evicted the
 * ones the sums were about to load (4096x4096 axis 0 took twice as long as 4096x4000
 * on Zen 3).  So: at most half of what 8 ways of those sets hold, down to 16 rows;
 * 128 rows where the stride spreads them (any stride not a multiple of 4 KiB). */
static inline void lsc_cols_ahead(ptrdiff_t sxn, ptrdiff_t *ahead, ptrdiff_t *far)
{
    const size_t span = 64 * 1024;
    size_t s = (size_t)(sxn < 0 ? -sxn : sxn) % span;
    /* the largest power of two dividing the stride (within the span) */
    const size_t p2 = s == 0 ? span : (s & (~s + 1));
    const size_t sets = p2 >= 64 ? span / p2 : span / 64;
    ptrdiff_t f = (ptrdiff_t)(4 * sets);
    f = f > LSC_COL_AHEAD_FAR ? LSC_COL_AHEAD_FAR : (f < 16 ? 16 : f);
    *far = f;
    *ahead = f < LSC_COL_AHEAD_LOAD ? f : LSC_COL_AHEAD_LOAD;
}
/* vector columns side by side in a band's sums */
#define LSC_COL_G 4
/* A band's sums leave out the correction of their terms (lsc_band_stats) for columns of
   at least LSC_COL_LIGHT_MIN_N rows (shorter ones, more often dominated, always take
   it), while at most one vector of columns in LSC_COL_LIGHT_SHARE of the band so far
   needed it (then summed again with it).  Measured on Zen 3, scores a standard normal
   times 4, against taking it always: 4096x4096 axis 0 0.91-0.95 of the time (1 and 2
   threads), 2048x8192 double axis 0 0.91-0.97 (2 threads), 1000x1000 axis 0
   0.95-0.99 (1 thread); columns of 81 rows (0.26 of their vectors need it), light
   throughout, 1.04-1.13 times as long */
#define LSC_COL_LIGHT_MIN_N 256
#define LSC_COL_LIGHT_SHARE 10
/* columns of at most this many rows go through lsc_cols_short where they can (and
   keep its bits in the bands) */
#define LSC_COL_SHORT_N 16
/* rows ahead that a column block's write pass fetches */
#define LSC_COL_AHEAD 4
/* rows up to this long go through lsc_rows_tile, LSC_TILE rows at a time */
#define LSC_SMALL_N 64
/* column blocks of arrays whose inner length is below this (columns longer than
   LSC_SMALL_N) go through the row kernels, transposed (lsc_cols_rows).  Against the
   column kernels, 1 thread: inner lengths 2-15, 0.1-0.7 of the time for float32 and
   0.2-0.9 for float64 (columns of 1000); 16, 1.0-1.3 */
#define LSC_NARROW 16
#define LSC_TILE 16

/* the work that a loop of lsc_vsums3 carries beside its exp-sum, a bit each: another
   run's max, another run's write, a prefetch of a later run's input, a prefetch of a
   later run's output (for writing), the write's whole vectors as non-temporal stores
   (its output aligned to a vector) */
#define LSC_C_MAX 1
#define LSC_C_WRITE 2
#define LSC_C_PREFETCH 4
#define LSC_C_PREFETCH_W 8
#define LSC_C_STREAM 16
/* (with LSC_C_WRITE) only the whole vectors of ya[0..nw) that the loop reaches, the rest
   left to the caller (lsc_vsums_written) */
#define LSC_C_WPART 32
/* (with LSC_C_PREFETCH) the fetch into L2 (prefetcht1) instead of L1: for inputs that
   come from memory, whose lines a fetch into L1 holds one of the core's few L1 miss
   buffers for the whole trip */
#define LSC_C_PREFETCH_L2 64
/* the exps not stored (a chunk whose statistics will not need them, lsc_chunk_split);
   unlike the others, this one may vary at run time */
#define LSC_C_NO_EXPS 128
/* (with LSC_C_MAX) beside xc's max mc[0], mc[1] = a lower bound of xc's exp-sum from
   the lane maxima v of the loop's max (one term each of as many elements), which
   tells the row pipelines of double rows that a row will not be dominated
   (lsc_log_softmax_rows): 2 where every v is within LSC_BOUND_NEAR of mc[0], else the
   sum of exp(v - mc[0]) */
#define LSC_C_BOUND 256
/* (with LSC_C_NO_EXPS, a constant) the exps that are only summed (lsc_vexp_f32_sum,
   lsc_vexp_f64_sum) */
#define LSC_C_EXP_SUM 512
/* the kinds of loop of the row pipelines (lsc_vsums3wr, lsc_rows_kind) */
#define LSC_ROW_PLAIN 0
#define LSC_ROW_STORE 2
/* (LSC_C_BOUND) runs shorter than this have no sum of the lane maxima's exps (a bound
   of 0 where the compare below does not give 2): rows of 384 floats gained nothing by
   it with normal scores and lost 3-8% with scores four and eight times as large, more
   often dominated (the bound's cost, for rows that store their exps).  Behind the
   compare, from 256 elements on, Zen 3, rows of 256 and 384 floats: 0.94-0.98 of the
   time with scores twice a standard normal, 0.97-1.01 four times, 1.02-1.05 eight
   times; from 128, rows of 128: 1.04 */
#define LSC_BOUND_MIN_N 512
/* (LSC_C_BOUND) 0.99 ln(w - 1) for vectors of w lanes: where the max of each of the w
   lanes is within it of the run's, each lane but the max's adds a term above
   1 / (w - 1), and the exp-sum is above 2 (w = 2: both lanes hold the max).  A compare
   of the lane maxima, taken from LSC_BOUND_LANES_MIN_N elements on: most rows of normal
   scores pass it, which then run the plain loop rather than the one that adds up the
   rest (rows of 128 and 384 floats in the C harness, Zen 3: 0.89 and 0.84 of the time;
   1000: 0.98, where it stands for the exps of the lane maxima) */
#define LSC_BOUND_NEAR(w) ((w) == 16 ? 2.681 : (w) == 8 ? 1.926 : (w) == 4 ? 1.087 : 0.0)
#define LSC_BOUND_LANES_MIN_N 64

/* the row pipelines' fetch of rows ahead (lsc_log_softmax_rows): at least this many
   bytes ahead, for rows of at least LSC_PREFETCH_MIN_ROW bytes (rows of 100 floats
   gained nothing, 200 to 2000 floats 5-20% with one thread) */
#define LSC_PREFETCH_BYTES 2048
#define LSC_PREFETCH_MIN_ROW 512
/* the fetches of lsc_log_softmax_rows (its prefetch, a bit each): the input rows
   ahead, and with them their output rows for writing (the other row pipelines take
   any nonzero prefetch for their input's fetch) */
#define LSC_FETCH_IN 1
#define LSC_FETCH_OUT 2

/* what the write pass of a slice produces from its (max, log1p(rest)):
   log-probabilities, probabilities exp(log-probability), or one log-sum-exp value */
#define LSC_OP_LOG_SOFTMAX 0
#define LSC_OP_SOFTMAX 1
#define LSC_OP_LOGSUMEXP 2

/* Whether rows of n <= LSC_SMALL_N elements go through the row kernels rather than
 * tiles (lsc_rows_tile), whatever their strides: with AVX2, rows of whole vectors
 * from these lengths on, by operation (log_softmax, softmax, logsumexp), float and
 * double.  Zen 3, calls of 1024 to 8192 rows with 1 and 2 threads, row kernels /
 * tiles (11-15 alternations): float softmax 32-64 0.60-0.88, logsumexp 64 0.78-0.93;
 * double log_softmax 48-64 0.71-0.89, softmax 16-64 0.46-0.75, logsumexp 32-48
 * 0.86-0.98.  With the lane maxima's compare (LSC_BOUND_NEAR), which spares most rows
 * the loop that adds up the rest, 1 thread, 13-15 alternations in one process: float
 * log_softmax 64 0.85-0.87, float logsumexp 48-56 0.83-0.93, double log_softmax 24-32
 * 0.89-0.91, double logsumexp 16-24 0.78-0.87.  Left on tiles: float log_softmax
 * 24-56 (1.00-1.71), float logsumexp 32-40 (0.97-1.06), double log_softmax 16,
 * double softmax 8-12 (0.98-1.00).  A row that ends in part of a vector costs the
 * row kernels more (float log_softmax of 57-63 elements: 1.17-1.32 in the C
 * harness).  Other builds: tiles, as measured before. */
static inline int lsc_rows_untiled(ptrdiff_t n, int op, int f64)
{
#if defined(__AVX2__) && LSC_SIMD_BYTES == 32
    static const ptrdiff_t from[2][3] = {{64, 32, 48}, {24, 16, 16}};
    return op >= 0 && op <= 2 && n % (f64 ? 4 : 8) == 0 && n >= from[f64 != 0][op];
#else
    (void)n;
    (void)op;
    (void)f64;
    return 0;
#endif
}

/* sum += v with Kahan's compensation c (terms >= 0; needs no -ffast-math, which
   would cancel the compensation away) */
#define LSC_KAHAN_ADD(sum, c, v)           \
    do {                                   \
        double lsc_y_ = (v) - (c);         \
        double lsc_t_ = (sum) + lsc_y_;    \
        (c) = (lsc_t_ - (sum)) - lsc_y_;   \
        (sum) = lsc_t_;                    \
    } while (0)

/* what a chunk contributes to its row: its max m, its sum s of exp(x - m) (the max's
   terms included), and, where the chunk may hold the row's max, that sum split into
   the sum of the terms below the max (rest, with the dominated pass's accuracy where
   the max dominates) and the number of elements equal to the max (count).  Only a
   chunk that holds the row's max needs the split (lsc_combine): a chunk whose max is
   below that of a chunk before it may skip it (rest and count then s - 1 and 1). */
typedef struct {
    double m;
    double rest;
    double count;
    double s;
    double f;  /* softmax: the chunk's factor (lsc_softmax_scales) */
} lsc_stats;

/* log(u) for u >= 1.0625 (a float row's sum that its max does not dominate, whose
   logarithm need only be as good as a float's), without a division or a call: u =
   2**e m, m in [1, 2), c the middle of m's 32nd of [1, 2) (the top 5 bits of m),
   log(u) = e ln 2 + log(1 / invc) + log1p(r), invc = 1 / c rounded and
   r = m invc - 1 (|r| < 1/64, its rounding 2**-53 of m invc), log1p(r) by its Taylor
   series to r**5 (truncation below 2.3e-12).  log(1 / invc) is rounded once.  Within
   4e-12 of log(u) where u >= 1.0625 (log(u) >= 0.06, so 2**-34 of it); u must be
   finite.  The table: {invc, log(1 / invc)} by i. */
static const double lsc_log_row_tab[32][2] = {
    {0.9846153846153847, 0.015504186535965199},
    {0.9552238805970149, 0.04580953603129422},
    {0.927536231884058, 0.07522342123758752},
    {0.9014084507042254, 0.10379679368164355},
    {0.8767123287671232, 0.13157635778871932},
    {0.8533333333333334, 0.15860503017663852},
    {0.8311688311688312, 0.18492233849401193},
    {0.810126582278481, 0.21056476910734964},
    {0.7901234567901234, 0.23556607131276697},
    {0.7710843373493976, 0.259957524436926},
    {0.7529411764705882, 0.2837681731306446},
    {0.735632183908046, 0.3070250352949119},
    {0.7191011235955056, 0.32975328637246804},
    {0.7032967032967034, 0.3519764231571781},
    {0.6881720430107527, 0.373716409793584},
    {0.6736842105263158, 0.394993808240869},
    {0.6597938144329897, 0.415827895143711},
    {0.6464646464646465, 0.43623676677491796},
    {0.6336633663366337, 0.4562374334815876},
    {0.6213592233009708, 0.475845904869964},
    {0.6095238095238096, 0.4950772667978514},
    {0.5981308411214953, 0.5139457511022344},
    {0.5871559633027523, 0.5324647988694717},
    {0.5765765765765766, 0.5506471179526623},
    {0.5663716814159292, 0.5685047353526688},
    {0.5565217391304348, 0.5860490450035782},
    {0.5470085470085471, 0.6032908514380841},
    {0.5378151260504201, 0.6202404097518576},
    {0.5289256198347108, 0.6369074622370692},
    {0.5203252032520326, 0.6533012720127456},
    {0.512, 0.6694306539426292},
    {0.5039370078740157, 0.6853040030989195},
};
static inline double lsc_log_row_f32(double u)
{
    uint64_t ub;
    memcpy(&ub, &u, sizeof ub);
    const int i = (int)((ub >> 47) & 31u);
    const double e = (double)((int64_t)(ub >> 52) - 1023);
    const uint64_t mb = (ub & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &mb, sizeof m);
    const double r = m * lsc_log_row_tab[i][0] - 1.0;
    const double p = r + (r * r) * (-0.5 + r * (1.0 / 3.0 + r * (-0.25 + r * 0.2)));
    return e * 0.6931471805599453 + (lsc_log_row_tab[i][1] + p);
}

/* log1p(s) for a row's dominated sum s (the row's sum is 1 + s).  For a float row
   (single) whose max does not dominate (s at least 1/16, LSC_DOM_CORRECT_BELOW) the
   result need only be as good as a float: lsc_log_row_f32(1 + s), where the rounding
   of 1 + s is at most 2**-52, against a result of at least 0.06.  (It replaced
   logf((float)(1 + s)) from s >= 1 and lsc_log1p_core below, a call or a division,
   and a branch between them that rows of scores a standard normal times 4 take at
   random: rows of 256 floats 0.96-0.97 of the time, 384 0.98-1.00; it is also more
   accurate than logf of a sum rounded to float.)  Below, where the dominant element's
   tiny log-probability needs the relative accuracy of log1p, and for double rows:
   lsc_log1p_core (about 1 ulp; for a float row its shorter series), not libm's log1p,
   which saves and restores the floating-point control register (a write to MXCSR
   holds up every vector operation around it, in the row pipeline the work of three
   other rows). */
static inline double lsc_log1p_sum(double s, int single)
{
    if (single && s >= 0.0625 && s < 1e300) {
        return lsc_log_row_f32(1.0 + s);
    }
    return lsc_log1p_core(s, single);
}

/* The offset log1p(s) of a float column from its statistics (lsc_band_stats and
   lsc_cols_short, the same arithmetic in both), for log_softmax and softmax: s = (rest +
   corr) 2**-64 + (cnt - 1), rest and corr the dominated sum and its correction (2**64
   times their value), NaN where the max mx is not finite.  rest + corr goes to
   lsc_log1p_f32 as two floats, th and its rounding error tl: by a Fast2Sum of floats
   where rest is one (exact: columns of at most LSC_FOLD rows, whose sums are never
   folded into double), else in double.  (In float where lsc_log1p_core took two vectors
   of doubles a vector of columns: 0.76-0.86 of the time of columns of 2 to 4 rows;
   rest + corr in double there took half of that gain, and without tl the worst errors
   rose by up to 0.9 ulp.  logsumexp, whose result adds the max to it, keeps lse in
   double.) */
LSC_INLINE float lsc_col_off_f32(double rest, float corr, float cnt, float mx,
                                 const int exact)
{
    float th, tl;
    if (exact) {
        const float rh = (float)rest;
        th = rh + corr;
        tl = corr - (th - rh);
    }
    else {
        const double t = rest + (double)corr;
        th = (float)t;
        tl = (float)(t - (double)th);
    }
    const float sc = (float)(1.0 / LSC_VEXP_S);
    const float r = lsc_log1p_f32(th * sc + (cnt - 1.0f), tl * sc);
    return mx > -INFINITY && mx < INFINITY ? r : NAN;
}

/* 2**64 exp(mc - m) for a chunk's max mc below its row's max m, as exp(d + err) with
   err the rounding error of d = mc - m (TwoSum): for float data d is exact, for double
   data err keeps the chunk's terms to their own accuracy.  Scaled, it is normal down
   to exp(mc - m) = 2**-1086 (below exp(-700), as the square of exp((mc - m) / 2)):
   the far chunks' share of a dominated row's rest, whose products would be subnormal
   unscaled (0 with flush-to-zero), yet can add up to a normal rest (lsc_combine) */
static inline double lsc_chunk_weight_s(double mc, double m)
{
    double d = mc - m;
    double bb = d - mc;
    double err = (mc - (d - bb)) + (-m - bb);
    err = d > -790.0 ? err : 0.0;  /* exp(d) 2**64 is 0 (and err NaN for -inf) */
    double e;
    if (d >= -700.0) {
        e = exp(d) * LSC_VEXP_S;
    }
    else {
        const double h = exp(0.5 * d);
        e = (h * LSC_VEXP_S) * h;
    }
    return e + e * err;
}

/* exp(mc - m), corrected as lsc_chunk_weight_s (softmax's factors) */
static inline double lsc_chunk_weight(double mc, double m)
{
    return lsc_chunk_weight_s(mc, m) * (1.0 / LSC_VEXP_S);
}

/* Combine chunk statistics in index order into mc = {max, log1p(s)}, where s is the
   row's sum of exp(x - max) without one occurrence of the max; single: a float row.
   The chunks that hold the row's max give their rest and count; the others their sum
   s, scaled (its relative accuracy is all their share needs: the row's rest is at
   least their scaled sum). */
static void lsc_combine(const lsc_stats *st, ptrdiff_t nc, double *mc, int single)
{
    double m = -INFINITY;
    for (ptrdiff_t c = 0; c < nc; c++) {
        m = st[c].m > m ? st[c].m : m;
    }
    if (!(m > -INFINITY && m < INFINITY)) {
        /* only -inf / NaN, or a +inf: the whole row is NaN */
        mc[0] = m;
        mc[1] = NAN;
        return;
    }
    /* (the rest 2**64 times over: lsc_chunk_weight_s; the same bits where no term is
       that small) */
    double rest = 0.0, count = 0.0;
    for (ptrdiff_t c = 0; c < nc; c++) {
        if (st[c].m == m) {
            rest += st[c].rest * LSC_VEXP_S;
            count += st[c].count;
        }
        else {
            rest += lsc_chunk_weight_s(st[c].m, m) * st[c].s;
        }
    }
    mc[0] = m;
    mc[1] = lsc_log1p_sum(rest * (1.0 / LSC_VEXP_S) + (count - 1.0), single);
}

/* The factors of a softmax row from its chunks' statistics: with M the row's max and
   S = the sum over the chunks of exp(m_c - M) s_c (in index order), st[c].f =
   exp(m_c - M) / S, and the row's softmax is y_j = exp(x_j - m_c) st[c].f (the factor
   rounded to the element type) for x_j in chunk c: exp once an element where the
   chunk's exps are kept, and the same bits where they are computed again.  One chunk:
   1 / S, lsc_softmax_row1's factor.  Where M is not finite (a row of -inf and NaN
   alone, or with a +inf) or a NaN took part, every factor is NaN: so is the row. */
static void lsc_softmax_scales(lsc_stats *st, ptrdiff_t nc)
{
    double m = -INFINITY, s = 0.0;
    for (ptrdiff_t c = 0; c < nc; c++) {
        m = st[c].m > m ? st[c].m : m;
    }
    for (ptrdiff_t c = 0; c < nc; c++) {
        st[c].f = st[c].m == m ? 1.0 : lsc_chunk_weight(st[c].m, m);
        s += st[c].f * st[c].s;
    }
    if (!(m > -INFINITY && m < INFINITY)) {
        s = NAN;
    }
    for (ptrdiff_t c = 0; c < nc; c++) {
        st[c].f /= s;
    }
}

/* ---- scratch blocks kept between calls --------------------------------------------
 * The column bands take a few MiB of packed copies per thread.  Fresh from malloc on
 * every call, blocks that large come from mmap and go back to the system on free,
 * until glibc's thresholds adapt (which takes several calls, and is undone when the
 * process's other allocations trim the heap): every page of them then faults and is
 * zeroed again, which made the first calls of a process on 4096x4096 floats along
 * axis 0 take 1.4 to 2 times as long.  So up to LSC_SCRATCH_SLOTS freed blocks are kept
 * here for the next call: lsc_scratch_get(n) takes one of at least n bytes from the
 * pool (freeing the smaller ones it meets) or from malloc, lsc_scratch_put gives it
 * back (kept if a slot is free, else freed).  The pool holds at most
 * LSC_SCRATCH_SLOTS blocks of what one thread's bands take (the bands themselves,
 * their copies, 3 MiB, and their rows' stashes, lsc_band_write_lines), whatever the
 * number of threads.  Blocks are 64-byte aligned; their size lives in the 64 bytes
 * before them.  The slots are taken and filled with atomic exchanges, so threads may
 * share the pool. */
#define LSC_SCRATCH_SLOTS 4
#define LSC_SCRATCH_HEAD 64
#if defined(__GNUC__)
static void *lsc_scratch_pool[LSC_SCRATCH_SLOTS];

/* the slot a thread tries first: its own, where it has one (a block that stays with
   one thread stays in that core's caches: passed between threads, its lines would
   move from cache to cache) */
static int lsc_scratch_home(void)
{
#if defined(_OPENMP)
    return omp_get_thread_num() % LSC_SCRATCH_SLOTS;
#else
    return 0;
#endif
}

static void *lsc_scratch_get(size_t n)
{
    const int h = lsc_scratch_home();
    for (int k = 0; k < LSC_SCRATCH_SLOTS; k++) {
        const int i = (h + k) % LSC_SCRATCH_SLOTS;
        void *b = __atomic_exchange_n(&lsc_scratch_pool[i], NULL, __ATOMIC_ACQUIRE);
        if (b == NULL) {
            continue;
        }
        if (*(size_t *)b >= n) {
            return (char *)b + LSC_SCRATCH_HEAD;
        }
        /* too small: its slot goes to the larger block this call takes */
        free(b);
    }
    const size_t size = (n + 63) / 64 * 64;
    if (size < n) {
        return NULL;
    }
    void *b = aligned_alloc(64, size + LSC_SCRATCH_HEAD);
    if (b == NULL) {
        return NULL;
    }
    *(size_t *)b = size;
    return (char *)b + LSC_SCRATCH_HEAD;
}

static void lsc_scratch_put(void *p)
{
    if (p == NULL) {
        return;
    }
    void *b = (char *)p - LSC_SCRATCH_HEAD;
    const int h = lsc_scratch_home();
    for (int k = 0; k < LSC_SCRATCH_SLOTS; k++) {
        const int i = (h + k) % LSC_SCRATCH_SLOTS;
        void *empty = NULL;
        if (__atomic_compare_exchange_n(&lsc_scratch_pool[i], &empty, b, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED)) {
            return;
        }
    }
    free(b);
}
#else
static void *lsc_scratch_get(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64);
}

static void lsc_scratch_put(void *p)
{
    free(p);
}
#endif

/* ---- streaming (non-temporal) stores for the write pass of large outputs ----------
 * A store that misses the cache first reads the line it writes (read-for-ownership);
 * for an output far larger than the caches that is a third stream of memory traffic,
 * which non-temporal stores avoid.  x86 only; elsewhere the plain loop is used. */
#if defined(__AVX512F__)
#include <immintrin.h>
#define LSC_STREAM 1
typedef __m512 lsc_v_f32;
typedef __m512d lsc_v_f64;
#define LSC_VLOADU_f32 _mm512_loadu_ps
#define LSC_VSET1_f32 _mm512_set1_ps
#define LSC_VSUB_f32 _mm512_sub_ps
#define LSC_VSTREAM_f32 _mm512_stream_ps
#define LSC_VLOADU_f64 _mm512_loadu_pd
#define LSC_VSET1_f64 _mm512_set1_pd
#define LSC_VSUB_f64 _mm512_sub_pd
#define LSC_VSTREAM_f64 _mm512_stream_pd
#elif defined(__AVX__)
#include <immintrin.h>
#define LSC_STREAM 1
typedef __m256 lsc_v_f32;
typedef __m256d lsc_v_f64;
#define LSC_VLOADU_f32 _mm256_loadu_ps
#define LSC_VSET1_f32 _mm256_set1_ps
#define LSC_VSUB_f32 _mm256_sub_ps
#define LSC_VSTREAM_f32 _mm256_stream_ps
#define LSC_VLOADU_f64 _mm256_loadu_pd
#define LSC_VSET1_f64 _mm256_set1_pd
#define LSC_VSUB_f64 _mm256_sub_pd
#define LSC_VSTREAM_f64 _mm256_stream_pd
#elif defined(__SSE2__)
#include <emmintrin.h>
#define LSC_STREAM 1
typedef __m128 lsc_v_f32;
typedef __m128d lsc_v_f64;
#define LSC_VLOADU_f32 _mm_loadu_ps
#define LSC_VSET1_f32 _mm_set1_ps
#define LSC_VSUB_f32 _mm_sub_ps
#define LSC_VSTREAM_f32 _mm_stream_ps
#define LSC_VLOADU_f64 _mm_loadu_pd
#define LSC_VSET1_f64 _mm_set1_pd
#define LSC_VSUB_f64 _mm_sub_pd
#define LSC_VSTREAM_f64 _mm_stream_pd
#else
#define LSC_STREAM 0
#endif
#if LSC_STREAM
#define LSC_SFENCE() _mm_sfence()
#else
#define LSC_SFENCE() ((void)0)
#endif

/* ---- float16 <-> float32 -------------------------------------------------------------
 * float16 computes in float32.  NumPy converts between them one element at a time (3-7
 * ns an element on Zen 3, five to ten times a float32 log_softmax's time); these take
 * eight at a time with F16C (x86-64-v3 and up), elsewhere one at a time by their bits.
 * IEEE round to nearest even, as NumPy: overflow to +-inf, subnormals kept, a NaN stays
 * a NaN (quiet). */
#include <stdint.h>
#include <string.h>
#if defined(__F16C__)
#include <immintrin.h>
#endif

static inline float lsc_half_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    uint32_t bits;
    float f;
    if (e == 0) {
        /* zero or subnormal: m * 2**-24, exact */
        f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    bits = e == 0x1f ? sign | 0x7f800000u | (m << 13)          /* inf, NaN */
                     : sign | ((e + 112) << 23) | (m << 13);   /* rebiased */
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t lsc_float_to_half(float f)
{
    uint32_t x, a;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    a = x & 0x7fffffffu;
    if (a > 0x7f800000u) {
        return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu);  /* NaN, quiet */
    }
    if (a >= 0x477ff000u) {
        return sign | 0x7c00u;  /* inf, and from 65520 (which rounds to it) */
    }
    if (a >= 0x38800000u) {
        /* normal: rebias, round the 13 bits dropped to nearest even */
        a -= 0x38000000u;
        a += 0xfffu + ((a >> 13) & 1u);
        return sign | (uint16_t)(a >> 13);
    }
    /* below 2**-14: in steps of 2**-24, the units of the last place of 0.5f, which the
       addition rounds to (to nearest even, the default mode) */
    float t;
    memcpy(&t, &a, sizeof t);
    t += 0.5f;
    memcpy(&a, &t, sizeof a);
    return sign | (uint16_t)(a - 0x3f000000u);
}

static void lsc_f16_to_f32(const uint16_t *s, float *d, ptrdiff_t n)
{
    ptrdiff_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    }
#endif
    for (; i < n; i++) {
        d[i] = lsc_half_to_float(s[i]);
    }
}

static void lsc_f32_to_f16(const float *s, uint16_t *d, ptrdiff_t n)
{
    ptrdiff_t i = 0;
#if defined(__F16C__)
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *)(d + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(s + i),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
#endif
    for (; i < n; i++) {
        d[i] = lsc_float_to_half(s[i]);
    }
}

#if defined(__AVX2__) && LSC_SIMD_BYTES == 32
/* tiles of short float rows go in and out of their buffer by 8x8 transposes
   (lsc_rows_tile) */
#define LSC_TILE_T8 1
/* r[i] = column i of the 8x8 block whose rows are r[0..8) */
static inline void lsc_transpose8_f32(__m256 *r)
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}
#endif
#include "lsc_cols_onepass.h"

#define LSC_T float
#define LSC_SFX f32
#define LSC_EXP lsc_exp_f32
#define LSC_EXPS lsc_exp_f32s
/* the least scaled term of a dominated sum that gets its correction (lsc_vcorr_add):
   exp(d) = 2**-148, whose correction (|err| < 2**-16) is below 2**-38 of the least
   normal sum; the product stays normal for |err| >= 2**-42 */
#define LSC_CORR_MIN 0x1p-84f
#define LSC_CHUNK LSC_CHUNK_F32
#define LSC_COL_CARRY_LOAD 1
#define LSC_SUM_BLOCK LSC_SUM_BLOCK_F32
#define LSC_V lsc_vf32
#define LSC_VI lsc_vi32
#define LSC_VU lsc_vf32u
#define LSC_VEXP lsc_vexp_f32
#define LSC_VEXPS lsc_vexp_f32s
#define LSC_VEXP_SUM lsc_vexp_f32_sum
#if defined(LSC_VEXP_F32_CW)
#define LSC_VEXP_CW LSC_VEXP_F32_CW
#endif
#define LSC_VMAX lsc_vmax_f32
#define LSC_VSEL lsc_vsel_f32
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#define LSC_MASK_T __mmask16
#define LSC_CMPNEQ_MASK(a, b) _mm512_cmp_ps_mask((__m512)(a), (__m512)(b), _CMP_NEQ_UQ)
#define LSC_CMPEQ_MASK(a, b) _mm512_cmp_ps_mask((__m512)(a), (__m512)(b), _CMP_EQ_OQ)
/* the lanes where a < b is false (NaN's too); a * b in the lanes of k, 0 in the others
   (the others' products not formed) */
#define LSC_CMPNLT_MASK(a, b) _mm512_cmp_ps_mask((__m512)(a), (__m512)(b), _CMP_NLT_UQ)
#define LSC_MASKZ_MUL(k, a, b) ((lsc_vf32)_mm512_maskz_mul_ps((k), (__m512)(a), (__m512)(b)))
#define LSC_MASK_ADD(s, k, a, b) \
    ((lsc_vf32)_mm512_mask_add_ps((__m512)(s), (k), (__m512)(a), (__m512)(b)))
/* the lanes of k from p, the others `fill`; and the lanes of k of v to p */
#define LSC_MASK_LOAD(k, p, fill) \
    ((lsc_vf32)_mm512_mask_loadu_ps(_mm512_set1_ps(fill), (k), (p)))
#define LSC_MASK_STORE(p, k, v) _mm512_mask_storeu_ps((p), (k), (__m512)(v))
/* a * b + c in the lanes of k, c in the others */
#define LSC_MASK_FMA(a, b, c, k) \
    ((lsc_vf32)_mm512_mask3_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c), (k)))
/* of a and b lane by lane, the one of larger magnitude and the other (vrangeps, with
   the sign of the one chosen) */
#define LSC_VABSMAX(a, b) ((lsc_vf32)_mm512_range_ps((__m512)(a), (__m512)(b), 0x7))
#define LSC_VABSMIN(a, b) ((lsc_vf32)_mm512_range_ps((__m512)(a), (__m512)(b), 0x6))
#endif
/* a float vector's lanes in double: LSC_NVD double vectors, the k-th by
   LSC_TO_VD(v, k); the lane sums in double of a float vector and of its int32 twin */
#define LSC_NVD 2
#define LSC_TO_VD(v, k) ((k) == 0 ? lsc_widen_lo_f32(v) : lsc_widen_hi_f32(v))
#define LSC_WIDE_SUM lsc_wide_sum_f32
#define LSC_WIDE_SUM_I lsc_wide_sum_i32
#define LSC_HMAX lsc_hmax_vf32
#include "lsc_kernels_impl.h"
#undef LSC_TILE_T8

#define LSC_T double
#define LSC_SFX f64
#define LSC_EXP lsc_exp_f64
#define LSC_EXPS lsc_exp_f64s
/* (as float's: exp(d) = 2**-1026, products normal for |err| >= 2**-60) */
#define LSC_CORR_MIN 0x1p-962
#define LSC_CHUNK LSC_CHUNK_F64
#define LSC_COL_CARRY_LOAD 0
#define LSC_SUM_BLOCK LSC_SUM_BLOCK_F64
#define LSC_V lsc_vf64
#define LSC_VI lsc_vi64
#define LSC_VU lsc_vf64u
#define LSC_VEXP lsc_vexp_f64
#define LSC_VEXPS lsc_vexp_f64s
#define LSC_VEXP_SUM lsc_vexp_f64_sum
#define LSC_VMAX lsc_vmax_f64
#define LSC_VSEL lsc_vsel_f64
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#define LSC_MASK_T __mmask8
#define LSC_CMPNEQ_MASK(a, b) _mm512_cmp_pd_mask((__m512d)(a), (__m512d)(b), _CMP_NEQ_UQ)
#define LSC_CMPEQ_MASK(a, b) _mm512_cmp_pd_mask((__m512d)(a), (__m512d)(b), _CMP_EQ_OQ)
#define LSC_CMPNLT_MASK(a, b) _mm512_cmp_pd_mask((__m512d)(a), (__m512d)(b), _CMP_NLT_UQ)
#define LSC_MASKZ_MUL(k, a, b) ((lsc_vf64)_mm512_maskz_mul_pd((k), (__m512d)(a), (__m512d)(b)))
#define LSC_MASK_ADD(s, k, a, b) \
    ((lsc_vf64)_mm512_mask_add_pd((__m512d)(s), (k), (__m512d)(a), (__m512d)(b)))
#define LSC_MASK_LOAD(k, p, fill) \
    ((lsc_vf64)_mm512_mask_loadu_pd(_mm512_set1_pd(fill), (k), (p)))
#define LSC_MASK_STORE(p, k, v) _mm512_mask_storeu_pd((p), (k), (__m512d)(v))
#define LSC_MASK_FMA(a, b, c, k) \
    ((lsc_vf64)_mm512_mask3_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c), (k)))
#define LSC_VABSMAX(a, b) ((lsc_vf64)_mm512_range_pd((__m512d)(a), (__m512d)(b), 0x7))
#define LSC_VABSMIN(a, b) ((lsc_vf64)_mm512_range_pd((__m512d)(a), (__m512d)(b), 0x6))
#endif
#define LSC_NVD 1
#define LSC_TO_VD(v, k) (v)
#define LSC_WIDE_SUM lsc_hsum_vf64
#define LSC_WIDE_SUM_I(v) lsc_hsum_vf64(__builtin_convertvector((v), lsc_vf64))
#define LSC_HMAX lsc_hmax_vf64
#include "lsc_kernels_impl.h"

#if defined(__AVX512F__)
#define LSC_ISA_NAME "avx512"
#elif defined(__AVX2__)
#define LSC_ISA_NAME "avx2"
#else
#define LSC_ISA_NAME "baseline"
#endif

/* ---- instruction-set level of this CPU: 0 baseline, 1 x86-64-v3, 2 x86-64-v4 ---- */
static int lsc_cpu_level(void)
{
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
    __builtin_cpu_init();
    int v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi2");
    int v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    return v4 ? 2 : (v3 ? 1 : 0);
#else
    return 0;
#endif
}

#endif
