"""Objectives: what a network is trained on and what a barrier is measured in.

============== ================================================ ==================
objective      R(theta)                                         networks
============== ================================================ ==================
Population     1/2 E_x[(f(x; theta) - f*(x))^2], x ~ the        Student (closed
               teacher's input law (exact, no sampling)         form, bias-free)
Empirical      1/(2n) sum_s (f(x_s; theta) - y_s)^2             Student, MLP with
                                                                one output
Classification mean cross-entropy of softmax(z(x_s)) (``ce``)    MLP,
               or 1/2 |z(x_s) - onehot(y_s)|^2 (``mse``), with  TorchNetwork
               the error rate 1/n #{s : argmax z(x_s) != y_s}
============== ================================================ ==================

An objective also says which inputs describe the task: ``inputs(d, n, seed)`` returns its
data when it has data and otherwise draws n inputs from the input law; activation matching
and the second moments of ``weights_cov`` use them.

Which networks an objective takes is the tuple ``networks`` of ``NetworkKind``s; the loss
itself asks the network (``twolayer.network``) or its outputs, never the network's class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .losses import population_loss
from .model import Student, Teacher, check_pair
from .network import NetworkKind, network_kind
from .output_loss import ClassificationLoss, classification_loss, squared_error
from .random import SeedLike
from .validation import check_array, check_enum


class Objective(ABC):
    """A loss of a network; subclasses say which networks they accept."""

    #: the kinds of network this objective can evaluate
    networks: tuple[NetworkKind, ...] = ()

    @abstractmethod
    def loss(self, net) -> float:
        """R(theta) of ``net``."""

    def scores(self, net) -> tuple[float, float | None]:
        """(loss, error rate) in one evaluation; the error rate is None for objectives without one."""
        return self.loss(net), None

    def check(self, net) -> None:
        """Raise ``ValueError`` naming the problem if ``net`` cannot be evaluated."""
        if network_kind(net) not in self.networks:
            allowed = " or ".join(kind.value for kind in self.networks)
            raise ValueError(f"{type(self).__name__} objective takes a {allowed}; got {type(net).__name__}")

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(X, y) when the objective is a finite sample, else None."""
        return None

    @abstractmethod
    def inputs(self, d: int, n: int | None = None, seed: SeedLike = 0) -> np.ndarray:
        """Inputs describing the task: the data's X, or n draws from the input law."""

    def input_second_moment(self, d: int) -> np.ndarray:
        """E[x x^T] of shape (d, d) over the task's inputs: X^T X / n on the data."""
        X = self.inputs(d)
        return X.T @ X / X.shape[0]


@dataclass(frozen=True, eq=False)
class Population(Objective):
    """R(theta) = 1/2 E[(f(x; theta) - f*(x))^2] under the teacher's input law, in closed form.

    Parameters
    ----------
    teacher : Teacher

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 3)
    >>> tl.Population(T).loss(tl.Student(T.b, T.V))
    0.0
    """

    teacher: Teacher
    networks = (NetworkKind.STUDENT,)

    def __post_init__(self) -> None:
        if not isinstance(self.teacher, Teacher):
            raise ValueError(f"teacher must be a twolayer.Teacher; got {type(self.teacher).__name__}")

    def check(self, net) -> None:
        kind = network_kind(net)
        if kind is not None and kind not in self.networks:
            raise ValueError(f"the closed-form population loss needs a bias-free Student; got a {kind.value}: "
                             "evaluate it under an Empirical or Classification objective on data drawn with "
                             "teacher.sample(n)")
        super().check(net)
        check_pair(net, self.teacher)

    def loss(self, net: Student) -> float:
        return population_loss(net, self.teacher)

    def inputs(self, d: int, n: int | None = None, seed: SeedLike = 0) -> np.ndarray:
        if n is None:
            raise ValueError("the population objective has no data: give n, the number of inputs to draw")
        return self.teacher.inputs.sample(n, d, seed)

    def input_second_moment(self, d: int) -> np.ndarray:
        """E[x x^T] of the teacher's input law, exactly."""
        return self.teacher.inputs.second_moment(d)


