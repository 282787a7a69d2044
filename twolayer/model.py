"""Teacher and student two-layer ReLU networks.

Teacher  f*(x) = sum_{j<=k} b_j sigma(v_j . x),           V of shape (k, d)
Student  f(x; theta) = c sum_{i<=m} a_i sigma(w_i . x),   W of shape (m, d)

with sigma = ReLU, c = 1 (``standard``) or 1/m (``meanfield``). The input law
(``twolayer.laws``: Gaussian or Sphere) belongs to the teacher, which defines the task.

The student has no biases: the closed-form population loss (``twolayer.losses``) needs
sigma(w . x) to be 1-homogeneous in x. A two-layer network with biases is an ``MLP`` with one
hidden layer (``twolayer.convert``), analysed under an empirical objective.

The output mass of neuron i is rho_i = c |a_i| |w_i| (``output_mass``): what the neuron adds to
the function's scale, the weight of its direction w_i/|w_i| in the network's measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .init import Init, Scaling, check_scaling, legacy_init
from .laws import InputLaw, input_law
from .network import NetworkKind
from .permutation import PermutationSpec
from .random import SeedLike, as_generator
from .validation import check_array, check_positive_float, check_positive_int


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


def relu_forward(X: np.ndarray, W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """sum_i a_i sigma(w_i . x) for every row x of X."""
    return np.maximum(X @ W.T, 0.0) @ a


def output_mass(a: np.ndarray, W: np.ndarray, c: float = 1.0) -> np.ndarray:
    """rho_i = c |a_i| |w_i| of neurons (a_i, w_i), shape (m,).

    Examples
    --------
    >>> output_mass(np.array([2.0, -1.0]), np.array([[3.0, 4.0], [0.0, 1.0]]), 0.5).tolist()
    [5.0, 0.5]
    """
    return c * np.abs(a) * np.linalg.norm(W, axis=1)


@dataclass(frozen=True, eq=False)
class Teacher:
    """Teacher network f*(x) = sum_j b_j sigma(v_j . x) and its input law.

    Parameters
    ----------
    V : array of shape (k, d)
        Teacher directions v_j.
    b : array of shape (k,)
        Output weights b_j.
    inputs : InputLaw or str
        The input law (``Gaussian()``, ``Sphere()``, or their names ``"gaussian"``, ``"sphere"``).
    """

    V: np.ndarray
    b: np.ndarray
    inputs: InputLaw | str = "gaussian"

    def __post_init__(self) -> None:
        V = check_array("V (teacher directions)", self.V, 2)
        b = check_array("b (teacher output weights)", self.b, 1, (V.shape[0],))
        object.__setattr__(self, "inputs", input_law(self.inputs))
        object.__setattr__(self, "V", _frozen(V))
        object.__setattr__(self, "b", _frozen(b))

    @property
    def k(self) -> int:
        return self.V.shape[0]

    @property
    def d(self) -> int:
        return self.V.shape[1]

    @property
    def output_mass(self) -> np.ndarray:
        """|b_j| |v_j| of shape (k,) (module docstring)."""
        return output_mass(self.b, self.V)

    @classmethod
    def orthonormal(cls, k: int, d: int, b: np.ndarray | float = 1.0,
                    inputs: InputLaw | str = "gaussian") -> Teacher:
        """v_j = e_j (j = 1..k); requires k <= d."""
        k = check_positive_int("k", k)
        d = check_positive_int("d", d)
        if k > d:
            raise ValueError(f"k must be <= d for an orthonormal teacher; got k={k}, d={d}")
        return cls(np.eye(k, d), np.broadcast_to(np.asarray(b, dtype=float), (k,)), inputs)

    @classmethod
    def random(cls, k: int, d: int, seed: SeedLike = 0, b: np.ndarray | float = 1.0,
               inputs: InputLaw | str = "gaussian") -> Teacher:
        """v_j uniform on the unit sphere S^{d-1}, independently."""
        k = check_positive_int("k", k)
        d = check_positive_int("d", d)
        V = as_generator(seed).standard_normal((k, d))
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        return cls(V, np.broadcast_to(np.asarray(b, dtype=float), (k,)), inputs)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return relu_forward(np.asarray(X, dtype=float), self.V, self.b)

    def sample(self, n: int, seed: SeedLike = 0) -> tuple[np.ndarray, np.ndarray]:
        """(X, y): n inputs of shape (n, d) drawn from the input law, and y = f*(X)."""
        X = self.inputs.sample(n, self.d, seed)
        return X, self(X)


@dataclass(frozen=True, eq=False)
class Student:
    """Student network f(x) = c sum_i a_i sigma(w_i . x), sigma = ReLU, without biases.

    Parameters
    ----------
    a : array of shape (m,)
        Output weights.
    W : array of shape (m, d)
        Hidden neurons w_i (rows).
    scaling : Scaling or {"standard", "meanfield"}
        c = 1 or c = 1/m (stored as a ``Scaling``).
    train_output : bool
        If False the output weights are frozen (``init`` sets them to 1).

    Examples
    --------
    >>> s = Student.init(8, 3, scale=0.1, seed=0, balanced=True)
    >>> s.m, s.d, s.c
    (8, 3, 1.0)
    """

    a: np.ndarray
    W: np.ndarray
    scaling: Scaling | str = Scaling.STANDARD
    train_output: bool = True
    _c: float = field(init=False, repr=False)
    kind: ClassVar[NetworkKind] = NetworkKind.STUDENT

    def __post_init__(self) -> None:
        W = check_array("W (student first layer)", self.W, 2)
        a = check_array("a (student output weights)", self.a, 1, (W.shape[0],))
        scaling = check_scaling(self.scaling)
        if not isinstance(self.train_output, (bool, np.bool_)):
            raise ValueError(f"train_output must be True or False; got {self.train_output!r}")
        object.__setattr__(self, "W", _frozen(W))
        object.__setattr__(self, "a", _frozen(a))
        object.__setattr__(self, "scaling", scaling)
        object.__setattr__(self, "_c", scaling.c(W.shape[0]))

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

    @property
    def output_mass(self) -> np.ndarray:
        """rho_i = c |a_i| |w_i| of shape (m,) (module docstring)."""
        return output_mass(self.a, self.W, self.c)

    @classmethod
    def init(cls, m: int, d: int, scale: float = 1.0, seed: SeedLike = 0, balanced: bool = False,
             scaling: Scaling | str = Scaling.STANDARD, train_output: bool = True, init: Init | None = None
             ) -> Student:
        """A student drawn by an initialisation scheme (``twolayer.init``).

        Parameters
        ----------
        m, d : int
            Width and input dimension.
        scale, balanced, scaling : float, bool, Scaling or str
            The older arguments, kept: without ``init`` they select ``SmallScale(scale, balanced)``
            (``MeanField(scale, balanced)`` when scaling is "meanfield"): w_i ~ N(0, s^2 I_d / d),
            a_i ~ N(0, s^2) or a_i = +-|w_i|.
        seed : SeedLike
            The draw's random stream.
        train_output : bool
            If False the output weights are frozen at a_i = 1 (the scheme draws W only).
        init : Init, optional
            The scheme (``SmallScale``, ``PyTorchDefault``, ``LeCunNormal``, ``MeanField``); it
            fixes the output scaling; not together with scale, balanced or scaling.

        Examples
        --------
        >>> from twolayer.init import PyTorchDefault
        >>> Student.init(4, 3, init=PyTorchDefault(), seed=0).m
        4
        """
        m = check_positive_int("m", m)
        d = check_positive_int("d", d)
        scaling = check_scaling(scaling)
        if init is None:
            init = legacy_init(check_positive_float("scale", scale), balanced, scaling)
        elif not isinstance(init, Init):
            raise ValueError(f"init must be a twolayer.init.Init scheme; got {init!r}")
        elif (scale, balanced, scaling) != (1.0, False, Scaling.STANDARD):
            raise ValueError("give either init or the older scale/balanced/scaling arguments, not both")
        a, W = init.draw(m, d, as_generator(seed))
        return cls(a if train_output else np.ones(m), W, init.scaling, train_output)

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

    # the network protocol of ``twolayer.network``
    @property
    def structure(self) -> tuple:
        return ("Student", self.m, self.d, self.scaling.value, self.train_output)

    def arrays(self) -> dict[str, np.ndarray]:
        """{"a": a, "W": W}."""
        return {"a": self.a, "W": self.W}

    def with_arrays(self, arrays) -> Student:
        return self.with_params(arrays["a"], arrays["W"])

    def permutation_spec(self) -> PermutationSpec:
        """One permutation P of the m hidden neurons, acting on a (axis 0) and W (axis 0)."""
        return STUDENT_SPEC

    def hidden(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{"P": sigma(X W^T)}, of shape (n, m)."""
        return {"P": np.maximum(np.asarray(X, dtype=float) @ self.W.T, 0.0)}

    @property
    def in_features(self) -> int:
        """d, the input dimension."""
        return self.d

    @property
    def out_features(self) -> int:
        """1: the student has one output."""
        return 1

    @property
    def has_batch_norm(self) -> bool:
        return False

    def with_batch_stats(self, X: np.ndarray, copy: bool = True) -> Student:
        """The student itself (it has no BatchNorm)."""
        return self

    def second_moments(self, objective) -> dict[str, np.ndarray]:
        """{"W": Sigma}, Sigma = E[x x^T] of the objective's inputs (its law's, or its data's)."""
        return {"W": objective.input_second_moment(self.d)}

    def empirical_loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """1/(2n) sum_s (f(x_s) - y_s)^2 by the numba kernel (``twolayer.losses.empirical_loss``)."""
        from .losses import empirical_loss  # losses builds on this module

        return empirical_loss(self, X, y)

    def loss_and_grads(self, objective) -> tuple[float, dict[str, np.ndarray]]:
        """(R, {"a": dR/da, "W": dR/dW}): the exact population loss under a ``Population`` objective,
        the empirical loss on the data of any other."""
        from .losses import empirical_loss_and_grad, population_loss_and_grad  # they build on this module
        from .objective import Population

        if isinstance(objective, Population):
            loss, ga, gW = population_loss_and_grad(self, objective.teacher)
        else:
            X, y = objective.data
            loss, ga, gW = empirical_loss_and_grad(self, X, y)
        return loss, {"a": ga, "W": gW}

    def pre_activations(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """{"P": X W^T}, of shape (n, m)."""
        return {"P": np.asarray(X, dtype=float) @ self.W.T}

    def with_unit_affine(self, name: str, scale: np.ndarray, shift: np.ndarray) -> Student:
        """The student whose pre-activations are scale_i (w_i . x): bias-free, it cannot shift them."""
        if np.any(shift != 0):
            raise ValueError("repair='repair' on data shifts the units' means, which needs biases; a bias-free Student "
                             "takes repair='rescale' on data, or the exact form under a Population objective")
        return self.with_params(self.a, self.W * np.asarray(scale)[:, None])


STUDENT_SPEC = PermutationSpec({"P": (("a", 0), ("W", 0))})


def check_student(name: str, student, allowed: str = "a twolayer.Student") -> Student:
    """``student`` if it is a ``Student``, else a ``ValueError`` naming the field and what it takes."""
    if not isinstance(student, Student):
        raise ValueError(f"{name} must be {allowed}; got {type(student).__name__}")
    return student


def check_pair(student: Student, teacher: Teacher) -> None:
    """Student and teacher must share the input dimension."""
    check_student("student", student)
    if not isinstance(teacher, Teacher):
        raise ValueError(f"teacher must be a twolayer.Teacher; got {type(teacher).__name__}")
    if student.d != teacher.d:
        raise ValueError(f"student.d ({student.d}) must equal teacher.d ({teacher.d})")
