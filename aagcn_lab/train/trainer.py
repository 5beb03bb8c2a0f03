"""The trainer: one code path from one CPU process to many GPUs on many nodes.

Launch it directly (one process) or through ``torchrun`` (any number of processes and nodes);
``torch.distributed`` is set up from torchrun's environment variables, with gloo on CPU and NCCL
on GPU. Rank 0 logs and saves. The loop reads top to bottom in :meth:`Trainer.fit`.

How the data is split. Each epoch draws one permutation of ``len(train set) * repeat`` sample
keys from the seed and the epoch. Optimizer step ``s`` consumes the block
``perm[s * G : (s + 1) * G]`` of ``G = batch_size * world_size * grad_accum`` keys; micro-batch
``m`` of rank ``r`` is the ``(m * world_size + r)``-th slice of it. So 2 processes with batch ``b``
see exactly the samples of 1 process with batch ``b`` and ``grad_accum=2`` (the same gradients,
also the same BN batch statistics), and resuming at step ``s`` just starts at block ``s``.

Nothing lost. Checkpoints are written atomically (temp file, fsync, rename) and hold the model,
optimizer, grad scaler, epoch and step, best score and every RNG state; the learning rate is a
function of the step and each sample's random clip is a function of (seed, epoch, sample), so a
run killed at any step and resumed finishes with the same weights as one that never stopped
(CPU, ``deterministic=True``, same number of processes and threads). A NaN loss stops the run
before the optimizer step, so no NaN weights are ever saved.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader, Sampler

from ..data import Augment, SkeletonDataset
from ..data.annotations import resolve_annotations
from ..metrics import evaluate_scores
from ..model import AAGCN, AAGCNConfig
from ..model.checkpoint import read_checkpoint, save_checkpoint
from ..runtime import keep_freed_memory
from ..scores import Scores, save_scores
from .config import TrainConfig
from .rundir import RunDir, RunResult

__all__ = [
    "DivergenceError",
    "KeySampler",
    "MetricsLog",
    "RunResult",
    "Trainer",
    "evaluate",
    "main",
    "seed_everything",
    "set_deterministic",
    "setup_distributed",
    "train",
]


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the run stopped before corrupting any checkpoint."""


# ------------------------------------------------------------------------------------------------
# Distributed set-up
# ------------------------------------------------------------------------------------------------


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str = "auto") -> DistInfo:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK; init the process group (gloo or NCCL)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' requested but CUDA is not available")
    dev = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)

    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, world, local, dev)


# The latest collective's work handles stay referenced here for the life of the process. A gloo
# worker thread that drops the last reference to a finished work frees its tensors, and freeing a
# tensor Python has seen needs the GIL. If the main thread is at that moment tearing the process
# group down, it holds the GIL while ~ProcessGroupGloo joins that worker thread, and both wait
# forever (seen at the end of two-node runs on a loaded 2-core machine). With a reference kept here
# the worker only decrements a count, and the work is freed later by Python itself.
_LAST_COLLECTIVE: list[object] = []


def _all_true(flag: bool, info: DistInfo) -> bool:
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=info.device)
    work = dist.all_reduce(t, op=dist.ReduceOp.MIN, async_op=True)
    _LAST_COLLECTIVE[:] = [work, t]
    work.wait()
    return bool(t.item())


