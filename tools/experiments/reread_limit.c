/* The floor under log_softmax's time on long rows with one thread: 2048 rows of 32000
 * floats (262 MB in, 262 MB out), each row read twice, once from memory for its
 * statistics and once from L2 for its write (a row of 128 KB stays in L2 between the
 * two), the output streamed, as lsc_log_softmax_long_rows does; the arithmetic left
 * out (a max, a subtraction and an add a vector), so that what remains is the traffic.
 * Against a copy of the same array.  Fastest of 7 passes each (docs/history/rounds.md,
 * the fifteenth round on the Xeon):
 *
 *   copy       a load and a non-temporal store a vector, the input fetched 32 KB ahead
 *   memcpy     glibc's
 *   fused3     chunks of 4096 floats in row order in a pipeline, the loop of chunk k
 *              carrying the max of chunk k + 1 (from memory, fetched a chunk ahead
 *              into L2), the sum of chunk k (read by the loop before) and the write of
 *              the row before, last chunk first (from L2): the kernel's three reads
 *   fused2     the same with the statistics in one read (the max and the sum of chunk
 *              k + 1 from one load): two reads
 *   rowwise    each row's statistics, then its write, in two loops (two reads, not
 *              interleaved)
 *
 *     gcc -O2 -march=x86-64-v4 reread_limit.c -o reread_limit && ./reread_limit
 *
 * (x86-64 with AVX-512 only.) */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NR 2048
#define N 32000
#define CH 4096
#define NCH ((N + CH - 1) / CH)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *X, *Y;
static volatile float sink;

enum { COPY, MEMCPY, FUSED3, FUSED2, ROWWISE };

/* chunk k of the rows in row order (NULL and 0 past the last), its length */
static const float *chunk(long k)
{
    return k < (long)NR * NCH ? X + (size_t)(k / NCH) * N + (k % NCH) * CH : NULL;
}

static int chunk_len(long k)
{
    const int c = (int)(k % NCH);
    return k < (long)NR * NCH ? (c == NCH - 1 ? N - c * CH : CH) : 0;
}

static const char *names[] = {"copy", "memcpy", "fused3", "fused2", "rowwise"};

