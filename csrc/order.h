/*
 * The order in which an epoch visits rows, handed out a buffer at a time.
 *
 * Shuffling decides the speed of an epoch: a fully random row order makes
 * nearly every row a cache and TLB miss.  Three orders:
 *
 *  - SEQUENTIAL: storage order (shuffle=False).
 *  - PERMUTATION: scikit-learn's order exactly: an index array, shuffled
 *    before every epoch by Fisher-Yates with the same xorshift generator and
 *    the same seed (so each epoch applies the same permutation once more).
 *  - BLOCK (the default when shuffling): X is cut into chunks of about
 *    FSGD_CHUNK_BYTES of consecutive rows (at most FSGD_CHUNK_MAX_ROWS; one
 *    row when X is small enough to stay in cache, which makes the order a
 *    uniform random permutation), at an offset drawn afresh every epoch, and
 *    the chunks are taken in a random order.  FSGD_STREAMS chunks
 *    are open at any time; each sample comes from one of them drawn at random
 *    and is that chunk's next row.  The number of open chunks is what keeps
 *    the order as good as a full shuffle on data stored in a meaningful order
 *    (say sorted by label): SGD's late iterates average the last few hundred
 *    to few thousand gradients, and those must come from many places in the
 *    data (few open chunks leave the objective above a full shuffle's on
 *    label-sorted data; FSGD_STREAMS of them do not).  When a chunk runs out the next chunk of
 *    the permutation takes its place; once the permutation is used up, the
 *    rows left in the open chunks are visited in a full random order, so an
 *    epoch never ends on a handful of chunks.  Memory is read as FSGD_STREAMS
 *    sequential streams (what hardware prefetchers and the TLB handle well),
 *    while consecutive samples come from FSGD_STREAMS random places in the
 *    data and every row is visited exactly once per epoch.
 *
 * With run_rows > 1 each draw takes that many consecutive rows of the chosen
 * chunk, and memory is read in runs of run_rows rows, which DRAM and the
 * hardware prefetchers serve much faster than single rows.  The batch engine
 * sets it from the batch size (rows of one batch act together, and a batch
 * still comes from batch_size / run_rows random places).  The per-sample
 * engine takes runs of up to FSGD_SAMPLE_RUN_ROWS (below: fewer for wide
 * rows): over the few hundred to few thousand
 * steps that SGD's late iterates average, each open chunk already contributes
 * several consecutive rows, so taking them back to back changes little (the
 * quality against a full shuffle is measured in tests/test_statistical.py).
 * What pays is the run's length in bytes, not in rows, and too long a run
 * costs, so the per-sample engine takes runs of FSGD_SAMPLE_RUN_BYTES or
 * less, and at most FSGD_SAMPLE_RUN_ROWS rows (fsgd_sample_run_rows): 4 rows
 * of 400 bytes, 2 of 800, 1 of 1,100 or more.  benchmarks/order_walk.c
 * measures the memory walk alone; docs/performance-log.md has the figures.
 *
 * The engine prefetches a few rows ahead in visiting order, so random orders
 * pay the memory latency only once per chunk, not once per row.
 */
#ifndef FASTSGD_ORDER_H
#define FASTSGD_ORDER_H

#include <stdint.h>
#include <stdlib.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif
#include "fastsgd.h"

#ifndef FSGD_CHUNK_BYTES
#define FSGD_CHUNK_BYTES (64 * 1024)
#endif
#ifndef FSGD_STREAMS
#define FSGD_STREAMS 256
#endif
/* rows taken in a run from one chunk by the per-sample engine (above): at
 * most FSGD_SAMPLE_RUN_ROWS, and no more than fit in FSGD_SAMPLE_RUN_BYTES */
