"""The trainer from one epoch to the next, in tiny in-process runs (well under a second each).

What changes per epoch (the sampler's order, the rounds of a repeated split), the lr of every
optimizer step (warm-up, cosine per iteration to ``min_lr``) and whether the optimizer really
uses it, gradient accumulation (the mean of the micro-batch gradients, one optimizer step per
``grad_accum`` micro-batches), validation every ``val_interval`` epochs, the best checkpoint
(by validation top-1, kept when a later epoch is worse or only as good), the 10-clip test
(softmax per clip, then the mean over each sample's clips), where a resumed run continues and
when a run folder counts as finished.

Validation scores are scripted per epoch (the trainer's ``evaluate_scores`` returns them), so
that the best epoch is known in advance; everything else is the real trainer.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from aagcn_lab.data import SkeletonDataset, save_annotations
from aagcn_lab.data.annotations import load_annotations
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.checkpoint import read_checkpoint
from aagcn_lab.model.modes import eval_mode
from aagcn_lab.scores import load_scores
from aagcn_lab.train import KeySampler, TrainConfig, Trainer
from aagcn_lab.train import trainer as trainer_module
from aagcn_lab.train.evaluation import evaluate
from aagcn_lab.train.evaluation import test_checkpoint as score_checkpoint
from aagcn_lab.train.rundir import RunDir

from .conftest import perturb
from .tolerances import float_bound

TINY = dict(base_channels=4, num_stages=2, inflate_stages=[2], down_stages=[2])
N_TRAIN = 16
# lr: a few float64 operations on each side (a product, a cosine)
LR = float_bound(torch.float64, terms=10)
# float32 gradients by another summation order (batch norm over 2 x 8 frames x 25 joints x 8 samples
# <= 4e3 terms per layer; 2 blocks of gcn, tcn and attention, the head, forward and backward: 16 layers)
GRAD = float_bound(torch.float32, terms=4e3, depth=16)
# float32 clip probabilities, BN folded (prepared) vs the model: <= 1e3 terms per layer, 2 blocks + head,
# softmax turns the logits' error into 2 x max|logit| (<= 5 here) relative
PROBS = float_bound(torch.float32, terms=1e3, depth=3, scale=10)


@pytest.fixture(scope="module")
def ann(tmp_path_factory) -> Path:
    """16 training and 8 validation sequences (NTU layout, 10-14 frames) of 3 classes."""
    rng = np.random.default_rng(0)
    recs = []
    for i in range(N_TRAIN + 8):
        label, t = i % 3, 10 + i % 5
        kp = rng.normal(0, 0.3, (1, t, 25, 3)) + np.array([0, 0, 3.0])
        kp[..., label] += 0.4 * np.sin(np.arange(t) / 2.0)[None, :, None]
        recs.append(dict(frame_dir=f"S{i:03d}", label=label, total_frames=t, keypoint=kp.astype(np.float16)))
    ids = [r["frame_dir"] for r in recs]
    path = tmp_path_factory.mktemp("data") / "tiny.pkl"
    return save_annotations(
        path, recs, {"train": ids[:N_TRAIN], "val": ids[N_TRAIN:]}, label_names=list("abc"), layout="nturgb+d"
    )


def config(ann: Path, work: Path, **kw) -> TrainConfig:
    """A run of a few optimizer steps: 4 channels, 2 stages, 8-frame clips, no workers, no progress bars."""
    base = dict(
        ann_file=str(ann), train_split="train", val_split="val", clip_len=8, epochs=2, repeat=1, batch_size=8,
        lr=0.05, lr_batch=8, num_workers=0, model=dict(TINY), log_interval=1, progress=False, test_clips=2,
        work_dir=str(work), tensorboard=False, test_after=False,
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


class KeyLog(Dataset):
    """The trainer's training set, noting every key the loader asks it for."""

    def __init__(self, dataset: SkeletonDataset) -> None:
        self.dataset, self.keys = dataset, []

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int):
        self.keys.append(int(key))
        return self.dataset[key]


