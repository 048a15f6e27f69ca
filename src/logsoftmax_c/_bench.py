"""Side-by-side benchmark: ``python -m logsoftmax_c bench``.

Our ``log_softmax`` against NumPy (the reference twin), SciPy, PyTorch, ONNX Runtime
and JAX, each only when installed, plus a copy baseline: ``np.copyto`` into a
preallocated array reads the input once and writes the output once, as log-softmax
must, so its time is the memory-bandwidth floor.

Method.  All contenders run interleaved in one process, so that a drift of the
machine (frequency, other load) hits them alike.  For each case every contender is
warmed up (JIT compilation and session creation are not timed) and given an inner
loop of n calls long enough that one timing takes at least ``--min-time``.  Then R
rounds each time every contender once (mean time per call over its inner loop), in
an order rotated from round to round; a contender's result is the median over rounds.
Before each timing the process sleeps until its threads are idle: thread pools spin
for a while after their work (ONNX Runtime's for ~50 ms), which would otherwise slow
the next contender.  Then the contender runs untimed for at least 50 ms (``WARM_S``),
so that every timing starts with the core's clock up and the caches holding the
contender's own arrays: after an idle pause of 50 ms to 1 s, a core here took 50-60
ms of work to come back to full speed, and the first calls of 2048x8192 float64 on 1
thread took 1.2-1.5 times as long as the later ones (the slot after the contenders
whose pools spin longest, waiting longest, came out up to 1.3 times slower in every
round).  CPU time used by other processes is watched and reported.
Single-threaded contenders (NumPy, SciPy, the copy) and JAX (whose thread pool is
fixed at import) are measured once per round and shown in every thread row.

Nothing is imported from the peers until a benchmark runs.
"""
import argparse
import datetime
import functools
import gc
import importlib
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

# NumPy and SciPy are skipped on inputs above this size unless --slow.
SLOW_LIMIT_BYTES = 64 * 2**20
# Untimed calls of a contender right before each of its timings (see the docstring).
WARM_S = 0.05
# The project's goal: our time / min(torch, ORT) time at most this.
GOAL_RATIO = 0.8
# Cases during which other processes kept more CPUs than this busy are flagged.
OTHER_LOAD_WARN = 0.2
# The inputs' scores: a standard normal times this (--spread)
DEFAULT_SPREAD = 4.0


# ---- cases -------------------------------------------------------------------------

_DTYPE_ABBREV = {"float16": "f16", "float32": "f32", "float64": "f64"}


@dataclass(frozen=True)
class Case:
    shape: tuple
    axis: int
    dtype: str
    func: str = "log_softmax"
    spread: float = DEFAULT_SPREAD

    @property
    def label(self):
        dims = "x".join(str(d) for d in self.shape)
        text = f"{dims} ax{self.axis} {_DTYPE_ABBREV.get(self.dtype, self.dtype)}"
        if self.spread != DEFAULT_SPREAD:
            text += f" spread {self.spread:g}"
        return text if self.func == "log_softmax" else f"{self.func} {text}"

    @property
    def goal(self):
        """Our time / the best peer's at most this: 0.8 for log_softmax (against
        PyTorch and ONNX Runtime), 1 for the rest of the family (against PyTorch)."""
        return GOAL_RATIO if self.func == "log_softmax" else 1.0

    @property
    def nbytes(self):
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def make_input(self, seed=0):
        """Logits-like data: normal with a spread of 4 (the case's spread), so exp
        covers a wide range; from 16 on, rows reach below the smallest normal exp."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.shape, dtype=np.float32) * np.float32(self.spread)
        return x.astype(self.dtype, copy=False)

    def make_data(self, seed=0):
        """What the case's function takes: logits x, and for the gradients and losses
        a gradient g, the forward output y and class-index targets."""
        x = self.make_input(seed)
        data = {"x": x}
        if self.func in ("log_softmax_backward", "softmax_backward"):
            from ._api import log_softmax, softmax
            fwd = log_softmax if self.func == "log_softmax_backward" else softmax
            data["y"] = fwd(x, self.axis)
            rng = np.random.default_rng(seed + 1)
            data["g"] = rng.standard_normal(self.shape, dtype=np.float32).astype(self.dtype)
        elif self.func.startswith("cross_entropy"):
            rng = np.random.default_rng(seed + 1)
            batch = self.shape[:self.axis % len(self.shape)] + \
                self.shape[self.axis % len(self.shape) + 1:]
            data["target"] = rng.integers(0, self.shape[self.axis], batch)
        return data

    def to_json(self):
        return {"label": self.label, "function": self.func, "shape": list(self.shape),
                "axis": self.axis, "dtype": self.dtype, "spread": self.spread,
                "nbytes": self.nbytes}


# The project's goal list.
CASES = (
    Case((64, 10), -1, "float32"),
    Case((1024, 1000), -1, "float32"),
    Case((8, 128256), -1, "float32"),
    Case((4096, 4096), -1, "float32"),
    Case((2048, 32000), -1, "float32"),
    Case((32, 81, 8732), 1, "float32"),
    Case((1024, 1000), -1, "float64"),
    Case((1, 1000000), -1, "float32"),
    Case((16, 384, 384), -1, "float32"),
    Case((4096, 4096), 0, "float32"),
    Case((2048, 8192), -1, "float64"),
    # (the bandwidth goal's float64 inputs of 64 MB and more along axis 0 and a middle
    # axis)
    Case((4096, 2048), 0, "float64"),
    Case((32, 81, 4366), 1, "float64"),
)


# The rest of the family, against PyTorch: `--funcs`.
FAMILY_FUNCS = ("softmax", "logsumexp", "log_softmax_backward", "softmax_backward",
                "cross_entropy", "cross_entropy_grad")
FUNCS = ("log_softmax",) + FAMILY_FUNCS
FAMILY_SHAPES = (((1024, 1000), "float32"), ((2048, 32000), "float32"),
                 ((1024, 1000), "float64"))
# softmax and logsumexp along axis 0 too (the column kernels)
FAMILY_COLUMN_FUNCS = ("softmax", "logsumexp")
FAMILY_COLUMN_SHAPES = (((4096, 4096), "float32"), ((4096, 2048), "float64"))
FAMILY_CASES = tuple(
    case for func in FAMILY_FUNCS
    for case in ([Case(shape, -1, dtype, func) for shape, dtype in FAMILY_SHAPES]
                 + [Case(shape, 0, dtype, func) for shape, dtype in FAMILY_COLUMN_SHAPES
                    if func in FAMILY_COLUMN_FUNCS]))


ALL_CASES = CASES + FAMILY_CASES


def cases_for(funcs):
    """The cases of the functions `funcs`, log_softmax's goal list first."""
    return tuple(c for c in ALL_CASES if c.func in funcs)