#ifndef FSGD_SAMPLE_RUN_ROWS
#define FSGD_SAMPLE_RUN_ROWS 4
#endif
#ifndef FSGD_SAMPLE_RUN_BYTES
#define FSGD_SAMPLE_RUN_BYTES 2048
#endif
/* rows the per-sample engine prefetches ahead: in random orders a quarter of
 * the L1 data cache (fsgd_l1d_bytes), 2 to FSGD_SAMPLE_PREFETCH_ROWS rows; in
 * storage order a sixteenth, 2 to 64 rows.  Prefetched rows must still be in
 * L1 when their turn comes, next to the weights and the rows being used, so
 * the distance follows the cache this CPU reports (12 and 3 KiB of a 48 KiB
 * L1d, 8 and 2 KiB of a 32 KiB one).  Defining FSGD_SAMPLE_PREFETCH_BYTES /
 * FSGD_SAMPLE_PREFETCH_SEQ_BYTES fixes them (benchmarks). */
#ifndef FSGD_SAMPLE_PREFETCH_ROWS
#define FSGD_SAMPLE_PREFETCH_ROWS 32
#endif
#ifndef FSGD_CHUNK_MAX_ROWS
#define FSGD_CHUNK_MAX_ROWS 64
#endif
/* data this small is cache-resident: chunks of one row, a full random order */
#define FSGD_SMALL_BYTES (4.0 * 1024 * 1024)
#define FSGD_BUFFER_ROWS 256

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
        int64_t tmp = a[i];
        a[i] = a[j];
        a[j] = tmp;
    }
}

