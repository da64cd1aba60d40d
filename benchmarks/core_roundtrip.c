/*
 * How long one cache line takes to go from core 0 to core 1 and back: two
 * threads pinned to CPUs 0 and 1 hand a counter back and forth 2,000,000
 * times.  Not part of the package: it tells which of two states a virtual
 * machine is in when the batch engine's two-thread timings change from run to
 * run.  On this project's 2-core VM (AMD EPYC) the round trip is either about
 * 60 ns (the two virtual CPUs share a last-level cache) or 400-500 ns (they do
 * not), and it flips between the two every few minutes; the float32 Adam
 * epoch with n_jobs=2 follows it (benchmarks/README.md).  Linux only:
 *
 *   gcc -O2 -pthread benchmarks/core_roundtrip.c -o /tmp/core_roundtrip
 *   /tmp/core_roundtrip
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { ROUNDS = 2000000 };

static _Atomic long counter __attribute__((aligned(64)));

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* core 1: waits for each odd value and answers with the next even one */
static void *answer(void *arg)
{
    (void)arg;
    pin(1);
    for (long i = 0; i < ROUNDS; i++) {
        while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * i + 1) {
        }
        atomic_store_explicit(&counter, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(void)
{
    pthread_t other;
    if (pin(0) != 0) {
        fprintf(stderr, "cannot pin to CPU 0\n");
        return 1;
    }
    atomic_store(&counter, 0);
    if (pthread_create(&other, NULL, answer, NULL) != 0) return 1;
    double t = now();
    for (long i = 0; i < ROUNDS; i++) {
        atomic_store_explicit(&counter, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * i + 2) {
        }
    }
    t = now() - t;
    pthread_join(other, NULL);
    printf("CPU 0 -> CPU 1 -> CPU 0: %.1f ns per round trip\n", t / ROUNDS * 1e9);
    return 0;
}
