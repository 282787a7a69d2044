"""Teacher and student two-layer ReLU networks.

Teacher  f*(x) = sum_{j<=k} b_j sigma(v_j . x),           V of shape (k, d)
Student  f(x; theta) = c sum_{i<=m} a_i sigma(w_i . x),   W of shape (m, d)

with sigma = ReLU, c = 1 (``standard``) or 1/m (``meanfield``). The input law
(``gaussian``: x ~ N(0, I_d); ``sphere``: x ~ Unif(S^{d-1})) belongs to the teacher,
which defines the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_array, check_choice, check_positive_float, check_positive_int

INPUT_LAWS = ("gaussian", "sphere")
SCALINGS = ("standard", "meanfield")

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int, a SeedSequence, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, np.random.SeedSequence):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer or a SeedSequence; got {seed!r}")
    return np.random.default_rng(seed)


def child_seeds(seed: SeedLike, count: int) -> list[np.random.SeedSequence]:
    """The first ``count`` children of ``SeedSequence(seed)``, without mutating ``seed``.

    Equal to ``SeedSequence(seed).spawn(count)`` for an int seed; a Generator contributes
    one draw from its stream.
    """
    if isinstance(seed, np.random.Generator):
        base = np.random.SeedSequence(int(seed.integers(2**63)))
    elif isinstance(seed, np.random.SeedSequence):
        base = seed
    else:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed must be a non-negative integer or a SeedSequence; got {seed!r}")
        base = np.random.SeedSequence(seed)
    return [np.random.SeedSequence(base.entropy, spawn_key=base.spawn_key + (i,),
                                   pool_size=base.pool_size) for i in range(count)]


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


def relu_forward(X: np.ndarray, W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """sum_i a_i sigma(w_i . x) for every row x of X."""
    return np.maximum(X @ W.T, 0.0) @ a


@dataclass(frozen=True, eq=False)
class Teacher:
    """Teacher network f*(x) = sum_j b_j sigma(v_j . x) and its input law."""

    V: np.ndarray
    b: np.ndarray
    inputs: str = "gaussian"

    def __post_init__(self) -> None:
        V = check_array("V (teacher directions)", self.V, 2)
        b = check_array("b (teacher output weights)", self.b, 1, (V.shape[0],))
        check_choice("inputs", self.inputs, INPUT_LAWS)
        object.__setattr__(self, "V", _frozen(V))
        object.__setattr__(self, "b", _frozen(b))

    @property
    def k(self) -> int:
        return self.V.shape[0]

    @property
    def d(self) -> int:
        return self.V.shape[1]

    @classmethod
    def orthonormal(cls, k: int, d: int, b: np.ndarray | float = 1.0,
                    inputs: str = "gaussian") -> Teacher:
        """v_j = e_j (j = 1..k); requires k <= d."""
        k = check_positive_int("k", k)
        d = check_positive_int("d", d)
        if k > d:
            raise ValueError(f"k must be <= d for an orthonormal teacher; got k={k}, d={d}")
        return cls(np.eye(k, d), np.broadcast_to(np.asarray(b, dtype=float), (k,)), inputs)

    @classmethod
    def random(cls, k: int, d: int, seed: SeedLike = 0, b: np.ndarray | float = 1.0,
               inputs: str = "gaussian") -> Teacher:
        """v_j uniform on the unit sphere S^{d-1}, independently."""
        k = check_positive_int("k", k)
        d = check_positive_int("d", d)
        V = as_generator(seed).standard_normal((k, d))
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        return cls(V, np.broadcast_to(np.asarray(b, dtype=float), (k,)), inputs)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return relu_forward(np.asarray(X, dtype=float), self.V, self.b)


@dataclass(frozen=True, eq=False)
class Student:
    """Student network f(x) = c sum_i a_i sigma(w_i . x).

    ``scaling``: ``standard`` (c = 1) or ``meanfield`` (c = 1/m).
    ``train_output``: if False the output weights are frozen (``init`` sets them to 1).
    """

    a: np.ndarray
    W: np.ndarray
    scaling: str = "standard"
    train_output: bool = True
    _c: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        W = check_array("W (student first layer)", self.W, 2)
        a = check_array("a (student output weights)", self.a, 1, (W.shape[0],))
        check_choice("scaling", self.scaling, SCALINGS)
        if not isinstance(self.train_output, (bool, np.bool_)):
            raise ValueError(f"train_output must be True or False; got {self.train_output!r}")
        object.__setattr__(self, "W", _frozen(W))
        object.__setattr__(self, "a", _frozen(a))
        object.__setattr__(self, "_c", 1.0 if self.scaling == "standard" else 1.0 / W.shape[0])

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]

    @property
    def c(self) -> float:
        """Output scale c: 1 (standard) or 1/m (meanfield)."""
        return self._c

    @classmethod
    def init(cls, m: int, d: int, scale: float = 1.0, seed: SeedLike = 0, balanced: bool = False,
             scaling: str = "standard", train_output: bool = True) -> Student:
        """Random initialisation with scale s.

        w_i ~ N(0, s^2 I_d / d) (so |w_i| ~ s); a_i ~ N(0, s^2), or a_i = +-|w_i| with a random
        sign when ``balanced``; a_i = 1 when the output layer is frozen.
        """
        m = check_positive_int("m", m)
        d = check_positive_int("d", d)
        scale = check_positive_float("scale", scale)
        rng = as_generator(seed)
        W = rng.standard_normal((m, d)) * (scale / np.sqrt(d))
        if not train_output:
            a = np.ones(m)
        elif balanced:
            a = rng.choice([-1.0, 1.0], size=m) * np.linalg.norm(W, axis=1)
        else:
            a = rng.standard_normal(m) * scale
        return cls(a, W, scaling, train_output)

    def with_params(self, a: np.ndarray, W: np.ndarray) -> Student:
        """A student with the same scaling and output mode and new parameters."""
        return Student(a, W, self.scaling, self.train_output)

    @property
    def theta(self) -> np.ndarray:
        """Flat parameter vector (a, W) if the output is trained, else W only."""
        w = self.W.ravel()
        return np.concatenate([self.a, w]) if self.train_output else w.copy()

    def with_theta(self, theta: np.ndarray) -> Student:
        """Inverse of ``theta``."""
        theta = np.asarray(theta, dtype=float).ravel()
        size = self.m * self.d + (self.m if self.train_output else 0)
        if theta.size != size:
            raise ValueError(f"theta must have {size} entries; got {theta.size}")
        if self.train_output:
            return self.with_params(theta[: self.m], theta[self.m:].reshape(self.m, self.d))
        return self.with_params(self.a, theta.reshape(self.m, self.d))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.c * relu_forward(np.asarray(X, dtype=float), self.W, self.a)


def check_pair(student: Student, teacher: Teacher) -> None:
    """Student and teacher must share the input dimension."""
    if not isinstance(student, Student):
        raise ValueError(f"student must be a twolayer.Student; got {type(student).__name__}")
    if not isinstance(teacher, Teacher):
        raise ValueError(f"teacher must be a twolayer.Teacher; got {type(teacher).__name__}")
    if student.d != teacher.d:
        raise ValueError(f"student.d ({student.d}) must equal teacher.d ({teacher.d})")
