"""Shared test helpers: where the optional reference material lives, and small model factories."""

from __future__ import annotations

import operator
import os
import random
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

from aagcn_lab.lab import warm_batch_norm

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures" / "pyskl_parity"
REAL = SHARED / "data" / "real_samples"
GOLDEN = Path(__file__).resolve().parent / "golden" / "pyskl.npz"  # pyskl's outputs, cut down (scripts/make_golden.py)

if "OMP_NUM_THREADS" not in os.environ:  # an explicit OMP_NUM_THREADS (1 on a shared machine) is kept
    torch.set_num_threads(2)

# torch's global switches that change which kernels run or how they round (read and restored by name)
_TORCH_FLAGS = [
    "backends.cudnn.enabled", "backends.cudnn.benchmark", "backends.cudnn.deterministic", "backends.cudnn.allow_tf32",
    "backends.cuda.matmul.allow_tf32", "backends.cuda.matmul.allow_fp16_reduced_precision_reduction",
    "backends.cuda.matmul.allow_bf16_reduced_precision_reduction", "backends.mkldnn.enabled",
    "backends.mkldnn.deterministic", "backends.mkldnn.matmul.fp32_precision", "backends.mkldnn.conv.fp32_precision",
]  # fmt: skip
_SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _matmul_precision() -> str | None:
    try:
        return torch.get_float32_matmul_precision()
    except RuntimeError:  # legacy and new precision switches mixed: nothing one value describes
        return None


def _torch_flag(name: str) -> object:
    try:
        return operator.attrgetter(name)(torch)
    except (AttributeError, RuntimeError):  # a switch this torch build does not have
        return None


def _flushes_denormals() -> bool:
    """Whether subnormal floats are flushed to zero (``torch.set_flush_denormal``, which has no getter)."""
    return torch.tensor([1e-40], dtype=torch.float32).mul(1.0).item() == 0.0


def _global_state() -> dict:
    """What a test could change for the tests after it: torch's and numpy's settings, environment, cwd, signals."""
    return {
        "threads": torch.get_num_threads(),
        "dtype": torch.get_default_dtype(),
        "device": torch.get_default_device(),
        "deterministic": (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()),
        "matmul": _matmul_precision(),
        "flags": {name: _torch_flag(name) for name in _TORCH_FLAGS},
        "grad": torch.is_grad_enabled(),
        "anomaly": torch.is_anomaly_enabled(),
        "denormals": _flushes_denormals(),
        "numpy_err": np.geterr(),
        "environ": {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},  # pytest's own, per phase
        "cwd": os.getcwd(),
        "signals": {s: signal.getsignal(s) for s in _SIGNALS},
    }


def _restore(saved: dict) -> list[str]:
    """Put back what :func:`_global_state` saved; the names of what had changed."""
    now = _global_state()
    if now["threads"] != saved["threads"]:
        torch.set_num_threads(saved["threads"])
    if now["dtype"] != saved["dtype"]:
        torch.set_default_dtype(saved["dtype"])
    if now["device"] != saved["device"]:  # None: no device context at all (a "cpu" one would intercept every call)
        torch.set_default_device(None if saved["device"] == torch.device("cpu") else saved["device"])
    if now["deterministic"] != saved["deterministic"]:
        torch.use_deterministic_algorithms(saved["deterministic"][0], warn_only=saved["deterministic"][1])
    if saved["matmul"] is not None and now["matmul"] != saved["matmul"]:
        torch.set_float32_matmul_precision(saved["matmul"])  # first: it sets some of the switches below too
    for name, value in saved["flags"].items():
        if value is not None and _torch_flag(name) != value:
            parent, _, attr = name.rpartition(".")
            setattr(operator.attrgetter(parent)(torch), attr, value)
    torch.set_grad_enabled(saved["grad"])
    if now["anomaly"] != saved["anomaly"]:
        torch.autograd.set_detect_anomaly(saved["anomaly"])
    if now["denormals"] != saved["denormals"]:
        torch.set_flush_denormal(saved["denormals"])
    np.seterr(**saved["numpy_err"])
    for key in set(now["environ"]) - set(saved["environ"]):
        del os.environ[key]
    os.environ.update({k: v for k, v in saved["environ"].items() if os.environ.get(k) != v})
    if now["cwd"] != saved["cwd"]:
        os.chdir(saved["cwd"])
    for sig, handler in saved["signals"].items():
        if handler is not None and now["signals"][sig] != handler:
            signal.signal(sig, handler)
    return [key for key in saved if now[key] != saved[key]]


