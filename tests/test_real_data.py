"""MNIST IDX reader, digits fallback, deep MLPs and their alignment."""


import numpy as np
import pytest

import twolayer as tl
from twolayer import MLP
from twolayer.data import load_dataset, load_digits, load_mnist, read_idx, write_idx
from twolayer.deep.mlp import loss_and_grads


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


def test_data_source_selection(tmp_path, capsys):
    data = load_dataset()
    assert data.name == "mnist1d" and data.shape == (1, 40)
    assert "mnist1d: 4000 train, 1000 test" in capsys.readouterr().err
    assert load_dataset("digits").shape == (1, 8, 8)
    assert load_dataset(str(write_mnist(tmp_path))).name == "mnist"
    with pytest.raises(ValueError, match="not a folder and not one of mnist1d, digits"):
        load_dataset(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="not a directory"):
        load_mnist(tmp_path / "nowhere")


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    net = MLP.init((5, 7, 6, 3), seed=1)
    X, y = rng.standard_normal((11, 5)), rng.integers(0, 3, 11)
    for kind in tl.ClassificationLoss:
        _, grads = loss_and_grads(net, X, y, kind)
        arrays = net.arrays()
        for name in ("W1", "W2", "b1", "b3"):
            for flat in (0, arrays[name].size - 1):
                plus = {k: q.copy() for k, q in arrays.items()}
                minus = {k: q.copy() for k, q in arrays.items()}
                plus[name].flat[flat] += 1e-6
                minus[name].flat[flat] -= 1e-6
                fd = (loss_and_grads(net.with_arrays(plus), X, y, kind)[0]
                      - loss_and_grads(net.with_arrays(minus), X, y, kind)[0]) / 2e-6
                assert grads[name].flat[flat] == pytest.approx(fd, rel=1e-5, abs=1e-9)
        # the training loss is the objective's loss
        assert loss_and_grads(net, X, y, kind)[0] == pytest.approx(tl.Classification(X, y, kind).loss(net), rel=1e-12)


def test_permutation_keeps_outputs_and_is_recovered():
    rng = np.random.default_rng(3)
    net = MLP.init((10, 32, 24, 16, 4), seed=2)
    perms = [rng.permutation(n) for n in (32, 24, 16)]
    X = rng.standard_normal((300, 10))
    permuted = tl.permute(net, perms)
    np.testing.assert_allclose(permuted(X), net(X), rtol=0, atol=1e-12)
    task = tl.Classification(X, rng.integers(0, 4, 300))
    for method in ("weights", "weights_cov", "activations"):
        found = tl.match(net, permuted, method, task)
        realigned = tl.permute(permuted, found.perms)
        for W, W0 in zip(realigned.weights, net.weights):
            np.testing.assert_array_equal(W, W0)


def test_barriers_of_a_network_with_itself_and_error_range():
    rng = np.random.default_rng(0)
    A, B = MLP.init((6, 16, 3), seed=0), MLP.init((6, 16, 3), seed=1)
    task = tl.Classification(rng.standard_normal((200, 6)), rng.integers(0, 3, 200))
    res = tl.barrier(A, A, task)
    assert abs(res.value) <= 1e-12 and res.error.value == 0.0
    err = tl.barrier(A, B, task).error
    assert -1.0 <= err.value <= 1.0
    np.testing.assert_allclose(tl.interpolate(A, B, 1.0)(task.X), A(task.X))


