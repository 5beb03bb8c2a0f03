"""Model checkpoints: ours, and pyskl's released AAGCN files.

Our file is a dict ``{'format': 'aagcn_lab', 'format_version', 'config', 'state_dict', 'meta'}``
(trainer checkpoints add a ``train_state``, which holds the run's training config: the file says
what it was trained on, :attr:`CheckpointInfo.provenance`). pyskl's released ``.pth`` is an mmcv checkpoint:
``{'meta': {...}, 'state_dict': {'backbone.*', 'cls_head.*'}, 'optimizer'?}`` -- our module names
are pyskl's, so its weights load as they are; only the model config has to be inferred from the
weights (the layout from the number of joints and the stored graph, the classes from the
classifier, and so on); what it was trained on is unknown. Every file is read with weights-only
loading: nothing in it can run code. ``read_checkpoint`` reads a file once; its
:class:`CheckpointInfo` builds the model (``load_checkpoint(path)`` is ``read_checkpoint(path).build_model()``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..graph import LAYOUTS, PERSON_SLOTS, Layout, get_layout, spatial_partition
from ..io import CorruptFileError, InputError, atomic_torch_save, safe_torch_load
from .aagcn import AAGCN, AAGCNConfig

__all__ = [
    "CheckpointError",
    "CheckpointInfo",
    "Provenance",
    "read_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "infer_config",
    "clean_state_dict",
    "is_onnx_file",
    "refuse_onnx",
    "weight_problems",
]

FORMAT = "aagcn_lab"
FORMAT_VERSION = 1


class CheckpointError(InputError):
    """A checkpoint that does not fit the model: names the file and the keys or shapes at fault."""


@dataclass(frozen=True)
class Provenance:
    """What a checkpoint was trained on, as far as its file says; ``None`` where it does not."""

    ann_file: str | None = None
    train_split: str | None = None
    val_split: str | None = None
    test_split: str | None = None  # None or '': tested on the validation split
    feat: str | None = None
    clip_len: int | None = None
    preset: str | None = None
    protocol: str = "pyskl"  # the data pipeline that prepared the inputs (TrainConfig.protocol; pyskl's files: pyskl)
    train_config: dict = field(default_factory=dict)  # the run's TrainConfig as a dict; {} = unknown

    @property
    def known(self) -> bool:
        """Whether the file holds its training run's config (ours from the trainer; not pyskl's)."""
        return bool(self.train_config)

    @property
    def eval_split(self) -> str | None:
        """The split the run was tested on: ``test_split``, else ``val_split``."""
        return self.test_split or self.val_split or None

    def describe(self) -> str:
        """One line: the data, split and stream, or why they are unknown."""
        if not self.known:
            return f"training data unknown (no training state in the file{'; stream ' + self.feat if self.feat else ''})"
        protocol = f", {self.protocol} protocol" if self.protocol != "pyskl" else ""
        return (
            f"trained on {self.ann_file} {self.train_split}, tested on {self.eval_split}, stream {self.feat}, "
            f"clip_len {self.clip_len}{protocol}"
        )


@dataclass
class CheckpointInfo:
    """What a checkpoint file holds, before a model is built from it."""

    path: Path
    source: str  # 'aagcn_lab' or 'pyskl'
    config: AAGCNConfig
    state_dict: dict[str, Tensor]
    meta: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)  # everything else in the file (e.g. a trainer's state)

    @property
    def train_state(self) -> dict | None:
        """What the trainer saved to resume (optimizer, counters, RNG states, ``train_config``); ``None`` if absent."""
        return self.raw.get("train_state")

    @property
    def train_config(self) -> dict:
        """The training run's config (a ``TrainConfig`` as a dict); ``{}`` when the file does not hold one."""
        return dict((self.train_state or {}).get("train_config") or {})

    @property
    def provenance(self) -> Provenance:
        """What the checkpoint was trained on (the stream also from ``meta['feat']``)."""
        run = self.train_config
        clip_len = run.get("clip_len")
        return Provenance(
            ann_file=run.get("ann_file"), train_split=run.get("train_split"), val_split=run.get("val_split"),
            test_split=run.get("test_split"), feat=self.meta.get("feat") or run.get("feat"),
            clip_len=int(clip_len) if clip_len is not None else None, preset=run.get("preset") or self.meta.get("preset"),
            protocol=str(run.get("protocol") or "pyskl"), train_config=run,
        )  # fmt: skip

    def build_model(self, map_location: str | torch.device = "cpu") -> AAGCN:
        """A ready (eval-mode) :class:`AAGCN` with these weights; mismatched weights raise :class:`CheckpointError`."""
        model = AAGCN(self.config)
        _check_state_dict(model, self.state_dict, self.path)
        model.load_state_dict(self.state_dict)
        return model.to(map_location).eval()


