"""A torch ``Dataset`` over an annotation file and split, feeding the trainer.

Memory: keeping 56k records as Python dicts of numpy arrays makes every DataLoader worker slowly
copy the whole dataset (touching an object writes its reference count, so copy-on-write pages
are copied). :class:`PackedSkeletons` instead stores all keypoints of a split in a few flat
numpy arrays (one keypoint block, offsets, shapes, labels, ids). Forked workers share those pages
untouched, and with ``storage='mmap'`` they live in a file that every worker maps (the only
option that also stays flat with the ``spawn`` start method).

Randomness: the clip of a training sample is drawn from a ``RandomState`` seeded by
``(seed, round, index)``, where the sampler encodes the round in the key it asks for
(``key = round * len(dataset) + index``). The clip therefore depends on nothing but the seed, the
epoch and the sample -- not on workers, batch order or process -- which is what makes an
interrupted run resume exactly.

Work kept per sample: the pipeline's deterministic part (:meth:`Pipeline.prepare
<aagcn_lab.data.pipeline.Pipeline.prepare>`: the checks, PreNormalize3D/2D and, without
augmentation, the feature of every frame) gives the same array every epoch. With ``cache_mb > 0``
the process that loads without DataLoader workers keeps it per sample, up to that many MiB, and
later epochs only draw frames: the trainer asks for it for its training and validation sets
(``TrainConfig.cache_mb``), which the CPU presets load in the training process itself, where the
pipeline's time adds to every step. Workers keep nothing (their memory stays flat; they run beside
the model anyway).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from ..graph import PERSON_SLOTS, Layout, get_layout
from .pipeline import Augment, build_pipeline
from .records import Annotations, load_annotations

__all__ = ["PackedSkeletons", "SampleError", "SkeletonDataset", "sample_rng"]


class SampleError(RuntimeError):
    """The pipeline failed on one sample; the message names it."""


def sample_rng(seed: int, round_: int, index: int, out: np.random.RandomState | None = None) -> np.random.RandomState:
    """The legacy-stream RNG for one draw of one sample (independent of workers and order); ``out``
    is reseeded and returned instead of a new one (the same stream, a sixth of the time)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(round_), int(index)]).generate_state(4)
    if out is None:
        return np.random.RandomState(state)
    out.seed(state)
    return out