def select_cases(spec, cases=CASES):
    """Cases of `cases` picked by a comma-separated list of indices and label substrings.

    A number picks the case of that index in ALL_CASES (the "#" of the table and of
    --list: "3"); any other token picks the cases whose label contains it ("4096",
    "f64", "ax0", "softmax").
    """
    if not spec:
        return list(cases)
    picked = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token.isdigit() and int(token) < len(ALL_CASES) and ALL_CASES[int(token)] in cases:
            matches = [ALL_CASES[int(token)]]
        else:
            matches = [c for c in cases if token in c.label]
            if not matches:
                raise ValueError(f"{token!r} is neither the index of a selected case nor "
                                 "part of a case label (--list shows them)")
        picked += [c for c in matches if c not in picked]
    order = {c: i for i, c in enumerate(ALL_CASES + tuple(c for c in cases
                                                          if c not in ALL_CASES))}
    return sorted(picked, key=order.__getitem__)


def _case_index(case):
    """The case's index in ALL_CASES (the "#" of the table; whatever its spread), or "-"
    for a --shape case."""
    case = replace(case, spread=DEFAULT_SPREAD)
    return ALL_CASES.index(case) if case in ALL_CASES else "-"


# ---- contenders --------------------------------------------------------------------

# How a contender relates to the thread counts being compared.
PER_THREADS = "per-threads"   # runs with each thread count k
SINGLE = "single"             # always one thread: measured once, shown in every row
OWN_POOL = "own-pool"         # its own pool, fixed at import: measured once


class Contender:
    """One implementation under test.

    Subclasses set `key` (the name --peers uses), `name` (the column header) and
    `threading`, and implement `setup`.  `available` imports what the contender
    needs, so nothing is imported before a benchmark asks for it.
    """
    key = ""
    name = ""
    threading = PER_THREADS
    peer = True        # a peer: the table shows our speed-up over it
    slow = False       # skipped on inputs above SLOW_LIMIT_BYTES unless --slow
    checked = True     # its result is compared with ours after the warm-up
    unavailable_reason = None

    def available(self):
        """True when the contender can run here; else sets `unavailable_reason`."""
        return True

    def version(self):
        return None

    def setup(self, x, axis, threads):
        """A callable of no arguments that computes log_softmax(x, axis) once.

        `threads` is an int for PER_THREADS contenders (None: the library default),
        None for the others.  Everything costly and one-off (compilation, sessions,
        transfers) happens here, not in the callable.
        """
        raise NotImplementedError

    def setup_func(self, func, data, axis, threads):
        """As `setup`, for the function `func` of FUNCS on `data` (Case.make_data);
        None when this contender has no such function."""
        if func == "log_softmax":
            return self.setup(data["x"], axis, threads)
        return None

    def activate(self, threads):
        """Make process-wide state (a thread pool size) match `threads` before a timing."""

    def teardown(self):
        """Release the case's resources and restore process-wide state."""

    def as_array(self, result):
        return np.asarray(result)


def _try_import(contender, *modules):
    """Import `modules` for `contender`; record why not when one is missing."""
    try:
        return [importlib.import_module(m) for m in modules]
    except ModuleNotFoundError as exc:
        contender.unavailable_reason = f"{exc.name or exc} is not installed"
        return None
    except Exception as exc:  # a broken install can raise anything
        contender.unavailable_reason = f"{type(exc).__name__}: {exc}"
        return None


