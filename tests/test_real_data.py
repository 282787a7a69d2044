"""MNIST IDX reader, digits fallback, deep MLPs and their alignment."""


import numpy as np
import pytest

from twolayer.data import load_dataset, load_digits, load_mnist, read_idx, write_idx
from twolayer.mlp import MLP, evaluate, interpolate_mlp, loss_and_grads, mlp_barrier, train_mlp
from twolayer.mlp_matching import match_mlp, permute_mlp


def write_mnist(directory, n_train=20, n_test=10, gz=False, rows=4):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        write_idx(directory / f"{split}-images-idx3-ubyte{ext}", rng.integers(0, 256, (n, rows, rows)))
        write_idx(directory / f"{split}-labels-idx1-ubyte{ext}", rng.integers(0, 10, n))
    return directory


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    arr = np.random.default_rng(1).integers(0, 256, (7, 3, 5)).astype(np.uint8)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr)
    np.testing.assert_array_equal(read_idx(path, 3), arr)
    data = load_mnist(write_mnist(tmp_path, gz=gz))
    assert data.X_train.shape == (20, 16) and data.y_test.shape == (10,) and data.name == "mnist"
    assert 0.0 <= data.X_train.min() and data.X_train.max() <= 1.0


def _corrupt(tmp_path, what):
    d = write_mnist(tmp_path)
    f = d / "train-images-idx3-ubyte"
    raw = bytearray(f.read_bytes())
    if what == "magic":
        raw[3] = 2
        f.write_bytes(bytes(raw))
    elif what == "truncated":
        f.write_bytes(bytes(raw[:-5]))
    elif what == "header":
        f.write_bytes(bytes(raw[:6]))
    elif what == "counts":
        write_idx(d / "train-labels-idx1-ubyte", np.zeros(19))
    elif what == "dims":
        write_idx(d / "t10k-images-idx3-ubyte", np.zeros((10, 5, 5)))
    elif what == "label":
        write_idx(d / "train-labels-idx1-ubyte", np.full(20, 12))
    elif what == "missing":
        (d / "t10k-labels-idx1-ubyte").unlink()
    elif what == "gzip":
        (d / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
        f.unlink()
    return d


@pytest.mark.parametrize("what,message", [
    ("magic", "wrong magic number"), ("truncated", "data bytes"), ("header", "truncated header"),
    ("counts", "labels"), ("dims", "pixels"), ("label", "outside 0..9"), ("missing", "t10k-labels"),
    ("gzip", "unreadable"),
])
def test_malformed_mnist_files_get_clear_errors(tmp_path, what, message):
    with pytest.raises(ValueError, match=message):
        load_mnist(_corrupt(tmp_path, what))


def test_data_source_selection(tmp_path, monkeypatch, capsys):
    pytest.importorskip("sklearn")
    monkeypatch.delenv("TWOLAYER_DATA", raising=False)
    assert load_dataset().name == "digits"
    assert "scikit-learn digits" in capsys.readouterr().err
    monkeypatch.setenv("TWOLAYER_DATA", str(write_mnist(tmp_path)))
    assert load_dataset().name == "mnist"
    with pytest.raises(ValueError, match="not a directory"):
        load_mnist(tmp_path / "nowhere")


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    net = MLP.init((5, 7, 6, 3), seed=1)
    X, y = rng.standard_normal((11, 5)), rng.integers(0, 3, 11)
    for loss in ("ce", "mse"):
        _, grads = loss_and_grads(net, X, y, loss)
        params = net.params()
        for p_idx in (0, 2, 4):
            for flat in (0, params[p_idx].size - 1):
                plus = [q.copy() for q in params]
                minus = [q.copy() for q in params]
                plus[p_idx].flat[flat] += 1e-6
                minus[p_idx].flat[flat] -= 1e-6
                fd = (loss_and_grads(net.with_params(plus), X, y, loss)[0]
                      - loss_and_grads(net.with_params(minus), X, y, loss)[0]) / 2e-6
                assert grads[p_idx].flat[flat] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_permutation_keeps_outputs_and_is_recovered():
    rng = np.random.default_rng(3)
    net = MLP.init((10, 32, 24, 16, 4), seed=2)
    perms = [rng.permutation(n) for n in (32, 24, 16)]
    X = rng.standard_normal((300, 10))
    permuted = permute_mlp(net, perms)
    np.testing.assert_allclose(permuted(X), net(X), rtol=0, atol=1e-12)
    for method in ("weights", "weights_cov", "activations"):
        found = match_mlp(net, permuted, method, X=X)
        realigned = permute_mlp(permuted, found)
        for W, W0 in zip(realigned.weights, net.weights):
            np.testing.assert_array_equal(W, W0)


def test_barriers_of_a_network_with_itself_and_error_range():
    rng = np.random.default_rng(0)
    A, B = MLP.init((6, 16, 3), seed=0), MLP.init((6, 16, 3), seed=1)
    X, y = rng.standard_normal((200, 6)), rng.integers(0, 3, 200)
    loss_bar, err_bar = mlp_barrier(A, A, X, y)
    assert abs(loss_bar.value) <= 1e-12 and err_bar.value == 0.0
    _, err = mlp_barrier(A, B, X, y)
    assert -1.0 <= err.value <= 1.0
    np.testing.assert_allclose(interpolate_mlp(A, B, 1.0)(X), A(X))


def test_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        MLP.init((5,))
    with pytest.raises(ValueError, match="inputs"):
        MLP((np.ones((3, 4)), np.ones((2, 5))), (np.ones(3), np.ones(2)))
    net = MLP.init((4, 5, 3))
    with pytest.raises(ValueError, match="labels"):
        train_mlp(net, np.ones((6, 4)), np.full(6, 7))
    with pytest.raises(ValueError, match="loss"):
        train_mlp(net, np.ones((6, 4)), np.zeros(6, dtype=int), loss="hinge")
    with pytest.raises(ValueError, match="perms"):
        permute_mlp(net, [])
    with pytest.raises(ValueError, match="needs inputs X"):
        match_mlp(net, net, "activations")


def test_quick_digits_run_trains_and_aligns():
    pytest.importorskip("sklearn")
    data = load_digits().standardized()
    nets = [train_mlp(MLP.init((64, 128, 10), seed=s), data.X_train, data.y_train, lr=0.05, steps=600,
                      seed=s).net for s in (0, 1)]
    for net in nets:
        assert evaluate(net, data.X_test, data.y_test)[1] < 0.10  # > 90% test accuracy
    plain, _ = mlp_barrier(nets[0], nets[1], data.X_test, data.y_test)
    aligned_B = permute_mlp(nets[1], match_mlp(nets[0], nets[1], "weights"))
    modp, _ = mlp_barrier(nets[0], aligned_B, data.X_test, data.y_test)
    assert modp.value < plain.value
