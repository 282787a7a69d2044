"""twolayer.plot: the path and plane pictures, computed apart from drawing, on small networks."""

import numpy as np
import pytest

import twolayer as tl
from twolayer import plot


@pytest.fixture(scope="module")
def mlps():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    task = tl.Classification(X, y)
    A, B = (tl.train(tl.MLP.init((4, 12, 3), seed=s), task, "sgd", lr=0.1, steps=300, batch=40, seed=s).net
            for s in (0, 1))
    return task, A, B


def test_path_curves_end_at_the_networks_and_the_aligned_copy_is_flat(mlps):
    task, A, B = mlps
    planted = tl.permute(A, {"P1": np.random.default_rng(1).permutation(12)})
    plain, aligned = plot.path_curves(A, planted, task, methods=(None, "weights"), ts=np.linspace(0, 1, 7))
    assert plain.method is None and aligned.method == "weights" and plain.recompute_bn is None
    assert np.isclose(plain.loss[-1], task.loss(A), rtol=0, atol=1e-12)
    assert np.isclose(plain.loss[0], task.loss(planted), rtol=0, atol=1e-12)
    assert plain.barrier > 1e-3 and np.ptp(aligned.loss) <= 1e-12 and abs(aligned.barrier) <= 1e-12
    assert np.isclose(plain.barrier, tl.barrier(A, planted, task, ts=np.linspace(0, 1, 7)).value)
    fig = plot.draw_path([plain, aligned], title="MLP")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "error rate"]
    assert all(len(ax.lines) == 2 and ax.get_xlabel().startswith("$t$") for ax in fig.axes)


def test_path_draws_the_loss_label_and_error_bands_asked(mlps):
    task, A, B = mlps
    curves = plot.path_curves(A, B, task, methods=(None, "weights"), ts=np.linspace(0, 1, 5))
    bands = [(c.error - 0.05, c.error + 0.05) for c in curves]
    fig = plot.draw_path(curves, loss_label="loss (nats)", error_bands=[bands[0], None], bands_label="test")
    loss_ax, error_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss (nats)" and not loss_ax.collections
    assert len(error_ax.collections) == 1 and error_ax.get_legend().get_title().get_text() == "barriers; shaded: test"
    shaded = error_ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(shaded.min(), bands[0][0].min()) and np.isclose(shaded.max(), bands[0][1].max())
    with pytest.raises(ValueError, match=r"error_bands must hold one \(lo, hi\) or None per curve \(2\)"):
        plot.draw_path(curves, error_bands=[bands[0]])


def test_path_of_batchnorm_networks_has_recomputed_and_interpolated_curves():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 16))
    task = tl.Classification(X, rng.integers(0, 3, 60), shape=(1, 16))
    A, B = (tl.vgg((1, 16), 3, width=0.25, batch_norm=True, seed=s) for s in (0, 1))
    fig = plot.plot_path(A, B, task, methods=(None,), ts=np.linspace(0, 1, 5))
    lines = fig.axes[0].lines
    assert len(lines) == 2 and [line.get_linestyle() for line in lines] == ["-", "--"]
    on, off = (line.get_ydata() for line in lines)
    assert not np.allclose(on[1:-1], off[1:-1])
    assert np.isclose(on[-1], task.loss(A.with_batch_stats(X)))  # recomputed: endpoints too
    other = rng.standard_normal((30, 16))  # statistics on other rows than the objective's (training rows)
    (curve,) = plot.path_curves(A, B, task, methods=(None,), batch_norm=(True,), ts=np.linspace(0, 1, 5),
                                bn_inputs=other)
    assert np.isclose(curve.loss[-1], task.loss(A.with_batch_stats(other)), rtol=0, atol=1e-12)
    assert np.isclose(curve.loss[0], task.loss(B.with_batch_stats(other)), rtol=0, atol=1e-12)
    assert not np.isclose(curve.loss[-1], on[-1])


def test_plane_grid_coordinates_are_orthonormal_and_hit_the_three_networks(mlps):
    task, A, B = mlps
    C = tl.train(tl.MLP.init((4, 12, 3), seed=2), task, "sgd", lr=0.1, steps=300, batch=40, seed=2).net
    grid = plot.plane_grid(A, B, C, task, resolution=7, margin=0.1, labels=("A", "B", "C"))
    flat = {n: np.concatenate([v.ravel() for v in net.arrays().values()]) for n, net in zip("ABC", (A, B, C))}
    assert np.isclose(grid.points[1, 0], np.linalg.norm(flat["B"] - flat["A"]))
    assert np.isclose(np.hypot(*grid.points[2]), np.linalg.norm(flat["C"] - flat["A"]))  # an isometry
    assert np.allclose(grid.point_loss, [task.loss(n) for n in (A, B, C)], rtol=0, atol=1e-10)
    assert grid.loss.shape == grid.error.shape == (7, 7) and np.all((grid.error >= 0) & (grid.error <= 1))
    assert grid.x[0] < grid.points[:, 0].min() and grid.y[-1] > grid.points[:, 1].max()
    fig = plot.draw_plane(grid, loss_label="loss (nats)")
    assert len(fig.axes) == 2 and all(len(ax.child_axes) == 1 for ax in fig.axes)  # two panels, a colour bar each
    bars = [ax.child_axes[0] for ax in fig.axes]
    assert bars[0].get_ylabel().startswith("loss (nats)") and bars[1].get_ylabel() == "error rate"
    assert fig.axes[0].get_xlabel().startswith("$x$: from A towards B") and len(fig.axes[0].texts) == 3


def test_plane_through_pytorch_networks_with_batchnorm():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 16))
    task = tl.Classification(X, rng.integers(0, 3, 40), shape=(1, 16))
    A, B, C = (tl.vgg((1, 16), 3, width=0.25, batch_norm=True, seed=s) for s in range(3))
    fig = plot.plot_plane(A, B, C, task, resolution=4)
    assert fig.axes[0].get_ylabel().startswith("$y$")


def test_bad_inputs_name_the_field(mlps):
    task, A, B = mlps
    with pytest.raises(ValueError, match="collinear"):
        plot.plane_grid(A, B, tl.interpolate(A, B, 0.3), task)
    with pytest.raises(ValueError, match="resolution must be an integer >= 3"):
        plot.plane_grid(A, B, B, task, resolution=2)
    with pytest.raises(ValueError, match="method must be one of"):
        plot.path_curves(A, B, task, methods=("bogus",))
    with pytest.raises(ValueError, match="labels must be three strings"):
        plot.plane_grid(A, B, B, task, labels=("A",))


def test_landscape_command_refuses_a_bad_resolution_in_one_line():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "sims.landscape", "--resolution", "2"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --resolution must be >= 3 and --seed >= 0"
