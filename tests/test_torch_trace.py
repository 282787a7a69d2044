"""Permutation specifications traced with torch.fx: planted permutations of modules written as a
``forward`` (residual, LayerNorm, a pre-norm transformer MLP block, GroupNorm, depthwise
convolutions, torchvision's ResNet), agreement with the hand-written ResNet specification, refusals."""

import numpy as np
import pytest

import twolayer as tl

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


class ResidualConv(nn.Module):
    """A residual network written as a forward: functional ReLU, BatchNorm, two blocks on one stream."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(2, 6, 3, padding=1)
        self.bn = nn.BatchNorm1d(6)
        self.a1, self.b1 = nn.Conv1d(6, 5, 3, padding=1), nn.Conv1d(5, 6, 3, padding=1, bias=False)
        self.n1 = nn.BatchNorm1d(6)
        self.a2, self.b2 = nn.Conv1d(6, 4, 3, padding=1), nn.Conv1d(4, 6, 3, padding=1)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.stem(x)))
        h = F.relu(h + self.n1(self.b1(F.relu(self.a1(h)))))
        h = h + self.b2(torch.relu(self.a2(h)))
        return self.head(h.mean(-1))


class LayerNormMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.norm, self.fc2, self.out = nn.Linear(5, 8), nn.LayerNorm(8), nn.Linear(8, 7), nn.Linear(7, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.fc2(F.relu(self.norm(self.fc1(x))))))


class PreNormBlock(nn.Module):
    """A transformer-style block on sequences (n, L, d): x + MLP(LayerNorm(x)), GELU, a learnt
    position embedding added to the stream, mean over positions, a final LayerNorm and a head."""

    def __init__(self, d=6, hidden=10, length=4):
        super().__init__()
        self.embed = nn.Linear(3, d)
        self.position = nn.Parameter(0.1 * torch.randn(length, d))
        self.ln1, self.up, self.act, self.down = nn.LayerNorm(d), nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d)
        self.ln2, self.head = nn.LayerNorm(d), nn.Linear(d, 3)

    def forward(self, x):
        h = self.embed(x) + self.position
        h = h + self.down(self.act(self.up(self.ln1(h))))
        return self.head(self.ln2(h).mean(1))


class GroupNormDepthwise(nn.Module):
    """GroupNorm (3 groups of 4 channels) and a depthwise convolution on the same stream."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 12, 3, padding=1)
        self.gn = nn.GroupNorm(3, 12)
        self.depthwise = nn.Conv1d(12, 12, 3, padding=1, groups=12)
        self.pool, self.head = nn.AdaptiveAvgPool1d(1), nn.Linear(12, 3)

    def forward(self, x):
        h = self.depthwise(F.relu(self.gn(self.conv(x))))
        return self.head(self.pool(F.relu(h)).flatten(1))


