"""Speed and memory figures (a script, not a test): ``python -m aagcn_lab.bench SECTION``.

The measurements live here; the command line (``aagcn-lab bench``, the same as ``python -m
aagcn_lab.bench``) is :mod:`aagcn_lab.cli.bench`.

Sections:

* ``options``  -- the training step at a large batch in fp32 eager against bf16 autocast +
  channels-last + ``torch.compile``: samples/s and their ratio, peak memory per sample, model
  FLOP/s against the device's measured bf16 matmul rate; then a real training loop with those
  options and the DataLoader (data loading included). Meant for ``--device cuda``.
* ``model``    -- forward (inference) and forward+backward+SGD step samples/s, batch 16, M=2,
  T=100, NTU layout; 10-clip inference; the model vs the straightforward transcription of the
  reference equations (the oracle in :mod:`aagcn_lab.model.reference`), with the largest output
  difference; flags ``--amp bf16``, ``--channels-last``, ``--compile``, ``--device cuda``.
* ``pipeline`` -- test-mode pipeline samples/s per core for each feature, vs the one-to-one
  transcription of pyskl's transforms (:mod:`aagcn_lab.data.reference`).
* ``data``     -- Dataset + DataLoader samples/s and private memory per worker for 0..N workers.
* ``train``    -- a real training loop on the built-in dataset (data loading included): samples/s
  and peak memory.
* ``stream``   -- the streaming predictor (:class:`aagcn_lab.StreamingPredictor`) on COCO-17 2D
  frames with two people, the default model size: latency of a frame that completes a window
  (pipeline + model over ``--clips`` test clips) and of one that does not, and the frames per
  second sustained on the CPU by one and by four streams served from one process.
* ``all``      -- everything above with defaults (``options`` only with ``--device cuda``).

The batch mix matters: in NTU-60, 11 of 60 actions have two persons, so by default 3 of the 16
samples carry a second person (``--two-person 1.0`` gives a batch where every sample has two).
"""

from __future__ import annotations

import copy
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch

__all__ = ["machine", "bench_model", "bench_options", "bench_pipeline", "bench_data", "bench_train", "bench_stream"]


def machine() -> str:
    """One line describing the machine and the software."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads){gpu}, "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )


def _time(*fns: Callable[[], object], iters: int, warmup: int = 1, sync: bool = False) -> list[float]:
    """Median seconds of each function over ``iters`` rounds after ``warmup``; the functions take
    turns within a round, so a machine that speeds up or slows down affects them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(iters):
        for fn, ts in zip(fns, times):
            if sync:
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if sync:
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def _faults(fn: Callable[[], object]) -> tuple[int, float]:
    """Minor page faults and system CPU seconds of one run of ``fn`` (what malloc's setting changes)."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return r1.ru_minflt - r0.ru_minflt, r1.ru_stime - r0.ru_stime


def _sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    """pyskl's optimiser settings (the lr does not affect the timings)."""
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)


def _train_step(net: Callable, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, amp: str) -> None:
    """One forward+backward+SGD step, under bf16 autocast when ``amp == 'bf16'``."""
    opt.zero_grad(set_to_none=True)
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp == "bf16"):
        loss = torch.nn.functional.cross_entropy(net(x).float(), y)
    loss.backward()
    opt.step()


def _computed_flops(model: torch.nn.Module, batch: int, two_person: float, frames: int = 100) -> float:
    """Forward FLOPs per sample of the persons actually computed (the absent ones are shared)."""
    n_two = round(two_person * batch)
    return model.flops(frames) * (2 * n_two + batch - n_two) / (2 * batch)


