"""Class names and sample lists that ship with the package (dataset facts, not data).

* NTU RGB+D 120 action names (the first 60 are NTU-60), spelled as in pyskl's label file;
* Kinetics-400 names in the official index order (Kinetics-skeleton ``label_index``);
* the NTU samples whose skeletons are missing (302 in NTU-60, 535 in NTU-120);
* the built-in synthetic dataset's names (see :mod:`aagcn_lab.data.synthetic`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["DATASETS", "class_names", "missing_samples"]

DATASETS = ("ntu60", "ntu120", "kinetics400", "builtin")


@cache
def _lines(name: str) -> tuple[str, ...]:
    text = resources.files("aagcn_lab.data").joinpath("resources", name).read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line.strip())


def class_names(dataset: str) -> list[str]:
    """Class names of ``'ntu60'``, ``'ntu120'``, ``'kinetics400'`` or ``'builtin'``, by label index."""
    key = dataset.lower().replace("-", "").replace("_", "").replace("rgb+d", "").replace("nturgbd", "ntu")
    if key in ("ntu60", "ntu"):
        return list(_lines("nturgbd120.txt")[:60])
    if key == "ntu120":
        return list(_lines("nturgbd120.txt"))
    if key in ("kinetics400", "kinetics", "k400"):
        return list(_lines("kinetics400.txt"))
    if key in ("builtin", "synthetic"):
        from .synthetic import CLASS_NAMES

        return list(CLASS_NAMES)
    raise ValueError(f"no class names for dataset {dataset!r}; known: {', '.join(DATASETS)}")


def missing_samples(dataset: str = "ntu120") -> frozenset[str]:
    """NTU sample ids with missing skeletons: 302 for ``'ntu60'``, 535 for ``'ntu120'``."""
    if dataset == "ntu60":
        return frozenset(_lines("ntu60_missing.txt"))
    if dataset == "ntu120":
        return frozenset(_lines("ntu120_missing.txt"))
    raise ValueError(f"missing-sample lists exist for 'ntu60' and 'ntu120', not {dataset!r}")
