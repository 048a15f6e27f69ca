/*
 * Whole-vector building blocks for the row kernels: GCC/Clang vector extensions,
 * which every instruction-set build lowers to its own registers (SSE2, AVX2,
 * AVX-512) from this one source.
 *
 * Why not plain loops under `#pragma omp simd`, as elsewhere: a row's exp-sum is
 * a long chain of dependent operations per vector, and the hardware only overlaps
 * as many of them as its floating-point scheduler holds.  Here the loops carry
 * several vectors stage by stage, the row's tail is one more vector (no scalar
 * epilogue), and the horizontal sums run once per row in a fixed tree order.
 */
#ifndef LSC_SIMD_H
#define LSC_SIMD_H

#include <stdint.h>
#include <string.h>

#include "lsc_math.h"

/* LSC_SIMD_BYTES (the vector width of the build) comes from lsc_kernels.h, and with
   it the lanes of a float and of a double vector (as plain numbers, for token pasting) */
#if LSC_SIMD_BYTES == 64
#define LSC_SIMD_LANES_F32 16
#define LSC_SIMD_LANES_F64 8
#elif LSC_SIMD_BYTES == 32
#define LSC_SIMD_LANES_F32 8
#define LSC_SIMD_LANES_F64 4
#else
#define LSC_SIMD_LANES_F32 4
#define LSC_SIMD_LANES_F64 2
#endif
typedef float lsc_vf32 __attribute__((vector_size(LSC_SIMD_BYTES)));
typedef int32_t lsc_vi32 __attribute__((vector_size(LSC_SIMD_BYTES)));
typedef double lsc_vf64 __attribute__((vector_size(LSC_SIMD_BYTES)));
typedef int64_t lsc_vi64 __attribute__((vector_size(LSC_SIMD_BYTES)));
/* half a float vector */
typedef float lsc_vf32h __attribute__((vector_size(LSC_SIMD_BYTES / 2)));
typedef int32_t lsc_vi32h __attribute__((vector_size(LSC_SIMD_BYTES / 2)));
/* unaligned, aliasing views of memory */
typedef float lsc_vf32u __attribute__((vector_size(LSC_SIMD_BYTES), aligned(4), may_alias));
typedef double lsc_vf64u __attribute__((vector_size(LSC_SIMD_BYTES), aligned(8), may_alias));

#define LSC_SPLAT(type, c) ((type){} + (c))

LSC_INLINE lsc_vf32 lsc_vsel_f32(lsc_vi32 m, lsc_vf32 a, lsc_vf32 b)
{
    return (lsc_vf32)((m & (lsc_vi32)a) | (~m & (lsc_vi32)b));
}

LSC_INLINE lsc_vf64 lsc_vsel_f64(lsc_vi64 m, lsc_vf64 a, lsc_vf64 b)
{
    return (lsc_vf64)((m & (lsc_vi64)a) | (~m & (lsc_vi64)b));
}

/* a > b ? a : b lane by lane (b where a is NaN): x86's max instruction, which compilers
   do not derive from a select */
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#include <immintrin.h>
#define lsc_vmax_f32(a, b) ((lsc_vf32)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define lsc_vmax_f64(a, b) ((lsc_vf64)_mm512_max_pd((__m512d)(a), (__m512d)(b)))
#elif defined(__AVX__) && LSC_SIMD_BYTES == 32
#include <immintrin.h>
#define lsc_vmax_f32(a, b) ((lsc_vf32)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define lsc_vmax_f64(a, b) ((lsc_vf64)_mm256_max_pd((__m256d)(a), (__m256d)(b)))
#elif defined(__SSE2__) && LSC_SIMD_BYTES == 16
#include <emmintrin.h>
#define lsc_vmax_f32(a, b) ((lsc_vf32)_mm_max_ps((__m128)(a), (__m128)(b)))
#define lsc_vmax_f64(a, b) ((lsc_vf64)_mm_max_pd((__m128d)(a), (__m128d)(b)))
#else
#define lsc_vmax_f32(a, b) lsc_vsel_f32((lsc_vi32)((a) > (b)), (a), (b))
#define lsc_vmax_f64(a, b) lsc_vsel_f64((lsc_vi64)((a) > (b)), (a), (b))
#endif

/* whether any bit of the integer vector v is set (a lane mask of a compare) */
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#define LSC_VANY(v) (_mm512_test_epi64_mask((__m512i)(v), (__m512i)(v)) != 0)
#elif defined(__AVX__) && LSC_SIMD_BYTES == 32
#define LSC_VANY(v) (!_mm256_testz_si256((__m256i)(v), (__m256i)(v)))
#elif defined(__SSE2__) && LSC_SIMD_BYTES == 16
#define LSC_VANY(v) (_mm_movemask_epi8((__m128i)(v)) != 0)
#else
#define LSC_VANY(v) lsc_vany_bytes((lsc_vi64)(v))
LSC_INLINE int lsc_vany_bytes(lsc_vi64 v)
{
    uint64_t a[LSC_SIMD_BYTES / 8], o = 0;
    memcpy(a, &v, sizeof a);
    for (int i = 0; i < LSC_SIMD_BYTES / 8; i++) {
        o |= a[i];
    }
    return o != 0;
}
#endif

