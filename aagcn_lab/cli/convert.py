"""``aagcn-lab convert``: raw datasets and pose-estimator outputs to annotation files; check a file.

::

    aagcn-lab convert ntu      SRC_DIR OUT.pkl --dataset ntu60|ntu120 [--workers N]
    aagcn-lab convert kinetics JSON_DIR OUT.pkl [--label-file LABELS.json] [--split val]
    aagcn-lab convert dense    DATA.npy LABEL.pkl OUT.pkl [--layout nturgb+d] [--split xsub_val]
    aagcn-lab convert ucla     ALL_SQE_DIR OUT.pkl [--val-list val_label.pkl]   (NW-UCLA, CTR-GCN's JSON)
    aagcn-lab convert check    ANN.pkl [--layout NAME]
    aagcn-lab convert poses    INPUT... -o OUT.pkl --label N [--format NAME] [--img-size WxH]   (see data.inputs)

Every converter (:mod:`aagcn_lab.data.ntu`, ``.kinetics``, ``.dense``, ``.ucla``, ``.poses``) skips what it cannot use,
says why, and keeps going; the exit code is non-zero only when nothing could be converted (or,
for ``check``, when a record is invalid). ``check`` also prints the samples whose keypoints repeat
in a disjoint split (:mod:`aagcn_lab.data.leakage`): a report, the exit code stays 0.
"""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``ntu`` / ``kinetics`` / ``dense`` / ``ucla`` / ``check`` / ``poses`` sub-commands to ``parser``."""
    from ..graph import PERSON_SLOTS
    from . import positive_int  # counts below 1 (--workers 0, --max-persons 0) are refused naming the option (exit 2)

    sub = parser.add_subparsers(dest="convert_format", metavar="{ntu,kinetics,dense,ucla,check,poses}")
    sub.required = True

    p = sub.add_parser("ntu", help="a folder of raw NTU RGB+D .skeleton files -> annotation file")
    p.add_argument("src", metavar="SRC", help="folder holding the .skeleton files")
    p.add_argument("out", metavar="OUT", help="annotation file to write (.pkl)")
    p.add_argument("--dataset", choices=("ntu60", "ntu120"), default="ntu60", help="which benchmark (default: ntu60)")
    p.add_argument("--workers", type=positive_int, default=1, help="parallel processes (default: 1)")
    p.add_argument("--max-bodies", type=positive_int, default=PERSON_SLOTS, help=f"person slots per sample (default: {PERSON_SLOTS})")

    p = sub.add_parser("kinetics", help="a folder of Kinetics-skeleton JSON files -> annotation file")
    p.add_argument("src", metavar="JSON_DIR", help="folder holding one JSON per video")
    p.add_argument("out", metavar="OUT", help="annotation file to write (.pkl)")
    p.add_argument("--label-file", default=None, help="kinetics_{train,val}_label.json (video id -> label)")
    p.add_argument("--split", default="val", help="name of the split holding every record (default: val)")
    p.add_argument("--max-persons", type=positive_int, default=PERSON_SLOTS, help=f"persons kept per frame (default: {PERSON_SLOTS})")
    p.add_argument("--workers", type=positive_int, default=1, help="parallel processes (default: 1)")

    p = sub.add_parser("dense", help="the authors' (N, C, T, V, M) .npy + label pickle -> annotation file")
    p.add_argument("data", metavar="DATA_NPY", help="e.g. val_data_joint.npy")
    p.add_argument("labels", metavar="LABEL_PKL", help="e.g. val_label.pkl: (sample_names, labels)")
    p.add_argument("out", metavar="OUT", help="annotation file to write (.pkl)")
    p.add_argument("--layout", default=None, help="skeleton layout (default: from the joint count)")
    p.add_argument("--split", default=None, help="split name (default: from the file names, e.g. xsub_val)")
    p.add_argument("--dataset", default=None, help="class names: ntu60, ntu120 or kinetics400 (default: guessed)")

    p = sub.add_parser("ucla", help="a folder of NW-UCLA all_sqe JSON clips (CTR-GCN) -> annotation file, cross-view splits")
    p.add_argument("src", metavar="ALL_SQE_DIR", help="folder holding one aAA_sSS_eEE_vVV.json per clip")
    p.add_argument("out", metavar="OUT", help="annotation file to write (.pkl)")
    p.add_argument(
        "--val-list", default=None,
        help="CTR-GCN's val_label.pkl: xview_test in its order (default: the val_label.pkl beside the folder, else by name)",
    )  # fmt: skip
    p.add_argument("--workers", type=positive_int, default=1, help="parallel processes (default: 1)")

    p = sub.add_parser("check", help="validate an annotation file, print a summary and the copies across splits")
    p.add_argument("ann", metavar="ANN_FILE", help="annotation file (.pkl)")
    p.add_argument("--layout", default=None, help="check the joints against this layout")

    from ..data.inputs import POSE_FORMATS

    p = sub.add_parser("poses", help="pose-estimator outputs (OpenPose, COCO, MediaPipe, lifters) -> annotation file")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="files or per-frame folders, one video each")
    p.add_argument("--out", "-o", required=True, help="annotation file to write (.pkl)")
    p.add_argument("--format", dest="pose_format", default=None, choices=sorted(POSE_FORMATS), help="input format (default: detected)")
    p.add_argument("--img-size", default=None, help="image WIDTHxHEIGHT when the files do not say (pyskl's 2D normalisation)")
    p.add_argument("--max-persons", type=positive_int, default=PERSON_SLOTS, help=f"person tracks kept per video (default: {PERSON_SLOTS})")
    p.add_argument("--with-score", action="store_true", help="a plain .npy array's channel 2 is a detection score (as for predict)")
    p.add_argument("--label", type=int, required=True, help="class index of every input (an annotation file needs labels)")
    p.add_argument("--split", default="test", help="split name holding every record (default: test)")


def _check(path: str, layout: str | None) -> int:
    from ..data.leakage import copies_report
    from ..data.records import AnnotationError, load_annotations
    from ..data.report import summarize_annotations
    from ..io import CorruptFileError, UnsafeFileError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the rejected records are printed below
            ann = load_annotations(path, on_error="skip", layout=layout)
    except (AnnotationError, CorruptFileError, UnsafeFileError, ValueError, FileNotFoundError) as e:
        print(f"invalid: {e}", file=sys.stderr)
        problems = getattr(e, "problems", [])
        if str(e).count("\n") < 2:  # the message does not list the records itself
            for name, why in problems[:20]:
                print(f"  {name}: {why}", file=sys.stderr)
            if len(problems) > 20:
                print(f"  ... and {len(problems) - 20} more", file=sys.stderr)
        return 1
    print(summarize_annotations(ann))
    print(copies_report(ann))  # a report: copies across splits do not change the exit code
    if ann.rejected:
        print(f"  {len(ann.rejected)} invalid record(s):")
        for name, why in ann.rejected[:50]:
            print(f"    {name}: {why}")
        if len(ann.rejected) > 50:
            print(f"    ... and {len(ann.rejected) - 50} more")
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the sub-command parsed by :func:`add_arguments`; returns the exit code."""
    from ..data.dense import convert_dense
    from ..data.inputs import convert_poses
    from ..data.kinetics import convert_kinetics_folder
    from ..data.ntu import convert_ntu_folder
    from ..data.poses.frames import parse_img_size
    from ..data.ucla import convert_ucla_folder
    from ..data.validate import check_output_path

    fmt = args.convert_format
    try:
        if fmt == "check":
            return _check(args.ann, args.layout)
        if getattr(args, "out", None):
            check_output_path(args.out, "OUT")  # before reading a whole folder
        if fmt == "poses":
            report = convert_poses(
                args.inputs, args.out, args.pose_format, parse_img_size(args.img_size), args.max_persons, args.label, args.split,
                args.with_score,
            )
        elif fmt == "ntu":
            report = convert_ntu_folder(
                args.src, args.out, dataset=args.dataset, workers=args.workers, max_bodies=args.max_bodies
            )
        elif fmt == "kinetics":
            report = convert_kinetics_folder(
                args.src,
                args.out,
                label_file=args.label_file,
                split_name=args.split,
                max_persons=args.max_persons,
                workers=args.workers,
            )
        elif fmt == "ucla":
            report = convert_ucla_folder(args.src, args.out, val_list=args.val_list, workers=args.workers)
        elif fmt == "dense":
            report = convert_dense(
                args.data, args.labels, args.out, layout=args.layout, split_name=args.split, dataset=args.dataset
            )
        else:
            raise ValueError(f"unknown conversion {fmt!r}")
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as e:  # bad arguments, unreadable label file, ...: one clear line
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1
