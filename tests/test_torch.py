"""PyTorch networks: import/export, convolutional / BatchNorm / residual permutation specifications
(planted permutations), BatchNorm recomputation, training."""

import numpy as np
import pytest

import twolayer as tl

torch = pytest.importorskip("torch")
nn = torch.nn


def _mlp_module(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6), nn.ReLU(), nn.Linear(6, 3)).double()


def _random_perms(net, seed=0):
    rng = np.random.default_rng(seed)
    arrays = net.arrays()
    return {name: rng.permutation(net.spec.size(arrays, name)) for name in net.spec.names}


def test_sequential_mlp_imports_with_outputs_equal_to_pytorch_and_exports_back():
    module = _mlp_module()
    X = np.random.default_rng(0).standard_normal((50, 5))
    net = tl.from_torch(module)
    assert isinstance(net, tl.MLP) and net.sizes == (5, 7, 6, 3)
    expected = module(torch.from_numpy(X)).detach().numpy()
    assert np.max(np.abs(net(X) - expected)) <= 1e-12
    state_net = tl.from_torch(module.state_dict())
    assert np.max(np.abs(state_net(X) - expected)) <= 1e-12
    back = tl.to_torch(net)
    assert np.max(np.abs(back(torch.from_numpy(X)).detach().numpy() - expected)) <= 1e-12
    with pytest.raises(ValueError, match="only Linear layers"):
        tl.from_torch(nn.Sequential(nn.Conv1d(1, 2, 3)).state_dict())
    with pytest.raises(ValueError, match="torch.nn.Module or a state dict"):
        tl.from_torch([1, 2])


def test_barrier_of_two_pytorch_models_in_one_call():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((80, 5)), rng.integers(0, 3, 80)
    task = tl.Classification(X, y)
    A, B = (tl.to_torch(tl.train(_mlp_module(s), task, "sgd", lr=0.1, steps=300, batch=40).net) for s in (0, 1))
    direct = tl.barrier_modulo_permutation(A, B, task)
    by_hand = tl.barrier_modulo_permutation(tl.from_torch(A), tl.from_torch(B), task)
    assert np.array_equal(direct.curve, by_hand.curve) and direct.value == by_hand.value
    for p in ("P1", "P2"):
        assert np.array_equal(direct.matching.perms[p], by_hand.matching.perms[p])
    planted = tl.to_torch(tl.permute(tl.from_torch(A), {"P1": rng.permutation(7), "P2": rng.permutation(6)}))
    assert abs(tl.barrier_modulo_permutation(A, planted, task).value) <= 1e-10
    assert tl.barrier(A, planted, task).value > 1e-3


def _conv_sequential(dims):
    conv, norm, pool = (nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d) if dims == 1 else \
        (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d)
    torch.manual_seed(3)
    return nn.Sequential(conv(2, 6, 3, padding=1), norm(6), nn.ReLU(), conv(6, 5, 3, padding=1), nn.ReLU(),
                         pool(1), nn.Flatten(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))


