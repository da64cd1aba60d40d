/*
 * The order in which an epoch visits rows, handed out group by group.
 *
 * An epoch is cut into groups of rows that fit comfortably in L2 (about
 * FSGD_GROUP_BYTES of X).  While the engine works through one group it
 * prefetches the next one, so the rows it visits are in cache whatever their
 * order.  Three orders:
 *
 *  - SEQUENTIAL: storage order (shuffle=False).
 *  - PERMUTATION: scikit-learn's order exactly: an index array, shuffled
 *    before every epoch by Fisher-Yates with the same xorshift generator and
 *    the same seed (so each epoch applies the same permutation once more).
 *    Random rows come from anywhere in X: with prefetching a group ahead this
 *    is still far cheaper than visiting them blind.
 *  - BLOCK (the default when shuffling): X is cut into chunks of a few KiB of
 *    consecutive rows, at an offset drawn afresh each epoch; the chunks are
 *    put in random order, each group takes the next FSGD_GROUP_CHUNKS chunks
 *    and its rows are visited in a random permutation.  Memory is read in
 *    runs of whole pages (prefetcher and TLB friendly), while consecutive
 *    samples still come from FSGD_GROUP_CHUNKS random places in the data.
 */
#ifndef FASTSGD_ORDER_H
#define FASTSGD_ORDER_H

#include <stdint.h>
#include <stdlib.h>
#include "fastsgd.h"

#define FSGD_GROUP_BYTES (512 * 1024)
#define FSGD_CHUNK_BYTES (8 * 1024)
#define FSGD_GROUP_CHUNKS 64

/* scikit-learn's our_rand_r: xorshift32, result modulo 2**31. */
static inline uint32_t fsgd_rand_r(uint32_t *seed)
{
    if (*seed == 0) *seed = 1;
    *seed ^= (uint32_t)(*seed << 13);
    *seed ^= (uint32_t)(*seed >> 17);
    *seed ^= (uint32_t)(*seed << 5);
    return *seed % ((uint32_t)2147483647u + 1u);
}

/* splitmix64, for the block order's own draws. */
static inline uint64_t fsgd_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the bias is
 * below 2**-32 for n < 2**32 and irrelevant for shuffling). */
static inline uint64_t fsgd_rng_below(uint64_t *s, uint64_t n)
{
#if defined(__SIZEOF_INT128__)
    return (uint64_t)(((unsigned __int128)fsgd_rng_next(s) * n) >> 64);
#else
    return fsgd_rng_next(s) % n;
#endif
}

static inline void fsgd_shuffle_i64(int64_t *a, int64_t n, uint64_t *s)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)fsgd_rng_below(s, (uint64_t)i + 1);
        int64_t tmp = a[i]; a[i] = a[j]; a[j] = tmp;
    }
}

typedef struct {
    int kind;
    int64_t n;
    int64_t group_rows;     /* SEQUENTIAL / PERMUTATION: rows per group */
    int64_t n_groups;
    /* PERMUTATION */
    int64_t *perm;
    uint32_t seed;
    /* BLOCK */
    int64_t chunk_rows;
    int64_t n_chunks_max;
    int64_t n_chunks;
    int64_t offset;
    int64_t *chunk_perm;
    uint64_t rng;
    /* group buffers (max_group entries each) */
    int64_t max_group;
    int64_t *cur, *next;
    int64_t len_cur, len_next;
} fsgd_order_state;

static inline int64_t fsgd_imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t fsgd_imin(int64_t a, int64_t b) { return a < b ? a : b; }