class Ours(Contender):
    key = "ours"
    name = "ours"
    peer = False

    def __init__(self, out=False):
        self.out = out
        if out:
            self.key, self.name = "ours_out", "ours out="

    def version(self):
        return importlib.import_module(__package__).__version__

    def setup(self, x, axis, threads):
        from ._api import log_softmax
        if self.out:
            return functools.partial(log_softmax, x, axis, out=np.empty_like(x),
                                     num_threads=threads)
        return functools.partial(log_softmax, x, axis, num_threads=threads)

    def setup_func(self, func, data, axis, threads):
        if func == "log_softmax":
            return self.setup(data["x"], axis, threads)
        import logsoftmax_c as lsc
        x = data["x"]
        out = {"out": np.empty_like(x)} if self.out else {}
        if func in ("softmax", "logsumexp"):
            if self.out and func == "logsumexp":
                out = {"out": np.empty(np.delete(x.shape, axis), x.dtype)}
            return functools.partial(getattr(lsc, func), x, axis, num_threads=threads,
                                     **out)
        if func.endswith("_backward"):
            return functools.partial(getattr(lsc, func), data["g"], data["y"], axis,
                                     num_threads=threads, **out)
        if self.out:
            return None  # the losses have no out=
        return functools.partial(lsc.cross_entropy, x, data["target"], axis=axis,
                                 return_grad=func == "cross_entropy_grad",
                                 num_threads=threads)

    def as_array(self, result):
        if isinstance(result, tuple):  # cross_entropy(return_grad=True): the gradient
            return np.asarray(result[1])
        return np.asarray(result)


class Copy(Contender):
    key = "copy"
    name = "copy"
    threading = SINGLE
    peer = False
    checked = False

    def version(self):
        return np.__version__

    def setup(self, x, axis, threads):
        return functools.partial(np.copyto, np.empty_like(x), x)

    def setup_func(self, func, data, axis, threads):
        return self.setup(data["x"], axis, threads)


class NumPyRef(Contender):
    key = "numpy"
    name = "NumPy"
    threading = SINGLE
    slow = True

    def version(self):
        return np.__version__

    def setup(self, x, axis, threads):
        from .reference import log_softmax
        return functools.partial(log_softmax, x, axis)

    def setup_func(self, func, data, axis, threads):
        from . import reference
        if func in ("log_softmax", "softmax", "logsumexp"):
            return functools.partial(getattr(reference, func), data["x"], axis)
        if func.endswith("_backward"):
            return functools.partial(getattr(reference, func), data["g"], data["y"], axis)
        return None


class SciPy(Contender):
    key = "scipy"
    name = "SciPy"
    threading = SINGLE
    slow = True

    def available(self):
        mods = _try_import(self, "scipy", "scipy.special")
        if mods:
            self._scipy, self._special = mods
        return mods is not None

    def version(self):
        return self._scipy.__version__

    def setup(self, x, axis, threads):
        return functools.partial(self._special.log_softmax, x, axis=axis)


class Torch(Contender):
    key = "torch"
    name = "torch"

    def __init__(self):
        self._saved_threads = None

    def available(self):
        mods = _try_import(self, "torch")
        if mods:
            self._torch = mods[0]
        return mods is not None

    def version(self):
        return self._torch.__version__

    def setup(self, x, axis, threads):
        torch = self._torch
        if self._saved_threads is None:
            self._saved_threads = torch.get_num_threads()
        t = torch.from_numpy(x)  # shares x's memory
        return functools.partial(torch.log_softmax, t, axis)

    def setup_func(self, func, data, axis, threads):
        """What a PyTorch user calls: the functions, the autograd backward ops
        (`torch.ops.aten._log_softmax_backward_data` / `_softmax_backward_data`), and
        `F.cross_entropy`, with `.backward()` through autograd for the gradient."""
        if func == "log_softmax":
            return self.setup(data["x"], axis, threads)
        torch = self._torch
        if self._saved_threads is None:
            self._saved_threads = torch.get_num_threads()
        t = {k: torch.from_numpy(v) for k, v in data.items()}
        x = t["x"]
        if func == "softmax":
            return functools.partial(torch.softmax, x, axis)
        if func == "logsumexp":
            return functools.partial(torch.logsumexp, x, axis)
        aten = torch.ops.aten
        if func == "log_softmax_backward":
            return functools.partial(aten._log_softmax_backward_data, t["g"], t["y"], axis,
                                     x.dtype)
        if func == "softmax_backward":
            return functools.partial(aten._softmax_backward_data, t["g"], t["y"], axis,
                                     x.dtype)
        ce = torch.nn.functional.cross_entropy
        tgt = t["target"]
        xc = x.movedim(axis, 1) if x.ndim > 1 else x
        tc = tgt
        if func == "cross_entropy":
            return functools.partial(ce, xc, tc)

        def loss_and_grad():
            xr = xc.detach().requires_grad_()
            loss = ce(xr, tc)
            loss.backward()
            return xr.grad.movedim(1, axis) if x.ndim > 1 else xr.grad
        return loss_and_grad

    def activate(self, threads):
        torch = self._torch
        k = self._saved_threads if threads is None else threads
        if torch.get_num_threads() != k:
            torch.set_num_threads(k)

    def teardown(self):
        if self._saved_threads is not None:
            self._torch.set_num_threads(self._saved_threads)
            self._saved_threads = None

    def as_array(self, result):
        return result.numpy()


