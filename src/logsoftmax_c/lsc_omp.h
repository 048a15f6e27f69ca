/* OpenMP where the build has it; a serial stand-in where it does not. */
#ifndef LSC_OMP_H
#define LSC_OMP_H
#if defined(_OPENMP)
#include <omp.h>
static int lsc_omp_max_threads(void) { return omp_get_max_threads(); }
#else
static int lsc_omp_max_threads(void) { return 1; }
#endif
#endif
