"""Training a student: GD on the population or empirical loss, minibatch SGD, online SGD.

Every update is theta <- theta - lr * grad, with the loops inside numba
(``twolayer._kernels.loops``). The run stops at ``steps`` updates, when the objective
falls to ``tol``, or when it diverges (non-finite, or above DIVERGENCE_FACTOR times
max(R_0, 1)); divergence is reported in the result, never raised.

Randomness comes from ``SeedSequence(seed)``: child 0 draws the data set, child 1 the
minibatches (or the fresh online samples), so the same inputs and seed give identical arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ._blas import single_threaded_blas
from ._kernels import loops
from ._validate import check_choice, check_positive_float, check_positive_int
from .data.synthetic import sample_inputs, teacher_dataset
from .losses import PARALLEL_MIN_WIDTH, check_data, empirical_loss, input_scale, population_loss
from .model import SeedLike, Student, Teacher, check_pair, child_seeds

METHODS = ("gd", "sgd", "online")
LOSSES = ("population", "empirical")
DIVERGENCE_FACTOR = 1e6
#: most updates per numba call between Python-side bookkeeping (progress, checkpoints)
CHUNK_STEPS = 2000
#: most floats of pre-drawn minibatches held at once
BATCH_BUFFER_FLOATS = 1 << 22


@dataclass
class TrainResult:
    """Outcome of ``train``.

    ``losses[j]`` is the objective (``objective``: population or empirical loss) after
    ``loss_steps[j]`` updates; ``checkpoints`` holds (step, Student) pairs when asked.
    """

    student: Student
    losses: np.ndarray
    loss_steps: np.ndarray
    steps: int
    diverged: bool
    converged: bool
    objective: str
    checkpoints: list[tuple[int, Student]] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])


@dataclass
class _Run:
    """Mutable state of one training run, shared by the chunked drivers."""

    student: Student
    a: np.ndarray
    W: np.ndarray
    objective: str
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


def train(student: Student, teacher: Teacher | None, method: str = "gd",
          loss: str = "population", lr: float = 0.1, steps: int = 1000, tol: float | None = None,
          n: int | None = None, batch: int | None = None, replace: bool = True,
          seed: SeedLike = 0, record_every: int | None = None,
          checkpoints: Iterable[int] | None = None,
          data: tuple[np.ndarray, np.ndarray] | None = None, progress: bool = False
          ) -> TrainResult:
    """Train ``student`` towards ``teacher``.

    method  ``gd`` (full batch), ``sgd`` (minibatches of ``batch`` from n samples, with or
            without replacement: without = shuffled epochs) or ``online`` (fresh samples from
            the teacher's input law every step; minimises the population loss).
    loss    ``population`` (closed form, exact) or ``empirical`` (n samples drawn from the
            teacher with ``seed``, or ``data=(X, y)``, for which ``teacher`` may be None).
    tol     stop once the objective is <= tol (GD: checked every step; SGD: when recorded).
    """
    check_choice("method", method, METHODS)
    check_choice("loss", loss, LOSSES)
    if not isinstance(student, Student):
        raise ValueError(f"student must be a twolayer.Student; got {type(student).__name__}")
    lr = check_positive_float("lr", lr)
    steps, record_every, ckpts = _check_steps(steps, checkpoints, record_every)
    tol_value = -1.0 if tol is None else check_positive_float("tol", tol, allow_zero=True)
    data_seq, batch_seq = child_seeds(seed, 2)

    if method == "online" and loss != "population":
        raise ValueError("loss must be 'population' for method='online' (fresh samples every step)")
    if method == "sgd" and loss != "empirical":
        raise ValueError("loss must be 'empirical' for method='sgd' "
                         "(use method='online' for fresh samples every step)")
    if loss == "population":
        if teacher is None:
            raise ValueError("teacher is required for the population loss and online SGD")
        check_pair(student, teacher)
        X = y = None
        objective = "population"

        def evaluate(a, W):
            return population_loss(student.with_params(a, W), teacher)
    else:
        X, y = _dataset(student, teacher, n, data, data_seq)
        objective = "empirical"

        def evaluate(a, W):
            return empirical_loss(student.with_params(a, W), X, y)

    if method in ("sgd", "online"):
        batch = check_positive_int("batch", 32 if batch is None else batch)
        if method == "sgd" and not replace and batch > X.shape[0]:
            raise ValueError(f"batch must be <= n ({X.shape[0]}) without replacement; got {batch}")
    run = _Run(student, np.array(student.a), np.array(student.W), objective, evaluate,
               record_every, ckpts)
    r0 = evaluate(run.a, run.W)
    limit = DIVERGENCE_FACTOR * max(r0, 1.0)
    bar = tqdm(total=steps, disable=not progress, desc=f"train {method}", leave=False)
    with single_threaded_blas():
        run.maybe_checkpoint()
        if method == "gd":
            _run_gd(run, steps, student, teacher, X, y, lr, tol_value, limit, bar)
        else:
            sampler = _batch_sampler(method, teacher, X, y, batch, replace,
                                     np.random.default_rng(batch_seq))
            _run_sgd(run, steps, sampler, batch, lr, tol_value, limit, r0, bar)
    bar.close()
    return run.result()


def _dataset(student, teacher, n, data, seq):
    if data is not None:
        if not (isinstance(data, tuple) and len(data) == 2):
            raise ValueError("data must be a tuple (X, y)")
        return check_data(*data, student.d)
    if teacher is None:
        raise ValueError("the empirical loss needs data=(X, y) or a teacher to draw n samples from")
    check_pair(student, teacher)
    if n is None:
        raise ValueError("n (number of samples) is required for the empirical loss")
    n = check_positive_int("n", n)
    return teacher_dataset(teacher, n, np.random.default_rng(seq))


def _run_gd(run, steps, student, teacher, X, y, lr, tol, limit, bar):
    train_a = student.train_output
    parallel = student.m >= PARALLEL_MIN_WIDTH
    while run.step < steps and run.status == loops.RUNNING:
        todo = _boundaries(run, steps, None)
        buf = np.empty(todo)
        if X is None:
            args = (run.a, run.W, teacher.V, teacher.b, student.c, input_scale(teacher))
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


def _batch_sampler(method, teacher, X, y, batch, replace, rng):
    """A function count -> (X, y, batches): batches (count, batch) indexes rows of X, y."""
    if method == "online":
        def draw(count):
            Xs = sample_inputs(teacher.inputs, count * batch, teacher.d, rng)
            return Xs, teacher(Xs), np.arange(count * batch).reshape(count, batch)
        return draw
    if replace:
        def draw(count):
            return X, y, rng.integers(0, X.shape[0], size=(count, batch))
        return draw
    return _EpochSampler(X, y, batch, rng)


class _EpochSampler:
    """Minibatches without replacement: shuffled epochs of n // batch batches (the tail of
    each shuffled epoch is dropped so that a batch never straddles two epochs)."""

    def __init__(self, X, y, batch, rng):
        self.X, self.y, self.batch, self.rng = X, y, batch, rng
        self.per_epoch = X.shape[0] // batch
        self.pos = self.per_epoch
        self.perm = None

    def __call__(self, count):
        idx = np.empty((count, self.batch), dtype=np.int64)
        for j in range(count):
            if self.pos == self.per_epoch:
                self.perm = self.rng.permutation(self.X.shape[0])
                self.pos = 0
            idx[j] = self.perm[self.pos * self.batch:(self.pos + 1) * self.batch]
            self.pos += 1
        return self.X, self.y, idx


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


def train_replicas(students: Sequence[Student], teacher: Teacher, lr: float = 0.1,
                   steps: int = 1000, tol: float | None = None,
                   record_every: int | None = None, progress: bool = False
                   ) -> list[TrainResult]:
    """Population GD for R students of one width at once, in parallel over replicas.

    Each replica follows exactly the updates ``train(s, teacher, "gd", lr=lr, ...)`` would
    make (same kernel arithmetic), and stops on its own at ``tol`` or on divergence.
    """
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
    runs = [_Run(s, np.array(s.a), np.array(s.W), "population",
                 lambda a, W, s=s: population_loss(s.with_params(a, W), teacher),
                 record_every, set()) for s in students]
    limits = np.array([DIVERGENCE_FACTOR * max(r.evaluate(r.a, r.W), 1.0) for r in runs])
    scale = input_scale(teacher)
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
