"""Skeleton data: files -> annotation records -> pipeline -> batches.

* :mod:`.annotations` -- pyskl's annotation format, safe loading and validation;
* :mod:`.ntu`, :mod:`.kinetics`, :mod:`.dense` -- readers and converters for raw NTU RGB+D
  ``.skeleton`` files, Kinetics-skeleton JSON and the authors' dense arrays (``aagcn-lab convert``);
* :mod:`.poses`, :mod:`.tracking`, :mod:`.projection` -- pose-estimator outputs (OpenPose, COCO-17,
  MediaPipe, lifters) read as records, people linked across frames, the built-in data seen in 2D;
* :mod:`.synthetic` -- the built-in procedural dataset;
* :mod:`.classes` -- class names and NTU missing-sample lists;
* :mod:`.pipeline` -- pyskl's AAGCN pipelines (fast); :mod:`.reference` -- the one-to-one oracle;
* :mod:`.dataset` -- the torch ``Dataset`` with shared/memory-mapped storage.
"""

from .annotations import AnnotationError, Annotations, load_annotations, save_annotations, validate_record
from .classes import class_names, missing_samples
from .dataset import PackedSkeletons, SampleError, SkeletonDataset
from .dense import DenseFileError, DenseSkeletons, convert_dense, read_label_pickle
from .kinetics import KineticsFileError, convert_kinetics_folder, read_kinetics_json, read_kinetics_labels
from .ntu import (
    NTU_SPLITS,
    SkeletonFileError,
    convert_ntu_folder,
    ntu_splits,
    parse_ntu_name,
    parse_ntu_skeleton,
    read_ntu_skeleton,
    select_bodies,
)
from .pipeline import FEATS, Augment, Pipeline, build_pipeline, sample_indices
from .report import ConversionReport
from .synthetic import SyntheticConfig, builtin_annotations, describe, generate, generate_sample

__all__ = [
    "FEATS",
    "NTU_SPLITS",
    "AnnotationError",
    "Annotations",
    "Augment",
    "ConversionReport",
    "DenseFileError",
    "DenseSkeletons",
    "KineticsFileError",
    "PackedSkeletons",
    "Pipeline",
    "SampleError",
    "SkeletonDataset",
    "SkeletonFileError",
    "SyntheticConfig",
    "build_pipeline",
    "builtin_annotations",
    "class_names",
    "convert_dense",
    "convert_kinetics_folder",
    "convert_ntu_folder",
    "describe",
    "generate",
    "generate_sample",
    "load_annotations",
    "missing_samples",
    "ntu_splits",
    "parse_ntu_name",
    "parse_ntu_skeleton",
    "read_kinetics_json",
    "read_kinetics_labels",
    "read_label_pickle",
    "read_ntu_skeleton",
    "sample_indices",
    "save_annotations",
    "select_bodies",
    "validate_record",
]
