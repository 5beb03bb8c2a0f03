"""How far apart rounding alone can put two computations of the same value: the tests' float bounds.

A test that compares two computations of one value (another summation order, a folded constant,
another thread count or vector width, another implementation) may only allow what rounding can
do. The worst case for accumulating ``n`` terms in any order is ``n * u * sum(|terms|)`` with the
unit roundoff ``u = eps / 2`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
sections 3.1 and 4.2; a dot product of length ``n`` has the same bound). Using ``eps`` instead of
``u`` covers both sides of a comparison. Through a network each layer adds its own rounding to
what reaches it; to first order the layers' bounds add up (``depth``) when a layer's gain is about
one, and ``scale`` covers what is larger than that: intermediate values larger than the value the
comparison divides by (cancellation, gains above one, a softmax's exponent).

    float_bound(dtype, terms, depth, scale) = eps(dtype) * terms * depth * scale

relative to the magnitude of the compared values (``rel`` in the tests divides by the largest one).
Comments next to the assertions give the counts, e.g. ``# f64 x 1e3 terms x 11 layers``; the
counts are rounded up, never measured. Machine epsilons: float64 2.2e-16, float32 1.2e-7,
bfloat16 7.8e-3.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["eps", "float_bound", "rel"]


def eps(dtype: torch.dtype | np.dtype | type | str) -> float:
    """Machine epsilon of a torch or numpy float dtype (the spacing of floats just above 1)."""
    if isinstance(dtype, torch.dtype):
        return torch.finfo(dtype).eps
    return float(np.finfo(np.dtype(dtype)).eps)


def float_bound(dtype: torch.dtype | np.dtype | type | str, terms: float = 1, depth: float = 1, scale: float = 1.0) -> float:
    """Relative bound on a rounding-only difference: ``eps(dtype) * terms * depth * scale`` (see the module docstring).

    ``terms``: the most terms accumulated into one value by one layer (a reduction, a dot product,
    a convolution's ``k * C_in``); ``depth``: how many such layers the value passes through;
    ``scale``: how much larger the magnitudes inside are than the compared values (1 where they are not).
    """
    if terms < 1 or depth < 1 or scale <= 0:
        raise ValueError(f"terms and depth must be >= 1 and scale > 0, got {terms}, {depth}, {scale}")
    return eps(dtype) * terms * depth * scale


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference of two tensors relative to the largest magnitude of ``b`` (what a float bound is compared with)."""
    return ((a - b).abs().max() / b.abs().max()).item()