/* exp(x) lane by lane, for x <= 0 or NaN: lsc_exp_f32's polynomial, with the
 * argument clamped by a max instruction (NaN passes: it is the second operand).
 * Where the build has FMA, the float version reduces the argument in one step,
 * r = x - k fl(ln 2) with one rounding, which costs a relative error of
 * k (fl(ln 2) - ln 2) = x LSC_VEXP_F32_CW to first order (at most 2.4e-7, at
 * k = -126): within the rounding error of x itself when x is a difference x_j - max
 * of float scores, |x| 2**-24, and put back where the dominant element needs it
 * (lsc_vdominated).  Without FMA (the product k fl(ln 2) would round), and for
 * double, the two steps of lsc_exp_f32 and lsc_exp_f64.  With AVX-512 the scaling
 * by 2**k is one vscalefps, whose zero-masking makes the results below the smallest
 * normal number 0: a compare of x with LSC_VEXP_F32_NORMAL, which also stands for the
 * clamp (-inf and arguments below it come out 0 whatever their lane held on the way).
 * A vscalefps or a product that rounds to a subnormal costs a microcode assist of
 * about a hundred cycles: scores 16 times a standard normal, whose rows reach 80-130
 * below their max, took 4 times as long with the subnormals (1024x1000 float32).
 * Elsewhere it is lsc_exp_f32's integer add to the exponent field, whose clamp makes
 * them 0 (and a narrow band above the clamp subnormal).  exp(0) == 1, exp(-inf) == 0,
 * NaN stays NaN. */
#if defined(__FMA__)
#define LSC_LN2_F32 0.693147182464599609375f  /* fl(ln 2) */
/* (fl(ln 2) - ln 2) / ln 2: exp(x) = lsc_vexp_f32(x) (1 + x LSC_VEXP_F32_CW) */
#define LSC_VEXP_F32_CW 2.7478353e-09f
#endif
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
/* (the AVX-512 exps) from these on, exp is at least the smallest normal number
   (2**-126, 2**-1022, by a margin of 0.6%); below them (and for -inf), 0 */
#define LSC_VEXP_F32_NORMAL -87.33f
#define LSC_VEXP_F64_NORMAL -708.39
#endif
#define LSC_VEXP_F32_LO LSC_EXP_F32_LO
#define LSC_VEXP_F64_LO LSC_EXP_F64_LO
/* sc (0 or 1): the scale 2**(k + 64 sc), its exponent field from t's low bits (which
   hold k) */
#define LSC_VSCALE_F32(p, t, sc) \
    ((p) * (lsc_vf32)(((lsc_vi32)(t) + (127 + 64 * (sc))) << 23))
#define LSC_VSCALE_F64(p, t, sc) \
    ((p) * (lsc_vf64)(((lsc_vi64)(t) + (1023 + 64 * (sc))) << 52))

/* The summed exps, sc = LSC_VEXP_MODE_SUM (lsc_vexp_f32_sum, lsc_vexp_f64_sum): the
 * terms of a sum that also holds exp(0) = 1 and whose exps are not kept (a row's
 * exp-sum in the row pipelines, lsc_vsums3w_k with LSC_C_EXP_SUM).  The same bits as
 * exp where x is at least LSC_VEXP_F32_SUM_LO or LSC_VEXP_F64_SUM_LO, and below them
 * the exp of that bound (x is clamped there; -inf too): a normal number below 2**-124
 * of the sum's 1, which leaves the sum in double as it was, and a dominated sum, whose
 * terms this small matter, is added up again with its own exps (lsc_vstats).  Above
 * the bound every result is normal, so the scale 2**k goes in by an integer add to the
 * exponent field of the factor it multiplies instead of a product: one multiplication
 * fewer per vector (in an exp-sum loop on Zen 3 each operation taken out saved 0.4-0.9
 * cycles per vector, whichever port it took). */
#define LSC_VEXP_MODE_SUM 2
#define LSC_VEXP_F64_SUM_LO -707.0  /* k >= -1020: p 2**k normal for p >= 1 / sqrt(2) */

/* The scaled exps, exp(x) 2**64 (lsc_vexp_f32s, lsc_vexp_f64s): the terms of a
 * dominated sum (lsc_vdominated_pass, lsc_cols_step), whose rest can be a normal number
 * made of terms below the smallest normal one.  Each exp below with sc = 1: its
 * clamp or its threshold 64 ln 2 lower, its scale 2**64 larger (in the table or in
 * the exponent field), the same operations; the same bits times 2**64 where exp(x)
 * is normal, and normal down to exp(x) = 2**-190 (below, 0).  Unscaled, a subnormal
 * term would either cost a microcode assist or be flushed: a row of float scores
 * whose dominant class's log-probability is -1.5e-36 lost 3400 ulps of it with its
 * terms below 1.2e-38 flushed. */
