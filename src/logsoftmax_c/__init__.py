"""logsoftmax_c: fast, accurate log-softmax for NumPy arrays.

Cython kernels over OpenMP threads, compiled for several instruction sets and chosen
at import.  ``python -m logsoftmax_c`` shows the build and checks it.
"""
from ._api import log_softmax, logsumexp, softmax
from ._info import show_runtime

__version__ = "0.1.0"
__all__ = ["log_softmax", "softmax", "logsumexp", "show_runtime", "__version__"]
