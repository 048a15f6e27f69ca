"""The bench tool's command line: the family functions, case selection, JSON output.
Timings are not checked (speed is shown by the benchmarks themselves)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from logsoftmax_c import _bench

QUICK = ["--threads", "1", "--rounds", "1", "--min-time", "0.001"]


def _bench_cli(*args):
    return subprocess.run([sys.executable, "-m", "logsoftmax_c", "bench", *args],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_family_cases_cover_every_function_and_shape():
    funcs = {c.func for c in _bench.FAMILY_CASES}
    assert funcs == set(_bench.FAMILY_FUNCS)
    assert len(_bench.FAMILY_CASES) == (
        len(_bench.FAMILY_FUNCS) * len(_bench.FAMILY_SHAPES)
        + len(_bench.FAMILY_COLUMN_FUNCS) * len(_bench.FAMILY_COLUMN_SHAPES))
    assert {(c.func, c.axis) for c in _bench.FAMILY_CASES if c.axis == 0} == {
        (f, 0) for f in _bench.FAMILY_COLUMN_FUNCS}
    assert _bench.cases_for(["log_softmax"]) == _bench.CASES
    labels = [c.label for c in _bench.ALL_CASES]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize("func", _bench.FUNCS)
def test_ours_agrees_with_the_numpy_twin_for_every_function(func):
    """What the bench times is the function it names: ours against the twin (or, for
    the losses, against the reference formulas), on a small case."""
    from logsoftmax_c import reference
    case = _bench.Case((16, 70), -1, "float64", func)
    data = case.make_data()
    ours = _bench.Ours()
    got = ours.as_array(ours.setup_func(func, data, -1, 1)())
    twin = _bench.NumPyRef().setup_func(func, data, -1, None)
    if twin is not None:
        want = np.asarray(twin())
    elif func == "cross_entropy":
        want = np.asarray(reference.cross_entropy(data["x"], data["target"], -1))
    else:
        want = reference.cross_entropy_grad(data["x"], data["target"], -1)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_funcs_option_runs_the_family_and_writes_json(tmp_path):
    out = tmp_path / "b.json"
    r = _bench_cli("--funcs", "softmax,cross_entropy_grad", "--cases", "1024x1000",
                   "--peers", "numpy", "--json", str(out), *QUICK)
    assert r.returncode == 0, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines() if line.startswith("| ")]
    # past the header; " [3]" marks a case during which other processes were busy
    labels = {cells[2].strip().removesuffix(" [3]") for cells in rows[1:]}
    assert labels == {f"{f} 1024x1000 ax-1 {d}" for f in ("softmax", "cross_entropy_grad")
                      for d in ("f32", "f64")}
    doc = json.loads(out.read_text())
    funcs = {c["case"]["function"] for c in doc["cases"]}
    assert funcs == {"softmax", "cross_entropy_grad"}
    for case in doc["cases"]:
        ours = [s for s in case["results"] if s["contender"] == "ours"]
        assert ours and ours[0]["median_s"] > 0


def test_spread_option_scales_the_scores():
    """--spread S: the inputs are a standard normal times S (4 by default), and the
    labels say so; the "#" stays that of the goal list."""
    assert _bench.Case((64, 1000), -1, "float32").make_input().std() == pytest.approx(
        4, rel=0.03)
    case = _bench.Case((64, 1000), -1, "float64", spread=16.0)
    assert case.make_input().std() == pytest.approx(16, rel=0.03)
    assert case.label == "64x1000 ax-1 f64 spread 16"
    r = _bench_cli("--cases", "1,8", "--spread", "16", "--list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "8"]
    assert all("spread 16" in line for line in lines)
    r = _bench_cli("--spread", "0", "--list")
    assert r.returncode == 2 and "--spread" in r.stderr


def test_list_and_selection():
    r = _bench_cli("--funcs", "all", "--list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(_bench.ALL_CASES)
    r = _bench_cli("--funcs", "logsumexp", "--cases", "f64", "--list")
    assert r.returncode == 0 and r.stdout.strip().splitlines() == [
        line for line in lines if "logsumexp" in line and "f64" in line]


def test_shape_option_runs_the_shapes_given():
    """--shape replaces the goal list with the shapes given (axis -1 and float32 by
    default), for every function of --funcs; --cases then picks among them."""
    r = _bench_cli("--shape", "1024x1004", "--shape", "16x81x256:1:float64",
                   "--funcs", "log_softmax,softmax", "--list")
    assert r.returncode == 0, r.stderr
    labels = [line.split(None, 1)[1].rsplit(None, 2)[0].strip()
              for line in r.stdout.strip().splitlines()]
    assert labels == ["1024x1004 ax-1 f32", "16x81x256 ax1 f64",
                      "softmax 1024x1004 ax-1 f32", "softmax 16x81x256 ax1 f64"]
    r = _bench_cli("--shape", "1024x1004", "--shape", "16x81x256:1:float64",
                   "--cases", "f64", "--list")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 1
    r = _bench_cli("--shape", "64x70::float16", "--peers", "numpy", *QUICK)
    assert r.returncode == 0, r.stderr
    assert "| 64x70 ax-1 f16 " in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--shape", "10x10:2"], "out of bounds"),
    (["--shape", "ten"], "expected a shape"),
    (["--shape", "4x0"], ">= 1"),
    (["--shape", "4x4:-1:int8"], "dtype must be"),
    (["--funcs", "nope"], "unknown function"),
    (["--cases", "nosuchcase"], "neither"),
    (["--peers", "nope"], "unknown peer"),
    (["--threads", "0"], ">= 1"),
])
def test_bad_arguments_exit_2_with_a_message(args, message):
    r = _bench_cli(*args, "--list")
    assert r.returncode == 2
    assert message in r.stderr
