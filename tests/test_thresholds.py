"""The unit thresholds of the validation layer and the NTU / Kinetics readers, each tested on both sides.

Every rule of :mod:`aagcn_lab.data.validate` that tells a unit or a garbled value from a real one
gets a value at its edge (accepted) and one just beyond (refused, with the sentence that says
why): ``|x| <= COORD_LIMIT`` (metres, millimetres and pixels pass, nothing larger), half of
float16's range for float16 records, 2D coordinates within one frame size around the image (in
pixels and in fractions of the frame, the width and the height each on its own axis), scores up
to ``SCORE_MAX`` (with the percent / heatmap hint), the span of frame indices a file may ask for.
The NTU reader's own thresholds too: its coordinate limit, the float16 storage of a file in
millimetres and beyond, the length (<= 11 frames) and spread (x-extent > 0.8 y-extent in >=
69.754 % of the frames) denoising. All files are made here; nothing needs ../shared.

(The pose readers of :mod:`aagcn_lab.data.poses` have their own tests.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aagcn_lab.data.kinetics import KineticsFileError, read_kinetics_json
from aagcn_lab.data.ntu import (
    SkeletonFileError,
    convert_ntu_folder,
    parse_ntu_skeleton,
    read_ntu_skeleton,
    select_bodies,
)
from aagcn_lab.data.validate import (
    COORD_LIMIT,
    FLOAT16_MAX,
    SCORE_MAX,
    InputError,
    check_pipeline_input,
    frame_span_limit,
    record_problems,
)

from .test_readers import LYING, PERSON, moving, tracks_to_frames, write_skeleton

NTU_NAME = "S001C001P001R001A001.skeleton"


def record_3d(value: float, dtype=np.float32) -> dict:
    """A 3D NTU record of 4 frames near the origin whose largest coordinate (joint 5, x) is ``value``."""
    kp = np.full((1, 4, 25, 3), 0.5)
    kp[0, 2, 5, 0] = value
    return {"frame_dir": "s", "label": 0, "total_frames": 4, "keypoint": kp.astype(dtype)}


def record_2d(img_shape: tuple[int, int], xy: dict | None = None, score: float = 0.9) -> dict:
    """A 2D COCO record of 3 frames in the middle of the image; ``xy`` = {(joint, axis): value} set in frame 1."""
    h, w = img_shape
    kp = np.tile(np.array([w / 2, h / 2], np.float32), (1, 3, 17, 1))
    for (joint, axis), value in (xy or {}).items():
        kp[0, 1, joint, axis] = value
    s = np.full((1, 3, 17), 0.8, np.float32)
    s[0, 1, 4] = score
    return {
        "frame_dir": "c",
        "label": 0,
        "total_frames": 3,
        "keypoint": kp,
        "keypoint_score": s,
        "img_shape": img_shape,
    }


def one_problem(rec: dict) -> str:
    problems = record_problems(rec)
    assert len(problems) == 1, problems
    return problems[0]


# ------------------------------------------------------------------------------------------------
# validate.py: coordinates


def test_the_thresholds_are_the_documented_ones():
    assert (COORD_LIMIT, FLOAT16_MAX, SCORE_MAX) == (1e5, 65504.0, 1.25)
    assert frame_span_limit(1) == 302 and frame_span_limit(100) == 500


@pytest.mark.parametrize("sign", [1, -1])
def test_coordinates_up_to_the_limit_pass_and_beyond_it_are_wrong_units(sign):
    assert record_problems(record_3d(sign * COORD_LIMIT)) == []
    assert "beyond 100000 (wrong units?)" in one_problem(record_3d(sign * (COORD_LIMIT + 1)))
    # the pipeline's own cheap check draws the line at the same place
    check_pipeline_input(record_3d(sign * COORD_LIMIT), 25)
    with pytest.raises(InputError, match=r"sample s: keypoint has values up to .*, beyond 100000 \(wrong units\?\)"):
        check_pipeline_input(record_3d(sign * (COORD_LIMIT + 1)), 25)


@pytest.mark.parametrize("sign", [1, -1])
def test_float16_records_hold_half_of_float16s_range(sign):
    """Metres (about 3) and millimetres (about 3000) both pass; the differences the pipeline takes
    of values beyond 32752 overflow float16."""
    for value in (3.0, 3000.0, FLOAT16_MAX / 2):  # 32752 is a float16
        assert record_problems(record_3d(sign * value, np.float16)) == [], value
    assert "float16 with values up to 32768: differences of such values overflow" in one_problem(
        record_3d(sign * 32768.0, np.float16)
    )
    assert record_problems(record_3d(sign * 32768.0, np.float32)) == []  # float32 is not limited so


@pytest.mark.parametrize(
    "joint_axis, edge, beyond",
    [((0, 0), -1920.0, -1920.5), ((1, 0), 3840.0, 3840.5), ((2, 1), -1080.0, -1080.5), ((3, 1), 2160.0, 2160.5)],
    ids=["x-left", "x-right", "y-top", "y-bottom"],
)
def test_pixels_within_one_image_size_around_a_wide_image(joint_axis, edge, beyond):
    """img_shape is (h, w) = (1080, 1920): x may run over -w..2w and y over -h..2h, edges included."""
    assert record_problems(record_2d((1080, 1920), {joint_axis: edge})) == []
    name = "xy"[joint_axis[1]]
    problem = one_problem(record_2d((1080, 1920), {joint_axis: beyond}))
    assert problem.startswith(f"2D {name} ranges over") and "pixels of a 1920 x 1080 image" in problem


def test_every_edge_at_once_and_joints_just_outside_the_frame_pass():
    edges = {(0, 0): -1920.0, (1, 0): 3840.0, (2, 1): -1080.0, (3, 1): 2160.0}
    assert record_problems(record_2d((1080, 1920), edges)) == []
    assert record_problems(record_2d((1080, 1920), {(0, 0): 1985.0, (1, 1): -40.0})) == []  # a wrist beyond the edge


def test_fractions_of_the_frame_within_minus_1_to_2_and_pixels_there_are_refused():
    ok = {(0, 0): -1.0, (1, 0): 2.0, (2, 1): -1.0, (3, 1): 2.0, (4, 0): 1.05, (5, 1): -0.2}
    assert record_problems(record_2d((1, 1), ok)) == []
    for joint_axis, value in (((0, 0), 2.001), ((0, 0), -1.001), ((2, 1), 2.001), ((2, 1), -1.001)):
        problem = one_problem(record_2d((1, 1), {joint_axis: value}))
        assert f"2D {'xy'[joint_axis[1]]} ranges" in problem and "fractions of the frame (0..1)" in problem
    pixels = record_2d((1, 1))
    pixels["keypoint"] = pixels["keypoint"] * 0 + np.float32(640.0)
    assert len(record_problems(pixels)) == 2 and all("fractions of the frame" in p for p in record_problems(pixels))


# ------------------------------------------------------------------------------------------------
# validate.py: scores


@pytest.mark.parametrize("value", [0.0, 1.0, 1.176, SCORE_MAX])
def test_scores_from_zero_to_heatmap_peaks_pass(value):
    assert record_problems(record_2d((1, 1), score=value)) == []


@pytest.mark.parametrize(
    "value, needle",
    [
        (-1e-4, "negative values"),
        (1.2501, "raw heatmap values"),
        (10.0, "raw heatmap values"),
        (10.5, "scores in percent? divide them by 100"),
        (100.0, "scores in percent? divide them by 100"),
        (100.5, "raw heatmap values"),
    ],
)
def test_scores_beyond_their_range_say_percent_or_heatmap(value, needle):
    problem = one_problem(record_2d((1, 1), score=value))
    assert problem.startswith("keypoint_score has") and needle in problem


# ------------------------------------------------------------------------------------------------
# Kinetics JSON (fractions of the frame)


def kinetics(path: Path, frames: list[tuple[int, float, float, float]]) -> Path:
    """A Kinetics-skeleton JSON: per frame ``(frame_index, x, y, score)`` of one person (every joint alike)."""
    data = [{"frame_index": i, "skeleton": [{"pose": [x, y] * 18, "score": [s] * 18}]} for i, x, y, s in frames]
    path.write_text(json.dumps({"data": data, "label": "x", "label_index": 3}))
    return path


def test_kinetics_edges_of_the_frame_and_heatmap_scores_are_kept(tmp_path):
    rec = read_kinetics_json(
        kinetics(tmp_path / "v.json", [(1, -1.0, 2.0, 1.25), (2, 2.0, -1.0, 0.5), (3, 1.05, -0.1, 1.0)])
    )
    assert rec["keypoint"][0, :, 0].tolist() == [[-1.0, 2.0], [2.0, -1.0], [np.float32(1.05), np.float32(-0.1)]]
    assert rec["keypoint_score"][0, :, 0].tolist() == [1.25, 0.5, 1.0]


def test_kinetics_scores_beyond_heatmap_peaks_and_a_video_in_pixels_are_refused(tmp_path):
    with pytest.raises(KineticsFileError, match=r"s\.json: keypoint_score has values up to 1\.3"):
        read_kinetics_json(kinetics(tmp_path / "s.json", [(1, 0.5, 0.5, 1.3), (2, 0.5, 0.5, 0.9)]))
    with pytest.raises(KineticsFileError, match=r"px\.json: .*far outside"):
        read_kinetics_json(kinetics(tmp_path / "px.json", [(1, 640.0, 360.0, 0.9), (2, 650.0, 362.0, 0.9)]))


def test_kinetics_frame_index_may_span_twice_the_frames_plus_300(tmp_path):
    """One frame entry: indices up to 302 (1-based, so 302 time steps) are a video with gaps; 303 is garbled."""
    rec = read_kinetics_json(kinetics(tmp_path / "far.json", [(302, 0.5, 0.5, 0.9)]))
    assert rec["total_frames"] == 302 and rec["keypoint"][0, 301].any() and not rec["keypoint"][0, :301].any()
    with pytest.raises(
        KineticsFileError, match=r"garbled\.json: frame_index 303 is far beyond .*at most 302 time steps"
    ):
        read_kinetics_json(kinetics(tmp_path / "garbled.json", [(303, 0.5, 0.5, 0.9)]))


# ------------------------------------------------------------------------------------------------
# NTU .skeleton files (metres)


def ntu_file(path: Path, value: float, frames: int = 4) -> Path:
    """One body standing 3 m away; joint 3 of frame 2 has x = ``value``."""
    joints = moving(frames, 0.05)
    joints[1] = joints[1].copy()
    joints[1][2, 0] = value
    return write_skeleton(path, [[(1, j)] for j in joints])


@pytest.mark.parametrize("sign", [1, -1])
def test_ntu_coordinates_up_to_the_limit_parse_and_beyond_it_name_field_joint_frame_and_line(tmp_path, sign):
    assert (
        parse_ntu_skeleton(ntu_file(tmp_path / NTU_NAME, sign * COORD_LIMIT)).tracks[1].joints[1, 2, 0]
        == sign * COORD_LIMIT
    )
    path = ntu_file(tmp_path / NTU_NAME, sign * (COORD_LIMIT + 1))
    # line 1: the header; lines 2-29: frame 1 (body count, info, joint count, 25 joints); frame 2: 30-32, joints from 33
    with pytest.raises(
        SkeletonFileError,
        match=r"line 35: field 1 of joint 3 of body 1 in frame 2 is -?100001, beyond 100000 metres",
    ):
        parse_ntu_skeleton(path)


def test_ntu_files_in_millimetres_convert_and_larger_units_are_refused_by_float16(tmp_path):
    """float16 storage: millimetres (3000) convert; beyond 32752 the record is refused as the converter
    writes it; beyond 65504 the cast itself overflows."""
    for value, converted, needle in ((3000.0, 1, None), (32752.0, 1, None), (32784.0, 0, "float16 with values up to"),
                                     (65600.0, 0, "overflow float16")):  # fmt: skip
        folder = tmp_path / f"v{value:g}"
        folder.mkdir()
        ntu_file(folder / NTU_NAME, value)
        report = convert_ntu_folder(folder, tmp_path / f"{value:g}.pkl")
        assert report.converted == converted, (value, report.failed)
        if needle:
            assert needle in dict(report.failed)[NTU_NAME.split(".")[0]]
    with pytest.raises(InputError, match=r"keypoint: 1 value\(s\) overflow float16 .*wrong units"):
        read_ntu_skeleton(ntu_file(tmp_path / NTU_NAME, 65600.0))


@pytest.mark.parametrize("length, dropped", [(11, True), (12, False)])
def test_ntu_tracks_of_at_most_11_frames_are_length_noise(tmp_path, length, dropped):
    frames = tracks_to_frames(40, {1: (0, moving(40, 0.05)), 2: (5, moving(length, 0.3, x0=1.0))})
    sel = select_bodies(parse_ntu_skeleton(write_skeleton(tmp_path / NTU_NAME, frames)))
    assert sel.slots == ([[1]] if dropped else [[1], [2]])
    assert sel.dropped == ([(2, f"only {length} frame(s) (<= 11)")] if dropped else [])


@pytest.mark.parametrize("ratio, dropped", [(0.79, False), (0.81, True)])
def test_ntu_a_body_wider_than_0_8_of_its_height_is_spread_noise(tmp_path, ratio, dropped):
    """PERSON is 0.4 m wide and 1.6 m tall (and 0.2 m deep); stretched along x to ``ratio`` x its height."""
    wide = PERSON * [4 * ratio, 1, 1]
    frames = tracks_to_frames(30, {1: (0, moving(30, 0.05)), 2: (0, moving(30, 0.3, x0=2.0, shape=wide))})
    sel = select_bodies(parse_ntu_skeleton(write_skeleton(tmp_path / NTU_NAME, frames)))
    assert [bid for bid, _ in sel.dropped] == ([2] if dropped else [])
    assert sel.keypoint.shape[0] == (1 if dropped else 2)


@pytest.mark.parametrize("wide_frames, dropped", [(69, False), (70, True)])
def test_ntu_a_track_wide_in_69_754_percent_of_its_frames_is_spread_noise(tmp_path, wide_frames, dropped):
    lying = moving(wide_frames, 0.3, x0=2.0, shape=LYING) + moving(100 - wide_frames, 0.3, x0=2.0)
    frames = tracks_to_frames(100, {1: (0, moving(100, 0.05)), 2: (0, lying)})
    sel = select_bodies(parse_ntu_skeleton(write_skeleton(tmp_path / NTU_NAME, frames)))
    assert [bid for bid, _ in sel.dropped] == ([2] if dropped else [])
    if dropped:
        assert sel.dropped[0][1] == "wider than tall in 70% of its frames (spread noise)"