class PackedSkeletons:
    """Records of one split packed into flat numpy arrays; ``self[i]`` rebuilds record ``i``.

    Arrays: ``keypoint`` ``(sum_i M_i * T_i, V, C)``, ``score`` (2D only, ``(sum, V)``), ``offset``,
    ``persons``, ``frames``, ``label``, ``frame_dir`` (fixed-width bytes), ``img_shape``.
    """

    _ARRAYS = ("keypoint", "score", "offset", "persons", "frames", "label", "frame_dir", "img_shape")

    def __init__(self, records: Sequence[dict], mmap_dir: str | os.PathLike | None = None) -> None:
        if mmap_dir is not None:
            Path(mmap_dir).parent.mkdir(parents=True, exist_ok=True)
        if not records:
            raise ValueError("no records to pack")
        v, c = records[0]["keypoint"].shape[2:]
        dtype = np.result_type(*{r["keypoint"].dtype for r in records})
        sizes = np.array([r["keypoint"].shape[0] * r["keypoint"].shape[1] for r in records], dtype=np.int64)
        arrays = {
            "offset": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "persons": np.array([r["keypoint"].shape[0] for r in records], dtype=np.int32),
            "frames": np.array([r["keypoint"].shape[1] for r in records], dtype=np.int32),
            "label": np.array([int(r["label"]) for r in records], dtype=np.int64),
            "frame_dir": np.array([r["frame_dir"].encode() for r in records]),
            "img_shape": np.array([r.get("img_shape", (0, 0)) for r in records], dtype=np.int32),
        }
        kp = np.empty((int(sizes.sum()), v, c), dtype=dtype)
        has_score = "keypoint_score" in records[0]
        score = np.empty((int(sizes.sum()), v), dtype=np.float32) if has_score else np.zeros((0, v), np.float32)
        for i, r in enumerate(records):
            a, b = arrays["offset"][i], arrays["offset"][i + 1]
            kp[a:b] = r["keypoint"].reshape(-1, v, c)
            if has_score:
                score[a:b] = r["keypoint_score"].reshape(-1, v)
        arrays["keypoint"], arrays["score"] = kp, score
        self.has_score = has_score
        self.mmap_dir: Path | None = None
        if mmap_dir is not None:
            self.mmap_dir = Path(mmap_dir)
            if not (self.mmap_dir / "complete").exists():  # write once, into place atomically
                tmp = Path(tempfile.mkdtemp(dir=self.mmap_dir.parent, prefix=f".{self.mmap_dir.name}."))
                for name in self._ARRAYS:
                    np.save(tmp / f"{name}.npy", arrays[name])
                (tmp / "complete").write_text(str(has_score))
                try:
                    os.replace(tmp, self.mmap_dir)
                except OSError:  # another process got there first
                    shutil.rmtree(tmp, ignore_errors=True)
            arrays = self._open(self.mmap_dir)
        self.__dict__.update(arrays)

    @staticmethod
    def _open(folder: Path) -> dict:
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in PackedSkeletons._ARRAYS}

    def __getstate__(self) -> dict:
        if self.mmap_dir is None:
            return self.__dict__
        return {"mmap_dir": self.mmap_dir, "has_score": self.has_score}  # workers re-map the files

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.mmap_dir is not None and "keypoint" not in state:
            self.__dict__.update(self._open(self.mmap_dir))

    def __len__(self) -> int:
        return len(self.label)

    def nbytes(self) -> int:
        """Bytes held by the packed arrays."""
        return sum(int(getattr(self, name).nbytes) for name in self._ARRAYS)

    def __getitem__(self, i: int) -> dict:
        a, b = int(self.offset[i]), int(self.offset[i + 1])
        m, t = int(self.persons[i]), int(self.frames[i])
        v, c = self.keypoint.shape[1:]
        rec = {
            "frame_dir": self.frame_dir[i].decode(),
            "label": int(self.label[i]),
            "total_frames": t,
            "keypoint": np.asarray(self.keypoint[a:b]).reshape(m, t, v, c),
        }
        if self.has_score:
            rec["keypoint_score"] = np.asarray(self.score[a:b]).reshape(m, t, v)
            rec["img_shape"] = tuple(int(s) for s in self.img_shape[i])
        return rec