def _batch(n: int, two_person: float, t: int = 100, v: int = 25, clips: int | None = None, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    shape = (n, clips, 2, t, v, 3) if clips else (n, 2, t, v, 3)
    x = torch.randn(shape, generator=g)
    n_two = round(two_person * n)
    if clips:
        x[n_two:, :, 1] = 0
    else:
        x[n_two:, 1] = 0
    return x


# ------------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------------


def bench_model(
    device: str = "cpu", batch: int = 16, two_person: float = 3 / 16, amp: str = "none", channels_last: bool = False,
    compile: bool = False, iters: int = 3, oracle: bool = True, test_batch: int = 4, share_absent: bool = True,
) -> dict:
    """Model throughput; with ``oracle`` also the reference transcription and the ratios."""  # fmt: skip
    from .model import build_model
    from .model.cpu_infer import prepare_inference
    from .model.reference import reference_forward

    dev = torch.device(device)
    sync = dev.type == "cuda"
    torch.manual_seed(0)
    model = build_model(layout="nturgb+d", num_classes=60).to(dev)
    model.backbone.share_absent_persons = share_absent
    if channels_last:
        model.to_channels_last()
    fast = torch.compile(model) if compile else model
    x = _batch(batch, two_person).to(dev)
    y = torch.randint(0, 60, (batch,), generator=torch.Generator().manual_seed(1)).to(dev)
    xt = _batch(test_batch, two_person, clips=10).to(dev)

    def ctx() -> torch.autocast:
        return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp == "bf16")

    def infer(net: Callable) -> None:
        with torch.inference_mode(), ctx():
            net(x)

    def infer10(net: Callable) -> None:
        with torch.inference_mode(), ctx():
            n, nc = xt.shape[:2]
            net(xt.reshape(n * nc, *xt.shape[2:])).float().softmax(-1).view(n, nc, -1).mean(1)

    out: dict = {"batch": batch, "two_person": two_person, "device": device, "amp": amp, "channels_last": channels_last,
                 "compile": compile, "share_absent_persons": share_absent}  # fmt: skip
    runs = [(fast, model, _sgd(model))]
    if oracle:  # the reference transcription, with the same weights, timed in turns with the model
        ref_model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)  # the plain layout
        ref = lambda inp: reference_forward(ref_model, inp)  # noqa: E731
        runs.append((ref, ref_model, _sgd(ref_model)))
    if not sync:  # a fresh process that only infers (aagcn-lab test / predict): what malloc costs
        model.eval()  # inference as evaluation and predict run it: prepared once (CPU), then called
        first = (lambda: infer10(fast)) if compile else (lambda: infer10(prepare_inference(model)))
        out["infer10_first_minor_page_faults"], out["infer10_first_system_s"] = _faults(first)
        if oracle:
            ref_model.eval()
            out["oracle_infer10_first_minor_page_faults"], out["oracle_infer10_first_system_s"] = _faults(partial(infer10, ref))
    for mode, samples in (("train", batch), ("infer", batch), ("infer10", test_batch)):
        for _, m, _ in runs:
            m.train(mode == "train")
        if mode == "infer" and not compile:  # the weights are final now: fold them once for both inference timings
            runs[0] = (prepare_inference(model), model, runs[0][2])
        fns = [partial(_train_step, net, opt, x, y, amp) if mode == "train" else partial(infer if mode == "infer" else infer10, net) for net, _, opt in runs]
        times = _time(*fns, iters=iters, sync=sync)
        out[f"{mode}_samples_s"] = samples / times[0]
        if oracle:
            out[f"oracle_{mode}_samples_s"] = samples / times[1]
        if mode == "train" and sync:
            torch.cuda.reset_peak_memory_stats()
            fns[0]()
            out["train_peak_mem_mb_per_sample"] = torch.cuda.max_memory_allocated() / 2**20 / batch
    if oracle:
        # same weights again, then compare outputs and gradients once; the oracle in float64 is the
        # exact answer, so the float32 oracle's own distance from it is the noise floor to read against
        def loss_and_grad(m: torch.nn.Module, fn: Callable, inp: torch.Tensor) -> tuple[float, torch.Tensor]:
            m.zero_grad(set_to_none=True)  # a copy carries the last training step's gradients
            loss = torch.nn.functional.cross_entropy(fn(m, inp), y)
            loss.backward()
            return loss.item(), torch.cat([p.grad.flatten().double() for p in m.parameters()])

        plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format).train()
        la, ga = loss_and_grad(copy.deepcopy(model).train(), lambda m, inp: m(inp), x)
        _, g64 = loss_and_grad(copy.deepcopy(plain).double(), reference_forward, x.double())
        lb, gb = loss_and_grad(plain, reference_forward, x)
        out["max_rel_loss_diff"] = abs(la - lb) / abs(lb)
        out["grad_rel_diff"] = ((ga - gb).norm() / gb.norm()).item()
        out["grad_rel_err_vs_fp64"] = ((ga - g64).norm() / g64.norm()).item()
        out["oracle_grad_rel_err_vs_fp64"] = ((gb - g64).norm() / g64.norm()).item()
        for key in ("train", "infer", "infer10"):
            out[f"speedup_{key}"] = out[f"{key}_samples_s"] / out[f"oracle_{key}_samples_s"]
    flops = _computed_flops(model, batch, two_person)
    out["model_gflop_per_sample_fwd"] = flops / 1e9
    out["achieved_tflops_train"] = 3 * flops * out["train_samples_s"] / 1e12
    return out