/* (LSC_VEXP_S and LSC_VEXP_S_LN: lsc_math.h) */

#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64 && defined(LSC_VEXP_F32_CW)
/* With AVX-512 and FMA the float exp reduces further, by a table: x = (k / 16) ln 2 + r,
 * |r| <= ln 2 / 32, exp(x) = 2**floor(k / 16) 2**((k mod 16) / 16) exp(r), the middle
 * factor one of 16 floats picked by vpermps (the low 4 bits of k, which the shifter
 * leaves at the bottom of t's bits), exp(r) a cubic.  One operation fewer than the
 * sextic on |r| <= ln 2 / 2: the table's lookup and product replace three of its
 * steps.  r has the one-step error x LSC_VEXP_F32_CW of the other form; besides it,
 * within 1.06 ulp of exp on [-87, 0] (measured against long double over 3.2e8
 * points, mean 0.32; the sextic: 0.73, mean 0.25), the table's rounding included. */
LSC_INLINE lsc_vf32 lsc_vexp_f32_sc(lsc_vf32 x, const int sc)
{
    typedef lsc_vf32 V;
    /* 2**(j / 16), j = 0 .. 15, rounded to float (times 2**64 with sc) */
    const float u = sc ? (float)LSC_VEXP_S : 1.0f;
    const V tab = {1.0f * u, 1.04427378243f * u, 1.09050773267f * u, 1.13878863476f * u,
                   1.18920711500f * u, 1.24185781207f * u, 1.29683955465f * u,
                   1.35425554264f * u, 1.41421356237f * u, 1.47682614593f * u,
                   1.54221082541f * u, 1.61049033194f * u, 1.68179283051f * u,
                   1.75625216038f * u, 1.83400808640f * u, 1.91520656140f * u};
    /* the lanes whose result is normal, and NaN's (not below: unordered) */
    const float lo = sc ? (float)(LSC_VEXP_F32_NORMAL - LSC_VEXP_S_LN) : LSC_VEXP_F32_NORMAL;
    const __mmask16 live = _mm512_cmp_ps_mask((__m512)x, _mm512_set1_ps(lo), _CMP_NLT_UQ);
    V t = x * LSC_SPLAT(V, 16.0f * LSC_LOG2E_F32) + LSC_SPLAT(V, LSC_SHIFTER_F32);
    /* k / 16, exactly */
    V kq = t * LSC_SPLAT(V, 0.0625f) - LSC_SPLAT(V, LSC_SHIFTER_F32 * 0.0625f);
    V r = x - kq * LSC_SPLAT(V, LSC_LN2_F32);
    /* exp(r) - 1 = r (1 + r (1/2 + r / 6)), then m + m (exp(r) - 1): one rounding
       of the product, none of a 1 + small */
    V q = r * LSC_SPLAT(V, 1.0f / 6.0f) + LSC_SPLAT(V, 0.5f);
    q = (q * r + LSC_SPLAT(V, 1.0f)) * r;
    V m = (V)_mm512_permutexvar_ps(_mm512_castps_si512((__m512)t), (__m512)tab);
    return (V)_mm512_maskz_scalef_ps(live, (__m512)(m * q + m), (__m512)kq);
}
#elif defined(__AVX2__) && LSC_SIMD_BYTES == 32 && defined(LSC_VEXP_F32_CW)
/* With AVX2 and FMA, by a table of 8: x = (k / 8) ln 2 + r, |r| <= ln 2 / 16,
 * exp(x) = 2**floor(k / 8) 2**((k mod 8) / 8) exp(r), the middle factor picked by
 * vpermps (the low 3 bits of t, whose shifter, 1.5 * 2**23 + 8 * 127, also leaves
 * floor(k / 8) + 127 in the bits above them: the scale's exponent field, +0 at the
 * clamp), exp(r) a cubic fitted for the least relative error on that interval (0.43
 * ulp; Taylor's: 2.5).  Two multiplications fewer than the sextic, on the ports that
 * bound the exp-sum loops of Zen 3 and its kin: the row pipeline 8-10% faster.  r has
 * the one-step error x LSC_VEXP_F32_CW of the sextic's form; besides it, within 1.15
 * ulp of exp over every float in [-87.3, 0] (mean 0.073; the sextic: 0.73, mean
 * 0.065), the table's rounding included; results below the normal range (x below
 * about -87.34) round once, in the last step. */