@dataclass(frozen=True, eq=False)
class Empirical(Objective):
    """L(theta) = 1/(2n) sum_s (f(x_s; theta) - y_s)^2 on the data (X, y).

    Parameters
    ----------
    X : array of shape (n, d)
    y : array of shape (n,)
    """

    X: np.ndarray
    y: np.ndarray
    networks = (NetworkKind.STUDENT, NetworkKind.MLP)

    def __post_init__(self) -> None:
        X = check_array("X", self.X, 2)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", check_array("y", self.y, 1, (X.shape[0],)))

    @classmethod
    def sample(cls, teacher: Teacher, n: int, seed: SeedLike = 0) -> Empirical:
        """n examples (x_s, f*(x_s)) with x_s drawn from the teacher's input law."""
        return cls(*teacher.sample(n, seed))

    def check(self, net) -> None:
        super().check(net)
        if net.in_features != self.X.shape[1]:
            raise ValueError(f"X has {self.X.shape[1]} features; the network takes {net.in_features}")
        if net.out_features != 1:
            raise ValueError(f"the squared loss on y of shape (n,) needs a network with one output; "
                             f"got {net.out_features}")

    def loss(self, net) -> float:
        return net.empirical_loss(self.X, self.y)

    def scores_of_outputs(self, Z: np.ndarray) -> tuple[float, None]:
        """(1/(2n) sum_s (z_s - y_s)^2, None) of outputs ``Z`` of shape (n,) or (n, 1)."""
        Z = np.asarray(Z, dtype=float)
        if Z.shape not in ((self.y.size,), (self.y.size, 1)):
            raise ValueError(f"outputs must be ({self.y.size},) or ({self.y.size}, 1); got {Z.shape}")
        return squared_error(Z, self.y), None

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X, self.y

    def inputs(self, d: int, n: int | None = None, seed: SeedLike = 0) -> np.ndarray:
        return self.X


@dataclass(frozen=True, eq=False)
class Classification(Objective):
    """Mean per-example loss of a network's logits on labelled data, and its error rate.

    Parameters
    ----------
    X : array of shape (n, d), or (n, *shape) (images, signals: stored flattened)
    y : integer array of shape (n,), labels in [0, number of outputs)
    loss_kind : ClassificationLoss or {"ce", "mse"}
        Cross-entropy of softmax(z) (default) or 1/2 |z - onehot(y)|^2.
    shape : tuple of int, optional
        One example's shape for convolutional networks (channels, then length or height and
        width); default X.shape[1:].

    Examples
    --------
    >>> import numpy as np, twolayer as tl
    >>> task = tl.Classification(np.eye(3), np.array([0, 1, 2]))
    >>> net = tl.MLP.from_arrays(np.eye(3), None, 10 * np.eye(3), None)
    >>> task.error(net), round(task.loss(net), 6)
    (0.0, 9.1e-05)
    """

    X: np.ndarray
    y: np.ndarray
    loss_kind: ClassificationLoss | str = ClassificationLoss.CE
    shape: tuple[int, ...] | None = None
    networks = (NetworkKind.MLP, NetworkKind.TORCH)

    def __post_init__(self) -> None:
        X = np.asarray(self.X)
        shape = tuple(X.shape[1:]) if self.shape is None else tuple(int(s) for s in self.shape)
        X = check_array("X", X.reshape(X.shape[0], -1) if X.ndim > 2 else X, 2)
        if int(np.prod(shape)) != X.shape[1]:
            raise ValueError(f"shape {shape} does not hold the {X.shape[1]} features of a row of X")
        object.__setattr__(self, "shape", shape)
        y = np.asarray(self.y)
        if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
            raise ValueError(f"y must hold {X.shape[0]} non-negative integer labels; got {y.dtype} {y.shape}")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y.astype(np.int64))
        object.__setattr__(self, "loss_kind", check_enum("loss", self.loss_kind, ClassificationLoss))

    def check(self, net) -> None:
        super().check(net)
        if net.in_features != self.X.shape[1]:
            raise ValueError(f"X has {self.X.shape[1]} features; the network takes {net.in_features}")
        outputs = net.out_features
        if self.y.size and self.y.max() >= outputs:
            raise ValueError(f"labels reach {self.y.max()} but the network has {outputs} outputs")

    def scores(self, net) -> tuple[float, float]:
        """(mean loss, error rate) on the data (after ``check(net)``)."""
        self.check(net)
        return self.scores_of_outputs(net(self.X))

    def scores_of_outputs(self, Z: np.ndarray) -> tuple[float, float]:
        """(mean loss, error rate) of output rows ``Z`` (n, classes) for the rows of ``X``.

        Cross-entropy: mean_i [log sum_c exp Z_ic - Z_{i,y_i}]; MSE: mean_i 1/2 ||Z_i - e_{y_i}||^2
        (``twolayer.output_loss``).
        """
        Z = np.asarray(Z, dtype=float)
        if Z.ndim != 2 or Z.shape[0] != self.y.size or (self.y.size and self.y.max() >= Z.shape[1]):
            raise ValueError(f"outputs must be ({self.y.size}, classes > {self.y.max(initial=0)}); got {Z.shape}")
        value, _ = classification_loss(Z, self.y, self.loss_kind)
        return value, float(np.mean(Z.argmax(1) != self.y))

    def loss(self, net) -> float:
        return self.scores(net)[0]

    def error(self, net) -> float:
        return self.scores(net)[1]

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.X, self.y

    def inputs(self, d: int, n: int | None = None, seed: SeedLike = 0) -> np.ndarray:
        return self.X


def check_objective(objective) -> Objective:
    """``objective`` if it is an Objective, else a ``ValueError`` naming the choices."""
    if not isinstance(objective, Objective):
        raise ValueError("objective must be a twolayer objective (Population(teacher), Empirical(X, y) or "
                         f"Classification(X, y)); got {type(objective).__name__}")
    return objective
