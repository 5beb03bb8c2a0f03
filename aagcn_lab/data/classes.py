"""Class names and sample lists that ship with the package (dataset facts, not data).

* NTU RGB+D 120 action names (the first 60 are NTU-60), spelled as in pyskl's label file;
* Kinetics-400 names in the official index order (Kinetics-skeleton ``label_index``);
* the NTU samples whose skeletons are missing (302 in NTU-60, 535 in NTU-120);
* the built-in synthetic dataset's names (the generator, :mod:`aagcn_lab.data.synthetic`, reads them here);
* :func:`class_names_for`: the names that go with a checkpoint (its metadata, else by class count).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources

__all__ = ["DATASETS", "class_names", "class_names_for", "missing_samples"]

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
        return list(_lines("builtin.txt"))
    raise ValueError(f"no class names for dataset {dataset!r}; known: {', '.join(DATASETS)}")


def class_names_for(num_classes: int, meta: Mapping | None = None) -> list[str]:
    """Class names from a checkpoint's metadata, else the dataset with that many classes."""
    names = list((meta or {}).get("label_names") or [])
    if len(names) == num_classes:
        return names
    by_count = {60: "ntu60", 120: "ntu120", 400: "kinetics400"}
    if num_classes in by_count:
        return class_names(by_count[num_classes])
    builtin = class_names("builtin")
    if len(builtin) == num_classes:
        return builtin
    return [f"class {i}" for i in range(num_classes)]


def missing_samples(dataset: str = "ntu120") -> frozenset[str]:
    """NTU sample ids with missing skeletons: 302 for ``'ntu60'``, 535 for ``'ntu120'``."""
    if dataset == "ntu60":
        return frozenset(_lines("ntu60_missing.txt"))
    if dataset == "ntu120":
        return frozenset(_lines("ntu120_missing.txt"))
    raise ValueError(f"missing-sample lists exist for 'ntu60' and 'ntu120', not {dataset!r}")
