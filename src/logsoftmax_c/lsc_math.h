/*
 * Vectorisable exp and log1p for the kernels' inner loops.
 *
 * libm's exp is a call gcc cannot vectorise; these are plain branch-free
 * inline functions (Cody-Waite range reduction, polynomial, exponent built
 * from integer bits) that gcc turns into packed SSE2/AVX2/AVX-512 code
 * inside `#pragma omp simd` loops.
 *
 * Contract, for the arguments the kernels pass (x - max <= 0, or NaN); valid
 * for x <= 88 (float) / 709 (double):
 *   - relative error about 1 ulp for results in the normal range;
 *   - exp(-inf) == 0, exp(NaN) is NaN, exp(0) == 1 exactly;
 *   - results that would be subnormal (x below about -87.3 / -708.4) are 0 or,
 *     near the threshold, a subnormal: they are below 2**-126 (float) /
 *     2**-1022 (double) of the row maximum, far below one ulp of any
 *     log-sum-exp.
 */
#ifndef LSC_MATH_H
#define LSC_MATH_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define LSC_INLINE static inline __attribute__((always_inline))
#else
#define LSC_INLINE static inline
#endif

/* LSC_OPAQUE(v): v unchanged, but a value the compiler can no longer see through (a
   floating-point variable, kept in a vector register) */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define LSC_OPAQUE(v) __asm__("" : "+x"(v))
#elif defined(__GNUC__) && defined(__aarch64__)
#define LSC_OPAQUE(v) __asm__("" : "+w"(v))
#else
#define LSC_OPAQUE(v) ((void)0)
#endif

/* the constants of the exps below, shared with the vector forms in lsc_simd.h */
#define LSC_EXP_F32_LO -88.0f                 /* k = -127 here: the scale is +0 */
#define LSC_SHIFTER_F32 12582912.0f           /* 1.5 * 2**23: add/sub rounds to an integer */
#define LSC_LOG2E_F32 1.44269504088896341f
#define LSC_LN2_HI_F32 0.693359375f           /* few bits: k * ln2_hi is exact */
#define LSC_LN2_LO_F32 -2.12194440e-4f
/* exp(r) = 1 + r + r**2 (C2 + C3 r + ... + C6 r**4) on |r| <= ln2/2: a degree-6 fit of
   the relative error (truncation 0.03 ulp; with the float arithmetic, 0.65 ulp at most
   over every float argument in [-87, 0]) */
#define LSC_EXP_F32_C6 1.381461275741458e-3f
#define LSC_EXP_F32_C5 8.368710055947304e-3f
#define LSC_EXP_F32_C4 4.166838899254799e-2f
#define LSC_EXP_F32_C3 1.666652113199234e-1f
#define LSC_EXP_F32_C2 4.999999403953552e-1f

#define LSC_EXP_F64_LO -709.0                 /* k = -1023 here: the scale is +0 */
#define LSC_SHIFTER_F64 6755399441055744.0    /* 1.5 * 2**52 */
#define LSC_LOG2E_F64 1.4426950408889634074
#define LSC_LN2_HI_F64 6.93147180369123816490e-01  /* fdlibm split */
#define LSC_LN2_LO_F64 1.90821492927058770002e-10
/* the scale of the scaled exps (lsc_exp_f32s, ..., and the vector forms in lsc_simd.h)
   and its logarithm */
#define LSC_VEXP_S 0x1p64
#define LSC_VEXP_S_LN 44.361419555836499802  /* ln 2**64 */
/* exp(r) = 1 + r + r**2 q(r), q of degree 9 fitted at Chebyshev points of
   |r| <= ln2/2: truncation about 0.15 ulp */
#define LSC_EXP_F64_C11 2.5083955032723937e-08
#define LSC_EXP_F64_C10 2.7617758195203003e-07
#define LSC_EXP_F64_C9 2.7557286281291783e-06
#define LSC_EXP_F64_C8 2.4801527325193255e-05
#define LSC_EXP_F64_C7 1.9841269876737575e-04
#define LSC_EXP_F64_C6 1.3888888912058010e-03
#define LSC_EXP_F64_C5 8.3333333333128000e-03
#define LSC_EXP_F64_C4 4.1666666666640484e-02
#define LSC_EXP_F64_C3 1.6666666666666713e-01
#define LSC_EXP_F64_C2 4.9999999999999990e-01

/* exp(r) for |r| <= ln2/2 times 2**k (2**(k + 64) with sc), k given by the low bits
   of kbits (see below) */