def test_one_call_barrier_mod_p_of_two_mlps_equals_the_hand_computed_path():
    rng = np.random.default_rng(4)
    A, B = MLP.init((5, 12, 9, 3), seed=0), MLP.init((5, 12, 9, 3), seed=1)
    task = tl.Classification(rng.standard_normal((300, 5)), rng.integers(0, 3, 300))
    res = tl.barrier_modulo_permutation(A, B, task, ts=np.linspace(0, 1, 11))
    perms = res.matching.perms
    # by hand: permute B's units, interpolate every array, evaluate softmax cross-entropy
    P1, P2 = perms["P1"], perms["P2"]
    Bw = [B.weights[0][P1], B.weights[1][P2][:, P1], B.weights[2][:, P2]]
    Bb = [B.biases[0][P1], B.biases[1][P2], B.biases[2]]

    def ce(t):
        Ws = [t * a + (1 - t) * b for a, b in zip(A.weights, Bw)]
        bs = [t * a + (1 - t) * b for a, b in zip(A.biases, Bb)]
        H = task.X
        for W, b in zip(Ws[:-1], bs[:-1]):
            H = np.maximum(H @ W.T + b, 0)
        Z = H @ Ws[-1].T + bs[-1]
        Z = Z - Z.max(1, keepdims=True)
        return -np.mean(Z[np.arange(300), task.y] - np.log(np.exp(Z).sum(1)))

    hand = np.array([ce(t) for t in res.ts])
    np.testing.assert_allclose(res.curve, hand, rtol=1e-12)
    gaps = hand - (res.ts * hand[-1] + (1 - res.ts) * hand[0])
    assert res.value >= gaps.max() - 1e-15 and res.value <= gaps.max() + 0.05 * abs(gaps.max()) + 1e-12
    # weights matching on this task brings B closer to A than no permutation
    assert res.matching.info["cost"] < sum(((A.arrays()[k] - B.arrays()[k]) ** 2).sum() for k in A.arrays())


def test_two_layer_networks_with_biases_from_plain_arrays():
    rng = np.random.default_rng(6)
    m, d, n = 10, 4, 500
    W1, b1, w2, b2 = rng.standard_normal((m, d)), rng.standard_normal(m), rng.standard_normal(m), 0.3
    V1, c1, v2, c2 = rng.standard_normal((m, d)), rng.standard_normal(m), rng.standard_normal(m), -0.1
    X = rng.standard_normal((n, d))
    y = np.sin(X[:, 0])
    A, B = MLP.from_arrays(W1, b1, w2, b2), MLP.from_arrays(V1, c1, v2, c2)
    task = tl.Empirical(X, y)
    res = tl.barrier_modulo_permutation(A, B, task, ts=np.linspace(0, 1, 5))
    p = res.matching.perm

    def loss(t):
        W, b = t * W1 + (1 - t) * V1[p], t * b1 + (1 - t) * c1[p]
        w, c = t * w2 + (1 - t) * v2[p], t * b2 + (1 - t) * c2
        return 0.5 * np.mean((np.maximum(X @ W.T + b, 0) @ w + c - y) ** 2)

    np.testing.assert_allclose(res.curve, [loss(t) for t in res.ts], rtol=1e-12)
    # the assignment maximises sum_i <(w_i, b_i, a_i), (w'_p(i), b'_p(i), a'_p(i))>, checked exhaustively
    # against scipy on the stacked features
    from scipy.optimize import linear_sum_assignment
    F, G = np.column_stack([W1, b1, w2]), np.column_stack([V1, c1, v2])
    _, cols = linear_sum_assignment(((F[:, None] - G[None]) ** 2).sum(-1))
    np.testing.assert_array_equal(p, cols)


def test_student_and_mlp_convert_both_ways():
    s = tl.Student.init(6, 3, seed=2, scaling="meanfield")
    net = tl.to_mlp(s)
    X = np.random.default_rng(0).standard_normal((20, 3))
    np.testing.assert_allclose(net(X)[:, 0], s(X), rtol=1e-13)
    back = tl.to_student(net, scaling="meanfield")
    np.testing.assert_allclose(back.a, s.a, rtol=1e-13)
    data = tl.Empirical(X, np.ones(20))
    assert data.loss(net) == pytest.approx(data.loss(s), rel=1e-12)
    with pytest.raises(ValueError, match="no biases"):
        tl.to_student(MLP.from_arrays(s.W, np.ones(6), s.a, None))
    with pytest.raises(ValueError, match=r"sizes \(d, m, 1\)"):
        tl.to_student(MLP.init((3, 4, 4, 1)))


