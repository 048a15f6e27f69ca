/*
 * A/B timing of the float32 row pipelines of two builds in one process.
 *
 *   ./ab_rows N [TOTAL [SPREAD [ROUNDS [OP [SPREAD_B]]]]]
 *
 * rows of N floats, TOTAL elements in all (default 1M), scores SPREAD times a
 * standard normal (default 1), ROUNDS alternations (default 31, at most 200); OP 0
 * log_softmax (lsc_log_softmax_rows_f32), 1 logsumexp (lsc_logsumexp_rows_f32).  A and
 * B are the two builds linked in (see build.sh); with SPREAD_B, B is A's kernel on the
 * same scores scaled to SPREAD_B instead.  Prints whether the two outputs have the
 * same bits, each one's median time per row, the median of the per-round ratios B/A
 * with its quartiles, and each one's fastest round with their ratio.  One thread, the
 * output not streamed.
 *
 * On a shared host whose load comes and goes in phases of seconds (the Zen 3 of
 * docs/history/rounds.md: everything 30-45% slower in the slow phases), the fastest
 * rounds of a hundred and more are the steadier comparison: a build against itself
 * came out within 1.5% that way, while its per-round ratios spread over +-5% (their
 * quartiles), and ten rounds can miss the fast phases altogether.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*rows_fn)(const char *, ptrdiff_t, char *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                        int, int);
void rowsA(const char *, ptrdiff_t, char *, ptrdiff_t, ptrdiff_t, ptrdiff_t, int, int);
void rowsB(const char *, ptrdiff_t, char *, ptrdiff_t, ptrdiff_t, ptrdiff_t, int, int);
void lseA(const char *, ptrdiff_t, char *, ptrdiff_t, ptrdiff_t, int);
void lseB(const char *, ptrdiff_t, char *, ptrdiff_t, ptrdiff_t, int);

static void lse_a(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t syr, ptrdiff_t n,
                  ptrdiff_t nr, int pf, int stream)
{
    (void)syr;
    (void)stream;
    lseA(x, sxr, y, n, nr, pf);
}

static void lse_b(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t syr, ptrdiff_t n,
                  ptrdiff_t nr, int pf, int stream)
{
    (void)syr;
    (void)stream;
    lseB(x, sxr, y, n, nr, pf);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s N [TOTAL [SPREAD [ROUNDS [OP [SPREAD_B]]]]]\n", argv[0]);
        return 2;
    }
    const long n = atol(argv[1]);
    const long total = argc > 2 ? atol(argv[2]) : 1L << 20;
    const float spread = argc > 3 ? (float)atof(argv[3]) : 1.0f;
    int rounds = argc > 4 ? atoi(argv[4]) : 31;
    const int op = argc > 5 ? atoi(argv[5]) : 0;
    const long nr = n > 0 ? total / n : 0;
    if (n < 1 || nr < 1 || rounds < 1) {
        fprintf(stderr, "N, TOTAL / N and ROUNDS must be at least 1\n");
        return 2;
    }
    rounds = rounds > 200 ? 200 : rounds;
    rows_fn fa = op ? lse_a : rowsA, fb = op ? lse_b : rowsB;
    const size_t bytes = ((size_t)(nr * n) * sizeof(float) + 63) / 64 * 64;
    float *x = aligned_alloc(64, bytes), *ya = aligned_alloc(64, bytes);
    float *yb = aligned_alloc(64, bytes), *xb = x;
    if (!x || !ya || !yb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* standard normal scores (Box-Muller on a 64-bit LCG), times the spread */
    unsigned long long s = 12345;
    for (long i = 0; i < nr * n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u1 = ((s >> 11) + 1.0) / 9007199254740993.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u2 = (s >> 11) / 9007199254740992.0;
        x[i] = spread * (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
    }
    if (argc > 6) {
        const float spread_b = (float)atof(argv[6]);
        xb = aligned_alloc(64, bytes);
        if (!xb) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (long i = 0; i < nr * n; i++) {
            xb[i] = x[i] / spread * spread_b;
        }
        fb = fa;
    }
    /* the pipelines' fetch of rows ahead, as the drivers set it for 1 thread */
    const int pf = (long)(nr * n * sizeof(float)) >= 3145728;
    const ptrdiff_t rb = n * (ptrdiff_t)sizeof(float);
    const size_t out_bytes = (size_t)(op ? nr : nr * n) * sizeof(float);
    fa((const char *)x, rb, (char *)ya, rb, n, nr, pf, 0);
    fb((const char *)xb, rb, (char *)yb, rb, n, nr, pf, 0);
    printf("%s n=%ld rows=%ld spread=%g: bits %s\n", op ? "logsumexp" : "log_softmax", n,
           nr, spread, memcmp(ya, yb, out_bytes) == 0 ? "same" : "DIFFER");
    double ta[200], tb[200], ratio[200];
    const int inner = (int)(4e6 / (double)(nr * n)) + 1;
    for (int r = 0; r < rounds; r++) {
        /* A first in even rounds, B first in odd ones */
        for (int k = 0; k < 2; k++) {
            const int b = (r + k) % 2;
            const rows_fn f = b ? fb : fa;
            const float *xi = b ? xb : x;
            float *y = b ? yb : ya;
            const double t0 = now();
            for (int i = 0; i < inner; i++) {
                f((const char *)xi, rb, (char *)y, rb, n, nr, pf, 0);
            }
            const double t = (now() - t0) / inner / nr * 1e9;
            if (b) {
                tb[r] = t;
            }
            else {
                ta[r] = t;
            }
        }
        ratio[r] = tb[r] / ta[r];
    }
    qsort(ta, rounds, sizeof(double), cmp_double);
    qsort(tb, rounds, sizeof(double), cmp_double);
    qsort(ratio, rounds, sizeof(double), cmp_double);
    printf("  A %.1f ns/row  B %.1f ns/row  B/A median %.3f  [q25 %.3f q75 %.3f]\n",
           ta[rounds / 2], tb[rounds / 2], ratio[rounds / 2], ratio[rounds / 4],
           ratio[3 * rounds / 4]);
    printf("  fastest: A %.1f ns/row  B %.1f ns/row  B/A %.3f\n", ta[0], tb[0], tb[0] / ta[0]);
    return 0;
}
