/* The per-instruction-set builds of sgd_kernels.c (see there). */
#ifndef FASTSGD_KERNELS_H
#define FASTSGD_KERNELS_H

#include "fastsgd.h"

#define FSGD_ISA_CAT_(a, b) a##_##b
#define FSGD_ISA_CAT(a, b) FSGD_ISA_CAT_(a, b)
#define FSGD_ISA_NAME(name) FSGD_ISA_CAT(name, FSGD_ISA)

typedef int (*fsgd_fit_problem_fn)(const fsgd_data *, const fsgd_params *, fsgd_problem *, int,
                                   fsgd_progress_fn, void *);

int fsgd_fit_problem_base(const fsgd_data *, const fsgd_params *, fsgd_problem *, int,
                          fsgd_progress_fn, void *);
int fsgd_fit_problem_v3(const fsgd_data *, const fsgd_params *, fsgd_problem *, int,
                        fsgd_progress_fn, void *);
int fsgd_fit_problem_v4(const fsgd_data *, const fsgd_params *, fsgd_problem *, int,
                        fsgd_progress_fn, void *);

#endif