def clean_state_dict(sd: dict[str, Any]) -> dict[str, Tensor]:
    """Strip wrapper prefixes (``module.`` from DDP, ``_orig_mod.`` from torch.compile)."""
    out = {}
    prefixes = ("module.", "_orig_mod.")
    for k, v in sd.items():
        while k.startswith(prefixes):  # in any order and nesting: compile(DDP(model)) saves _orig_mod.module.
            k = k[len(next(p for p in prefixes if k.startswith(p))) :]
        k = k.replace("._orig_mod.", ".").replace(".module.", ".")
        out[k] = v
    return out


def _layout_from_meta(meta: dict) -> str | None:
    """pyskl stores the config text in ``meta['config']``; read ``layout='...'`` from it."""
    text = meta.get("config") if isinstance(meta, dict) else None
    if isinstance(text, str):
        m = re.search(r"layout\s*=\s*['\"]([^'\"]+)['\"]", text)
        if m:
            return m.group(1)
    return None


def _layout_from_weights(sd: dict[str, Tensor], path: Path, hint: str | None) -> str:
    graph = sd.get("backbone.A")
    if graph is None:
        graph = sd.get("backbone.gcn.0.gcn.A")
    if graph is None or graph.dim() != 3:
        raise CheckpointError(f"{path}: cannot find the skeleton graph (backbone.A) to infer the layout; pass layout=...")
    v = graph.shape[-1]
    candidates = [name for name, lay in LAYOUTS.items() if lay.num_joints == v]
    if hint is not None:
        if hint not in LAYOUTS:
            raise CheckpointError(f"{path}: the file's config names layout {hint!r}, which is not built in; pass layout=...")
        if LAYOUTS[hint].num_joints != v:
            raise CheckpointError(
                f"{path}: the file's config says layout {hint!r} ({LAYOUTS[hint].num_joints} joints) but the "
                f"weights have {v} joints"
            )
        return hint
    if not candidates:
        raise CheckpointError(
            f"{path}: the weights are for a {v}-joint skeleton, which matches no built-in layout "
            f"({', '.join(f'{n} ({lay.num_joints})' for n, lay in LAYOUTS.items())}); pass layout=..."
        )
    # The stored graph tells the NTU hand variants apart when it is the untouched partition.
    for name in candidates:
        if np.allclose(graph.float().numpy(), spatial_partition(name), atol=1e-6):
            return name
    return candidates[0]


