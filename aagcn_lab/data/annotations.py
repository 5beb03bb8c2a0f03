"""Annotation files: pyskl's format (:mod:`.records`), and ``resolve_annotations`` (:mod:`.inputs`).

The names users import from here: the file format, records and their validation live in
:mod:`aagcn_lab.data.records` (``Annotations``, ``load_annotations``, ``save_annotations``,
``validate_record`` ...); :func:`resolve_annotations` (an annotation file, or ``'builtin'``) is the
inputs table's (:mod:`aagcn_lab.data.inputs`). This module sits above both, so that the readers
and the built-in generator, which write annotation files, never import the table that reads them.
"""

from __future__ import annotations

from .inputs import resolve_annotations
from .records import (
    REQUIRED_KEYS,
    AnnotationError,
    Annotations,
    infer_layout_name,
    load_annotations,
    save_annotations,
    validate_record,
)

__all__ = [
    "AnnotationError",
    "Annotations",
    "validate_record",
    "load_annotations",
    "resolve_annotations",
    "save_annotations",
    "infer_layout_name",
    "REQUIRED_KEYS",
]