class OnnxRuntime(Contender):
    key = "ort"
    name = "ORT"

    def available(self):
        mods = _try_import(self, "onnxruntime", "onnx", "onnx.helper")
        if mods:
            self._ort, self._onnx, self._helper = mods
        return mods is not None

    def version(self):
        return f"{self._ort.__version__} (onnx {self._onnx.__version__})"

    def _model(self, x, axis):
        """A one-node graph: LogSoftmax (opset 13) along `axis`."""
        helper, TP = self._helper, self._onnx.TensorProto
        elem = {np.dtype(np.float32): TP.FLOAT, np.dtype(np.float64): TP.DOUBLE}[x.dtype]
        graph = helper.make_graph(
            [helper.make_node("LogSoftmax", ["x"], ["y"], axis=axis)], "log_softmax",
            [helper.make_tensor_value_info("x", elem, list(x.shape))],
            [helper.make_tensor_value_info("y", elem, list(x.shape))])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8  # opset 13's era: loads in any ORT that runs opset 13
        return model.SerializeToString()

    def setup(self, x, axis, threads):
        ort = self._ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 0 if threads is None else threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(self._model(x, axis), sess_options=opts,
                                    providers=["CPUExecutionProvider"])
        return functools.partial(sess.run, ["y"], {"x": x})

    def as_array(self, result):
        return result[0]


class Jax(Contender):
    key = "jax"
    name = "JAX"
    threading = OWN_POOL

    def available(self):
        mods = _try_import(self, "jax", "jax.numpy")
        if mods:
            self._jax = mods[0]
        return mods is not None

    def version(self):
        return self._jax.__version__

    def setup(self, x, axis, threads):
        jax = self._jax
        if x.dtype == np.float64 and not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)  # else JAX computes in float32
        xj = jax.device_put(x)
        f = jax.jit(functools.partial(jax.nn.log_softmax, axis=axis))
        return lambda: f(xj).block_until_ready()


def all_contenders():
    """Every contender, ours first, in table order."""
    return [Ours(), Ours(out=True), Copy(), NumPyRef(), SciPy(), Torch(), OnnxRuntime(),
            Jax()]


PEER_KEYS = ("numpy", "scipy", "torch", "ort", "jax")


# ---- timing ------------------------------------------------------------------------

def _time_per_call(fn, n):
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n
    finally:
        if gc_was_enabled:
            gc.enable()


def _warm(fn, seconds):
    """Call `fn` untimed until `seconds` have passed (once at least)."""
    deadline = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < deadline:
        fn()


def _settle(max_wait=0.3, window=0.005):
    """Sleep until this process's threads are idle.

    Thread pools spin for a while after their work is done (libgomp ~10 ms, ONNX
    Runtime ~50 ms), keeping CPUs busy; without this pause that spinning would eat
    into the next contender's timing.  Returns when a `window` passes with almost no
    CPU used by the process, or after `max_wait`.
    """
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        c0 = time.process_time()
        time.sleep(window)
        if time.process_time() - c0 < 0.2 * window:
            return


class _OtherLoad:
    """Average number of CPUs kept busy by other processes between start and stop.

    Linux only (/proc/stat); None elsewhere.  Other load makes timings unreliable,
    multi-threaded ones most.
    """

    @staticmethod
    def _busy_seconds():
        try:
            with open("/proc/stat") as f:
                v = [int(a) for a in f.readline().split()[1:9]]
            # user nice system idle iowait irq softirq steal; steal is a hypervisor
            # giving our CPUs to someone else: other load too
            return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def start(self):
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy_seconds(), \
            sum(os.times()[:2])
        return self

    def stop(self):
        busy = self._busy_seconds()
        if busy is None or self.busy0 is None:
            return None
        own = sum(os.times()[:2]) - self.own0
        wall = time.perf_counter() - self.t0
        return max(0.0, (busy - self.busy0 - own) / wall) if wall > 0 else None


def _calibrate(fn, min_time):
    """Calls per timing so that one timing lasts at least `min_time` seconds."""
    n = 1
    while True:
        per_call = _time_per_call(fn, n)
        if per_call * n >= min_time or n >= 10**7:
            return n
        grow = int(min_time * 1.2 / max(per_call, 1e-9)) + 1
        n = max(n + 1, min(10 * n, grow))


@dataclass
class Slot:
    """One contender at one thread setting, within one case."""
    contender: Contender
    threads: object            # int, None (library default), or None for thread-independent
    fn: object = None
    n: int = 0
    times: list = field(default_factory=list)
    skipped: str = None        # why it was not run
    too_big: bool = False      # skipped as slow on a big input (shown as "skip")
    mismatch: str = None       # set when its result disagrees with ours

    @property
    def median(self):
        return statistics.median(self.times) if self.times else None

    def to_json(self):
        return {"contender": self.contender.key, "name": self.contender.name,
                "threads": self.threads, "threading": self.contender.threading,
                "median_s": self.median, "round_times_s": self.times,
                "calls_per_timing": self.n, "skipped": self.skipped,
                "result_mismatch": self.mismatch}


