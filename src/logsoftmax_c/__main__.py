"""``python -m logsoftmax_c``: show the build, check it, and time it.

    python -m logsoftmax_c            build info, self-check, small benchmark vs NumPy/SciPy
    python -m logsoftmax_c info       build info only
    python -m logsoftmax_c check      self-check only (exit status 1 on a failure)
    python -m logsoftmax_c bench ...  side-by-side benchmark with the peers (see --help)

The self-check compares log_softmax with the NumPy twin (``reference.py``) run in
long double, and fails with exit status 1.
"""
import argparse
import sys

import numpy as np

from . import _bench
from ._api import log_softmax
from ._info import runtime_info, show_runtime
from .reference import log_softmax as reference_log_softmax

# ---- self-check --------------------------------------------------------------------

# Allowed error of an element, in units of eps * max(1, |exact|): relative where
# |y| >= 1, absolute below (there the rounding of x - max alone, done in the input
# dtype, costs up to |x - max| ulps of a small y).  The dominant-class check holds
# the small end to a relative bound.
TOLERANCE = 8.0
# The dominant class of [30, 0, -1]: this close to -log1p(exp(-30) + exp(-31)), in ulps.
DOMINANT_ULPS = 8.0


def _exact(x, axis):
    """The twin in long double (where the platform has one wider than float64)."""
    return reference_log_softmax(x.astype(np.longdouble), axis=axis)


def _max_error(y, exact):
    """Largest element error in units of eps * max(1, |exact|); inf when the
    NaN / inf pattern differs."""
    eps = np.finfo(y.dtype).eps
    yl = y.astype(np.longdouble)
    finite = np.isfinite(yl) & np.isfinite(exact)
    same_special = (np.isnan(yl) & np.isnan(exact)) | (np.isinf(exact) & (yl == exact))
    if not np.all(finite | same_special):
        return float("inf")
    if not finite.any():
        return 0.0
    err = np.abs(yl[finite] - exact[finite]) / (eps * np.maximum(1, np.abs(exact[finite])))
    return float(err.max())


def _compare(x, axis=-1, **kwargs):
    """(passed, detail) for log_softmax(x, axis, **kwargs) against the exact twin."""
    y = log_softmax(x, axis, **kwargs)
    if y.shape != x.shape or y.dtype != x.dtype:
        return False, f"returned {y.dtype}{y.shape}"
    err = _max_error(y, _exact(x, axis))
    if err == float("inf"):
        return False, "NaN/inf pattern differs from the reference"
    return err <= TOLERANCE, f"max error {err:.2f}"


def _dominant(dtype):
    x = np.array([30, 0, -1], dtype=dtype)
    y = log_softmax(x)
    exact = -np.log1p(np.exp(np.longdouble(-30)) + np.exp(np.longdouble(-31)))
    ulps = float(abs(y[0] - exact) / np.spacing(np.abs(dtype(exact))))
    rest = _max_error(y, _exact(x, -1))
    ok = ulps <= DOMINANT_ULPS and rest <= TOLERANCE
    return ok, f"y[0] = {y[0]:.6g}, {ulps:.2f} ulp from -log1p(e^-30 + e^-31)"


def _nonfinite(dtype):
    nan, inf = np.nan, np.inf
    x = np.array([[1.0, nan, 2.0, 0.5],      # a NaN: the row is NaN
                  [1.0, inf, 2.0, 0.5],      # +inf: the row is NaN
                  [1.0, -inf, 2.0, -inf],    # -inf entries: -inf, the rest finite
                  [-inf, -inf, -inf, -inf],  # no finite maximum: NaN
                  [3.0, 1.0, -2.0, 0.0]], dtype=dtype)
    return _compare(x)