/* (LSC_VEXP_MODE_SUM: from here on k >= -1004, floor(k / 8) + 127 >= 1) */
#define LSC_VEXP_F32_SUM_LO -87.0f
LSC_INLINE lsc_vf32 lsc_vexp_f32_sc(lsc_vf32 x, const int sc)
{
    typedef lsc_vf32 V;
    typedef uint32_t U __attribute__((vector_size(LSC_SIMD_BYTES)));
    /* 2**(j / 8), j = 0 .. 7, rounded to float */
    const V tab = {1.0f, 1.09050773267f, 1.18920711500f, 1.29683955465f,
                   1.41421356237f, 1.54221082541f, 1.68179283051f, 1.83400808640f};
    const int s64 = sc == 1;
    const float shifter = LSC_SHIFTER_F32 + 8.0f * (127.0f + 64.0f * s64);
    const float lo = s64                       ? (float)(LSC_VEXP_F32_LO - LSC_VEXP_S_LN)
                     : sc == LSC_VEXP_MODE_SUM ? LSC_VEXP_F32_SUM_LO
                                               : LSC_VEXP_F32_LO;
    x = lsc_vmax_f32(LSC_SPLAT(V, lo), x);
    V t = x * LSC_SPLAT(V, 8.0f * LSC_LOG2E_F32) + LSC_SPLAT(V, shifter);
    /* k, exactly, and r = x - k fl(ln 2) / 8 in one rounding */
    V k = t - LSC_SPLAT(V, shifter);
    V r = x - k * LSC_SPLAT(V, LSC_LN2_F32 * 0.125f);
    /* exp(r) - 1 = r + r**2 (c2 + r c3), then m + m (exp(r) - 1), m scaled first: the
       chain from r to the result three steps long (r**2 beside the first), where
       Horner's form and a scaling last took five; the loops that carry the exp have
       more of its steps in flight (the row pipeline 3-5% faster) */
    V q = r * LSC_SPLAT(V, 0.166668579f) + LSC_SPLAT(V, 0.500064492f);
    V r2 = r * r;
    q = q * r2 + r;
    V m;
    if (sc == LSC_VEXP_MODE_SUM) {
        /* t << 20: floor(k / 8) + 127 in the exponent field and j = k mod 8 below it
           (the shifter's own bits leave at the top), added to the bits of 2**(j / 8)
           less 127 and j in those places: the bits of 2**(j / 8) 2**floor(k / 8) */
        const U off = {127u << 23, (127u << 23) + (1u << 20), (127u << 23) + (2u << 20),
                       (127u << 23) + (3u << 20), (127u << 23) + (4u << 20),
                       (127u << 23) + (5u << 20), (127u << 23) + (6u << 20),
                       (127u << 23) + (7u << 20)};
        const U bits = (U)_mm256_permutevar8x32_ps((__m256)((U)tab - off), (__m256i)t);
        m = (V)(bits + ((U)t << 20));
    }
    else {
        m = (V)_mm256_permutevar8x32_ps((__m256)tab, (__m256i)t);
        /* 2**floor(k / 8): the bits of floor(k / 8) + 127 (+ 64 with sc) moved to the
           exponent field (the shifter's own bits leave at the top); a product by a
           power of 2, exact where the result is normal, 0 at the clamp */
        m = m * (V)(((U)t >> 3) << 23);
    }
    return m * q + m;
}
#else
/* (LSC_VEXP_MODE_SUM: from here on k >= -125, the exponent field of p 2**k at least 1
   for p >= 1 / sqrt(2)) */
#define LSC_VEXP_F32_SUM_LO -86.5f
LSC_INLINE lsc_vf32 lsc_vexp_f32_sc(lsc_vf32 x, const int sc)
{
    typedef lsc_vf32 V;
    const float lo = sc == 1                   ? (float)(LSC_VEXP_F32_LO - LSC_VEXP_S_LN)
                     : sc == LSC_VEXP_MODE_SUM ? LSC_VEXP_F32_SUM_LO
                                               : LSC_VEXP_F32_LO;
    x = lsc_vmax_f32(LSC_SPLAT(V, lo), x);
    V t = x * LSC_SPLAT(V, LSC_LOG2E_F32) + LSC_SPLAT(V, LSC_SHIFTER_F32);
    V k = t - LSC_SPLAT(V, LSC_SHIFTER_F32);
#if defined(LSC_VEXP_F32_CW)
    V r = x - k * LSC_SPLAT(V, LSC_LN2_F32);
#else
    V r = x - k * LSC_SPLAT(V, LSC_LN2_HI_F32);
    r = r - k * LSC_SPLAT(V, LSC_LN2_LO_F32);
#endif
    V p = LSC_SPLAT(V, LSC_EXP_F32_C6);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F32_C5);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F32_C4);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F32_C3);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F32_C2);
    p = p * r + LSC_SPLAT(V, 1.0f);
    p = p * r + LSC_SPLAT(V, 1.0f);
    if (sc == LSC_VEXP_MODE_SUM) {
        /* k from t's low bits into p's exponent field (k < 0 wraps as an integer add) */
        typedef uint32_t U __attribute__((vector_size(LSC_SIMD_BYTES)));
        return (V)((U)p + ((U)t << 23));
    }
    return LSC_VSCALE_F32(p, t, sc);
}
#endif
#define lsc_vexp_f32(x) lsc_vexp_f32_sc((x), 0)
#define lsc_vexp_f32s(x) lsc_vexp_f32_sc((x), 1)
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64 && defined(LSC_VEXP_F32_CW)
/* (the scaling is one vscalefps already) */
#define lsc_vexp_f32_sum(x) lsc_vexp_f32_sc((x), 0)
#else
#define lsc_vexp_f32_sum(x) lsc_vexp_f32_sc((x), LSC_VEXP_MODE_SUM)
#endif

