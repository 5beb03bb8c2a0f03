"""People across frames: link per-frame detections into tracks and keep the main persons.

Pose estimators list the people of each frame in no particular order (OpenPose, COCO results,
MediaPipe's multi-pose output), while the model wants person slots that follow one body through
the clip. :func:`link_tracks` links detections frame by frame: each detection is matched to the
track whose last pose is most similar, greedily from the best pair down, where similarity is the
mean of the IoU of the two keypoint boxes and an OKS-like keypoint closeness; a track that was not
seen for up to ``max_gap`` frames can still be matched (detectors miss people for a frame or two).
When the file carries identities (PoseTrack / AlphaPose ``track_id``, OpenPose ``person_id`` with
tracking on) they are used instead (:func:`tracks_from_ids`).

:func:`select_tracks` then keeps the main persons as pyskl does for 2D data: ranked by their total
keypoint score (pyskl's ``DecompressPose`` ranks the persons of each frame by summed keypoint score
and ``FormatGCNInput`` keeps the first two; ranking whole tracks keeps each slot on one body).
What was dropped is returned, with each track's frame count and total score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..graph import PERSON_SLOTS

__all__ = ["TrackResult", "KeptCache", "TrackMemo", "keypoint_boxes", "box_iou", "link_tracks", "tracks_from_ids", "select_tracks", "track_people"]

SCORE_THRESHOLD = 0.05  # joints at or below this score do not count for boxes and closeness


@dataclass
class TrackResult:
    """Person slots built from tracks: ``keypoint (M, T, V, D)``, ``keypoint_score (M, T, V)``."""

    keypoint: np.ndarray
    keypoint_score: np.ndarray
    kept: list[int]  # track ids in slot order (highest total score first)
    dropped: list[dict] = field(default_factory=list)  # {'track', 'frames', 'score'} of each dropped track
    assignment: list[np.ndarray] = field(default_factory=list)  # per frame: the track id of each detection
    num_tracks: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. a duplicate identity in one frame


def _visible(coords: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    return (scores > thr) & np.isfinite(coords[..., :2]).all(-1)


def keypoint_boxes(coords: np.ndarray, scores: np.ndarray, thr: float = SCORE_THRESHOLD) -> np.ndarray:
    """``(P, 4)`` boxes ``x1, y1, x2, y2`` around each person's visible joints (NaN when none)."""
    coords = np.asarray(coords, np.float64)
    vis = _visible(coords, np.asarray(scores), thr)
    boxes = np.full((coords.shape[0], 4), np.nan)
    for p in range(coords.shape[0]):
        pts = coords[p, vis[p], :2]
        if len(pts):
            boxes[p] = [pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()]
    return boxes


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(A, B)`` intersection over union of boxes ``x1, y1, x2, y2`` (0 where a box is NaN or empty)."""
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    union = area(a) + area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return np.nan_to_num(iou, nan=0.0)


def _closeness(det: np.ndarray, det_vis: np.ndarray, ref: np.ndarray, ref_vis: np.ndarray, ref_box: np.ndarray) -> float:
    """OKS-like similarity in [0, 1]: mean of exp(-d^2 / (2 (0.25 s)^2)) over joints visible in both, s = box size."""
    both = det_vis & ref_vis
    if not both.any() or not np.isfinite(ref_box).all():
        return 0.0
    size = max(np.sqrt((ref_box[2] - ref_box[0]) * (ref_box[3] - ref_box[1])), 1e-6)
    d2 = ((det[both, :2] - ref[both, :2]) ** 2).sum(-1)
    return float(np.exp(-d2 / (2 * (0.25 * size) ** 2)).mean())


class KeptCache:
    """Values by key across the overlapping windows of a stream: a window reads what the previous one used
    (:attr:`held`, :meth:`get`), marks what it uses itself (:meth:`use`), and :meth:`roll` then forgets the
    rest (frames that have left the window)."""

    def __init__(self) -> None:
        self.held: dict = {}
        self._used: dict = {}

    def get(self, key: object) -> object | None:
        """The value kept for ``key``, or ``None``."""
        return self.held.get(key)

    def use(self, key: object, value: object) -> object:
        """Mark ``value`` as used by this window (kept by the next :meth:`roll`); returns it."""
        self._used[key] = value
        return value

    def roll(self) -> None:
        """Keep only what was used since the last roll."""
        self.held, self._used = self._used, {}


class TrackMemo:
    """What :func:`link_tracks` computes for each detection (visible joints, box) and for each pair of a
    detection and a track's last pose (the similarity), remembered by the detections' values so that the
    overlapping windows of a stream compute each once (:class:`aagcn_lab.streaming.StreamingPredictor`).

    Exact: each is a function of the values of one or two detections alone -- the visibility and the
    box row by row, the IoU element by element (IEEE operations, the same bits in any batch), the
    closeness over the pair's joints -- so a remembered value is the value computed afresh, and each
    window is still linked from its own first frame. Keeps only what the last call used.
    """

    def __init__(self) -> None:
        self.detections = KeptCache()  # key -> (visible (V,), box (4,))
        self.pairs = KeptCache()  # (key, key) -> similarity

    @staticmethod
    def key(c: np.ndarray, s: np.ndarray, thr: float) -> tuple:
        """A detection's identity: its float64 coordinates and scores bit for bit, and the score threshold."""
        return c.shape, c.tobytes(), s.tobytes(), thr

    def frame(self, c: np.ndarray, s: np.ndarray, thr: float) -> tuple[list, np.ndarray, np.ndarray]:
        """Keys, visible joints ``(P, V)`` and boxes ``(P, 4)`` of one frame's detections."""
        keys = [self.key(c[i], s[i], thr) for i in range(len(c))]
        got = [self.detections.get(k) for k in keys]
        if any(g is None for g in got):
            vis, boxes = _visible(c, s, thr), keypoint_boxes(c, s, thr)
            got = [(vis[i], boxes[i]) for i in range(len(c))]
        for k, g in zip(keys, got):
            self.detections.use(k, g)
        return keys, np.stack([v for v, _ in got]), np.stack([b for _, b in got])

    def remember(self, pair: tuple, similarity: float) -> None:
        """Keep the similarity of a pair of detection keys for the next call."""
        self.pairs.use(pair, similarity)

    def keep_used(self) -> None:
        """Forget what the last call did not use (frames that have left the window)."""
        self.detections.roll()
        self.pairs.roll()