@dataclass
class CaseResult:
    case: Case
    slots: list
    other_load: float = None   # CPUs kept busy by other processes meanwhile

    def get(self, key, threads):
        """The slot of contender `key` for a row of `threads` threads."""
        for s in self.slots:
            if s.contender.key == key and (s.contender.threading != PER_THREADS
                                           or s.threads == threads):
                return s
        return None

    def to_json(self):
        return {"case": self.case.to_json(), "other_processes_cpus": self.other_load,
                "results": [s.to_json() for s in self.slots]}


def _agrees(result, expected):
    if result.shape != expected.shape:
        return f"shape {result.shape}, expected {expected.shape}"
    if result.dtype != expected.dtype:
        return f"dtype {result.dtype}, expected {expected.dtype}"
    step = max(1, expected.size // 1_000_000)  # a sample: big cases stay quick
    a, b = result.reshape(-1)[::step], expected.reshape(-1)[::step]
    tol = 1e-4 if expected.dtype == np.float32 else 1e-10
    if not np.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
        return f"max |difference| {float(np.nanmax(np.abs(a - b))):.3g}"
    return None


def measure_case(case, contenders, threads, rounds, min_time, slow=False, log=None):
    """Time every contender on one case; returns a CaseResult.

    `threads`: the thread counts of the PER_THREADS contenders (None: the library
    default).  `log(msg)` reports progress.
    """
    monitor = _OtherLoad().start()
    data = case.make_data()
    axis = case.axis
    slots = []
    for c in contenders:
        for k in (threads if c.threading == PER_THREADS else [None]):
            slot = Slot(c, k)
            if c.slow and not slow and case.nbytes > SLOW_LIMIT_BYTES:
                slot.skipped = f"input > {SLOW_LIMIT_BYTES >> 20} MiB (use --slow)"
                slot.too_big = True
            slots.append(slot)

    try:
        reference = Ours()
        expected = reference.as_array(reference.setup_func(case.func, data, axis, None)())
    except Exception:  # the ours slots will report it
        expected = None
    try:
        for s in slots:
            if s.skipped:
                continue
            try:
                s.fn = s.contender.setup_func(case.func, data, axis, s.threads)
                if s.fn is None:
                    s.skipped = f"no {case.func}"
                    continue
                s.contender.activate(s.threads)
                result = s.fn()  # the first call compiles / allocates: not timed
                if s.contender.checked and expected is not None:
                    s.mismatch = _agrees(s.contender.as_array(result), expected)
                del result
                s.fn()
                _settle()
                s.n = _calibrate(s.fn, min_time)
            except Exception as exc:
                s.skipped = f"failed: {type(exc).__name__}: {exc}"
                s.fn = None
                if log:
                    log(f"  {s.contender.name}: {s.skipped}")
        live = [s for s in slots if s.fn is not None]
        for r in range(rounds):
            shift = r % len(live) if live else 0
            for s in live[shift:] + live[:shift]:
                s.contender.activate(s.threads)
                _settle()
                _warm(s.fn, WARM_S)
                s.times.append(_time_per_call(s.fn, s.n))
    finally:
        for s in slots:
            s.fn = None
        for c in contenders:
            c.teardown()
    return CaseResult(case, slots, monitor.stop())


def run(cases, contenders, threads, rounds, min_time, slow=False, log=None):
    results = []
    for i, case in enumerate(cases):
        if log:
            log(f"[{i + 1}/{len(cases)}] {case.label}  ({case.nbytes / 2**20:.1f} MiB)")
        results.append(measure_case(case, contenders, threads, rounds, min_time, slow, log))
        gc.collect()
    return results


# ---- formatting --------------------------------------------------------------------

def _micro():
    enc = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "\u00b5".encode(enc)
        return "\u00b5s"
    except (UnicodeEncodeError, LookupError):
        return "us"


def fmt_time(seconds):
    """Adaptive units, three significant digits."""
    if seconds is None:
        return "-"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, _micro()), (1e-9, "ns")):
        if seconds >= scale * 0.9995 or unit == "ns":  # 999.7 us shows as 1 ms
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    raise AssertionError


def fmt_ratio(r):
    if r is None:
        return "-"
    if r >= 10:
        return f"{r:.0f}x"
    return f"{r:.2g}x" if r >= 1 else f"{r:.2f}x"


def markdown_table(header, rows, align):
    """An aligned markdown table; `align` holds 'l' or 'r' per column."""
    cols = list(zip(header, *rows))
    widths = [max(len(str(v)) for v in col) for col in cols]

    def line(cells):
        out = []
        for v, w, a in zip(cells, widths, align):
            out.append(str(v).ljust(w) if a == "l" else str(v).rjust(w))
        return "| " + " | ".join(out) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":" if a == "r" else "-" * (w + 2))
                          for w, a in zip(widths, align)) + "|"
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def _threads_label(k):
    if k is None:
        from ._threads import default_threads
        return f"default ({default_threads()})"
    return str(k)


