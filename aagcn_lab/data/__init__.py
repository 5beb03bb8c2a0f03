"""Skeleton data: files -> annotation records -> pipeline -> batches.

* :mod:`.inputs` -- every input format in one table (how it is detected, read and described) and
  the doorways: ``read_input``, ``detect_format``, ``read_poses``, ``read_frame``, ``resolve_annotations``;
* :mod:`.records` -- pyskl's annotation format: records, safe loading, validation, saving
  (:mod:`.annotations`: the same names, and ``resolve_annotations``, where users import them);
* :mod:`.ntu`, :mod:`.kinetics`, :mod:`.dense` -- readers and converters for raw NTU RGB+D
  ``.skeleton`` files, Kinetics-skeleton JSON and the authors' dense arrays (``aagcn-lab convert``);
* :mod:`.ucla` -- NW-UCLA clips in CTR-GCN's ``all_sqe`` JSON and its cross-view splits;
* :mod:`.poses` -- pose-estimator outputs, one module per format family (OpenPose, COCO-17 and
  mmpose, MediaPipe, lifters, arrays); :mod:`.joint_maps` -- joint maps between layouts;
  :mod:`.tracking`, :mod:`.projection` -- people linked across frames, the built-in data seen in 2D;
* :mod:`.leakage` -- the same skeletons in two disjoint splits (train/test copies) of any annotation file;
* :mod:`.synthetic` -- the built-in procedural dataset;
* :mod:`.classes` -- class names and NTU missing-sample lists;
* :mod:`.pipeline` -- pyskl's AAGCN pipelines (fast); :mod:`.reference` -- the one-to-one oracle;
* :mod:`.dataset` -- the torch ``Dataset`` with shared/memory-mapped storage.

The names below are re-exported lazily: importing one data module does not run the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports on demand
    from .classes import class_names, missing_samples
    from .dataset import PackedSkeletons, SampleError, SkeletonDataset
    from .dense import DenseFileError, DenseSkeletons, convert_dense, read_label_pickle
    from .inputs import FORMATS, detect_format, read_input, resolve_annotations
    from .kinetics import KineticsFileError, convert_kinetics_folder, read_kinetics_json, read_kinetics_labels
    from .leakage import copies_report, find_copies
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
    from .records import AnnotationError, Annotations, load_annotations, save_annotations, validate_record
    from .report import ConversionReport
    from .synthetic import SyntheticConfig, builtin_annotations, describe, generate, generate_sample
    from .ucla import UCLA_ACTIONS, UclaFileError, convert_ucla_folder, parse_ucla_name, read_ucla_clip

# name -> the module that defines it (the same table as the TYPE_CHECKING imports above)
_EXPORTS = {
    "AnnotationError": ".records",
    "Annotations": ".records",
    "load_annotations": ".records",
    "save_annotations": ".records",
    "validate_record": ".records",
    "class_names": ".classes",
    "missing_samples": ".classes",
    "PackedSkeletons": ".dataset",
    "SampleError": ".dataset",
    "SkeletonDataset": ".dataset",
    "DenseFileError": ".dense",
    "DenseSkeletons": ".dense",
    "convert_dense": ".dense",
    "read_label_pickle": ".dense",
    "FORMATS": ".inputs",
    "detect_format": ".inputs",
    "read_input": ".inputs",
    "resolve_annotations": ".inputs",
    "KineticsFileError": ".kinetics",
    "convert_kinetics_folder": ".kinetics",
    "read_kinetics_json": ".kinetics",
    "read_kinetics_labels": ".kinetics",
    "copies_report": ".leakage",
    "find_copies": ".leakage",
    "NTU_SPLITS": ".ntu",
    "SkeletonFileError": ".ntu",
    "convert_ntu_folder": ".ntu",
    "ntu_splits": ".ntu",
    "parse_ntu_name": ".ntu",
    "parse_ntu_skeleton": ".ntu",
    "read_ntu_skeleton": ".ntu",
    "select_bodies": ".ntu",
    "FEATS": ".pipeline",
    "Augment": ".pipeline",
    "Pipeline": ".pipeline",
    "build_pipeline": ".pipeline",
    "sample_indices": ".pipeline",
    "ConversionReport": ".report",
    "SyntheticConfig": ".synthetic",
    "builtin_annotations": ".synthetic",
    "describe": ".synthetic",
    "generate": ".synthetic",
    "generate_sample": ".synthetic",
    "UCLA_ACTIONS": ".ucla",
    "UclaFileError": ".ucla",
    "convert_ucla_folder": ".ucla",
    "parse_ucla_name": ".ucla",
    "read_ucla_clip": ".ucla",
}

__all__ = [
    "AnnotationError",
    "Annotations",
    "Augment",
    "ConversionReport",
    "DenseFileError",
    "DenseSkeletons",
    "FEATS",
    "FORMATS",
    "KineticsFileError",
    "NTU_SPLITS",
    "PackedSkeletons",
    "Pipeline",
    "SampleError",
    "SkeletonDataset",
    "SkeletonFileError",
    "SyntheticConfig",
    "UCLA_ACTIONS",
    "UclaFileError",
    "build_pipeline",
    "builtin_annotations",
    "class_names",
    "convert_dense",
    "convert_kinetics_folder",
    "convert_ntu_folder",
    "convert_ucla_folder",
    "copies_report",
    "describe",
    "detect_format",
    "find_copies",
    "generate",
    "generate_sample",
    "load_annotations",
    "missing_samples",
    "ntu_splits",
    "parse_ntu_name",
    "parse_ntu_skeleton",
    "parse_ucla_name",
    "read_kinetics_json",
    "read_kinetics_labels",
    "read_input",
    "read_label_pickle",
    "read_ntu_skeleton",
    "read_ucla_clip",
    "resolve_annotations",
    "sample_indices",
    "save_annotations",
    "select_bodies",
    "validate_record",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