def link_tracks(
    coords: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    max_gap: int = 10,
    min_similarity: float = 0.2,
    thr: float = SCORE_THRESHOLD,
    memo: TrackMemo | None = None,
) -> list[np.ndarray]:
    """Track ids ``(P_t,)`` for the detections of every frame (``coords[t]``: ``(P_t, V, D)``).

    Greedy matching, best pair first, of each frame's detections to the tracks seen in the last
    ``max_gap + 1`` frames; a pair needs a similarity of at least ``min_similarity`` (IoU of the
    keypoint boxes averaged with keypoint closeness); an unmatched detection starts a new track.
    ``memo``: a :class:`TrackMemo` kept across calls on overlapping frames (a stream): the same ids.
    """
    last: dict[int, tuple] = {}  # id -> (frame, coords, visible, box, memo key)
    out: list[np.ndarray] = []
    next_id = 0
    for t, (c, s) in enumerate(zip(coords, scores)):
        c, s = np.asarray(c, np.float64), np.asarray(s, np.float64)
        ids = np.full(len(c), -1, dtype=np.int64)
        if len(c):
            if memo is None:
                keys, vis, boxes = [None] * len(c), _visible(c, s, thr), keypoint_boxes(c, s, thr)
            else:
                keys, vis, boxes = memo.frame(c, s, thr)
            alive = [k for k, (f, *_) in last.items() if t - f <= max_gap + 1]
            if alive:
                pairs = [[(keys[i], last[k][4]) for k in alive] for i in range(len(c))]
                known = {} if memo is None else {p: memo.pairs.held[p] for row in pairs for p in row if p in memo.pairs.held}
                iou = None if len(known) == len(c) * len(alive) else box_iou(boxes, np.stack([last[k][3] for k in alive]))
                sim = np.zeros((len(c), len(alive)))
                for i in range(len(c)):
                    for j, k in enumerate(alive):
                        if pairs[i][j] in known:
                            sim[i, j] = known[pairs[i][j]]
                        else:
                            _, rc, rv, rb, _ = last[k]
                            sim[i, j] = 0.5 * iou[i, j] + 0.5 * _closeness(c[i], vis[i], rc, rv, rb)
                        if memo is not None:
                            memo.remember(pairs[i][j], sim[i, j])
                used_det, used_track = set(), set()
                for flat in np.argsort(-sim, axis=None, kind="stable"):
                    i, j = divmod(int(flat), len(alive))
                    if sim[i, j] < min_similarity:
                        break
                    if i in used_det or j in used_track:
                        continue
                    ids[i] = alive[j]
                    used_det.add(i)
                    used_track.add(j)
            for i in range(len(c)):
                if ids[i] < 0:
                    ids[i] = next_id
                    next_id += 1
                if np.isfinite(boxes[i]).all():  # a detection without visible joints does not move its track
                    last[int(ids[i])] = (t, c[i], vis[i], boxes[i], keys[i])
                elif int(ids[i]) not in last:
                    last[int(ids[i])] = (t, c[i], vis[i], boxes[i], keys[i])
        out.append(ids)
    if memo is not None:
        memo.keep_used()
    return out


