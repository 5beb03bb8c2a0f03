"""pyskl's own AAGCN and GCNHead, loaded from pyskl's source for the bench (never copied into this repository).

Where the source is: ``$PYSKL_SRC``, else :data:`DEFAULT_SOURCE`; either a checkout (a folder with
``pyskl/models/gcns/aagcn.py``) or a bare git repository (the files are read with
``git --git-dir=... show HEAD:path``). :func:`find_source` gives ``None`` when the default is absent,
so the bench skips pyskl with one line; a ``$PYSKL_SRC`` that is set but unusable is an error that
names it.

Only the files on the model's path are executed -- the graph, the AAGCN backbone and its units,
the heads and the evaluation helpers the base head imports -- as modules of a private package
(:data:`PACKAGE`), never under the name ``pyskl``. pyskl's package ``__init__`` files (which pull in
the whole training framework) are not run. What those files import from mmcv is replaced for the
duration of the load: ``build_norm_layer`` for ``dict(type='BN')`` (the one mmcv call the model
makes: ``unit_tcn``'s batch norm, an ``nn.BatchNorm2d`` named ``bn``, as mmcv builds it); the
registries, ``normal_init``, ``load_checkpoint``, ``build_activation_layer`` and ``DistEvalHook``
are stand-ins the model never calls (weights come from our state dict, not from pyskl's init or a
checkpoint). pyskl's ``cache_checkpoint`` (in ``pyskl/utils/misc.py``, which needs mmcv's file
client) is a stand-in too: it is only reached with ``pretrained=``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import AAGCN

__all__ = ["ENV", "DEFAULT_SOURCE", "PACKAGE", "PysklSource", "find_source", "load_pyskl", "pyskl_model"]

ENV = "PYSKL_SRC"
DEFAULT_SOURCE = "/work/.mirror/kennymckormick+pyskl/repo"
PACKAGE = "_aagcn_lab_pyskl"  # the private package pyskl's files run in

# module (under PACKAGE) -> pyskl file, in the order they are executed (each imports only earlier ones)
_FILES = (
    ("utils.graph", "pyskl/utils/graph.py"),
    ("core.evaluation", "pyskl/core/evaluation.py"),
    ("models.builder", "pyskl/models/builder.py"),
    ("models.gcns.utils.init_func", "pyskl/models/gcns/utils/init_func.py"),
    ("models.gcns.utils.tcn", "pyskl/models/gcns/utils/tcn.py"),
    ("models.gcns.utils.gcn", "pyskl/models/gcns/utils/gcn.py"),
    ("models.gcns.aagcn", "pyskl/models/gcns/aagcn.py"),
    ("models.heads.base", "pyskl/models/heads/base.py"),
    ("models.heads.simple_head", "pyskl/models/heads/simple_head.py"),
)
# package -> (module, names): what a package's __init__ would have re-exported, for the files' relative imports
_EXPORTS = {
    "utils": ("utils.graph", ("Graph",)),
    "core": ("core.evaluation", ("top_k_accuracy",)),
}


class PysklSource:
    """pyskl's source tree: a checkout or a bare git repository; :meth:`read` gives one file's text."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.bare = (self.root / "HEAD").is_file() and (self.root / "objects").is_dir()
        if not self.bare and not (self.root / "pyskl" / "models" / "gcns" / "aagcn.py").is_file():
            raise ValueError(f"{self.root}: not a pyskl checkout (no pyskl/models/gcns/aagcn.py) nor a bare git repository")

    def read(self, path: str) -> str:
        """The text of ``path`` (relative to the repository root) at HEAD, or in the checkout."""
        if not self.bare:
            return (self.root / path).read_text(encoding="utf-8")
        r = subprocess.run(["git", f"--git-dir={self.root}", "show", f"HEAD:{path}"], capture_output=True, text=True)
        if r.returncode:
            raise ValueError(f"{self.root}: cannot read {path} at HEAD: {r.stderr.strip()}")
        return r.stdout

    def __str__(self) -> str:
        return f"{self.root}{' (bare git, HEAD)' if self.bare else ''}"


def find_source(path: str | os.PathLike | None = None) -> PysklSource | None:
    """pyskl's source at ``path``, else ``$PYSKL_SRC``, else :data:`DEFAULT_SOURCE`; ``None`` when the
    default is absent (an explicit path or ``$PYSKL_SRC`` that does not exist is a ValueError naming it)."""
    explicit = path if path is not None else os.environ.get(ENV)
    if explicit:
        if not Path(explicit).exists():
            raise ValueError(f"{ENV}={explicit}: no such folder (a pyskl checkout or bare git repository)")
        return PysklSource(explicit)
    return PysklSource(DEFAULT_SOURCE) if Path(DEFAULT_SOURCE).exists() else None


# -- what pyskl's files import from mmcv ----------------------------------------------------------


def _build_norm_layer(cfg: dict, num_features: int, postfix: str = "") -> tuple[str, nn.Module]:
    """mmcv's ``build_norm_layer`` for ``dict(type='BN')``: ``('bn' + postfix, nn.BatchNorm2d(num_features))``."""
    cfg = dict(cfg)
    kind, requires_grad = cfg.pop("type"), cfg.pop("requires_grad", True)
    if kind not in ("BN", "BN2d"):
        raise ValueError(f"pyskl loader: norm layer {kind!r} is not needed by AAGCN and not provided")
    layer = nn.BatchNorm2d(num_features, **cfg)
    for p in layer.parameters():
        p.requires_grad = requires_grad
    return f"bn{postfix}", layer


