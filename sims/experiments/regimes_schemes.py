"""The regimes experiment's schemes, rates and tolerances, shared by its runs (``regimes``), its
analysis (``regimes_analysis``), its figures (``regimes_plot``) and its table (``regimes_table``)."""

from __future__ import annotations

import enum

import twolayer as tl


class Scheme(str, enum.Enum):
    """The initialisation schemes compared (config field ``init``); ``SCHEMES`` gives each one's Init."""

    SMALL = "small"
    PYTORCH = "pytorch"
    LECUN = "lecun"
    MEANFIELD = "meanfield"


#: the one place a config's scheme becomes an Init
SCHEMES: dict[Scheme, tl.Init] = {Scheme.SMALL: tl.SmallScale(1e-3, True), Scheme.PYTORCH: tl.PyTorchDefault(),
                                  Scheme.LECUN: tl.LeCunNormal(), Scheme.MEANFIELD: tl.MeanField(1.0)}
#: lr_rel below the sparsity transition, and inside it: inside the window [lazy-unstable, catapult]
#: ~ [1.05, 2.1] that theory.stability.lr_window predicts for O(1) inits (figures/paper/lr.json); for
#: the small init lr's s = 0.01 transition sits at 0.68 and GD diverges from 1.0, so 0.8
RATES = {"below": 0.5, "inside": {Scheme.SMALL: 0.8}}
INSIDE_DEFAULT = 1.26
#: the stopping rule examined: the state at the first checkpoint where both losses are <= this
STOP_LOSS = 1e-7
#: the protocol of the other width experiments (loss 1e-9), kept for a sample of pairs that tests the
#: stopping rule; every other run stops at STOP_LOSS (``stopping_rule`` in the JSON: the ratio of the two barriers
#: on that sample; not yet validated: a few pairs, all below 1)
PROTOCOL_TOL = 1e-9
K = 2


def inside_rate(scheme: Scheme) -> float:
    return RATES["inside"].get(scheme, INSIDE_DEFAULT)