def _planted_perms(net, rng):
    arrays = net.arrays()
    perms = {}
    for name in net.spec.names:
        n, g = net.spec.size(arrays, name), net.spec.groups(name)
        perms[name] = np.concatenate([start + rng.permutation(n // g) for start in range(0, n, n // g)])
    return perms


def _check_planted(net, input_shape, rng, n=60):
    """A planted permutation: the same function to 1e-12, zero barrier after matching, recovered by both
    weight and activation matching (live units)."""
    X = rng.standard_normal((n, int(np.prod(input_shape))))
    y = rng.integers(0, 3, n)
    if net.has_batch_norm:
        net = net.with_batch_stats(X)
    perms = _planted_perms(net, rng)
    permuted = tl.permute(net, perms)
    assert np.max(np.abs(permuted(X) - net(X))) <= 1e-12
    task = tl.Classification(X, y, shape=input_shape)
    alive = {p: h.std(0) > 1e-9 for p, h in net.hidden(X).items()}
    for method in ("weights", "activations"):
        res = tl.barrier_modulo_permutation(net, permuted, task, method=method)
        assert abs(res.value) <= 1e-10 and abs(res.error.value) <= 1e-10, method
        for p in net.spec.names:
            undone = perms[p][res.matching.perms[p]] == np.arange(perms[p].size)
            assert np.all(undone if method == "weights" else undone[alive[p]]), (method, p)
    assert np.max(np.abs(tl.interpolate(net, permuted, 0.5)(X) - net(X))) > 1e-3
    return net


def test_residual_network_written_as_a_forward():
    torch.manual_seed(0)
    net = tl.from_torch(ResidualConv(), (2, 10))
    spec = net.spec
    # one stream for stem, both blocks' outputs and the head; one inner permutation per block
    assert spec.names == ("P1", "P2", "P3")
    assert set(spec.axes["P1"]) == {
        ("stem.weight", 0), ("stem.bias", 0), *((f"{bn}.{k}", 0) for bn in ("bn", "n1")
                                              for k in ("weight", "bias", "running_mean", "running_var")),
        ("b1.weight", 0), ("b2.weight", 0), ("b2.bias", 0), ("a1.weight", 1), ("a2.weight", 1), ("head.weight", 1)}
    assert set(spec.axes["P2"]) == {("a1.weight", 0), ("a1.bias", 0), ("b1.weight", 1)}
    assert spec.unscored == {"bn.running_mean", "bn.running_var", "n1.running_mean", "n1.running_var"}
    _check_planted(net, (2, 10), np.random.default_rng(1))


def test_layernorm_block():
    torch.manual_seed(1)
    net = tl.from_torch(LayerNormMLP(), (5,))
    assert ("norm.weight", 0) in net.spec.axes["P1"] and ("norm.bias", 0) in net.spec.axes["P1"]
    assert net.taps["P2"] == (("fc2", 1),)  # tanh is functional: the layer's own outputs
    _check_planted(net, (5,), np.random.default_rng(2))


def test_prenorm_transformer_mlp_block_on_sequences():
    torch.manual_seed(2)
    net = tl.from_torch(PreNormBlock(), (4, 3))
    spec = net.spec
    assert spec.names == ("P1", "P2")  # the residual stream and the MLP's hidden units
    assert ("position", 1) in spec.axes["P1"] and ("head.weight", 1) in spec.axes["P1"]
    assert set(spec.axes["P2"]) == {("up.weight", 0), ("up.bias", 0), ("down.weight", 1)}
    assert net.taps["P2"] == (("act", 2),)  # features on the last axis of (n, L, hidden)
    _check_planted(net, (4, 3), np.random.default_rng(3))


def test_groupnorm_constrains_the_permutation_to_its_groups_and_depthwise_convs_keep_the_stream():
    torch.manual_seed(3)
    net = tl.from_torch(GroupNormDepthwise(), (2, 9))
    assert net.spec.names == ("P1",) and net.spec.groups("P1") == 3
    assert {("depthwise.weight", 0), ("depthwise.bias", 0), ("gn.weight", 0)} <= set(net.spec.axes["P1"])
    _check_planted(net, (2, 9), np.random.default_rng(4))
    # a swap of two channels of different groups changes the function: it is refused
    across = np.arange(12)
    across[[0, 4]] = [4, 0]
    arrays = tl.permute(net, {"P1": np.arange(12)}).arrays()
    moved = net.with_arrays(tl.permutation.permute_arrays(net.spec, {"P1": across}, arrays))
    X = np.random.default_rng(0).standard_normal((5, 18))
    assert np.max(np.abs(moved(X) - net(X))) > 1e-6
    with pytest.raises(ValueError, match=r"perms\['P1'\] must move units only within their groups of 4"):
        tl.permute(net, {"P1": across})


def test_tracing_the_resnet_builder_gives_its_handwritten_specification():
    net = tl.resnet((1, 16), 3, width=0.25, depth=14, seed=0)
    spec, taps = tl.deep.trace.traced_spec(net.module, (1, 16))
    by_hand = net.spec
    groups = lambda s: sorted(sorted(v) for v in s.axes.values())  # noqa: E731
    assert groups(spec) == groups(by_hand) and spec.unscored == by_hand.unscored
    assert sorted(taps.values()) == sorted(net.taps.values())


class BasicBlock(nn.Module):
    """torchvision's BasicBlock as torchvision writes it: one ReLU module called twice, ``out += identity``."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TorchvisionStyleResNet(nn.Module):
    def __init__(self, widths=(4, 6), classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True), nn.MaxPool2d(2)
        self.layer1 = nn.Sequential(BasicBlock(widths[0], widths[0], 1), BasicBlock(widths[0], widths[0], 1))
        self.layer2 = nn.Sequential(BasicBlock(widths[0], widths[1], 2))
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d((1, 1)), nn.Linear(widths[1], classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_torchvision_style_resnet():
    torch.manual_seed(5)
    net = tl.from_torch(TorchvisionStyleResNet(), (3, 8, 8))
    spec = net.spec
    assert len(spec.names) == 5  # two residual streams, three blocks' inner channels
    stream = set(spec.axes["P1"])
    assert {("conv1.weight", 0), ("layer1.0.bn2.weight", 0), ("layer1.1.bn2.bias", 0),
            ("layer2.0.downsample.0.weight", 1), ("layer2.0.conv1.weight", 1)} <= stream
    # a block's ReLU module, called in two streams, cannot be read by a hook: its BatchNorms are read instead
    assert net.taps["P1"] == (("relu", 1),) and net.taps["P2"] == (("layer1.0.bn1", 1),)
    assert not any(module.endswith(".relu") for taps in net.taps.values() for module, _ in taps)
    _check_planted(net, (3, 8, 8), np.random.default_rng(6))


def test_torchvision_resnet():
    models = pytest.importorskip("torchvision.models")
    torch.manual_seed(4)
    module = models.resnet.ResNet(models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=3)
    net = tl.from_torch(module, (3, 16, 16))
    assert len(net.spec.names) == 8  # one stream per stage (the stem's is the first stage's), 4 inner
    _check_planted(net, (3, 16, 16), np.random.default_rng(5), n=16)


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) if x.sum() > 0 else -self.fc(x)


class ChannelConcat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(3, 4), nn.Linear(3, 4), nn.Linear(8, 2)

    def forward(self, x):
        return self.out(torch.cat([self.a(x), self.b(x)], dim=1))


class TransposedInside(nn.Module):
    """An unsupported layer inside a module written as a forward."""

    def __init__(self):
        super().__init__()
        self.conv, self.up, self.head = nn.Conv1d(1, 4, 3), nn.ConvTranspose1d(4, 4, 3), nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.up(self.conv(x)).mean(-1))


class MaxOverPositions(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv1d(1, 4, 3), nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.conv(x).max(-1)[0])


def test_refusals_name_the_module_or_node_in_one_line():
    cases = [
        (Untraceable(), (3,), r"^Untraceable cannot be traced by torch.fx \(.*\); give it a permutation_spec"),
        (ChannelConcat(), (3,), r"^ChannelConcat: node 'cat' \(cat\) concatenates along the permuted features"),
        (nn.Sequential(nn.Conv1d(4, 8, 3), nn.Conv1d(8, 8, 3, groups=2), nn.AdaptiveAvgPool1d(1)), (4, 9),
         r"layer '1' \(Conv1d\) is a grouped convolution \(groups=2\)"),
        (nn.Sequential(nn.Linear(3, 4), nn.MultiheadAttention(4, 2)), (3,), r"does not run on inputs"),
        (nn.Sequential(nn.Conv1d(1, 4, 3), nn.Linear(6, 2)), (1, 8),
         r"layer '1' \(Linear\) reads axis 2, but the permuted features are on axis 1"),
        (TransposedInside(), (1, 8), r"^TransposedInside: layer 'up' \(ConvTranspose1d\) is not a supported layer"),
        (MaxOverPositions(), (1, 8), r"node 'max_1' \(max\) makes a tuple or a number from permuted tensors"),
    ]
    for module, shape, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            tl.from_torch(module, shape)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32'"):
        tl.from_torch(LayerNormMLP(), (5,), dtype="float16")