def summary_rows(results, threads, peers):
    """Derived numbers per (case, threads): the rows of the table and of the JSON."""
    rows = []
    for res in results:
        for k in threads:
            ours = res.get("ours", k)
            t = ours.median if ours else None
            out = res.get("ours_out", k)
            cp = res.get("copy", k)
            row = {"case": res.case.label, "threads": k, "ours_s": t,
                   "ours_out_s": out.median if out else None,
                   "copy_s": cp.median if cp else None,
                   "ours_gb_per_s": 2 * res.case.nbytes / t / 1e9 if t else None,
                   "copy_share": cp.median / t if t and cp and cp.median else None,
                   "peers": {}}
            best = []
            for key in peers:
                s = res.get(key, k)
                pt = s.median if s else None
                row["peers"][key] = {"time_s": pt, "speedup": pt / t if pt and t else None,
                                     "skipped": s.skipped if s else "not installed",
                                     "too_big": bool(s and s.too_big),
                                     "mismatch": s.mismatch if s else None}
                if key in ("torch", "ort") and pt:
                    best.append(pt)
            row["best_peer_ratio"] = t / min(best) if best and t else None
            row["goal_ratio"] = res.case.goal
            rows.append(row)
    return rows


def format_table(results, threads, contenders):
    """The markdown table and its footnotes."""
    by_key = {c.key: c for c in contenders}
    peers = [k for k in PEER_KEYS if k in by_key]
    tags = {SINGLE: " [1]", OWN_POOL: " [2]"}
    header = ["#", "case", "threads", "ours", "ours out=", "copy [1]", "GB/s", "copy bw"]
    header += [by_key[k].name + tags.get(by_key[k].threading, "") for k in peers]
    has_best = "torch" in by_key or "ort" in by_key
    if has_best:
        header.append("ours/best")
    align = ["r", "l", "r"] + ["r"] * (len(header) - 3)
    index = {c: i for i, c in enumerate(ALL_CASES)}
    table, notes = [], []
    for row, res in zip(summary_rows(results, threads, peers),
                        (r for r in results for _ in threads)):
        disturbed = res.other_load is not None and res.other_load > OTHER_LOAD_WARN
        cells = [index.get(res.case, "-"), row["case"] + (" [3]" if disturbed else ""),
                 _threads_label(row["threads"]),
                 fmt_time(row["ours_s"]), fmt_time(row["ours_out_s"]),
                 fmt_time(row["copy_s"]),
                 f"{row['ours_gb_per_s']:.1f}" if row["ours_gb_per_s"] else "-",
                 f"{100 * row['copy_share']:.0f}%" if row["copy_share"] else "-"]
        for key in peers:
            p = row["peers"][key]
            if p["time_s"] is None:
                cells.append("skip" if p["too_big"] else "-")
                continue
            cell = f"{fmt_time(p['time_s'])} ({fmt_ratio(p['speedup'])})"
            if p["mismatch"]:
                cell += " [!]"
                notes.append(f"[!] {by_key[key].name} on {row['case']}: result differs "
                             f"from ours ({p['mismatch']})")
            cells.append(cell)
        if has_best:
            b = row["best_peer_ratio"]
            cells.append("-" if b is None else f"{b:.2f}" + (" *" if b > row["goal_ratio"] else ""))
        table.append(cells)

    from ._threads import default_threads
    foot = [
        "Median time per call over the rounds; (Nx) = peer time / our time "
        "(above 1x we are faster).",
        "ours: a new output array per call, as users call it; ours out=: into a "
        "preallocated array (the losses have no out=).",
        "GB/s: 2 * input bytes (read + write) / our time.  copy bw: copy time / our "
        "time (100% = as fast as copying the array).",
        "[1] single-threaded (np.copyto, NumPy, SciPy): one measurement, shown in "
        "every thread row.",
    ]
    if "jax" in by_key:
        foot.append("[2] JAX cannot change its thread count after import: XLA's default "
                    f"pool (this machine: {os.cpu_count()} CPUs) in every thread row.")
    if any(s.too_big for r in results for s in r.slots):
        foot.append(f"skip: NumPy/SciPy not run on inputs above {SLOW_LIMIT_BYTES >> 20} "
                    "MiB (--slow runs them).")
    disturbed = [f"#{index.get(r.case, r.case.label)} ({r.other_load:.1f})" for r in results
                 if r.other_load is not None and r.other_load > OTHER_LOAD_WARN]
    if disturbed:
        foot.append("[3] other processes were using CPUs meanwhile (average number of "
                    f"CPUs): {', '.join(disturbed)}; these times are unreliable.")
    if has_best:
        foot.append(f"ours/best: our time / min(torch, ORT) time; the goal is <= "
                    f"{GOAL_RATIO} for log_softmax and <= 1 for the rest of the family "
                    "(PyTorch only), rows above it are marked *.")
    from ._threads import OPENMP
    if not OPENMP:
        foot.append("This build has no OpenMP: ours runs on one thread whatever the count.")
    elif max((k or default_threads()) for k in threads) > (os.cpu_count() or 1):
        foot.append("More threads than CPUs: expect oversubscription.")
    text = markdown_table(header, table, align)
    return text + "\n\n" + "\n".join(foot + notes)


