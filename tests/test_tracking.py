"""Tracking people without identities: order swaps, gaps, pyskl-style selection by total score."""

from __future__ import annotations

import numpy as np
import pytest

from aagcn_lab.data.tracking import box_iou, keypoint_boxes, link_tracks, select_tracks, track_people, tracks_from_ids


def walker(t: int, x0: float, vx: float, seed: int, v: int = 17) -> np.ndarray:
    """``(t, v, 2)``: a body of random joints around ``x0`` moving ``vx`` pixels per frame."""
    body = np.random.default_rng(seed).uniform(0, 80, size=(v, 2)) + [x0, 200]
    return np.stack([body + [vx * f, 0] for f in range(t)])


def test_two_people_whose_list_order_swaps_stay_on_their_tracks():
    t = 20
    a, b = walker(t, 100, 6, 0), walker(t, 600, -6, 1)  # walking towards each other, never overlapping
    order = [(0, 1) if f % 3 else (1, 0) for f in range(t)]  # the list order flips every few frames
    people = [a, b]
    coords = [np.stack([people[i][f] for i in o]) for f, o in enumerate(order)]
    scores = [np.stack([np.full(17, 0.9 if i == 0 else 0.6) for i in o]) for o in order]
    ids = link_tracks(coords, scores)
    for f, o in enumerate(order):  # the same person always gets the same id
        assert [int(ids[f][o.index(i)]) for i in (0, 1)] == [int(ids[0][order[0].index(i)]) for i in (0, 1)]
    res = track_people(coords, scores, max_persons=2)
    # the record stores f32: one rounding of <= 1e3 px, u x 1e3 = 6e-5 < 1e-4 (every atol=1e-4 in this file)
    np.testing.assert_allclose(res.keypoint[0], a, atol=1e-4)  # person 0 has the higher total score
    np.testing.assert_allclose(res.keypoint[1], b, atol=1e-4)
    assert res.dropped == [] and res.num_tracks == 2


def test_a_gap_is_bridged_up_to_max_gap_frames():
    t = 12
    a, b = walker(t, 100, 4, 2), walker(t, 700, 0, 3)
    coords, scores = [], []
    for f in range(t):
        ppl = [b[f]] + ([] if 4 <= f < 7 else [a[f]])  # a is missed for three frames
        coords.append(np.stack(ppl))
        scores.append(np.ones((len(ppl), 17)))
    ids = link_tracks(coords, scores, max_gap=5)
    assert {int(i) for frame in ids for i in frame} == {0, 1}
    ids_short = link_tracks(coords, scores, max_gap=1)
    assert len({int(i) for frame in ids_short for i in frame}) == 3  # a comes back as a new track
    res = track_people(coords, scores, max_gap=5)
    slot_a = 0 if abs(res.keypoint[0, 0, 0, 0] - a[0, 0, 0]) < 1e-4 else 1
    assert res.keypoint_score[slot_a].any(-1).tolist() == [f not in (4, 5, 6) for f in range(t)]


def test_the_main_persons_are_kept_by_total_score_and_the_rest_is_reported():
    t = 6
    people = [walker(t, x, 0, s) for s, x in enumerate((50, 400, 800))]
    weights = (0.3, 0.9, 0.6)
    coords = [np.stack([p[f] for p in people]) for f in range(t)]
    scores = [np.stack([np.full(17, w) for w in weights]) for _ in range(t)]
    res = track_people(coords, scores, max_persons=2)
    np.testing.assert_allclose(res.keypoint[0], people[1], atol=1e-4)  # highest total score first
    np.testing.assert_allclose(res.keypoint[1], people[2], atol=1e-4)
    assert len(res.dropped) == 1 and res.dropped[0]["frames"] == t
    assert res.dropped[0]["score"] == pytest.approx(0.3 * 17 * t, rel=1e-4)  # <= 102 f32 terms: 1.2e-5 < 1e-4


def test_identities_from_the_file_are_used_and_a_duplicate_is_noted():
    a, b = walker(3, 0, 0, 4), walker(3, 0, 0, 5)  # overlapping: only the ids can tell them apart
    coords = [np.stack([a[0], b[0]]), np.stack([b[1], a[1]]), np.stack([a[2], b[2]])]
    scores = [np.ones((2, 17))] * 3
    res = track_people(coords, scores, ids=[["p1", "p2"], ["p2", "p1"], ["p1", "p1"]])
    np.testing.assert_allclose(res.keypoint[0, :2], a[:2])  # one f32 rounding: u = 6e-8 < rtol 1e-7 (both)
    np.testing.assert_allclose(res.keypoint[1, :2], b[:2])
    assert res.notes == ["frame 2: two detections with track id 0; kept the first"]
    assert [list(map(int, x)) for x in tracks_from_ids([[7, -1], [None, 7]])] == [[0, 1], [2, 0]]


def test_boxes_ignore_low_score_joints_and_iou():
    c = np.array([[[0, 0], [10, 10], [500, 500]]], float)
    s = np.array([[1, 1, 0.0]])
    np.testing.assert_allclose(keypoint_boxes(c, s)[0], [0, 0, 10, 10])  # min / max of the joints: exact
    assert np.isnan(keypoint_boxes(c, np.zeros((1, 3)))).all()
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30], [np.nan] * 4]))
    np.testing.assert_allclose(iou, [[1 / 3, 0, 0]])  # 50 / 150: one f64 division, 1.1e-16 < 1e-7
    with pytest.raises(ValueError, match="no person in any frame"):
        select_tracks([np.zeros((0, 17, 2))], [np.zeros((0, 17))], [np.zeros(0, int)])
