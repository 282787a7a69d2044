"""Compile (or load from numba's cache) the kernels the package uses, in two independent groups.

``python tests/_compile_kernels.py population`` and ``... data`` can run side by side on two
cores: a fresh checkout then pays numba's first compilation (about a minute on one core) in
about half the wall time (the test session does so first: ``conftest.compiled_kernels``). The
calls are the package's own public functions on tiny inputs, so the specialisations compiled
are the ones later calls use.
"""

from __future__ import annotations

import sys

GROUPS = ("population", "data")


def warm(group: str) -> None:
    """Run every kernel of ``group`` once on tiny inputs."""
    import twolayer as tl

    teacher = tl.Teacher.orthonormal(2, 3)
    population = tl.Population(teacher)
    small, wide = tl.Student.init(4, 3, seed=0), tl.Student.init(tl.losses.PARALLEL_MIN_WIDTH, 3, seed=0)
    if group == "population":
        for s in (small, wide):
            tl.population_loss(s, teacher)
            tl.population_loss_and_grad(s, teacher)
            tl.train(s, population, steps=2)
        tl.train_replicas([small, tl.Student.init(4, 3, seed=1)], population, steps=2)
    elif group == "data":
        data = tl.Empirical.sample(teacher, 20)
        for s in (small, wide):
            tl.empirical_loss_and_grad(s, data.X, data.y)
            tl.train(s, data, steps=2)
            tl.train(s, data, "sgd", steps=2, batch=4)
        tl.train(small, population, "online", steps=2, batch=4)
        tl.match(small, tl.Student.init(4, 3, seed=1))
        tl.match(small, tl.Student.init(4, 3, seed=1), "ot")
    else:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}; got {group!r}")


if __name__ == "__main__":
    warm(sys.argv[1])
