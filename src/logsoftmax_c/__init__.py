"""logsoftmax_c: fast, accurate log-softmax for NumPy arrays.

Cython kernels over OpenMP threads, compiled for several instruction sets and chosen
at import.  ``python -m logsoftmax_c`` shows the build and checks it.
"""
from ._api import log_softmax, logsumexp, set_output_cache, softmax
from ._info import show_runtime
from ._losses import cross_entropy, log_softmax_backward, nll_loss, softmax_backward
from .nodes import CrossEntropyLoss, LogSoftmax, NLLLoss, Softmax

__version__ = "0.1.0"
__all__ = ["log_softmax", "softmax", "logsumexp", "log_softmax_backward",
           "softmax_backward", "nll_loss", "cross_entropy", "LogSoftmax", "Softmax",
           "NLLLoss", "CrossEntropyLoss", "set_output_cache", "show_runtime",
           "__version__"]
