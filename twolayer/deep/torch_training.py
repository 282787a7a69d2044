"""Minibatch SGD with momentum for ``TorchNetwork``s, in PyTorch (float64).

The same protocol as the MLP's ``train_sgd``: v <- mu v + grad, theta <- theta - lr v on
minibatches of shuffled epochs drawn from child 0 of ``SeedSequence(seed)`` (so an MLP and a
TorchNetwork see the same batches), pruned weights held at zero by masks, checkpoints kept at
the steps asked. BatchNorm runs in training mode (batch statistics, running averages updated
with PyTorch's momentum 0.1).
"""

from __future__ import annotations

import numpy as np

from ..random import SeedLike, child_seeds
from ..validation import check_positive_float, check_positive_int
from .torchnet import TorchNetwork, torch_module
from .training import MLPTrainResult


def train_torch(net: TorchNetwork, X: np.ndarray, y: np.ndarray, cross_entropy: bool = True, lr: float = 0.05,
                steps: int = 1000, batch: int = 128, momentum: float = 0.9, seed: SeedLike = 0, checkpoints=None,
                record_every: int = 50, masks: dict[str, np.ndarray] | None = None) -> MLPTrainResult:
    """Train a copy of ``net`` on (X, y); arguments as ``twolayer.deep.train_sgd``, validated by
    the caller (``twolayer.train`` with a ``Classification`` objective)."""
    torch = torch_module()
    lr = check_positive_float("lr", lr)
    momentum = check_positive_float("momentum", momentum, allow_zero=True)
    steps = check_positive_int("steps", steps, minimum=0)
    batch = min(check_positive_int("batch", batch), X.shape[0])
    record_every = check_positive_int("record_every", record_every)
    rng = np.random.default_rng(child_seeds(seed, 1)[0])
    keep = set() if checkpoints is None else {int(s) for s in checkpoints}
    model = net.with_arrays(net.arrays())
    module = model.module
    params = dict(module.named_parameters())
    mask_t = None
    if masks is not None:
        arrays = model.arrays()
        if set(masks) != set(arrays) or any(np.shape(masks[k]) != arrays[k].shape for k in arrays):
            raise ValueError(f"masks must hold arrays shaped like net.arrays() ({', '.join(arrays)})")
        mask_t = {k: torch.from_numpy(np.asarray(masks[k], dtype=np.float64)) for k in params}
        with torch.no_grad():
            for k, p in params.items():
                p.mul_(mask_t[k])
    optimizer = torch.optim.SGD(module.parameters(), lr=lr, momentum=momentum)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)).reshape(-1, *net.input_shape)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    targets = None if cross_entropy else torch.nn.functional.one_hot(yt, net.out_features).double()
    losses, saved, order, pos = [], [], rng.permutation(X.shape[0]), 0
    module.train()
    try:
        for step in range(steps + 1):
            if step in keep:
                saved.append((step, model.with_arrays(model.arrays())))
            if step == steps:
                break
            if pos + batch > order.size:
                order, pos = rng.permutation(X.shape[0]), 0
            idx = torch.from_numpy(order[pos:pos + batch])
            pos += batch
            out = module(Xt[idx])
            if cross_entropy:
                value = torch.nn.functional.cross_entropy(out, yt[idx])
            else:
                value = 0.5 * ((out - targets[idx]) ** 2).sum(1).mean()
            if not torch.isfinite(value):
                return MLPTrainResult(model.with_arrays(model.arrays()), np.array(losses), True, saved)
            if step % record_every == 0:
                losses.append(float(value.detach()))
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            if mask_t is not None:
                for k, p in params.items():
                    p.grad.mul_(mask_t[k])
            optimizer.step()
    finally:
        module.eval()
    return MLPTrainResult(model.with_arrays(model.arrays()), np.array(losses), False, saved)
