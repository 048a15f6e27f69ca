/* One build's row pipelines under the names WRAP (log_softmax) and WRAPL (logsumexp),
   compiled with that build's headers (see build.sh). */
#include <stddef.h>
#include <stdint.h>

#include "lsc_kernels.h"

void WRAP(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t syr, ptrdiff_t n, ptrdiff_t nr,
          int pf, int stream)
{
    lsc_log_softmax_rows_f32(x, sxr, y, syr, n, nr, pf, stream);
}

void WRAPL(const char *x, ptrdiff_t sxr, char *y, ptrdiff_t n, ptrdiff_t nr, int pf)
{
    lsc_logsumexp_rows_f32(x, sxr, y, (ptrdiff_t)sizeof(float), n, nr, pf);
}