@pytest.fixture(autouse=True, scope="session")
def _session_state() -> dict:
    """The global state the session starts the tests with (after pytest and this file set it up)."""
    return _global_state()


@pytest.fixture(autouse=True)
def _isolated_global_state(_session_state):
    """Every test starts from the session's global state and leaves it so, whatever ran before it
    (``--shuffle``): the settings of :func:`_global_state` are put back before and after the test
    (a module fixture's leftovers included; the trainer sets the thread count and deterministic
    algorithms, for one), and the global RNGs are seeded, so a failure reproduces in any process.
    With ``AAGCN_TESTS_LEAK_LOG=<file>`` every test that changed any of it is written there."""
    _restore(_session_state)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield
    changed = _restore(_session_state)
    log = _session_state["environ"].get("AAGCN_TESTS_LEAK_LOG")
    if changed and log:
        with open(log, "a") as f:
            f.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?').rsplit(' ', 1)[0]}: {', '.join(changed)}\n")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--shuffle SEED``: run the collected tests in an order shuffled with ``random.Random(SEED)``."""
    parser.addoption(
        "--shuffle", type=int, default=None, metavar="SEED",
        help="run the tests in a random order drawn with this seed (finds tests that depend on others)",
    )  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that run the lab's main job (the ``lab_run`` fixture: every notebook) belong to the slow
    tier; with ``--shuffle SEED`` the tests run in a seeded random order."""
    for item in items:
        if "lab_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    seed = config.getoption("shuffle")
    if seed is not None:
        random.Random(seed).shuffle(items)


def shared_file(*parts: str) -> Path:
    """A file under ../shared, or skip the test when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference material not available: {path}")
    return path


def perturb(model: torch.nn.Module, seed: int = 0, scale: float = 0.05, calibrate: bool = True) -> torch.nn.Module:
    """Move a fresh model away from its init so every parameter matters (alpha != 0, BN != 1e-6).

    With ``calibrate`` the BN running statistics are then set from a random batch, so that eval-mode
    activations stay well scaled (a fresh model in eval mode blows up to 1e4-1e9, pyskl pitfall 10).
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("alpha"):
                p.fill_(0.3 + 0.5 * torch.rand(1, generator=g).item())
            elif name.endswith("gcn.bn.weight"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.add_(scale * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    if calibrate and hasattr(model, "cfg"):
        cfg = model.cfg
        v = model.backbone.num_joints
        warm_batch_norm(model, torch.randn(4, cfg.num_person, 24, v, cfg.in_channels, generator=g))
    return model


# The lab's main job on small parameters, shared by the notebook and the four-stream tests: every
# notebook executed with papermill; notebook 03 trains the joint stream, 05 the other three, 06 fuses.
LAB_EPOCHS = 5
LAB_PARAMETERS = {"epochs": LAB_EPOCHS, "options": {"test_clips": 2}, "solutions": True}  # solutions: every exercise filled in


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory):
    """``(out_dir, LabResult)`` of the main job (``aagcn-lab lab``) on small parameters (minutes on 2 cores).

    It runs as its own process, exactly as a user starts it, so that nothing the other tests did to
    this process (signal handlers, environment, thread settings) reaches papermill or the kernels.
    """
    import json
    import subprocess
    import sys

    from aagcn_lab.lab import LabResult

    out = tmp_path_factory.mktemp("lab")
    cmd = [sys.executable, "-m", "aagcn_lab.cli", "lab", "--out", str(out), "--cell-timeout", "600"]
    for name, value in LAB_PARAMETERS.items():
        cmd += ["-p", name, json.dumps(value)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, cwd=REPO)
    if not (out / "results.json").exists():
        pytest.fail(f"the lab wrote no results.json (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "results.json").read_text())
    result = LabResult(out, summary["notebooks"], summary["results"], [out / f for f in summary["figures"]])
    assert f"index: {out / 'index.md'}" in proc.stdout  # the main job says where everything is
    return out, result
