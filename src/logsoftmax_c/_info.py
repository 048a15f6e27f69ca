"""What this build is and what it runs: version, OpenMP, threads, instruction set."""
import platform

import numpy as np

from . import _dispatch, _outbuf, _threads


def runtime_info():
    return {
        "version": __import__(__package__).__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "openmp": _threads.OPENMP,
        "default_threads": _threads.default_threads(),
        "usable_cpus": _threads.usable_cpus(),
        "isa": _dispatch.current_isa(),
        "isas_available": list(_dispatch.available_isas()),
        "isa_env": _dispatch.ISA_ENV,
        "output_cache_bytes": _outbuf.cache_info()[0],
        "output_cache_env": _outbuf.ENV,
        "stream_bytes": _dispatch.kernels.stream_bytes(),
        "stream_team_bytes": _dispatch.kernels.stream_bytes(team=True),
    }


def show_runtime():
    """Print the build and runtime configuration (like numpy.show_runtime)."""
    info = runtime_info()
    omp = "on" if info["openmp"] else "OFF (serial build: the compiler had no OpenMP)"
    print(f"logsoftmax_c {info['version']}  (Python {info['python']}, NumPy {info['numpy']}, "
          f"{info['machine']})")
    print(f"  OpenMP            : {omp}")
    print(f"  threads (default) : {info['default_threads']}  "
          f"(usable CPUs {info['usable_cpus']}; OMP_NUM_THREADS and threadpoolctl apply)")
    print(f"  instruction set   : {info['isa']}  (built and supported: "
          f"{', '.join(info['isas_available'])}; override with {info['isa_env']})")
    print(f"  output cache      : {info['output_cache_bytes'] / 2**20:.0f} MiB of dead large "
          f"outputs kept for reuse (set_output_cache, {info['output_cache_env']})")
    print(f"  streamed outputs  : from {info['stream_bytes'] / 2**20:.0f} MiB "
          f"(written with non-temporal stores, past the caches; log_softmax's float32 "
          f"rows on more than one thread from {info['stream_team_bytes'] / 2**20:.0f} MiB)")