static inline int64_t fsgd_imax(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t fsgd_imin(int64_t a, int64_t b) { return a < b ? a : b; }

/* how many rows of row_bytes bytes fit in `bytes`, at least lo, at most hi */
static inline int64_t fsgd_rows_in(double bytes, double row_bytes, int64_t lo, int64_t hi)
{
    double fit = bytes / (row_bytes > 1.0 ? row_bytes : 1.0);
    return fit >= (double)hi ? hi : fsgd_imax(lo, (int64_t)fit);
}

/* the per-sample engine's run length (above) and how many rows ahead it
 * prefetches in storage order or a random one (sample_engine.inc says why), for
 * rows of row_bytes */
static inline int64_t fsgd_sample_run_rows(double row_bytes)
{
    return fsgd_rows_in(FSGD_SAMPLE_RUN_BYTES, row_bytes, 1, FSGD_SAMPLE_RUN_ROWS);
}

/* The L1 data cache's size as the C library reports it (glibc: from cpuid),
 * 32 KiB where it reports none or an implausible value. */
static inline double fsgd_l1d_bytes(void)
{
#if defined(_SC_LEVEL1_DCACHE_SIZE)
    long v = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    if (v >= 8192 && v <= (1L << 22)) return (double)v;
#endif
    return 32768.0;
}

static inline int64_t fsgd_sample_prefetch_rows(double row_bytes, int sequential)
{
#ifdef FSGD_SAMPLE_PREFETCH_BYTES
    const double random_bytes = FSGD_SAMPLE_PREFETCH_BYTES;
#else
    const double random_bytes = fsgd_l1d_bytes() / 4.0;
#endif
#ifdef FSGD_SAMPLE_PREFETCH_SEQ_BYTES
    const double seq_bytes = FSGD_SAMPLE_PREFETCH_SEQ_BYTES;
#else
    const double seq_bytes = fsgd_l1d_bytes() / 16.0;
#endif
    return sequential ? fsgd_rows_in(seq_bytes, row_bytes, 2, 64)
                      : fsgd_rows_in(random_bytes, row_bytes, 2, FSGD_SAMPLE_PREFETCH_ROWS);
}

typedef struct {
    int kind;
    int64_t n;
    const uint8_t *skip;    /* rows never handed out (validation rows), or NULL */
    int64_t pos;            /* SEQUENTIAL / PERMUTATION: next position */
    /* PERMUTATION */
    int64_t *perm;
    uint32_t seed;
    /* BLOCK */
    uint64_t rng;
    int64_t chunk_rows;
    int64_t n_chunks;
    int64_t offset;
    int64_t next_chunk;     /* next entry of chunk_perm to open */
    int64_t *chunk_perm;
    int n_open;
    int64_t run_rows;       /* consecutive rows taken from a chunk per draw (1: per-sample) */
    int64_t open_pos[FSGD_STREAMS], open_end[FSGD_STREAMS];
    int64_t *tail;          /* the epoch's last rows, fully shuffled */
    int64_t tail_len, tail_pos;
    /* double buffer of row indices handed to the engine */
    int64_t *cur, *next;
    int64_t len_cur, len_next;
} fsgd_order_state;

/* row_bytes: average bytes of X per row; rows with skip[r] != 0 are left out.  Returns 0, or -1 when out of memory
 * (whatever was allocated is released by fsgd_order_free). */
static int fsgd_order_init(fsgd_order_state *o, int kind, int64_t n, double row_bytes,
                           uint32_t seed, const uint8_t *skip)
{
    o->kind = kind;
    o->skip = skip;
    o->n = n;
    o->pos = 0;
    o->seed = seed;
    o->rng = ((uint64_t)seed << 32) ^ 0x5DEECE66Dull ^ (uint64_t)seed;
    o->perm = NULL;
    o->chunk_perm = NULL;
    o->n_open = 0;
    o->run_rows = 1;
    o->tail = NULL;
    o->tail_len = o->tail_pos = 0;
    o->len_cur = o->len_next = 0;
    if (row_bytes < 1.0) row_bytes = 1.0;
    /* chunks of about FSGD_CHUNK_BYTES, but never more than FSGD_CHUNK_MAX_ROWS
     * rows: how many consecutive rows a chunk holds is what makes the order
     * differ from a full shuffle on data stored in a meaningful order */
    o->chunk_rows = fsgd_imax(
        1, fsgd_imin(FSGD_CHUNK_MAX_ROWS, (int64_t)(FSGD_CHUNK_BYTES / row_bytes + 0.5)));
    if ((double)n * row_bytes <= FSGD_SMALL_BYTES) o->chunk_rows = 1;
    o->n_chunks = 0;
    o->offset = 0;
    o->next_chunk = 0;
    o->cur = (int64_t *)malloc(sizeof(int64_t) * FSGD_BUFFER_ROWS);
    o->next = (int64_t *)malloc(sizeof(int64_t) * FSGD_BUFFER_ROWS);
    if (!o->cur || !o->next) return -1;
    if (kind == FSGD_ORDER_PERMUTATION) {
        o->perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
        if (!o->perm) return -1;
        for (int64_t i = 0; i < n; i++) o->perm[i] = i;
    } else if (kind == FSGD_ORDER_BLOCK) {
        int64_t max_chunks = (n + o->chunk_rows - 1) / o->chunk_rows + 1;
        o->chunk_perm = (int64_t *)malloc(sizeof(int64_t) * (size_t)max_chunks);
        o->tail = (int64_t *)malloc(sizeof(int64_t) * (size_t)(FSGD_STREAMS * o->chunk_rows));
        if (!o->chunk_perm || !o->tail) return -1;
    }
    return 0;
}

static void fsgd_order_free(fsgd_order_state *o)
{
    free(o->perm);
    free(o->chunk_perm);
    free(o->tail);
    free(o->cur);
    free(o->next);
    o->perm = o->chunk_perm = o->tail = o->cur = o->next = NULL;
}

/* Opens the next chunk of the permutation in stream slot s; returns 0 when
 * there is none left. */
static inline int fsgd_order_open(fsgd_order_state *o, int s)
{
    while (o->next_chunk < o->n_chunks) {
        int64_t c = o->chunk_perm[o->next_chunk++];
        int64_t r0 = fsgd_imax(0, c * o->chunk_rows - o->offset);
        int64_t r1 = fsgd_imin(o->n, (c + 1) * o->chunk_rows - o->offset);
        if (r1 > r0) {
            o->open_pos[s] = r0;
            o->open_end[s] = r1;
            return 1;
        }
    }
    return 0;
}

static void fsgd_order_epoch(fsgd_order_state *o)
{
    int64_t n = o->n;
    o->pos = 0;
    if (o->kind == FSGD_ORDER_PERMUTATION) {
        /* exactly scikit-learn's SequentialDataset.shuffle: the seed is passed
         * by value, so every epoch draws the same swaps */
        uint32_t s = o->seed;
        for (int64_t i = 0; i < n - 1; i++) {
            int64_t j = i + (int64_t)(fsgd_rand_r(&s) % (uint32_t)(n - i));
            int64_t tmp = o->perm[i];
            o->perm[i] = o->perm[j];
            o->perm[j] = tmp;
        }
    } else if (o->kind == FSGD_ORDER_BLOCK) {
        o->offset = (int64_t)fsgd_rng_below(&o->rng, (uint64_t)o->chunk_rows);
        o->n_chunks = (n + o->offset + o->chunk_rows - 1) / o->chunk_rows;
        for (int64_t k = 0; k < o->n_chunks; k++) o->chunk_perm[k] = k;
        fsgd_shuffle_i64(o->chunk_perm, o->n_chunks, &o->rng);
        o->next_chunk = 0;
        o->n_open = 0;
        o->tail_len = o->tail_pos = 0;
        while (o->n_open < FSGD_STREAMS && fsgd_order_open(o, o->n_open)) o->n_open++;
    }
}

/* Writes the next rows of the epoch into buf (at most FSGD_BUFFER_ROWS);
 * returns how many, 0 at the end of the epoch. */
static int64_t fsgd_order_fill(fsgd_order_state *o, int64_t *buf)
{
    int64_t len = 0;
    if (o->kind == FSGD_ORDER_BLOCK) {
        /* the generator's state in a local: buf's stores could otherwise
         * alias it, and the compiler would store and reload it every draw */
        uint64_t rng = o->rng;
        const int64_t run = o->run_rows;
        while (len < FSGD_BUFFER_ROWS) {
            if (o->n_open == 0) {
                /* the tail: a full shuffle of the rows left in the last open
                 * chunks, so the epoch does not end on a few chunks only */
                if (o->tail_pos == o->tail_len) break;
                int64_t r = o->tail[o->tail_pos++];
                if (!o->skip || !o->skip[r]) buf[len++] = r;
                continue;
            }
            int s = (int)fsgd_rng_below(&rng, (uint64_t)o->n_open);
            const int64_t r0 = o->open_pos[s], end = o->open_end[s];
            if (!o->skip) {
                /* the run: up to run_rows rows, as many as the chunk and the
                 * buffer hold (the chunk has at least one left) */
                const int64_t m = fsgd_imin(fsgd_imin(run, end - r0), FSGD_BUFFER_ROWS - len);
                for (int64_t k = 0; k < m; k++) buf[len + k] = r0 + k;
                len += m;
                o->open_pos[s] = r0 + m;
            } else {
                /* the same, leaving out skipped rows (they do not count
                 * towards the buffer) */
                int64_t r = r0;
                if (!o->skip[r]) buf[len++] = r;
                r++;
                for (int64_t k = 1; k < run && len < FSGD_BUFFER_ROWS && r < end; k++, r++)
                    if (!o->skip[r]) buf[len++] = r;
                o->open_pos[s] = r;
            }
            if (o->open_pos[s] == end && !fsgd_order_open(o, s)) {
                /* no chunk left to open: pour what the open chunks still
                 * hold into the tail */
                for (int k = 0; k < o->n_open; k++)
                    for (int64_t r = o->open_pos[k]; r < o->open_end[k]; r++)
                        o->tail[o->tail_len++] = r;
                fsgd_shuffle_i64(o->tail, o->tail_len, &rng);
                o->n_open = 0;
            }
        }
        o->rng = rng;
        return len;
    }
    while (len < FSGD_BUFFER_ROWS && o->pos < o->n) {
        int64_t r = o->kind == FSGD_ORDER_PERMUTATION ? o->perm[o->pos] : o->pos;
        o->pos++;
        if (!o->skip || !o->skip[r]) buf[len++] = r;
    }
    return len;
}

#endif
