"""Input laws: the distribution of x under which the population loss is taken.

Each law is one class; ``input_law`` is the only place a law's name is interpreted.

=========  ===========================  ===================  ==================
law        x                            E[x x^T]             moment scale s_d
=========  ===========================  ===================  ==================
Gaussian   x ~ N(0, I_d)                I_d                  1
Sphere     x ~ Unif(S^{d-1})            I_d / d              1 / d
=========  ===========================  ===================  ==================

For a function g that is positively 2-homogeneous in x (every term of the squared loss of
a bias-free ReLU network is), E_law[g(x)] = s_d E_Gaussian[g(x)], because x = |g| g/|g|
with |g|^2 independent of the direction and E|g|^2 = d. This is why every closed form of
the package is written for Gaussian inputs and multiplied by s_d.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .random import SeedLike, as_generator
from .validation import check_positive_int


class InputLaw(ABC):
    """An input distribution on R^d; subclasses define ``name``, ``moment_scale`` and ``sample``."""

    name: ClassVar[str]

    @abstractmethod
    def moment_scale(self, d: int) -> float:
        """s_d with E_law[g(x)] = s_d E_Gaussian[g(x)] for 2-homogeneous g."""

    @abstractmethod
    def _draw(self, rng: np.random.Generator, n: int, d: int) -> np.ndarray:
        """n rows drawn with ``rng``."""

    def sample(self, n: int, d: int, seed: SeedLike = 0) -> np.ndarray:
        """n inputs in R^d, of shape (n, d).

        Examples
        --------
        >>> Sphere().sample(3, 4, seed=0).shape
        (3, 4)
        """
        n = check_positive_int("n", n)
        d = check_positive_int("d", d)
        return self._draw(as_generator(seed), n, d)

    def second_moment(self, d: int) -> np.ndarray:
        """E[x x^T] = s_d I_d, of shape (d, d)."""
        return np.eye(d) * self.moment_scale(d)

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Gaussian(InputLaw):
    """x ~ N(0, I_d)."""

    name: ClassVar[str] = "gaussian"

    def moment_scale(self, d: int) -> float:
        return 1.0

    def _draw(self, rng, n, d):
        return rng.standard_normal((n, d))


@dataclass(frozen=True)
class Sphere(InputLaw):
    """x uniform on the unit sphere S^{d-1} (a normalised Gaussian)."""

    name: ClassVar[str] = "sphere"

    def moment_scale(self, d: int) -> float:
        return 1.0 / d

    def _draw(self, rng, n, d):
        X = rng.standard_normal((n, d))
        return X / np.linalg.norm(X, axis=1, keepdims=True)


#: every law by name (adding a law: one class and one entry here)
INPUT_LAWS: dict[str, InputLaw] = {law.name: law for law in (Gaussian(), Sphere())}


def input_law(law: InputLaw | str) -> InputLaw:
    """The law itself, or the law of that name; anything else is a ``ValueError``.

    Examples
    --------
    >>> input_law("sphere")
    Sphere()
    """
    if isinstance(law, InputLaw):
        return law
    if isinstance(law, str) and law in INPUT_LAWS:
        return INPUT_LAWS[law]
    raise ValueError(f"inputs must be an InputLaw or one of {', '.join(map(repr, INPUT_LAWS))}; got {law!r}")
