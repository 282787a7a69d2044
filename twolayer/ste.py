"""Git Re-Basin's straight-through estimator (STE): a permutation learned on the midpoint loss.

A free copy theta~ of B's weights (in A's frame) is projected on B's orbit by weight matching,
pi = argmax_pi <theta~, pi(theta_B)>, and the midpoint network theta_mid = (theta_A + pi(theta_B))/2
is evaluated; the gradient is passed straight through the projection, d theta_mid / d theta~ = I/2,
so that theta~ moves by Adam along -grad R(theta_mid) / 2. Here theta~ starts at weight
matching's alignment pi_0(theta_B), so the first midpoint is weight matching's, and the best
permutation seen is returned: the midpoint loss never ends above weight matching's.

Gradients: each network's ``loss_and_grads(objective)`` (``twolayer.network``): students through
the exact population loss (or the empirical loss) gradient, MLPs by backpropagation, PyTorch
networks through autograd, all under the objective's loss.

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin: merging models modulo permutation
symmetries. ICLR 2023. arXiv:2209.04836 (Section 3.3, the straight-through estimator).
D. P. Kingma, J. Ba. Adam: a method for stochastic optimization. ICLR 2015.
"""

from __future__ import annotations

import numpy as np

from .matching import weight_matching
from .objective import Objective
from .permutation import permute_arrays
from .validation import check_positive_float, check_positive_int

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def straight_through(A, B, objective: Objective | None, steps: int = 100, lr: float = 0.01,
                     seed=0) -> tuple[dict[str, np.ndarray], dict]:
    """Permutations of B learned by the straight-through estimator on the midpoint loss.

    .. math::

        \\pi_k = \\arg\\max_\\pi \\langle \\tilde\\theta_k, \\pi(\\theta_B) \\rangle, \\quad
        \\tilde\\theta_{k+1} = \\mathrm{Adam}\\big(\\tilde\\theta_k, \\tfrac12 \\nabla R(\\tfrac12(\\theta_A
        + \\pi_k(\\theta_B)))\\big), \\quad \\tilde\\theta_0 = \\pi_{\\rm wm}(\\theta_B)

    Parameters
    ----------
    A, B : Student, MLP or TorchNetwork
        Networks of one structure.
    objective : Objective
        The loss: ``Population`` or ``Empirical`` for students, ``Classification`` otherwise.
    steps : int
        Adam steps (each: one weight matching and one gradient).
    lr : float > 0
        Adam's step size, in units of the weights.
    seed : int
        Weight matching's layer order.

    Returns
    -------
    perms : dict name -> array
        The permutations of the least midpoint loss seen.
    info : dict
        ``objective`` (that midpoint loss), ``midpoint_loss_start`` (weight matching's),
        ``sweeps`` (steps), ``best_step``.

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 3)
    >>> A, B = tl.Student.init(6, 3, seed=0), tl.Student.init(6, 3, seed=1)
    >>> res = tl.match(A, B, "ste", tl.Population(T), steps=20)
    >>> bool(res.info["objective"] <= res.info["midpoint_loss_start"])
    True

    References
    ----------
    S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
    """
    if objective is None:
        raise ValueError("method='ste' needs an objective (the midpoint loss it lowers)")
    steps = check_positive_int("steps", steps, minimum=0)
    lr = check_positive_float("lr", lr)
    spec = A.permutation_spec()
    arrays_A, arrays_B = A.arrays(), B.arrays()
    perms, _ = weight_matching(spec, arrays_A, arrays_B, seed=seed)
    free = permute_arrays(spec, perms, arrays_B)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in free.items()}
    best, best_loss, start_loss, best_step = perms, np.inf, None, 0
    beta1, beta2 = ADAM_BETAS
    for step in range(steps + 1):
        if step:
            perms, _ = weight_matching(spec, free, arrays_B, seed=seed, start=perms)
        aligned = permute_arrays(spec, perms, arrays_B)
        loss, grads = A.with_arrays({k: 0.5 * (arrays_A[k] + aligned[k]) for k in arrays_A}).loss_and_grads(objective)
        start_loss = loss if start_loss is None else start_loss
        if loss < best_loss:
            best, best_loss, best_step = perms, loss, step
        if step == steps:
            break
        for k, g in grads.items():
            m, v = moments[k]
            m[...] = beta1 * m + (1 - beta1) * 0.5 * g
            v[...] = beta2 * v + (1 - beta2) * (0.5 * g) ** 2
            m_hat, v_hat = m / (1 - beta1 ** (step + 1)), v / (1 - beta2 ** (step + 1))
            free[k] = free[k] - lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    return best, {"objective": float(best_loss), "midpoint_loss_start": float(start_loss), "sweeps": steps,
                  "best_step": best_step}
