"""A curated mutation check: plausible bugs planted one at a time, each must make the quick tests fail.

    .venv/bin/python scripts/mutation.py            # every mutant (make mutation)
    .venv/bin/python scripts/mutation.py --list     # what they are
    .venv/bin/python scripts/mutation.py --only rotation-sign row-normalisation
    .venv/bin/python scripts/mutation.py --jobs 1 --only rotation-sign,row-normalisation

Each mutant is one textual change to one package file -- a bug a user could plausibly hit: a
transposed partition, row- instead of column-normalisation, the rotation turned the wrong way, a
hand tip attached to the wrist, pyskl's predicted-but-never-true rule dropped, a figure that always
shows layer 0, ... The repository's package and tests are copied to a temporary folder once; each
mutant is applied to the copy (never to the working tree), the quick tier of the relevant test
files runs there (``-m "not slow and not browser"``, stopping at the first failure), and the copy
is restored. The copy has no ``../shared`` next to it, so only tests that run in every clone count.

A mutant is *killed* when the tests fail, *survives* when they pass; a mutant whose text is not
found, or whose tests cannot even be collected, is an error. The script first runs every selected
test file on the unmutated copy (they must pass), and exits non-zero unless every mutant is killed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUICK = ["-m", "not slow and not browser"]


@dataclass(frozen=True)
class Mutant:
    """One planted bug: replace ``old`` (found exactly once) by ``new`` in ``path``; ``tests`` must catch it."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


GRAPH = ("tests/test_graph.py",)
PIPE = ("tests/test_pipeline.py",)
MODEL_ORACLE = ("tests/test_model.py", "-k", "fused_forward_equals_reference_transcription and default")
VIZ = "tests/test_viz.py"
EPOCHS = "tests/test_train_epochs.py"
STATS = "tests/test_statistics.py"
THRESH = ("tests/test_thresholds.py",)
UCLA = ("tests/test_ucla_protocol.py",)

