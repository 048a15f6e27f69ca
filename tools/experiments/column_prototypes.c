/* Three ways of a log-softmax along axis 0 of a 4096x4096 float32 array that read x
 * along its rows (docs/history/rounds.md, the ninth round on the Xeon).  Prototypes for
 * timing only: float sums, a plain exp, no correction of x - m's rounding, no special
 * values, so neither the accuracy nor the bits of the library's column kernels.
 * Each thread takes a block of columns, then writes its rows of y with non-temporal
 * stores; fastest of 30 calls, 1 and 2 threads.
 *   one pass: per column a running max m and t, the sum of exp(x - m) over the other
 *     elements, one exp per element: e = exp(-|x - m|), t = (t + 1) e where x > m
 *     (the old max joins the sum), t + e elsewhere;
 *   three sweeps: the maxes, then the sums against them, then y (x read three times);
 *   strips: STRIP rows at a time, their maxes and then their sums (from L2), each
 *     strip combined into the running max and sum by a rescaling.
 *
 *     gcc -O3 -march=x86-64-v4 -mprefer-vector-width=512 -fopenmp -DSTRIP=16 \
 *         column_prototypes.c -o column_prototypes -lm && ./column_prototypes
 *
 * (x86-64 with AVX-512 only.) */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef STRIP
#define STRIP 16
#endif

enum { R = 4096, C = 4096 };
enum { ONE_PASS, SWEEPS, STRIPS };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* exp(x) for x <= 0, about float accuracy: Cody-Waite reduction, a degree-7 polynomial */
static inline __m512 vexp(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), 0);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, k);
}

static float *x, *y;

/* columns c0 .. c0 + w - 1: m = their maxes, t = their sums of exp(x - m) less 1 */
static void one_pass(int c0, int w, float *m, float *t)
{
    memcpy(m, x + c0, (size_t)w * 4);
    memset(t, 0, (size_t)w * 4);
    for (int i = 1; i < R; i++) {
        const float *xr = x + (size_t)i * C + c0;
        for (int j = 0; j < w; j += 16) {
            __m512 v = _mm512_loadu_ps(xr + j), mv = _mm512_load_ps(m + j);
            __m512 tv = _mm512_load_ps(t + j);
            __m512 d = _mm512_sub_ps(v, mv);
            __mmask16 up = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_GT_OQ);
            __m512 e = vexp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(d)));
            __m512 grown = _mm512_mul_ps(_mm512_add_ps(tv, _mm512_set1_ps(1.f)), e);
            _mm512_store_ps(t + j, _mm512_mask_mov_ps(_mm512_add_ps(tv, e), up, grown));
            _mm512_store_ps(m + j, _mm512_max_ps(mv, v));
        }
    }
}

static void sweeps(int c0, int w, float *m, float *t)
{
    memcpy(m, x + c0, (size_t)w * 4);
    memset(t, 0, (size_t)w * 4);
    for (int i = 1; i < R; i++) {
        const float *xr = x + (size_t)i * C + c0;
        for (int j = 0; j < w; j += 16) {
            _mm512_store_ps(m + j, _mm512_max_ps(_mm512_load_ps(m + j), _mm512_loadu_ps(xr + j)));
        }
    }
    for (int i = 0; i < R; i++) {
        const float *xr = x + (size_t)i * C + c0;
        for (int j = 0; j < w; j += 16) {
            __m512 e = vexp(_mm512_sub_ps(_mm512_loadu_ps(xr + j), _mm512_load_ps(m + j)));
            _mm512_store_ps(t + j, _mm512_add_ps(_mm512_load_ps(t + j), e));
        }
    }
    for (int j = 0; j < w; j++) {
        t[j] -= 1.f;
    }
}

static void strips(int c0, int w, float *m, float *t)
{
    float *ms = aligned_alloc(64, (size_t)w * 4), *ss = aligned_alloc(64, (size_t)w * 4);
    for (int j = 0; j < w; j++) {
        m[j] = -INFINITY;
        t[j] = 0;
    }
    for (int i0 = 0; i0 < R; i0 += STRIP) {
        memcpy(ms, x + (size_t)i0 * C + c0, (size_t)w * 4);
        for (int i = i0 + 1; i < i0 + STRIP; i++) {
            const float *xr = x + (size_t)i * C + c0;
            for (int j = 0; j < w; j += 16) {
                _mm512_store_ps(ms + j,
                                _mm512_max_ps(_mm512_load_ps(ms + j), _mm512_loadu_ps(xr + j)));
            }
        }
        memset(ss, 0, (size_t)w * 4);
        for (int i = i0; i < i0 + STRIP; i++) {
            const float *xr = x + (size_t)i * C + c0;
            for (int j = 0; j < w; j += 16) {
                __m512 e = vexp(_mm512_sub_ps(_mm512_loadu_ps(xr + j), _mm512_load_ps(ms + j)));
                _mm512_store_ps(ss + j, _mm512_add_ps(_mm512_load_ps(ss + j), e));
            }
        }
        for (int j = 0; j < w; j += 16) {
            __m512 M = _mm512_load_ps(m + j), S = _mm512_load_ps(t + j);
            __m512 a = _mm512_load_ps(ms + j), b = _mm512_load_ps(ss + j);
            __m512 Mn = _mm512_max_ps(M, a);
            __m512 e1 = vexp(_mm512_sub_ps(M, Mn)), e2 = vexp(_mm512_sub_ps(a, Mn));
            _mm512_store_ps(t + j, _mm512_fmadd_ps(S, e1, _mm512_mul_ps(b, e2)));
            _mm512_store_ps(m + j, Mn);
        }
    }
    for (int j = 0; j < w; j++) {
        t[j] -= 1.f;
    }
    free(ms);
    free(ss);
}

static double run(int mode, int nt)
{
    double best = 1e9;
    for (int rep = 0; rep < 30; rep++) {
        double t0 = now();
#pragma omp parallel num_threads(nt)
        {
            int tid = omp_get_thread_num();
            int c0 = C * tid / nt, w = C * (tid + 1) / nt - c0;
            float *m = aligned_alloc(64, (size_t)w * 4), *t = aligned_alloc(64, (size_t)w * 4);
            if (mode == ONE_PASS) {
                one_pass(c0, w, m, t);
            }
            else if (mode == SWEEPS) {
                sweeps(c0, w, m, t);
            }
            else {
                strips(c0, w, m, t);
            }
            for (int j = 0; j < w; j++) {
                m[j] += log1pf(t[j]);
            }
            for (int i = 0; i < R; i++) {
                const float *xr = x + (size_t)i * C + c0;
                float *yr = y + (size_t)i * C + c0;
                for (int j = 0; j < w; j += 16) {
                    _mm512_stream_ps(yr + j, _mm512_sub_ps(_mm512_loadu_ps(xr + j),
                                                           _mm512_load_ps(m + j)));
                }
            }
            _mm_sfence();
            free(m);
            free(t);
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    x = aligned_alloc(64, (size_t)R * C * 4);
    y = aligned_alloc(64, (size_t)R * C * 4);
    for (size_t i = 0; i < (size_t)R * C; i++) {
        x[i] = (float)((i * 2654435761u) % 10007) * 1e-3f;
        y[i] = 0;
    }
    static const char *name[] = {"one pass", "three sweeps", "strips"};
    for (int nt = 1; nt <= 2; nt++) {
        for (int mode = ONE_PASS; mode <= STRIPS; mode++) {
            printf("%d thread(s), %-12s %.0f us\n", nt, name[mode], run(mode, nt) * 1e6);
        }
    }
    return 0;
}
