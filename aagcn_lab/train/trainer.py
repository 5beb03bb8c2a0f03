"""The trainer: one code path from one CPU process to many GPUs on many nodes.

Launch it directly (one process) or through ``torchrun`` (any number of processes and nodes);
rank 0 logs and saves. :class:`Trainer` builds everything from a :class:`TrainConfig` in a few
named steps (torchtune's recipe verbs) and :meth:`Trainer.fit` is the whole loop, top to bottom::

    Trainer(cfg, resume)         setup_runtime -> setup_run_dir -> setup_data -> setup_model
                                 -> setup_optimizer -> load_state (resume) -> config.json
    fit()                        for each epoch: train_step per global batch, log, save_state,
                                 validate (keeps best.pt); then test() the best checkpoint
    cleanup()                    close the log, tear the process group down

Each concern has its own module: :mod:`~aagcn_lab.train.distributed` (process group,
collectives), :mod:`~aagcn_lab.train.sampler` (which samples each step and rank get),
:mod:`~aagcn_lab.train.state` (what a checkpoint holds; exact resume),
:mod:`~aagcn_lab.train.schedule` (pyskl's SGD and cosine schedule),
:mod:`~aagcn_lab.train.evaluation` (sharded evaluation, the 10-clip test),
:mod:`~aagcn_lab.train.log` (metrics.jsonl) and :mod:`~aagcn_lab.train.rundir` (the run folder).

Nothing lost: checkpoints are atomic and hold every RNG state, and the lr, the samples and the
random clips are functions of the step, so a run killed at any step and resumed finishes with
the same weights as one that never stopped. A NaN loss stops the run before the optimizer step,
so no NaN weights are ever saved.
"""

from __future__ import annotations

import math
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..data import Augment, SkeletonDataset
from ..data.inputs import resolve_annotations
from ..metrics import evaluate_scores
from ..model import AAGCN, AAGCNConfig
from ..model.checkpoint import read_checkpoint, save_checkpoint
from ..runtime import keep_freed_memory
from ..scores import save_scores
from .config import TrainConfig
from .distributed import DistInfo, all_true, cleanup_distributed, setup_distributed
from .evaluation import autocast, evaluate
from .log import MetricsLog
from .rundir import RunDir, RunResult
from .sampler import KeySampler
from .schedule import lr_at_step, make_optimizer, scaled_lr
from .state import TrainState, rng_state, seed_everything, set_deterministic, set_rng_state

