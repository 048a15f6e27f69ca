/* The memory side of the columns' one pass on a 4096x4096 float32 array
 * (docs/history/rounds.md, the eighth round on Zen 4):
 *   read T: the 64 MiB read in order (a sum of vectors), by T threads, each its half;
 *   copy T: y = x - 1 streamed (non-temporal stores) by T threads, and a memcpy of the
 *     64 MiB on one thread (what np.copyto does);
 *   write K: the one pass's write on one thread, y = (x - m) - c streamed row after row,
 *     m and c 4096 floats each, K rows at a time (each vector of m and c loaded once
 *     for the K rows); K = 0: y = x - 1, without m and c.
 * Fastest of 15 sweeps, 96 MiB written between them.
 *
 *     gcc -O2 -mavx512f -fopenmp onepass_write.c -o onepass_write
 *     ./onepass_write read 2     ./onepass_write copy 1     ./onepass_write write 2
 *
 * (x86-64 with AVX-512 only.) */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 4096
#define M 4096

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s read|copy T  or  %s write K\n", argv[0], argv[0]);
        return 2;
    }
    const int arg = atoi(argv[2]);
    const size_t n = (size_t)N * M;
    float *x = aligned_alloc(2 << 20, n * sizeof(float));
    float *y = aligned_alloc(2 << 20, n * sizeof(float));
    float *m = aligned_alloc(64, M * sizeof(float)), *c = aligned_alloc(64, M * sizeof(float));
    if (!x || !y || !m || !c) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(i % 1000);
        y[i] = 0.0f;
    }
    for (int j = 0; j < M; j++) {
        m[j] = 0.5f * (float)j;
        c[j] = 0.25f * (float)j;
    }
    double best = 1e9, best_memcpy = 1e9;
    volatile float sink = 0.0f;
    /* written between the sweeps, so that none starts with x or y in the 32 MiB of L3 */
    const size_t nf = (size_t)96 << 20;
    char *flush = malloc(nf);
    if (!flush) {
        return 1;
    }
    for (int rep = 0; rep < 15; rep++) {
        memset(flush, rep, nf);
        double t = now();
        if (strcmp(argv[1], "read") == 0) {
            float tot = 0.0f;
            omp_set_num_threads(arg);
#pragma omp parallel reduction(+ : tot)
            {
                const size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
                __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                for (size_t i = n / nt * id; i < n / nt * (id + 1); i += 64) {
                    s0 = _mm512_add_ps(s0, _mm512_load_ps(x + i));
                    s1 = _mm512_add_ps(s1, _mm512_load_ps(x + i + 16));
                    s2 = _mm512_add_ps(s2, _mm512_load_ps(x + i + 32));
                    s3 = _mm512_add_ps(s3, _mm512_load_ps(x + i + 48));
                }
                tot += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
            }
            sink += tot;
        }
        else if (strcmp(argv[1], "copy") == 0) {
            omp_set_num_threads(arg);
#pragma omp parallel
            {
                const size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
                for (size_t i = n / nt * id; i < n / nt * (id + 1); i += 16) {
                    _mm512_stream_ps(y + i, _mm512_sub_ps(_mm512_load_ps(x + i), _mm512_set1_ps(1.0f)));
                }
                _mm_sfence();
            }
            const double ts = now() - t;
            best = ts < best ? ts : best;
            memset(flush, rep + 1, nf);
            t = now();
            memcpy(y, x, n * sizeof(float));
            t = now() - t;
            best_memcpy = t < best_memcpy ? t : best_memcpy;
            continue;
        }
        else {
            const int k = arg;
            for (int i = 0; i < N; i += k > 1 ? k : 1) {
                const float *xr = x + (size_t)i * M;
                float *yr = y + (size_t)i * M;
                if (k == 0) {
                    for (int j = 0; j < M; j += 16) {
                        _mm512_stream_ps(yr + j, _mm512_sub_ps(_mm512_load_ps(xr + j), _mm512_set1_ps(1.0f)));
                    }
                    continue;
                }
                for (int j = 0; j < M; j += 16) {
                    const __m512 mv = _mm512_load_ps(m + j), cv = _mm512_load_ps(c + j);
                    for (int r = 0; r < k; r++) {
                        _mm512_stream_ps(yr + (size_t)r * M + j,
                                         _mm512_sub_ps(_mm512_sub_ps(_mm512_load_ps(xr + (size_t)r * M + j), mv), cv));
                    }
                }
            }
            _mm_sfence();
        }
        t = now() - t;
        best = t < best ? t : best;
    }
    if (strcmp(argv[1], "copy") == 0) {
        printf("copy, %d thread(s): streamed %.2f ms; memcpy, 1 thread: %.2f ms\n", arg, best * 1e3,
               best_memcpy * 1e3);
    }
    else {
        printf("%s %d: %.2f ms\n", argv[1], arg, best * 1e3);
    }
    (void)sink;
    free(flush);
    return 0;
}
