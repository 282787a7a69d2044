"""Initialisation schemes of the student, and where each sits on the Luo et al. phase diagram.

Each scheme is one class (like the input laws of ``twolayer.laws``); ``init_scheme`` is the only
place a scheme's name is interpreted. A scheme draws the output weights a (shape (m,)) and the
hidden neurons W (shape (m, d)) and says which output scale c the student uses
(f(x) = c sum_i a_i sigma(w_i . x), c = 1 or 1/m).

=============  =============================  ==========================  =====  ============
scheme         a_i                            w_i                         c      regime (m->inf)
=============  =============================  ==========================  =====  ============
SmallScale(s)  N(0, s^2) or +-|w_i| balanced  N(0, s^2 I_d / d)           1      condensed*
PyTorchDefault U(-1/sqrt(m), 1/sqrt(m))       U(-1/sqrt(d), 1/sqrt(d))^d  1      linear
LeCunNormal    N(0, 1/m)                      N(0, I_d / d)               1      linear
MeanField(s)   N(0, s^2) or +-|w_i| balanced  N(0, s^2 I_d / d)           1/m    critical
=============  =============================  ==========================  =====  ============

Phase diagram (Luo, Xu, Ma & Zhang 2021). For f(x) = (1/alpha) sum_k a_k sigma(w_k . x) with a_k
of scale beta_1 and w_k of scale beta_2,

    gamma  = lim_{m->inf} -log(beta_1 beta_2 / alpha) / log m,
    gamma' = lim_{m->inf} -log(beta_1 / beta_2) / log m;

the linear regime is gamma < 1 or gamma' > gamma - 1, the condensed regime gamma > 1 and
gamma' < gamma - 1, the critical regime their boundary (gamma = 1 for gamma' <= 0, and
gamma' = gamma - 1 for gamma >= 1). Here beta_1 = (E a_i^2)^(1/2) and beta_2 = (E |w_i|^2)^(1/2),
the scale of the pre-activation w_i . x for x ~ N(0, I_d). Luo et al. write w ~ N(0, beta_2^2 I_d),
whose |w| is sqrt(d) times larger: a factor fixed in m, which changes no limit.

* A scheme whose scales are fixed numbers (SmallScale(s), s fixed) has gamma = gamma' = 0 in
  the limit: the *linear* regime, however small s. Its location at a finite width m is the
  *effective* pair gamma_m = -log(beta_1 beta_2 / alpha) / log m, gamma'_m = -log(beta_1 / beta_2)
  / log m (``Init.exponents(m)``); SmallScale(1e-3) at m = 16 has gamma_m = -log(1e-6) / log 16
  = 4.98, deep in the condensed region, and stays there until m = 1e6 (* in the table: condensed
  at every width simulated, linear only in the limit).
* The same effective pair is given for every scheme, so that a figure can place each run; for
  the schemes that scale with m it tends to the limit as 1 / log m.

References
----------
T. Luo, Z.-Q. J. Xu, Z. Ma, Y. Zhang, "Phase diagram for two-layer ReLU neural networks at
infinite-width limit", JMLR 22(71), 2021.
PyTorch ``torch.nn.Linear.reset_parameters``: ``kaiming_uniform_(weight, a=sqrt(5))``, i.e.
U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .validation import check_enum, check_positive_float, check_positive_int


class Scaling(enum.Enum):
    """The student's output scale c in f(x) = c sum_i a_i sigma(w_i . x)."""

    STANDARD = "standard"    #: c = 1
    MEANFIELD = "meanfield"  #: c = 1/m

    def c(self, m: int) -> float:
        """c at width m.

        Examples
        --------
        >>> Scaling.MEANFIELD.c(4)
        0.25
        """
        return 1.0 if self is Scaling.STANDARD else 1.0 / m


def check_scaling(scaling) -> Scaling:
    """``scaling`` as a ``Scaling`` (a member or its value), else a ``ValueError`` naming the field."""
    return check_enum("scaling", scaling, Scaling)


class Regime(str, enum.Enum):
    """The three regimes of the Luo et al. phase diagram."""

    LINEAR = "linear"
    CRITICAL = "critical"
    CONDENSED = "condensed"


