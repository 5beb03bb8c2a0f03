"""The built-in dataset: NTU-style skeleton actions made by a small animation engine.

Notebooks, demos and tests need data that is always there (no download, no licence), that looks
like NTU RGB+D to every other part of the package, and that a small AAGCN learns on a laptop CPU in
minutes -- but not perfectly, so that the feature streams, the attention maps and the fusion of
streams have something to show. This module makes such data procedurally, deterministically from a
seed.

How one sample is made (read the code in this order):

1. **A performer** (:class:`Body`): bone lengths from a height (1.55-1.92 m) and jittered body
   proportions, plus a personal style: tempo, amplitude of movements, posture. It is seeded by the
   subject id, so performer P003 is the same person in every sample.
2. **An action** is a function that writes *control tracks* (:class:`Motion`) with a few
   keyframes and oscillations: where each wrist should be (relative to its shoulder, in the chest's
   frame), where each ankle should be (relative to where it rests on the floor), the pelvis offset,
   the trunk's bend, lean and twist, the head's nod and turn, and the turn of the whole body.
3. **Forward kinematics** (:func:`pose`) turns the tracks into the 25 Kinect joints: the spine
   chain is rotated by the trunk angles; arms and legs are placed by two-bone inverse kinematics
   (the law of cosines), so a clap brings the hands together whatever the arm length; hands,
   thumbs and feet follow the forearm and the shin.
4. **A scene**: one body, or two facing each other (interactions, M = 2), turned towards one of the
   cameras. Idle frames (with a little sway) pad the action before and after.
5. **Cameras** as in NTU: three Kinects at horizontal angles 0, -45 and +45 degrees, at a
   setup-specific height and distance, tilted down; the subject faces camera 2 in replication 1 and
   camera 3 in replication 2. All three cameras record *the same performance*, as in NTU, so
   C001/C002/C003 of a sample differ only in the view and the sensor noise.
6. **The sensor**, modelled on Kinect v2: jitter that wanders over a few frames and is shared along
   the body tree (a limb's error moves its children, so bones are steadier than joints; more on
   hands and feet, on depth, and on the side turned away from the camera), left and right arms or
   legs swapped for a few frames while a body is side-on, joints lost for a few frames and reported
   as *inferred* (held near the last tracked position, as Kinect does; never zeros), whole missing
   frames (zeros, dropped by the pipeline), and rarely a bystander standing in the room.
   Version 2 drew independent white-ish jitter per joint and set lost joints to zero; bone motion,
   a difference of differences, was then mostly noise (-7 dB against its signal, now about +2 dB)
   and its stream reached 38-40 % where the others reached 82-90 %.
7. **The record**: ``keypoint`` ``(M, T, 25, 3)`` float16 in metres, camera space (x towards the
   sensor's left, which is the right of a person facing it; y up; z depth, about 2.5-4 m), exactly
   like pyskl's NTU pickles, with ``frame_dir`` ``SsssCcccPpppRrrrAaaa`` (A = label + 1).

The classes (see :func:`describe` for the full table with the split rules):

===  ================  =====================================================================
 #   class             what distinguishes it
===  ================  =====================================================================
 0   wave right hand   right hand raised beside the head, swinging side to side
 1   wave left hand    the same with the left hand
 2   raise right hand  right hand raised and held (no swing): close to a small wave
 3   raise both hands  both hands raised and held
 4   clap              hands meet and part in front of the chest
 5   rub hands         hands stay together, small circles: close to a small clap
 6   punch forward     fast forward extension of the fist: the speed is the main cue
 7   reach forward     the same path, slow, with an open hand
 8   kick forward      one leg swings forward and up
 9   side kick         one leg swings sideways, the trunk leans away
10   squat down        knees forward, pelvis drops, trunk leans forward
11   sit down          pelvis drops *and moves back*, trunk upright at the end
12   stand up          sit down played backwards
13   jump up           crouch, flight (both feet leave the floor), landing
14   turn around       the whole body turns by about half a turn, stepping
15   bow               the trunk bends forward and comes back
16   nod head          only the head nods, a few times
17   walk in place     alternate knee lifts, arms swing loosely, slow
18   run in place      the same, faster and higher, usually with bent arms
19   handshake         two people, right hands meet at waist height and shake
20   high five         two people, right hands meet above the heads, once
21   push              one person pushes, the other steps back
22   hug               two people step in and wrap their arms around each other
===  ================  =====================================================================

Splits, like NTU-60: ``xsub_*`` by performer (training performers = NTU-60's list, so with the 10
default performers P001, P002, P004, P005, P008, P009 train and P003, P006, P007, P010 validate;
a partner in an interaction comes from the same group), ``xview_*`` by camera (C001 validates).

Use :func:`generate` for the whole dataset, :func:`generate_sample` for one record and
:func:`builtin_annotations` for a cached annotation file that every loader reads like NTU's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from pathlib import Path

import numpy as np

from ..graph import LAYOUTS
from .classes import class_names
from .ntu import NTUSampleId
from .records import Annotations, save_annotations

__all__ = [
    "CLASS_NAMES",
    "ACTIONS",
    "ActionSpec",
    "Body",
    "Motion",
    "SyntheticConfig",
    "XSUB_TRAIN_SUBJECTS",
    "builtin_annotations",
    "cache_dir",
    "describe",
    "generate",
    "generate_sample",
    "make_body",
    "pose",
    "frame_dir",
    "setup_of",
    "two_bone_ik",
]

VERSION = 3  # bump when the generator changes what a seed produces (it names the cache file)
FPS = 30.0  # Kinect v2 frame rate
LAYOUT = "nturgb+d"
XSUB_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)  # NTU-60
CAMERA_ANGLES_DEG = (0.0, -45.0, 45.0, -90.0, 90.0)  # horizontal angle of camera 1, 2, ... around the subject

# Joint indices of the Kinect v2 / NTU layout (0-based), looked up by name in aagcn_lab.graph.
_JOINT = LAYOUTS[LAYOUT].joint_names.index
SPINE_BASE, SPINE_MID, NECK, HEAD = map(_JOINT, ("SpineBase", "SpineMid", "Neck", "Head"))
SHOULDER_L, ELBOW_L, WRIST_L, HAND_L = map(_JOINT, ("ShoulderLeft", "ElbowLeft", "WristLeft", "HandLeft"))
SHOULDER_R, ELBOW_R, WRIST_R, HAND_R = map(_JOINT, ("ShoulderRight", "ElbowRight", "WristRight", "HandRight"))
HIP_L, KNEE_L, ANKLE_L, FOOT_L = map(_JOINT, ("HipLeft", "KneeLeft", "AnkleLeft", "FootLeft"))
HIP_R, KNEE_R, ANKLE_R, FOOT_R = map(_JOINT, ("HipRight", "KneeRight", "AnkleRight", "FootRight"))
SPINE_SHOULDER, TIP_L, THUMB_L, TIP_R, THUMB_R = map(_JOINT, ("SpineShoulder", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight"))
NUM_JOINTS = len(LAYOUTS[LAYOUT].joint_names)

LEFT, RIGHT = -1, 1  # a side is a sign: the body's right is +x in its own frame

# Independent random streams: (seed, stream, ...ids) -> np.random.default_rng
_BODY, _CAMERA, _PERFORMANCE, _SENSOR, _SCENE = 1, 2, 3, 4, 5


# ------------------------------------------------------------------------------------------------
# Geometry helpers
# ------------------------------------------------------------------------------------------------


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """Right-handed rotations ``(..., 3, 3)`` by ``angle`` (rad) about x (0), y (1) or z (2)."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(c), np.zeros_like(c)
    rows = {
        0: ((o, z, z), (z, c, -s), (z, s, c)),
        1: ((c, z, s), (z, o, z), (-s, z, c)),
        2: ((c, -s, z), (s, c, z), (z, z, o)),
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def _apply(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors: ``r`` (T, 3, 3) times ``v`` (3,) or (T, 3) -> (T, 3)."""
    return np.einsum("tij,tj->ti", r, np.broadcast_to(v, r.shape[:-1]))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _perp(v: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The part of ``v`` perpendicular to the unit vectors ``d`` (not normalised)."""
    return v - np.sum(v * d, axis=-1, keepdims=True) * d


def _perp_unit(d: np.ndarray, first: Sequence[float], second: Sequence[float]) -> np.ndarray:
    """A unit vector perpendicular to ``d``, towards ``first``, or ``second`` where ``first`` is parallel to ``d``."""
    first, second = np.asarray(first, float), np.asarray(second, float)
    a, b = _perp(first, d), _perp(second, d)
    weak = np.linalg.norm(a, axis=-1, keepdims=True) < 0.25 * np.linalg.norm(first, axis=-1, keepdims=True)
    return _unit(np.where(weak, b, a))


def two_bone_ik(
    target: np.ndarray, a: float, b: float, pole: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Middle joint and end of a two-bone chain (lengths ``a``, ``b``) from the origin towards ``target``.

    The law of cosines gives the angle at the root; the middle joint (elbow, knee) bends towards
    ``pole`` ((3,) or (T, 3)). Targets out of reach are pulled back onto the reachable shell. Shapes (T, 3).
    """
    dist = np.linalg.norm(target, axis=-1, keepdims=True)
    r = np.clip(dist, abs(a - b) + 0.02, 0.999 * (a + b))
    u = target / np.maximum(dist, 1e-9)
    cos_root = np.clip((a * a + r * r - b * b) / (2 * a * r), -1.0, 1.0)
    sin_root = np.sqrt(1.0 - cos_root**2)
    pole = np.asarray(pole, float)
    n = _perp_unit(u, pole, pole[..., [0, 2, 1]] * np.array([1.0, -1.0, 1.0]))  # 2nd guess: turned 90 deg about x
    middle = a * (cos_root * u + sin_root * n)
    return middle, r * u


# ------------------------------------------------------------------------------------------------
# The performer
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """One performer: bone lengths in metres and a personal style of moving."""

    height: float
    spine_low: float  # SpineBase -> SpineMid
    spine_high: float  # SpineMid -> SpineShoulder
    neck: float
    head: float
    shoulder_half: float  # SpineShoulder -> each shoulder, sideways
    upper_arm: float
    forearm: float
    hand: float  # wrist -> hand centre
    hand_tip: float
    thumb: float
    hip_half: float  # SpineBase -> each hip, sideways
    hip_drop: float  # ... and down
    thigh: float
    shin: float
    ankle_height: float  # ankle above the floor
    foot: float
    speed: float  # tempo factor (> 1: faster than average)
    amplitude: float  # size of movements (> 1: bigger than average)
    posture: float  # forward lean of the trunk at rest (rad)
    arm_out: float  # how far the hands hang out from the thighs (m)

    @property
    def arm(self) -> float:
        """Shoulder -> wrist when the arm is straight."""
        return self.upper_arm + self.forearm

    @property
    def pelvis_height(self) -> float:
        """Height of SpineBase above the floor when standing (knees nearly straight)."""
        return self.ankle_height + self.hip_drop + 0.985 * (self.thigh + self.shin)

    @property
    def shoulder_height(self) -> float:
        """Height of the shoulders above the floor when standing."""
        return self.pelvis_height + self.spine_low + self.spine_high - 0.03

    @property
    def head_height(self) -> float:
        """Height of the Head joint above the floor when standing."""
        return self.pelvis_height + self.spine_low + self.spine_high + self.neck + self.head


def make_body(rng: np.random.Generator) -> Body:
    """Draw a performer: a height, jittered proportions (close to real NTU bone lengths) and a style."""
    height = rng.uniform(1.55, 1.92)

    def part(fraction: float, spread: float = 0.05) -> float:
        return float(height * fraction * rng.uniform(1 - spread, 1 + spread))

    return Body(
        height=float(height),
        spine_low=part(0.155),
        spine_high=part(0.12),
        neck=part(0.04, 0.1),
        head=part(0.075, 0.08),
        shoulder_half=part(0.095, 0.08),
        upper_arm=part(0.145),
        forearm=part(0.135),
        hand=part(0.045, 0.12),
        hand_tip=part(0.04, 0.15),
        thumb=part(0.03, 0.15),
        hip_half=part(0.04, 0.1),
        hip_drop=part(0.025, 0.2),
        thigh=part(0.2),
        shin=part(0.21),
        ankle_height=part(0.04, 0.1),
        foot=part(0.08, 0.1),
        speed=float(np.clip(np.exp(rng.normal(0.0, 0.15)), 0.75, 1.35)),
        amplitude=float(rng.uniform(0.8, 1.2)),
        posture=float(np.deg2rad(rng.uniform(-2.0, 8.0))),
        arm_out=float(rng.uniform(0.03, 0.1)),
    )


# ------------------------------------------------------------------------------------------------
# Control tracks and forward kinematics
# ------------------------------------------------------------------------------------------------


def _at(side: int, out: float | np.ndarray, up: float | np.ndarray, forward: float | np.ndarray) -> np.ndarray:
    """A wrist target relative to a shoulder: ``out`` sideways (away from the body), ``up``, ``forward``."""
    out, up, forward = np.broadcast_arrays(np.asarray(out, float), np.asarray(up, float), np.asarray(forward, float))
    return np.stack([side * out, up, -forward], axis=-1)  # forward is -z in the body's frame


def _hanging(body: Body, side: int, bend: float | np.ndarray = 0.0) -> np.ndarray:
    """Wrist target of a relaxed arm hanging straight down, for a trunk bent forward by ``bend``."""
    down = _at(side, body.arm_out, -0.96 * body.arm, 0.04)
    bend = np.asarray(bend, float)
    if bend.ndim == 0:
        return _apply(_rot(0, bend[None]), down[None])[0]
    return _apply(_rot(0, bend), down)  # undo the trunk's rotation so the arm hangs along gravity


@dataclass
class Motion:
    """Control tracks of one body over T frames, in the body's own frame (x right, y up, z backwards).

    Wrist targets are relative to each shoulder, in the chest's frame (they bend with the trunk);
    ankle offsets are relative to where each ankle rests on the floor; angles are in radians.
    ``place`` is where the body stands in the scene: ``(x, z, heading)``.
    """

    pelvis: np.ndarray  # (T, 3) offset of SpineBase from its standing position
    turn: np.ndarray  # (T,) the whole body turns about the vertical (+ = to its left)
    bend: np.ndarray  # (T,) trunk bends forward
    lean: np.ndarray  # (T,) trunk leans to the right
    twist: np.ndarray  # (T,) chest turns to the left
    nod: np.ndarray  # (T,) head tilts forward
    head_turn: np.ndarray  # (T,) head turns to the left
    wrist_l: np.ndarray  # (T, 3)
    wrist_r: np.ndarray  # (T, 3)
    ankle_l: np.ndarray  # (T, 3)
    ankle_r: np.ndarray  # (T, 3)
    fist_l: np.ndarray  # (T,) 0 = open hand, 1 = fist
    fist_r: np.ndarray  # (T,)
    elbows_out: np.ndarray  # (T,) 0 = elbows bend down and back, 1 = out and up (to wrap the arms around)
    place: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def still(cls, body: Body, frames: int) -> Motion:
        """A body standing still with its arms hanging, for ``frames`` frames."""
        zeros = np.zeros(frames)
        return cls(
            pelvis=np.zeros((frames, 3)),
            turn=zeros.copy(),
            bend=zeros.copy(),
            lean=zeros.copy(),
            twist=zeros.copy(),
            nod=zeros.copy(),
            head_turn=zeros.copy(),
            wrist_l=np.tile(_hanging(body, LEFT), (frames, 1)),
            wrist_r=np.tile(_hanging(body, RIGHT), (frames, 1)),
            ankle_l=np.zeros((frames, 3)),
            ankle_r=np.zeros((frames, 3)),
            fist_l=zeros.copy(),
            fist_r=zeros.copy(),
            elbows_out=zeros.copy(),
        )

    def __len__(self) -> int:
        return len(self.turn)

    def wrist(self, side: int) -> np.ndarray:
        """The wrist track of a side."""
        return self.wrist_r if side == RIGHT else self.wrist_l

    def ankle(self, side: int) -> np.ndarray:
        """The ankle track of a side."""
        return self.ankle_r if side == RIGHT else self.ankle_l

    def map_tracks(self, fn: Callable[[np.ndarray], np.ndarray]) -> Motion:
        """A copy with ``fn`` applied to every track (time on axis 0)."""
        return replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self) if f.name != "place"})


def pose(body: Body, motion: Motion) -> np.ndarray:
    """Forward kinematics: joints ``(T, 25, 3)`` in metres, in the scene (floor at y = 0)."""
    t = len(motion)
    joints = np.zeros((t, NUM_JOINTS, 3))
    pelvis = np.array([0.0, body.pelvis_height, 0.0]) + motion.pelvis
    bend = motion.bend + body.posture
    # The trunk: the lower spine takes half of each angle, the chest all of it.
    r_low = _rot(1, motion.twist / 2) @ _rot(2, -motion.lean / 2) @ _rot(0, -bend / 2)
    r_chest = _rot(1, motion.twist) @ _rot(2, -motion.lean) @ _rot(0, -bend)
    joints[:, SPINE_BASE] = pelvis
    joints[:, SPINE_MID] = pelvis + _apply(r_low, np.array([0.0, body.spine_low, 0.0]))
    chest = joints[:, SPINE_MID] + _apply(r_chest, np.array([0.0, body.spine_high, 0.0]))
    joints[:, SPINE_SHOULDER] = chest
    joints[:, NECK] = chest + _apply(r_chest, np.array([0.0, body.neck, 0.0]))
    r_head = r_chest @ _rot(1, motion.head_turn) @ _rot(0, -motion.nod)
    joints[:, HEAD] = joints[:, NECK] + _apply(r_head, np.array([0.0, body.head, -0.02]))

    arms = (
        (LEFT, (SHOULDER_L, ELBOW_L, WRIST_L, HAND_L, TIP_L, THUMB_L), motion.wrist_l, motion.fist_l),
        (RIGHT, (SHOULDER_R, ELBOW_R, WRIST_R, HAND_R, TIP_R, THUMB_R), motion.wrist_r, motion.fist_r),
    )
    for side, (shoulder, elbow, wrist, hand, tip, thumb), target, fist in arms:
        joints[:, shoulder] = chest + _apply(r_chest, np.array([side * body.shoulder_half, -0.03, 0.0]))
        # In the chest frame, relative to the shoulder: elbows bend out, down and back (or out and up).
        out = motion.elbows_out[:, None]
        pole = (1 - out) * np.array([side * 0.5, -1.0, 0.6]) + out * np.array([side * 1.0, 0.3, 0.2])
        elbow_c, wrist_c = two_bone_ik(target, body.upper_arm, body.forearm, pole)
        along = _unit(wrist_c - elbow_c)
        hand_c = wrist_c + body.hand * along
        tip_c = hand_c + (body.hand_tip * (1.0 - 0.7 * fist))[:, None] * along  # a fist curls the tips in
        thumb_dir = _perp_unit(along, (0.0, 0.5, -1.0), (-side, 0.0, 0.0))  # forward/up, else inwards
        thumb_c = hand_c + body.thumb * _unit(0.5 * along + thumb_dir)
        for joint, local in ((elbow, elbow_c), (wrist, wrist_c), (hand, hand_c), (tip, tip_c), (thumb, thumb_c)):
            joints[:, joint] = joints[:, shoulder] + _apply(r_chest, local)

    legs = (
        (LEFT, (HIP_L, KNEE_L, ANKLE_L, FOOT_L), motion.ankle_l),
        (RIGHT, (HIP_R, KNEE_R, ANKLE_R, FOOT_R), motion.ankle_r),
    )
    for side, (hip, knee, ankle, foot), offset in legs:
        joints[:, hip] = pelvis + np.array([side * body.hip_half, -body.hip_drop, 0.0])
        rest = np.array([side * 1.1 * body.hip_half, body.ankle_height, 0.0])
        knee_rel, ankle_rel = two_bone_ik(
            rest + offset - joints[:, hip], body.thigh, body.shin, (side * 0.1, 0.6, -1.0)
        )
        joints[:, knee] = joints[:, hip] + knee_rel
        joints[:, ankle] = joints[:, hip] + ankle_rel
        shin_dir = _unit(ankle_rel - knee_rel)
        toes = _perp_unit(shin_dir, (0.0, 0.3, -1.0), (0.0, 1.0, 0.0))  # the foot points forward
        joints[:, foot] = joints[:, ankle] + body.foot * (0.92 * toes + 0.3 * shin_dir)

    # The whole body turns about the vertical line through its pelvis.
    axis = pelvis * np.array([1.0, 0.0, 1.0])
    joints = axis[:, None] + np.einsum("tij,tvj->tvi", _rot(1, motion.turn), joints - axis[:, None])
    x, z, heading = motion.place
    return np.einsum("ij,tvj->tvi", _rot(1, np.asarray(heading)), joints) + np.array([x, 0.0, z])


# ------------------------------------------------------------------------------------------------
# Animation helpers: keyframes, oscillations, steps
# ------------------------------------------------------------------------------------------------


def _keys(t: np.ndarray, times: Sequence[float], values: Sequence) -> np.ndarray:
    """Ease between keyframes ``(times[i], values[i])`` (smoothstep); constant before and after."""
    times = np.asarray(times, float)
    values = np.asarray(values, float)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    x = np.clip((t - times[i]) / np.maximum(times[i + 1] - times[i], 1e-9), 0.0, 1.0)
    ease = x * x * (3 - 2 * x)
    if values.ndim > 1:
        ease = ease[:, None]
    return values[i] + (values[i + 1] - values[i]) * ease


def _wave(t: np.ndarray, start: float, cycles: float, freq: float, phase: float = 0.0) -> np.ndarray:
    """``sin`` for ``cycles`` cycles at ``freq`` Hz from ``start``, faded in and out over a quarter cycle."""
    end = start + cycles / freq
    fade = _keys(t, (start, start + 0.25 / freq, end - 0.25 / freq, end), (0, 1, 1, 0))
    return np.sin(2 * np.pi * freq * (t - start) + phase) * fade


def _time(seconds: float) -> tuple[int, np.ndarray]:
    """Frame count and frame times (s) of an action lasting ``seconds``."""
    n = max(int(round(seconds * FPS)) + 1, 8)
    return n, np.arange(n) / FPS


def _tempo(rng: np.random.Generator, body: Body) -> tuple[float, float]:
    """This take's speed and amplitude: the performer's, varied a little."""
    return body.speed * rng.uniform(0.9, 1.1), body.amplitude * rng.uniform(0.85, 1.15)


def _steps(t: np.ndarray, start: float, end: float, count: int, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Small alternating foot lifts (left first) between ``start`` and ``end``: heights (T,) per foot."""
    count = max(int(count), 1)
    span = (end - start) / count
    left, right = np.zeros_like(t), np.zeros_like(t)
    for k in range(count):
        x = np.clip((t - start - k * span) / span, 0.0, 1.0)
        (left if k % 2 == 0 else right)[:] += lift * np.sin(np.pi * x) ** 2
    return left, right


def _start_back(m: Motion, distance: float) -> None:
    """Start the body (pelvis and feet) ``distance`` metres behind its place."""
    for track in (m.pelvis, m.ankle_l, m.ankle_r):
        track[:, 2] += distance


def _step_to(m: Motion, t: np.ndarray, start: float, end: float, forward: float, lift: float = 0.06) -> None:
    """Walk the body ``forward`` metres (negative: back) between ``start`` and ``end``, feet one after the other."""
    mid = (start + end) / 2
    m.pelvis[:, 2] -= _keys(t, (start, end), (0.0, forward))
    m.ankle_l[:, 2] -= _keys(t, (start, mid), (0.0, forward))
    m.ankle_r[:, 2] -= _keys(t, (mid, end), (0.0, forward))
    up_l, up_r = _steps(t, start, end, 2, lift)
    m.ankle_l[:, 1] += up_l
    m.ankle_r[:, 1] += up_r


# ------------------------------------------------------------------------------------------------
# The actions. Each one draws its own timing and size, and returns one Motion per person.
# ------------------------------------------------------------------------------------------------


def _raised(body: Body, side: int, elbow: float) -> np.ndarray:
    """Wrist of a raised hand: ``elbow`` 0 = arm straight up, 1 = upper arm out sideways, forearm up."""
    straight = _at(side, 0.08, 0.92 * body.arm, 0.08)
    bent = _at(side, 0.9 * body.upper_arm, 0.92 * body.forearm, 0.06)
    return (1 - elbow) * straight + elbow * bent


def _raise_path(body: Body, side: int, target: np.ndarray) -> list[np.ndarray]:
    """Keyframe positions from hanging to ``target``, via the arm held forward and out."""
    return [_hanging(body, side), _at(side, 0.35 * body.arm, -0.1 * body.arm, 0.6 * body.arm), target]


def act_wave(rng: np.random.Generator, bodies: Sequence[Body], side: int = RIGHT) -> list[Motion]:
    """Wave one hand: raise it beside the head and swing it side to side, 3-6 times."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    up, down = rng.uniform(0.4, 0.7) / speed, rng.uniform(0.4, 0.7) / speed
    freq = rng.uniform(1.8, 2.8) * speed
    cycles = int(rng.integers(3, 7))
    swing = amp * rng.uniform(0.04, 0.15)
    n, t = _time(up + cycles / freq + down)
    m = Motion.still(b, n)
    path = _raise_path(b, side, _raised(b, side, rng.uniform(0.3, 1.0)))
    end = up + cycles / freq
    m.wrist(side)[:] = _keys(t, (0, up / 2, up, end, end + down / 2, end + down), path + path[::-1])
    m.wrist(side)[:, 0] += side * swing * _wave(t, up, cycles, freq)
    m.wrist(side)[:, 1] -= 0.3 * swing * np.abs(_wave(t, up, cycles, freq))
    return [m]


def act_raise_hand(rng: np.random.Generator, bodies: Sequence[Body], sides: tuple[int, ...] = (RIGHT,)) -> list[Motion]:
    """Raise one or both hands and hold them up, with at most a little sway."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    up, hold, down = rng.uniform(0.5, 0.8) / speed, rng.uniform(0.8, 2.0), rng.uniform(0.5, 0.8) / speed
    n, t = _time(up + hold + down)
    m = Motion.still(b, n)
    sway = amp * rng.uniform(0.0, 0.03)
    for side in sides:
        path = _raise_path(b, side, _raised(b, side, rng.uniform(0.0, 0.45)))
        m.wrist(side)[:] = _keys(
            t, (0, up / 2, up, up + hold, up + hold + down / 2, up + hold + down), path + path[::-1]
        )
        m.wrist(side)[:, 0] += side * sway * _wave(t, up, 1, 1 / hold, rng.uniform(0, 2 * np.pi))
    if len(sides) == 2 and rng.random() < 0.3:  # cheering: shake both hands
        m.wrist_l[:, 1] += 0.05 * amp * _wave(t, up, 4, 4 / hold)
        m.wrist_r[:, 1] += 0.05 * amp * _wave(t, up, 4, 4 / hold)
    return [m]


def _hands_front(body: Body, side: int, gap: np.ndarray, up: float, forward: float) -> np.ndarray:
    """Wrist in front of the chest, ``gap`` metres from the other wrist across the midline."""
    return _at(side, -body.shoulder_half + gap / 2, up, forward)


def act_clap(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Clap: both hands in front of the chest meet and part, 3-7 times."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    come, go = rng.uniform(0.4, 0.7) / speed, rng.uniform(0.4, 0.7) / speed
    freq, claps = rng.uniform(1.5, 2.8) * speed, int(rng.integers(3, 8))
    widest = max(0.12, amp * rng.uniform(0.18, 0.45))
    height, forward = -rng.uniform(0.12, 0.3), rng.uniform(0.25, 0.36)
    end = come + claps / freq
    n, t = _time(end + go)
    m = Motion.still(b, n)
    clapping = (t >= come) & (t <= end)
    gap = np.where(clapping, 0.05 + (widest - 0.05) * 0.5 * (1 + np.cos(2 * np.pi * freq * (t - come))), widest)
    reach = _keys(t, (0, come, end, end + go), (0, 1, 1, 0))[:, None]
    for side in (LEFT, RIGHT):
        front = _hands_front(b, side, gap, height, forward)
        m.wrist(side)[:] = (1 - reach) * _hanging(b, side) + reach * front
    return [m]


def act_rub_hands(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Rub hands: both hands stay together in front of the body and slide in small circles."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    come, go = rng.uniform(0.4, 0.7) / speed, rng.uniform(0.4, 0.7) / speed
    freq, rubs = rng.uniform(2.0, 4.0) * speed, int(rng.integers(4, 10))
    radius = amp * rng.uniform(0.015, 0.045)
    height, forward = -rng.uniform(0.2, 0.35), rng.uniform(0.2, 0.3)
    end = come + rubs / freq
    n, t = _time(end + go)
    m = Motion.still(b, n)
    reach = _keys(t, (0, come, end, end + go), (0, 1, 1, 0))[:, None]
    circle_y, circle_z = _wave(t, come, rubs, freq), _wave(t, come, rubs, freq, np.pi / 2)
    for side in (LEFT, RIGHT):
        front = _hands_front(b, side, np.full(n, 0.06), height, forward)
        front[:, 1] += side * radius * circle_y  # the two hands move against each other
        front[:, 2] += side * radius * circle_z
        m.wrist(side)[:] = (1 - reach) * _hanging(b, side) + reach * front
    return [m]


def act_extend_arm(rng: np.random.Generator, bodies: Sequence[Body], fast: bool = True) -> list[Motion]:
    """Punch (``fast``: a fist shot forward once or twice, sometimes from a guard) or reach forward (slow, open hand).

    Both follow the same path and may hold the arm out for a similar time: in a clip resampled to a
    fixed length they look alike, and the speed (the motion stream) tells them apart.
    """
    b = bodies[0]
    speed, _ = _tempo(rng, b)
    guard = fast and rng.random() < 0.3
    repeats = 1 + int(rng.random() < (0.4 if fast else 0.25))
    start = _at(RIGHT, -0.5 * b.shoulder_half, -0.05, 0.22) if guard else _hanging(b, RIGHT)
    clock = rng.uniform(0.3, 0.5) / speed if guard else 0.0
    times, wrists, twists = [0.0], [_hanging(b, RIGHT)], [0.0]
    if guard:  # fists up first
        times.append(clock)
        wrists.append(start)
        twists.append(0.0)
    for _ in range(repeats):
        if fast:
            out, hold, back, pause = (rng.uniform(0.1, 0.18) / speed, rng.uniform(0.05, 0.6),
                                      rng.uniform(0.18, 0.3) / speed, rng.uniform(0.25, 0.5) / speed)  # fmt: skip
        else:
            out, hold, back, pause = (rng.uniform(0.6, 1.1) / speed, rng.uniform(0.0, 0.6),
                                      rng.uniform(0.5, 0.9) / speed, rng.uniform(0.2, 0.5))  # fmt: skip
        target = _at(RIGHT, -rng.uniform(0.2, 0.7) * b.shoulder_half, rng.uniform(-0.12, 0.05), 0.92 * b.arm)
        turn = np.deg2rad(rng.uniform(5, 15)) if fast else np.deg2rad(rng.uniform(0, 5))
        for dt, wrist, twist in ((out, target, turn), (hold, target, turn), (back, start, 0.0), (pause, start, 0.0)):
            clock += dt
            times.append(clock)
            wrists.append(wrist)
            twists.append(twist)
    n, t = _time(clock)
    m = Motion.still(b, n)
    m.wrist_r[:] = _keys(t, times, wrists)
    m.twist[:] = _keys(t, times, twists)
    if guard:
        m.wrist_l[:] = _keys(t, times[:2], [_hanging(b, LEFT), _at(LEFT, -0.5 * b.shoulder_half, -0.05, 0.22)])
    if fast:
        m.fist_r[:] = 1.0
        m.fist_l[:] = 1.0 if guard else 0.0
    else:  # a slight lean towards the reach
        m.bend[:] = _keys(t, (0, times[1], times[-3], times[-2]), (0, 1, 1, 0)) * np.deg2rad(rng.uniform(0, 10))
    return [m]


def act_kick(rng: np.random.Generator, bodies: Sequence[Body], sideways: bool = False) -> list[Motion]:
    """Kick forward (leg swings forward and up, trunk leans back) or sideways (trunk leans away); 1-2 kicks."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    side = RIGHT if rng.random() < 0.75 else LEFT
    clock, times, ankles, bends, leans = 0.0, [0.0], [np.zeros(3)], [0.0], [0.0]
    for _ in range(1 + int(rng.random() < 0.3)):
        up = amp * rng.uniform(0.3, 0.65)
        if sideways:
            peak = np.array([side * amp * rng.uniform(0.35, 0.65), up, -rng.uniform(-0.05, 0.1)])
            chamber = np.array([side * 0.1, 0.6 * up, -0.15])
            bend, lean = np.deg2rad(rng.uniform(0, 10)), -side * np.deg2rad(rng.uniform(15, 30))
        else:
            peak = np.array([0.0, up, -amp * rng.uniform(0.35, 0.7)])
            chamber = np.array([0.0, 0.7 * up, -0.12])
            bend, lean = -np.deg2rad(rng.uniform(5, 15)), 0.0
        for dt, ankle, bd, ln in (
            (rng.uniform(0.15, 0.3) / speed, chamber, 0.5 * bend, 0.5 * lean),
            (rng.uniform(0.1, 0.2) / speed, peak, bend, lean),
            (rng.uniform(0.05, 0.15), peak, bend, lean),
            (rng.uniform(0.25, 0.4) / speed, np.zeros(3), 0.0, 0.0),
            (rng.uniform(0.1, 0.4), np.zeros(3), 0.0, 0.0),
        ):
            clock += dt
            times.append(clock)
            ankles.append(ankle)
            bends.append(bd)
            leans.append(ln)
    n, t = _time(clock)
    m = Motion.still(b, n)
    m.ankle(side)[:] = _keys(t, times, ankles)
    m.bend[:] = _keys(t, times, bends)
    m.lean[:] = _keys(t, times, leans)
    m.pelvis[:, 0] = -side * 0.04 * np.clip(m.ankle(side)[:, 1] / 0.1, 0, 1)  # weight on the other leg
    balance = np.clip(m.ankle(side)[:, 1] / max(amp * 0.25, 1e-3), 0, 1)[:, None]
    for s in (LEFT, RIGHT):  # arms go out for balance
        m.wrist(s)[:] = (1 - balance) * _hanging(b, s) + balance * _at(s, 0.3 * b.arm, -0.7 * b.arm, 0.15)
    return [m]


def _sit(rng: np.random.Generator, body: Body) -> Motion:
    """Sit down on an (invisible) chair: the pelvis drops and moves back; hands end on the thighs."""
    speed, _ = _tempo(rng, body)
    seat = rng.uniform(0.42, 0.5)
    drop = body.pelvis_height - (seat + body.hip_drop + 0.04)
    back = rng.uniform(0.15, 0.28)
    down, hold = rng.uniform(1.0, 1.6) / speed, rng.uniform(0.5, 1.2)
    n, t = _time(down + hold)
    m = Motion.still(body, n)
    m.pelvis[:] = _keys(t, (0, down), [np.zeros(3), [0.0, -drop, back]])
    lean_in, settled = np.deg2rad(rng.uniform(25, 40)), np.deg2rad(rng.uniform(3, 15))
    m.bend[:] = _keys(t, (0, 0.6 * down, down), (0, lean_in, settled))
    feet = rng.uniform(-0.05, 0.1)
    m.ankle_l[:, 2] = m.ankle_r[:, 2] = -_keys(t, (0, down), (0, feet))
    for s in (LEFT, RIGHT):
        lap = _at(s, -0.02, -0.55 * body.arm, 0.35 * body.arm)
        m.wrist(s)[:] = _keys(t, (0, 0.5 * down, down), [_hanging(body, s), _hanging(body, s, lean_in), lap])
    return m


def act_sit_down(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Sit down: pelvis down *and back*, trunk leans in then settles upright."""
    return [_sit(rng, bodies[0])]


def act_stand_up(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Stand up from a chair: sitting down played backwards."""
    return [_sit(rng, bodies[0]).map_tracks(lambda a: a[::-1].copy())]


def act_squat(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Squat down: knees forward, pelvis down (a little back), trunk leans forward; half the time up again."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    drop, back = rng.uniform(0.28, 0.45) * b.height / 1.75, rng.uniform(0.04, 0.12)
    bend = np.deg2rad(rng.uniform(25, 45))
    down, hold = rng.uniform(0.8, 1.3) / speed, rng.uniform(0.6, 1.5)
    rise = rng.uniform(0.8, 1.2) / speed if rng.random() < 0.5 else 0.0
    times = (0, down, down + hold, down + hold + rise)
    n, t = _time(times[-1])
    m = Motion.still(b, n)
    depth = _keys(t, times, (0, 1, 1, 0 if rise else 1))
    m.pelvis[:] = depth[:, None] * np.array([0.0, -drop, back])
    m.bend[:] = depth * bend
    arms_forward = rng.random() < 0.6
    for s in (LEFT, RIGHT):
        low = _at(s, 0.0, -0.15 * b.arm, 0.85 * b.arm) if arms_forward else _hanging(b, s, bend)
        m.wrist(s)[:] = (1 - depth[:, None]) * _hanging(b, s) + depth[:, None] * low
    return [m]


def act_jump(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Jump up: crouch with the arms back, fly (both feet leave the floor) with the arms up, land."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    jumps = 1 + int(rng.random() < 0.3)
    clock, crouches, flights = 0.1, [], []
    for _ in range(jumps):
        crouch = rng.uniform(0.35, 0.5) / speed
        height = amp * rng.uniform(0.08, 0.28)
        flight = 2 * np.sqrt(2 * height / 9.81)
        crouches.append((clock, clock + crouch, rng.uniform(0.08, 0.2)))
        flights.append((clock + crouch + 0.08, flight, height))
        clock += crouch + 0.08 + flight + rng.uniform(0.4, 0.7) / speed
    n, t = _time(clock)
    m = Motion.still(b, n)
    air = np.zeros(n)
    low = np.zeros(n)
    arms = np.zeros(n)  # -1 back, +1 up
    for (c0, c1, depth), (f0, flight, height) in zip(crouches, flights):
        x = np.clip((t - f0) / flight, 0, 1)
        air += np.where((t > f0) & (t < f0 + flight), 4 * height * x * (1 - x), 0.0)  # a parabola
        landing = f0 + flight
        low += _keys(t, (c0, c1, f0, landing, landing + 0.12, landing + 0.4), (0, depth, 0, 0, 0.7 * depth, 0))
        arms += _keys(t, (c0, c1, f0 + 0.5 * flight, landing + 0.3), (0, -1, 1, 0))
    m.pelvis[:, 1] = air - low
    m.bend[:] = 2.0 * low
    m.ankle_l[:, 1] = m.ankle_r[:, 1] = air
    for s in (LEFT, RIGHT):
        back, up = _at(s, 0.08, -0.8 * b.arm, -0.35 * b.arm), _at(s, 0.15, 0.5 * b.arm, 0.5 * b.arm)
        w_back, w_up = np.clip(-arms, 0, 1)[:, None], np.clip(arms, 0, 1)[:, None]
        m.wrist(s)[:] = (1 - w_back - w_up) * _hanging(b, s) + w_back * back + w_up * up
    return [m]


def act_turn_around(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Turn around on the spot by about half a turn, in small steps; sometimes turn back."""
    b = bodies[0]
    speed, _ = _tempo(rng, b)
    angle = np.deg2rad(rng.uniform(150, 200)) * rng.choice([-1, 1])
    turning = rng.uniform(1.2, 2.2) / speed
    back = rng.random() < 0.4
    pause = rng.uniform(0.3, 0.8)
    times, values = [0.0, turning], [0.0, angle]
    if back:
        times += [turning + pause, 2 * turning + pause]
        values += [angle, 0.0]
    n, t = _time(times[-1])
    m = Motion.still(b, n)
    m.turn[:] = _keys(t, times, values)
    lift = rng.uniform(0.04, 0.1)
    for start, end in ((0.0, turning),) + (((turning + pause, 2 * turning + pause),) if back else ()):
        up_l, up_r = _steps(t, start, end, int(rng.integers(3, 6)), lift)
        m.ankle_l[:, 1] += up_l
        m.ankle_r[:, 1] += up_r
    return [m]


def act_bow(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Bow: the trunk bends forward 30-75 degrees, holds, and comes back."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    depth = np.deg2rad(np.clip(amp * rng.uniform(30, 65), 30, 75))
    down, hold, up = rng.uniform(0.6, 1.0) / speed, rng.uniform(0.2, 0.9), rng.uniform(0.6, 1.0) / speed
    times = (0, down, down + hold, down + hold + up)
    n, t = _time(times[-1])
    m = Motion.still(b, n)
    m.bend[:] = _keys(t, times, (0, depth, depth, 0))
    m.nod[:] = m.bend * rng.uniform(0.1, 0.4)
    m.pelvis[:, 2] = 0.12 * np.sin(m.bend)  # hips go back to keep the balance
    folded = rng.random() < 0.3  # hands together in front, or hanging
    for s in (LEFT, RIGHT):
        m.wrist(s)[:] = _hands_front(b, s, np.full(n, 0.08), -0.45, 0.2) if folded else _hanging(b, s, m.bend)
    return [m]


def act_nod(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Nod: the head tilts forward and back 2-4 times; the trunk barely moves."""
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    freq, nods = rng.uniform(1.2, 2.2) * speed, int(rng.integers(2, 5))
    depth = np.deg2rad(amp * rng.uniform(12, 30))
    start = rng.uniform(0.1, 0.3)
    n, t = _time(start + nods / freq + 0.2)
    m = Motion.still(b, n)
    inside = (t >= start) & (t <= start + nods / freq)
    m.nod[:] = np.where(inside, depth * 0.5 * (1 - np.cos(2 * np.pi * freq * (t - start))), 0.0)
    m.bend[:] = m.nod * rng.uniform(0.0, 0.15)
    return [m]


def act_march(rng: np.random.Generator, bodies: Sequence[Body], run: bool = False) -> list[Motion]:
    """Walk (or run) in place: alternate knee lifts with the arms swinging against the legs.

    Running is faster, lifts the feet higher and usually bends the arms, but the ranges overlap.
    """
    b = bodies[0]
    speed, amp = _tempo(rng, b)
    steps_per_s = (rng.uniform(2.6, 3.4) if run else rng.uniform(1.5, 2.1)) * speed
    steps = int(rng.integers(5, 12) if run else rng.integers(3, 8))
    lift = amp * (rng.uniform(0.14, 0.3) if run else rng.uniform(0.1, 0.22))
    heel = rng.uniform(-0.3, 0.6) if run else rng.uniform(-0.4, 0.1)  # the lifted ankle goes back (+) or forward (-)
    bent_arms = rng.random() < (0.65 if run else 0.15)
    start = rng.uniform(0.1, 0.3)
    n, t = _time(start + steps / steps_per_s + 0.2)
    m = Motion.still(b, n)
    cycle = _wave(t, start, steps / 2, steps_per_s / 2)  # one cycle = two steps
    up_l, up_r = lift * np.clip(cycle, 0, None), lift * np.clip(-cycle, 0, None)
    for side, up in ((LEFT, up_l), (RIGHT, up_r)):
        m.ankle(side)[:, 1] = up
        m.ankle(side)[:, 2] = heel * up
    m.pelvis[:, 1] = (rng.uniform(0.015, 0.04) if run else -0.01) * np.abs(cycle)  # runners bounce, walkers dip
    m.pelvis[:, 0] = 0.02 * cycle  # the weight moves onto the standing leg
    swing = (rng.uniform(0.1, 0.2) if run else rng.uniform(0.05, 0.18)) * amp
    for side in (LEFT, RIGHT):
        base = _at(side, 0.08, -0.95 * b.upper_arm, 0.85 * b.forearm) if bent_arms else _hanging(b, side)
        m.wrist(side)[:] = base
        m.wrist(side)[:, 2] -= side * swing * cycle  # the right arm swings forward with the left knee
    if bent_arms:
        m.fist_l[:] = m.fist_r[:] = 0.7
    return [m]


# --- two people ----------------------------------------------------------------------------------


def _face_each_other(a: Motion, b: Motion, distance: float) -> None:
    """Place A at the left and B at the right of the scene, ``distance`` metres apart, facing each other."""
    a.place = (-distance / 2, 0.0, -np.pi / 2)  # heading -90 deg: A's forward is +x
    b.place = (distance / 2, 0.0, np.pi / 2)


def _meet(body: Body, side: int, height: float, distance: float, inward: float) -> np.ndarray:
    """Wrist target that puts the hand at the midpoint between two people, at ``height`` above the floor."""
    return _at(side, -inward * body.shoulder_half, height - body.shoulder_height, distance / 2 - 0.7 * body.hand)


def act_handshake(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Handshake: step closer, right hands meet between the two at waist height and shake 2-4 times."""
    a, b = bodies
    speed, _ = _tempo(rng, a)
    distance = (0.75 * (a.arm + b.arm) + a.hand + b.hand) * rng.uniform(0.95, 1.1)
    approach = rng.uniform(0.0, 0.4)
    walk, reach, shakes = rng.uniform(0.6, 1.0) / speed, rng.uniform(0.4, 0.7) / speed, int(rng.integers(2, 5))
    freq, shake = rng.uniform(2.0, 3.5), rng.uniform(0.02, 0.05)
    height = (a.shoulder_height + b.shoulder_height) / 2 - rng.uniform(0.4, 0.55)
    t_meet = walk + reach
    t_release = t_meet + shakes / freq + rng.uniform(0.1, 0.3)
    n, t = _time(t_release + rng.uniform(0.5, 0.8) / speed)
    motions = []
    for body in (a, b):
        m = Motion.still(body, n)
        _start_back(m, approach / 2)  # start further apart ...
        _step_to(m, t, 0.0, walk, approach / 2)  # ... and step in
        hand = _meet(body, RIGHT, height, distance, 0.85)
        path = [_hanging(body, RIGHT), _hanging(body, RIGHT), hand, hand, _hanging(body, RIGHT)]
        m.wrist_r[:] = _keys(t, (0, walk * 0.5, t_meet, t_release, t[-1]), path)
        m.wrist_r[:, 1] += shake * _wave(t, t_meet, shakes, freq)
        motions.append(m)
    _face_each_other(*motions, distance)
    return motions


def act_high_five(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """High five: right hands go up and hit once above the heads, then come down."""
    a, b = bodies
    speed, _ = _tempo(rng, a)
    distance = (0.6 * (a.arm + b.arm) + a.hand + b.hand) * rng.uniform(0.95, 1.1)
    height = max(a.head_height, b.head_height) + rng.uniform(-0.05, 0.15)
    lift, hit, down = rng.uniform(0.4, 0.7) / speed, rng.uniform(0.1, 0.2) / speed, rng.uniform(0.5, 0.8) / speed
    start = rng.uniform(0.1, 0.4)
    times = (0, start, start + lift, start + lift + hit, start + lift + 2 * hit, start + lift + 2 * hit + down)
    n, t = _time(times[-1] + 0.2)
    motions = []
    for body in (a, b):
        m = Motion.still(body, n)
        contact = _meet(body, RIGHT, height, distance, 0.6)
        ready = contact + np.array([0.0, -0.05, 0.15])  # a little back, before the hit
        rest = _hanging(body, RIGHT)
        m.wrist_r[:] = _keys(t, times, [rest, rest, ready, contact, ready, rest])
        motions.append(m)
    _face_each_other(*motions, distance)
    return motions


def act_push(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Push: A shoves B's chest with both hands; B is thrown back a step and recovers."""
    a, b = bodies
    speed, amp = _tempo(rng, a)
    distance = rng.uniform(0.55, 0.75)
    start, shove, hold = rng.uniform(0.2, 0.5), rng.uniform(0.2, 0.35) / speed, rng.uniform(0.1, 0.25)
    contact = start + shove
    pushed = amp * rng.uniform(0.2, 0.45)
    n, t = _time(contact + hold + rng.uniform(1.0, 1.4))
    pusher, victim = Motion.still(a, n), Motion.still(b, n)
    reach = min(0.95 * a.arm, distance - 0.12)
    for s in (LEFT, RIGHT):
        hands = _at(s, -0.3 * a.shoulder_half, b.shoulder_height - a.shoulder_height - rng.uniform(0.05, 0.15), reach)
        pusher.wrist(s)[:] = _keys(
            t,
            (0, start, contact, contact + hold, contact + hold + 0.5),
            [_hanging(a, s), _hanging(a, s), hands, hands, _hanging(a, s)],
        )
        flail = _at(s, 0.15, -0.5 * b.arm, 0.2)
        victim.wrist(s)[:] = _keys(
            t, (0, contact, contact + 0.2, contact + 1.0), [_hanging(b, s), _hanging(b, s), flail, _hanging(b, s)]
        )
    _step_to(pusher, t, start, contact + 0.1, rng.uniform(0.05, 0.15), lift=0.04)
    pusher.bend[:] = _keys(t, (0, start, contact, contact + hold + 0.5), (0, 0, np.deg2rad(rng.uniform(5, 15)), 0))
    _step_to(victim, t, contact - 0.05, contact + 0.45, -pushed, lift=0.05)
    victim.bend[:] = _keys(
        t, (0, contact - 0.05, contact + 0.15, contact + 0.9), (0, 0, -np.deg2rad(rng.uniform(5, 20)), 0)
    )
    motions = [pusher, victim]
    _face_each_other(*motions, distance)
    return motions


def act_hug(rng: np.random.Generator, bodies: Sequence[Body]) -> list[Motion]:
    """Hug: two people step in and wrap their arms around each other (one arm high, one low), hold, let go."""
    a, b = bodies
    speed, _ = _tempo(rng, a)
    far, near = rng.uniform(0.8, 1.1), rng.uniform(0.24, 0.32)  # pelvis to pelvis; chests touch
    walk, hold = rng.uniform(0.8, 1.2) / speed, rng.uniform(1.0, 2.2)
    release = walk + hold
    step_back = rng.random() < 0.5
    n, t = _time(release + rng.uniform(0.6, 1.0) / speed)
    high_a = RIGHT if rng.random() < 0.5 else LEFT
    motions = []
    for body, high in ((a, high_a), (b, -high_a)):
        m = Motion.still(body, n)
        _start_back(m, (far - near) / 2)
        _step_to(m, t, 0.0, walk, (far - near) / 2)
        if step_back:
            _step_to(m, t, release, t[-1], -(far - near) / 4)
        for s in (LEFT, RIGHT):
            up = -0.02 if s == high else -0.3
            around = _at(s, -body.shoulder_half - rng.uniform(0.0, 0.12), up, near + rng.uniform(0.0, 0.08))
            rest = _hanging(body, s)
            m.wrist(s)[:] = _keys(
                t, (0, 0.4 * walk, walk, release, release + 0.5 / speed), [rest, rest, around, around, rest]
            )
        m.elbows_out[:] = _keys(t, (0, walk, release, release + 0.5 / speed), (0, 1, 1, 0))
        if rng.random() < 0.5:  # pat on the back
            m.wrist(high)[:, 1] += 0.03 * _wave(t, walk + 0.2, 3, 3.0)
        m.bend[:] = _keys(t, (0, walk, release, release + 0.4), (0, np.deg2rad(10), np.deg2rad(10), 0))
        motions.append(m)
    _face_each_other(*motions, near)
    return motions


@dataclass(frozen=True)
class ActionSpec:
    """One class of the built-in dataset: its name, how many people, how it is made, what tells it apart."""

    name: str
    persons: int
    make: Callable[[np.random.Generator, Sequence[Body]], list[Motion]]
    cue: str
    confusable_with: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("wave right hand", 1, partial(act_wave, side=RIGHT), "right hand raised beside the head, swinging side to side", "raise right hand, wave left hand"),
    ActionSpec("wave left hand", 1, partial(act_wave, side=LEFT), "the same with the left hand", "wave right hand"),
    ActionSpec("raise right hand", 1, partial(act_raise_hand, sides=(RIGHT,)), "right hand raised and held, no swing", "wave right hand"),
    ActionSpec("raise both hands", 1, partial(act_raise_hand, sides=(LEFT, RIGHT)), "both hands raised and held", "raise right hand"),
    ActionSpec("clap", 1, act_clap, "hands meet and part in front of the chest", "rub hands"),
    ActionSpec("rub hands", 1, act_rub_hands, "hands stay together and slide in small circles", "clap"),
    ActionSpec("punch forward", 1, partial(act_extend_arm, fast=True), "fast forward extension of the right fist, once or twice, sometimes from a guard", "reach forward"),
    ActionSpec("reach forward", 1, partial(act_extend_arm, fast=False), "the same path, slow, with an open hand", "punch forward"),
    ActionSpec("kick forward", 1, partial(act_kick, sideways=False), "one leg (usually the right) swings forward and up", "side kick"),
    ActionSpec("side kick", 1, partial(act_kick, sideways=True), "one leg swings sideways, the trunk leans away", "kick forward"),
    ActionSpec("squat down", 1, act_squat, "knees forward, pelvis drops, trunk leans forward; half the time up again", "sit down, jump up"),
    ActionSpec("sit down", 1, act_sit_down, "pelvis drops and moves back, trunk upright at the end", "squat down"),
    ActionSpec("stand up", 1, act_stand_up, "sit down played backwards", "sit down"),
    ActionSpec("jump up", 1, act_jump, "crouch, flight with both feet off the floor, landing", "squat down"),
    ActionSpec("turn around", 1, act_turn_around, "the whole body turns by about half a turn, stepping", "walk in place"),
    ActionSpec("bow", 1, act_bow, "the trunk bends forward 30-75 degrees and comes back", "nod head"),
    ActionSpec("nod head", 1, act_nod, "only the head nods, 2-4 times", "bow"),
    ActionSpec("walk in place", 1, partial(act_march, run=False), "alternate knee lifts, arms swing loosely, slow", "run in place"),
    ActionSpec("run in place", 1, partial(act_march, run=True), "the same, faster and higher, usually with bent arms", "walk in place"),
    ActionSpec("handshake", 2, act_handshake, "right hands meet between the two at waist height and shake", "high five"),
    ActionSpec("high five", 2, act_high_five, "right hands meet above the heads, once", "handshake"),
    ActionSpec("push", 2, act_push, "one pushes with both hands, the other steps back", "hug"),
    ActionSpec("hug", 2, act_hug, "both step in and wrap their arms around each other", "push"),
)  # fmt: skip

# The names live in data/resources/builtin.txt (read by data.classes, which every reader uses);
# the table above must list the same actions in the same order.
CLASS_NAMES: tuple[str, ...] = tuple(class_names("builtin"))
if CLASS_NAMES != tuple(a.name for a in ACTIONS):
    raise RuntimeError("data/resources/builtin.txt and synthetic.ACTIONS list different class names")


# ------------------------------------------------------------------------------------------------
# Configuration, cameras and the sensor
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything that defines a built-in dataset. The defaults are the standard one (1,380 samples).

    One sample per (action, subject, camera, replication); all cameras record the same take. Noise
    is in metres; ``*_prob`` are per-take probabilities (dropouts: per body).
    """

    seed: int = 0
    subjects: int = 10  # performers P001..
    cameras: int = 3  # C001.. at horizontal angles 0, -45, +45 (then -90, +90) degrees
    replications: int = 2  # R001.. (R001 faces camera 2, R002 camera 3)
    labels: tuple[int, ...] | None = None  # a subset of classes (by label), None = all
    xsub_train_subjects: tuple[int, ...] = XSUB_TRAIN_SUBJECTS
    holdout_subjects: int = 2  # extra performers after ``subjects``, only in the ``xsub_holdout`` split
    xview_train_cameras: tuple[int, ...] = (2, 3)
    min_frames: int = 40
    max_frames: int = 160
    noise_std: float = 0.008  # jitter of a joint (hands, feet, depth and hidden joints get more)
    flicker: float = 0.12  # frame-to-frame part of the jitter, relative to its slow part
    joint_dropout_prob: float = 0.3  # a body loses some joints for a few frames (reported as inferred: held)
    swap_prob: float = 0.15  # a side-on body has its left and right arms or legs swapped for a few frames
    frame_dropout_prob: float = 0.2  # a take has 1-4 all-zero frames
    bystander_prob: float = 0.03  # a single-person take has someone standing in the room for a while

    def __post_init__(self) -> None:
        if self.subjects < 1 or self.replications < 1 or self.holdout_subjects < 0:
            raise ValueError("subjects and replications must be at least 1 (holdout_subjects at least 0)")
        if not 1 <= self.cameras <= len(CAMERA_ANGLES_DEG):
            raise ValueError(f"cameras must be 1..{len(CAMERA_ANGLES_DEG)}, got {self.cameras}")
        if not 8 <= self.min_frames <= self.max_frames:
            raise ValueError(f"need 8 <= min_frames <= max_frames, got {self.min_frames}, {self.max_frames}")
        if self.labels is not None and not all(0 <= lab < len(ACTIONS) for lab in self.labels):
            raise ValueError(f"labels must be in 0..{len(ACTIONS) - 1}")
        for name in ("noise_std", "flicker", "joint_dropout_prob", "swap_prob", "frame_dropout_prob", "bystander_prob"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    def label_list(self) -> list[int]:
        """The labels this config generates, in order."""
        return sorted(set(self.labels)) if self.labels is not None else list(range(len(ACTIONS)))

    def in_xsub_train(self, subject: int) -> bool:
        """Whether a performer belongs to the cross-subject training group."""
        return subject in self.xsub_train_subjects and not self.is_holdout(subject)

    def is_holdout(self, subject: int) -> bool:
        """Whether a performer is one of the held-out ones (the ``xsub_holdout`` split)."""
        return subject > self.subjects

    def group(self, subject: int) -> str:
        """'train', 'val' or 'holdout': the cross-subject group of a performer."""
        return "holdout" if self.is_holdout(subject) else "train" if self.in_xsub_train(subject) else "val"

    @property
    def all_subjects(self) -> range:
        """Every performer generated: the split performers, then the held-out ones."""
        return range(1, self.subjects + self.holdout_subjects + 1)


def setup_of(subject: int) -> int:
    """The recording setup (S) of a performer: two performers per setup, as NTU mixed them."""
    return 1 + (subject - 1) // 2


def frame_dir(label: int, subject: int, camera: int, replication: int) -> str:
    """NTU-style sample id ``SsssCcccPpppRrrrAaaa`` (A = label + 1), written by NTU's own :class:`~.ntu.NTUSampleId`."""
    return NTUSampleId(setup_of(subject), camera, subject, replication, label + 1).name


def _rng(cfg: SyntheticConfig, stream: int, *ids: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, stream, *ids])


def _body(cfg: SyntheticConfig, subject: int) -> Body:
    return make_body(_rng(cfg, _BODY, subject))


def _partner(cfg: SyntheticConfig, subject: int, replication: int, offset: int = 1) -> int:
    """Another performer from the same cross-subject group (so a split never leaks a body)."""
    group = [s for s in cfg.all_subjects if cfg.group(s) == cfg.group(subject)] or [subject]
    if len(group) == 1:
        return subject
    i = group.index(subject)
    step = 1 + (replication + offset - 1) % (len(group) - 1)
    return group[(i + step) % len(group)]


def _camera_frame(cfg: SyntheticConfig, subject: int, camera: int) -> tuple[np.ndarray, np.ndarray]:
    """A camera of a setup: its position and its axes (rows: x = sensor's left, y = up, z = viewing direction)."""
    rng = _rng(cfg, _CAMERA, setup_of(subject), camera)
    angle = np.deg2rad(CAMERA_ANGLES_DEG[camera - 1])
    distance, height = rng.uniform(2.6, 3.6), rng.uniform(0.75, 1.3)
    position = np.array([distance * np.sin(angle), height, -distance * np.cos(angle)])
    ahead = np.array([-np.sin(angle), 0.0, np.cos(angle)])  # horizontal, towards the subject
    tilt = np.arctan2(height - 0.9, distance) + np.deg2rad(rng.normal(0, 2))  # aims at the body's middle
    forward = np.cos(tilt) * ahead - np.sin(tilt) * np.array([0.0, 1.0, 0.0])
    left = _unit(np.cross([0.0, 1.0, 0.0], ahead))  # the sensor's left = the right of someone facing it
    up = np.cross(forward, left)
    return position, np.stack([left, up, forward])


def _to_camera(points: np.ndarray, position: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return (points - position) @ axes.T


_HAND_JOINTS = (WRIST_L, HAND_L, TIP_L, THUMB_L, WRIST_R, HAND_R, TIP_R, THUMB_R)
_TIPS = (TIP_L, THUMB_L, TIP_R, THUMB_R)
_FOOT_JOINTS = (ANKLE_L, FOOT_L, ANKLE_R, FOOT_R)
_LEFT_JOINTS = (SHOULDER_L, ELBOW_L, WRIST_L, HAND_L, HIP_L, KNEE_L, ANKLE_L, FOOT_L, TIP_L, THUMB_L)
_RIGHT_JOINTS = (SHOULDER_R, ELBOW_R, WRIST_R, HAND_R, HIP_R, KNEE_R, ANKLE_R, FOOT_R, TIP_R, THUMB_R)
_DROPOUTS = (  # what Kinect loses, most often first: joint chains that vanish together
    (TIP_R, THUMB_R), (TIP_L, THUMB_L), (HAND_R, TIP_R, THUMB_R), (HAND_L, TIP_L, THUMB_L),
    (FOOT_R,), (FOOT_L,), (ANKLE_R, FOOT_R), (ANKLE_L, FOOT_L),
    (WRIST_R, HAND_R, TIP_R, THUMB_R), (WRIST_L, HAND_L, TIP_L, THUMB_L), (ELBOW_R,), (ELBOW_L,), (HEAD,),
)  # fmt: skip
_DROPOUT_WEIGHTS = np.array([4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1], float)


# The body tree as the sensor fits it (child -> parent), and the joints in an order where every parent
# comes before its children (the root, SpineShoulder, first).
_PARENT = {
    SPINE_MID: SPINE_SHOULDER, SPINE_BASE: SPINE_MID, NECK: SPINE_SHOULDER, HEAD: NECK,
    SHOULDER_L: SPINE_SHOULDER, ELBOW_L: SHOULDER_L, WRIST_L: ELBOW_L, HAND_L: WRIST_L, TIP_L: HAND_L, THUMB_L: HAND_L,
    SHOULDER_R: SPINE_SHOULDER, ELBOW_R: SHOULDER_R, WRIST_R: ELBOW_R, HAND_R: WRIST_R, TIP_R: HAND_R, THUMB_R: HAND_R,
    HIP_L: SPINE_BASE, KNEE_L: HIP_L, ANKLE_L: KNEE_L, FOOT_L: ANKLE_L,
    HIP_R: SPINE_BASE, KNEE_R: HIP_R, ANKLE_R: KNEE_R, FOOT_R: ANKLE_R,
}  # fmt: skip
_TREE_ORDER = (
    SPINE_MID, NECK, SHOULDER_L, SHOULDER_R, SPINE_BASE, HEAD, ELBOW_L, ELBOW_R, HIP_L, HIP_R, WRIST_L, WRIST_R,
    KNEE_L, KNEE_R, HAND_L, HAND_R, ANKLE_L, ANKLE_R, TIP_L, THUMB_L, TIP_R, THUMB_R, FOOT_L, FOOT_R,
)  # fmt: skip
# What Kinect confuses when a body is side-on: the two arms, or the two legs, for a few frames.
_SWAPS = (
    ((SHOULDER_L, ELBOW_L, WRIST_L, HAND_L, TIP_L, THUMB_L), (SHOULDER_R, ELBOW_R, WRIST_R, HAND_R, TIP_R, THUMB_R)),
    ((HIP_L, KNEE_L, ANKLE_L, FOOT_L), (HIP_R, KNEE_R, ANKLE_R, FOOT_R)),
)  # fmt: skip


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], every: int = 4) -> np.ndarray:
    """Unit Gaussian noise that wanders slowly: random knots every ``every`` frames, joined by a
    smooth (cosine) blend, rescaled to unit variance."""
    t = shape[0]
    knots = rng.normal(0.0, 1.0, (t // every + 2,) + shape[1:])
    x = np.arange(t) / every
    i = x.astype(int)
    w = 0.5 - 0.5 * np.cos(np.pi * (x - i))
    w = w.reshape((-1,) + (1,) * (len(shape) - 1))
    return ((1 - w) * knots[i] + w * knots[i + 1]) / np.sqrt((1 - w) ** 2 + w**2)


def _along_the_tree(noise: np.ndarray, rho: float) -> np.ndarray:
    """Noise ``(T, 25, 3)`` made to follow the body tree: each joint keeps ``rho`` of its parent's
    error (a fitted skeleton moves a limb as a whole), every joint's variance stays one."""
    out = noise.copy()
    keep = np.sqrt(1.0 - rho**2)
    for v in _TREE_ORDER:
        out[:, v] = keep * noise[:, v] + rho * out[:, _PARENT[v]]
    return out


def _sensor(
    rng: np.random.Generator,
    joints: np.ndarray,
    axes: np.ndarray,
    turn: np.ndarray,
    heading: float,
    cfg: SyntheticConfig,
) -> np.ndarray:
    """Kinect-like errors on one body ``(T, 25, 3)`` in camera space.

    * jitter that wanders over a few frames (Kinect v2 smooths its estimate), shared along the body
      tree (a limb's error moves its children too, so bones are steadier than joints), with a little
      frame-to-frame flicker; larger on hands and feet, along the depth axis and on the far side;
    * left and right arms or legs swapped for a few frames while the body is side-on;
    * joints the sensor loses for a few frames: it reports them as *inferred*, held near the last
      tracked position with a larger wander, then they snap back (Kinect does not report zeros).
    """
    t = len(joints)
    scale = np.ones((t, NUM_JOINTS))
    scale[:, list(_HAND_JOINTS)] = 1.5
    scale[:, list(_TIPS)] = 2.0
    scale[:, list(_FOOT_JOINTS)] = 1.3
    # The side turned away from the camera is tracked worse: its "right" axis points away from the sensor.
    right_axis = np.stack([np.cos(turn + heading), np.zeros(t), -np.sin(turn + heading)], axis=-1) @ axes.T
    away = right_axis[:, 2]  # > 0: the right side is further from the camera
    scale[:, list(_RIGHT_JOINTS)] *= 1 + 1.2 * np.clip(away, 0, None)[:, None]
    scale[:, list(_LEFT_JOINTS)] *= 1 + 1.2 * np.clip(-away, 0, None)[:, None]
    sigma = cfg.noise_std * rng.uniform(0.6, 1.4)
    jitter = _along_the_tree(_smooth_noise(rng, joints.shape, every=5) + cfg.flicker * rng.normal(0.0, 1.0, joints.shape), 0.8)
    noise = jitter * (sigma * scale)[..., None] * np.array([1.0, 1.0, 1.3])
    glitch = rng.random((t, len(_TIPS))) < 0.01  # hand tips and thumbs jump now and then
    noise[:, list(_TIPS)] += glitch[..., None] * rng.normal(0.0, 3.75 * cfg.noise_std, (t, len(_TIPS), 3))  # 3 cm
    out = joints + noise
    side_on = np.nonzero(np.abs(away) > 0.6)[0]
    if len(side_on) and rng.random() < cfg.swap_prob:
        left, right = _SWAPS[int(rng.random() < 0.6)]  # legs more often than arms
        start = int(rng.choice(side_on))
        span = slice(start, start + int(rng.integers(2, 10)))
        out[span, list(left) + list(right)] = out[span, list(right) + list(left)]
    if t > 2 and rng.random() < cfg.joint_dropout_prob:
        for _ in range(int(rng.integers(1, 4))):
            chain = list(_DROPOUTS[rng.choice(len(_DROPOUTS), p=_DROPOUT_WEIGHTS / _DROPOUT_WEIGHTS.sum())])
            start = int(rng.integers(1, t - 1))
            n = min(int(rng.integers(2, 16)), t - start)
            drift = 2.0 * sigma * _smooth_noise(rng, (n, len(chain), 3), every=5)
            out[start : start + n, chain] = out[start - 1, chain] + drift
    return out


# ------------------------------------------------------------------------------------------------
# Samples and the dataset
# ------------------------------------------------------------------------------------------------


def _fit_length(motions: list[Motion], rng: np.random.Generator, cfg: SyntheticConfig) -> list[Motion]:
    """Pad the action with idle frames before and after (0.2-1.2 s each) within the frame range."""
    n = len(motions[0])
    if n > cfg.max_frames - 4:  # too long: the performer was quicker
        keep = cfg.max_frames - 4 - int(rng.integers(0, 20))
        keep = max(keep, cfg.min_frames // 2, 2)
        src = np.linspace(0, n - 1, keep)
        motions = [m.map_tracks(lambda a: _resample(a, src)) for m in motions]
        n = keep
    pre, post = (int(x) for x in rng.integers(6, 37, size=2))
    room = cfg.max_frames - n
    if pre + post > room:
        pre, post = int(pre * room / (pre + post)), room - int(pre * room / (pre + post))
    if pre + n + post < cfg.min_frames:
        extra = cfg.min_frames - (pre + n + post)
        pre, post = pre + extra // 2, post + extra - extra // 2
    return [m.map_tracks(lambda a: np.pad(a, [(pre, post)] + [(0, 0)] * (a.ndim - 1), mode="edge")) for m in motions]


def _resample(track: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Linear resampling of a track (time on axis 0) at fractional frame positions ``src``."""
    i = np.clip(np.floor(src).astype(int), 0, len(track) - 2)
    w = (src - i).reshape((-1,) + (1,) * (track.ndim - 1))
    return (1 - w) * track[i] + w * track[i + 1]


def _idle_sway(m: Motion, rng: np.random.Generator) -> None:
    """Nobody stands perfectly still: a slow sway of the pelvis and the trunk, and a little head movement."""
    t = np.arange(len(m)) / FPS
    for k, amp in ((0, 0.012), (2, 0.01)):
        m.pelvis[:, k] += (
            amp * rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * rng.uniform(0.15, 0.4) * t + rng.uniform(0, 2 * np.pi))
        )
    m.lean += np.deg2rad(1.0) * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
    m.nod += np.deg2rad(2.0) * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 2 * np.pi))


def _check_sample_args(label: int, subject: int, camera: int, replication: int, cfg: SyntheticConfig) -> None:
    if not 0 <= label < len(ACTIONS):
        raise ValueError(f"label must be in 0..{len(ACTIONS) - 1}, got {label}")
    if subject < 1 or replication < 1:
        raise ValueError(f"subject and replication count from 1, got {subject}, {replication}")
    if not 1 <= camera <= cfg.cameras:
        raise ValueError(f"camera must be in 1..{cfg.cameras}, got {camera}")


def generate_sample(
    label: int, subject: int, camera: int, replication: int, cfg: SyntheticConfig | None = None
) -> dict:
    """One annotation record: action ``label`` by performer ``subject``, seen by ``camera``, take ``replication``."""
    cfg = cfg or SyntheticConfig()
    _check_sample_args(label, subject, camera, replication, cfg)
    spec = ACTIONS[label]
    # The take (motion, scene) does not depend on the camera: all cameras record the same performance.
    take_rng = _rng(cfg, _PERFORMANCE, label, subject, replication)
    performers = [subject] + ([_partner(cfg, subject, replication)] if spec.persons == 2 else [])
    bodies = [_body(cfg, p) for p in performers]
    motions = _fit_length(spec.make(take_rng, bodies), take_rng, cfg)
    for m in motions:
        _idle_sway(m, take_rng)
    # The scene faces camera 2 in odd takes and camera 3 in even ones; pairs stand sideways-on.
    facing = 45.0 if replication % 2 == 1 else -45.0
    heading = np.deg2rad(facing * (0.5 if spec.persons == 2 else 1.0) + take_rng.normal(0, 8))
    offset = take_rng.uniform(-0.2, 0.2, size=2)
    scene_rng = _rng(cfg, _SCENE, label, subject, replication)
    frames = len(motions[0])
    bystander = spec.persons == 1 and scene_rng.random() < cfg.bystander_prob
    if bystander:  # someone standing in the room, off to one side, for part of the take
        bodies.append(_body(cfg, _partner(cfg, subject, replication, offset=2)))
        still = Motion.still(bodies[-1], frames)
        _idle_sway(still, scene_rng)
        side, back = scene_rng.choice([-1, 1]) * scene_rng.uniform(1.0, 1.8), scene_rng.uniform(0.3, 1.5)
        still.place = (side, back, scene_rng.uniform(-0.5, 0.5))
        motions.append(still)
        seen = int(frames * scene_rng.uniform(0.3, 0.7))
        first = int(scene_rng.integers(0, frames - seen + 1))
    position, axes = _camera_frame(cfg, subject, camera)
    sensor_rng = _rng(cfg, _SENSOR, label, subject, camera, replication)
    rot = _rot(1, np.asarray(heading))
    people = []
    for body, m in zip(bodies, motions):
        world = np.einsum("ij,tvj->tvi", rot, pose(body, m)) + np.array([offset[0], 0.0, offset[1]])
        people.append(_sensor(sensor_rng, _to_camera(world, position, axes), axes, m.turn, heading + m.place[2], cfg))
    keypoint = np.stack(people)  # (M, T, 25, 3)
    if bystander:
        keypoint[1, :first] = 0.0
        keypoint[1, first + seen :] = 0.0
    if frames > 2 and sensor_rng.random() < cfg.frame_dropout_prob:  # whole frames lost
        lost = sensor_rng.choice(
            np.arange(1, frames), size=min(int(sensor_rng.integers(1, 5)), frames - 1), replace=False
        )
        keypoint[:, lost] = 0.0
    return {
        "frame_dir": frame_dir(label, subject, camera, replication),
        "label": int(label),
        "total_frames": int(frames),
        "keypoint": keypoint.astype(np.float16),
    }


def _split(records: Sequence[dict], cfg: SyntheticConfig) -> dict[str, list[str]]:
    """NTU-style splits: ``xsub_*`` by performer, ``xview_*`` by camera; the held-out performers
    form ``xsub_holdout`` alone (for tuning, e.g. fusion weights, away from the reported split)."""
    split: dict[str, list[str]] = {"xsub_train": [], "xsub_val": [], "xview_train": [], "xview_val": [], "xsub_holdout": []}
    for rec in records:
        name = rec["frame_dir"]
        subject, camera = int(name[9:12]), int(name[5:8])
        if cfg.is_holdout(subject):
            split["xsub_holdout"].append(name)
            continue
        split["xsub_train" if cfg.in_xsub_train(subject) else "xsub_val"].append(name)
        split["xview_train" if camera in cfg.xview_train_cameras else "xview_val"].append(name)
    return split


def generate(cfg: SyntheticConfig | None = None) -> Annotations:
    """The whole built-in dataset for ``cfg`` (default: the standard one), records sorted by ``frame_dir``."""
    cfg = cfg or SyntheticConfig()
    records = [
        generate_sample(label, subject, camera, rep, cfg)
        for label in cfg.label_list()
        for subject in cfg.all_subjects
        for camera in range(1, cfg.cameras + 1)
        for rep in range(1, cfg.replications + 1)
    ]
    records.sort(key=lambda r: r["frame_dir"])
    return Annotations(records, _split(records, cfg), list(CLASS_NAMES), LAYOUT, source=f"<builtin seed={cfg.seed}>")


# ------------------------------------------------------------------------------------------------
# The cached annotation file
# ------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where the built-in file is cached: ``$AAGCN_LAB_CACHE``, else ``~/.cache/aagcn_lab``."""
    env = os.environ.get("AAGCN_LAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "aagcn_lab"


def _cache_name(cfg: SyntheticConfig) -> str:
    settings = asdict(cfg)
    settings.pop("seed")
    if settings == {k: v for k, v in asdict(SyntheticConfig()).items() if k != "seed"}:
        return f"builtin-v{VERSION}-{cfg.seed}.pkl"
    digest = hashlib.sha1(repr(sorted(settings.items())).encode()).hexdigest()[:10]
    return f"builtin-v{VERSION}-{cfg.seed}-{digest}.pkl"


def builtin_annotations(
    path: str | os.PathLike | None = None, cfg: SyntheticConfig | None = None, overwrite: bool = False
) -> Path:
    """Path of the built-in annotation file, generated (atomically) if missing; read it with ``load_annotations``."""
    cfg = cfg or SyntheticConfig()
    path = Path(path) if path is not None else cache_dir() / _cache_name(cfg)
    if path.exists() and not overwrite:
        return path
    ann = generate(cfg)
    return save_annotations(path, ann.annotations, ann.split, label_names=CLASS_NAMES, layout=LAYOUT)


def describe(cfg: SyntheticConfig | None = None) -> str:
    """A plain-text table of the classes (what tells each apart, what it is confused with) and the splits."""
    cfg = cfg or SyntheticConfig()
    labels = cfg.label_list()
    width = max(len(a.name) for a in ACTIONS)
    lines = [f"Built-in dataset v{VERSION} (seed {cfg.seed}): {len(labels)} classes, NTU layout, 30 fps, "
             f"{cfg.min_frames}-{cfg.max_frames} frames", ""]  # fmt: skip
    lines.append(f" #  {'class':<{width}}  M  what distinguishes it  [confusable with]")
    for label in labels:
        a = ACTIONS[label]
        lines.append(f"{label:2d}  {a.name:<{width}}  {a.persons}  {a.cue}  [{a.confusable_with}]")
    subjects = range(1, cfg.subjects + 1)
    train = [s for s in subjects if cfg.in_xsub_train(s)]
    val = [s for s in subjects if not cfg.in_xsub_train(s)]
    cams = range(1, cfg.cameras + 1)
    holdout = [s for s in cfg.all_subjects if cfg.is_holdout(s)]
    per_class = len(cfg.all_subjects) * cfg.cameras * cfg.replications
    lines += [
        "",
        f"Samples: {per_class} per class ({len(cfg.all_subjects)} performers x {cfg.cameras} cameras x {cfg.replications} "
        f"takes), {per_class * len(labels)} in all; the cameras of a take record the same performance.",
        f"xsub: train performers {train}, val performers {val} (partners come from the same group).",
        f"xsub_holdout: performers {holdout}, in no other split -- for tuning (e.g. fusion weights) away from val.",
        f"Sensor: jitter of about {cfg.noise_std * 100:.1f} cm that wanders over a few frames, shared along the body tree "
        f"(more on hands, feet, depth and the far side); left/right limbs swapped for a few frames in {cfg.swap_prob:.0%} "
        f"of side-on bodies; joints lost (held, as Kinect's inferred joints) for a few frames in "
        f"{cfg.joint_dropout_prob:.0%} of bodies, 1-4 lost frames in "
        f"{cfg.frame_dropout_prob:.0%} of takes, a bystander (M = 2) in {cfg.bystander_prob:.0%} of one-person takes.",
        f"xview: train cameras {[c for c in cams if c in cfg.xview_train_cameras]}, "
        f"val cameras {[c for c in cams if c not in cfg.xview_train_cameras]} "
        f"(camera angles {[CAMERA_ANGLES_DEG[c - 1] for c in cams]} degrees).",
    ]
    return "\n".join(lines)