def self_check_list():
    """(label, function returning (passed, detail)) for each check."""
    rng = np.random.default_rng(1234)

    def rand(shape, dtype, order="C"):
        return np.asarray(rng.standard_normal(shape) * 4, dtype=dtype, order=order)

    checks = []
    for shape, dtype, axis in [((64, 10), np.float32, -1), ((64, 10), np.float64, -1),
                               ((3, 1000), np.float32, -1), ((3, 1000), np.float32, 0),
                               ((3, 1000), np.float64, -1), ((3, 1000), np.float64, 0)]:
        x = rand(shape, dtype)
        checks.append((f"random {shape} {np.dtype(dtype).name}, axis {axis}",
                       lambda x=x, axis=axis: _compare(x, axis)))
    for dtype, axis in [(np.float32, -1), (np.float64, 0)]:
        x = rand((120, 70), dtype, order="F")
        checks.append((f"Fortran-ordered (120, 70) {np.dtype(dtype).name}, axis {axis}",
                       lambda x=x, axis=axis: _compare(x, axis)))
    # the inputs above are too small for threads; these take the two parallel paths
    x = rand((2, 100_000), np.float32)
    checks.append(("2 threads, long rows (2, 100000) float32",
                   lambda x=x: _compare(x, -1, num_threads=2)))
    x = rand((500, 300), np.float64)
    checks.append(("2 threads, many rows (500, 300) float64",
                   lambda x=x: _compare(x, -1, num_threads=2)))
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        checks.append((f"dominant class [30, 0, -1] {name}", lambda d=dtype: _dominant(d)))
        checks.append((f"NaN / +inf / -inf rows {name}", lambda d=dtype: _nonfinite(d)))
    return checks


def self_check(stream=sys.stdout):
    """Run the checks, print PASS/FAIL per check; True when all pass."""
    wide = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
    print(f"Self-check against the reference twin in "
          f"{'long double' if wide else 'float64 (no wider long double here)'}; "
          f"error in units of eps * max(1, |y|), allowed {TOLERANCE:g}:", file=stream)
    checks = self_check_list()
    width = max(len(label) for label, _ in checks)
    failed = 0
    for label, fn in checks:
        try:
            ok, detail = fn()
        except Exception as exc:  # a check that crashes is a failure, not a traceback
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        failed += not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {label.ljust(width)}  {detail}", file=stream)
    if failed:
        print(f"{failed} of {len(checks)} checks FAILED.", file=stream)
    else:
        print(f"All {len(checks)} checks passed.", file=stream)
    return failed == 0


# ---- quick benchmark ---------------------------------------------------------------

QUICK_CASES = (_bench.Case((64, 10), -1, "float32"),
               _bench.Case((1024, 1000), -1, "float32"),
               _bench.Case((1024, 1000), -1, "float64"))


def quick_benchmark(stream=sys.stdout):
    """Ours (default threads) against NumPy and SciPy on three small cases."""
    contenders = [_bench.Ours(), _bench.NumPyRef()]
    scipy = _bench.SciPy()
    if scipy.available():
        contenders.append(scipy)
    peers = [c for c in contenders if c.peer]
    rounds = 5
    results = _bench.run(QUICK_CASES, contenders, [None], rounds=rounds, min_time=0.01)

    header = ["case", "ours"] + [c.name for c in peers]
    header += [f"speed-up vs {c.name}" for c in peers]
    rows = []
    for res in results:
        t = res.get("ours", None).median
        times = [res.get(c.key, None).median for c in peers]
        rows.append([res.case.label, _bench.fmt_time(t)]
                    + [_bench.fmt_time(p) for p in times]
                    + [_bench.fmt_ratio(p / t if p and t else None) for p in times])
    nthreads = runtime_info()["default_threads"]
    print(f"Benchmark (median of {rounds} rounds; ours with the default threads, up to "
          f"{nthreads}; NumPy = the reference twin"
          f"{'' if scipy in contenders else '; SciPy not installed'}):", file=stream)
    print(_bench.markdown_table(header, rows, ["l"] + ["r"] * (len(header) - 1)),
          file=stream)
    for res in results:
        for slot in res.slots:
            if slot.skipped:
                print(f"{slot.contender.name} on {res.case.label}: {slot.skipped}", file=stream)
    print("`python -m logsoftmax_c bench` compares with PyTorch, ONNX Runtime and JAX.",
          file=stream)


# ---- command line ------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m logsoftmax_c",
        description="Fast, accurate log-softmax for NumPy arrays.  Without a command: "
                    "show the build, run the self-check and a small benchmark "
                    "(exit status 1 if a check fails).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("info", help="show the build and runtime configuration",
                   description="Show version, OpenMP, default threads and the "
                               "instruction set in use.")
    sub.add_parser("check", help="run the self-check only",
                   description="Compare log_softmax with the long-double reference twin; "
                               "exit status 1 if a check fails.")
    bench = sub.add_parser(
        "bench", help="side-by-side benchmark with NumPy, SciPy, PyTorch, ORT and JAX",
        description=_bench.__doc__.split("\n\n", 1)[1].strip().replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _bench.add_arguments(bench)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "info":
        show_runtime()
        return 0
    if args.command == "check":
        return 0 if self_check() else 1
    if args.command == "bench":
        return _bench.main(args)
    show_runtime()
    print()
    ok = self_check()
    print()
    quick_benchmark()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
