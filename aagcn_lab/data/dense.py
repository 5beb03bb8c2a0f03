"""The authors' dense arrays (2s-AGCN ``*_data_joint.npy`` + label pickle) as annotation records.

2s-AGCN's ``ntu_gendata.py`` / ``kinetics_gendata.py`` write one array ``(N, C, T, V, M)``
float32 (NTU: ``(N, 3, 300, 25, 2)``, 29 GB for NTU-120 xsub train; Kinetics: ``(N, 3, 300, 18,
2)`` with channels x, y, score) and a pickle ``(sample_names, labels)``. :class:`DenseSkeletons`
maps the array with ``np.load(mmap_mode='r')`` and builds each record only when it is asked
for, so the array never has to fit in memory; :func:`convert_dense` streams the records into an
annotation file one by one.

A record is ``array[i]`` transposed to ``(M, T, V, C)``, without the persons that are zero in
every frame and without the trailing all-zero frames. Note that 2s-AGCN's NTU arrays are already
pre-normalised (centred, rotated) and loop-padded to 300 frames, so their records keep
``T = 300``. For 2D layouts (``openpose``, ``coco``) channel 2 becomes ``keypoint_score``; the
Kinetics arrays hold ``x - 0.5`` and ``0.5 - y`` (``kinetics_gendata.py``), which
``centered_2d=True`` undoes so that the record matches :func:`~aagcn_lab.data.kinetics.read_kinetics_json`
(``x, y`` in ``[0, 1]``, ``img_shape = (1, 1)``).
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..graph import get_layout
from ..io import CorruptFileError, atomic_write, safe_npy_load, safe_pickle_load
from .classes import class_names
from .records import infer_layout_name
from .report import ConversionReport
from .validate import InputError, person_frame_problems, record_problems, to_storage, typical_body_size

__all__ = ["DenseFileError", "DenseSkeletons", "read_label_pickle", "label_pickle_beside", "convert_dense", "default_split_name"]

class DenseFileError(CorruptFileError):
    """A dense array or its label pickle is not what 2s-AGCN writes; the message names the file."""


def _strip_extension(name: str) -> str:
    for ext in (".skeleton", ".json", ".npy", ".mp4", ".avi"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def read_label_pickle(path: str | os.PathLike) -> tuple[list[str], list[int]]:
    """Load a 2s-AGCN label pickle ``(sample_names, labels)`` safely and check it."""
    path = Path(path)
    obj = safe_pickle_load(path)
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        kind = (
            f"a {type(obj).__name__} of length {len(obj)}"
            if isinstance(obj, (tuple, list))
            else f"a {type(obj).__name__}"
        )
        raise DenseFileError(f"{path}: not a label pickle: expected the pair (sample_names, labels), found {kind}")
    names, labels = obj
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if not isinstance(names, (list, tuple)) or not isinstance(labels, (list, tuple)):
        raise DenseFileError(
            f"{path}: sample_names and labels must be lists, found {type(names).__name__}, {type(labels).__name__}"
        )
    if len(names) != len(labels):
        raise DenseFileError(f"{path}: {len(names)} sample names but {len(labels)} labels")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name:
            raise DenseFileError(f"{path}: sample name #{i} is {name!r}, not a non-empty string")
    for i, label in enumerate(labels):
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or label < 0:
            raise DenseFileError(f"{path}: label #{i} ({names[i]}) is {label!r}, not an integer >= 0")
    return [str(n) for n in names], [int(v) for v in labels]


def default_split_name(data_path: str | os.PathLike) -> str:
    """``.../xsub/val_data_joint.npy`` -> ``'xsub_val'``; ``train_data_joint.npy`` -> ``'train'``; else ``'all'``."""
    path = Path(data_path)
    prefix = path.stem.split("_data")[0] if "_data" in path.stem else ""
    if prefix not in ("train", "val", "test"):
        return "all"
    bench = path.parent.name.lower()
    return f"{bench}_{prefix}" if bench in ("xsub", "xview", "xset") else prefix


def label_pickle_beside(data_path: str | os.PathLike) -> Path:
    """The label pickle 2s-AGCN writes beside a data array: ``val_data_joint.npy`` -> ``val_label.pkl``."""
    path = Path(data_path)
    prefix = path.stem.split("_data")[0] if "_data" in path.stem else path.stem
    label = path.with_name(f"{prefix}_label.pkl")
    if not label.is_file():
        raise DenseFileError(f"{path}: a dense (N, C, T, V, M) array, but no label pickle {label.name} beside it (2s-AGCN writes one)")
    return label


class DenseSkeletons(Sequence):
    """A memory-mapped ``(N, C, T, V, M)`` array + labels, as a sequence of annotation records.

    ``frame_dirs`` and ``labels`` come from the label pickle and cost nothing; ``self[i]`` reads
    sample ``i`` from disk and builds its record.
    """

    def __init__(
        self,
        data_path: str | os.PathLike,
        label_path: str | os.PathLike,
        layout: str | None = None,
        centered_2d: bool = True,
    ) -> None:
        self.data_path, self.label_path = Path(data_path), Path(label_path)
        names, self.labels = read_label_pickle(self.label_path)
        self.frame_dirs = [_strip_extension(n) for n in names]
        self.data = _open_npy(self.data_path)
        n, c, _, v, _ = self.data.shape
        if n != len(names):
            raise DenseFileError(
                f"{self.data_path}: holds {n} samples but {self.label_path} names {len(names)}; they must match one to one"
            )
        if layout is None:
            layout = infer_layout_name(v, 3 if c == 3 else 2)
            if layout is None:
                raise DenseFileError(f"{self.data_path}: {v} joints match no built-in layout; pass layout=...")
        elif get_layout(layout).num_joints != v:
            raise DenseFileError(
                f"{self.data_path}: has V = {v} joints, but layout {layout!r} has {get_layout(layout).num_joints}"
            )
        self.layout = layout
        self.is_2d = c == 2 or get_layout(layout).dim != 3
        self.centered_2d = centered_2d

    def __len__(self) -> int:
        return len(self.frame_dirs)

    def __getitem__(self, index: int | slice) -> dict | list[dict]:  # int -> record, slice -> list of records
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"sample index {index} out of range for {n} samples")
        return self.record(index % n)

    def record(self, i: int) -> dict:
        """Build the annotation record of sample ``i`` (reads only that sample)."""
        where = f"{self.data_path}: sample {i} ({self.frame_dirs[i]})"
        raw = np.asarray(self.data[i], dtype=np.float64).transpose(3, 1, 2, 0)  # (C, T, V, M) -> (M, T, V, C)
        try:  # a value the cast makes inf is named as such
            to_storage(np.where(np.isfinite(raw), raw, 0), np.float32, where)
        except InputError as e:
            raise DenseFileError(str(e)) from None
        self._refuse_bad_person_frames(raw, where)
        x = raw.astype(np.float32)
        x = x[np.abs(x).sum(axis=(1, 2, 3)) > 0]  # persons that appear at all
        if len(x) == 0:
            raise DenseFileError(
                f"{self.data_path}: sample {i} ({self.frame_dirs[i]}) is all zeros: no person in any frame"
            )
        last = int(np.flatnonzero(np.abs(x).sum(axis=(0, 2, 3)) > 0)[-1]) + 1
        x = np.ascontiguousarray(x[:, :last])
        record = {"frame_dir": self.frame_dirs[i], "label": self.labels[i], "total_frames": last}
        if not self.is_2d:
            record["keypoint"] = x
            return record
        xy = x[..., :2].copy()
        score = x[..., 2].copy() if x.shape[-1] == 3 else (np.abs(xy).sum(-1) > 0).astype(np.float32)
        if self.centered_2d:  # undo kinetics_gendata: x - 0.5, -(y - 0.5), zero where score == 0
            xy[..., 0] += 0.5
            xy[..., 1] = 0.5 - xy[..., 1]
            xy[score == 0] = 0
        record.update(keypoint=xy, keypoint_score=score, img_shape=(1, 1), original_shape=(1, 1))
        return record

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            yield self.record(i)

    def _refuse_bad_person_frames(self, x: np.ndarray, where: str) -> None:
        """A sample with a NaN or garbled person-frame is refused, naming the frame and person (slots as in the file).

        The rules are the validation layer's (:func:`~.validate.person_frame_problems`); 2D values are
        checked as the record will hold them (fractions of the frame once ``centered_2d`` is undone).
        """
        bad = person_frame_problems(x)  # NaN/inf or beyond the unit limit, in any channel
        if not self.is_2d and not bad:  # 3D: a joint far from its body, measured by the sample's typical body size
            bad = person_frame_problems(x, body_size=typical_body_size(x))
        if self.is_2d and not bad:
            xy = x[..., :2].copy()
            if self.centered_2d:
                xy[..., 0] += 0.5
                xy[..., 1] = 0.5 - xy[..., 1]
                if x.shape[-1] == 3:
                    xy[x[..., 2] == 0] = 0  # undetected joints are zeroed in the record
            bad = person_frame_problems(xy, (1, 1))
        if bad:
            (m, t), why = min(bad.items(), key=lambda item: (item[0][1], item[0][0]))
            more = f" (and {len(bad) - 1} more person-frame(s))" if len(bad) > 1 else ""
            raise DenseFileError(f"{where}: frame {t}, person {m}: {why}{more}")


def _open_npy(path: Path) -> np.ndarray:
    try:
        data = safe_npy_load(path, mmap_mode="r")
    except CorruptFileError as e:
        raise DenseFileError(str(e)) from None
    if not isinstance(data, np.ndarray):
        raise DenseFileError(f"{path}: holds a {type(data).__name__}, not a single array")
    if data.ndim != 5:
        raise DenseFileError(f"{path}: expected a 5-D array (N, C, T, V, M), got shape {data.shape}")
    if data.dtype.kind not in "fiu":
        raise DenseFileError(f"{path}: expected a numeric array, got dtype {data.dtype}")
    if data.shape[1] not in (2, 3):
        raise DenseFileError(
            f"{path}: shape {data.shape} has C = {data.shape[1]} channels; expected 3 (x, y, z or score) or 2"
        )
    return data


class _NothingConverted(Exception):
    """Raised inside the streaming writer so that no empty file is left behind."""


def _stream_annotations(
    f: BinaryIO, records: Iterator[dict], split_name: str, label_names: Sequence[str] | None, layout: str
) -> list[str]:
    """Write ``dict(annotations=[...], split=..., label_names=..., layout=...)`` as a pickle, record by record.

    The output is one ordinary protocol-3 pickle. Each piece is pickled on its own, without a memo
    (``fast`` mode: records hold no shared or recursive references), and spliced in.
    """

    def put(obj: object) -> None:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=3)
        pickler.fast = True  # no memo: pieces cannot clash over memo indices
        pickler.dump(obj)
        f.write(buf.getbuffer()[2:-1])  # drop PROTO 3 and STOP

    f.write(pickle.PROTO + b"\x03" + pickle.EMPTY_DICT + pickle.MARK)
    put("annotations")
    f.write(pickle.EMPTY_LIST)
    names = []
    for rec in records:
        put(rec)
        f.write(pickle.APPEND)
        names.append(rec["frame_dir"])
    if not names:
        raise _NothingConverted
    put("split")
    put({split_name: names})
    if label_names is not None:
        put("label_names")
        put(list(label_names))
    put("layout")
    put(layout)
    f.write(pickle.SETITEMS + pickle.STOP)
    return names


def convert_dense(
    data_path: str | os.PathLike,
    label_path: str | os.PathLike,
    out_path: str | os.PathLike,
    layout: str | None = None,
    split_name: str | None = None,
    dataset: str | None = None,
    centered_2d: bool = True,
) -> ConversionReport:
    """Stream a dense array + label pickle into an annotation file with one split.

    ``split_name`` defaults to :func:`default_split_name`; ``dataset`` (class names) defaults to
    ``kinetics400`` for ``openpose`` and to ``ntu60`` / ``ntu120`` by the largest label for NTU.
    Samples that are all zeros, hold NaN/inf or have a label outside the classes are reported and
    left out; the rest converts.
    """
    dense = DenseSkeletons(data_path, label_path, layout=layout, centered_2d=centered_2d)
    split_name = split_name or default_split_name(data_path)
    if dataset is None and dense.layout == "openpose":
        dataset = "kinetics400"
    elif dataset is None and dense.layout.startswith("nturgb+d"):
        dataset = "ntu60" if max(dense.labels, default=0) < 60 else "ntu120"
    label_names = class_names(dataset) if dataset is not None else None
    report = ConversionReport(kind=f"dense array ({dense.layout})", source=str(data_path), total=len(dense))

    def good_records() -> Iterator[dict]:
        seen = set()
        for i, name in enumerate(dense.frame_dirs):
            if name in seen:
                report.failed.append((name, f"sample {i}: duplicate sample name in {label_path}"))
                continue
            if label_names is not None and dense.labels[i] >= len(label_names):
                report.failed.append(
                    (name, f"label {dense.labels[i]} is outside 0..{len(label_names) - 1} ({dataset})")
                )
                continue
            try:
                record = dense.record(i)
            except DenseFileError as e:
                report.failed.append((name, str(e)))
                continue
            num_classes = len(label_names) if label_names is not None else None
            problems = record_problems(record, get_layout(dense.layout).num_joints, num_classes)
            if problems:  # never write what `convert check` would reject
                report.failed.append((name, f"{data_path}: sample {i}: " + "; ".join(problems)))
                continue
            seen.add(name)
            yield record

    names: list[str] = []

    def write(f: BinaryIO) -> None:
        names.extend(_stream_annotations(f, good_records(), split_name, label_names, dense.layout))

    try:
        atomic_write(out_path, write)
    except _NothingConverted:
        return report
    report.converted = len(names)
    report.split_counts = {split_name: len(names)}
    report.output = str(out_path)
    return report
