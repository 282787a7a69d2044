"""Training: GD on the population or empirical loss, minibatch SGD, online SGD (students);
minibatch SGD with momentum (MLPs and PyTorch networks, ``twolayer.deep``).

Every update is theta <- theta - lr * grad, with the loops inside numba
(``twolayer._kernels.loops``). The run stops at ``steps`` updates, when the objective
falls to ``tol``, or when it diverges (non-finite, or above DIVERGENCE_FACTOR times
max(R_0, 1)); divergence is reported in the result, never raised.

Randomness comes from ``SeedSequence(seed)``: child 1 draws the minibatches (or the fresh
online samples), so the same inputs and seed give identical arrays.

What trains which network is one table, ``TRAINERS``, keyed by the network's ``kind``
(``twolayer.network``): its methods, their options, and the loop that runs them. Every run
returns a ``TrainResult`` (``twolayer.train_result``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._blas import single_threaded_blas
from ._kernels import loops
from .deep.torch_training import train_torch
from .deep.training import train_sgd
from .interop import as_network
from .losses import PARALLEL_MIN_WIDTH, population_loss
from .model import Student, check_pair
from .network import Network, NetworkKind, network_kind
from .objective import Classification, Empirical, Objective, Population, check_objective
from .random import child_seeds, epoch_batches
from .train_result import TrainLoss, TrainResult
from .validation import check_enum, check_positive_float, check_positive_int

DIVERGENCE_FACTOR = 1e6
#: most updates per numba call between Python-side bookkeeping (progress, checkpoints)
CHUNK_STEPS = 2000
#: most floats of pre-drawn minibatches held at once
BATCH_BUFFER_FLOATS = 1 << 22


class Method(Enum):
    """How ``train`` updates the parameters (``train``)."""

    GD = "gd"          #: full batch
    SGD = "sgd"        #: minibatches of the data
    ONLINE = "online"  #: fresh inputs from the teacher's law every step


@dataclass
class _Run:
    """Mutable state of one training run, shared by the chunked drivers."""

    student: Student
    a: np.ndarray
    W: np.ndarray
    objective: TrainLoss
    evaluate: object  # callable (a, W) -> objective value
    record_every: int
    checkpoint_steps: set[int]
    losses: list[float] = field(default_factory=list)
    loss_steps: list[int] = field(default_factory=list)
    checkpoints: list[tuple[int, Student]] = field(default_factory=list)
    step: int = 0
    status: int = loops.RUNNING

    def snapshot(self) -> Student:
        return self.student.with_params(self.a, self.W)

    def record(self, step: int, value: float) -> None:
        if not self.loss_steps or self.loss_steps[-1] != step:
            self.losses.append(float(value))
            self.loss_steps.append(step)

    def maybe_checkpoint(self) -> None:
        if self.step in self.checkpoint_steps and (
                not self.checkpoints or self.checkpoints[-1][0] != self.step):
            self.checkpoints.append((self.step, self.snapshot()))

    def result(self) -> TrainResult:
        final = self.snapshot()
        if self.status != loops.DIVERGED:
            self.record(self.step, self.evaluate(self.a, self.W))
        return TrainResult(final, np.array(self.losses), np.array(self.loss_steps), self.step,
                           self.status == loops.DIVERGED, self.status == loops.CONVERGED,
                           self.objective, self.checkpoints)


def _check_steps(steps, checkpoints, record_every):
    steps = check_positive_int("steps", steps, minimum=0)
    record_every = (max(1, steps // 200) if record_every is None
                    else check_positive_int("record_every", record_every))
    ckpts = set()
    for s in (() if checkpoints is None else checkpoints):
        s = check_positive_int("checkpoints (each step)", s, minimum=0)
        if s > steps:
            raise ValueError(f"checkpoints must lie in [0, steps={steps}]; got {s}")
        ckpts.add(s)
    return steps, record_every, ckpts


def _boundaries(run: _Run, steps: int, every: int | None) -> int:
    """Steps to run before the next bookkeeping point (checkpoint, record, chunk end)."""
    stop = min(steps, run.step + CHUNK_STEPS)
    later = [s for s in run.checkpoint_steps if s > run.step]
    if later:
        stop = min(stop, min(later))
    if every is not None:
        stop = min(stop, (run.step // every + 1) * every)
    return stop - run.step


@dataclass(frozen=True)
class Trainer:
    """How one kind of network trains: its methods, each with its options and their defaults (any
    other keyword is an error), and ``run(net, objective, method, **options) -> TrainResult``."""

    methods: Mapping[Method, Mapping[str, Any]]
    run: Callable[..., TrainResult]


STUDENT_OPTIONS = {"lr": 0.1, "steps": 1000, "tol": None, "seed": 0, "record_every": None,
                   "checkpoints": None, "progress": False}
DEEP_OPTIONS = {"lr": 0.05, "steps": 1000, "batch": 128, "momentum": 0.9, "seed": 0,
                "checkpoints": None, "record_every": 50, "masks": None}


def train(net: Network, objective: Objective, method: Method | str = Method.GD, **options) -> TrainResult:
    """Train ``net`` on ``objective``.

    Parameters
    ----------
    net : Student, MLP, TorchNetwork or torch.nn.Module (``twolayer.from_torch``)
    objective : Objective
        Student: ``Population(teacher)`` (exact; methods ``gd``, ``online``) or
        ``Empirical(X, y)`` (methods ``gd``, ``sgd``). MLP and TorchNetwork:
        ``Classification(X, y)`` (method ``sgd``, with momentum; see
        ``twolayer.deep.train_sgd``; PyTorch networks train in PyTorch, in their precision:
        float64 unless made with ``dtype="float32"``).
    method : Method or {"gd", "sgd", "online"}
        ``gd``: full batch, theta <- theta - lr grad R(theta). ``sgd``: minibatches of
        ``batch`` rows of the data, with or without replacement (without: shuffled epochs).
        ``online``: ``batch`` fresh inputs from the teacher's law every step (a stochastic
        gradient of the population loss).
    **options
        ``TRAINERS[net.kind].methods[method]``: lr, steps, tol (stop once R <= tol; GD checks every
        step, SGD when it records), seed (child 1 of SeedSequence(seed) draws the minibatches
        or online samples), record_every (default steps // 200), checkpoints (steps at which
        to keep a copy), progress (a tqdm bar), batch, replace; MLP: momentum, masks.

    Returns
    -------
    TrainResult
        ``net``, the losses with their steps (students: the objective; MLP and PyTorch networks:
        the minibatch loss), converged / diverged.

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 3)
    >>> r = tl.train(tl.Student.init(4, 3, seed=1), tl.Population(T), lr=0.1, steps=2000)
    >>> bool(r.final_loss < r.losses[0])
    True
    """
    check_objective(objective)
    net = as_network(net, objective)
    method = check_enum("method", method, Method)
    kind = network_kind(net)
    if kind is None:
        raise ValueError(f"net must be a twolayer Student, MLP or TorchNetwork; got {type(net).__name__}")
    trainer = TRAINERS[kind]
    allowed = trainer.methods.get(method)
    if allowed is None:
        raise ValueError(f"method {method.value!r} does not train a {kind.value} "
                         f"(its methods: {', '.join(repr(m.value) for m in trainer.methods)})")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"option {unknown[0]!r} does not apply to method {method.value!r} for a "
                         f"{kind.value} (it takes: {', '.join(allowed)})")
    objective.check(net)
    return trainer.run(net, objective, method, **{**allowed, **options})


def _train_deep(sgd, net, objective: Objective, method: Method, **options) -> TrainResult:
    """Minibatch SGD with momentum (``sgd``: ``train_sgd`` or ``train_torch``) on a classification task."""
    if not isinstance(objective, Classification):
        raise ValueError(f"{type(net).__name__} training needs a Classification objective; "
                         f"got {type(objective).__name__}")
    return sgd(net, *objective.data, objective.loss_kind, **options)


def _train_student(student: Student, objective: Objective, method: Method, lr, steps, tol, seed,
                   record_every, checkpoints, progress, batch=None, replace=True) -> TrainResult:
    lr = check_positive_float("lr", lr)
    steps, record_every, ckpts = _check_steps(steps, checkpoints, record_every)
    tol_value = -1.0 if tol is None else check_positive_float("tol", tol, allow_zero=True)
    batch_seq = child_seeds(seed, 2)[1]
    if method is Method.ONLINE and not isinstance(objective, Population):
        raise ValueError("method='online' draws fresh inputs from the teacher's law: it needs a Population objective")
    if method is Method.SGD and not isinstance(objective, Empirical):
        raise ValueError("method='sgd' draws minibatches of data: it needs an Empirical objective "
                         "(method='online' for fresh samples every step)")
    teacher = objective.teacher if isinstance(objective, Population) else None
    X, y = (None, None) if teacher is not None else objective.data
    name = TrainLoss.POPULATION if teacher is not None else TrainLoss.EMPIRICAL

    def evaluate(a, W):
        return objective.loss(student.with_params(a, W))

    if method is not Method.GD:
        batch = check_positive_int("batch", batch)
        if method is Method.SGD and not replace and batch > X.shape[0]:
            raise ValueError(f"batch must be <= n ({X.shape[0]}) without replacement; got {batch}")
    run = _Run(student, np.array(student.a), np.array(student.W), name, evaluate, record_every, ckpts)
    r0 = evaluate(run.a, run.W)
    limit = DIVERGENCE_FACTOR * max(r0, 1.0)
    bar = tqdm(total=steps, disable=not progress, desc=f"train {method.value}", leave=False)
    with single_threaded_blas():
        run.maybe_checkpoint()
        if method is Method.GD:
            _run_gd(run, steps, student, teacher, X, y, lr, tol_value, limit, bar)
        else:
            sampler = _batch_sampler(method, teacher, X, y, batch, replace,
                                     np.random.default_rng(batch_seq))
            _run_sgd(run, steps, sampler, batch, lr, tol_value, limit, r0, bar)
    bar.close()
    return run.result()


#: what trains each kind of network (``Trainer``)
TRAINERS: dict[NetworkKind, Trainer] = {
    NetworkKind.STUDENT: Trainer({Method.GD: STUDENT_OPTIONS,
                                  Method.SGD: {**STUDENT_OPTIONS, "batch": 32, "replace": True},
                                  Method.ONLINE: {**STUDENT_OPTIONS, "batch": 32}}, _train_student),
    NetworkKind.MLP: Trainer({Method.SGD: DEEP_OPTIONS}, partial(_train_deep, train_sgd)),
    NetworkKind.TORCH: Trainer({Method.SGD: DEEP_OPTIONS}, partial(_train_deep, train_torch)),
}


def _run_gd(run, steps, student, teacher, X, y, lr, tol, limit, bar):
    train_a = student.train_output
    parallel = student.m >= PARALLEL_MIN_WIDTH
    while run.step < steps and run.status == loops.RUNNING:
        todo = _boundaries(run, steps, None)
        buf = np.empty(todo)
        if X is None:
            args = (run.a, run.W, teacher.V, teacher.b, student.c, teacher.inputs.moment_scale(teacher.d))
            kernel = loops.gd_population if parallel else loops.gd_population_serial
            done, run.status = kernel(*args, lr, tol, limit, train_a, buf)
        else:
            done, run.status = loops.gd_empirical(X, y, run.a, run.W, student.c, lr, tol,
                                                  limit, train_a, buf)
        seen = done + (run.status != loops.RUNNING)
        for j in range(seen):
            if (run.step + j) % run.record_every == 0 or j == done:
                run.record(run.step + j, buf[j])
        run.step += done
        bar.update(done)
        if run.status == loops.RUNNING:
            run.maybe_checkpoint()


def _batch_sampler(method: Method, teacher, X, y, batch, replace, rng):
    """A function count -> (X, y, batches): batches (count, batch) indexes rows of X, y
    (without replacement: ``twolayer.random.epoch_batches``)."""
    if method is Method.ONLINE:
        def draw(count):
            Xs = teacher.inputs.sample(count * batch, teacher.d, rng)
            return Xs, teacher(Xs), np.arange(count * batch).reshape(count, batch)
        return draw
    if replace:
        def draw(count):
            return X, y, rng.integers(0, X.shape[0], size=(count, batch))
        return draw
    epochs = epoch_batches(X.shape[0], batch, rng)

    def draw(count):
        idx = np.empty((count, batch), dtype=np.int64)
        for j in range(count):
            idx[j] = next(epochs)
        return X, y, idx
    return draw


def _run_sgd(run, steps, sampler, batch, lr, tol, limit, r0, bar):
    run.record(0, r0)
    most = max(1, BATCH_BUFFER_FLOATS // (batch * (run.W.shape[1] + 1)))
    while run.step < steps and run.status == loops.RUNNING:
        todo = min(_boundaries(run, steps, run.record_every), most)
        Xs, ys, batches = sampler(todo)
        buf = np.empty(todo)
        done, run.status = loops.sgd(Xs, ys, batches, run.a, run.W, run.student.c, lr, limit,
                                     run.student.train_output, buf)
        run.step += done
        bar.update(done)
        if run.status == loops.DIVERGED:
            run.record(run.step, buf[done])
            break
        if run.step % run.record_every == 0 or run.step == steps:
            value = run.evaluate(run.a, run.W)
            run.record(run.step, value)
            if not np.isfinite(value) or value > limit:
                run.status = loops.DIVERGED
            elif value <= tol:
                run.status = loops.CONVERGED
        run.maybe_checkpoint()


def train_replicas(students: Sequence[Student], objective: Population, lr: float = 0.1,
                   steps: int = 1000, tol: float | None = None,
                   record_every: int | None = None, progress: bool = False
                   ) -> list[TrainResult]:
    """Population GD for R students of one width at once, in parallel over replicas.

    Each replica follows exactly the updates ``train(s, objective, "gd", lr=lr, ...)`` would
    make (same kernel arithmetic), and stops on its own at ``tol`` or on divergence.

    Parameters
    ----------
    students : sequence of Student
        Sharing m, scaling and output mode.
    objective : Population
    lr, steps, tol, record_every, progress
        As for ``train``.

    Returns
    -------
    list of TrainResult, one per student
    """
    if not isinstance(objective, Population):
        raise ValueError(f"train_replicas runs population GD: objective must be a Population; "
                         f"got {type(objective).__name__}")
    teacher = objective.teacher
    if not students:
        raise ValueError("students must be a non-empty sequence of Student")
    first = students[0]
    for s in students:
        check_pair(s, teacher)
        if (s.m, s.scaling, s.train_output) != (first.m, first.scaling, first.train_output):
            raise ValueError("students must share m, scaling and train_output")
    lr = check_positive_float("lr", lr)
    steps, record_every, _ = _check_steps(steps, None, record_every)
    tol_value = -1.0 if tol is None else check_positive_float("tol", tol, allow_zero=True)
    runs = [_Run(s, np.array(s.a), np.array(s.W), TrainLoss.POPULATION,
                 lambda a, W, s=s: population_loss(s.with_params(a, W), teacher),
                 record_every, set()) for s in students]
    limits = np.array([DIVERGENCE_FACTOR * max(r.evaluate(r.a, r.W), 1.0) for r in runs])
    scale = teacher.inputs.moment_scale(teacher.d)
    bar = tqdm(total=steps, disable=not progress, desc="train replicas", leave=False)
    with single_threaded_blas():
        while True:
            active = [j for j, r in enumerate(runs) if r.status == loops.RUNNING and r.step < steps]
            if not active:
                break
            todo = min(CHUNK_STEPS, steps - runs[active[0]].step)
            A = np.stack([runs[j].a for j in active])
            Ws = np.stack([runs[j].W for j in active])
            buf = np.empty((len(active), todo))
            done = np.zeros(len(active), dtype=np.int64)
            status = np.zeros(len(active), dtype=np.int64)
            loops.gd_population_replicas(A, Ws, teacher.V, teacher.b, first.c, scale, lr,
                                         tol_value, limits[active], first.train_output, buf,
                                         done, status)
            for row, j in enumerate(active):
                run = runs[j]
                run.a, run.W, run.status = A[row], Ws[row], int(status[row])
                seen = done[row] + (run.status != loops.RUNNING)
                for q in range(seen):
                    if (run.step + q) % record_every == 0 or q == done[row]:
                        run.record(run.step + q, buf[row, q])
                run.step += int(done[row])
            bar.update(todo)
    bar.close()
    return [r.result() for r in runs]
