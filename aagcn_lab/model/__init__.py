"""The AAGCN model (:mod:`.aagcn`) and its checkpoints (:mod:`.checkpoint`)."""

from .aagcn import (
    AAGCN,
    AAGCNBackbone,
    AAGCNBlock,
    AAGCNConfig,
    AdaptiveGraphConv,
    GCNHead,
    Inspection,
    LayerTrace,
    TemporalConv,
    build_model,
)

__all__ = [
    "AAGCN",
    "AAGCNBackbone",
    "AAGCNBlock",
    "AAGCNConfig",
    "AdaptiveGraphConv",
    "GCNHead",
    "Inspection",
    "LayerTrace",
    "TemporalConv",
    "build_model",
]
