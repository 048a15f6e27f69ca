"""Build script: Cython extensions, OpenMP detection and per-ISA kernel variants.

The kernels are one source (``_kernels.pxi`` + ``lsc_kernels.h``) compiled once per
instruction-set level; ``logsoftmax_c._dispatch`` picks the best one the CPU supports
at import.  OpenMP is used where the compiler supports it; otherwise the build is
serial and says so.
"""
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PKG = "src/logsoftmax_c"

# Every variant gets these.  No -ffast-math (it breaks inf/nan handling) and no
# -march=native (the build must run on any CPU of the architecture).
# -fno-trapping-math (nothing here unmasks FP traps) lets gcc if-convert the
# selects in the exp and sum loops; it does not change any inf/nan result.
# -funroll-loops: the exp loops are latency-bound without several vectors in flight.
BASE_CFLAGS = ["-O3", "-funroll-loops", "-fno-math-errno", "-fno-trapping-math",
               "-fno-semantic-interposition"]

# name -> extra flags; only x86-64 gets the higher levels.
X86_VARIANTS = {
    "baseline": [],
    "avx2": ["-march=x86-64-v3", "-mtune=generic"],
    "avx512": ["-march=x86-64-v4", "-mtune=generic", "-mprefer-vector-width=512"],
}


def _log(msg):
    print(f"logsoftmax_c build: {msg}", file=sys.stderr, flush=True)


def _compiles(cc, flags, code, link=False):
    """True when `cc` accepts `flags` for `code` (like scikit-learn's OpenMP check)."""
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write(textwrap.dedent(code))
        out = os.path.join(tmp, "t.out" if link else "t.o")
        cmd = [*cc, *flags, src, "-o", out] + ([] if link else ["-c"])
        return subprocess.run(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


OPENMP_TEST = """
#include <omp.h>
#include <stdio.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    printf("%d %d\\n", n, omp_get_max_threads());
    return 0;
}
"""


class BuildExt(build_ext):
    """Adds OpenMP flags when the compiler supports them, and drops ISA variants it can't build."""

    def build_extensions(self):
        cc = list(self.compiler.compiler_so[:1])
        force_serial = os.environ.get("LOGSOFTMAX_C_NO_OPENMP", "") not in ("", "0")
        if force_serial:
            openmp = False
            _log("OpenMP disabled by LOGSOFTMAX_C_NO_OPENMP: building SERIAL kernels")
        else:
            openmp = _compiles(cc, ["-fopenmp"], OPENMP_TEST, link=True)
            if openmp:
                _log(f"OpenMP supported by {cc[0]}: building parallel kernels")
            else:
                _log("*" * 72)
                _log(f"OpenMP NOT supported by {cc[0]}: building SERIAL kernels.")
                _log("Install a compiler with OpenMP (gcc, or clang with libomp) for threads.")
                _log("*" * 72)
        simd_pragma = _compiles(cc, ["-fopenmp-simd"], "int main(void){return 0;}")
        kept = []
        for ext in self.extensions:
            flags = _isa_flags(ext.name)
            if flags and not _compiles(cc, flags, "int main(void){return 0;}"):
                _log(f"{cc[0]} does not accept {' '.join(flags)}: skipping {ext.name}")
                continue
            ext.extra_compile_args = BASE_CFLAGS + flags + list(ext.extra_compile_args)
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args = list(ext.extra_link_args) + ["-fopenmp"]
            elif simd_pragma:
                ext.extra_compile_args.append("-fopenmp-simd")
            ext.define_macros = list(ext.define_macros) + [("LSC_HAVE_OPENMP", "1" if openmp else "0")]
            kept.append(ext)
        self.extensions = kept
        super().build_extensions()


def _is_x86_64():
    return platform.machine().lower() in ("x86_64", "amd64", "x86-64")


def extensions():
    common = dict(
        include_dirs=[np.get_include(), PKG],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        depends=[f"{PKG}/lsc_kernels.h", f"{PKG}/lsc_kernels_impl.h", f"{PKG}/lsc_math.h",
                 f"{PKG}/lsc_simd.h", f"{PKG}/_kernels.pxi", f"{PKG}/lsc_omp.h",
                 f"{PKG}/lsc_cols_onepass.h"],
    )
    variants = X86_VARIANTS if _is_x86_64() else {"baseline": []}
    exts = []
    for name in variants:
        exts.append(Extension(f"logsoftmax_c._kernels_{name}",
                              [f"{PKG}/_kernels_{name}.pyx"], **common))
    exts.append(Extension("logsoftmax_c._threads", [f"{PKG}/_threads.pyx"], **common))
    exts.append(Extension("logsoftmax_c._outbuf", [f"{PKG}/_outbuf.pyx"], **common))
    exts.append(Extension("logsoftmax_c._entry", [f"{PKG}/_entry.pyx"], **common))
    return exts


def _isa_flags(ext_name):
    prefix = "logsoftmax_c._kernels_"
    if _is_x86_64() and ext_name.startswith(prefix):
        return X86_VARIANTS[ext_name[len(prefix):]]
    return []


setup(
    ext_modules=cythonize(
        extensions(),
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
    cmdclass={"build_ext": BuildExt},
)
