/*
 * What the visiting orders of csrc/order.h cost in memory alone: every row of
 * a 800,000 x 100 float32 array (or float64 with argument "64") summed in
 * storage order, in the block order (in runs of rows as the per-sample engine
 * takes them, fsgd_sample_run_rows) and in a full permutation, with the same
 * software prefetching as the per-sample loop (fsgd_sample_prefetch_rows
 * ahead, into L1), and
 * nothing else: no SGD.  Prints ns per row, best of 5 epochs, and the ratio to
 * storage order; compare with NumPy's X.sum() per row, the floor of
 * compare.py.  A C program, not part of the package:
 *
 *   gcc -O3 -march=x86-64-v3 -Icsrc benchmarks/order_walk.c -o /tmp/order_walk
 *   /tmp/order_walk; /tmp/order_walk 64
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "order.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void prefetch(const char *p, int64_t bytes)
{
    for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
}

static int64_t at(const fsgd_order_state *o, int64_t a)
{
    if (a < o->len_cur) return o->cur[a];
    if (a - o->len_cur < o->len_next) return o->next[a - o->len_cur];
    return -1;
}

int main(int argc, char **argv)
{
    const int64_t n = 800000, d = 100;
    const int es = argc > 1 && strcmp(argv[1], "64") == 0 ? 8 : 4;
    const int64_t row_bytes = d * es;
    /* on transparent huge pages, as NumPy allocates a large array (and as
     * epoch_harness.c does): with 4 KiB pages the walk measured TLB misses
     * that the package does not have (storage order 31.4 instead of 22.9
     * ns per float32 row on the Xeon of 2026-12-02) */
    const size_t huge = (size_t)2 << 20, bytes = (size_t)(n * row_bytes);
    char *X = (char *)aligned_alloc(huge, (bytes / huge + 1) * huge);
    if (!X) return 1;
    madvise(X, bytes, MADV_HUGEPAGE);
    for (int64_t i = 0; i < n * row_bytes; i++) X[i] = (char)(i % 7);
    const char *names[] = {"storage order", "block order", "full permutation"};
    double seq = 0.0;
    unsigned sink = 0;
    for (int kind = 0; kind < 3; kind++) {
        fsgd_order_state o;
        if (fsgd_order_init(&o, kind, n, (double)row_bytes, 1, NULL) != 0) return 1;
        o.run_rows = fsgd_sample_run_rows((double)row_bytes); /* as the per-sample engine */
        const int64_t pf = fsgd_sample_prefetch_rows((double)row_bytes, kind == FSGD_ORDER_SEQUENTIAL);
        double best = 1e30;
        for (int ep = 0; ep < 5; ep++) {
            double t = now();
            uint64_t acc = 0;
            fsgd_order_epoch(&o);
            o.len_cur = fsgd_order_fill(&o, o.cur);
            while (o.len_cur > 0) {
                o.len_next = fsgd_order_fill(&o, o.next);
                for (int64_t k = 0; k < o.len_cur; k++) {
                    int64_t r;
                    if ((r = at(&o, k + pf)) >= 0)
                        prefetch(X + r * row_bytes, row_bytes);
                    const uint64_t *x = (const uint64_t *)(X + o.cur[k] * row_bytes);
                    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    int64_t j = 0;
                    for (; j + 4 <= row_bytes / 8; j += 4) {
                        a0 += x[j];
                        a1 += x[j + 1];
                        a2 += x[j + 2];
                        a3 += x[j + 3];
                    }
                    for (; j < row_bytes / 8; j++) a0 += x[j];
                    acc += (a0 + a1) + (a2 + a3);
                }
                int64_t *tmp = o.cur;
                o.cur = o.next;
                o.next = tmp;
                o.len_cur = o.len_next;
            }
            t = now() - t;
            sink += (unsigned)acc;
            if (t < best) best = t;
        }
        fsgd_order_free(&o);
        if (kind == 0) seq = best;
        printf("%-17s %6.1f ns/row  %5.2f x storage order\n", names[kind], best / (double)n * 1e9,
               best / seq);
    }
    printf("(float%d, %lld x %lld; checksum %u)\n", es * 8, (long long)n, (long long)d, sink);
    free(X);
    return 0;
}
