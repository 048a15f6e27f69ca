"""Pick the kernel build for this CPU.

The kernels are compiled once per instruction-set level (see setup.py).  At import
the best level that was built and that the CPU runs is chosen; the environment
variable LOGSOFTMAX_C_ISA (``baseline``, ``avx2``, ``avx512``) picks a lower one,
for testing and for comparing builds.
"""
import importlib
import os

from . import _entry, _kernels_baseline, _outbuf, _threads

ISA_ENV = "LOGSOFTMAX_C_ISA"
LEVELS = ("baseline", "avx2", "avx512")


def _load(name):
    try:
        module = importlib.import_module(f"{__package__}._kernels_{name}")
    except ImportError:
        return None
    # the direct calls past the small ones take the argument layer's thread count and
    # fresh outputs (_api: threads_for, empty_like)
    module.set_call_helpers(_threads.threads_for, _outbuf.empty_like, _outbuf.MIN_BYTES)
    return module


def available_isas():
    """The kernel builds that are installed and that this CPU can run, lowest first."""
    cpu = _kernels_baseline.cpu_level()
    names = []
    for level, name in enumerate(LEVELS):
        if level <= cpu and _load(name) is not None:
            names.append(name)
    return tuple(names)


def _initial():
    names = available_isas()
    wanted = os.environ.get(ISA_ENV, "").strip().lower()
    if not wanted:
        return names[-1]
    if wanted not in LEVELS:
        raise ImportError(f"{ISA_ENV}={wanted!r}: expected one of {', '.join(LEVELS)}")
    if wanted not in names:
        raise ImportError(f"{ISA_ENV}={wanted!r}: this build or CPU offers only "
                          f"{', '.join(names)}")
    return wanted


kernels = _load(_initial())
# the compiled public functions
_entry.use_kernels(kernels.DIRECT_CALL, kernels.BACKWARD_CALL, kernels.LOSS_CALL)


def current_isa():
    return kernels.ISA


def set_isa(name):
    """Switch the kernel build used by every function; returns the previous name."""
    global kernels
    if name not in available_isas():
        raise ValueError(f"ISA {name!r} is not available here; choose from "
                         f"{', '.join(available_isas())}")
    previous = kernels.ISA
    kernels = _load(name)
    _entry.use_kernels(kernels.DIRECT_CALL, kernels.BACKWARD_CALL, kernels.LOSS_CALL)
    return previous
