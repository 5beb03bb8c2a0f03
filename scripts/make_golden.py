"""Extract the small golden arrays under ``tests/golden/`` from pyskl's parity fixtures.

    .venv/bin/python scripts/make_golden.py [--fixtures ../shared/fixtures/pyskl_parity]

The fixtures (``../shared/fixtures/pyskl_parity/*.pt``, what pyskl's own code computed) are large
and live outside the repository; the golden file keeps a few KB of them so that parity with
pyskl is tested in every clone. Everything stored is pyskl's output, cut down, never ours:

* ``graph_A/<layout>``: the spatial partition pyskl builds (``nturgb+d``, ``coco``);
* ``<case>/input``, ``<case>/score``: a few frames of a sample (frame 0, which anchors the
  normalisation, and a short window), ``<case>/frames`` their numbers in the sample;
* ``<case>/prenorm``: pyskl's PreNormalize3D/2D output at those frames (float32);
* ``<case>/<feat>`` for j, b, jm, bm: GenSkeFeat's output at ``<case>/feat_frames`` (the frames
  whose next original frame is kept, so that motion is defined from the stored frames alone);
* ``inds/<case>/<split>``: the frame indices UniformSample chose for the whole sample (val, test,
  and train with ``train_seed``), with ``inds/<case>/total_frames``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "golden" / "pyskl.npz"
FEATS = ("j", "b", "jm", "bm")

# case -> (fixture file, frames kept: frame 0 and a window where something happens)
CASES = {
    "3d_m2_t150": ("pipe_3d_m2_t150.pt", [0, 1, 2, *range(38, 43)]),  # person 2 appears at frame 40
    "2d_m2_t120": ("pipe_2d_m2_t120.pt", [0, 1, 2, *range(98, 103)]),  # person 2 disappears at frame 100
    "real_A058": ("pipe_real_S001C003P008R002A058.pt", [0, 1, 2, *range(30, 35)]),  # two persons, real clip
}
SAMPLING = {
    "3d_m2_t150": "pipe_3d_m2_t150.pt",
    "3d_m1_t73": "pipe_3d_m1_t73.pt",
    "2d_m2_t120": "pipe_2d_m2_t120.pt",
    **{f"real_{n[-4:]}": f"pipe_real_{n}.pt" for n in (
        "S001C001P001R001A011", "S001C003P008R002A058", "S002C001P003R001A003", "S003C001P015R001A034",
        "S004C002P003R001A017")},
}  # fmt: skip


def extract(fixtures: Path) -> dict[str, np.ndarray]:
    """The golden arrays, keyed as described in the module docstring."""
    out: dict[str, np.ndarray] = {}
    for fname, layout in (("model_ntu60_3d.pt", "nturgb+d"), ("model_coco60_2d.pt", "coco")):
        d = torch.load(fixtures / fname, weights_only=True)
        out[f"graph_A/{layout}"] = d["graph_A"].numpy().astype(np.float32)
    for case, (fname, frames) in CASES.items():
        d = torch.load(fixtures / fname, weights_only=True)
        frames = np.array(frames)
        sample = d["sample"]
        out[f"{case}/frames"] = frames
        out[f"{case}/input"] = sample["keypoint"].numpy()[:, frames]
        if "keypoint_score" in sample:
            out[f"{case}/score"] = sample["keypoint_score"].numpy()[:, frames]
            out[f"{case}/img_shape"] = np.array(sample["img_shape"])
        assert d["prenorm_total_frames"] == sample["total_frames"], "a case whose normalisation drops frames"
        out[f"{case}/prenorm"] = d["prenorm_keypoint"].numpy()[:, frames].astype(np.float32)
        keep = np.flatnonzero(np.isin(frames + 1, frames))  # positions whose next original frame is stored
        out[f"{case}/feat_positions"] = keep
        for feat in FEATS:
            out[f"{case}/{feat}"] = d[f"genskefeat_{feat}"].numpy()[:, frames[keep]].astype(np.float32)
    for case, fname in SAMPLING.items():
        d = torch.load(fixtures / fname, weights_only=True)
        out[f"inds/{case}/total_frames"] = np.array(d["prenorm_total_frames"])
        out[f"inds/{case}/train_seed"] = np.array(d["train_seed"])
        for split in ("train", "val", "test"):
            out[f"inds/{case}/{split}"] = d[f"{split}_j_inds"].numpy().reshape(-1).astype(np.int16)
    return out


def main() -> None:
    """Write ``tests/golden/pyskl.npz``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures" / "pyskl_parity")
    args = p.parse_args()
    arrays = extract(args.fixtures)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(f"{OUT}: {len(arrays)} arrays, {OUT.stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
