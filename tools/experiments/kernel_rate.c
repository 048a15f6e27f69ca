/* The rate of two float32 log_softmax kernels with their data in the caches or from
 * memory, one thread, without Python: the figures behind docs/performance.md ("Why six
 * cases miss"), compiled with the AVX-512 build's flags against the library's headers.
 *
 *   rows R N REPS      lsc_log_softmax_rows_f32, the row pipeline, on R rows of N
 *                      floats (512 rows of 384: 768 KiB, in L2), output not streamed
 *   cols K N B REPS S  lsc_cols_f32, the column bands, on K blocks of N rows by B
 *                      columns along the rows (1 81 1024: 324 KiB, in L2; 32 81 8732:
 *                      the bench's 32x81x8732 along axis 1, from memory), S = 1
 *                      streams the output
 *
 * Prints the fastest of 7 passes of REPS calls: microseconds a call, nanoseconds a
 * row (rows) and nanoseconds a vector of 16 floats; a hash of the output's bits, to
 * compare two builds.  The input: a standard normal times 4, as the bench's.
 *
 *     gcc -O3 -funroll-loops -fno-math-errno -fno-trapping-math -march=x86-64-v4 \
 *         -mtune=generic -mprefer-vector-width=512 -fopenmp -I src/logsoftmax_c \
 *         tools/experiments/kernel_rate.c -o kernel_rate -lm
 *     ./kernel_rate rows 512 384 4000     ./kernel_rate cols 32 81 8732 5 1
 *
 * (x86-64 with AVX-512 only.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lsc_kernels.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* xorshift64 and Box-Muller: the same input on every run */
static unsigned long long rs = 88172645463325252ULL;

static double uniform(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (rs >> 11) * (1.0 / 9007199254740992.0);
}

static float score(void)
{
    const double u = uniform() + 1e-12, v = uniform();
    return (float)(4.0 * sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

int main(int argc, char **argv)
{
    const int rows = argc == 5 && strcmp(argv[1], "rows") == 0;
    const int cols = argc == 7 && strcmp(argv[1], "cols") == 0;
    if (!rows && !cols) {
        fprintf(stderr, "usage: %s rows R N REPS | cols K N B REPS S\n", argv[0]);
        return 2;
    }
    const long k = rows ? 1 : atol(argv[2]);
    const long n = rows ? atol(argv[3]) : atol(argv[3]);
    const long r = rows ? atol(argv[2]) : atol(argv[4]);  /* rows: R; cols: B */
    const long reps = atol(argv[rows ? 4 : 5]);
    const int stream = cols ? atoi(argv[6]) : 0;
    const size_t total = (size_t)k * n * r;
    float *x = aligned_alloc(64, total * 4 + 64), *y = aligned_alloc(64, total * 4 + 64);
    if (x == NULL || y == NULL || total == 0 || reps < 1) {
        fprintf(stderr, "bad sizes\n");
        return 2;
    }
    for (size_t i = 0; i < total; i++) {
        x[i] = score();
    }
    memset(y, 0, total * 4);
    double best = 1e30;
    for (int pass = 0; pass < 7; pass++) {
        const double t0 = now();
        for (long it = 0; it < reps; it++) {
            if (rows) {
                lsc_log_softmax_rows_f32((const char *)x, n * 4, (char *)y, n * 4, n, r, 0, 0);
            }
            else {
                for (long o = 0; o < k; o++) {
                    lsc_cols_f32((const char *)(x + o * n * r), r * 4, 4, (char *)(y + o * n * r),
                                 r * 4, 4, n, r, n, LSC_OP_LOG_SOFTMAX, stream);
                }
            }
        }
        const double t = (now() - t0) / reps;
        best = t < best ? t : best;
    }
    unsigned long long h = 0;
    for (size_t i = 0; i < total; i++) {
        unsigned u;
        memcpy(&u, y + i, 4);
        h = h * 1000003u + u;
    }
    if (rows) {
        printf("rows %ldx%ld: %.2f us a call, %.1f ns a row, %.3f ns a vector of 16 (hash %llx)\n",
               r, n, best * 1e6, best / r * 1e9, best / (total / 16.0) * 1e9, h);
    }
    else {
        printf("cols %ldx%ldx%ld s%d: %.2f us a call, %.3f ns a vector of 16 (hash %llx)\n", k, n,
               r, stream, best * 1e6, best / (total / 16.0) * 1e9, h);
    }
    free(x);
    free(y);
    return 0;
}