/* row_bytes: average bytes of X per row.  Returns 0, or -1 when out of memory. */
static int fsgd_order_init(fsgd_order_state *o, int kind, int64_t n, double row_bytes, uint32_t seed)
{
    o->kind = kind;
    o->n = n;
    o->seed = seed;
    o->rng = ((uint64_t)seed << 32) ^ 0x5DEECE66Dull ^ (uint64_t)seed;
    o->perm = NULL;
    o->chunk_perm = NULL;
    o->cur = o->next = NULL;
    if (row_bytes < 1.0) row_bytes = 1.0;
    o->group_rows = fsgd_imax(1, fsgd_imin(n, (int64_t)(FSGD_GROUP_BYTES / row_bytes)));
    o->chunk_rows = fsgd_imax(1, (int64_t)(FSGD_CHUNK_BYTES / row_bytes + 0.5));
    o->n_chunks_max = (n + o->chunk_rows - 1) / o->chunk_rows + 1;
    o->n_chunks = 0;
    o->offset = 0;
    o->n_groups = 0;
    if (kind == FSGD_ORDER_BLOCK)
        o->max_group = FSGD_GROUP_CHUNKS * o->chunk_rows;
    else
        o->max_group = o->group_rows;
    o->cur = (int64_t *)malloc(sizeof(int64_t) * (size_t)o->max_group);
    o->next = (int64_t *)malloc(sizeof(int64_t) * (size_t)o->max_group);
    if (!o->cur || !o->next) return -1;
    if (kind == FSGD_ORDER_PERMUTATION) {
        o->perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
        if (!o->perm) return -1;
        for (int64_t i = 0; i < n; i++) o->perm[i] = i;
    } else if (kind == FSGD_ORDER_BLOCK) {
        o->chunk_perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)o->n_chunks_max);
        if (!o->chunk_perm) return -1;
    }
    return 0;
}

static void fsgd_order_free(fsgd_order_state *o)
{
    free(o->perm); free(o->chunk_perm); free(o->cur); free(o->next);
    o->perm = o->chunk_perm = o->cur = o->next = NULL;
}

static void fsgd_order_epoch(fsgd_order_state *o)
{
    int64_t n = o->n;
    if (o->kind == FSGD_ORDER_PERMUTATION) {
        /* exactly scikit-learn's SequentialDataset.shuffle: the seed is passed
         * by value, so every epoch draws the same swaps */
        uint32_t s = o->seed;
        for (int64_t i = 0; i < n - 1; i++) {
            int64_t j = i + (int64_t)(fsgd_rand_r(&s) % (uint32_t)(n - i));
            int64_t tmp = o->perm[i]; o->perm[i] = o->perm[j]; o->perm[j] = tmp;
        }
    }
    if (o->kind == FSGD_ORDER_BLOCK) {
        o->offset = (int64_t)fsgd_rng_below(&o->rng, (uint64_t)o->chunk_rows);
        o->n_chunks = (n + o->offset + o->chunk_rows - 1) / o->chunk_rows;
        for (int64_t k = 0; k < o->n_chunks; k++) o->chunk_perm[k] = k;
        fsgd_shuffle_i64(o->chunk_perm, o->n_chunks, &o->rng);
        o->n_groups = (o->n_chunks + FSGD_GROUP_CHUNKS - 1) / FSGD_GROUP_CHUNKS;
    } else {
        o->n_groups = (n + o->group_rows - 1) / o->group_rows;
    }
}

/* Writes the rows of group g into buf in storage-friendly order (the order to
 * prefetch them in); returns how many. */
static int64_t fsgd_order_fill(const fsgd_order_state *o, int64_t g, int64_t *buf)
{
    int64_t len = 0;
    if (o->kind == FSGD_ORDER_BLOCK) {
        int64_t k0 = g * FSGD_GROUP_CHUNKS;
        int64_t k1 = fsgd_imin(o->n_chunks, k0 + FSGD_GROUP_CHUNKS);
        for (int64_t k = k0; k < k1; k++) {
            int64_t c = o->chunk_perm[k];
            int64_t r0 = fsgd_imax(0, c * o->chunk_rows - o->offset);
            int64_t r1 = fsgd_imin(o->n, (c + 1) * o->chunk_rows - o->offset);
            for (int64_t r = r0; r < r1; r++) buf[len++] = r;
        }
    } else {
        int64_t r0 = g * o->group_rows;
        int64_t r1 = fsgd_imin(o->n, r0 + o->group_rows);
        if (o->kind == FSGD_ORDER_PERMUTATION)
            for (int64_t r = r0; r < r1; r++) buf[len++] = o->perm[r];
        else
            for (int64_t r = r0; r < r1; r++) buf[len++] = r;
    }
    return len;
}

/* Turns a filled group into visiting order. */
static inline void fsgd_order_arrange(fsgd_order_state *o, int64_t *buf, int64_t len)
{
    if (o->kind == FSGD_ORDER_BLOCK) fsgd_shuffle_i64(buf, len, &o->rng);
}

#endif