#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
/* The double exp with AVX-512, by a table as the float one: x = (k / 16) ln 2 + r,
 * |r| <= ln 2 / 32, exp(x) = 2**floor(k / 16) 2**((k mod 16) / 16) exp(r), the middle
 * factor a double and its rounding error (hi, lo) picked from two registers by
 * vpermt2pd (the low 4 bits of t, as the float one's), exp(r) - 1 = r + r**2 q(r), q a
 * quartic fitted to (exp(r) - 1 - r) / r**2 on that interval (Chebyshev, error 6e-14,
 * 3e-17 in exp(r) - 1), the result hi + (hi (exp(r) - 1) + lo) scaled by vscalefpd.
 * Four multiplier operations fewer than the degree-11 polynomial on |r| <= ln 2 / 2
 * (lsc_exp_f64's), which bound the double exp-sum loops: 14.1 cycles a vector of 8
 * where that took 16.3 (Zen 4, a sum of exps from L1), and more accurate: within 0.77
 * ulp of exp over [-708.39, 0] (the other: 1.04; 7.8e6 points against long double,
 * mean 0.253 and 0.260).  Results below the smallest normal number are 0 (the
 * compare, as the float exp's); exp(0) == 1, exp(-inf) == 0, NaN stays NaN. */
LSC_INLINE lsc_vf64 lsc_vexp_f64_sc(lsc_vf64 x, const int sc)
{
    typedef lsc_vf64 V;
    /* 2**(j / 16), j = 0 .. 15, rounded to double (times 2**64 with sc), and what
       the rounding left out */
    const double u = sc ? LSC_VEXP_S : 1.0;
    const __m512d h0 = _mm512_setr_pd(
        1.0 * u, 1.0442737824274138 * u, 1.0905077326652577 * u, 1.1387886347566916 * u,
        1.189207115002721 * u, 1.241857812073484 * u, 1.2968395546510096 * u,
        1.3542555469368927 * u);
    const __m512d h1 = _mm512_setr_pd(
        1.4142135623730951 * u, 1.4768261459394993 * u, 1.5422108254079407 * u,
        1.6104903319492543 * u, 1.681792830507429 * u, 1.7562521603732995 * u,
        1.8340080864093424 * u, 1.9152065613971474 * u);
    const __m512d l0 = _mm512_setr_pd(
        0.0, 8.551889705537965e-17 * u, -3.046782079812471e-17 * u, 8.912812676025408e-17 * u,
        3.982015231465646e-17 * u, 4.658027591836937e-17 * u, 2.5382502794888315e-17 * u,
        7.70094837980299e-17 * u);
    const __m512d l1 = _mm512_setr_pd(
        -9.667293313452913e-17 * u, -3.483994556892796e-17 * u, 7.949834809697621e-17 * u,
        2.4707192569797888e-17 * u, 8.199010020581497e-17 * u, 2.960140695448873e-17 * u,
        3.283107224245627e-17 * u, -1.0619946056195963e-16 * u);
    /* (as the float exp: results below the smallest normal number 0) */
    const __mmask8 live = _mm512_cmp_pd_mask(
        (__m512d)x, _mm512_set1_pd(LSC_VEXP_F64_NORMAL - (sc ? LSC_VEXP_S_LN : 0.0)),
        _CMP_NLT_UQ);
    /* t = k / 16 + 1.5 * 2**48 (x log2(e) rounded to a multiple of 1/16, k in the low
       bits of t's significand), k / 16 back exactly, r in two steps (fdlibm's split
       of ln 2: k / 16 times its high part is exact) */
    V t = x * LSC_SPLAT(V, LSC_LOG2E_F64) + LSC_SPLAT(V, LSC_SHIFTER_F64 * 0.0625);
    V kq = t - LSC_SPLAT(V, LSC_SHIFTER_F64 * 0.0625);
    V r = x - kq * LSC_SPLAT(V, LSC_LN2_HI_F64);
    r = r - kq * LSC_SPLAT(V, LSC_LN2_LO_F64);
    V q = r * LSC_SPLAT(V, 0.0013889034377693012) + LSC_SPLAT(V, 0.008333449724528355);
    q = q * r + LSC_SPLAT(V, 0.041666666664959766);
    q = q * r + LSC_SPLAT(V, 0.16666666665301144);
    q = q * r + LSC_SPLAT(V, 0.5);
    V em1 = q * (r * r) + r;
    const __m512i j = _mm512_castpd_si512((__m512d)t);
    V hi = (V)_mm512_permutex2var_pd(h0, j, h1);
    V lo = (V)_mm512_permutex2var_pd(l0, j, l1);
    return (V)_mm512_maskz_scalef_pd(live, (__m512d)((hi * em1 + lo) + hi), (__m512d)kq);
}
#else
/* the same for double: lsc_exp_f64's arithmetic */
LSC_INLINE lsc_vf64 lsc_vexp_f64_sc(lsc_vf64 x, const int sc)
{
    typedef lsc_vf64 V;
    x = lsc_vmax_f64(LSC_SPLAT(V, sc == 1                   ? LSC_VEXP_F64_LO - LSC_VEXP_S_LN
                                  : sc == LSC_VEXP_MODE_SUM ? LSC_VEXP_F64_SUM_LO
                                                           : LSC_VEXP_F64_LO),
                     x);
    V t = x * LSC_SPLAT(V, LSC_LOG2E_F64) + LSC_SPLAT(V, LSC_SHIFTER_F64);
    V k = t - LSC_SPLAT(V, LSC_SHIFTER_F64);
    V r = x - k * LSC_SPLAT(V, LSC_LN2_HI_F64);
    r = r - k * LSC_SPLAT(V, LSC_LN2_LO_F64);
    V p = LSC_SPLAT(V, LSC_EXP_F64_C11);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C10);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C9);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C8);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C7);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C6);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C5);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C4);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C3);
    p = p * r + LSC_SPLAT(V, LSC_EXP_F64_C2);
    p = p * r + LSC_SPLAT(V, 1.0);
    p = p * r + LSC_SPLAT(V, 1.0);
    if (sc == LSC_VEXP_MODE_SUM) {
        /* k from t's low bits into p's exponent field (as the float form's) */
        typedef uint64_t U __attribute__((vector_size(LSC_SIMD_BYTES)));
        return (V)((U)p + ((U)t << 52));
    }
    return LSC_VSCALE_F64(p, t, sc);
}
#endif
#define lsc_vexp_f64(x) lsc_vexp_f64_sc((x), 0)
#define lsc_vexp_f64s(x) lsc_vexp_f64_sc((x), 1)
#if defined(__AVX512F__) && LSC_SIMD_BYTES == 64
#define lsc_vexp_f64_sum(x) lsc_vexp_f64_sc((x), 0)
#else
#define lsc_vexp_f64_sum(x) lsc_vexp_f64_sc((x), LSC_VEXP_MODE_SUM)
#endif