__all__ = ["DivergenceError", "Trainer", "train"]


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the run stopped before corrupting any checkpoint."""


class Trainer:
    """Builds data, model and optimizer from a :class:`TrainConfig`; :meth:`fit` runs the loop."""

    def __init__(self, cfg: TrainConfig, resume: str | os.PathLike | bool | None = None) -> None:
        self.cfg = cfg
        self.info = self.setup_runtime()
        self.run = self.setup_run_dir()
        seed_everything(cfg.seed)
        self.setup_data()
        self.setup_model()
        self.setup_optimizer()
        self.epoch, self.step_in_epoch, self.global_step = 0, 0, 0
        self.best_top1, self.best_epoch = -1.0, None
        self.validated_step = -1
        self.log = MetricsLog(self.run, self.info.is_main, cfg.tensorboard, self.info.world_size)
        if resume:
            path = self.run.latest if resume is True or str(resume) == "auto" else Path(resume)
            if path.exists():
                self.load_state(path)
            elif resume is not True and str(resume) != "auto":
                raise FileNotFoundError(f"cannot resume: {path} does not exist")
        if self.info.is_main:
            self.run.write_config({
                "train": cfg.to_dict(), "model": self.model_config.to_dict(), "world_size": self.info.world_size,
                "global_batch": self.sampler.global_batch, "base_lr": self.base_lr,
            })  # fmt: skip

    # -- set-up steps ---------------------------------------------------------------------------
    def setup_runtime(self) -> DistInfo:
        """Determinism, the process group, and CPU threads."""
        cfg = self.cfg
        if cfg.deterministic:
            set_deterministic()
        info = setup_distributed(cfg.device)
        if info.device.type == "cpu":
            keep_freed_memory()  # freed activations are reused instead of page-faulted in again
            if "OMP_NUM_THREADS" not in os.environ:
                # Leave a core to each data worker: intra-op threads that share a core with another
                # busy process spin at every barrier and slow training down many times over.
                local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
                torch.set_num_threads(max(1, (os.cpu_count() or 1) // local - cfg.num_workers))
        return info

    def setup_run_dir(self) -> RunDir:
        """The run folder (rank 0 creates it and removes writes a kill interrupted)."""
        run = RunDir.of(self.cfg)
        self.work_dir = run.path
        if self.info.is_main:
            run.path.mkdir(parents=True, exist_ok=True)
            for stale in run.stale_writes():
                stale.unlink(missing_ok=True)
        return run

    def setup_data(self) -> None:
        """Files -> annotations -> the train / val / test datasets, and the sampler."""
        cfg = self.cfg
        self.ann = resolve_annotations(cfg.ann_file, cfg.layout)
        self.layout = self.ann.layout_name()
        augment = Augment(**cfg.augment) if cfg.augment else None
        # the model's person slots and the run's protocol reach every pipeline of the run (the tuning split's too)
        self.pipeline_options = dict(num_person=cfg.model.get("num_person", AAGCNConfig.num_person), protocol=cfg.protocol)
        common = dict(feat=cfg.feat, clip_len=cfg.clip_len, layout=self.layout, seed=cfg.seed, storage=cfg.storage, **self.pipeline_options)
        # sets drawn every epoch keep the pipeline's per-sample work (SkeletonDataset: in this process only)
        self.train_set = SkeletonDataset(self.ann, cfg.train_split, mode="train", augment=augment, cache_mb=cfg.cache_mb, **common)
        self.val_set = SkeletonDataset(self.ann, cfg.val_split, mode="val", cache_mb=cfg.cache_mb, **common) if cfg.val_split else None
        test_split = cfg.resolved_test_split()
        self.test_set = SkeletonDataset(self.ann, test_split, mode="test", num_clips=cfg.test_clips, **common) if test_split else None
        self.num_classes = self.ann.num_classes
        self.label_names = self.ann.label_names
        self.sampler = KeySampler(len(self.train_set), cfg.batch_size, self.info.world_size, self.info.rank, cfg.grad_accum, cfg.repeat, cfg.seed)
        if self.sampler.steps_per_epoch < 1:
            raise ValueError(
                f"the training split has {len(self.train_set)} samples x repeat {cfg.repeat}, fewer than one global batch "
                f"of {self.sampler.global_batch}; lower batch_size"
            )

    def setup_model(self) -> None:
        """The model, the same on every rank (seeded init; DDP broadcasts rank 0's), wrapped for DDP / compile."""
        cfg = self.cfg
        self.model_config = AAGCNConfig(**{**cfg.model, "layout": self.layout, "num_classes": self.num_classes, "in_channels": 3})
        torch.manual_seed(cfg.seed)
        self.model = AAGCN(self.model_config).to(self.info.device)
        if cfg.channels_last:
            self.model.to_channels_last()
        self.ddp = (
            torch.nn.parallel.DistributedDataParallel(self.model, device_ids=[self.info.local_rank] if self.info.device.type == "cuda" else None)
            if self.info.enabled
            else self.model
        )
        self.forward = torch.compile(self.ddp) if cfg.compile else self.ddp

    def setup_optimizer(self) -> None:
        """pyskl's SGD, the lr scaled linearly with the global batch; the step budget; the fp16 grad scaler."""
        cfg = self.cfg
        self.base_lr = scaled_lr(cfg, self.sampler.global_batch)
        self.total_steps = cfg.epochs * self.sampler.steps_per_epoch
        if cfg.max_steps:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.optimizer = make_optimizer(self.model, cfg, self.base_lr)
        self.scaler = torch.amp.GradScaler(self.info.device.type, enabled=cfg.amp == "fp16")

    def lr_at(self, step: int) -> float:
        """Linear warm-up (optional), then cosine annealing per iteration to ``min_lr`` (pyskl)."""
        return lr_at_step(self.cfg, self.base_lr, self.sampler.steps_per_epoch, step)

    # -- checkpoints ----------------------------------------------------------------------------
    def save_state(self, path: Path, extra_meta: dict | None = None) -> Path | None:
        """Atomically write a full training checkpoint (rank 0): the weights and a :class:`TrainState`."""
        if not self.info.is_main:
            return None
        state = TrainState(
            optimizer=self.optimizer.state_dict(), scaler=self.scaler.state_dict(), epoch=self.epoch, step_in_epoch=self.step_in_epoch,
            global_step=self.global_step, best_top1=self.best_top1, best_epoch=-1 if self.best_epoch is None else self.best_epoch,
            world_size=self.info.world_size, global_batch=self.sampler.global_batch, steps_per_epoch=self.sampler.steps_per_epoch,
            rng=rng_state(), train_config=self.cfg.to_dict(),
        )  # fmt: skip
        meta = {"label_names": self.label_names or [], "feat": self.cfg.feat, "preset": self.cfg.preset, **(extra_meta or {})}
        return save_checkpoint(self.model, path, meta=meta, train_state=state.to_dict())

    def load_state(self, path: Path) -> None:
        """Restore everything :meth:`save_state` wrote."""
        info = read_checkpoint(path)
        if info.train_state is None:
            raise ValueError(f"{path}: a model checkpoint without training state; cannot resume from it")
        state = TrainState.from_dict(info.train_state, path)
        self.model.load_state_dict(info.state_dict)
        self.optimizer.load_state_dict(state.optimizer)
        if state.scaler and self.scaler.is_enabled():
            self.scaler.load_state_dict(state.scaler)
        self.epoch, self.step_in_epoch, self.global_step = state.epoch, state.step_in_epoch, state.global_step
        self.best_top1 = state.best_top1
        self.best_epoch = None if state.best_epoch < 0 else state.best_epoch
        set_rng_state(state.rng)
        if state.global_batch != self.sampler.global_batch or state.world_size != self.info.world_size:
            print(
                f"[aagcn-lab] warning: resuming with world_size={self.info.world_size}, global batch {self.sampler.global_batch} "
                f"(checkpoint: {state.world_size}, {state.global_batch}); the run will not be bit-identical",
                file=sys.stderr,
            )
        if self.info.is_main:
            print(f"[aagcn-lab] resumed from {path} at epoch {self.epoch}, step {self.global_step}", flush=True)

    # -- one optimizer step ---------------------------------------------------------------------
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
                with autocast(cfg.amp, dev):
                    logits = self.forward(x)
                loss = F.cross_entropy(logits.float(), y)
                self.scaler.scale(loss / len(batches)).backward()
            top5 = logits.detach().topk(min(5, logits.shape[1]), dim=1).indices
            hits = [(top5[:, 0] == y).sum(), (top5 == y[:, None]).any(1).sum()]
            sums += torch.stack([loss.detach().double() * len(y)] + [h.double() for h in hits])
            count += len(y)
        loss_sum, correct1, correct5 = sums.tolist()  # the step's one wait for the device before the update
        if not all_true(math.isfinite(loss_sum), self.info):
            raise DivergenceError(
                f"loss became NaN/inf at epoch {self.epoch}, step {self.global_step} (lr {lr:.4g}); stopped before the "
                f"update, so {self.run.latest} holds the last good state. Lower the lr or check the data."
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # A finite loss can still give non-finite gradients or an overflowing update; either leaves
        # NaN/inf in the weights, so one check after the step covers both (fp16's scaler skips such steps).
        params_ok = bool(torch.nn.utils.get_total_norm(list(self.model.parameters()), float("inf")).isfinite())  # max |w|, one fused pass
        if not all_true(params_ok, self.info):
            raise DivergenceError(
                f"weights became NaN/inf at epoch {self.epoch}, step {self.global_step} (lr {lr:.4g}) after the update; "
                f"it was not saved, so {self.run.latest} holds the last good state. Lower the lr."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.global_step += 1
        return {"loss": loss_sum / count, "top1": correct1 / count, "top5": correct5 / count, "lr": lr, "samples": count}

    # -- the loop -------------------------------------------------------------------------------
    def fit(self) -> RunResult:
        """Train (from wherever the state says), validate, keep the best, then test."""
        cfg, steps_per_epoch = self.cfg, self.sampler.steps_per_epoch
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
            while self.epoch < cfg.epochs and (self.global_step < self.total_steps or self.step_in_epoch >= steps_per_epoch):
                self.sampler.set_epoch(self.epoch, self.step_in_epoch)
                self.log.start_window()
                batches = []
                for x, y, _ in loader:
                    batches.append((x, y))
                    if len(batches) < cfg.grad_accum:
                        continue
                    stats = self.train_step(batches)
                    batches = []
                    self.step_in_epoch += 1
                    self.log.add(stats)
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{stats['loss']:.3f}", lr=f"{stats['lr']:.3g}")
                    if self.global_step % cfg.log_interval == 0 or self.step_in_epoch == steps_per_epoch:
                        self.log.flush(epoch=self.epoch + 1, step=self.global_step, total_steps=self.total_steps)  # epochs from 1
                    if cfg.save_interval and self.global_step % cfg.save_interval == 0:
                        self.save_state(self.run.latest)
                    if self.global_step >= self.total_steps:
                        break
                if self.step_in_epoch >= steps_per_epoch:
                    self.epoch, self.step_in_epoch = self.epoch + 1, 0
                    if self.val_set is not None and cfg.val_interval and self.epoch % cfg.val_interval == 0:
                        val_metrics = self.validate()
                    self.save_state(self.run.latest)
                elif self.global_step >= self.total_steps:  # max_steps reached mid-epoch
                    if self.val_set is not None and cfg.val_interval:  # val_interval 0: never
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
        """10-clip test of the best (or last) checkpoint; writes the score files and metrics.

        The validation split is scored with the test protocol too when fusion weights are tuned
        there (:meth:`TrainConfig.tuning_split`)."""
        ckpt = self.run.checkpoint(self.cfg.test_checkpoint)
        if self.info.enabled:
            dist.barrier()
        if not ckpt.exists():
            ckpt = self.run.latest
        if ckpt.exists():
            self.model.load_state_dict(read_checkpoint(ckpt).state_dict)
        meta = {"label_names": self.label_names or [], "checkpoint": str(ckpt), "ann_file": self.cfg.ann_file}
        scores = evaluate(self.model, self.test_set, self.cfg.batch_size, info=self.info, amp=self.cfg.amp, progress=self.cfg.progress)
        if self.cfg.tuning_split():
            tune_set = SkeletonDataset(
                self.ann, self.cfg.tuning_split(), self.cfg.feat, "test", self.cfg.clip_len, self.cfg.test_clips, self.test_set.layout,
                **self.pipeline_options,
            )  # fmt: skip
            tune = evaluate(self.model, tune_set, self.cfg.batch_size, info=self.info, amp=self.cfg.amp)
            if self.info.is_main:
                tune.meta.update(meta)
                save_scores(self.run.scores(tune_set.split, self.cfg.feat), tune)
        if not self.info.is_main:
            return {}, None, None
        scores.meta.update(meta)
        path = save_scores(self.run.scores(self.test_set.split, self.cfg.feat), scores)
        m = evaluate_scores(scores.probs, scores.labels, self.num_classes)
        np.save(self.run.confusion_test, m.pop("confusion"))
        self.log.write({"split": "test", "epoch": self.epoch, "step": self.global_step, **m})
        return m, path, ckpt

    def cleanup(self) -> None:
        """Close the log and tear the process group down (every rank, after :meth:`fit`)."""
        self.log.close()
        cleanup_distributed()


def train(cfg: TrainConfig, resume: str | os.PathLike | bool | None = None) -> RunResult:
    """Train one stream as configured (in this process; under torchrun, in each process)."""
    trainer = Trainer(cfg, resume)
    try:
        return trainer.fit()
    finally:
        trainer.cleanup()