NETWORKS = {
    "conv1d_bn": lambda: tl.from_torch(_conv_sequential(1), (2, 12)),
    "conv2d_bn": lambda: tl.from_torch(_conv_sequential(2), (2, 6, 6)),
    "vgg_bn_1d": lambda: tl.vgg((1, 16), 3, width=0.25, batch_norm=True, seed=2),
    "vgg_2d": lambda: tl.vgg((3, 8, 8), 3, width=0.25, seed=2),
    "resnet8_1d": lambda: tl.resnet((1, 16), 3, width=0.25, depth=8, seed=2),
    "resnet14_2d": lambda: tl.resnet((3, 8, 8), 3, width=0.25, depth=14, seed=2),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_planted_permutation_is_the_same_function_with_zero_barrier_and_is_recovered(name):
    rng = np.random.default_rng(4)
    net = NETWORKS[name]()
    X = rng.standard_normal((60, net.in_features))
    y = rng.integers(0, 3, 60)
    net = net.with_batch_stats(X)  # running statistics of the data: no channel is constant
    perms = _random_perms(net)
    permuted = tl.permute(net, perms)
    assert np.max(np.abs(permuted(X) - net(X))) <= 1e-12
    task = tl.Classification(X, y, shape=net.input_shape)
    alive = {p: h.std(0) > 0 for p, h in net.hidden(X).items()}  # a dead unit correlates with nothing
    for method in ("weights", "activations"):
        res = tl.barrier_modulo_permutation(net, permuted, task, method=method)
        assert abs(res.value) <= 1e-10 and abs(res.error.value) <= 1e-10
        for p in net.spec.names:  # the matching undoes the planted permutation
            undone = perms[p][res.matching.perms[p]] == np.arange(perms[p].size)
            assert np.all(undone if method == "weights" else undone[alive[p]]), (method, p)
    # without the matching the midpoint is another function: the zero barrier is the matching's doing
    assert np.max(np.abs(tl.interpolate(net, permuted, 0.5)(X) - net(X))) > 1e-3


def test_resnet_permutations_are_tied_across_the_skip_connections():
    net = tl.resnet((1, 16), 3, width=0.25, depth=14, seed=0)
    spec = net.spec
    assert spec.names == ("S1", "B1_1", "B1_2", "S2", "B2_1", "B2_2", "S3", "B3_1", "B3_2")
    stream = dict(spec.axes["S2"])
    # written by the projection shortcut and both blocks' second convolutions, read by the next stage
    for param, axis in (("stages.1.0.shortcut.0.weight", 0), ("stages.1.0.conv2.weight", 0),
                        ("stages.1.1.conv2.weight", 0), ("stages.1.1.conv1.weight", 1),
                        ("stages.2.0.conv1.weight", 1), ("stages.2.0.shortcut.0.weight", 1)):
        assert stream[param] == axis
    # untying one block from its stream changes the function: the tie is needed
    X = np.random.default_rng(0).standard_normal((20, 16))
    arrays = net.arrays()
    perm = np.roll(np.arange(arrays["stages.1.1.conv2.weight"].shape[0]), 1)
    arrays["stages.1.1.conv2.weight"] = arrays["stages.1.1.conv2.weight"][perm]
    assert np.max(np.abs(net.with_arrays(arrays)(X) - net(X))) > 1e-6


def test_batchnorm_running_statistics_are_permuted_and_not_scored():
    net = NETWORKS["conv1d_bn"]().with_batch_stats(np.random.default_rng(0).standard_normal((30, 24)))
    perms = _random_perms(net)
    permuted = tl.permute(net, perms)
    np.testing.assert_array_equal(permuted.arrays()["1.running_mean"], net.arrays()["1.running_mean"][perms["P1"]])
    assert {"1.running_mean", "1.running_var"} <= net.spec.unscored
    # a network differing from A only in its running statistics matches A with the identity
    arrays = net.arrays()
    arrays["1.running_var"] = arrays["1.running_var"][::-1] * 50
    assert np.array_equal(tl.match(net, net.with_arrays(arrays)).perms["P1"], np.arange(6))


def test_batch_stats_in_place_on_request_equal_the_copys_and_leave_copies_alone():
    net = NETWORKS["conv1d_bn"]()
    X = np.random.default_rng(1).standard_normal((40, 24))
    before = net.arrays()["1.running_mean"]
    copied = net.with_batch_stats(X)
    assert copied is not net and np.array_equal(net.arrays()["1.running_mean"], before)  # the original untouched
    in_place = net.with_batch_stats(X, copy=False)
    assert in_place is net
    for k, v in copied.arrays().items():
        assert np.array_equal(v, net.arrays()[k]), k


def test_recomputed_batchnorm_statistics_are_the_data_moments():
    module = _conv_sequential(1)
    net = tl.from_torch(module, (2, 12))
    X = np.random.default_rng(5).standard_normal((3000, 24))
    renewed = net.with_batch_stats(X)
    conv = net.arrays()
    # the first BatchNorm's input: the first convolution's output, by hand (positions as samples)
    Xs = X.reshape(-1, 2, 12)
    padded = np.pad(Xs, ((0, 0), (0, 0), (1, 1)))
    windows = np.stack([padded[:, :, k:k + 12] for k in range(3)], axis=-1)  # (n, in, L, 3)
    H = np.einsum("nclk,ock->nol", windows, conv["0.weight"]) + conv["0.bias"][None, :, None]
    values = H.transpose(0, 2, 1).reshape(-1, 6)
    np.testing.assert_allclose(renewed.arrays()["1.running_mean"], values.mean(0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(renewed.arrays()["1.running_var"], values.var(0, ddof=1), rtol=1e-6)
    # on by default in barriers; off keeps the interpolated statistics, a different curve
    task = tl.Classification(X[:200], np.arange(200) % 3, shape=(2, 12))
    other = tl.from_torch(_conv_sequential(1).apply(lambda m: m.reset_parameters()
                                                    if hasattr(m, "reset_parameters") else None), (2, 12))
    on = tl.barrier(net, other, task)
    off = tl.barrier(net, other, task, recompute_bn=False)
    assert not np.allclose(on.curve, off.curve)
    at_ends = [net.with_batch_stats(task.X), other.with_batch_stats(task.X)]
    assert np.isclose(on.loss_A, task.loss(at_ends[0])) and np.isclose(on.loss_B, task.loss(at_ends[1]))


def test_torch_training_is_reproducible_learns_and_respects_masks():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 16))
    y = (X[:, :8].sum(1) > 0).astype(int)
    task = tl.Classification(X, y, shape=(1, 16))
    net = tl.resnet((1, 16), 2, width=0.25, depth=8, seed=0)
    runs = [tl.train(net, task, "sgd", lr=0.05, steps=60, batch=32, seed=1) for _ in range(2)]
    for k, v in runs[0].net.arrays().items():
        np.testing.assert_array_equal(v, runs[1].net.arrays()[k])
    assert task.loss(runs[0].net.with_batch_stats(X)) < task.loss(net.with_batch_stats(X))
    masks = {k: (rng.random(v.shape) < 0.5).astype(float) if v.ndim >= 2 else np.ones_like(v)
             for k, v in net.arrays().items()}
    pruned = tl.train(net, task, "sgd", steps=20, batch=32, masks=masks).net.arrays()
    assert all(np.all(pruned[k][masks[k] == 0] == 0) for k in masks)
    direct = tl.train(tl.to_torch(net), task, "sgd", lr=0.05, steps=60, batch=32, seed=1).net
    np.testing.assert_array_equal(direct(X), runs[0].net(X))


def test_unsupported_sequentials_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="pool to size 1 first"):
        tl.from_torch(nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 2)), (1, 8))
    with pytest.raises(ValueError, match=r"layer '1' \(ConvTranspose1d\) is not a supported layer"):
        tl.from_torch(nn.Sequential(nn.Conv1d(1, 4, 3), nn.ConvTranspose1d(4, 2, 3)), (1, 8))
    with pytest.raises(ValueError, match="input_shape is needed"):
        tl.from_torch(nn.Sequential(nn.Conv1d(1, 4, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2)))
    with pytest.raises(ValueError, match="depth must be 6 n \\+ 2"):
        tl.resnet((1, 16), depth=10)
    net = tl.vgg((1, 16), 3, width=0.25)
    with pytest.raises(ValueError, match="X has 10 features; the network takes 16"):
        net(np.zeros((2, 10)))