/* Horizontal reductions by halving: the upper half of a vector onto the lower one
 * until one lane is left (a fixed tree order).  The halves are taken with a shuffle,
 * which keeps them in registers; copying them out with memcpy made GCC store the
 * vector to the stack and load it back (and for the float sum's double lanes, twice
 * the width of a register, keep the accumulator itself on the stack). */
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define LSC_HAVE_SHUFFLEVECTOR 1
#endif
#endif
#define LSC_IDX_LO_16 0, 1, 2, 3, 4, 5, 6, 7
#define LSC_IDX_HI_16 8, 9, 10, 11, 12, 13, 14, 15
#define LSC_IDX_LO_8 0, 1, 2, 3
#define LSC_IDX_HI_8 4, 5, 6, 7
#define LSC_IDX_LO_4 0, 1
#define LSC_IDX_HI_4 2, 3
#if defined(LSC_HAVE_SHUFFLEVECTOR)
#define LSC_HALVES(htype, N, v, lo, hi)                               \
    htype lo = __builtin_shufflevector((v), (v), LSC_IDX_LO_##N);     \
    htype hi = __builtin_shufflevector((v), (v), LSC_IDX_HI_##N)
#else
#define LSC_HALVES(htype, N, v, lo, hi)                 \
    htype lo, hi;                                       \
    memcpy(&lo, &(v), sizeof lo);                       \
    memcpy(&hi, (const char *)&(v) + sizeof lo, sizeof hi)
#endif

/* hi > lo ? hi : lo lane by lane (lo where either is NaN), for the lane max of each width:
   where the build has it, the max instruction, which is that select (GCC leaves the
   select as a compare and a blend, one operation more at each step of a chain that
   every row's max waits for) */
#define LSC_SELMAX_(VT, IT, hi, lo) \
    ((VT)(((IT)((hi) > (lo)) & (IT)(hi)) | (~(IT)((hi) > (lo)) & (IT)(lo))))
#define LSC_SELMAX_float2(hi, lo) LSC_SELMAX_(lsc_float2, lsc_float2i, hi, lo)
#if defined(__SSE2__)
#include <emmintrin.h>
#define LSC_SELMAX_float4(hi, lo) ((lsc_float4)_mm_max_ps((__m128)(hi), (__m128)(lo)))
#define LSC_SELMAX_double2(hi, lo) ((lsc_double2)_mm_max_pd((__m128d)(hi), (__m128d)(lo)))
#else
#define LSC_SELMAX_float4(hi, lo) LSC_SELMAX_(lsc_float4, lsc_float4i, hi, lo)
#define LSC_SELMAX_double2(hi, lo) LSC_SELMAX_(lsc_double2, lsc_double2i, hi, lo)
#endif
#if defined(__AVX__)
#include <immintrin.h>
#define LSC_SELMAX_float8(hi, lo) ((lsc_float8)_mm256_max_ps((__m256)(hi), (__m256)(lo)))
#define LSC_SELMAX_double4(hi, lo) ((lsc_double4)_mm256_max_pd((__m256d)(hi), (__m256d)(lo)))
#else
#define LSC_SELMAX_float8(hi, lo) LSC_SELMAX_(lsc_float8, lsc_float8i, hi, lo)
#define LSC_SELMAX_double4(hi, lo) LSC_SELMAX_(lsc_double4, lsc_double4i, hi, lo)
#endif
#if defined(__AVX512F__)
#define LSC_SELMAX_double8(hi, lo) ((lsc_double8)_mm512_max_pd((__m512d)(hi), (__m512d)(lo)))
#else
#define LSC_SELMAX_double8(hi, lo) LSC_SELMAX_(lsc_double8, lsc_double8i, hi, lo)
#endif

/* for each width: the vector types, its lane sum (doubles) and lane max (floating) */
#define LSC_DEFINE_LANES(T, IT, N, HALF)                                             \
    typedef T lsc_##T##N __attribute__((vector_size(N * sizeof(T))));                \
    typedef IT lsc_##T##N##i __attribute__((vector_size(N * sizeof(T))));            \
    LSC_INLINE T lsc_hsum_##T##N(lsc_##T##N v)                                       \
    {                                                                                \
        LSC_HALVES(lsc_##T##HALF, N, v, lo, hi);                                     \
        return lsc_hsum_##T##HALF(lo + hi);                                          \
    }                                                                                \
    LSC_INLINE T lsc_hmax_##T##N(lsc_##T##N v)                                       \
    {                                                                                \
        LSC_HALVES(lsc_##T##HALF, N, v, lo, hi);                                     \
        return lsc_hmax_##T##HALF(LSC_SELMAX_##T##HALF(hi, lo));                     \
    }

typedef float lsc_float1;
typedef int32_t lsc_float1i;
typedef double lsc_double1;
typedef int64_t lsc_double1i;
LSC_INLINE float lsc_hsum_float1(float v) { return v; }
LSC_INLINE float lsc_hmax_float1(float v) { return v; }
LSC_INLINE double lsc_hsum_double1(double v) { return v; }
LSC_INLINE double lsc_hmax_double1(double v) { return v; }
/* two lanes: element access */
typedef float lsc_float2 __attribute__((vector_size(8)));
typedef int32_t lsc_float2i __attribute__((vector_size(8)));
LSC_INLINE float lsc_hsum_float2(lsc_float2 v) { return v[0] + v[1]; }
LSC_INLINE float lsc_hmax_float2(lsc_float2 v) { return v[1] > v[0] ? v[1] : v[0]; }
typedef double lsc_double2 __attribute__((vector_size(16)));
typedef int64_t lsc_double2i __attribute__((vector_size(16)));
LSC_INLINE double lsc_hsum_double2(lsc_double2 v) { return v[0] + v[1]; }
LSC_INLINE double lsc_hmax_double2(lsc_double2 v) { return v[1] > v[0] ? v[1] : v[0]; }
LSC_DEFINE_LANES(float, int32_t, 4, 2)
LSC_DEFINE_LANES(float, int32_t, 8, 4)
LSC_DEFINE_LANES(float, int32_t, 16, 8)
LSC_DEFINE_LANES(double, int64_t, 4, 2)
LSC_DEFINE_LANES(double, int64_t, 8, 4)
LSC_DEFINE_LANES(double, int64_t, 16, 8)
#undef LSC_DEFINE_LANES

/* the reductions of this build's vectors: the lane sum of a double vector, the lane
   max of a float or double vector */
#define LSC_LANES_CAT_(a, b) a##b
#define LSC_LANES_CAT(a, b) LSC_LANES_CAT_(a, b)
#define lsc_hsum_vf64 LSC_LANES_CAT(lsc_hsum_double, LSC_SIMD_LANES_F64)
#define lsc_hmax_vf32 LSC_LANES_CAT(lsc_hmax_float, LSC_SIMD_LANES_F32)
#define lsc_hmax_vf64 LSC_LANES_CAT(lsc_hmax_double, LSC_SIMD_LANES_F64)

/* A float vector's lanes widened to double: its lower half (lanes 0 .. W/2 - 1) and
 * its upper half as two double vectors of the build's width.  Kept as two vectors
 * rather than one vector of twice the width, which GCC keeps on the stack.  With AVX,
 * one vcvtps2pd (vcvtdq2pd) of a half each: GCC 12 converts a generic vector of 4
 * floats to 4 doubles as two pairs (two conversions, a vmovhlps and a vinsertf128, or
 * a round trip through the stack where registers are short), which the folds of the
 * sums pay once a block (the same values: the widening is exact).  Against that, same
 * bits, fastest of 101-151 alternated calls (Zen 3): log_softmax float32 1024x1000
 * 0.945 / 0.911 of the time (1 / 2 threads), 6144x384 0.963 / 0.963, 1024x128 0.91,
 * 1024x1024 axis 0 0.97; logsumexp 1024x1000 0.91, cross_entropy 0.80.  The AVX-512
 * build's generic conversions had the same shape (8 floats as two halves of 4); with
 * one vcvtps2pd of each half of 8 (Xeon, AVX-512): 1024x128 0.91 / 0.92, 6144x384
 * 0.98 / 0.99, 1024x1000 0.985 / 0.99, the other rows level. */
#if defined(__AVX__) && LSC_SIMD_BYTES == 32
LSC_INLINE lsc_vf64 lsc_widen_lo_f32(lsc_vf32 v)
{
    return (lsc_vf64)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v));
}
LSC_INLINE lsc_vf64 lsc_widen_hi_f32(lsc_vf32 v)
{
    return (lsc_vf64)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1));
}
LSC_INLINE lsc_vf64 lsc_widen_lo_i32(lsc_vi32 v)
{
    return (lsc_vf64)_mm256_cvtepi32_pd(_mm256_castsi256_si128((__m256i)v));
}
LSC_INLINE lsc_vf64 lsc_widen_hi_i32(lsc_vi32 v)
{
    return (lsc_vf64)_mm256_cvtepi32_pd(_mm256_extractf128_si256((__m256i)v, 1));
}
#elif defined(__AVX512F__) && LSC_SIMD_BYTES == 64
LSC_INLINE lsc_vf64 lsc_widen_lo_f32(lsc_vf32 v)
{
    return (lsc_vf64)_mm512_cvtps_pd(_mm512_castps512_ps256((__m512)v));
}
LSC_INLINE lsc_vf64 lsc_widen_hi_f32(lsc_vf32 v)
{
    return (lsc_vf64)_mm512_cvtps_pd(
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd((__m512)v), 1)));
}
LSC_INLINE lsc_vf64 lsc_widen_lo_i32(lsc_vi32 v)
{
    return (lsc_vf64)_mm512_cvtepi32_pd(_mm512_castsi512_si256((__m512i)v));
}
LSC_INLINE lsc_vf64 lsc_widen_hi_i32(lsc_vi32 v)
{
    return (lsc_vf64)_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64((__m512i)v, 1));
}
#else
#if defined(LSC_HAVE_SHUFFLEVECTOR)
#define LSC_F32_HALF(v, which) \
    __builtin_shufflevector((v), (v), LSC_LANES_CAT(LSC_IDX_##which##_, LSC_SIMD_LANES_F32))
#define LSC_DEFINE_WIDEN(name, V, H, which)                      \
    LSC_INLINE lsc_vf64 name(V v)                                \
    {                                                            \
        H h = LSC_F32_HALF(v, which);                            \
        return __builtin_convertvector(h, lsc_vf64);             \
    }
#else
#define LSC_DEFINE_WIDEN(name, V, H, which)                                  \
    LSC_INLINE lsc_vf64 name(V v)                                            \
    {                                                                        \
        H h;                                                                 \
        memcpy(&h, (const char *)&v + (#which[0] == 'H' ? sizeof h : 0),     \
               sizeof h);                                                    \
        return __builtin_convertvector(h, lsc_vf64);                         \
    }
#endif
LSC_DEFINE_WIDEN(lsc_widen_lo_f32, lsc_vf32, lsc_vf32h, LO)
LSC_DEFINE_WIDEN(lsc_widen_hi_f32, lsc_vf32, lsc_vf32h, HI)
LSC_DEFINE_WIDEN(lsc_widen_lo_i32, lsc_vi32, lsc_vi32h, LO)
LSC_DEFINE_WIDEN(lsc_widen_hi_i32, lsc_vi32, lsc_vi32h, HI)
#undef LSC_DEFINE_WIDEN
#endif

/* the lane sum in double of a float or an int32 vector: its upper half onto its
   lower half, then lsc_hsum_vf64's tree */
LSC_INLINE double lsc_wide_sum_f32(lsc_vf32 v)
{
    return lsc_hsum_vf64(lsc_widen_lo_f32(v) + lsc_widen_hi_f32(v));
}

LSC_INLINE double lsc_wide_sum_i32(lsc_vi32 v)
{
    return lsc_hsum_vf64(lsc_widen_lo_i32(v) + lsc_widen_hi_i32(v));
}

#endif