class SkeletonDataset(Dataset):
    """Clips of one split of an annotation file, ready for the model.

    ``source`` is an annotation file path, an :class:`Annotations`, or any sequence of records
    (for example the memory-mapped authors' arrays of :mod:`aagcn_lab.data.dense`). ``split`` is
    the split name in the file (``'xsub_train'``...); ``mode`` the pipeline mode (``'train'``,
    ``'val'``, ``'test'``). Items are ``(keypoint (num_clips, M, T, V, C) float32, label, index)``.
    ``cache_mb``: MiB of the pipeline's per-sample work to keep for later epochs (module docstring).
    """

    def __init__(
        self,
        source: str | os.PathLike | Annotations | Sequence[dict],
        split: str | None = None,
        feat: str = "j",
        mode: str = "train",
        clip_len: int = 100,
        num_clips: int | None = None,
        layout: str | Layout | None = None,
        augment: Augment | None = None,
        seed: int = 0,
        storage: str = "memory",
        cache_dir: str | os.PathLike | None = None,
        num_person: int = PERSON_SLOTS,
        protocol: str = "pyskl",
        cache_mb: float = 0.0,
    ) -> None:
        if storage not in ("memory", "mmap"):
            raise ValueError("storage must be 'memory' or 'mmap'")
        ann = load_annotations(source, layout=layout) if isinstance(source, (str, os.PathLike)) else source
        self.source_name = getattr(ann, "source", type(ann).__name__)
        if isinstance(ann, Annotations):
            records = ann.select(split)
            self.label_names = ann.label_names
            layout = layout or ann.layout_name()
            if not records:
                raise ValueError(f"{ann.source}: split {split!r} has no records")
            if storage == "mmap":
                src = Path(str(ann.source))
                stamp = f"{src.resolve()}:{src.stat().st_mtime_ns}:{src.stat().st_size}" if src.is_file() else str(id(ann))
                key = hashlib.sha1(f"{stamp}:{split}".encode()).hexdigest()[:16]
                base = Path(cache_dir or os.environ.get("AAGCN_LAB_CACHE", Path.home() / ".cache" / "aagcn_lab"))
                self.records: Sequence[dict] = PackedSkeletons(records, base / f"packed-{key}")
            else:
                self.records = PackedSkeletons(records)
        else:  # a lazy sequence of records (already memory-mapped or small)
            if split is not None and hasattr(ann, "select"):
                ann = ann.select(split)
            self.records = ann
            self.label_names = getattr(ann, "label_names", None)
            if layout is None:
                raise ValueError("layout= is required for a plain sequence of records")
        self.layout = get_layout(layout)
        self.split, self.feat, self.mode, self.seed = split, feat, mode, int(seed)
        self.pipeline = build_pipeline(feat, mode, self.layout, clip_len, num_clips, num_person, augment, protocol)
        self.cache_mb = float(cache_mb)
        self._prepared: dict[int, np.ndarray] = {}  # index -> pipeline.prepare(record), this process's
        self._cache_left = int(self.cache_mb * 2**20)  # bytes this process may still keep
        self._local = threading.local()  # one reseeded RandomState per thread (see sample_rng)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_prepared"], state["_cache_left"] = {}, int(self.cache_mb * 2**20)  # a worker or a copy keeps its own
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> np.ndarray:
        """Labels in dataset order."""
        if isinstance(self.records, PackedSkeletons):
            return np.asarray(self.records.label)
        if hasattr(self.records, "labels"):
            return np.asarray(self.records.labels)
        return np.array([int(r["label"]) for r in self.records])

    @property
    def frame_dirs(self) -> list[str]:
        """Sample ids in dataset order."""
        if isinstance(self.records, PackedSkeletons):
            return [s.decode() for s in self.records.frame_dir]
        if hasattr(self.records, "frame_dirs"):
            return list(self.records.frame_dirs)
        return [r["frame_dir"] for r in self.records]

    @property
    def num_classes(self) -> int:
        """Number of classes (class names if known, else max label + 1)."""
        return len(self.label_names) if self.label_names else int(self.labels.max()) + 1

    def get(self, key: int) -> dict:
        """The pipeline output for ``key = round * len(self) + index`` (see the module docstring)."""
        round_, index = divmod(int(key), len(self))
        rec = self.records[index]
        rng = None
        if self.mode == "train":
            if not hasattr(self._local, "rng"):
                self._local.rng = np.random.RandomState()
            rng = sample_rng(self.seed, round_, index, self._local.rng)
        try:
            return self.pipeline.draw(self._prepare(index, rec), rec, rng)
        except Exception as e:
            raise SampleError(f"sample {rec.get('frame_dir', index)} of {self.source_name}: {type(e).__name__}: {e}") from e

    def _prepare(self, index: int, rec: dict) -> np.ndarray:
        """``pipeline.prepare(rec)``, kept for the next epoch while ``cache_mb`` lasts (not in a DataLoader worker)."""
        out = self._prepared.get(index)
        if out is not None:
            return out
        out = self.pipeline.prepare(rec)
        if out.nbytes <= self._cache_left and self.pipeline.prepares_work and get_worker_info() is None:  # workers keep nothing
            out.setflags(write=False)  # draw only reads it; a write would change later epochs
            self._prepared[index] = out
            self._cache_left -= out.nbytes
        return out

    def __getitem__(self, key: int) -> tuple[torch.Tensor, int, int]:
        out = self.get(key)
        return torch.from_numpy(out["keypoint"]), out["label"], int(key) % len(self)
