"""Shared test helpers: where the optional reference material lives, and small model factories."""

from __future__ import annotations

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

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _fixed_global_seeds():
    """Every test starts from the same global RNG state, so a failure reproduces in any process."""
    np.random.seed(0)
    torch.manual_seed(0)


def pytest_collection_modifyitems(items):
    """Tests that run the lab's main job (the ``lab_run`` fixture: every notebook) belong to the slow tier."""
    for item in items:
        if "lab_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


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
