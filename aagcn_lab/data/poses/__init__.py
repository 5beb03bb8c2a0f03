"""Pose-estimator outputs -> annotation records: one module per format family.

* :mod:`.frames` -- :class:`PoseFrames` (one video as an estimator wrote it), the builder every
  reader fills, and :func:`to_record` (units, image size, joint maps, tracking -> a record);
* :mod:`.openpose`, :mod:`.coco` (with mmpose), :mod:`.mediapipe`, :mod:`.lifters` (Detectron2,
  VideoPose3D, MHFormer ``.npz``), :mod:`.arrays` (plain and estimator arrays; the rule for C = 3).

The table of every input format, detection and the doorways (:func:`detect_format`,
:func:`read_poses`, :func:`read_frame`, :func:`convert_poses`) is :mod:`aagcn_lab.data.inputs`; the
joint maps are :mod:`aagcn_lab.data.joint_maps`. The names below stay importable from here, where
notebooks and scripts have imported them; they are loaded on first use.

Bad input does not stop a video: a corrupt frame file, a person with the wrong number of values or
with NaN / inf is left out, and the reason is recorded with the file and frame
(:attr:`PoseFrames.problems`); only a video with no usable person at all is an error. ``.npz``
files that hold Python objects are unpickled with the restricted unpickler of :mod:`aagcn_lab.io`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:  # what editors and type checkers see; at run time __getattr__ imports on demand
    from ..inputs import (
        OTHER_FORMATS,
        POSE_FORMATS,
        convert_poses,
        detect_format,
        read_frame,
        read_pose_input,
        read_pose_records,
        read_poses,
    )
    from ..joint_maps import (
        JOINT_MAPS,
        MEDIAPIPE_LANDMARKS,
        READ_AS,
        SOURCE_JOINTS,
        LayoutMismatchError,
        feeds,
        fit_layout,
        map_joints,
    )
    from .coco import read_coco, read_mmpose
    from .frames import (
        NORMALISED_LIMIT,
        PIXEL_LIMIT,
        PYSKL_IMG_SHAPE,
        PoseFormatError,
        PoseFrames,
        PoseNote,
        check_person,
        join_frames,
        median_extent,
        parse_img_size,
        print_notes,
        to_record,
    )
    from .lifters import load_npz
    from .mediapipe import read_mediapipe
    from .openpose import read_openpose

# name -> the module that defines it (the same table as the TYPE_CHECKING imports above)
_EXPORTS = {
    "OTHER_FORMATS": "..inputs",
    "POSE_FORMATS": "..inputs",
    "convert_poses": "..inputs",
    "detect_format": "..inputs",
    "read_frame": "..inputs",
    "read_pose_input": "..inputs",
    "read_pose_records": "..inputs",
    "read_poses": "..inputs",
    "JOINT_MAPS": "..joint_maps",
    "MEDIAPIPE_LANDMARKS": "..joint_maps",
    "READ_AS": "..joint_maps",
    "SOURCE_JOINTS": "..joint_maps",
    "LayoutMismatchError": "..joint_maps",
    "feeds": "..joint_maps",
    "fit_layout": "..joint_maps",
    "map_joints": "..joint_maps",
    "read_coco": ".coco",
    "read_mmpose": ".coco",
    "NORMALISED_LIMIT": ".frames",
    "PIXEL_LIMIT": ".frames",
    "PYSKL_IMG_SHAPE": ".frames",
    "PoseFormatError": ".frames",
    "PoseFrames": ".frames",
    "PoseNote": ".frames",
    "check_person": ".frames",
    "join_frames": ".frames",
    "median_extent": ".frames",
    "parse_img_size": ".frames",
    "print_notes": ".frames",
    "to_record": ".frames",
    "load_npz": ".lifters",
    "read_mediapipe": ".mediapipe",
    "read_openpose": ".openpose",
}

__all__ = [
    "JOINT_MAPS",
    "LayoutMismatchError",
    "MEDIAPIPE_LANDMARKS",
    "NORMALISED_LIMIT",
    "OTHER_FORMATS",
    "PIXEL_LIMIT",
    "POSE_FORMATS",
    "PYSKL_IMG_SHAPE",
    "PoseFormatError",
    "PoseFrames",
    "PoseNote",
    "READ_AS",
    "SOURCE_JOINTS",
    "check_person",
    "convert_poses",
    "detect_format",
    "feeds",
    "fit_layout",
    "join_frames",
    "load_npz",
    "map_joints",
    "median_extent",
    "parse_img_size",
    "print_notes",
    "read_coco",
    "read_frame",
    "read_mediapipe",
    "read_mmpose",
    "read_openpose",
    "read_pose_input",
    "read_pose_records",
    "read_poses",
    "to_record",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
