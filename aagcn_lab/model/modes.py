"""Running a module in a mode for a while: ``eval_mode(model)`` (used by the model, its CPU path and the analysis layer)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["eval_mode"]


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """``with eval_mode(model): ...`` runs the block with ``model.eval()`` and gives the model back in
    the mode it had (train or eval), also when the block raises."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