MUTANTS = [
    # --- graph -------------------------------------------------------------------------------------
    Mutant("transposed-partition", "aagcn_lab/graph.py", "        m[j, i] = 1.0", "        m[i, j] = 1.0", GRAPH,
           "edge2mat fills M[i, j] instead of M[j, i]: every subset transposed"),
    Mutant("row-normalisation", "aagcn_lab/graph.py", "    deg = a.sum(axis=0)\n    inv = np.where(deg > 0, 1.0 / np.where(deg > 0, deg, 1.0), 0.0)\n    return (a * inv[None, :])",
           "    deg = a.sum(axis=1)\n    inv = np.where(deg > 0, 1.0 / np.where(deg > 0, deg, 1.0), 0.0)\n    return (a * inv[:, None])", GRAPH,
           "normalize_digraph divides rows instead of columns"),
    Mutant("hand-tip-on-wrist", "aagcn_lab/graph.py", "_NTU_HANDS_PYSKL = ((22, 8), (23, 8), (24, 12), (25, 12))",
           "_NTU_HANDS_PYSKL = ((22, 8), (23, 8), (24, 11), (25, 12))", GRAPH,
           "the right hand tip (24) hangs off the wrist (11) instead of the hand (12)"),
    Mutant("coco-hip-bones-like-graph", "aagcn_lab/graph.py", "    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 0),\n    (12, 0),",
           "    (0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 5),\n    (12, 6),", GRAPH,
           "COCO hip bones attached to the shoulders (the graph edges) instead of the nose (pyskl)"),
    Mutant("openpose-ears-not-mirrored", "aagcn_lab/graph.py", "(10, 13), (14, 15), (16, 17))", "(10, 13), (14, 15))", GRAPH,
           "the OpenPose ears are missing from the left/right pairs"),
    # --- model -------------------------------------------------------------------------------------
    Mutant("model-graph-transposed", "aagcn_lab/model/aagcn.py", "        A = torch.from_numpy(spatial_partition(layout))\n",
           "        A = torch.from_numpy(spatial_partition(layout)).transpose(1, 2).contiguous()\n",
           ("tests/test_model.py", "-k", "documented_partition"), "the model stores each subset transposed"),
    Mutant("alpha-ignored", "aagcn_lab/model/aagcn.py", 'return g + self.alpha * c if self.graph == "tip" else g + c',
           'return g + c if self.graph == "tip" else g + c', MODEL_ORACLE, "the data-dependent graph is not gated by alpha"),
    Mutant("data-graph-scale", "aagcn_lab/model/aagcn.py", ".view(n, k, v, v) / (ci * t)", ".view(n, k, v, v) / ci", MODEL_ORACLE,
           "C_k scaled by 1/inter instead of 1/(inter*T)"),
    Mutant("attention-not-residual", "aagcn_lab/model/aagcn.py", "y = y * (1 + self.spatial_map(y))[:, None, None, :]",
           "y = y * self.spatial_map(y)[:, None, None, :]", MODEL_ORACLE, "the model's spatial attention y*a instead of y*(1 + a)"),
    Mutant("inference-attention-not-residual", "aagcn_lab/model/cpu_infer.py", "y.mul_((1 + a).to(y.dtype).view(n, 1, v, 1))",
           "y.mul_(a.to(y.dtype).view(n, 1, v, 1))",
           ("tests/test_cpu_infer.py", "-k", "equals_the_model_and_the_oracle and default"),
           "the prepared CPU path's spatial attention y*a instead of y*(1+a)"),
    Mutant("gate-conv-kernel-flipped", "aagcn_lab/model/gate_conv.py", "torch.matmul(x, weight[0].to(x.dtype))",
           "torch.matmul(x, weight[0].flip(-1).to(x.dtype))", MODEL_ORACLE,
           "the attention gates' product form convolves (kernel flipped) instead of correlating like Conv1d"),
    Mutant("pointwise-bias-dropped", "aagcn_lab/model/pointwise.py", "torch.baddbmm(bias.reshape(1, o, 1), w, x)", "torch.bmm(w, x)",
           ("tests/test_pointwise.py",), "the 1x1 convolutions' product form drops the bias (hidden in training by the BN after most of them)"),
    Mutant("absent-features-of-any-slot", "aagcn_lab/model/cpu_infer.py", "key = (slot, *x.shape[2:], x.dtype)",
           "key = (*x.shape[2:], x.dtype)", ("tests/test_cpu_infer.py", "-k", "absent_persons_are_computed_once"),
           "the prepared path keeps one absent person's features for every person slot (data BN differs per slot)"),
    Mutant("bookkeeping-traced", "aagcn_lab/model/absent.py", "        if not torch.compiler.is_compiling():  # eager",
           "        if True:  # eager", ("tests/test_absent.py", "-k", "outside"),
           "the absent-person bookkeeping is traced by torch.compile instead of running eagerly outside the graph"),
    Mutant("head-first-person-only", "aagcn_lab/model/aagcn.py", "return feat.mean((-2, -1)).mean(1)", "return feat.mean((-2, -1))[:, 0]",
           MODEL_ORACLE, "the head takes person 0 instead of the mean over persons"),
    Mutant("test-clips-average-logits", "aagcn_lab/model/aagcn.py", "return logits.softmax(-1).view(n, nc, -1).mean(1)",
           "return logits.view(n, nc, -1).mean(1).softmax(-1)", ("tests/test_model.py", "-k", "forward_test"),
           "test-time clips: softmax of the mean logits instead of the mean of per-clip softmax"),
    # --- pipeline ----------------------------------------------------------------------------------
    Mutant("rotation-sign", "aagcn_lab/data/pipeline.py", "np.cos(angle) * np.eye(3) + np.sin(angle) * cross",
           "np.cos(angle) * np.eye(3) - np.sin(angle) * cross", PIPE, "the normalising rotation turns the wrong way"),
    Mutant("centre-on-spine-shoulder", "aagcn_lab/data/pipeline.py", "center = work[0, 0, 1 if _is_ntu(layout) else layout.center]",
           "center = work[0, 0, layout.center]", PIPE, "NTU centred on the graph centre (SpineShoulder) instead of SpineMid"),
    Mutant("no-person-swap", "aagcn_lab/data/pipeline.py", "present[1].sum() > present[0].sum()", "present[1].sum() < present[0].sum()", PIPE,
           "the person present longer is not made person 0"),
    Mutant("bones-reversed", "aagcn_lab/data/pipeline.py", "bone = (kp - kp[:, :, self._parent])", "bone = (kp[:, :, self._parent] - kp)", PIPE,
           "bone = parent - joint"),
    Mutant("bone-score-not-averaged", "aagcn_lab/data/pipeline.py", "bone[..., 2] = (kp[..., 2] + kp[:, :, self._parent, 2]) / 2",
           "bone[..., 2] = kp[..., 2]", PIPE, "2D bones keep the joint's score instead of the pair's mean"),
    Mutant("motion-backwards", "aagcn_lab/data/pipeline.py", "motion[:, :-1] = x[:, 1:] - x[:, :-1]", "motion[:, :-1] = x[:, :-1] - x[:, 1:]", PIPE,
           "motion = x[t] - x[t+1]"),
    Mutant("test-seed", "aagcn_lab/data/pipeline.py", "TEST_SEED = 255", "TEST_SEED = 0", PIPE, "test-mode sampling not seeded with pyskl's 255"),
    Mutant("short-clip-start", "aagcn_lab/data/pipeline.py", "start = clip if num_frames < num_clips else clip * num_frames // num_clips",
           "start = clip", PIPE, "test clips of a short video all start at the clip number"),
    Mutant("2d-threshold-strict", "aagcn_lab/data/pipeline.py", "out[..., :2][out[..., 2] <= threshold] = 0",
           "out[..., :2][out[..., 2] < threshold] = 0", PIPE, "a 2D joint with score exactly 0.01 keeps its x, y"),
    Mutant("2d-width-height-swapped", "aagcn_lab/data/pipeline.py", "    h, w = img_shape\n", "    w, h = img_shape\n", PIPE,
           "2D x normalised by the image height and y by its width"),
    Mutant("features-before-augment", "aagcn_lab/data/pipeline.py",
           "        if self.augment is not None:  # features come after the random augmentation, in draw\n            return kp\n", "", PIPE,
           "prepare computes the features before the augmentation, which then moves bones and motion as if they were joints"),
    Mutant("kept-work-keyed-by-draw", "aagcn_lab/data/dataset.py", "self.pipeline.draw(self._prepare(index, rec), rec, rng)",
           "self.pipeline.draw(self._prepare(int(key), rec), rec, rng)", ("tests/test_dataset.py", "-k", "kept_work"),
           "the kept pipeline work is keyed by the draw (round and index), so a later epoch never finds it and memory fills"),
    # --- metrics -----------------------------------------------------------------------------------
    Mutant("predicted-never-true-dropped", "aagcn_lab/metrics.py", "classes = np.union1d(labels, pred)", "classes = np.unique(labels)",
           ("tests/test_metrics.py",), "mean class accuracy without pyskl's rule for a class predicted but never true"),
    Mutant("top-k-ascending", "aagcn_lab/metrics.py", "order = np.argsort(scores, axis=1)[:, ::-1]", "order = np.argsort(scores, axis=1)",
           ("tests/test_metrics.py",), "top-k takes the lowest scores"),
    Mutant("class-without-samples-zero", "aagcn_lab/metrics.py", "out=np.full(len(m), np.nan)", "out=np.zeros(len(m))",
           ("tests/test_metrics.py",), "a class without samples reads as 0% accuracy"),
    Mutant("evaluate-top5-is-top1", "aagcn_lab/metrics.py", "top1, top5 = top_k_accuracy(scores, labels, (1, 5))",
           "top1, top5 = top_k_accuracy(scores, labels, (1, 1))", ("tests/test_metrics.py",), "evaluate_scores reports top-1 as top-5"),
    # --- fusion and predict ------------------------------------------------------------------------
    Mutant("fusion-equal-weights", "aagcn_lab/fusion.py", '{"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}}', '{"j": 1.0, "b": 1.0, "jm": 1.0, "bm": 1.0}}',
           ("tests/test_fusion.py",), "four streams fused 1:1:1:1"),
    Mutant("fuse-ignores-weights", "aagcn_lab/fusion.py", "fused = sum(weights.get(name, 0.0) * p for name, p in probs.items())",
           "fused = sum(p for p in probs.values())", ("tests/test_fusion.py", "-k", "by_hand"), "fuse adds the streams unweighted"),
    Mutant("predict-equal-weights", "aagcn_lab/prediction.py", "w = stream_weights(weights, list(models)",
           "w = stream_weights(weights if weights is not None else {s: 1.0 for s in models}, list(models)",
           ("tests/test_fusion.py", "-k", "predict"),
           "predict fuses its streams with equal weights"),
    # --- viz ---------------------------------------------------------------------------------------
    Mutant("learned-graph-layer-0", "aagcn_lab/viz/graphs.py", "learned = layer_graphs(source)[layer, k]", "learned = layer_graphs(source)[0, k]",
           (VIZ, "-k", "learned_graph"), "the learned-graph figure always shows layer 0"),
    Mutant("effective-graph-alpha-of-layer-0", "aagcn_lab/viz/graphs.py", "alpha = traces[layer].alpha", "alpha = traces[0].alpha",
           (VIZ, "-k", "data_graph_and_alpha"), "the effective graph gated by layer 0's alpha"),
    Mutant("layer-graphs-all-layer-0", "aagcn_lab/analysis.py", "return np.stack([to_numpy(t.graph) for t in traces])",
           "return np.stack([to_numpy(traces[0].graph) for t in traces])", (VIZ, "-k", "drift"), "every layer's graph read from layer 0"),
    Mutant("drift-relative-to-learned", "aagcn_lab/analysis.py", "norm = np.linalg.norm(phys, axis=(-2, -1))  # (K,)",
           "norm = np.linalg.norm(learned, axis=(-2, -1))  # (K,)", (VIZ, "-k", "drift"), "drift divided by the learned graph's norm"),
    Mutant("attention-explorer-layer-0", "aagcn_lab/viz/widgets.py", "spatial = ins.layers[layer].spatial", "spatial = ins.layers[0].spatial",
           (VIZ, "-k", "attention_explorer"), "the attention explorer always plots layer 0"),
    Mutant("graph-explorer-data-graph-layer-0", "aagcn_lab/viz/widgets.py", "c = to_numpy(inspection.layers[layer].data_graph[sample, person, k])",
           "c = to_numpy(inspection.layers[0].data_graph[sample, person, k])", (VIZ, "-k", "graph_explorer"),
           "the graph explorer's C_k always from layer 0"),
    # --- trainer: epochs, lr, accumulation, validation, best, test, resume (tests/test_train_epochs.py) ---
    Mutant("epoch-order-not-reshuffled", "aagcn_lab/train/sampler.py", "manual_seed(self.seed * 100_003 + self.epoch)",
           "manual_seed(self.seed * 100_003)", (EPOCHS, "-k", "own_order or reshuffle"), "every epoch draws the same sample order"),
    Mutant("trainer-repeat-ignored", "aagcn_lab/train/trainer.py", "cfg.grad_accum, cfg.repeat, cfg.seed)", "cfg.grad_accum, 1, cfg.seed)",
           (EPOCHS, "-k", "reshuffle"), "the trainer's sampler passes over the split once per epoch whatever repeat says"),
    Mutant("lr-only-logged", "aagcn_lab/train/trainer.py", 'group["lr"] = lr', 'group["lr"] = self.base_lr', (EPOCHS, "-k", "reshuffle"),
           "the schedule's lr is logged, but the optimizer steps with the base lr"),
    Mutant("warm-up-one-step-long", "aagcn_lab/train/schedule.py", "    if step < warm:", "    if step <= warm:", (EPOCHS, "-k", "reshuffle"),
           "the warm-up runs one step too long and overshoots the base lr"),
    Mutant("cosine-ignores-min-lr", "aagcn_lab/train/schedule.py", "return cfg.min_lr + 0.5 * (base_lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))",
           "return 0.5 * base_lr * (1 + math.cos(math.pi * progress))", (EPOCHS, "-k", "reshuffle"), "the cosine anneals to 0, not to min_lr"),
    Mutant("cosine-per-epoch", "aagcn_lab/train/schedule.py", "progress = (step - warm) / total",
           "progress = (step - warm) // steps_per_epoch * steps_per_epoch / total", (EPOCHS, "-k", "reshuffle"),
           "the cosine steps once per epoch instead of per iteration"),
    Mutant("grad-accum-step-per-micro-batch", "aagcn_lab/train/trainer.py", "if len(batches) < cfg.grad_accum:", "if len(batches) < 1:",
           (EPOCHS, "-k", "reshuffle"), "the optimizer steps after every micro-batch instead of every grad_accum"),
    Mutant("grad-accum-loss-not-averaged", "aagcn_lab/train/trainer.py", "self.scaler.scale(loss / len(batches)).backward()",
           "self.scaler.scale(loss).backward()", (EPOCHS, "-k", "grad_accum"), "accumulated gradients summed, not averaged (k times the lr)"),
    Mutant("validation-every-epoch", "aagcn_lab/train/trainer.py", "self.epoch % cfg.val_interval == 0", "self.step_in_epoch % cfg.val_interval == 0",
           (EPOCHS, "-k", "val_interval"), "val_interval tested on the step in the epoch (always 0 there): validation every epoch"),
    Mutant("best-replaced-on-a-tie", "aagcn_lab/train/trainer.py", 'if m["top1"] > self.best_top1:', 'if m["top1"] >= self.best_top1:',
           (EPOCHS, "-k", "best_checkpoint"), "a later epoch only as good as the best replaces best.pt"),
    Mutant("best-by-mean-class-accuracy", "aagcn_lab/train/trainer.py", 'if m["top1"] > self.best_top1:', 'if m["mean_class_acc"] > self.best_top1:',
           (EPOCHS, "-k", "best_checkpoint"), "best.pt chosen by mean class accuracy, compared with the best top-1"),
    Mutant("test-on-last-checkpoint", "aagcn_lab/train/trainer.py", "ckpt = self.run.checkpoint(self.cfg.test_checkpoint)", "ckpt = self.run.latest",
           (EPOCHS, "-k", "best_checkpoint"), "the 10-clip test scores latest.pt although test_checkpoint='best'"),
    Mutant("clip-average-across-samples", "aagcn_lab/model/aagcn.py", "return logits.softmax(-1).view(n, nc, -1).mean(1)",
           "return logits.softmax(-1).view(nc, n, -1).mean(0)", (EPOCHS, "-k", "clip_test"),
           "test clips reshaped clip-major: a sample's score averages other samples' clips"),
    Mutant("evaluate-first-clip-only", "aagcn_lab/train/evaluation.py", "p = net.forward_test(x.to(info.device, non_blocking=True))",
           "p = net.forward_test(x[:, :1].to(info.device, non_blocking=True))", (EPOCHS, "-k", "clip_test"),
           "evaluation scores the first of the test clips only"),
    Mutant("resume-restarts-the-epoch", "aagcn_lab/train/trainer.py",
           "self.epoch, self.step_in_epoch, self.global_step = state.epoch, state.step_in_epoch, state.global_step",
           "self.epoch, self.step_in_epoch, self.global_step = state.epoch, 0, state.global_step", (EPOCHS, "-k", "resumed"),
           "a resumed run starts its epoch's samples again from the first step"),
    Mutant("resume-forgets-best", "aagcn_lab/train/trainer.py", "self.best_top1 = state.best_top1", "self.best_top1 = -1.0",
           (EPOCHS, "-k", "resumed"), "a resumed run forgets the best score: a worse epoch overwrites best.pt"),
    Mutant("sampler-ignores-start-step", "aagcn_lab/train/sampler.py", "for s in range(self.start_step, self.steps_per_epoch):",
           "for s in range(self.steps_per_epoch):", (EPOCHS, "-k", "resumed"), "the sampler restarts the epoch whatever step it is asked for"),
    Mutant("finished-without-its-scores", "aagcn_lab/train/rundir.py",
           "return done if done is not None and done.scores is not None and done.scores.exists() else None",
           "return done if done is not None and done.scores is not None else None", (EPOCHS, "-k", "finished"),
           "a run counts as finished when results.json names scores that are not there"),
    # --- statistics: intervals of the level they claim (tests/test_statistics.py) ----------------------
    Mutant("bootstrap-alpha-one-sided", "aagcn_lab/stats.py", "    alpha = (1 - level) / 2", "    alpha = 1 - level", (STATS, "-k", "bootstrap"),
           "the bootstrap cuts 1 - level from each tail: a 90 % interval for 95 %"),
    Mutant("bootstrap-upper-quantile-at-level", "aagcn_lab/stats.py", "np.quantile(boot, 1 - alpha)", "np.quantile(boot, level)",
           (STATS, "-k", "bootstrap"), "the bootstrap's upper end at the level's quantile (a one-sided quantile)"),
    Mutant("bootstrap-without-replacement", "aagcn_lab/stats.py", "picks = rng.integers(0, len(count_per_group), (n_boot, len(count_per_group)))",
           "picks = rng.permuted(np.tile(np.arange(len(count_per_group)), (n_boot, 1)), axis=1)", (STATS, "-k", "bootstrap"),
           "performers resampled without replacement: every resample is the data, the interval a point"),
    Mutant("bootstrap-accuracy-level-ignored", "aagcn_lab/stats.py", "low, high = _bootstrap(hits, counts, n_boot, seed, level)",
           "low, high = _bootstrap(hits, counts, n_boot, seed, 0.95)", (STATS, "-k", "bootstrap"), "bootstrap_accuracy always gives 95 %"),
    Mutant("bootstrap-difference-level-ignored", "aagcn_lab/stats.py", "low, high = _bootstrap(diff, counts, n_boot, seed, level)",
           "low, high = _bootstrap(diff, counts, n_boot, seed, 0.95)", (STATS, "-k", "bootstrap_intervals"), "bootstrap_difference always gives 95 %"),
    Mutant("stream-intervals-level-dropped", "aagcn_lab/analysis.py", "== np.asarray(sc.labels), groups, n_boot, level=level)",
           "== np.asarray(sc.labels), groups, n_boot)", (STATS, "-k", "bootstrap_intervals"), "stream_intervals ignores its level"),
    Mutant("t-interval-level-ignored", "aagcn_lab/stats.py", "half = t_quantile(0.5 + level / 2, n - 1) * std",
           "half = t_quantile(0.975, n - 1) * std", (STATS, "-k", "student"), "the t interval over seeds is always 95 %"),
    Mutant("t-interval-df-off-by-one", "aagcn_lab/stats.py", "half = t_quantile(0.5 + level / 2, n - 1) * std",
           "half = t_quantile(0.5 + level / 2, n) * std", (STATS, "-k", "student"), "the t critical value with n instead of n - 1 df"),
    Mutant("summary-sample-interval-level-dropped", "aagcn_lab/ablation.py", "iv = bootstrap_accuracy(correct.mean(0), groups, n_boot, level=level)",
           "iv = bootstrap_accuracy(correct.mean(0), groups, n_boot)", (STATS, "-k", "student_t_intervals_use"),
           "a summary's interval over performers ignores its level"),
    Mutant("welch-df-pooled", "aagcn_lab/stats.py", "df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))", "df = na + nb - 2",
           (STATS, "-k", "welch"), "the difference over seeds with the pooled df instead of Welch's"),
    Mutant("compare-level-ignored", "aagcn_lab/stats.py", "half = t_quantile(0.5 + level / 2, df) * se", "half = t_quantile(0.975, df) * se",
           (STATS, "-k", "student_t_intervals_use"), "compare's interval over seeds is always 95 %"),
    # --- readers' unit thresholds (tests/test_thresholds.py) -------------------------------------------
    Mutant("coord-limit-without-abs", "aagcn_lab/data/validate.py", "    big = float(np.abs(kp).max()) if kp.size else 0.0\n    if big > COORD_LIMIT:",
           "    big = float(kp.max()) if kp.size else 0.0\n    if big > COORD_LIMIT:", THRESH, "large negative coordinates pass the unit limit"),
    Mutant("pipeline-limit-without-abs", "aagcn_lab/data/validate.py", "big = float(np.abs(kp).max()) if kp.size else 0.0  # one pass",
           "big = float(kp.max()) if kp.size else 0.0  # one pass", THRESH, "the pipeline's check lets large negative coordinates through"),
    Mutant("float16-full-range", "aagcn_lab/data/validate.py", "big > FLOAT16_MAX / 2:", "big > FLOAT16_MAX:", THRESH,
           "float16 records may hold values whose differences overflow"),
    Mutant("frame-range-inside-the-frame", "aagcn_lab/data/validate.py", "if lo < -size or hi > 2 * size:", "if lo < 0 or hi > size:", THRESH,
           "a 2D joint just outside the image is refused"),
    Mutant("frame-range-width-height-swapped", "aagcn_lab/data/validate.py", 'for axis, size, name in ((0, w, "x"), (1, h, "y")):',
           'for axis, size, name in ((0, h, "x"), (1, w, "y")):', THRESH, "2D x checked against the image height and y against its width"),
    Mutant("score-max-one", "aagcn_lab/data/validate.py", "    if hi > SCORE_MAX:", "    if hi > 1:", THRESH,
           "OpenPose heatmap peaks a little above 1 are refused"),
    Mutant("percent-hint-from-1", "aagcn_lab/data/validate.py", "hi > 10 and hi <= 100", "hi > 1 and hi <= 100", THRESH,
           "a score of 1.3 is called a percentage"),
    Mutant("frame-span-entries-only", "aagcn_lab/data/validate.py", "return 2 * int(frames_in_file) + 300", "return int(frames_in_file) + 300",
           THRESH, "a file may span only its entries + 300 frames: real gaps read as garbled"),
    Mutant("ntu-coord-limit-without-abs", "aagcn_lab/data/ntu.py", "far = np.abs(values[:, :3]) > COORD_LIMIT", "far = values[:, :3] > COORD_LIMIT",
           THRESH, "an NTU coordinate of -1e6 metres parses"),
    Mutant("ntu-length-threshold-strict", "aagcn_lab/data/ntu.py", "len(t) <= LENGTH_THRESHOLD", "len(t) < LENGTH_THRESHOLD", THRESH,
           "an 11-frame track is kept (pyskl drops tracks of <= 11 frames)"),
    Mutant("ntu-spread-fraction-as-count", "aagcn_lab/data/ntu.py", "if wide.mean() >= SPREAD_NOISE_FRACTION:",
           "if wide.sum() >= SPREAD_NOISE_FRACTION:", THRESH, "a track with one wide frame is spread noise"),
    Mutant("ntu-spread-depth-for-height", "aagcn_lab/data/ntu.py", "x, y = joints[..., 0], joints[..., 1]", "x, y = joints[..., 0], joints[..., 2]",
           THRESH, "spread noise compares the body's width with its depth instead of its height"),
    # --- NW-UCLA's protocol and the seams that carry it -------------------------------------------------
    Mutant("ucla-minmax-over-all-axes", "aagcn_lab/data/pipeline.py", "    low, high = flat.min(0), flat.max(0)",
           "    low, high = flat.min(), flat.max()", UCLA, "one min and max for x, y and z: the protocol scales each axis on its own"),
    Mutant("ucla-rotation-order", "aagcn_lab/data/pipeline.py", "    return ry @ rx\n", "    return rx @ ry\n", UCLA,
           "X @ Rx @ Ry instead of CTR-GCN's X @ Ry @ Rx"),
    Mutant("ucla-test-frames-rounded", "aagcn_lab/data/pipeline.py", "return np.linspace(0, num_frames - 1, self.clip_len).astype(np.int64)",
           "return np.round(np.linspace(0, num_frames - 1, self.clip_len)).astype(np.int64)", UCLA,
           "test frames rounded to the nearest index; the protocol truncates"),
    Mutant("ucla-motion-sign", "aagcn_lab/data/pipeline.py", "motion[:, :-1] = np.diff(x, axis=1)", "motion[:, :-1] = -np.diff(x, axis=1)",
           UCLA, "motion as this frame minus the next"),
    Mutant("predict-forgets-protocol", "aagcn_lab/prediction.py", "protocol=model.protocol,", 'protocol="pyskl",', UCLA,
           "predict prepares a ctrgcn model's input with pyskl's pipeline"),
    Mutant("person-slots-not-passed", "aagcn_lab/train/trainer.py", 'num_person=cfg.model.get("num_person", AAGCNConfig.num_person)',
           "num_person=AAGCNConfig.num_person", UCLA, "the data pads to two persons whatever the model's num_person"),
    Mutant("selection-last-on-all", "aagcn_lab/selection.py",
           "last_subset=subset_accuracy(scores, keep, level) if keep is not None else None",
           "last_subset=subset_accuracy(scores, None, level) if keep is not None else None", UCLA,
           "the subset's accuracy computed on every test clip"),
]  # fmt: skip


