/* The time of reading a 16x384x384 float32 array (9.4 MB) and writing another of the
 * same size, the floor under log_softmax's time on it (docs/history/rounds.md, the ninth
 * round on the Xeon): a plain loop (read, add, store), the same with non-temporal
 * stores, and rows computed into an L1 buffer then moved 1-16 rows at a time with
 * `rep movsb` or memcpy; with 1 and 2 threads, fastest of 200 passes each.
 *
 *     gcc -O2 -march=x86-64-v4 -fopenmp stream_limit.c -o stream_limit && ./stream_limit
 *
 * (x86-64 with AVX-512 only.) */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROW 384
#define N (16 * 384 * ROW)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline void rep_movsb(void *d, const void *s, size_t n)
{
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n)::"memory");
}

static float *src, *dst;

enum { PLAIN, STREAM, MOVSB, MEMCPY };

/* the fastest of 200 passes of dst = 2 src, rows split evenly over nt threads, in
   pieces of `rows` rows */
static double run(int mode, int rows, int nt)
{
    const long nrows = N / ROW;
    double best = 1e9;
    for (int rep = 0; rep < 200; rep++) {
        double t0 = now();
#pragma omp parallel num_threads(nt)
        {
            float buf[16 * ROW] __attribute__((aligned(64)));
            int tid = omp_get_thread_num();
            long r0 = nrows * tid / nt, r1 = nrows * (tid + 1) / nt;
            for (long r = r0; r < r1; r += rows) {
                long re = r + rows < r1 ? r + rows : r1;
                const float *s = src + r * ROW;
                float *d = dst + r * ROW;
                long n = (re - r) * ROW;
                for (long i = 0; i < n; i += 16) {
                    __m512 v = _mm512_loadu_ps(s + i);
                    v = _mm512_add_ps(v, v);
                    if (mode == PLAIN) {
                        _mm512_storeu_ps(d + i, v);
                    }
                    else if (mode == STREAM) {
                        _mm512_stream_ps(d + i, v);
                    }
                    else {
                        _mm512_store_ps(buf + i, v);
                    }
                }
                if (mode == MOVSB) {
                    rep_movsb(d, buf, (size_t)n * 4);
                }
                else if (mode == MEMCPY) {
                    memcpy(d, buf, (size_t)n * 4);
                }
            }
            if (mode == STREAM) {
                _mm_sfence();
            }
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    src = aligned_alloc(64, N * 4);
    dst = aligned_alloc(64, N * 4);
    for (long i = 0; i < N; i++) {
        src[i] = i * 1e-6f;
        dst[i] = 0;
    }
    for (int nt = 1; nt <= 2; nt++) {
        printf("%d thread(s): plain %.0f us, non-temporal %.0f us\n", nt,
               run(PLAIN, 8, nt) * 1e6, run(STREAM, 8, nt) * 1e6);
        const int rows[] = {1, 2, 4, 8, 16};
        for (int k = 0; k < 5; k++) {
            printf("  %2d rows a move: rep movsb %.0f us, memcpy %.0f us\n", rows[k],
                   run(MOVSB, rows[k], nt) * 1e6, run(MEMCPY, rows[k], nt) * 1e6);
        }
    }
    return 0;
}