static void pass(int mode)
{
    __m512 acc = _mm512_setzero_ps(), mx = _mm512_set1_ps(-1e30f);
    if (mode == MEMCPY) {
        memcpy(Y, X, (size_t)NR * N * sizeof(float));
        return;
    }
    if (mode == COPY) {
        for (size_t i = 0; i < (size_t)NR * N; i += 16) {
            __builtin_prefetch(X + i + 8192, 0, 2);
            _mm512_stream_ps(Y + i, _mm512_load_ps(X + i));
        }
        _mm_sfence();
        return;
    }
    if (mode == ROWWISE) {
        for (int r = 0; r < NR; r++) {
            const float *xr = X + (size_t)r * N;
            float *yr = Y + (size_t)r * N;
            for (int j = 0; j < N; j += 16) {
                __builtin_prefetch(xr + N + j, 0, 2);
                const __m512 a = _mm512_load_ps(xr + j);
                mx = _mm512_max_ps(mx, a);
                acc = _mm512_add_ps(acc, _mm512_sub_ps(a, mx));
            }
            for (int j = 0; j < N; j += 16) {
                _mm512_stream_ps(yr + j,
                                 _mm512_sub_ps(_mm512_sub_ps(_mm512_load_ps(xr + j), mx), acc));
            }
        }
    }
    else {
        /* the chunks in row order, chunk k of row k / NCH; the loop of chunk k reads
           chunk k + 1 for its statistics (and, FUSED3, chunk k for its sum), fetches
           chunk k + 2 and writes the matching chunk of the row before, last chunk
           first */
        const long nk = (long)NR * NCH;
        for (int j = 0; j < CH; j += 16) {
            mx = _mm512_max_ps(mx, _mm512_load_ps(X + j));
        }
        for (long k = 0; k < nk; k++) {
            const int r = (int)(k / NCH), c = (int)(k % NCH);
            const float *xc = chunk(k), *xn = chunk(k + 1), *xf = chunk(k + 2);
            const int len = chunk_len(k), ln = chunk_len(k + 1), lf = chunk_len(k + 2);
            const int wc = NCH - 1 - c;
            const float *xw = r > 0 ? X + (size_t)(r - 1) * N + wc * CH : NULL;
            float *yw = r > 0 ? Y + (size_t)(r - 1) * N + wc * CH : NULL;
            const int lw = r > 0 ? chunk_len(wc) : 0;
            const int jn = len > ln ? len : ln, jm = jn > lw ? jn : lw;
            /* where all four runs go on (most of each chunk): a loop without tests */
            int j0 = len < ln ? len : ln;
            j0 = j0 < lw ? j0 : lw;
            j0 = j0 < lf ? j0 : lf;
            int j = 0;
            for (; j < j0; j += 16) {
                __builtin_prefetch(xf + j, 0, 2);
                if (mode == FUSED3) {
                    mx = _mm512_max_ps(mx, _mm512_load_ps(xn + j));
                    acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_load_ps(xc + j), mx));
                }
                else {
                    const __m512 a = _mm512_load_ps(xn + j);
                    mx = _mm512_max_ps(mx, a);
                    acc = _mm512_add_ps(acc, _mm512_sub_ps(a, mx));
                }
                _mm512_stream_ps(yw + j,
                                 _mm512_sub_ps(_mm512_sub_ps(_mm512_load_ps(xw + j), mx), acc));
            }
            for (; j < jm; j += 16) {
                if (j < lf) {
                    __builtin_prefetch(xf + j, 0, 2);
                }
                if (mode == FUSED3) {
                    if (j < ln) {
                        mx = _mm512_max_ps(mx, _mm512_load_ps(xn + j));
                    }
                    if (j < len) {
                        acc = _mm512_add_ps(acc, _mm512_sub_ps(_mm512_load_ps(xc + j), mx));
                    }
                }
                else if (j < ln) {
                    const __m512 a = _mm512_load_ps(xn + j);
                    mx = _mm512_max_ps(mx, a);
                    acc = _mm512_add_ps(acc, _mm512_sub_ps(a, mx));
                }
                if (j < lw) {
                    _mm512_stream_ps(
                        yw + j, _mm512_sub_ps(_mm512_sub_ps(_mm512_load_ps(xw + j), mx), acc));
                }
            }
        }
        const float *xl = X + (size_t)(NR - 1) * N;
        float *yl = Y + (size_t)(NR - 1) * N;
        for (int j = 0; j < N; j += 16) {
            _mm512_stream_ps(yl + j, _mm512_sub_ps(_mm512_load_ps(xl + j), mx));
        }
    }
    _mm_sfence();
    float t[16];
    _mm512_storeu_ps(t, acc);
    sink = t[0];
}

int main(void)
{
    const size_t bytes = (size_t)NR * N * sizeof(float);
    X = aligned_alloc(4096, bytes);
    Y = aligned_alloc(4096, bytes);
    if (X == NULL || Y == NULL) {
        return 1;
    }
    for (size_t i = 0; i < (size_t)NR * N; i++) {
        X[i] = (float)(i % 977) * 0.001f;
        Y[i] = 0.0f;
    }
    double best[5];
    for (int m = 0; m < 5; m++) {
        best[m] = 1e9;
    }
    /* the modes interleaved, so that a drift of the machine hits them alike */
    for (int it = 0; it < 7; it++) {
        for (int m = 0; m < 5; m++) {
            const double t0 = now();
            pass(m);
            const double t = now() - t0;
            best[m] = t < best[m] ? t : best[m];
        }
    }
    printf("%dx%d float32, 1 thread, fastest of 7\n", NR, N);
    for (int m = 0; m < 5; m++) {
        printf("%-8s %7.2f ms   copy / this %.2f\n", names[m], best[m] * 1e3,
               best[COPY] / best[m]);
    }
    return 0;
}
