"""Skeleton data: files -> annotation records -> pipeline -> batches.

* :mod:`.annotations` -- pyskl's annotation format, safe loading and validation;
* :mod:`.classes` -- class names and NTU missing-sample lists.
"""

from .annotations import AnnotationError, Annotations, load_annotations, save_annotations, validate_record
from .classes import class_names, missing_samples

__all__ = [
    "AnnotationError",
    "Annotations",
    "class_names",
    "load_annotations",
    "missing_samples",
    "save_annotations",
    "validate_record",
]