def test_bad_input():
    with pytest.raises(ValueError, match="sizes"):
        MLP.init((5,))
    with pytest.raises(ValueError, match="inputs"):
        MLP((np.ones((3, 4)), np.ones((2, 5))), (np.ones(3), np.ones(2)))
    net = MLP.init((4, 5, 3))
    with pytest.raises(ValueError, match="labels"):
        tl.train(net, tl.Classification(np.ones((6, 4)), np.full(6, 7)), "sgd")
    with pytest.raises(ValueError, match="loss"):
        tl.Classification(np.ones((6, 4)), np.zeros(6, dtype=int), "hinge")
    with pytest.raises(ValueError, match="perms"):
        tl.permute(net, [])
    with pytest.raises(ValueError, match="objective"):
        tl.match(net, net, "activations")
    with pytest.raises(ValueError, match="method 'refine' aligns a Student"):
        tl.match(net, net, "refine")
    with pytest.raises(ValueError, match="method 'gd' does not train a MLP"):
        tl.train(net, tl.Classification(np.ones((6, 4)), np.zeros(6, dtype=int)), "gd")


def test_quick_digits_run_trains_and_aligns():
    pytest.importorskip("sklearn")
    data = load_digits().standardized()
    train = tl.Classification(data.X_train, data.y_train)
    test = tl.Classification(data.X_test, data.y_test)
    nets = [tl.train(MLP.init((64, 128, 10), seed=s), train, "sgd", lr=0.05, steps=600, seed=s).net
            for s in (0, 1)]
    for net in nets:
        assert test.error(net) < 0.10  # > 90% test accuracy
    plain = tl.barrier(nets[0], nets[1], test)
    modp = tl.barrier_modulo_permutation(nets[0], nets[1], test, method="weights")
    assert modp.value < plain.value


def _layerwise_rebasin(A, B, sigmas, seed=0, max_sweeps=100):
    """Git Re-Basin's weight matching for MLPs written out layer by layer (an independent
    reference for the generic routine): for hidden layer l, with the other permutations fixed,
    maximise <W^A_l Sigma_l, W^B_l P_{l-1}^T> + b^A_l . b^B_l + <W^A_{l+1}, P_{l+1} W^B_{l+1}>."""
    from scipy.optimize import linear_sum_assignment
    hidden = A.depth - 1
    perms = [np.arange(n) for n in A.sizes[1:-1]]
    rng = np.random.default_rng(seed)
    for _ in range(max_sweeps):
        changed = False
        for layer in rng.permutation(hidden):
            WB_in = B.weights[layer] if layer == 0 else B.weights[layer][:, perms[layer - 1]]
            WA_in = A.weights[layer] if sigmas is None else A.weights[layer] @ sigmas[layer]
            score = WA_in @ WB_in.T + np.outer(A.biases[layer], B.biases[layer])
            WB_out = B.weights[layer + 1] if layer + 1 == hidden else B.weights[layer + 1][perms[layer + 1]]
            score += A.weights[layer + 1].T @ WB_out
            _, new = linear_sum_assignment(-score)
            if not np.array_equal(new, perms[layer]):
                perms[layer], changed = new, True
        if not changed:
            break
    return perms


@pytest.mark.parametrize("method", ["weights", "weights_cov"])
def test_mlp_weight_matching_equals_the_layerwise_reference(method):
    rng = np.random.default_rng(8)
    A, B = MLP.init((6, 20, 16, 12, 3), seed=3), MLP.init((6, 20, 16, 12, 3), seed=4)
    task = tl.Classification(rng.standard_normal((400, 6)), rng.integers(0, 3, 400))
    sigmas = None
    if method == "weights_cov":
        layers = [task.X, *A.layer_outputs(task.X)]
        sigmas = [H.T @ H / H.shape[0] for H in layers[:-1]]
    found = tl.match(A, B, method, task, seed=5).perms
    reference = _layerwise_rebasin(A, B, sigmas, seed=5)
    for layer, perm in enumerate(reference):
        np.testing.assert_array_equal(found[f"P{layer + 1}"], perm)