def test_float32_networks_train_and_evaluate_in_float32_close_to_float64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 16))
    y = (X[:, :8].sum(1) > 0).astype(int)
    task = tl.Classification(X, y, shape=(1, 16))
    net64 = tl.vgg((1, 16), 2, width=0.25, batch_norm=True, seed=0)
    net32 = tl.vgg((1, 16), 2, width=0.25, batch_norm=True, seed=0, dtype="float32")
    assert net32.dtype is tl.Precision.FLOAT32 and net32.arrays()["0.weight"].dtype == np.float32
    out32 = net32(X)
    assert out32.dtype == np.float64  # returned in float64, computed in float32
    gap = np.max(np.abs(out32 - net64(X)))
    assert 0 < gap < 1e-5
    trained = tl.train(net32, task, "sgd", steps=30, batch=32, seed=1).net
    assert trained.dtype is tl.Precision.FLOAT32 and trained.arrays()["0.weight"].dtype == np.float32
    trained64 = tl.train(net64, task, "sgd", steps=30, batch=32, seed=1).net
    assert np.max(np.abs(trained.arrays()["0.weight"] - trained64.arrays()["0.weight"])) < 1e-3
    # a permuted copy: zero barrier to float32 rounding, not to float64's
    permuted = tl.permute(trained, _random_perms(trained))
    res = tl.barrier_modulo_permutation(trained, permuted, task)
    assert abs(res.value) <= 1e-5
    assert np.array_equal(trained.astype("float64").arrays()["0.weight"],
                          trained.arrays()["0.weight"].astype(np.float64))
    with pytest.raises(ValueError, match="same structure"):
        tl.barrier(trained, trained64, task)
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32'"):
        tl.vgg((1, 16), 2, dtype="half")


def test_module_copy_shares_nothing_keeps_ties_and_hooks_apart_like_deepcopy():
    import copy

    from twolayer.deep.torchnet import module_copy

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 4)
            self.norm = nn.BatchNorm1d(4)
            self.out = nn.Linear(4, 4)
            self.out.weight = self.inp.weight  # tied
            self.again = self.norm  # one submodule reached twice

        def forward(self, x):
            return self.out(self.again(torch.relu(self.norm(self.inp(x)))))

    torch.manual_seed(0)
    for module in (Tied().double().eval(), torch.fx.symbolic_trace(Tied().double().eval())):
        x = torch.randn(6, 4, dtype=torch.float64)
        twin = module_copy(module)
        assert torch.equal(twin(x), module(x)) and torch.equal(twin(x), copy.deepcopy(module)(x))
        originals = {id(t) for t in module.state_dict(keep_vars=True).values()}
        assert not originals & {id(t) for t in twin.state_dict(keep_vars=True).values()}
        names = [n for n, _ in twin.named_parameters()]  # deduplicated: the tie and the shared module stay one
        assert names == [n for n, _ in copy.deepcopy(module).named_parameters()]
        with torch.no_grad():
            twin.inp.weight.add_(1.0)
        assert torch.equal(twin.out.weight, twin.inp.weight) and not torch.equal(module.inp.weight, twin.inp.weight)
        seen = []
        handle = twin.inp.register_forward_hook(lambda *_, seen=seen: seen.append(1))
        module(x)
        assert seen == []  # a hook on the copy is not on the original
        twin(x)
        handle.remove()
        assert seen == [1]
    replaced = module_copy(module, {"inp.bias": torch.full((4,), 2.0, dtype=torch.float64)})
    assert replaced.inp.bias.tolist() == [2.0] * 4 and replaced.out.bias is not module.out.bias
