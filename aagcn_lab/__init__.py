"""aagcn_lab: learn, explore and reproduce MS-AAGCN for skeleton-based action recognition.

The package follows the data flow: :mod:`~aagcn_lab.graph` (skeleton layouts and graphs),
:mod:`~aagcn_lab.model` (the AAGCN and its checkpoints), :mod:`~aagcn_lab.data` (readers,
annotations, pipelines, the built-in dataset), :mod:`~aagcn_lab.train` (the trainer),
:mod:`~aagcn_lab.fusion` (multi-stream scores), :mod:`~aagcn_lab.viz` (figures and widgets).
"""

from .graph import LAYOUTS, Layout, define_layout, get_layout, normalized_adjacency, spatial_partition
from .io import InputError
from .model import AAGCN, AAGCNConfig, build_model
from .model.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from .predict import Prediction, predict
from .streaming import StreamingPredictor

__version__ = "0.1.0"

__all__ = [
    "AAGCN",
    "AAGCNConfig",
    "CheckpointError",
    "InputError",
    "Prediction",
    "LAYOUTS",
    "Layout",
    "build_model",
    "define_layout",
    "get_layout",
    "load_checkpoint",
    "normalized_adjacency",
    "predict",
    "read_checkpoint",
    "save_checkpoint",
    "spatial_partition",
    "StreamingPredictor",
]