# ---- JSON and plot -----------------------------------------------------------------

def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load_average():
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def write_json(path, results, threads, contenders, settings):
    from ._info import runtime_info
    peers = [k for k in PEER_KEYS if k in {c.key for c in contenders}]
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {**runtime_info(), "platform": platform.platform(),
                    "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
                    "load_average_before": settings.get("load_average"),
                    "load_average_after": _load_average()},
        "versions": {c.key: c.version() for c in contenders},
        "settings": settings,
        "cases": [r.to_json() for r in results],
        "summary": summary_rows(results, threads, peers),
    }
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)


def write_plot(path, results, threads, contenders):
    """Grouped bars: each contender's time relative to the copy, per case; one panel
    per thread count."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = [c.key for c in contenders if c.key != "copy"]
    names = {c.key: c.name for c in contenders}
    colors = {"ours": "#1f77b4", "ours_out": "#9ecae1", "numpy": "#7f7f7f",
              "scipy": "#bcbd22", "torch": "#d62728", "ort": "#2ca02c", "jax": "#9467bd"}
    labels = [r.case.label for r in results]
    width = 0.8 / len(keys)
    fig = Figure(figsize=(max(8, 1.3 * len(results) + 3), 4.2 * len(threads)),
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(threads), 1, squeeze=False, sharey=True)[:, 0]
    for ax, k in zip(axes, threads):
        for j, key in enumerate(keys):
            xs, ys = [], []
            for i, res in enumerate(results):
                s, cp = res.get(key, k), res.get("copy", k)
                if s and s.median and cp and cp.median:
                    xs.append(i + (j - (len(keys) - 1) / 2) * width)
                    ys.append(s.median / cp.median)
            if xs:
                ax.bar(xs, ys, width, label=names[key], color=colors.get(key))
        ax.axhline(1.0, color="black", lw=1, ls="--", label="copy (memory bound)")
        ax.set_yscale("log")
        ax.set_ylabel("time / copy time (lower is better)")
        ax.set_title(f"log_softmax: threads = {_threads_label(k)}  "
                     "(NumPy, SciPy, copy: 1 thread; JAX: own pool)", fontsize=10)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=9)
        ax.grid(axis="y", which="both", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    try:
        fig.legend(handles, names, loc="outside upper center", ncol=len(names), fontsize=9)
    except ValueError:  # matplotlib < 3.7: no "outside" placement
        axes[0].legend(handles, names, ncol=4, fontsize=8, loc="upper left")
    fig.savefig(path, dpi=110)


# ---- command line ------------------------------------------------------------------

def _parse_shape(text):
    """DxD...[:AXIS[:DTYPE]] -> (shape, axis, dtype) for --shape."""
    parts = text.split(":")
    usage = (f"{text!r}: expected a shape such as 1024x1000, optionally followed by "
             ":AXIS and :DTYPE (e.g. 16x81x256:1:float64)")
    if len(parts) > 3:
        raise argparse.ArgumentTypeError(usage)
    try:
        shape = tuple(int(d) for d in parts[0].lower().split("x"))
        axis = int(parts[1]) if len(parts) > 1 and parts[1].strip() else -1
    except ValueError:
        raise argparse.ArgumentTypeError(usage) from None
    if any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"{text!r}: dimensions must be >= 1")
    if not -len(shape) <= axis < len(shape):
        raise argparse.ArgumentTypeError(f"{text!r}: axis {axis} is out of bounds for "
                                         f"{len(shape)} dimension(s)")
    dtype = parts[2].strip() if len(parts) > 2 and parts[2].strip() else "float32"
    if dtype not in _DTYPE_ABBREV:
        raise argparse.ArgumentTypeError(f"{text!r}: dtype must be one of "
                                         f"{', '.join(_DTYPE_ABBREV)}")
    return shape, axis, dtype


def _parse_threads(text):
    try:
        ks = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a list like 1,2 (got {text!r})")
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError("thread counts must be >= 1")
    return list(dict.fromkeys(ks))


def _parse_funcs(text):
    keys = [t.strip() for t in text.split(",") if t.strip()]
    if keys == ["all"]:
        return list(FUNCS)
    bad = [k for k in keys if k not in FUNCS]
    if bad or not keys:
        raise argparse.ArgumentTypeError(f"unknown function(s) {', '.join(bad) or text!r}; "
                                         f"choose from {', '.join(FUNCS)} or all")
    return keys


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return v


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        v = 0.0
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


def _parse_peers(text):
    keys = [t.strip().lower() for t in text.split(",") if t.strip()]
    if keys == ["all"]:
        return list(PEER_KEYS)
    if keys == ["none"]:
        return []
    bad = [k for k in keys if k not in PEER_KEYS]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown peer(s) {', '.join(bad)}; choose from "
                                         f"{', '.join(PEER_KEYS)}, all or none")
    return keys


def add_arguments(parser):
    """The options of `python -m logsoftmax_c bench`."""
    parser.add_argument("--threads", type=_parse_threads, metavar="K,K,...",
                        help="thread counts for ours, torch and ORT "
                             "(default: 1 and the library's default)")
    parser.add_argument("--funcs", type=_parse_funcs, default=["log_softmax"],
                        metavar="F,F,...",
                        help=f"functions to run: {', '.join(FUNCS)}, or all "
                             "(default: log_softmax).  The others run on "
                             f"{', '.join('x'.join(map(str, s)) + ' ' + d for s, d in FAMILY_SHAPES)}"
                             " (softmax and logsumexp also on "
                             f"{', '.join('x'.join(map(str, s)) + ' ' + d for s, d in FAMILY_COLUMN_SHAPES)}"
                             " along axis 0) against PyTorch and the NumPy twin")
    parser.add_argument("--shape", type=_parse_shape, action="append",
                        metavar="DxD...[:AXIS[:DTYPE]]",
                        help="a shape to run instead of the goal list (repeat for more), "
                             "with its axis (default -1) and dtype (float16, float32 or "
                             "float64; default float32): e.g. 1024x1004, 16x81x256:1, "
                             "4096x4096:0:float16")
    parser.add_argument("--spread", type=_positive_float, default=DEFAULT_SPREAD,
                        metavar="S",
                        help="the inputs' scores: a standard normal times S (default "
                             f"{DEFAULT_SPREAD:g}; from 16 on, slices reach below the "
                             "smallest normal exp)")
    parser.add_argument("--cases", metavar="SEL",
                        help="comma-separated case indices or label substrings, "
                             "e.g. 0,3 or 4096,f64 (default: all; --list shows them)")
    parser.add_argument("--list", action="store_true",
                        help="list the (selected) cases and exit")
    parser.add_argument("--peers", type=_parse_peers, default=list(PEER_KEYS),
                        metavar="P,P,...",
                        help=f"peers to run: {', '.join(PEER_KEYS)}, all or none "
                             "(default: all that are installed)")
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds instead of 7 (the whole list in under 2 minutes)")
    parser.add_argument("--rounds", type=_positive_int, metavar="R",
                        help="rounds per case (default 7)")
    parser.add_argument("--min-time", type=float, default=0.02, metavar="SEC",
                        help="minimum duration of one timing (default 0.02 s)")
    parser.add_argument("--slow", action=argparse.BooleanOptionalAction, default=False,
                        help=f"run NumPy and SciPy on inputs above "
                             f"{SLOW_LIMIT_BYTES >> 20} MiB too (default: --no-slow)")
    parser.add_argument("--json", metavar="FILE", help="write all raw numbers to FILE")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="bar chart of the times relative to the copy "
                             "(needs matplotlib)")
    return parser


def main(args):
    """Run `python -m logsoftmax_c bench` with parsed `args`; returns the exit status."""
    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if args.shape:
        pool = tuple(Case(shape, axis, dtype, func) for func in FUNCS if func in args.funcs
                     for shape, axis, dtype in args.shape)
    else:
        pool = cases_for(args.funcs)
    try:
        cases = select_cases(args.cases, pool)
    except ValueError as exc:
        log(f"bench: --cases: {exc}")
        return 2
    cases = tuple(replace(c, spread=args.spread) for c in cases)
    if args.list:
        for c in cases:
            print(f"{_case_index(c):>2}  {c.label:40s} {c.nbytes / 2**20:8.1f} MiB")
        return 0
    if args.plot:
        try:
            importlib.import_module("matplotlib")
        except ImportError:
            log("bench: --plot needs matplotlib, which is not installed "
                "(pip install matplotlib)")
            return 2
    from ._threads import default_threads
    threads = args.threads or list(dict.fromkeys([1, default_threads()]))
    rounds = args.rounds or (3 if args.quick else 7)

    contenders = []
    for c in all_contenders():
        if c.peer and c.key not in args.peers:
            continue
        if not c.available():
            log(f"{c.name}: skipped ({c.unavailable_reason})")
            continue
        contenders.append(c)

    load = _load_average()
    monitor = _OtherLoad().start()
    time.sleep(0.3)
    busy = monitor.stop()
    if busy is not None and busy > OTHER_LOAD_WARN:
        log(f"note: other processes are keeping {busy:.1f} CPUs busy: timings will be "
            "noisy")
    log(f"{len(cases)} case(s), threads {threads}, {rounds} rounds, "
        f">= {args.min_time * 1e3:.0f} ms per timing; peers: "
        f"{', '.join(c.name for c in contenders if c.peer) or 'none'}")
    results = run(cases, contenders, threads, rounds, args.min_time, args.slow, log)

    print(format_table(results, threads, contenders))
    if args.json:
        settings = {"threads": threads, "rounds": rounds, "min_time_s": args.min_time,
                    "slow": args.slow, "slow_limit_bytes": SLOW_LIMIT_BYTES,
                    "load_average": load, "arguments": sys.argv[1:]}
        write_json(args.json, results, threads, contenders, settings)
        log(f"raw numbers written to {args.json}")
    if args.plot:
        write_plot(args.plot, results, threads, contenders)
        log(f"plot written to {args.plot}")
    return 0