def watch(trainer: Trainer) -> list[dict]:
    """Per optimizer step the trainer takes: its counters, micro-batch sizes, keys, logged lr, the lr the
    optimizer holds and how often the optimizer stepped (filled in as the trainer runs)."""
    log: list[dict] = []
    keys = KeyLog(trainer.train_set)
    trainer.train_set = keys
    calls, seen = [0], [0]
    inner_opt_step, inner_train_step = trainer.optimizer.step, trainer.train_step

    def counted(*args, **kwargs):
        calls[0] += 1
        return inner_opt_step(*args, **kwargs)

    def recorded(batches):
        rec = {"step": trainer.global_step, "epoch": trainer.epoch, "step_in_epoch": trainer.step_in_epoch,
               "micro": [len(y) for _, y in batches], "keys": keys.keys[seen[0]:]}  # fmt: skip
        seen[0] = len(keys.keys)
        before = calls[0]
        out = inner_train_step(batches)
        rec.update(
            lr=out["lr"], optimizer_lr=trainer.optimizer.param_groups[0]["lr"], optimizer_steps=calls[0] - before
        )
        log.append(rec)
        return out

    trainer.optimizer.step = counted
    trainer.train_step = recorded
    return log


def script_validation(monkeypatch, trainer: Trainer, script: dict[int, tuple[float, float, float]]) -> None:
    """Validation of epoch e (from 1) reports ``script[e] = (top1, top5, mean_class_acc)``; the test
    after training keeps its real metrics."""
    real, testing = trainer_module.evaluate_scores, []

    def scored(probs, labels, num_classes):
        m = real(probs, labels, num_classes)
        if not testing:
            m["top1"], m["top5"], m["mean_class_acc"] = script[trainer.epoch]
        return m

    monkeypatch.setattr(trainer_module, "evaluate_scores", scored)
    test = trainer.test

    def marked():
        testing.append(True)
        return test()

    trainer.test = marked


