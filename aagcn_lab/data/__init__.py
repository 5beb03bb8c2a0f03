"""Skeleton data: files -> annotation records -> pipeline -> batches.

* :mod:`.annotations` -- pyskl's annotation format, safe loading and validation;
* :mod:`.classes` -- class names and NTU missing-sample lists;
* :mod:`.pipeline` -- pyskl's AAGCN pipelines (fast); :mod:`.reference` -- the one-to-one oracle;
* :mod:`.dataset` -- the torch ``Dataset`` with shared/memory-mapped storage.
"""

from .annotations import AnnotationError, Annotations, load_annotations, save_annotations, validate_record
from .classes import class_names, missing_samples
from .dataset import PackedSkeletons, SampleError, SkeletonDataset
from .pipeline import FEATS, Augment, Pipeline, build_pipeline, sample_indices

__all__ = [
    "FEATS",
    "AnnotationError",
    "Annotations",
    "Augment",
    "PackedSkeletons",
    "Pipeline",
    "SampleError",
    "SkeletonDataset",
    "build_pipeline",
    "class_names",
    "load_annotations",
    "missing_samples",
    "sample_indices",
    "save_annotations",
    "validate_record",
]