def infer_config(sd: dict[str, Tensor], meta: dict | None = None, path: str | os.PathLike = "<state_dict>", **overrides: Any) -> AAGCNConfig:
    """Infer an :class:`AAGCNConfig` from pyskl-named weights (``backbone.*``, ``cls_head.*``)."""
    path = Path(path)
    meta = meta or {}
    need = ["cls_head.fc_cls.weight", "backbone.gcn.0.gcn.conv_d.0.weight"]
    missing = [k for k in need if k not in sd]
    if missing:
        raise CheckpointError(
            f"{path}: not an AAGCN state dict: missing {', '.join(missing)} "
            f"(found {len(sd)} keys, e.g. {', '.join(list(sd)[:3]) or 'none'})"
        )
    if "layout" in overrides and overrides["layout"] is not None:
        layout = overrides.pop("layout")
        lay = get_layout(layout)
    else:
        overrides.pop("layout", None)
        layout = _layout_from_weights(sd, path, _layout_from_meta(meta))
        lay = get_layout(layout)
    v = lay.num_joints

    blocks = sorted({int(m.group(1)) for k in sd if (m := re.match(r"backbone\.gcn\.(\d+)\.", k))})
    w0 = sd["backbone.gcn.0.gcn.conv_d.0.weight"]
    in_channels, base = int(w0.shape[1]), int(w0.shape[0])
    widths = [int(sd[f"backbone.gcn.{i}.gcn.conv_d.0.weight"].shape[0]) for i in blocks]
    stem = in_channels != base  # pyskl builds block 0 as the stem only when widths differ
    stage_of = {i: (i + 1 if stem else i + 2) for i in blocks}
    inflate = tuple(stage_of[i] for i in blocks[1:] if widths[i] != widths[i - 1])
    down = tuple(stage_of[i] for i in blocks[1:] if f"backbone.gcn.{i}.residual.conv.weight" in sd)

    bn = sd.get("backbone.data_bn.weight")
    data_bn_type = overrides.pop("data_bn_type", None) or ("none" if bn is None else "MVC")
    num_person = overrides.pop("num_person", None) or PERSON_SLOTS
    if data_bn_type == "MVC":  # 'VC' and 'MVC' with one person look alike: pyskl's default wins
        if bn is None or bn.numel() % (v * in_channels):
            raise CheckpointError(
                f"{path}: backbone.data_bn has {0 if bn is None else bn.numel()} channels, not a multiple of "
                f"V*C = {v}*{in_channels} for layout {lay.name!r}"
            )
        num_person = bn.numel() // (v * in_channels)

    g = "backbone.gcn.0.gcn."
    graph = "cvpr" if g + "PA" in sd else "tip"
    data_dependent = g + "conv_a.0.weight" in sd
    coff = base // int(sd[g + "conv_a.0.weight"].shape[0]) if data_dependent else 4
    cfg = dict(
        layout=layout if isinstance(layout, str) else lay.to_dict(),
        num_classes=int(sd["cls_head.fc_cls.weight"].shape[0]),
        in_channels=in_channels,
        num_person=num_person,
        base_channels=base,
        num_stages=len(blocks) + (0 if stem else 1),
        inflate_stages=inflate,
        down_stages=down,
        data_bn_type=data_bn_type,
        graph=graph,
        data_dependent=data_dependent,
        spatial_attention=g + "conv_sa.weight" in sd,
        temporal_attention=g + "conv_ta.weight" in sd,
        channel_attention=g + "fc1c.weight" in sd,
        coff_embedding=coff,
        tcn_kernel_size=int(sd["backbone.gcn.0.tcn.conv.weight"].shape[2]) if "backbone.gcn.0.tcn.conv.weight" in sd else 9,
    )
    cfg.update({k: val for k, val in overrides.items() if val is not None})
    return AAGCNConfig(**cfg)


def is_onnx_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an ONNX model (``aagcn-lab export``'s output), by its name or its first bytes."""
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".onnx":
        return True
    with open(path, "rb") as f:
        head = f.read(3)
    # a serialised ModelProto opens with ir_version (field 1, a small varint), then a later field
    return len(head) == 3 and head[0] == 0x08 and 3 <= head[1] <= 30 and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42)


def refuse_onnx(path: str | os.PathLike, expected: str = "a checkpoint", hint: str = "") -> None:
    """Raise :class:`CheckpointError` when ``path`` is an ONNX model given where ``expected`` goes."""
    if is_onnx_file(path):
        raise CheckpointError(
            f"{path}: this is an ONNX model (what aagcn-lab export writes), not {expected}; ONNX models run only in "
            f"`aagcn-lab predict -c {Path(path).name}` (Python: predict, StreamingPredictor)"
            + (f"; {hint}" if hint else "; info, test, export and load_checkpoint need the .pt / .pth checkpoint it was exported from")
        )


