"""A VGG-style and a ResNet-20-style network in PyTorch, for 1-D (MNIST-1D) or 2-D (CIFAR-10)
inputs, each a ``TorchNetwork`` with its permutation specification.

VGG (Simonyan & Zisserman 2015), the configuration of ``VGG_LAYERS``: 3-wide convolutions
(padding 1), each followed by ReLU (BatchNorm before it if asked), 2-wide max pooling at "M",
then global average pooling and one linear classifier. Channels are the configuration's
times ``width`` (at least 1).

ResNet (He et al. 2016, the CIFAR family of depth 6 n + 2; n = 3: ResNet-20): a 3-wide
convolution with 16 w channels, BatchNorm and ReLU; three stages of n basic blocks with
16 w, 32 w, 64 w channels (stride 2 at the first block of stages 2 and 3); block
h -> relu(bn2(conv2(relu(bn1(conv1 h)))) + s(h)), s the identity or, where the shape changes,
a 1-wide strided convolution with BatchNorm; global average pooling and a linear classifier.

Permutations of the ResNet (Git Re-Basin's): ``S1``, ``S2``, ``S3``, one per stage's residual
stream, tied across its skip connections (stem or shortcut output, every block's conv2 and bn2,
every layer reading the stream); ``B{s}_{b}``, the inner channels of block b of stage s.

References
----------
K. Simonyan, A. Zisserman. Very deep convolutional networks for large-scale image recognition.
ICLR 2015. arXiv:1409.1556.
K. He, X. Zhang, S. Ren, J. Sun. Deep residual learning for image recognition. CVPR 2016.
arXiv:1512.03385.
"""

from __future__ import annotations

from contextlib import contextmanager

from ..permutation import PermutationSpec
from ..random import SeedLike, as_generator
from ..validation import check_positive_float, check_positive_int
from .torchnet import Precision, Taps, TorchNetwork, norm_entries, norm_statistics, torch_module
from .trace import traced_spec

#: channel lists ("M": 2-wide max pooling); "small" suits MNIST-1D's 40 points, "vgg16" is VGG-16
VGG_LAYERS = {
    "small": (16, 16, "M", 32, 32, "M", 64, 64, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
}


def _spatial(input_shape) -> int:
    if len(input_shape) not in (2, 3):
        raise ValueError(f"input_shape must be (channels, length) or (channels, height, width); got {input_shape}")
    return len(input_shape) - 1


@contextmanager
def _seeded(seed: SeedLike):
    """Torch's global generator seeded from ``seed`` inside the block, restored after it."""
    torch = torch_module()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(as_generator(seed).integers(2**63 - 1)))
        yield


