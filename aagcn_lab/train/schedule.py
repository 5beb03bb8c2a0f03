"""pyskl's optimisation recipe: SGD with the lr scaled to the global batch, cosine annealing per step.

* ``lr = cfg.lr * global_batch / cfg.lr_batch`` (the linear scaling rule; pyskl: 0.1 for 128);
* SGD, momentum 0.9, Nesterov, weight decay on every parameter -- the learned graphs too, unless
  ``graph_weight_decay=False`` (a deviation: the graphs then get a group without decay);
* per optimizer step: optional linear warm-up, then cosine annealing to ``min_lr`` -- or, with
  ``lr_schedule='step'``, the lr multiplied by ``lr_decay`` from each epoch in ``lr_steps`` on (the
  recipe of the NW-UCLA papers: x0.1 from epoch 50).

Pure functions of the config: the analysis layer recomputes a run's schedule from its checkpoint.
"""

from __future__ import annotations

import math

import torch

from .config import TrainConfig

__all__ = ["GRAPH_PARAMETERS", "scaled_lr", "lr_at_step", "param_groups", "make_optimizer"]

GRAPH_PARAMETERS = (".gcn.A", ".gcn.PA")  # the learned graphs B_k (PA: the CVPR'19 unit's)


def scaled_lr(cfg: TrainConfig, global_batch: int) -> float:
    """The base learning rate for ``global_batch`` samples per step (linear in the batch)."""
    return cfg.lr * global_batch / cfg.lr_batch


def lr_at_step(cfg: TrainConfig, base_lr: float, steps_per_epoch: int, step: int) -> float:
    """The learning rate of optimizer step ``step``: linear warm-up (optional), then cosine annealing
    per iteration to ``min_lr`` (pyskl), or steps of ``lr_decay`` at the epochs ``lr_steps``."""
    warm = int(cfg.warmup_epochs * steps_per_epoch)
    if step < warm:
        return base_lr * (step + 1) / warm
    if cfg.lr_schedule == "step":
        epoch = step // steps_per_epoch
        return base_lr * cfg.lr_decay ** sum(1 for e in cfg.lr_steps if epoch >= e)
    total = max(1, cfg.epochs * steps_per_epoch - warm)
    progress = (step - warm) / total
    return cfg.min_lr + 0.5 * (base_lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """SGD parameter groups: one (pyskl: weight decay on everything), or with ``graph_weight_decay``
    off a second group holding the learned graphs without weight decay."""
    if cfg.graph_weight_decay:
        return [{"params": list(model.parameters())}]
    graph = [p for n, p in model.named_parameters() if n.endswith(GRAPH_PARAMETERS)]
    if not graph:
        raise ValueError("graph_weight_decay=false, but the model has no learned graph (graph='fixed'?)")
    ids = {id(p) for p in graph}
    return [{"params": [p for p in model.parameters() if id(p) not in ids]}, {"params": graph, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig, base_lr: float) -> torch.optim.SGD:
    """pyskl's SGD over :func:`param_groups` (the lr is set again before every step)."""
    return torch.optim.SGD(param_groups(model, cfg), lr=base_lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