def tracks_from_ids(ids: Sequence[Sequence]) -> list[np.ndarray]:
    """Per-frame track indices from identities stored in the file (any hashable ids, -1 = none)."""
    index: dict = {}
    out = []
    for frame in ids:
        row = []
        for raw in frame:
            key = raw.item() if isinstance(raw, np.generic) else raw
            if key is None or key == -1:  # no identity: a track of its own
                key = ("untracked", len(index))
            row.append(index.setdefault(key, len(index)))
        out.append(np.asarray(row, dtype=np.int64))
    return out


def select_tracks(
    coords: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    assignment: Sequence[np.ndarray],
    max_persons: int = PERSON_SLOTS,
) -> TrackResult:
    """Keep the ``max_persons`` tracks with the highest total keypoint score, as person slots."""
    t = len(coords)
    shapes = [np.asarray(c).shape[1:] for c in coords if len(c)]
    if not shapes:
        raise ValueError("no person in any frame")
    v, d = shapes[0]
    total: dict[int, float] = {}
    frames: dict[int, int] = {}
    for s, ids in zip(scores, assignment):
        for p, k in enumerate(ids):
            total[int(k)] = total.get(int(k), 0.0) + float(np.nansum(np.asarray(s)[p]))
            frames[int(k)] = frames.get(int(k), 0) + 1
    ranked = sorted(total, key=lambda k: (-total[k], k))
    kept, rest = ranked[:max_persons], ranked[max_persons:]
    slot = {k: i for i, k in enumerate(kept)}
    kp = np.zeros((max(len(kept), 1), t, v, d), np.float32)
    sc = np.zeros((max(len(kept), 1), t, v), np.float32)
    filled = np.zeros(sc.shape[:2], bool)
    repeated: list[tuple[int, int]] = []  # (frame, track id) given to a second detection of one frame
    for f, (c, s, ids) in enumerate(zip(coords, scores, assignment)):
        for p, k in enumerate(ids):
            m = slot.get(int(k))
            if m is None:
                continue
            if filled[m, f]:  # only when a file gives one identity to two people of a frame
                repeated.append((f, int(k)))
                continue
            kp[m, f] = c[p]
            sc[m, f] = s[p]
            filled[m, f] = True
    notes = [_repeated_note(repeated)] if repeated else []
    dropped = [{"track": k, "frames": frames[k], "score": round(total[k], 4)} for k in rest]
    return TrackResult(kp, sc, kept, dropped, [np.asarray(a) for a in assignment], len(ranked), notes)


def _repeated_note(repeated: list[tuple[int, int]]) -> str:
    """One note for every frame where the file gave one track id to two detections."""
    if len(repeated) == 1:
        f, k = repeated[0]
        return f"frame {f}: two detections with track id {k}; kept the first"
    frames = sorted({f for f, _ in repeated})
    shown = ", ".join(f"frame {f} (track {k})" for f, k in repeated[:5]) + (f" and {len(repeated) - 5} more" if len(repeated) > 5 else "")
    return f"{len(frames)} frame(s) give one track id to two detections: {shown}; kept the first of each"


def track_people(
    coords: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    ids: Sequence[Sequence] | None = None,
    max_persons: int = PERSON_SLOTS,
    max_gap: int = 10,
    memo: TrackMemo | None = None,
) -> TrackResult:
    """Link (or use the file's ``ids``) and keep the main persons: :func:`link_tracks` (``memo``: see
    :class:`TrackMemo`) + :func:`select_tracks`."""
    assignment = tracks_from_ids(ids) if ids is not None else link_tracks(coords, scores, max_gap=max_gap, memo=memo)
    return select_tracks(coords, scores, assignment, max_persons)
