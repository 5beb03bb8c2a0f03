"""Training configuration: one flat dataclass, presets for every pyskl AAGCN config, overrides.

Defaults are pyskl's AAGCN recipe: SGD (momentum 0.9, Nesterov), lr 0.1 for a global batch of 128
scaled linearly to the actual global batch, weight decay 5e-4 on all parameters, cosine annealing
per iteration to 0, 16 epochs over the training split repeated 5 times, clip_len 100, 10-clip
testing. Any field can be overridden from the command line (``--lr 0.05``, ``--model.base_channels
16``), from a JSON file, or from papermill parameters (:func:`apply_overrides`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["TrainConfig", "PRESETS", "preset", "apply_overrides", "load_config", "preset_names"]


@dataclass
class TrainConfig:
    """Everything one training run of one stream needs."""

    # data
    ann_file: str = "builtin"  # an annotation file, or 'builtin' for the built-in dataset
    train_split: str = "xsub_train"
    val_split: str = "xsub_val"
    test_split: str = ""  # '' = the validation split (pyskl tests on xsub_val)
    feat: str = "j"  # j, b, jm or bm
    layout: str = ""  # '' = from the annotation file
    clip_len: int = 100
    test_clips: int = 10
    augment: dict = field(default_factory=dict)  # Augment fields; empty = none (pyskl)
    protocol: str = "pyskl"  # the data pipeline: 'pyskl', or 'ctrgcn' (NW-UCLA's published protocol)
    storage: str = "memory"  # 'memory' (shared by forked workers) or 'mmap'
    num_workers: int = 2
    cache_mb: float = 512.0  # MiB per set of the pipeline's per-sample work kept for later epochs where loaded in this process (0: off)
    # model: AAGCNConfig overrides (layout and num_classes come from the data)
    model: dict = field(default_factory=dict)
    # schedule
    epochs: int = 16
    repeat: int = 5  # pyskl's RepeatDataset(times=5): each epoch passes over the data 5 times
    batch_size: int = 16  # per process
    grad_accum: int = 1
    lr: float = 0.1
    lr_batch: int = 128  # lr is given for this global batch and scaled linearly to the actual one
    min_lr: float = 0.0
    warmup_epochs: float = 0.0
    lr_schedule: str = "cosine"  # 'cosine' per iteration to min_lr (pyskl), or 'step': x lr_decay at each of lr_steps
    lr_steps: list = field(default_factory=list)  # epochs (0-based) where a 'step' schedule multiplies the lr by lr_decay
    lr_decay: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    graph_weight_decay: bool = True  # decay the learned graphs B_k too (pyskl does); False: a deviation, B_k free
    # numerics and speed
    amp: str = "none"  # 'none', 'bf16' (autocast) or 'fp16' (autocast + grad scaler)
    compile: bool = False
    channels_last: bool = False
    deterministic: bool = False
    seed: int = 0
    device: str = "auto"  # 'auto', 'cpu', 'cuda'
    # bookkeeping
    work_dir: str = ""  # '' = runs/<preset or feat>
    val_interval: int = 1  # epochs between validations (0 = never)
    log_interval: int = 20  # optimizer steps between train log records
    save_interval: int = 0  # optimizer steps between mid-epoch checkpoints (0 = end of epoch only)
    max_steps: int = 0  # stop after this many optimizer steps (0 = no limit; for smoke runs)
    test_after: bool = True  # 10-clip test of the best checkpoint after training
    test_checkpoint: str = "best"  # 'best' or 'last'
    tensorboard: bool = True  # also write TensorBoard logs when tensorboard is installed
    progress: bool = True  # tqdm progress bars
    preset: str = ""

    def __post_init__(self) -> None:
        if self.feat not in ("j", "b", "jm", "bm"):
            raise ValueError(f"feat must be j, b, jm or bm, got {self.feat!r}")
        if self.amp not in ("none", "bf16", "fp16"):
            raise ValueError(f"amp must be 'none', 'bf16' or 'fp16', got {self.amp!r}")
        if self.test_checkpoint not in ("best", "last"):
            raise ValueError("test_checkpoint must be 'best' or 'last'")
        for name in ("epochs", "repeat", "batch_size", "grad_accum", "clip_len", "test_clips", "lr_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        self._check_values()

    def _check_values(self) -> None:
        """Numbers finite and in range, choices known (rules of :mod:`aagcn_lab.data.validate`)."""
        from ..data.validate import check_choice, check_int, check_number

        check_number("lr", self.lr, 0, low_open=True)
        for name in ("min_lr", "weight_decay", "warmup_epochs", "cache_mb"):
            check_number(name, getattr(self, name), 0)
        check_number("momentum", self.momentum, 0, 1, high_open=True)
        for name in ("num_workers", "val_interval", "save_interval", "max_steps", "seed"):
            check_int(name, getattr(self, name), 0)
        check_int("log_interval", self.log_interval, 1)
        check_choice("storage", self.storage, ("memory", "mmap"))
        check_choice("protocol", self.protocol, ("pyskl", "ctrgcn"))
        check_choice("lr_schedule", self.lr_schedule, ("cosine", "step"))
        check_number("lr_decay", self.lr_decay, 0, 1, low_open=True)
        if not isinstance(self.lr_steps, list) or not all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in self.lr_steps):
            raise ValueError(f"lr_steps must be a list of epoch numbers >= 0, got {self.lr_steps!r}")
        if not (self.device in ("auto", "cpu", "cuda") or (self.device.startswith("cuda:") and self.device[5:].isdigit())):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        limits = {"rotate_deg": (0, 180), "scale": (0, 1), "noise_std": (0, None), "flip_prob": (0, 1)}
        for name, value in self.augment.items():  # unknown names are refused by apply_overrides
            low, high = limits.get(name, (None, None))
            check_number(f"augment.{name}", value, low, high)

    def resolved_work_dir(self) -> Path:
        """The run folder."""
        return Path(self.work_dir or Path("runs") / (self.preset or f"run_{self.feat}"))

    def resolved_test_split(self) -> str:
        """The split the 10-clip test runs on (``test_split``, or the validation split when empty)."""
        return self.test_split or self.val_split

    def tuning_split(self) -> str:
        """The split fusion weights are tuned on: the validation split when it is not the test split, else ''."""
        return self.val_split if self.val_split and self.val_split != self.resolved_test_split() else ""

    def to_dict(self) -> dict:
        """Plain dict (JSON-able)."""
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# Presets
# ------------------------------------------------------------------------------------------------

_NTU_SPLITS = {
    "ntu60_xsub": ("xsub_train", "xsub_val"),
    "ntu60_xview": ("xview_train", "xview_val"),
    "ntu120_xsub": ("xsub_train", "xsub_val"),
    "ntu120_xset": ("xset_train", "xset_val"),
}
# pyskl's annotation files (tools/data/README.md): 3D Kinect skeletons and HRNet 2D keypoints
_NTU_FILES = {
    ("ntu60", "3dkp"): "data/nturgbd/ntu60_3danno.pkl",
    ("ntu120", "3dkp"): "data/nturgbd/ntu120_3danno.pkl",
    ("ntu60", "hrnet"): "data/nturgbd/ntu60_hrnet.pkl",
    ("ntu120", "hrnet"): "data/nturgbd/ntu120_hrnet.pkl",
}

# The built-in dataset trains on a CPU in minutes: a narrow, shallower AAGCN on short clips.
BUILTIN_MODEL = {"base_channels": 16, "num_stages": 6, "inflate_stages": [3, 5], "down_stages": [3, 5]}


# NW-UCLA (Kinect v1, one person; `aagcn-lab convert ucla`): the protocol and recipe behind the published
# numbers (reference-nw-ucla.md 3). The test split is validated after every epoch, so that the best
# epoch *on the test set* (how the papers choose) can be reported beside the last epoch (nothing chosen).
UCLA_ANN_FILE = "data/nw_ucla/nw_ucla.pkl"
_UCLA_COMMON = dict(
    ann_file=UCLA_ANN_FILE, train_split="xview_train", val_split="xview_test", test_split="xview_test", protocol="ctrgcn",
    clip_len=52, test_clips=1, test_checkpoint="last", batch_size=16, lr=0.1, lr_batch=16, weight_decay=1e-4,
    warmup_epochs=5, num_workers=0,
)  # fmt: skip
# The CPU preset: a narrow AAGCN (the built-in data's width and depth) that trains a stream in minutes on 2 cores.
UCLA_CPU_MODEL = {"base_channels": 16, "num_stages": 6, "inflate_stages": [3, 5], "down_stages": [3, 5], "num_person": 1}


def _build_presets() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for feat in ("j", "b", "jm", "bm"):
        for split, (train, val) in _NTU_SPLITS.items():
            ds = split.split("_")[0]
            for kind in ("3dkp", "hrnet"):
                # pyskl: configs/aagcn/aagcn_pyskl_{split}_{kind}/{feat}.py
                out[f"aagcn_pyskl_{split}_{kind}_{feat}"] = dict(
                    ann_file=_NTU_FILES[(ds, kind)], train_split=train, val_split=val, feat=feat
                )
        # Kinetics-skeleton (OpenPose-18), converted with `aagcn-lab convert kinetics`
        out[f"kinetics_skeleton_{feat}"] = dict(
            ann_file="data/kinetics/kinetics_skeleton.pkl", train_split="train", val_split="val", feat=feat,
            epochs=16, repeat=1, clip_len=150,
        )  # fmt: skip
        # built-in data: select models and tune fusion on held-out performers, report on xsub_val
        out[f"builtin_{feat}"] = dict(
            ann_file="builtin", train_split="xsub_train", val_split="xsub_holdout", test_split="xsub_val", feat=feat,
            clip_len=32, epochs=15, repeat=1, batch_size=32, lr=0.1, lr_batch=32, num_workers=0,
            model=dict(BUILTIN_MODEL), log_interval=10,
        )  # fmt: skip
        # NW-UCLA: the published recipe for the full AAGCN (65 epochs, x0.1 from epoch 50, repeat 5) ...
        out[f"ucla_aagcn_{feat}"] = dict(
            _UCLA_COMMON, feat=feat, epochs=65, repeat=5, lr_schedule="step", lr_steps=[50], model={"num_person": 1}, log_interval=50,
        )  # fmt: skip
        # ... and the CPU preset (cosine, one pass per epoch; 100 epochs: about 12.7 min a stream on 2 idle cores, and the
        # static streams, still underfitted at 60 epochs, catch up with motion, which fusion needs)
        out[f"ucla_cpu_{feat}"] = dict(_UCLA_COMMON, feat=feat, epochs=100, repeat=1, model=dict(UCLA_CPU_MODEL), log_interval=20)
    return out


PRESETS: dict[str, dict] = _build_presets()


def preset_names() -> list[str]:
    """All preset names."""
    return sorted(PRESETS)


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a preset name, with overrides."""
    if name not in PRESETS:
        close = [p for p in PRESETS if name in p or p.startswith(name.split("_")[0])][:8]
        raise KeyError(f"unknown preset {name!r}" + (f"; did you mean {', '.join(close)}?" if close else "; see preset_names()"))
    cfg = TrainConfig(**dict(PRESETS[name], preset=name))
    return apply_overrides(cfg, overrides) if overrides else cfg