def rel(a, b) -> float:
    """Largest difference relative to the largest magnitude of ``b`` (arrays or tensors)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


def flat(tensors: list[torch.Tensor]) -> np.ndarray:
    return torch.cat([t.flatten() for t in tensors]).numpy()


def weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path).state_dict


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def records(work: Path, split: str) -> list[dict]:
    return [r for r in map(json.loads, RunDir(work).metrics.read_text().splitlines()) if r["split"] == split]


# ------------------------------------------------------------------------------------------------
# The sampler: one new order per epoch, from the seed and the epoch


def test_each_epoch_draws_its_own_order_from_the_seed_and_the_epoch():
    def order(seed: int, epoch: int, repeat: int = 1) -> list[int]:
        s = KeySampler(20, batch_size=4, world_size=1, rank=0, grad_accum=1, repeat=repeat, seed=seed)
        s.set_epoch(epoch)
        return list(s)

    first = order(0, 0)
    assert sorted(first) == list(range(20))  # epoch 0: every sample once, round 0
    assert order(0, 0) == first  # the same seed and epoch: the same order (a resumed run relies on it)
    later = [np.array(order(0, e)) - 20 * e for e in (1, 2)]  # keys of epoch e are round e: index + 20 e
    assert all(sorted(x) == list(range(20)) for x in later)
    assert first != later[0].tolist() and first != later[1].tolist() and later[0].tolist() != later[1].tolist()
    assert order(1, 0) != first  # another seed, another order
    # repeat 3: epoch 2 holds rounds 6, 7, 8, and each sample once in each round
    keys = np.array(order(0, 2, repeat=3))
    assert sorted(keys // 20) == [6] * 20 + [7] * 20 + [8] * 20
    assert all(sorted(keys[keys // 20 == r] % 20) == list(range(20)) for r in (6, 7, 8))
    assert (keys[:20] // 20).tolist() != sorted(keys[:20] // 20)  # the rounds are shuffled together


# ------------------------------------------------------------------------------------------------
# Epochs, repeat, lr per iteration, accumulation in fit


def test_epochs_reshuffle_repeat_the_split_and_set_the_lr_of_every_step(ann, tmp_path):
    """3 epochs of a split repeated twice, 2 micro-batches of 2 per step: 8 steps per epoch, 24 in all;
    warm-up over half an epoch (4 steps), then cosine per step down to min_lr."""
    cfg = config(ann, tmp_path / "run", epochs=3, repeat=2, batch_size=2, grad_accum=2, lr=0.05, lr_batch=4,
                 warmup_epochs=0.5, min_lr=0.002, val_split="")  # fmt: skip
    t = Trainer(cfg)
    log = watch(t)
    t.fit()
    assert (t.sampler.steps_per_epoch, t.total_steps) == (8, 24)
    assert [r["step"] for r in log] == list(range(24))
    assert [(r["epoch"], r["step_in_epoch"]) for r in log] == [(e, s) for e in range(3) for s in range(8)]
    # one optimizer step per grad_accum micro-batches
    assert all(r["micro"] == [2, 2] and len(r["keys"]) == 4 and r["optimizer_steps"] == 1 for r in log)
    orders = []
    for e in range(3):
        keys = np.array([k for r in log if r["epoch"] == e for k in r["keys"]])
        assert sorted(keys // N_TRAIN) == [2 * e] * N_TRAIN + [2 * e + 1] * N_TRAIN  # rounds epoch * repeat + r
        assert np.bincount(keys % N_TRAIN, minlength=N_TRAIN).tolist() == [2] * N_TRAIN  # each sample twice
        orders.append((keys % N_TRAIN).tolist())
    assert orders[0] != orders[1] and orders[1] != orders[2] and orders[0] != orders[2]
    # lr: warm-up 1/4, 2/4, 3/4, 4/4 of the base lr; cosine over the other 20 steps, to min_lr
    base, low = 0.05, 0.002
    lrs = [r["lr"] for r in log]
    assert lrs[:5] == pytest.approx([base / 4, base / 2, 3 * base / 4, base, base], rel=LR)
    assert lrs[4 + 10] == pytest.approx((base + low) / 2, rel=LR)  # halfway through the cosine
    assert lrs[23] == pytest.approx(low + (base - low) / 2 * (1 + math.cos(math.pi * 19 / 20)), rel=LR)
    assert t.lr_at(24) == pytest.approx(low, rel=LR)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))  # lower at every step, not once per epoch
    assert [r["optimizer_lr"] for r in log] == lrs  # the optimizer steps with the lr that is logged


@pytest.mark.parametrize("interval, expected", [(2, [2, 4]), (0, [])])
def test_validation_runs_every_val_interval_epochs(ann, tmp_path, interval, expected):
    t = Trainer(config(ann, tmp_path / "run", epochs=4, val_interval=interval))  # 2 steps per epoch
    result = t.fit()
    vals = records(tmp_path / "run", "val")
    assert [r["epoch"] for r in vals] == expected and [r["step"] for r in vals] == [2 * e for e in expected]
    assert RunDir(tmp_path / "run").best.exists() == bool(expected)
    assert (result.best_epoch is None) == (not expected)


def test_val_interval_0_never_validates_when_max_steps_stops_mid_epoch(ann, tmp_path):
    """``val_interval=0`` means never, also when ``max_steps`` ends the run inside an epoch."""
    Trainer(config(ann, tmp_path / "run", epochs=2, max_steps=1, val_interval=0)).fit()
    assert records(tmp_path / "run", "val") == [] and not RunDir(tmp_path / "run").best.exists()


# ------------------------------------------------------------------------------------------------
# The best checkpoint, the 10-clip test of it, and the finished rule


def test_best_checkpoint_is_the_first_epoch_with_the_highest_top1_and_the_test_scores_it(ann, tmp_path, monkeypatch):
    work = tmp_path / "run"
    t = Trainer(config(ann, work, epochs=4, test_after=True))
    # top-1 peaks at epoch 2 and is matched (not beaten) at epoch 4; top-5 and mean class accuracy peak elsewhere
    script_validation(
        monkeypatch, t, {1: (0.5, 0.9, 0.9), 2: (0.75, 0.8, 0.4), 3: (0.6, 1.0, 1.0), 4: (0.75, 0.8, 0.7)}
    )
    result = t.fit()
    run = RunDir(work)
    assert [r["top1"] for r in records(work, "val")] == [0.5, 0.75, 0.6, 0.75]
    assert (result.best_val_top1, result.best_epoch) == (0.75, 2)
    best = read_checkpoint(run.best)
    state = best.raw["train_state"]
    assert (state["epoch"], state["global_step"], state["best_top1"], state["best_epoch"]) == (2, 4, 0.75, 2)
    assert best.meta["val_top1"] == 0.75
    assert read_checkpoint(run.latest).raw["train_state"]["global_step"] == 8
    assert not same_weights(weights(run.best), weights(run.latest))
    # the 10-clip test ran on best.pt (test_checkpoint='best'), not on the last weights
    assert result.checkpoint == run.best
    again, _ = score_checkpoint(run.best, num_clips=2, batch_size=8, device="cpu", num_workers=0)
    tested = load_scores(result.scores)
    assert tested.frame_dir == again.frame_dir and rel(tested.probs, again.probs) <= PROBS
    # finished: results.json and the test scores it names; without the scores file the run is not finished
    assert run.finished() is not None and run.finished().best_epoch == 2
    result.scores.unlink()
    assert run.finished() is None


def test_a_run_folder_is_finished_only_with_results_and_their_test_scores(tmp_path):
    from aagcn_lab.scores import Scores, save_scores
    from aagcn_lab.train.rundir import RunResult

    run = RunDir(tmp_path / "r")
    run.path.mkdir()
    assert run.finished() is None  # nothing yet
    run.write_result(RunResult(run.path, 0.5, 1))  # ended without a test (test_after=False)
    assert run.finished() is None
    scores = run.scores("val", "j")
    run.write_result(RunResult(run.path, 0.5, 1, scores=scores))  # names scores that are not there
    assert run.finished() is None
    save_scores(scores, Scores(["a", "b"], np.full((2, 3), 1 / 3), np.array([0, 1]), {}))
    done = run.finished()
    assert done is not None and done.scores == scores and done.best_epoch == 1


# ------------------------------------------------------------------------------------------------
# Gradient accumulation


def _micro_batch(trainer: Trainer, keys: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    items = [trainer.train_set[k] for k in keys]
    return torch.stack([x for x, _, _ in items]), torch.tensor([y for _, y, _ in items])


def _grads_at_step(trainer: Trainer, batches: list) -> tuple[list[torch.Tensor], dict]:
    """The gradients the optimizer steps with in one ``train_step(batches)``, and its stats."""
    seen, inner = [], trainer.optimizer.step

    def step(*args, **kwargs):
        seen.append([p.grad.clone() for p in trainer.model.parameters()])
        return inner(*args, **kwargs)

    trainer.optimizer.step = step
    stats = trainer.train_step(batches)
    trainer.optimizer.step = inner
    assert len(seen) == 1  # one optimizer step for all micro-batches
    return seen[0], stats


def test_grad_accum_steps_with_the_mean_gradient_of_its_micro_batches(ann, tmp_path):
    acc = Trainer(config(ann, tmp_path / "acc", batch_size=4, grad_accum=2))
    big = Trainer(config(ann, tmp_path / "big", batch_size=8, grad_accum=1))
    assert acc.sampler.global_batch == big.sampler.global_batch == 8
    assert same_weights(acc.model.state_dict(), big.model.state_dict())  # the same seed, the same start
    x1, y1 = _micro_batch(acc, [0, 1, 2, 3])
    x2, y2 = _micro_batch(acc, [4, 5, 6, 7])
    # batch 2b made of one micro-batch twice has that micro-batch's batch-norm statistics, so
    # grad_accum 2 x b must give exactly the gradient of one step with batch 2b
    g_acc, _ = _grads_at_step(acc, [(x1, y1), (x1, y1)])
    g_big, _ = _grads_at_step(big, [(torch.cat([x1, x1]), torch.cat([y1, y1]))])
    assert rel(flat(g_acc), flat(g_big)) <= GRAD
    # two different micro-batches: the mean of their gradients, each on its own batch statistics
    ref = copy.deepcopy(acc.model).train()
    grads, losses = [], []
    for x, y in ((x1, y1), (x2, y2)):
        ref.zero_grad()
        loss = F.cross_entropy(ref(x[:, 0]), y)
        loss.backward()
        grads.append([p.grad.clone() for p in ref.parameters()])
        losses.append(loss.item())
    g, stats = _grads_at_step(acc, [(x1, y1), (x2, y2)])
    assert rel(flat(g), (flat(grads[0]) + flat(grads[1])) / 2) <= GRAD
    # the logged loss: the mean over the samples of both micro-batches (the same forward passes)
    assert (
        stats["loss"] == pytest.approx(sum(losses) / 2, rel=float_bound(torch.float32, terms=8))
        and stats["samples"] == 8
    )


# ------------------------------------------------------------------------------------------------
# The 10-clip test


def test_the_clip_test_averages_the_softmax_of_each_samples_own_clips(ann):
    torch.manual_seed(0)
    model = perturb(AAGCN(AAGCNConfig(layout="nturgb+d", num_classes=3, **TINY)))
    ds = SkeletonDataset(load_annotations(ann), "val", "j", "test", clip_len=8, num_clips=3, layout="nturgb+d")
    with (
        eval_mode(model),
        torch.no_grad(),
    ):  # logits spread around 0, so that softmax-then-mean differs from the look-alikes
        centre = torch.cat([model(ds[i][0]) for i in range(len(ds))]).mean(0)
        fc = model.cls_head.fc_cls
        fc.weight.mul_(50)
        fc.bias.sub_(centre).mul_(50)
    scores = evaluate(model, ds, batch_size=3)  # batches of 3, 3, 2 samples of 3 clips each
    assert scores.frame_dir == ds.frame_dirs and scores.meta["clips"] == 3
    expected, mean_logits, first = [], [], []
    with eval_mode(model), torch.no_grad():
        for i in range(len(ds)):
            clips = ds[i][0]  # (3, M, T, V, C)
            logits = model(clips)
            expected.append(logits.softmax(-1).mean(0))
            mean_logits.append(logits.mean(0).softmax(-1))
            first.append(logits[0].softmax(-1))
    expected = torch.stack(expected).numpy()
    assert rel(scores.probs, expected) <= PROBS
    # the look-alikes are far outside that bound: the mean of the logits, the first clip, another sample's clips
    assert rel(torch.stack(mean_logits), expected) > 10 * PROBS
    assert rel(torch.stack(first), expected) > 10 * PROBS
    assert rel(expected[::-1], expected) > 10 * PROBS


def test_cpu_evaluation_under_amp_bf16_runs_the_prepared_path_in_bf16(ann, monkeypatch):
    """``amp="bf16"`` evaluation on the CPU: the prepared path in bfloat16 (not the plain model under
    autocast, which the prepared object would fall back to), the same scores as ``dtype="bf16"``."""
    from aagcn_lab.model import cpu_infer

    torch.manual_seed(0)
    model = perturb(AAGCN(AAGCNConfig(layout="nturgb+d", num_classes=3, **TINY)))
    ds = SkeletonDataset(load_annotations(ann), "val", "j", "test", clip_len=8, num_clips=2, layout="nturgb+d")
    made = []
    real = cpu_infer.PreparedAAGCN.__init__
    monkeypatch.setattr(cpu_infer.PreparedAAGCN, "__init__", lambda self, m, dtype=None: (made.append(dtype), real(self, m, dtype))[1])
    amp = evaluate(model, ds, batch_size=3, amp="bf16")
    explicit = evaluate(model, ds, batch_size=3, dtype="bf16")
    fp32 = evaluate(model, ds, batch_size=3)
    assert made == ["bf16", "bf16", None]
    assert np.array_equal(amp.probs, explicit.probs)  # exact: the same prepared ops on the same input
    assert 0 < np.abs(amp.probs - fp32.probs).max() < 0.05  # bf16's rounding, not another function


# ------------------------------------------------------------------------------------------------
# Resuming


class _Stop(Exception):
    """Ends a run in the middle, as a kill would (the checkpoint of the step before stays)."""


def test_a_resumed_run_continues_at_its_epoch_step_sampler_position_lr_and_best_score(ann, tmp_path, monkeypatch):
    """3 epochs of 4 steps, a checkpoint after every step; validation top-1 0.5, 0.8, 0.6. Stopped
    before step 9 (the second of epoch 3), then resumed: the rest is the uninterrupted run's."""
    script = {1: (0.5, 0.5, 0.5), 2: (0.8, 0.8, 0.8), 3: (0.6, 0.6, 0.6)}
    kw = dict(epochs=3, batch_size=4, lr_batch=4, save_interval=1, warmup_epochs=1.0, min_lr=0.001)
    full = Trainer(config(ann, tmp_path / "full", **kw))
    script_validation(monkeypatch, full, script)
    full_log = watch(full)
    full.fit()
    assert len(full_log) == 12

    cut = Trainer(config(ann, tmp_path / "cut", **kw))
    script_validation(monkeypatch, cut, script)
    inner = cut.train_step

    def stop_at_step_9(batches):
        if cut.global_step == 9:
            raise _Stop
        return inner(batches)

    cut.train_step = stop_at_step_9
    with pytest.raises(_Stop):
        cut.fit()
    cut.log.close()

    resumed = Trainer(config(ann, tmp_path / "cut", **kw), resume=True)
    assert (resumed.epoch, resumed.step_in_epoch, resumed.global_step) == (2, 1, 9)
    assert (resumed.best_top1, resumed.best_epoch) == (0.8, 2)
    assert resumed.lr_at(resumed.global_step) == full_log[9]["lr"]
    script_validation(monkeypatch, resumed, script)
    log = watch(resumed)
    result = resumed.fit()
    strip = [(r["step"], r["epoch"], r["step_in_epoch"], r["keys"], r["lr"]) for r in log]
    assert strip == [(r["step"], r["epoch"], r["step_in_epoch"], r["keys"], r["lr"]) for r in full_log[9:]]
    for name in ("latest.pt", "best.pt"):
        assert same_weights(weights(tmp_path / "full" / name), weights(tmp_path / "cut" / name)), name
    assert (result.best_val_top1, result.best_epoch) == (0.8, 2)  # epoch 3's 0.6 did not replace it
    assert read_checkpoint(tmp_path / "cut" / "best.pt").raw["train_state"]["epoch"] == 2
    assert RunDir(tmp_path / "cut").finished() is None  # results.json, but no test scores (test_after=False)
