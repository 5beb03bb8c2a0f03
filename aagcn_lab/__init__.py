"""aagcn_lab: learn, explore and reproduce MS-AAGCN for skeleton-based action recognition.

The package follows the data flow: :mod:`~aagcn_lab.graph` (skeleton layouts and graphs),
:mod:`~aagcn_lab.model` (the AAGCN and its checkpoints), :mod:`~aagcn_lab.data` (readers,
annotations, pipelines, the built-in dataset), :mod:`~aagcn_lab.train` (the trainer),
:mod:`~aagcn_lab.fusion` (multi-stream scores), :mod:`~aagcn_lab.viz` (figures and widgets).
README.md's layer table says which module may import which (``tests/test_layering.py`` checks it).

The names below are re-exported lazily: ``import aagcn_lab.graph`` runs only the graph module,
and ``aagcn_lab.predict`` loads the prediction stack (torch, pipelines, checkpoints) on first use.
``aagcn_lab.predict`` is the function; its module is :mod:`aagcn_lab.prediction` (named so that no
submodule shadows the function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports on demand
    from .graph import LAYOUTS, Layout, define_layout, get_layout, normalized_adjacency, spatial_partition
    from .io import InputError
    from .model import AAGCN, AAGCNConfig, build_model
    from .model.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
    from .prediction import Prediction, predict
    from .streaming import StreamingPredictor

__version__ = "0.1.0"

# name -> the module that defines it (the same table as the TYPE_CHECKING imports above)
_EXPORTS = {
    "LAYOUTS": ".graph",
    "Layout": ".graph",
    "define_layout": ".graph",
    "get_layout": ".graph",
    "normalized_adjacency": ".graph",
    "spatial_partition": ".graph",
    "InputError": ".io",
    "AAGCN": ".model",
    "AAGCNConfig": ".model",
    "build_model": ".model",
    "CheckpointError": ".model.checkpoint",
    "load_checkpoint": ".model.checkpoint",
    "read_checkpoint": ".model.checkpoint",
    "save_checkpoint": ".model.checkpoint",
    "Prediction": ".prediction",
    "predict": ".prediction",
    "StreamingPredictor": ".streaming",
}

__all__ = [
    "AAGCN",
    "AAGCNConfig",
    "CheckpointError",
    "InputError",
    "LAYOUTS",
    "Layout",
    "Prediction",
    "StreamingPredictor",
    "build_model",
    "define_layout",
    "get_layout",
    "load_checkpoint",
    "normalized_adjacency",
    "predict",
    "read_checkpoint",
    "save_checkpoint",
    "spatial_partition",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

