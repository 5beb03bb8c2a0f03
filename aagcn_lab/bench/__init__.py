"""Speed and memory figures (a script, not a test): ``python -m aagcn_lab.bench SECTION``, one module a section.

The measurements live here; the command line (``aagcn-lab bench``, the same as ``python -m
aagcn_lab.bench``) is :mod:`aagcn_lab.cli.bench`.

Sections:

* ``options``  -- the training step at a large batch in fp32 eager against bf16 autocast +
  channels-last + ``torch.compile``: samples/s and their ratio, peak memory per sample, model
  FLOP/s against the device's measured bf16 matmul rate; then a real training loop with those
  options and the DataLoader (data loading included). Meant for ``--device cuda``.
* ``model``    -- forward (inference) and forward+backward+SGD step samples/s, batch 16, M=2,
  T=100, NTU layout; 10-clip inference; the model vs the straightforward transcription of the
  reference equations (the oracle in :mod:`aagcn_lab.model.reference`), with the largest output
  difference; flags ``--amp bf16``, ``--channels-last``, ``--compile``, ``--device cuda``.
* ``precision`` -- bf16 against fp32 on the CPU, in turns: prepared inference (one and 10 clips),
  the training step under bf16 autocast, the temporal convolution in fp32, bf16 and int8, and one
  attention's memory-bound passes in fp32 and bf16.
* ``pipeline`` -- test-mode pipeline samples/s per core for each feature, vs the one-to-one
  transcription of pyskl's transforms (:mod:`aagcn_lab.data.reference`).
* ``data``     -- Dataset + DataLoader samples/s and private memory per worker for 0..N workers.
* ``train``    -- a real training loop on the built-in dataset (data loading included): samples/s
  and peak memory.
* ``stream``   -- the streaming predictor (:class:`aagcn_lab.StreamingPredictor`) on COCO-17 2D
  frames with two people, the default model size: latency of a frame that completes a window
  (pipeline + model over ``--clips`` test clips) and of one that does not, and the frames per
  second sustained on the CPU by one and by four streams served from one process.
* ``shared``   -- (:mod:`.shared`) the lab's small-model training step, or (``--workload stream``) one
  live streaming prediction, alone and beside a busy process, per thread policy.
* ``peak``, ``profile``, ``revisions`` -- (:mod:`.hardware`) this CPU's fp32/bf16 peak rates, a
  per-operator profile of ours against pyskl's AAGCN, and the training step of several source trees
  in turns.
* ``all``      -- every section with defaults (``options`` only with ``--device cuda``).

The batch mix matters: in NTU-60, 11 of 60 actions have two persons, so by default 3 of the 16
samples carry a second person (``--two-person 1.0`` gives a batch where every sample has two).
"""

from __future__ import annotations

from .data import bench_data, bench_pipeline, bench_train
from .model import bench_model, bench_options, bench_precision
from .stream import bench_stream
from .timing import machine

__all__ = ["machine", "bench_model", "bench_options", "bench_precision", "bench_pipeline", "bench_data", "bench_train", "bench_stream"]
