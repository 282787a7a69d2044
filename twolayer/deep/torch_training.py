"""Minibatch SGD with momentum for ``TorchNetwork``s, in PyTorch, in the network's precision
(float64 by default, float32 when the network is: ``TorchNetwork.dtype``).

The same protocol as the MLP's ``train_sgd``: v <- mu v + grad, theta <- theta - lr v on
minibatches of shuffled epochs drawn from child 0 of ``SeedSequence(seed)`` (so an MLP and a
TorchNetwork see the same batches), pruned weights held at zero by masks, checkpoints kept at
the steps asked. BatchNorm runs in training mode (batch statistics, running averages updated
with PyTorch's momentum 0.1).
"""

from __future__ import annotations

import numpy as np

from ..output_loss import ClassificationLoss, torch_classification_loss
from ..random import SeedLike
from ..train_result import TrainResult
from .torchnet import TorchNetwork, torch_module
from .training import SGDOptions, check_masks, minibatches


def train_torch(net: TorchNetwork, X: np.ndarray, y: np.ndarray, loss: ClassificationLoss = ClassificationLoss.CE,
                lr: float = 0.05, steps: int = 1000, batch: int = 128, momentum: float = 0.9, seed: SeedLike = 0,
                checkpoints=None, record_every: int = 50, masks: dict[str, np.ndarray] | None = None
                ) -> TrainResult:
    """Train a copy of ``net`` on (X, y); arguments as ``twolayer.deep.train_sgd``, validated by
    the caller (``twolayer.train`` with a ``Classification`` objective)."""
    torch = torch_module()
    opt = SGDOptions.check(X.shape[0], lr, momentum, steps, batch, record_every, checkpoints)
    model = net.copy()
    module = model.module
    params = dict(module.named_parameters())
    mask_t = None
    check_masks(masks, model.arrays())
    if masks is not None:
        mask_t = {k: torch.from_numpy(np.asarray(masks[k], dtype=net.dtype.numpy)) for k in params}
        with torch.no_grad():
            for k, p in params.items():
                p.mul_(mask_t[k])
    optimizer = torch.optim.SGD(module.parameters(), lr=opt.lr, momentum=opt.momentum)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=net.dtype.numpy)).reshape(-1, *net.input_shape)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    losses, saved, batches = [], [], minibatches(X.shape[0], opt.batch, seed)
    module.train()
    try:
        for step in range(opt.steps + 1):
            if step in opt.keep:
                saved.append((step, model.copy()))
            if step == opt.steps:
                break
            idx = torch.from_numpy(next(batches))
            value = torch_classification_loss(module(Xt[idx]), yt[idx], loss)
            if not torch.isfinite(value):
                return opt.result(model.copy(), losses, step, True, saved)
            if step % opt.record_every == 0:
                losses.append(float(value.detach()))
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            if mask_t is not None:
                for k, p in params.items():
                    p.grad.mul_(mask_t[k])
            optimizer.step()
    finally:
        module.eval()
    return opt.result(model.copy(), losses, opt.steps, False, saved)
