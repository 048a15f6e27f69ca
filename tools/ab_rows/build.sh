#!/bin/sh
# build.sh ADIR BDIR [OUT]: the A/B harness (harness.c) with build A's row pipelines
# from ADIR/src/logsoftmax_c and build B's from BDIR/src/logsoftmax_c (two checkouts,
# e.g. one from `git worktree add`), both with setup.py's flags for the avx2 variant,
# into OUT (default ./ab_rows).  Needs an x86-64 CPU with AVX2 and FMA to run.
set -e
if [ $# -lt 2 ]; then
    echo "usage: $0 ADIR BDIR [OUT]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=${3:-./ab_rows}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-gcc}
flags="-O3 -funroll-loops -fno-math-errno -fno-trapping-math -fwrapv -march=x86-64-v3 -mtune=generic -DLSC_HAVE_OPENMP=0"
$cc $flags -I"$1/src/logsoftmax_c" -DWRAP=rowsA -DWRAPL=lseA -c "$here/wrap.c" -o "$tmp/a.o" &
$cc $flags -I"$2/src/logsoftmax_c" -DWRAP=rowsB -DWRAPL=lseB -c "$here/wrap.c" -o "$tmp/b.o" &
$cc -O2 -c "$here/harness.c" -o "$tmp/h.o"
wait
$cc "$tmp/h.o" "$tmp/a.o" "$tmp/b.o" -o "$out" -lm
