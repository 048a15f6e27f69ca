"""Where one log_softmax case spends its time: a clock-sampled profile of the kernels.

    python tools/profile_case.py SHAPE AXIS DTYPE [--threads T] [--calls N] [--top K]

e.g. ``python tools/profile_case.py 4096x4096 0 float32``.  Runs ``log_softmax`` on a
logits-like input (a standard normal times 4, as the bench's) into a preallocated
output, N times with T threads, under ``perf record -e cpu-clock`` (which needs no
hardware counters: virtual machines without a PMU still sample by the clock), then
prints the share of the samples of each function of the kernel module, and for the
busiest function its hottest instructions, and its samples by 256-byte ranges of
code (a loop is usually one or two ranges).  A sample is charged to the instruction
that retires after the wait, so a load from memory shows its cost on the instruction
that uses it first.  Needs Linux ``perf``; x86-64 or aarch64.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter

RUN = r"""
import sys, numpy as np
import logsoftmax_c as lsc
shape = tuple(int(s) for s in sys.argv[1].split("x"))
x = (np.random.default_rng(0).standard_normal(shape) * 4).astype(sys.argv[3])
out = np.empty_like(x)
for _ in range(int(sys.argv[4])):
    lsc.log_softmax(x, axis=int(sys.argv[2]), out=out, num_threads=int(sys.argv[5]))
"""


def _perf(args, **kw):
    return subprocess.run(["perf"] + args, capture_output=True, text=True, check=True, **kw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shape")
    ap.add_argument("axis", type=int)
    ap.add_argument("dtype", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calls", type=int, default=0,
                    help="calls to profile (default: about 2 s of them)")
    ap.add_argument("--top", type=int, default=25, help="hottest instructions shown")
    a = ap.parse_args(argv)
    n = 1
    for s in a.shape.split("x"):
        n *= int(s)
    calls = a.calls or max(20, int(2e9 / (n * 2)))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        script = os.path.join(tmp, "run.py")
        with open(script, "w") as f:
            f.write(RUN)
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        try:
            subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o",
                            data, sys.executable, script, a.shape, str(a.axis), a.dtype,
                            str(calls), str(a.threads)], env=env, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"perf record failed ({e}): this needs Linux perf, and sampling allowed "
                  "(/proc/sys/kernel/perf_event_paranoid at most 2)", file=sys.stderr)
            return 2
        rep = _perf(["report", "-i", data, "--stdio", "--sort", "dso,symbol"]).stdout
        rows = []
        for line in rep.splitlines():
            p = line.split()
            if len(p) >= 4 and p[0].endswith("%") and "_kernels_" in p[1] and p[2] == "[.]":
                rows.append((float(p[0][:-1]), p[3]))
        if not rows:
            print("no samples in the kernel module")
            return 1
        total = sum(share for share, _ in rows)
        print(f"{a.shape} axis {a.axis} {a.dtype}, {a.threads} thread(s), {calls} calls: "
              f"the kernel module's functions ({total:.1f}% of the process's samples; "
              "the rest is mostly making the input)")
        for share, sym in rows[:8]:
            if share >= 0.005 * total:
                print(f"  {100 * share / total:6.2f}%  {sym}")
        top = rows[0][1]
        ann = _perf(["annotate", "-i", data, "--stdio", "-s", top]).stdout
        ins = []
        for line in ann.splitlines():
            p = line.split(":", 2)
            if len(p) == 3:
                try:
                    pct, addr = float(p[0]), int(p[1].strip(), 16)
                except ValueError:
                    continue
                ins.append((pct, addr, p[2].strip()))
        ranges = Counter()
        for pct, addr, _ in ins:
            ranges[addr // 256 * 256] += pct
        print(f"\n{top}: samples by 256-byte range of code (of the function's)")
        for addr, pct in sorted(ranges.items()):
            if pct >= 1.0:
                print(f"  {addr:#x}  {pct:6.2f}%")
        print(f"\n{top}: the {a.top} hottest instructions (of the function's samples)")
        for pct, addr, text in sorted(ins, reverse=True)[:a.top]:
            print(f"  {pct:6.2f}%  {addr:#x}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
