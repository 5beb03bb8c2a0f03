"""The AAGCN model and the ways it is run.

* :mod:`.aagcn` -- the model itself, one forward per class in the paper's order (read it first);
* :mod:`.absent` -- each slot's zero-padded person computed once (the backbone switches it);
* :mod:`.cpu_infer` -- :func:`prepare_inference`: the CPU inference path, batch norm folded and
  weights stacked once into a frozen object (evaluation, ``predict``, streaming and the bench use it);
* :mod:`.inspection` -- the step-by-step walk behind ``model.inspect(x)``;
* :mod:`.reference` -- pyskl's forward transcribed plainly, the oracle the tests and the bench use;
* :mod:`.checkpoint` -- loading pyskl's and our checkpoints.
"""

from .aagcn import (
    AAGCN,
    AAGCNBackbone,
    AAGCNBlock,
    AAGCNConfig,
    AdaptiveGraphConv,
    GCNHead,
    TemporalConv,
    build_model,
)
from .cpu_infer import PreparedAAGCN, prepare_inference
from .inspection import Inspection, LayerTrace

__all__ = [
    "AAGCN",
    "AAGCNBackbone",
    "AAGCNBlock",
    "AAGCNConfig",
    "AdaptiveGraphConv",
    "GCNHead",
    "Inspection",
    "LayerTrace",
    "PreparedAAGCN",
    "TemporalConv",
    "build_model",
    "prepare_inference",
]