def _not_used(name: str) -> Any:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"pyskl loader: mmcv's {name} is not provided (the bench's AAGCN never calls it)")

    return stand_in


class _Registry:
    """mmcv's ``Registry``: registering is a no-op; ``build`` builds nothing (only the head's loss asks)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def register_module(self, *args: Any, **kwargs: Any) -> Any:
        return lambda cls: cls

    def build(self, cfg: Any) -> None:
        return None


def _mmcv_modules() -> dict[str, types.ModuleType]:
    mods = {name: types.ModuleType(name) for name in ("mmcv", "mmcv.cnn", "mmcv.runner", "mmcv.utils")}
    mods["mmcv.cnn"].__dict__.update(
        build_norm_layer=_build_norm_layer, build_activation_layer=_not_used("build_activation_layer"),
        normal_init=_not_used("normal_init"), MODELS=_Registry(),
    )  # fmt: skip
    mods["mmcv.runner"].__dict__.update(load_checkpoint=_not_used("load_checkpoint"), DistEvalHook=type("DistEvalHook", (), {}))
    mods["mmcv.utils"].__dict__.update(Registry=_Registry)
    for name in ("cnn", "runner", "utils"):
        setattr(mods["mmcv"], name, mods[f"mmcv.{name}"])
    return mods


@contextmanager
def _swapped_modules(mods: dict[str, types.ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in mods}
    sys.modules.update(mods)
    try:
        yield
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def _package(name: str) -> types.ModuleType:
    full = f"{PACKAGE}.{name}" if name else PACKAGE
    if full not in sys.modules:
        mod = types.ModuleType(full)
        mod.__path__, mod.__package__ = [], full
        sys.modules[full] = mod
        if name:
            parent, _, leaf = full.rpartition(".")
            setattr(_package(parent[len(PACKAGE) + 1 :]), leaf, mod)
    return sys.modules[full]


@cache
def load_pyskl(root: str) -> types.SimpleNamespace:
    """pyskl's ``AAGCN`` backbone and ``GCNHead`` classes, executed from the source at ``root`` (once a process)."""
    src = PysklSource(root)
    for name in list(sys.modules):  # a previous load from another root
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            del sys.modules[name]
    utils = _package("utils")
    utils.cache_checkpoint = _not_used("pyskl.utils.cache_checkpoint")
    with _swapped_modules(_mmcv_modules()):
        for name, path in _FILES:
            pkg, _, leaf = name.rpartition(".")
            parent = _package(pkg)
            full = f"{PACKAGE}.{name}"
            mod = types.ModuleType(full)
            mod.__package__, mod.__file__ = parent.__name__, f"{src.root}:{path}"
            sys.modules[full] = mod
            setattr(parent, leaf, mod)
            exec(compile(src.read(path), mod.__file__, "exec"), mod.__dict__)  # noqa: S102 -- pyskl's own file
            for pkg_name, (module, names) in _EXPORTS.items():
                if module == name:
                    _package(pkg_name).__dict__.update({n: getattr(mod, n) for n in names})
            if pkg == "models.gcns.utils":  # the package __init__'s re-exports, as the files come
                parent.__dict__.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
    gcns, heads = sys.modules[f"{PACKAGE}.models.gcns.aagcn"], sys.modules[f"{PACKAGE}.models.heads.simple_head"]
    return types.SimpleNamespace(AAGCN=gcns.AAGCN, GCNHead=heads.GCNHead, source=str(src))


class _Recognizer(nn.Module):
    """pyskl's ``RecognizerGCN`` forward: ``cls_head(backbone(x))`` (its own class needs mmcv's runner)."""

    def __init__(self, backbone: nn.Module, cls_head: nn.Module) -> None:
        super().__init__()
        self.backbone, self.cls_head = backbone, cls_head

    def forward(self, x: Any) -> Any:
        return self.cls_head(self.backbone(x))


def pyskl_model(ours: AAGCN, source: PysklSource) -> nn.Module:
    """pyskl's AAGCN + GCNHead with the architecture and the weights of ``ours`` (its state dict, keys
    matching one to one), in ``ours``' mode."""
    cfg = ours.cfg
    if cfg.graph != "tip" or not (cfg.data_dependent and cfg.spatial_attention and cfg.temporal_attention and cfg.channel_attention) or cfg.coff_embedding != 4 or cfg.tcn_kernel_size != 9:
        raise ValueError("pyskl's AAGCN is the default variant only (graph 'tip', C_k, all attentions, coff_embedding 4, kernel 9)")
    if not isinstance(cfg.layout, str) or cfg.layout not in ("nturgb+d", "coco", "openpose"):
        raise ValueError(f"pyskl's Graph has no layout {cfg.layout!r} that matches ours")
    classes = load_pyskl(str(source.root))
    backbone = classes.AAGCN(
        graph_cfg=dict(layout=cfg.layout, mode="spatial"), in_channels=cfg.in_channels, base_channels=cfg.base_channels,
        data_bn_type=None if cfg.data_bn_type == "none" else cfg.data_bn_type, num_person=cfg.num_person, num_stages=cfg.num_stages,
        inflate_stages=list(cfg.inflate_stages), down_stages=list(cfg.down_stages),
    )  # fmt: skip
    head = classes.GCNHead(num_classes=cfg.num_classes, in_channels=ours.backbone.out_channels, dropout=cfg.dropout)
    model = _Recognizer(backbone, head)
    model.load_state_dict(ours.state_dict(), strict=True)
    return model.to(next(ours.parameters()).device).train(ours.training)