LSC_INLINE float lsc_exp_f32_finish(float r, uint32_t kbits, const int sc)
{
    float p = LSC_EXP_F32_C6;
    p = p * r + LSC_EXP_F32_C5;
    p = p * r + LSC_EXP_F32_C4;
    p = p * r + LSC_EXP_F32_C3;
    p = p * r + LSC_EXP_F32_C2;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* kbits = k + (the shifter's bits); shifted into the exponent field they give
       2**k (the shifter's own bits overflow out of 32 bits).  k = -127 (-191 with sc)
       gives the bits of +0, so arguments below about -87.7 (-132 with sc) come out as
       exactly 0. */
    uint32_t sb = (kbits + 127u + (sc ? 64u : 0u)) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

/* exp(x), or with sc (a constant) exp(x) 2**64: the same bits times 2**64 where
   exp(x) is normal, and normal down to exp(x) = 2**-190 (the scaled terms of a
   dominated sum, as the vector forms' in lsc_simd.h) */
LSC_INLINE float lsc_exp_f32_sc(float x, const int sc)
{
    /* exp(x) = 2**k * exp(r), k = round(x / ln2), |r| <= ln2 / 2 */
    const float lo = sc ? (float)(LSC_EXP_F32_LO - LSC_VEXP_S_LN) : LSC_EXP_F32_LO;
    float xc = x < lo ? lo : x;  /* -inf -> lo; NaN passes */
    float t = xc * LSC_LOG2E_F32 + LSC_SHIFTER_F32;
    float k = t - LSC_SHIFTER_F32;
    float r = xc - k * LSC_LN2_HI_F32;
    r = r - k * LSC_LN2_LO_F32;
    uint32_t tb;                          /* the low bits of t hold k */
    memcpy(&tb, &t, sizeof tb);
    return lsc_exp_f32_finish(r, tb, sc);
}

LSC_INLINE double lsc_exp_f64_sc(double x, const int sc)
{
    const double lo = sc ? LSC_EXP_F64_LO - LSC_VEXP_S_LN : LSC_EXP_F64_LO;
    double xc = x < lo ? lo : x;
    double t = xc * LSC_LOG2E_F64 + LSC_SHIFTER_F64;
    double k = t - LSC_SHIFTER_F64;
    double r = xc - k * LSC_LN2_HI_F64;
    r = r - k * LSC_LN2_LO_F64;
    double p = LSC_EXP_F64_C11;
    p = p * r + LSC_EXP_F64_C10;
    p = p * r + LSC_EXP_F64_C9;
    p = p * r + LSC_EXP_F64_C8;
    p = p * r + LSC_EXP_F64_C7;
    p = p * r + LSC_EXP_F64_C6;
    p = p * r + LSC_EXP_F64_C5;
    p = p * r + LSC_EXP_F64_C4;
    p = p * r + LSC_EXP_F64_C3;
    p = p * r + LSC_EXP_F64_C2;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint64_t sb = (tb + 1023u + (sc ? 64u : 0u)) << 52;
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

#define lsc_exp_f32(x) lsc_exp_f32_sc((x), 0)
#define lsc_exp_f64(x) lsc_exp_f64_sc((x), 0)
#define lsc_exp_f32s(x) lsc_exp_f32_sc((x), 1)
#define lsc_exp_f64s(x) lsc_exp_f64_sc((x), 1)

/* log1p(s) for s >= 0 (or NaN), vectorisable: the column and tile kernels take one
 * per slice, and there the slices are the vector lanes.  About 1 ulp.
 * u = 1 + s rounds; c = (u - 1) - s is that rounding error and
 * log1p(s) = log(u) - c / u to first order.  log(u) = e ln2 + log(f) with
 * u = 2**e f, f in [sqrt(1/2), sqrt(2)), and log(f) = 2 atanh(z), z = (f-1)/(f+1).
 * The series in w = z**2 goes in Estrin's order (pairs, then pairs of pairs): the
 * row kernels wait on one logarithm per row, and its latency is that of its longest
 * chain.  single (a constant): the result need only be as good as a float's, and the
 * series stops at z**13 (truncation below 2**-34 of the result).
 */
LSC_INLINE double lsc_log1p_core(double s, const int single)
{
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    double u = 1.0 + s;
    double c = (u - 1.0) - s;
    uint64_t ub;
    memcpy(&ub, &u, sizeof ub);
    /* move the cut between exponents to sqrt(2) (the offset of sqrt(1/2)'s bits) */
    uint64_t hx = ub + (0x3ff0000000000000ULL - 0x3fe6a09e667f3bcdULL);
    uint64_t fb = (hx & 0x000fffffffffffffULL) + 0x3fe6a09e667f3bcdULL;
    double f;
    memcpy(&f, &fb, sizeof f);
    /* e as a double without an int64 -> double conversion: 2**52 + E - (2**52 + 1023) */
    uint64_t eb = (hx >> 52) | 0x4330000000000000ULL;
    double e;
    memcpy(&e, &eb, sizeof e);
    e -= 4503599627371519.0;  /* 2**52 + 1023 */
    /* below u = sqrt(2) (e == 0) f - 1 is s itself, known exactly: no correction.
       (One division of the selected terms: a vector of lanes takes both sides.)  For
       a float result the correction c / u, below 2**-53 of a result of at least 0.34
       where it is taken, is left out: one division less. */
    int small = s < 0.41421356237309503;
    double z = (small ? s : f - 1.0) / (small ? 2.0 + s : f + 1.0);
    c = small ? 0.0 : c;
    double w = z * z, w2 = w * w, w4 = w2 * w2;
    /* 2 atanh(z) = 2z (1 + w/3 + w**2/5 + ...); |z| < 0.172, w < 0.0295: p holds the
       terms from 2/3 on, to z**25 (single: to z**13) */
    double p;
    if (single) {
        double q0 = 2.0 / 3.0 + w * (2.0 / 5.0), q1 = 2.0 / 7.0 + w * (2.0 / 9.0);
        double q2 = 2.0 / 11.0 + w * (2.0 / 13.0);
        p = q0 + w2 * (q1 + w2 * q2);
    }
    else {
        double q0 = 2.0 / 3.0 + w * (2.0 / 5.0), q1 = 2.0 / 7.0 + w * (2.0 / 9.0);
        double q2 = 2.0 / 11.0 + w * (2.0 / 13.0), q3 = 2.0 / 15.0 + w * (2.0 / 17.0);
        double q4 = 2.0 / 19.0 + w * (2.0 / 21.0), q5 = 2.0 / 23.0 + w * (2.0 / 25.0);
        double r0 = q0 + w2 * q1, r1 = q2 + w2 * q3, r2 = q4 + w2 * q5;
        p = r0 + w4 * (r1 + w4 * r2);
    }
    double logf = 2.0 * z + z * (w * p);
    double res = e * ln2_hi + (logf + (single ? e * ln2_lo : e * ln2_lo - c / u));
    return s == s ? res : s;
}

LSC_INLINE double lsc_log1p_f64(double s)
{
    return lsc_log1p_core(s, 0);
}

/* log1p(s + sl) in float arithmetic for finite s >= 0 (or NaN) and a low part sl far
 * below an ulp of s, vectorisable: the columns' statistics for float results, one a
 * column (short columns spent a third of their time in lsc_log1p_core, two vectors of
 * doubles a vector of columns).  Within 0.67 ulp of log1p(s) where sl = 0 (against
 * long double on 4e7 arguments: tiny, in [0, 1), in [0, 30)).
 * u = 1 + s rounds with error c (TwoSum; sl joins it); u = 2**e f with f in [1, 2), and
 * log1p(s) = e ln2 + log(f) + c / u to first order.  log(f) = 2 atanh(z), z = (f - 1) /
 * (f + 1): f - 1 is exact, and the rounding of the quotient q and of its denominator d
 * are put back to first order, z = q + (r - q dl) / d with r = (f - 1) - q d (exact: an
 * FMA), dl the rounding error of d and 1 / d = (1 - q) / 2 (without them: 1.9 ulps).
 * The series in w = z**2 to z**15 (|z| < 1/3: truncation below 2**-28 of the result).
 * c / u as c 2**-e (1 - 2q (1 - q)), about 1 / f: where s is tiny (the dominant
 * element's log-probability), u - 1 has lost s's low bits and c holds them all.  The
 * cut at f = 1 (not at sqrt(2)) keeps e ln2 and log(f) of one sign, and e ln2 + 2q is
 * a Fast2Sum whose low part takes the rest.  Branch-free, no table.
 */
LSC_INLINE float lsc_log1p_f32(float s, float sl)
{
    const float u = 1.0f + s;
    const float bb = u - s;
    const float c = ((1.0f - bb) + (s - (u - bb))) + sl;
    uint32_t ub;
    memcpy(&ub, &u, sizeof ub);
    const uint32_t fb = (ub & 0x007fffffu) | 0x3f800000u;
    float f;
    memcpy(&f, &fb, sizeof f);
    const int32_t ei = (int32_t)(ub >> 23) - 127;
    const float e = (float)ei;
    const float num = f - 1.0f, den = f + 1.0f;
    /* (den - 1 is exact for den in [2, 3)) */
    const float denl = f - (den - 1.0f);
    const float q = num / den;
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
    const float r = __builtin_fmaf(-q, den, num);
#else
    const float r = (float)((double)num - (double)q * (double)den);
#endif
    const float zl = (r - q * denl) * (0.5f - 0.5f * q);
    const float w = q * q;
    const float p =
        1.0f / 3 +
        w * (1.0f / 5 +
             w * (1.0f / 7 + w * (1.0f / 9 + w * (1.0f / 11 + w * (1.0f / 13 + w * (1.0f / 15))))));
    const float tail = 2.0f * zl + (2.0f * q) * (w * p);
    uint32_t sb = (uint32_t)(127 - ei) << 23;
    float sc;
    memcpy(&sc, &sb, sizeof sc);
    const float cu = (c * sc) * (1.0f - 2.0f * q * (1.0f - q));
    /* ln 2 = 0.693145752 (exact in float, and times e) + 1.42860677e-06 */
    const float a = e * 0.693145752f, b = 2.0f * q;
    const float hi = a + b;
    const float lo = b - (hi - a);
    const float res = hi + (lo + (tail + (e * 1.42860677e-06f + cu)));
    return s == s ? res : s;
}

#endif