def copy_repo(dest: Path) -> None:
    """The package, the tests (with their golden arrays) and the pytest configuration."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for item in ("aagcn_lab", "tests"):
        shutil.copytree(REPO / item, dest / item, ignore=ignore)
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")


def baseline_runs(mutants: list[Mutant]) -> list[tuple[str, ...]]:
    """One run per test file covering every selection the mutants make of it (merged ``-k``)."""
    selections: dict[str, list[str] | None] = {}
    for m in mutants:
        file, k = m.tests[0], (m.tests[2] if len(m.tests) > 2 and m.tests[1] == "-k" else None)
        if k is None or selections.get(file, []) is None:
            selections[file] = None
        else:
            selections.setdefault(file, []).append(k)
    return [(f,) if ks is None else (f, "-k", " or ".join(f"({k})" for k in dict.fromkeys(ks))) for f, ks in selections.items()]


def run_tests(root: Path, args: tuple[str, ...] | list[str], timeout: float) -> tuple[int, str, float]:
    """``pytest -x -q`` of the quick tier in ``root``; (exit code, output tail, seconds)."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *QUICK, *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, (proc.stdout + proc.stderr)[-2000:], time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s", time.perf_counter() - t0


def _try(m: Mutant, root: Path, timeout: float) -> tuple[str, float, str]:
    """Apply ``m`` to the copy in ``root``, run its tests, restore the file: (status, seconds, output)."""
    target = root / m.path
    original = target.read_text()
    count = original.count(m.old)
    if count != 1:
        return "error", 0.0, f"the text to mutate occurs {count} times in {m.path}"
    target.write_text(original.replace(m.old, m.new))
    try:
        code, out, secs = run_tests(root, m.tests, timeout)
    finally:
        target.write_text(original)
    return {0: "survived", 1: "killed"}.get(code, "error"), secs, out