def _matmul_tflops(dev: torch.device, dtype: torch.dtype = torch.bfloat16) -> float:
    """Measured dense matrix-product rate of the device in ``dtype`` (the ceiling to read FLOP/s against)."""
    n = 8192 if dev.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    reps = 20 if dev.type == "cuda" else 2
    t = _time(lambda: [a @ b for _ in range(reps)], iters=3, sync=dev.type == "cuda")[0]
    return 2 * n**3 * reps / t / 1e12


def bench_options(
    device: str = "cuda", batch: int = 256, two_person: float = 3 / 16, frames: int = 100, iters: int = 10, compile: bool = True,
) -> dict:
    """Training steps/s of fp32 eager against bf16 autocast + channels-last (+ ``torch.compile``) at the
    same batch, peak memory per sample, and model FLOP/s against the device's measured bf16 matmul rate."""  # fmt: skip
    from .model import build_model

    dev = torch.device(device)
    sync = dev.type == "cuda"
    x = _batch(batch, two_person, t=frames).to(dev)
    y = torch.randint(0, 60, (batch,), generator=torch.Generator().manual_seed(1)).to(dev)
    out: dict = {"device": device, "batch": batch, "two_person": two_person, "frames": frames}
    if sync:
        out["cudnn_tf32"], out["matmul_tf32"] = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    out["bf16_matmul_tflops"] = _matmul_tflops(dev)
    torch.manual_seed(0)
    model0 = build_model(layout="nturgb+d", num_classes=60)
    flops = _computed_flops(model0, batch, two_person, frames)
    options = {"fp32_eager": ("none", False, False), "fast": ("bf16", True, compile)}
    for name, (amp, channels_last, compiled) in options.items():
        model = copy.deepcopy(model0).to(dev).train()
        if channels_last:
            model.to_channels_last()
        net = torch.compile(model) if compiled else model
        opt = _sgd(model)
        step = partial(_train_step, net, opt, x, y, amp)

        for _ in range(2):  # compilation and autotuning happen here
            step()
        if sync:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        rate = batch / _time(step, iters=iters, sync=sync)[0]
        out[f"{name}_samples_s"] = rate
        out[f"{name}_tflops"] = 3 * flops * rate / 1e12  # forward + backward (twice the forward)
        if sync:
            out[f"{name}_peak_mem_mb_per_sample"] = torch.cuda.max_memory_allocated() / 2**20 / batch
        out[f"{name}_options"] = f"amp={amp} channels_last={channels_last} compile={compiled}"
        del step, net, model, opt  # the step holds them too
    out["speedup"] = out["fast_samples_s"] / out["fp32_eager_samples_s"]
    out["fast_fraction_of_bf16_matmul_rate"] = out["fast_tflops"] / out["bf16_matmul_tflops"]
    return out


