"""The ``aagcn-lab`` command line: one module per command in this package.

::

    aagcn-lab lab                        # the main job: every notebook on the built-in dataset
    aagcn-lab train --preset builtin_j   # train one stream (any option: --lr 0.05 --model.base_channels 32)
    aagcn-lab train --preset aagcn_pyskl_ntu60_xsub_3dkp_j --nproc 8     # 8 GPUs through torchrun
    aagcn-lab train ... --resume auto    # continue from the run folder's latest.pt
    aagcn-lab streams --preset builtin   # the four streams j, b, jm, bm, then their fusion
    aagcn-lab test runs/x/best.pt        # 10-clip test, scores file
    aagcn-lab fuse a.npz b.npz ...       # fuse per-stream scores (weights, per-stream table)
    aagcn-lab predict --checkpoint j.pt --input S001C001P001R001A001.skeleton
    aagcn-lab predict -c coco_j.pt -i openpose_frames/ --img-size 1280x720 --json   # pose-estimator output
    aagcn-lab export j.pt --format onnx -o j.onnx    # ONNX (or .pt2) + a JSON sidecar
    aagcn-lab convert ntu|kinetics|dense|check|poses ...
    aagcn-lab info CHECKPOINT            # what a checkpoint holds
    aagcn-lab presets                    # list the training presets
    aagcn-lab bench model|pipeline|train # speed figures
    aagcn-lab notebooks my-lab           # copy the notebooks into my-lab (then: jupyter lab)
    aagcn-lab grade submissions/* --out grades.csv   # the students' notebooks, headless, every check
    aagcn-lab course build course        # student and instructor notebooks, grading.json (grade --grading)

Every command is a module ``aagcn_lab/cli/<command>.py`` with ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status), listed in :data:`COMMANDS`. A command module imports the
library inside ``run``, and only the chosen command's module is imported, so ``aagcn-lab --help``
loads no model, data or training code. Library modules never import this package.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["COMMANDS", "build_parser", "main", "parse_overrides", "int_list", "positive_int"]

# command -> one line of help (the module is aagcn_lab.cli.<command>)
COMMANDS: dict[str, str] = {
    "train": "train one stream (options: any TrainConfig field, e.g. --lr 0.05)",
    "test": "10-clip test of a checkpoint on an annotation split",
    "convert": "convert raw NTU / Kinetics JSON / dense arrays / pose-estimator outputs; check a file",
    "info": "print what a checkpoint holds",
    "presets": "list training presets",
    "streams": "train the four streams (j, b, jm, bm) of one split, then fuse",
    "fuse": "fuse per-stream score files",
    "predict": "predict the action of new skeletons",
    "export": "export a checkpoint to ONNX / torch.export (.pt2) with a JSON sidecar",
    "bench": "print speed figures",
    "lab": "run every notebook headless (the main job)",
    "notebooks": "copy the course's notebooks into a folder of your own",
    "grade": "run students' notebooks headless and grade every exercise (CSV)",
    "course": "build a course: student notebooks (reveals, solutions off), instructor notebooks, grading.json",
    "ablation": "the ablation grid: model switches, streams and fusions over several seeds",
}


def parse_overrides(tokens: Sequence[str]) -> dict[str, Any]:
    """``['--lr', '0.05', '--deterministic', '--model.base_channels=16']`` -> a dict (strings, or True)."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--") or tok == "--":
            raise SystemExit(f"aagcn-lab: unexpected argument {tok!r} (options look like --name value)")
        key = tok[2:]
        if "=" in key:
            key, value = key.split("=", 1)
        elif i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            value = tokens[i + 1]
            i += 1
        else:
            value = "true"
        out[key.replace("-", "_")] = value
        i += 1
    return out


def int_list(text: str, option: str, low: int = 0) -> list[int]:
    """``'0,1,2'`` -> ``[0, 1, 2]``; an item that is not an integer >= ``low`` is a ValueError naming ``option``."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        try:
            out.append(int(item))
        except ValueError:
            out.append(low - 1)
        if out[-1] < low:
            raise ValueError(f"{option} {text}: {item!r} is not an integer >= {low} (give e.g. {option} 0,1,2)")
    return out


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1 (argparse names the option and exits with status 2 otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def command_module(name: str) -> ModuleType:
    """The module of command ``name`` (``aagcn_lab.cli.<name>``)."""
    return importlib.import_module(f"{__name__}.{name}")


def _description(module: ModuleType, fallback: str) -> str:
    """A command's ``--help`` text: its module docstring (the summary and the examples), as plain text."""
    doc = (module.__doc__ or "").strip()
    paragraphs = [para for para in doc.split("\n\n") if para.strip() != "::"]
    return "\n\n".join(paragraphs).replace("``", "").replace(":mod:", "").replace("`", "") if doc else fallback


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``aagcn-lab``: every command's options, or only ``command``'s (``''``: none; the others stay unloaded)."""
    p = argparse.ArgumentParser(prog="aagcn-lab", description="Learn, explore and reproduce MS-AAGCN.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_)
            continue
        module = command_module(name)
        s = sub.add_parser(name, help=help_, description=_description(module, help_),
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        module.add_arguments(s)
        s.set_defaults(run=module.run, parser=s)
    return p


def _sample_error() -> type:
    """The dataset's per-sample error (evaluated only when an exception is being matched)."""
    from ..data.dataset import SampleError

    return SampleError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``aagcn-lab``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(argv):  # a command will run (--help loads nothing more than the parser)
        from ..runtime import apply_thread_policy

        apply_thread_policy()  # before the parser, which loads torch for some commands (see aagcn_lab.runtime)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else "")  # `aagcn-lab --help` imports no command
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "takes_overrides", False):  # train, streams: unknown options are TrainConfig fields
        args.overrides = parse_overrides(extra)
    elif extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from ..runtime import keep_freed_memory

    if not getattr(args, "default_malloc", False):  # bench --default-malloc measures without it
        keep_freed_memory()  # CPU speed: see aagcn_lab.runtime
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:  # e.g. `aagcn-lab presets | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except (KeyError, ValueError, OSError, _sample_error()) as e:  # every input error (InputError is a ValueError): one line
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError) and e.filename:
            msg = f"{e.filename}: {e.strerror or e}"
        print(f"aagcn-lab {args.command}: {msg}", file=sys.stderr)
        return 2
