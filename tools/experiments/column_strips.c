/* How fast a strip of whole columns of a 4096x4096 float32 array moves between memory
 * and one core (docs/history/rounds.md, the seventh round on Zen 4): the access pattern of
 * a column kernel that holds whole columns in cache between its passes.
 *   read: a strip of W vectors (16 floats each) of every row, down all 4096 rows, strip
 *     after strip: each vector loaded, maxed and stored to a packed buffer (the bands'
 *     first pass), with the strip's row D rows ahead fetched (hint H: 0 prefetcht0, 2
 *     prefetcht2, 3 prefetchnta; D = 0: none), or with W = 0 the array read in order;
 *   write: the same strips streamed (non-temporal stores), or with W = 0 the array
 *     streamed in order.
 * 1 thread, fastest of 7 sweeps of the 64 MiB; HUGE=1 in the environment asks for huge
 * pages (madvise).
 *
 *     gcc -O2 -mavx512f column_strips.c -o column_strips
 *     ./column_strips read W D H     ./column_strips write W
 *
 * (x86-64 with AVX-512 only.) */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define N 4096
#define M 4096

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *x, *buf;
static volatile float sink;

static void fetch(const float *p, int h)
{
    if (h == 0) {
        _mm_prefetch((const char *)p, _MM_HINT_T0);
    }
    else if (h == 2) {
        _mm_prefetch((const char *)p, _MM_HINT_T2);
    }
    else {
        _mm_prefetch((const char *)p, _MM_HINT_NTA);
    }
}

static void read_strips(int w, int d, int h)
{
    __m512 acc = _mm512_setzero_ps();
    if (w == 0) {
        for (size_t i = 0; i < (size_t)N * M; i += 16) {
            acc = _mm512_max_ps(acc, _mm512_load_ps(x + i));
        }
    }
    for (int s = 0; w > 0 && s < M; s += 16 * w) {
        for (int r = 0; r < N; r++) {
            const float *p = x + (size_t)r * M + s;
            if (d > 0) {
                /* the strip's row d ahead, or the next strip's first rows */
                const int ra = r + d;
                const float *q = ra < N ? p + (size_t)d * M
                                        : (s + 16 * w < M ? x + (size_t)(ra - N) * M + s + 16 * w
                                                          : NULL);
                for (int g = 0; q != NULL && g < w; g++) {
                    fetch(q + 16 * g, h);
                }
            }
            for (int g = 0; g < w; g++) {
                const __m512 v = _mm512_load_ps(p + 16 * g);
                acc = _mm512_max_ps(acc, v);
                _mm512_store_ps(buf + ((size_t)g * N + r) * 16, v);
            }
        }
    }
    sink = _mm512_reduce_max_ps(acc);
}

static void write_strips(int w)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    if (w == 0) {
        for (size_t i = 0; i < (size_t)N * M; i += 16) {
            _mm512_stream_ps(x + i, one);
        }
    }
    for (int s = 0; w > 0 && s < M; s += 16 * w) {
        for (int r = 0; r < N; r++) {
            float *p = x + (size_t)r * M + s;
            for (int g = 0; g < w; g++) {
                _mm512_stream_ps(p + 16 * g, one);
            }
        }
    }
    _mm_sfence();
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "read") != 0 && strcmp(argv[1], "write") != 0)) {
        fprintf(stderr, "usage: %s read W D H | write W\n", argv[0]);
        return 2;
    }
    const int rd = strcmp(argv[1], "read") == 0;
    const int w = atoi(argv[2]), d = rd && argc > 3 ? atoi(argv[3]) : 0,
              h = rd && argc > 4 ? atoi(argv[4]) : 0;
    if (w < 0 || (M % (16 * (w > 0 ? w : 1))) != 0) {
        fprintf(stderr, "W must divide %d\n", M / 16);
        return 2;
    }
    const size_t bytes = (size_t)N * M * sizeof(float);
    x = aligned_alloc(2 << 20, bytes);
    buf = aligned_alloc(64, (size_t)N * 16 * sizeof(float) * (w > 0 ? w : 1));
    if (x == NULL || buf == NULL) {
        return 1;
    }
    if (getenv("HUGE") != NULL) {
        madvise(x, bytes, MADV_HUGEPAGE);
    }
    for (size_t i = 0; i < (size_t)N * M; i++) {
        x[i] = (float)(i % 1000);
    }
    double best = 1e30;
    for (int rep = 0; rep < 7; rep++) {
        const double t = now();
        if (rd) {
            read_strips(w, d, h);
        }
        else {
            write_strips(w);
        }
        const double e = now() - t;
        best = e < best ? e : best;
    }
    printf("%s W=%d D=%d H=%d: %.2f ms, %.1f GB/s\n", argv[1], w, d, h, best * 1e3,
           bytes / best / 1e9);
    free(x);
    free(buf);
    return 0;
}