# ------------------------------------------------------------------------------------------------
# pipeline and data
# ------------------------------------------------------------------------------------------------


def _records(n: int = 64, seed: int = 0) -> list[dict]:
    """NTU-like records: 1 or 2 persons, 40..300 frames, float16."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        m, t = (2 if i % 6 == 0 else 1), int(rng.integers(40, 300))
        kp = rng.normal(0, 0.3, (m, 1, 25, 3)) + np.array([0, 0, 3.0]) + np.cumsum(rng.normal(0, 0.01, (m, t, 25, 3)), 1)
        recs.append(dict(frame_dir=f"S{i:04d}", label=i % 60, total_frames=t, keypoint=kp.astype(np.float16)))
    return recs


def bench_pipeline(samples: int = 64, feats: Sequence[str] = ("j", "b", "jm", "bm"), split: str = "test") -> dict:
    """Pipeline samples/s on one core, fast vs the pyskl transcription."""
    from .data.pipeline import build_pipeline
    from .data.reference import reference_pipeline

    recs = _records(samples)
    out = {"split": split, "samples": samples}
    for feat in feats:
        fast, ref = build_pipeline(feat, split), reference_pipeline(feat, split)
        rng = np.random.RandomState(0)
        tf, tr = _time(lambda: [fast(dict(r), rng) for r in recs], lambda: [ref(dict(r), np.random.RandomState(0)) for r in recs], iters=3)  # noqa: B023
        out[f"{feat}_samples_s"] = samples / tf
        out[f"{feat}_oracle_samples_s"] = samples / tr
        out[f"{feat}_speedup"] = tr / tf
    return out


def _private_mb(pid: int) -> float:
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
        return sum(int(fields[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) / 1024
    except OSError:
        return float("nan")


class _PidLog:
    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, _worker: int) -> None:
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


def bench_data(workers: Sequence[int] = (0, 1, 2, 4), samples: int = 2000, feat: str = "j") -> dict:
    """Dataset + DataLoader (train mode) samples/s and private memory per worker."""
    import tempfile

    from torch.utils.data import DataLoader

    from .data import SkeletonDataset, save_annotations

    recs = _records(samples)
    out: dict = {"samples": samples}
    with tempfile.TemporaryDirectory() as tmp:
        ann = save_annotations(f"{tmp}/a.pkl", recs, {"train": [r["frame_dir"] for r in recs]})
        ds = SkeletonDataset(ann, "train", feat=feat, mode="train")
        out["data_mb"] = ds.records.nbytes() / 2**20
        for w in workers:
            log = f"{tmp}/pids{w}"
            loader = DataLoader(ds, batch_size=16, num_workers=w, worker_init_fn=_PidLog(log) if w else None, persistent_workers=w > 0)
            t = time.perf_counter()
            for _ in loader:
                pass
            out[f"workers{w}_samples_s"] = samples / (time.perf_counter() - t)
            if w:
                pids = [int(p) for p in open(log).read().split()]
                out[f"workers{w}_private_mb_per_worker"] = max(_private_mb(p) for p in pids)
            del loader
    return out


def bench_train(
    steps: int = 30, device: str = "auto", batch_size: int = 32, num_workers: int = 1, amp: str = "none", channels_last: bool = False,
    compile: bool = False, full_model: bool = False, clip_len: int = 32,
) -> dict:
    """A real training loop (data loading included) on the built-in dataset; the preset's small model,
    or with ``full_model`` pyskl's AAGCN (NTU layout, 25 joints)."""  # fmt: skip
    import tempfile

    from .train.config import preset
    from .train.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        # repeat: enough passes over the built-in training split (828 samples) that every step falls
        # in one epoch, so no worker restart lands inside the timed windows
        cfg = preset(
            "builtin_j", work_dir=tmp, max_steps=steps, progress=False, test_after=False, val_interval=0, tensorboard=False,
            device=device, batch_size=batch_size, num_workers=num_workers, log_interval=max(1, steps // 3), amp=amp, channels_last=channels_last,
            compile=compile, clip_len=clip_len, repeat=max(1, steps * batch_size // 800 + 1), **({"model": {}} if full_model else {}),
        )  # fmt: skip
        trainer = Trainer(cfg)
        t = time.perf_counter()
        trainer.fit()
        dt = time.perf_counter() - t
        windows = [json.loads(line) for line in trainer.run.metrics.read_text().splitlines()]
        windows = [w["samples_per_s"] for w in windows if w.get("split") == "train"]
    out = {"steps": steps, "batch_size": batch_size, "num_workers": num_workers, "clip_len": cfg.clip_len, "model": cfg.model,
           "amp": amp, "channels_last": channels_last, "compile": compile, "samples_s_whole_run": steps * batch_size / dt,
           "samples_s_last_third": windows[-1]}  # fmt: skip
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available() and trainer.info.device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


# ------------------------------------------------------------------------------------------------
# streaming
# ------------------------------------------------------------------------------------------------


def _coco_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """``n`` frames of two walking COCO-17 people ``(2, 17, 3)`` (x, y pixels, score)."""
    rng = np.random.default_rng(seed)
    bodies = [rng.uniform(0, 150, (17, 2)) + (300 + 700 * k, 300) for k in range(2)]
    frames = []
    for f in range(n):
        people = [np.concatenate([b + (2.0 * f, 5 * np.sin(f / 5)), rng.uniform(0.4, 1, (17, 1))], 1) for b in bodies]
        frames.append(np.stack(people))
    return frames


def bench_stream(
    streams: Sequence[int] = (1, 4), window: int = 100, stride: int = 10, num_clips: int = 10, predictions: int = 5, base_channels: int = 64
) -> dict:
    """Streaming latency per window and sustained frames/s on the CPU for each number of streams."""
    from .model import AAGCN, AAGCNConfig
    from .stream_models import from_model
    from .streaming import StreamingPredictor

    torch.manual_seed(0)
    model = AAGCN(AAGCNConfig(layout="coco", num_classes=60, in_channels=3, base_channels=base_channels)).eval()
    models = {"j": from_model(model, "j", clip_len=100)}
    n_frames = window + predictions * stride
    frames = _coco_frames(n_frames)
    out: dict = {"window / stride / clips": f"{window} / {stride} / {num_clips}", "parameters": model.num_parameters()}
    for n in streams:
        sps = [StreamingPredictor(models, window=window, stride=stride, num_clips=num_clips, img_shape=(1080, 1920)) for _ in range(n)]
        warm = StreamingPredictor(models, window=window, stride=window, num_clips=num_clips, img_shape=(1080, 1920))
        for f in frames[:window]:  # one prediction first: allocator and thread pools warm
            warm.push(f)
        window_t, frame_t = [], []
        t0 = time.perf_counter()
        for f in frames:
            for sp in sps:
                t = time.perf_counter()
                r = sp.push(f)
                (window_t if r is not None else frame_t).append(time.perf_counter() - t)
        total = time.perf_counter() - t0
        out[f"{n} stream(s): latency per window (ms)"] = 1000 * statistics.median(window_t)
        out[f"{n} stream(s): other frames (ms)"] = 1000 * statistics.median(frame_t)
        out[f"{n} stream(s): sustained frames/s per stream"] = n_frames / total
        out[f"{n} stream(s): sustained frames/s, all streams"] = n * n_frames / total
    return out


if __name__ == "__main__":  # python -m aagcn_lab.bench: the command line lives in aagcn_lab.cli.bench
    from aagcn_lab.cli.bench import main

    sys.exit(main())