# ------------------------------------------------------------------------------------------------
# Overrides
# ------------------------------------------------------------------------------------------------


def _coerce(value: Any, typ: Any, name: str) -> Any:
    """Turn a CLI/papermill value (often a string) into the field's type."""
    if isinstance(typ, str):  # postponed annotations
        typ = {"int": int, "float": float, "bool": bool, "str": str, "dict": dict, "list": list}.get(typ, typ)
    origin = typing.get_origin(typ) or typ
    if isinstance(value, str) and origin is not str:
        text = value.strip()
        if origin is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{name}: expected true/false, got {value!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            if origin in (int, float, dict, list):
                raise ValueError(f"{name}: cannot read {value!r} as {getattr(origin, '__name__', origin)}") from None
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (int, float, bool, str, dict, list) and not isinstance(value, origin):
        raise ValueError(f"{name}: expected {origin.__name__}, got {type(value).__name__} {value!r}")
    return value


def apply_overrides(cfg: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """Return a copy of ``cfg`` with overrides; ``'model.x'`` / ``'augment.x'`` set nested keys.

    Values may be typed or strings (from the command line); unknown names are an error.
    """
    types = {f.name: f.type for f in fields(TrainConfig)}
    d = cfg.to_dict()
    d["model"], d["augment"] = dict(d["model"]), dict(d["augment"])
    for key, value in overrides.items():
        key = key.replace("-", "_")
        if "." in key:
            group, sub = key.split(".", 1)
            if group not in ("model", "augment"):
                raise KeyError(f"unknown config group {group!r} in {key!r}; nested keys are model.* and augment.*")
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    pass
            d[group][sub] = value
        elif key in types:
            d[key] = _coerce(value, types[key], key)
        else:
            close = [n for n in types if key in n or n in key][:5]
            raise KeyError(f"unknown training option {key!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    _check_nested(d)
    return TrainConfig(**d)


def _check_nested(d: dict) -> None:
    from ..data.pipeline import Augment
    from ..model.aagcn import AAGCNConfig

    model_fields = {f.name for f in dataclasses.fields(AAGCNConfig)} - {"layout", "num_classes"}
    bad = sorted(set(d["model"]) - model_fields)
    if bad:
        raise KeyError(f"unknown model option(s) {', '.join(bad)}; model options: {', '.join(sorted(model_fields))}")
    aug_fields = {f.name for f in dataclasses.fields(Augment)}
    bad = sorted(set(d["augment"]) - aug_fields)
    if bad:
        raise KeyError(f"unknown augment option(s) {', '.join(bad)}; augment options: {', '.join(sorted(aug_fields))}")


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a config JSON (as written to a run folder's ``config.json``); a file that is not one is an
    :class:`~aagcn_lab.io.InputError` naming it."""
    from ..io import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file" if not path.exists() else f"{path}: is a folder, not a config file")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not JSON ({e}); a config is a JSON object of TrainConfig fields, e.g. a run's launch_config.json") from None
    if not isinstance(d, dict):
        raise InputError(f"{path}: holds a JSON {type(d).__name__}, not a JSON object of TrainConfig fields")
    d = d.get("train", d)
    if not isinstance(d, dict):
        raise InputError(f"{path}: its 'train' entry is a {type(d).__name__}, not an object of TrainConfig fields")
    try:
        return apply_overrides(TrainConfig(), d)
    except (TypeError, ValueError) as e:
        raise InputError(f"{path}: {e}") from None