def _channels(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def vgg(input_shape, classes: int = 10, width: float = 1.0, layers: str = "small", batch_norm: bool = False,
        seed: SeedLike = 0, dtype: Precision | str = Precision.FLOAT64) -> TorchNetwork:
    """A VGG-style network (module docstring) with PyTorch's default initialisation from ``seed``,
    in ``dtype`` (float64 or float32), its permutation specification traced (``twolayer.deep.trace``).

    Examples
    --------
    >>> net = vgg((1, 40), width=0.5)
    >>> net.out_features, net.spec.names
    (10, ('P1', 'P2', 'P3', 'P4', 'P5', 'P6'))
    """
    torch = torch_module()
    nn = torch.nn
    dims = _spatial(input_shape)
    width = check_positive_float("width", width)
    classes = check_positive_int("classes", classes)
    if layers not in VGG_LAYERS:
        raise ValueError(f"layers must be one of {', '.join(map(repr, VGG_LAYERS))}; got {layers!r}")
    conv, norm, pool, gap = ((nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d) if dims == 1 else
                             (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d))
    with _seeded(seed):
        mods, channels = [], input_shape[0]
        for item in VGG_LAYERS[layers]:
            if item == "M":
                mods.append(pool(2))
                continue
            out = _channels(item, width)
            mods.append(conv(channels, out, 3, padding=1))
            if batch_norm:
                mods.append(norm(out))
            mods.append(nn.ReLU())
            channels = out
        mods += [gap(1), nn.Flatten(), nn.Linear(channels, classes)]
        module = nn.Sequential(*mods)
    spec, taps = traced_spec(module, tuple(input_shape))
    return TorchNetwork(module, tuple(input_shape), spec, taps, dtype)


def _resnet_module(input_shape, classes: int, width: float, blocks: int):
    torch = torch_module()
    nn = torch.nn
    dims = _spatial(input_shape)
    conv, norm, gap = ((nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d) if dims == 1 else
                       (nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = conv(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = norm(cout)
            self.relu1 = nn.ReLU()
            self.conv2 = conv(cout, cout, 3, padding=1, bias=False)
            self.bn2 = norm(cout)
            self.relu2 = nn.ReLU()
            self.shortcut = (nn.Sequential(conv(cin, cout, 1, stride=stride, bias=False), norm(cout))
                             if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            h = self.relu1(self.bn1(self.conv1(x)))
            return self.relu2(self.bn2(self.conv2(h)) + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            widths = [_channels(c, width) for c in (16, 32, 64)]
            self.conv = conv(input_shape[0], widths[0], 3, padding=1, bias=False)
            self.bn = norm(widths[0])
            self.relu = nn.ReLU()
            stages, cin = [], widths[0]
            for s, cout in enumerate(widths):
                stages.append(nn.Sequential(*(Block(cin if b == 0 else cout, cout, 2 if s and b == 0 else 1)
                                              for b in range(blocks))))
                cin = cout
            self.stages = nn.Sequential(*stages)
            self.pool = gap(1)
            self.fc = nn.Linear(widths[-1], classes)

        def forward(self, x):
            h = self.stages(self.relu(self.bn(self.conv(x))))
            return self.fc(self.pool(h).flatten(1))

        def permutation_spec(self):
            """(PermutationSpec, taps): ``from_torch`` reads them (``resnet_spec``)."""
            return resnet_spec(blocks)

    return ResNet()


def resnet_spec(blocks: int, stages: int = 3) -> tuple[PermutationSpec, Taps]:
    """The permutation specification and activation taps of ``resnet``'s module (module docstring)."""
    axes: dict[str, list[tuple[str, int]]] = {"S1": [("conv.weight", 0), *norm_entries("bn")]}
    taps: dict[str, list[str]] = {"S1": ["relu"]}
    stats = ["bn"]
    for s in range(stages):
        stream = f"S{s + 1}"
        axes.setdefault(stream, [])
        for b in range(blocks):
            p = f"stages.{s}.{b}"
            inner = f"B{s + 1}_{b + 1}"
            reads = stream if b or not s else f"S{s}"  # the first block of a later stage reads the previous stream
            axes[inner] = [(f"{p}.conv1.weight", 0), *norm_entries(f"{p}.bn1"), (f"{p}.conv2.weight", 1)]
            axes[reads].append((f"{p}.conv1.weight", 1))
            axes[stream] += [(f"{p}.conv2.weight", 0), *norm_entries(f"{p}.bn2")]
            stats += [f"{p}.bn1", f"{p}.bn2"]
            if s and b == 0:  # the projection shortcut: reads the previous stream, writes this one
                axes[reads].append((f"{p}.shortcut.0.weight", 1))
                axes[stream] += [(f"{p}.shortcut.0.weight", 0), *norm_entries(f"{p}.shortcut.1")]
                stats.append(f"{p}.shortcut.1")
            taps[inner] = [f"{p}.relu1"]
            taps.setdefault(stream, []).append(f"{p}.relu2")
    axes[f"S{stages}"].append(("fc.weight", 1))
    return (PermutationSpec({k: tuple(v) for k, v in axes.items()}, norm_statistics(stats)),
            {k: tuple((module, 1) for module in v) for k, v in taps.items()})


def resnet(input_shape, classes: int = 10, width: float = 1.0, depth: int = 20, seed: SeedLike = 0,
           dtype: Precision | str = Precision.FLOAT64) -> TorchNetwork:
    """A ResNet of depth 6 n + 2 (20: ResNet-20; module docstring) with PyTorch's default
    initialisation from ``seed``, in ``dtype`` (float64 or float32).

    Examples
    --------
    >>> net = resnet((1, 40), width=0.5, depth=8)
    >>> net.spec.names
    ('S1', 'B1_1', 'S2', 'B2_1', 'S3', 'B3_1')
    """
    width = check_positive_float("width", width)
    classes = check_positive_int("classes", classes)
    depth = check_positive_int("depth", depth, minimum=8)
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6 n + 2 (8, 14, 20, 32, ...); got {depth}")
    blocks = (depth - 2) // 6
    with _seeded(seed):
        module = _resnet_module(tuple(input_shape), classes, width, blocks)
    spec, taps = module.permutation_spec()
    return TorchNetwork(module, tuple(input_shape), spec, taps, dtype)