@dataclass(frozen=True)
class PhasePoint:
    """A point (gamma, gamma') of the phase diagram and its regime."""

    gamma: float
    gamma_prime: float

    @property
    def regime(self) -> Regime:
        """Linear if gamma < 1 or gamma' > gamma - 1; condensed if gamma > 1 and gamma' < gamma - 1;
        critical on the boundary (compared to 1e-12)."""
        g, gp = self.gamma, self.gamma_prime
        tol = 1e-12
        if g < 1 - tol or gp > g - 1 + tol:
            return Regime.LINEAR
        if g > 1 + tol and gp < g - 1 - tol:
            return Regime.CONDENSED
        return Regime.CRITICAL


def _bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


class Init(ABC):
    """An initialisation scheme of the student; subclasses define ``name``, ``scaling``,
    ``_draw`` and ``scales``."""

    name: ClassVar[str]
    #: the student's output scale: "standard" (c = 1) or "meanfield" (c = 1/m)
    scaling: ClassVar[str] = "standard"

    @abstractmethod
    def _draw(self, rng: np.random.Generator, m: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        """(a, W) of shapes (m,) and (m, d), drawn with ``rng``."""

    @abstractmethod
    def scales(self, m: int, d: int) -> tuple[float, float, float]:
        """(beta_1, beta_2, alpha): (E a_i^2)^(1/2), (E |w_i|^2)^(1/2) and the divisor alpha = 1/c."""

    def draw(self, m: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(a, W): output weights of shape (m,) and hidden neurons of shape (m, d).

        Examples
        --------
        >>> a, W = PyTorchDefault().draw(4, 3, np.random.default_rng(0))
        >>> a.shape, W.shape
        ((4,), (4, 3))
        """
        m = check_positive_int("m", m)
        d = check_positive_int("d", d)
        return self._draw(rng, m, d)

    def exponents(self, m: int | None = None, d: int = 1) -> PhasePoint:
        """(gamma, gamma') of the phase diagram: the limit m -> inf (``m=None``), or the effective
        pair -log(beta_1 beta_2 / alpha) / log m, -log(beta_1 / beta_2) / log m at width m >= 2
        (module docstring).

        Examples
        --------
        >>> LeCunNormal().exponents().regime
        <Regime.LINEAR: 'linear'>
        >>> round(SmallScale(1e-3).exponents(16).gamma, 2)
        4.98
        """
        if m is None:
            return self._limit()
        m = check_positive_int("m", m, minimum=2)
        b1, b2, alpha = self.scales(m, check_positive_int("d", d))
        return PhasePoint(float(-np.log(b1 * b2 / alpha) / np.log(m)) + 0.0, float(-np.log(b1 / b2) / np.log(m)) + 0.0)

    def _limit(self) -> PhasePoint:
        """The limit of the effective pair: (log-ratio at two widths) = its slope in log m."""
        m1, m2 = 2.0**20, 2.0**40  # the schemes' scales are powers of m, so the slope is exact
        p1, p2 = (self.scales(int(m), 1) for m in (m1, m2))
        slope = [-(np.log(f(p2)) - np.log(f(p1))) / (np.log(m2) - np.log(m1))
                 for f in (lambda p: p[0] * p[1] / p[2], lambda p: p[0] / p[1])]
        return PhasePoint(float(round(slope[0], 12)) + 0.0, float(round(slope[1], 12)) + 0.0)  # + 0.0: no -0.0

    def regime(self, m: int | None = None, d: int = 1) -> Regime:
        """The regime at the limit (``m=None``) or at the effective location of width m."""
        return self.exponents(m, d).regime


@dataclass(frozen=True)
class SmallScale(Init):
    """w_i ~ N(0, s^2 I_d / d) (so |w_i| ~ s); a_i ~ N(0, s^2), or a_i = +-|w_i| with a random sign
    when ``balanced``; c = 1. The project's scheme (s = 1e-3, balanced): condensed at every
    finite width simulated (effective gamma_m = -2 log s / log m), linear only in the limit."""

    s: float = 1e-3
    balanced: bool = True
    name: ClassVar[str] = "small"

    def __post_init__(self):
        object.__setattr__(self, "s", check_positive_float("s (initialisation scale)", self.s))
        object.__setattr__(self, "balanced", _bool("balanced", self.balanced))

    def _draw(self, rng, m, d):
        W = rng.standard_normal((m, d)) * (self.s / np.sqrt(d))
        a = (rng.choice([-1.0, 1.0], size=m) * np.linalg.norm(W, axis=1) if self.balanced
             else rng.standard_normal(m) * self.s)
        return a, W

    def scales(self, m, d):
        return self.s, self.s, 1.0


@dataclass(frozen=True)
class MeanField(SmallScale):
    """SmallScale's draw (default s = 1, unbalanced) with the output scaled by c = 1/m: the
    mean-field parametrisation, critical (gamma = 1, gamma' = 0)."""

    s: float = 1.0
    balanced: bool = False
    name: ClassVar[str] = "meanfield"
    scaling: ClassVar[Scaling] = Scaling.MEANFIELD

    def scales(self, m, d):
        return self.s, self.s, float(m)


@dataclass(frozen=True)
class PyTorchDefault(Init):
    """Exactly what ``torch.nn.Linear(fan_in, fan_out, bias=False)`` draws for the two layers:
    W_ij ~ U(-1/sqrt(d), 1/sqrt(d)) (fan_in d) and a_i ~ U(-1/sqrt(m), 1/sqrt(m)) (fan_in m),
    independent; c = 1. nn.Linear's biases (U(+-1/sqrt(fan_in)) by default) have no counterpart:
    the student has none (``twolayer.model``), so this is the default of a bias-free network.
    Scales: E a^2 = 1/(3m), E|w|^2 = 1/3; linear regime (gamma = gamma' = 1/2)."""

    name: ClassVar[str] = "pytorch"

    def _draw(self, rng, m, d):
        W = rng.uniform(-1.0, 1.0, (m, d)) / np.sqrt(d)
        a = rng.uniform(-1.0, 1.0, m) / np.sqrt(m)
        return a, W

    def scales(self, m, d):
        return 1.0 / np.sqrt(3.0 * m), 1.0 / np.sqrt(3.0), 1.0


@dataclass(frozen=True)
class LeCunNormal(Init):
    """a_i ~ N(0, 1/m), w_i ~ N(0, I_d / d) (LeCun normal for both layers; the NTK scaling's
    function at initialisation); c = 1. Linear regime (gamma = gamma' = 1/2)."""

    name: ClassVar[str] = "lecun"

    def _draw(self, rng, m, d):
        W = rng.standard_normal((m, d)) / np.sqrt(d)
        a = rng.standard_normal(m) / np.sqrt(m)
        return a, W

    def scales(self, m, d):
        return 1.0 / np.sqrt(m), 1.0, 1.0


#: every scheme by name (adding a scheme: one class and one entry here)
INIT_SCHEMES: dict[str, type[Init]] = {c.name: c for c in (SmallScale, MeanField, PyTorchDefault, LeCunNormal)}


def init_scheme(name: str, s: float | None = None, balanced: bool | None = None) -> Init:
    """The scheme of that name; ``s`` and ``balanced`` apply to "small" and "meanfield" only.

    Examples
    --------
    >>> init_scheme("small", s=0.1)
    SmallScale(s=0.1, balanced=True)
    """
    if name not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {', '.join(map(repr, INIT_SCHEMES))}; got {name!r}")
    kind = INIT_SCHEMES[name]
    params = {k: v for k, v in (("s", s), ("balanced", balanced)) if v is not None}
    if params and not issubclass(kind, SmallScale):
        raise ValueError(f"init {name!r} takes no scale or balance; got {params}")
    return kind(**params)


def legacy_init(scale: float, balanced: bool, scaling: Scaling) -> Init:
    """The scheme of ``Student.init``'s older arguments (scale, balanced, scaling): SmallScale, or
    MeanField when scaling is meanfield; the one place they are translated."""
    kind = MeanField if scaling is Scaling.MEANFIELD else SmallScale
    return kind(s=scale, balanced=balanced)