def main(argv: list[str] | None = None) -> int:
    """Run the selected mutants; 0 when every one is killed."""
    from concurrent.futures import ThreadPoolExecutor

    p = argparse.ArgumentParser(description="Curated mutation check of the quick test tier.")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only (names, or comma-separated lists)")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--jobs", type=int, default=2, help="mutants tested side by side, each in its own copy")
    p.add_argument("--timeout", type=float, default=300, help="seconds per test run")
    a = p.parse_args(argv)
    if a.only:
        a.only = [name for arg in a.only for name in arg.split(",") if name]
    mutants = [m for m in MUTANTS if not a.only or m.name in a.only]
    if a.only and len(mutants) != len(set(a.only)):
        p.error(f"unknown mutant(s): {', '.join(sorted(set(a.only) - {m.name for m in MUTANTS}))}")
    if a.list:
        for m in mutants:
            print(f"{m.name:36s} {m.path:28s} {m.why}")
        return 0
    t_start = time.perf_counter()
    jobs = max(1, min(a.jobs, len(mutants)))
    with tempfile.TemporaryDirectory(prefix="aagcn-mutation-") as tmp:
        roots = [Path(tmp) / f"copy{i}" for i in range(jobs)]
        for root in roots:
            copy_repo(root)
        check = subprocess.run([sys.executable, "-c", "import aagcn_lab; print(aagcn_lab.__file__)"], cwd=roots[0],
                               env=dict(os.environ, PYTHONPATH=str(roots[0])), capture_output=True, text=True)  # fmt: skip
        if not check.stdout.strip().startswith(str(roots[0])):
            print(f"mutation: the copy's package is not the one imported ({check.stdout.strip() or check.stderr[-500:]})")
            return 2
        free = list(roots)

        def with_copy(fn, *args):
            root = free.pop()
            try:
                return fn(root, *args)
            finally:
                free.append(root)

        with ThreadPoolExecutor(jobs) as pool:
            runs = baseline_runs(mutants)
            failed = False
            for args, (code, out, secs) in zip(runs, pool.map(lambda r: with_copy(run_tests, r, a.timeout * 3), runs)):
                print(f"baseline: {' '.join(args)} -> exit {code} ({secs:.0f} s)", flush=True)
                if code != 0:
                    print(out)
                    failed = True
            if failed:
                print("mutation: the unmutated tests do not pass; nothing to measure")
                return 2
            results = []
            for m, (status, secs, out) in zip(mutants, pool.map(lambda m: with_copy(lambda r: _try(m, r, a.timeout)), mutants)):
                results.append((m, status, secs, out))
                print(f"  {m.name:36s} {status.upper():8s} {secs:5.1f} s  ({m.why})", flush=True)
    killed = sum(1 for _, s, _, _ in results if s == "killed")
    for m, status, _, out in results:
        if status != "killed":
            print(f"\n--- {m.name} {status}: {m.path}: {m.why}\n{out}")
    total = time.perf_counter() - t_start
    print(f"\nmutation: {killed}/{len(results)} mutants killed ({100 * killed / max(1, len(results)):.0f}%), {total:.0f} s")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