def _write_cifar(directory, n=7, seed=0):
    from twolayer.data import write_cifar_batch
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name in (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"):
        write_cifar_batch(directory / name, rng.integers(0, 256, (n, 3, 32, 32)), rng.integers(0, 10, n))
    return directory


def test_cifar10_binary_batches_are_read_channel_first(tmp_path):
    from twolayer.data import load_cifar10, read_cifar_batch
    folder = _write_cifar(tmp_path / "cifar-10-batches-bin")
    images, labels = read_cifar_batch(folder / "test_batch.bin")
    raw = np.frombuffer((folder / "test_batch.bin").read_bytes(), dtype=np.uint8).reshape(7, 3073)
    assert images.shape == (7, 3, 32, 32) and np.array_equal(labels, raw[:, 0])
    assert images[2, 1, 0, 5] == raw[2, 1 + 1024 + 5]  # green plane, row 0, column 5
    data = load_cifar10(tmp_path)  # the parent folder works too
    assert data.name == "cifar10" and data.shape == (3, 32, 32) and data.X_train.shape == (35, 3072)
    assert data.X_train.max() <= 1.0 and load_dataset(str(folder), verbose=False).name == "cifar10"


@pytest.mark.parametrize("damage, message", [
    ("truncate", "not a positive whole number of 3073-byte CIFAR-10 records"),
    ("empty", "0 bytes is not a positive whole number"),
    ("label", "label 200 outside 0..9"),
    ("missing", "missing data_batch_3.bin"),
])
def test_truncated_or_malformed_cifar_files_are_named(tmp_path, damage, message):
    from twolayer.data import load_cifar10
    folder = _write_cifar(tmp_path / "c")
    target = folder / "data_batch_3.bin"
    data = bytearray(target.read_bytes())
    if damage == "truncate":
        target.write_bytes(bytes(data[:-100]))
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "label":
        data[3073 * 4] = 200
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    with pytest.raises(ValueError, match=message) as err:
        load_cifar10(folder)
    assert len(str(err.value).splitlines()) == 1 and ("data_batch_3.bin" in str(err.value))


@pytest.mark.slow
def test_mnist1d_is_generated_from_the_package_defaults_and_cached(tmp_path, monkeypatch):
    pytest.importorskip("mnist1d")
    from mnist1d.data import get_dataset_args, make_dataset

    from twolayer.data import mnist1d
    state = np.random.get_state()  # noqa: NPY002
    data = mnist1d.load_mnist1d(cache=tmp_path)
    assert np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002 (the global state is left alone)
    assert data.X_train.shape == (4000, 40) and data.X_test.shape == (1000, 40) and data.classes == 10
    reference = make_dataset(get_dataset_args())  # the package's defaults, seed 42
    assert np.array_equal(data.X_train, reference["x"]) and np.array_equal(data.y_test, reference["y_test"])
    assert (tmp_path / "mnist1d-seed42.npz").is_file()

    calls = []

    def counted_generation(seed):
        calls.append(seed)
        return {"x": reference["x"], "y": reference["y"], "x_test": reference["x_test"], "y_test": reference["y_test"]}
    monkeypatch.setattr(mnist1d, "generate_mnist1d", counted_generation)
    assert np.array_equal(mnist1d.load_mnist1d(cache=tmp_path).X_test, data.X_test) and calls == []  # cached
    (tmp_path / "mnist1d-seed42.npz").write_bytes(b"not a zip")  # a damaged cache is regenerated
    assert np.array_equal(mnist1d.load_mnist1d(cache=tmp_path).X_test, data.X_test) and calls == [42]
    assert np.array_equal(mnist1d.load_mnist1d(cache=tmp_path).X_test, data.X_test) and calls == [42]


def test_real_depth_compares_three_matching_methods_each_registered_for_mlps():
    """Regression: the method list was read from the registry by class, which the network protocol
    turned into kinds, and came out empty (the depth figure then had no matched barrier)."""
    from sims.experiments.real_depth import METHODS
    from twolayer.network import NetworkKind

    assert METHODS == ("weights", "weights_cov", "activations")
    assert all(NetworkKind.MLP in tl.METHODS[m].networks for m in METHODS)