def _gather_rows(rows: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Every rank's ``rows`` (same trailing shape and dtype, any length) stacked in rank order, on CPU."""
    count = torch.tensor([len(rows)], dtype=torch.int64, device=info.device)
    counts = [torch.zeros_like(count) for _ in range(info.world_size)]
    first = dist.all_gather(counts, count, async_op=True)
    _LAST_COLLECTIVE[:] = [first, count, counts]
    first.wait()
    sizes = [int(c.item()) for c in counts]
    padded = torch.zeros((max(sizes), *rows.shape[1:]), dtype=rows.dtype, device=info.device)
    padded[: len(rows)] = rows.to(info.device)
    outs = [torch.empty_like(padded) for _ in range(info.world_size)]
    second = dist.all_gather(outs, padded, async_op=True)
    _LAST_COLLECTIVE[:] = [first, count, counts, second, padded, outs]
    second.wait()
    return torch.cat([o[:k] for o, k in zip(outs, sizes)]).cpu()


# ------------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------------


class KeySampler(Sampler[int]):
    """Yields this rank's dataset keys (``round * N + index``) for one epoch, from a start step."""

    def __init__(self, n: int, batch_size: int, world_size: int, rank: int, grad_accum: int, repeat: int, seed: int) -> None:
        self.n, self.b, self.world, self.rank = n, batch_size, world_size, rank
        self.accum, self.repeat, self.seed = grad_accum, repeat, seed
        self.epoch, self.start_step = 0, 0

    @property
    def global_batch(self) -> int:
        """Samples per optimizer step, over all processes."""
        return self.b * self.world * self.accum

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps per epoch (the last incomplete global batch is dropped)."""
        return (self.n * self.repeat) // self.global_batch

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Choose the epoch (reshuffles) and the optimizer step to begin at (for resuming)."""
        self.epoch, self.start_step = epoch, start_step

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        perm = torch.randperm(self.n * self.repeat, generator=g).numpy()
        keys = perm + self.epoch * self.n * self.repeat  # round = epoch * repeat + repeat index
        for s in range(self.start_step, self.steps_per_epoch):
            for m in range(self.accum):
                start = s * self.global_batch + (m * self.world + self.rank) * self.b
                yield from keys[start : start + self.b].tolist()

    def __len__(self) -> int:
        return (self.steps_per_epoch - self.start_step) * self.accum * self.b


# ------------------------------------------------------------------------------------------------
# RNG state (stored as plain tensors/lists so weights-only loading can read it)
# ------------------------------------------------------------------------------------------------


def _rng_state() -> dict:
    np_state = np.random.get_state()
    py_state = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]), "gauss": [int(np_state[3]), float(np_state[4])]},
        "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]},
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"], npst["gauss"][0], npst["gauss"][1]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_deterministic() -> None:
    """Deterministic algorithms (cuDNN / cuBLAS too)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


# ------------------------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------------------------


class MetricsLog:
    """JSON-lines metrics (and TensorBoard when installed), written by rank 0 only."""

    def __init__(self, run: RunDir, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.path = run.metrics
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run.tensorboard))
            except Exception:  # tensorboard not installed
                self.tb = None

    def write(self, record: dict) -> None:
        """Append one record; mirror numbers to TensorBoard and a line to stdout."""
        if not self.enabled:
            return
        record = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in record.items()}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("epoch", "step"):
                    self.tb.add_scalar(f"{record.get('split', 'train')}/{k}", v, record.get("step", 0))
        print("[aagcn-lab] " + json.dumps(record), flush=True)

    def close(self) -> None:
        """Flush TensorBoard."""
        if self.tb is not None:
            self.tb.close()


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: AAGCN, dataset: SkeletonDataset, batch_size: int = 16, device: torch.device | str = "cpu",
    info: DistInfo | None = None, num_workers: int = 0, amp: str = "none", progress: bool = False,
) -> Scores | None:
    """Test-time probabilities of every sample (softmax per clip, mean over clips).

    Under torch.distributed each rank scores a contiguous shard and rank 0 gathers them; rank 0
    returns the :class:`Scores` in dataset order, other ranks return ``None``.
    """  # fmt: skip
    info = info or DistInfo(device=torch.device(device))
    n = len(dataset)
    per = math.ceil(n / info.world_size)
    shard = list(range(info.rank * per, min(n, (info.rank + 1) * per)))
    loader = DataLoader(torch.utils.data.Subset(dataset, shard), batch_size=batch_size, num_workers=num_workers, pin_memory=info.device.type == "cuda")
    model.eval()
    probs, idx = [], []
    it = loader
    if progress and info.is_main:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc=f"eval {dataset.split}", leave=False)
    for x, _, i in it:
        with _autocast(amp, info.device):
            p = model.forward_test(x.to(info.device, non_blocking=True))
        probs.append(p.float().cpu())
        idx.append(i)
    probs = torch.cat(probs) if probs else torch.zeros((0, model.cfg.num_classes))
    idx = torch.cat(idx).to(torch.int64) if idx else torch.zeros(0, dtype=torch.int64)
    if info.enabled:  # one float64 gather: float32 probabilities and sample indices both travel exactly
        rows = _gather_rows(torch.cat([probs.double(), idx[:, None].double()], 1), info)
        probs, idx = rows[:, :-1].float(), rows[:, -1].to(torch.int64)
    if not info.is_main:
        return None
    p, order = probs.numpy(), idx.numpy()
    assert np.array_equal(order, np.arange(n)), "evaluation shards lost samples"
    return Scores(dataset.frame_dirs, p, dataset.labels, {"feat": dataset.feat, "split": dataset.split, "clips": dataset.pipeline.num_clips})


def _autocast(amp: str, device: torch.device):
    if amp == "none":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


# ------------------------------------------------------------------------------------------------
# The trainer
# ------------------------------------------------------------------------------------------------


def lr_at_step(cfg: TrainConfig, base_lr: float, steps_per_epoch: int, step: int) -> float:
    """The learning rate of optimizer step ``step``: linear warm-up (optional), then cosine annealing
    per iteration to ``min_lr`` (pyskl)."""
    warm = int(cfg.warmup_epochs * steps_per_epoch)
    if step < warm:
        return base_lr * (step + 1) / warm
    total = max(1, cfg.epochs * steps_per_epoch - warm)
    progress = (step - warm) / total
    return cfg.min_lr + 0.5 * (base_lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))


GRAPH_PARAMETERS = (".gcn.A", ".gcn.PA")  # the learned graphs B_k (PA: the CVPR'19 unit's)


def _param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict]:
    """SGD parameter groups: one (pyskl: weight decay on everything), or with ``graph_weight_decay``
    off a second group holding the learned graphs without weight decay."""
    if cfg.graph_weight_decay:
        return [{"params": list(model.parameters())}]
    graph = [p for n, p in model.named_parameters() if n.endswith(GRAPH_PARAMETERS)]
    if not graph:
        raise ValueError("graph_weight_decay=false, but the model has no learned graph (graph='fixed'?)")
    ids = {id(p) for p in graph}
    return [{"params": [p for p in model.parameters() if id(p) not in ids]}, {"params": graph, "weight_decay": 0.0}]


class Trainer:
    """Builds data, model and optimizer from a :class:`TrainConfig`; :meth:`fit` runs the loop."""

    def __init__(self, cfg: TrainConfig, resume: str | os.PathLike | bool | None = None) -> None:
        self.cfg = cfg
        if cfg.deterministic:
            set_deterministic()
        self.info = setup_distributed(cfg.device)
        if self.info.device.type == "cpu":
            keep_freed_memory()  # freed activations are reused instead of page-faulted in again
            if "OMP_NUM_THREADS" not in os.environ:
                # Leave a core to each data worker: intra-op threads that share a core with another
                # busy process spin at every barrier and slow training down many times over.
                local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
                torch.set_num_threads(max(1, (os.cpu_count() or 1) // local - cfg.num_workers))
        self.run = RunDir.of(cfg)
        self.work_dir = self.run.path
        if self.info.is_main:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            for stale in self.run.stale_writes():  # a write interrupted by a kill
                stale.unlink(missing_ok=True)
        seed_everything(cfg.seed)

        # data: files -> annotations -> datasets
        self.ann = resolve_annotations(cfg.ann_file, cfg.layout)
        layout = self.ann.layout_name()
        augment = Augment(**cfg.augment) if cfg.augment else None
        common = dict(feat=cfg.feat, clip_len=cfg.clip_len, layout=layout, seed=cfg.seed, storage=cfg.storage)
        self.train_set = SkeletonDataset(self.ann, cfg.train_split, mode="train", augment=augment, **common)
        self.val_set = SkeletonDataset(self.ann, cfg.val_split, mode="val", **common) if cfg.val_split else None
        test_split = cfg.resolved_test_split()
        self.test_set = SkeletonDataset(self.ann, test_split, mode="test", num_clips=cfg.test_clips, **common) if test_split else None
        self.num_classes = self.ann.num_classes
        self.label_names = self.ann.label_names

        # model (the same weights on every rank: seeded init, then DDP broadcasts rank 0's)
        mcfg = AAGCNConfig(**{**cfg.model, "layout": layout, "num_classes": self.num_classes, "in_channels": 3})
        torch.manual_seed(cfg.seed)
        self.model = AAGCN(mcfg).to(self.info.device)
        if cfg.channels_last:
            self.model.to_channels_last()

        # optimisation: pyskl's SGD, lr scaled linearly with the global batch
        self.sampler = KeySampler(len(self.train_set), cfg.batch_size, self.info.world_size, self.info.rank, cfg.grad_accum, cfg.repeat, cfg.seed)
        if self.sampler.steps_per_epoch < 1:
            raise ValueError(
                f"the training split has {len(self.train_set)} samples x repeat {cfg.repeat}, fewer than one global batch "
                f"of {self.sampler.global_batch}; lower batch_size"
            )
        self.base_lr = cfg.lr * self.sampler.global_batch / cfg.lr_batch
        self.total_steps = cfg.epochs * self.sampler.steps_per_epoch
        if cfg.max_steps:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.optimizer = torch.optim.SGD(
            _param_groups(self.model, cfg), lr=self.base_lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
        )
        self.scaler = torch.amp.GradScaler(self.info.device.type, enabled=cfg.amp == "fp16")
        self.ddp = (
            torch.nn.parallel.DistributedDataParallel(self.model, device_ids=[self.info.local_rank] if self.info.device.type == "cuda" else None)
            if self.info.enabled
            else self.model
        )
        self.forward = torch.compile(self.ddp) if cfg.compile else self.ddp

        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best_top1, self.best_epoch = -1.0, None
        self.validated_step = -1
        self.log = MetricsLog(self.run, self.info.is_main, cfg.tensorboard)
        if resume:
            path = self.run.latest if resume is True or str(resume) == "auto" else Path(resume)
            if path.exists():
                self.load_state(path)
            elif resume is not True and str(resume) != "auto":
                raise FileNotFoundError(f"cannot resume: {path} does not exist")
        if self.info.is_main:
            self.run.write_config(
                {"train": cfg.to_dict(), "model": mcfg.to_dict(), "world_size": self.info.world_size, "global_batch": self.sampler.global_batch, "base_lr": self.base_lr}
            )  # fmt: skip

    # -- schedule -----------------------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        """Linear warm-up (optional), then cosine annealing per iteration to ``min_lr`` (pyskl)."""
        return lr_at_step(self.cfg, self.base_lr, self.sampler.steps_per_epoch, step)

    # -- checkpoints --------------------------------------------------------------------------------
    def save_state(self, path: Path, extra_meta: dict | None = None) -> Path | None:
        """Atomically write a full training checkpoint (rank 0)."""
        if not self.info.is_main:
            return None
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_top1": self.best_top1,
            "best_epoch": -1 if self.best_epoch is None else self.best_epoch,
            "world_size": self.info.world_size,
            "global_batch": self.sampler.global_batch,
            "steps_per_epoch": self.sampler.steps_per_epoch,
            "rng": _rng_state(),
            "train_config": self.cfg.to_dict(),
        }
        meta = {"label_names": self.label_names or [], "feat": self.cfg.feat, "preset": self.cfg.preset, **(extra_meta or {})}
        return save_checkpoint(self.model, path, meta=meta, train_state=state)

    def load_state(self, path: Path) -> None:
        """Restore everything :meth:`save_state` wrote."""
        info = read_checkpoint(path)
        state = info.train_state
        if state is None:
            raise ValueError(f"{path}: a model checkpoint without training state; cannot resume from it")
        self.model.load_state_dict(info.state_dict)
        self.optimizer.load_state_dict(state["optimizer"])
        if state["scaler"] and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step_in_epoch, self.global_step = state["epoch"], state["step_in_epoch"], state["global_step"]
        self.best_top1 = state["best_top1"]
        self.best_epoch = None if state["best_epoch"] < 0 else state["best_epoch"]
        _set_rng_state(state["rng"])
        if state["global_batch"] != self.sampler.global_batch or state["world_size"] != self.info.world_size:
            print(
                f"[aagcn-lab] warning: resuming with world_size={self.info.world_size}, global batch {self.sampler.global_batch} "
                f"(checkpoint: {state['world_size']}, {state['global_batch']}); the run will not be bit-identical",
                file=sys.stderr,
            )
        if self.info.is_main:
            print(f"[aagcn-lab] resumed from {path} at epoch {self.epoch}, step {self.global_step}", flush=True)

    # -- one optimizer step -----------------------------------------------------------------------------
    def train_step(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
        """Forward/backward over ``grad_accum`` micro-batches, then one SGD step."""
        cfg, dev = self.cfg, self.info.device
        lr = self.lr_at(self.global_step)
        # Randomness inside the model (dropout) depends on the step alone, so a resumed run draws
        # exactly what an uninterrupted one would.
        torch.manual_seed((cfg.seed * 1_000_003 + self.global_step * 7919 + self.info.rank) % 2**63)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        sums, count = torch.zeros(3, device=dev, dtype=torch.float64), 0  # loss * n, top-1 hits, top-5 hits
        for m, (x, y) in enumerate(batches):
            x, y = x[:, 0].to(dev, non_blocking=True), y.to(dev, non_blocking=True)  # one clip when training
            last = m == len(batches) - 1
            sync = nullcontext() if (last or not self.info.enabled) else self.ddp.no_sync()
            with sync:
                with _autocast(cfg.amp, dev):
                    logits = self.forward(x)
                loss = F.cross_entropy(logits.float(), y)
                self.scaler.scale(loss / len(batches)).backward()
            top5 = logits.detach().topk(min(5, logits.shape[1]), dim=1).indices
            hits = [(top5[:, 0] == y).sum(), (top5 == y[:, None]).any(1).sum()]
            sums += torch.stack([loss.detach().double() * len(y)] + [h.double() for h in hits])
            count += len(y)
        loss_sum, correct1, correct5 = sums.tolist()  # the step's one wait for the device before the update
        if not _all_true(math.isfinite(loss_sum), self.info):
            raise DivergenceError(
                f"loss became NaN/inf at epoch {self.epoch}, step {self.global_step} (lr {lr:.4g}); stopped before the "
                f"update, so {self.run.latest} holds the last good state. Lower the lr or check the data."
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # A finite loss can still give non-finite gradients or an overflowing update; either leaves
        # NaN/inf in the weights, so one check after the step covers both (fp16's scaler skips such steps).
        params_ok = bool(torch.nn.utils.get_total_norm(list(self.model.parameters()), float("inf")).isfinite())  # max |w|, one fused pass
        if not _all_true(params_ok, self.info):
            raise DivergenceError(
                f"weights became NaN/inf at epoch {self.epoch}, step {self.global_step} (lr {lr:.4g}) after the update; "
                f"it was not saved, so {self.run.latest} holds the last good state. Lower the lr."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.global_step += 1
        return {"loss": loss_sum / count, "top1": correct1 / count, "top5": correct5 / count, "lr": lr, "samples": count}

    # -- the loop ------------------------------------------------------------------------------------
    def fit(self) -> RunResult:
        """Train (from wherever the state says), validate, keep the best, then test."""
        cfg = self.cfg
        loader = DataLoader(
            self.train_set, batch_size=cfg.batch_size, sampler=self.sampler, num_workers=cfg.num_workers,
            persistent_workers=cfg.num_workers > 0, pin_memory=self.info.device.type == "cuda", drop_last=False,
            generator=torch.Generator().manual_seed(cfg.seed),  # keeps the global RNG out of the loader
        )  # fmt: skip
        bar = None
        if cfg.progress and self.info.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.total_steps, initial=self.global_step, desc=f"train {cfg.feat}", dynamic_ncols=True)
        val_metrics: dict = {}
        try:
            # An epoch whose steps are all done but which was not closed (killed before or during its
            # validation, after the last step's checkpoint) still gets its validation and checkpoint.
            while self.epoch < cfg.epochs and (
                self.global_step < self.total_steps or self.step_in_epoch >= self.sampler.steps_per_epoch
            ):
                self.sampler.set_epoch(self.epoch, self.step_in_epoch)
                window: list[dict] = []
                t0 = time.perf_counter()
                batches = []
                for x, y, _ in loader:
                    batches.append((x, y))
                    if len(batches) < cfg.grad_accum:
                        continue
                    stats = self.train_step(batches)
                    batches = []
                    self.step_in_epoch += 1
                    window.append(stats)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{stats['loss']:.3f}", lr=f"{stats['lr']:.3g}")
                    if self.global_step % cfg.log_interval == 0 or self.step_in_epoch == self.sampler.steps_per_epoch:
                        dt = time.perf_counter() - t0
                        n = sum(w["samples"] for w in window) * self.info.world_size
                        # "epoch" counts from 1 in every record: the epoch being trained here, the
                        # epochs completed in validation's (the same number for the same epoch)
                        self.log.write({
                            "split": "train", "epoch": self.epoch + 1, "step": self.global_step, "total_steps": self.total_steps,
                            "loss": sum(w["loss"] * w["samples"] for w in window) / sum(w["samples"] for w in window),
                            "top1": sum(w["top1"] * w["samples"] for w in window) / sum(w["samples"] for w in window),
                            "top5": sum(w["top5"] * w["samples"] for w in window) / sum(w["samples"] for w in window),
                            "lr": stats["lr"], "samples_per_s": n / dt,
                        })  # fmt: skip
                        window, t0 = [], time.perf_counter()
                    if cfg.save_interval and self.global_step % cfg.save_interval == 0:
                        self.save_state(self.run.latest)
                    if self.global_step >= self.total_steps:
                        break
                if self.step_in_epoch >= self.sampler.steps_per_epoch:
                    self.epoch, self.step_in_epoch = self.epoch + 1, 0
                    if self.val_set is not None and cfg.val_interval and self.epoch % cfg.val_interval == 0:
                        val_metrics = self.validate()
                    self.save_state(self.run.latest)
                elif self.global_step >= self.total_steps:  # max_steps reached mid-epoch
                    if self.val_set is not None:
                        val_metrics = self.validate()
                    self.save_state(self.run.latest)
        finally:
            if bar is not None:
                bar.close()
        if self.val_set is not None and cfg.val_interval and self.validated_step != self.global_step:
            val_metrics = self.validate()  # e.g. resumed after the last epoch (same decision on every rank)
        result = RunResult(self.work_dir, self.best_top1 if self.best_top1 >= 0 else None, self.best_epoch, val_metrics)
        if cfg.test_after and self.test_set is not None:
            result.test, result.scores, result.checkpoint = self.test()
        if self.info.is_main:
            self.run.write_result(result)
        self.log.close()
        return result

    def validate(self) -> dict:
        """Single-clip validation; keeps ``best.pt`` by top-1. Every rank must call it."""
        self.validated_step = self.global_step
        scores = evaluate(self.model, self.val_set, self.cfg.batch_size, info=self.info, amp=self.cfg.amp, progress=self.cfg.progress)
        if not self.info.is_main:
            return {}
        m = evaluate_scores(scores.probs, scores.labels, self.num_classes)
        loss = float(-np.log(np.clip(scores.probs[np.arange(len(scores)), scores.labels], 1e-12, None)).mean())
        rec = {"split": "val", "epoch": self.epoch, "step": self.global_step, "loss": loss, "top1": m["top1"], "top5": m["top5"], "mean_class_acc": m["mean_class_acc"]}
        self.log.write(rec)
        if m["top1"] > self.best_top1:
            self.best_top1, self.best_epoch = m["top1"], self.epoch
            self.save_state(self.run.best, {"val_top1": m["top1"]})
        return {k: rec[k] for k in ("epoch", "loss", "top1", "top5", "mean_class_acc")}

    def test(self) -> tuple[dict, Path | None, Path | None]:
        """10-clip test of the best (or last) checkpoint; writes the score file and metrics."""
        ckpt = self.run.checkpoint(self.cfg.test_checkpoint)
        if self.info.enabled:
            dist.barrier()
        if not ckpt.exists():
            ckpt = self.run.latest
        if ckpt.exists():
            self.model.load_state_dict(read_checkpoint(ckpt).state_dict)
        scores = evaluate(self.model, self.test_set, self.cfg.batch_size, info=self.info, amp=self.cfg.amp, progress=self.cfg.progress)
        if self.cfg.tuning_split():
            # the validation split scored with the test protocol too: fusion weights are tuned there
            tune_set = SkeletonDataset(self.ann, self.cfg.tuning_split(), self.cfg.feat, "test", self.cfg.clip_len, self.cfg.test_clips, self.test_set.layout)
            tune = evaluate(self.model, tune_set, self.cfg.batch_size, info=self.info, amp=self.cfg.amp)
            if self.info.is_main:
                tune.meta.update({"label_names": self.label_names or [], "checkpoint": str(ckpt), "ann_file": self.cfg.ann_file})
                save_scores(self.run.scores(tune_set.split, self.cfg.feat), tune)
        if not self.info.is_main:
            return {}, None, None
        scores.meta.update({"label_names": self.label_names or [], "checkpoint": str(ckpt), "ann_file": self.cfg.ann_file})
        path = save_scores(self.run.scores(self.test_set.split, self.cfg.feat), scores)
        m = evaluate_scores(scores.probs, scores.labels, self.num_classes)
        np.save(self.run.confusion_test, m.pop("confusion"))
        self.log.write({"split": "test", "epoch": self.epoch, "step": self.global_step, **m})
        return m, path, ckpt


def train(cfg: TrainConfig, resume: str | os.PathLike | bool | None = None) -> RunResult:
    """Train one stream as configured (in this process; under torchrun, in each process)."""
    trainer = Trainer(cfg, resume)
    try:
        return trainer.fit()
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``torchrun -m aagcn_lab.train``: ``--config run.json [--resume PATH|auto]``."""
    import argparse

    from .config import load_config

    p = argparse.ArgumentParser(prog="python -m aagcn_lab.train")
    p.add_argument("--config", required=True)
    p.add_argument("--resume", default=None)
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    rank = os.environ.get("RANK", "0")
    try:
        train(cfg, args.resume)
    except KeyboardInterrupt:
        print(f"[aagcn-lab] rank {rank}: interrupted; resume with --resume {RunDir.of(cfg).latest}", file=sys.stderr)
        return 130
    except Exception as e:  # one clear line per failing rank; torchrun then stops the others
        print(
            f"[aagcn-lab] rank {rank}: training failed: {type(e).__name__}: {e}\n"
            f"[aagcn-lab] the last good checkpoint (if any) is {RunDir.of(cfg).latest}; resume with --resume auto",
            file=sys.stderr,
            flush=True,
        )
        if os.environ.get("AAGCN_LAB_TRACEBACK"):
            raise
        return 1
    return 0

