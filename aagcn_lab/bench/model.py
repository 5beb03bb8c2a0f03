"""The ``model`` and ``options`` sections: the model's training step and inference, against its oracle,
and the GPU training options."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial

import torch

from .timing import _conv_rate, _faults, _time

__all__ = ["bench_model", "bench_options", "bench_precision"]


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


def bench_model(
    device: str = "cpu", batch: int = 16, two_person: float = 3 / 16, amp: str = "none", channels_last: bool = False,
    compile: bool = False, iters: int = 3, oracle: bool = True, test_batch: int = 4, share_absent: bool = True,
) -> dict:
    """Model throughput; with ``oracle`` also the reference transcription and the ratios."""  # fmt: skip
    from ..model import build_model
    from ..model.cpu_infer import prepare_inference
    from ..model.reference import reference_forward

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
    from ..model import build_model

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


def _int8_temporal_conv(x: torch.Tensor, w: torch.Tensor, iters: int) -> float | None:
    """GFLOP/s of the temporal convolution in int8 through PyTorch's quantized kernels (x86 engine, per-channel
    weights), or ``None`` where this build has none; its inputs quantized once, outside the timing."""
    import warnings

    engines = torch.backends.quantized.supported_engines
    engine = next((e for e in ("x86", "onednn", "fbgemm") if e in engines), None)
    if engine is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 deprecates quantized tensors (see the README)
        torch.backends.quantized.engine = engine
        c_out, c_in, k, _ = w.shape
        conv = torch.ao.nn.quantized.Conv2d(c_in, c_out, (k, 1), padding=(k // 2, 0))
        scale = w.abs().amax((1, 2, 3)) / 127
        qw = torch.quantize_per_channel(w, scale, torch.zeros(c_out, dtype=torch.long), 0, torch.qint8)
        conv.set_weight_bias(qw, None)
        conv.scale, conv.zero_point = float(x.abs().max() / 60), 64
        qx = torch.quantize_per_tensor(x, float(x.abs().max() / 60), 64, torch.quint8).contiguous(memory_format=torch.channels_last)
        t = _time(lambda: conv(qx), iters=iters)[0]
    n, _, frames, v = x.shape
    return 2 * n * c_out * c_in * k * frames * v / t / 1e9


def bench_precision(batch: int = 16, two_person: float = 3 / 16, iters: int = 3, test_batch: int = 4) -> dict:
    """bf16 against fp32 on the CPU, timed in turns: prepared inference (one clip and 10 clips), the training
    step under bf16 autocast, the temporal convolution (and in int8, PyTorch's quantized kernels), and one
    attention's memory-bound passes over an activation."""
    from ..model import build_model
    from ..model.cpu_infer import prepare_inference

    torch.manual_seed(0)
    model = build_model(layout="nturgb+d", num_classes=60)
    x, xt = _batch(batch, two_person), _batch(test_batch, two_person, clips=10)
    y = torch.randint(0, 60, (batch,), generator=torch.Generator().manual_seed(1))
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    out: dict = {"batch": batch, "two_person": two_person, "oneDNN bf16 kernels on this CPU": bf16}
    twin = copy.deepcopy(model)  # the bf16 training steps update their own copy of the weights
    opt32, opt16 = _sgd(model), _sgd(twin)
    t32, t16 = _time(partial(_train_step, model, opt32, x, y, "none"), partial(_train_step, twin, opt16, x, y, "bf16"), iters=iters)
    out["train fp32 samples/s"], out["train bf16 autocast samples/s"] = batch / t32, batch / t16
    out["train bf16 / fp32"] = t32 / t16
    f32, f16 = prepare_inference(model), prepare_inference(model, "bf16")
    for name, run, n in (("infer", lambda net: net(x), batch), ("infer10", lambda net: net.forward_test(xt), test_batch)):
        a, b = _time(partial(run, f32), partial(run, f16), iters=iters)
        out[f"{name} fp32 samples/s"], out[f"{name} bf16 samples/s"], out[f"{name} bf16 / fp32"] = n / a, n / b, a / b
    for dtype in (torch.float32, torch.bfloat16):  # the peak section's measurement, at the stage-2 shape
        out[f"temporal conv 128x128x9 {str(dtype)[6:]} GFLOP/s"] = _conv_rate(batch, 128, 128, 50, 25, 9, dtype, True, iters)
    out["temporal conv 128x128x9 int8 GFLOP/s"] = _int8_temporal_conv(torch.randn(batch, 128, 50, 25), torch.randn(128, 128, 9, 1) / 30, iters)
    # the memory-bound rest: one attention's passes over a first-stage activation, as the prepared path runs them
    act = {dt: (torch.randn(batch, 100, 25, 64).to(dt), (1 + torch.rand(batch, 1, 25, 1) / 1000).to(dt)) for dt in (torch.float32, torch.bfloat16)}
    a32, a16 = _time(partial(_attention_pass, *act[torch.float32]), partial(_attention_pass, *act[torch.bfloat16]), iters=max(iters, 20))
    out["attention passes 64x100x25 fp32 ms"], out["attention passes 64x100x25 bf16 ms"] = 1000 * a32, 1000 * a16
    out["attention passes bf16 / fp32 time"] = a16 / a32
    return out


def _attention_pass(y: torch.Tensor, gate: torch.Tensor) -> None:
    """One attention's memory passes over ``y`` ``(N, T, V, C)``: the mean over frames (accumulated in float32)
    and the in-place gate multiply ``y *= (1 + a)`` (``gate`` close to 1: a thousand rounds grow ``y`` by at most e)."""
    y.mean(1, dtype=torch.float32)
    y.mul_(gate)
