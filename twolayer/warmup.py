"""Compile (or load from numba's cache) the kernels the package uses, in two independent groups.

``python -m twolayer.warmup population`` and ``... data`` can run side by side on two cores: a
fresh checkout then pays numba's first compilation (about a minute on one core) in about half
the wall time. The test session does so first (``conftest.compiled_kernels``), and so do the
worker processes of ``python -m sims all`` (``sims.runner.Workers``). The calls are the
package's own public functions on tiny inputs, so the specialisations compiled are the ones
later calls use.
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
        tl.match(small, tl.Student.init(4, 3, seed=1))
        tl.match(small, tl.Student.init(4, 3, seed=1), "ot")
        # last: online SGD reuses the SGD kernels compiled above and the population kernels, which
        # the other group has written to numba's cache by then (compiled in both groups otherwise)
        tl.train(small, population, "online", steps=2, batch=4)
    else:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}; got {group!r}")


def main(argv: list[str]) -> int:
    """``python -m twolayer.warmup GROUP``: exit 0 once compiled, 2 with one line on a bad group."""
    if len(argv) != 1 or argv[0] not in GROUPS:
        print(f"usage: python -m twolayer.warmup GROUP, GROUP one of {', '.join(GROUPS)}; got {' '.join(argv)!r}",
              file=sys.stderr)
        return 2
    warm(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