def read_checkpoint(path: str | os.PathLike, **overrides: Any) -> CheckpointInfo:
    """Read a checkpoint file (ours or pyskl's) safely and work out the model config."""
    path = Path(path)
    refuse_onnx(path)
    obj = safe_torch_load(path)
    if not isinstance(obj, dict):
        raise CorruptFileError(f"{path}: expected a checkpoint dict, found {type(obj).__name__}")
    if obj.get("format") == FORMAT:
        try:
            cfg_dict, sd = obj["config"], obj["state_dict"]
        except KeyError as e:
            raise CheckpointError(f"{path}: aagcn_lab checkpoint without {e.args[0]!r}") from None
        for key, value in (("config", cfg_dict), ("state_dict", sd)):
            if not isinstance(value, dict):
                raise CheckpointError(f"{path}: the checkpoint's {key!r} is a {type(value).__name__} ({str(value)[:60]!r}), not a dict")
        cfg_dict = dict(cfg_dict)
        cfg_dict.update({k: v for k, v in overrides.items() if v is not None})
        try:
            cfg = AAGCNConfig.from_dict(cfg_dict)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: invalid model config in checkpoint: {e}") from None
        raw = {k: v for k, v in obj.items() if k not in ("config", "state_dict", "meta")}
        return CheckpointInfo(path, FORMAT, cfg, clean_state_dict(sd), dict(obj.get("meta") or {}), raw)
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        sd, meta = obj["state_dict"], obj.get("meta") or {}
    elif obj and all(isinstance(v, Tensor) for v in obj.values()):
        sd, meta = obj, {}  # a bare state dict
    else:
        raise CheckpointError(
            f"{path}: not an AAGCN checkpoint: expected a 'state_dict' entry or a bare state dict, "
            f"found keys {', '.join(map(str, list(obj)[:8]))}"
        )
    sd = clean_state_dict(sd)
    if not any(k.startswith("backbone.") for k in sd):
        raise CheckpointError(
            f"{path}: no 'backbone.*' weights: this does not look like a pyskl AAGCN (RecognizerGCN) "
            f"checkpoint (first keys: {', '.join(list(sd)[:4])})"
        )
    cfg = infer_config(sd, meta if isinstance(meta, dict) else {}, path, **overrides)
    return CheckpointInfo(path, "pyskl", cfg, sd, dict(meta) if isinstance(meta, dict) else {}, {})


def weight_problems(model: AAGCN, sd: dict[str, Tensor]) -> list[str]:
    """What keeps ``sd`` from loading into ``model`` (missing, unexpected and mis-shaped keys; else non-finite
    values), as message lines; ``[]`` when it fits."""
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k}: file {tuple(sd[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)
    ]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s): {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:10])}{' ...' if len(unexpected) > 10 else ''}")
    if shapes:
        parts.append(f"{len(shapes)} shape mismatch(es): {'; '.join(shapes[:10])}{' ...' if len(shapes) > 10 else ''}")
    if parts:
        return [f"weights do not fit the model (layout {model.layout.name!r}, {model.cfg.num_classes} classes): " + " | ".join(parts)]
    bad = [k for k, v in sd.items() if isinstance(v, Tensor) and v.is_floating_point() and not torch.isfinite(v).all()]
    return [f"non-finite values (NaN/inf) in {', '.join(bad[:10])}"] if bad else []


def _check_state_dict(model: AAGCN, sd: dict[str, Tensor], path: Path) -> None:
    problems = weight_problems(model, sd)
    if problems:
        raise CheckpointError(f"{path}: {problems[0]}")


def load_checkpoint(
    path: str | os.PathLike,
    layout: str | Layout | dict | None = None,
    num_classes: int | None = None,
    map_location: str | torch.device = "cpu",
    **overrides: Any,
) -> AAGCN:
    """Return a ready (eval-mode) :class:`AAGCN` from our checkpoint or a pyskl AAGCN checkpoint.

    The layout and number of classes are read from the file, or inferred from the weights where
    it does not say; ``layout=`` / ``num_classes=`` / other config fields override. Mismatched
    weights raise :class:`CheckpointError` listing the missing, unexpected and mis-shaped keys.
    What the file says about its training (meta, provenance): :func:`read_checkpoint`.
    """
    if isinstance(layout, Layout):
        layout = layout.to_dict() if layout.name not in LAYOUTS else layout.name
    return read_checkpoint(path, layout=layout, num_classes=num_classes, **overrides).build_model(map_location)


def save_checkpoint(model: AAGCN, path: str | os.PathLike, meta: dict | None = None, **extra: Any) -> Path:
    """Write ``model`` (unwrapped from DDP / torch.compile) atomically in our format."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    sd = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    obj = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.cfg.to_dict(),
        "state_dict": sd,
        "meta": dict(meta or {}, torch=str(torch.__version__)),
        **extra,
    }
    return atomic_torch_save(obj, path)
