"""Published accuracies the lab compares its runs with, each with its source.

One home for these numbers (notebooks, the ablation study and the README read them from here):

* :data:`NTU60_XSUB` -- NTU-60 X-Sub top-1 (%) of AAGCN variants, 3D skeletons (the project's
  reference-training notes, sections 5 and 6);
* :data:`NW_UCLA` -- NW-UCLA cross-view top-1 (%) (train views 1+2, test view 3) of the methods that
  report it (reference-nw-ucla.md section 4). MS-AAGCN itself never reported NW-UCLA: the original
  papers use NTU and Kinetics only, and no reproduced number was found.

A published NW-UCLA number is the best epoch *chosen on the test set* (CTR-GCN's ``main.py``
evaluates the test set after every epoch and keeps the maximum), on all 464 test clips, 95 of which
are copies of training clips.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NTU60_XSUB", "NW_UCLA", "PublishedResult", "NW_UCLA_UNIQUE_FRHEAD", "NW_UCLA_FUSION_WEIGHTS"]

# variant -> (top-1 %, source)
NTU60_XSUB: dict[str, tuple[float, str]] = {
    "full": (89.0, "pyskl AAGCN, joint stream"),
    "no_attention": (88.26, "mmaction2 AAGCN without attention, joint stream (its own recipe)"),
    "stream_b": (89.1, "pyskl AAGCN, bone stream"),
    "stream_jm": (86.9, "pyskl AAGCN, joint-motion stream"),
    "stream_bm": (86.6, "pyskl AAGCN, bone-motion stream"),
    "fusion_2s": (90.8, "pyskl AAGCN, j + b 1:1"),
    "fusion_4s": (91.5, "pyskl AAGCN, 2:2:1:1"),
}


@dataclass(frozen=True)
class PublishedResult:
    """One row of a published table: top-1 (%) of one stream and of the ensemble, and where it comes from."""

    method: str
    single: float | None  # the joint stream (or the one stream reported); None = not reported
    ensemble: float | None  # 4 streams unless ``streams`` says otherwise
    streams: str
    source: str


NW_UCLA: tuple[PublishedResult, ...] = (
    PublishedResult("Shift-GCN (CVPR 2020)", 92.5, 94.6, "4s", "1s: the author in kchengiva/Shift-GCN#21; 4s secondary (Simba)"),
    PublishedResult("DC-GCN+ADG (ECCV 2020)", None, 95.3, "4s", "BlockGCN paper, Table 2"),
    PublishedResult("CTR-GCN (ICCV 2021)", 94.6, 96.5, "4s", "4s: BlockGCN Table 2; J as quoted in liujf69/TD-GCN-Gesture#3"),
    PublishedResult("InfoGCN (CVPR 2022)", None, 96.6, "4s", "re-run by SkeletonGCL, BlockGCN Table 2 (97.0 with 6 streams)"),
    PublishedResult("FR-Head on CTR-GCN (CVPR 2023)", 94.40, 96.77, "4s", "zhysora/FR-Head README, recomputed from its score files"),
    PublishedResult("GAP/LST on CTR-GCN (ICCV 2023)", 94.0, 97.2, "4s", "BlockGCN Table 2; J secondary (Simba)"),
    PublishedResult("BlockGCN (CVPR 2024)", 95.5, 96.9, "4s", "BlockGCN Table 2"),
    PublishedResult("MS-AAGCN (TIP 2020)", None, None, "-", "not reported: the paper uses NTU and Kinetics only"),
)

# FR-Head's released score files re-scored without the 95 test clips that copy training clips
# (reference-nw-ucla.md section 6): joint stream 343 / 369, and the 0.6/0.6/0.4/0.4 ensemble.
NW_UCLA_UNIQUE_FRHEAD = {"j": 92.95, "4s": 95.93, "j_all": 94.40, "4s_all": 96.77}

# The stream weights the NW-UCLA papers fuse with (j, b, jm, bm)
NW_UCLA_FUSION_WEIGHTS: dict[str, dict[str, float]] = {
    "ctrgcn": {"j": 0.6, "b": 0.6, "jm": 0.4, "bm": 0.4},  # CTR-GCN and FR-Head ensemble.py
    "blockgcn": {"j": 0.7, "b": 0.5, "jm": 0.6, "bm": 0.2},  # BlockGCN ensemble.py
}
