"""``aagcn-lab fuse``: fuse per-stream score files, with a per-stream table and an optional weight search.

::

    aagcn-lab fuse j=runs/j/scores.npz b=runs/b/scores.npz [--weights j=2,b=2,jm=1,bm=1] [--json]
    aagcn-lab fuse j.npz b.npz --tune j_val.npz b_val.npz --method simplex --out fused.npz
    aagcn-lab fuse j=j_result.pkl b=b_result.pkl --ann-file ntu60_3danno.pkl --split xsub_val   # pyskl results
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``aagcn-lab fuse``."""
    p.add_argument("scores", nargs="+", help="score files ([STREAM=]path.npz, or pyskl result .pkl with --ann-file/--split)")
    p.add_argument("--weights", default=None, help="e.g. j=2,b=2,jm=1,bm=1 (default: pyskl's)")
    p.add_argument("--tune", nargs="+", default=None, help="score files of a disjoint tuning split for a weight search")
    p.add_argument("--method", default="simplex", choices=("simplex", "grid"))
    p.add_argument("--ann-file", default=None, help="annotation file (to align pyskl result pickles)")
    p.add_argument("--split", default=None, help="split of the pyskl result pickles")
    p.add_argument("--tune-split", default=None, help="split of pyskl tuning result pickles")
    p.add_argument("--out", default=None, help="write the fused scores here (.npz)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _load_named(paths: Sequence[str], ann_file: str | None, split: str | None) -> dict:
    """``[STREAM=]path`` items -> ``{stream: Scores}`` (the stream read from the file when not named)."""
    from ..fusion import FusionError, read_score_file, stream_name
    from ..model.checkpoint import refuse_onnx

    out: dict = {}
    for item in paths:
        name, _, path = item.rpartition("=") if "=" in item else ("", "", item)
        refuse_onnx(path, "a score file", "`aagcn-lab test CHECKPOINT --out scores.npz` writes a stream's scores")
        s = read_score_file(path, ann_file, split)
        name = name or stream_name(s, path)
        if name in out:
            raise FusionError(f"two score files for stream {name!r}; name them explicitly, e.g. j={path}")
        out[name] = s
    return out


def run(args: argparse.Namespace) -> int:
    """Fuse; print the report (table or JSON) (0), or one line on bad input (2)."""
    from ..data.validate import check_output_path
    from ..fusion import FusionError, fuse, fusion_report, parse_weights, search_weights
    from ..io import CorruptFileError
    from ..scores import save_scores

    try:
        if args.out:
            check_output_path(args.out)  # before the work: a bad --out must not cost the fusion
        scores = _load_named(args.scores, args.ann_file, args.split)
        weights = None
        if args.weights:
            weights = parse_weights(args.weights)
        tuned, tuned_on, note = None, None, []
        if args.tune:
            tune = _load_named(args.tune, args.ann_file, args.tune_split)
            tuned, top1 = search_weights(tune, args.method, evaluate_on=scores)
            tuned_on = ", ".join(sorted({str(s.meta.get("split", "?")) for s in tune.values()}))
            note.append(f"weight search ({args.method}) on {tuned_on}: top-1 {100 * top1:.2f} with {tuned}")
        report = fusion_report(scores, weights, tuned, tuned_on)
        report.notes += note
        if args.out:
            save_scores(args.out, fuse(scores, weights))
    except (FusionError, CorruptFileError, OSError, KeyError, ValueError) as e:
        print(f"aagcn-lab fuse: {e.args[0] if isinstance(e, KeyError) and e.args else e}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.table())
    return 0
