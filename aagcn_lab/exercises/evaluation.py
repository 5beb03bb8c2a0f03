"""Exercises on attention maps, streams, fusion and 2D input (notebooks 04-07)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .core import Wrong, call, expect_array, expect_number, register

__all__ = ["column_centred_solution", "motion_solution", "fuse_by_id_solution", "normalise_2d_solution"]

NB04, NB05, NB06, NB07 = "04_attention_maps", "05_four_streams", "06_fusion", "07_your_own_skeletons"


# ------------------------------------------------------------------------------------------------
# 04: attention maps
# ------------------------------------------------------------------------------------------------


def column_centred_solution(values):
    """Each column minus its mean over the rows: (actions, joints) -> what an action has more than the average action."""
    values = np.asarray(values, dtype=float)
    return values - values.mean(axis=0, keepdims=True)


def _check_column_centred(fn) -> str:
    from ..analysis import column_centred

    rng = np.random.default_rng(4)
    for shape in ((23, 25), (5, 7)):
        v = rng.uniform(0.3, 0.9, size=shape)
        got = call(fn, v.copy(), what=f"my_column_centred on a {shape} table")
        want = column_centred(v)
        mistakes = [
            ("centred over the wrong axis: subtract each *column's* (joint's) mean over the actions, not each row's mean",
             v - v.mean(axis=1, keepdims=True)),
            ("the overall mean was subtracted; subtract each column's own mean", v - v.mean()),
            ("divided by the standard deviation too: centring only subtracts the mean",
             (v - v.mean(axis=0, keepdims=True)) / v.std(axis=0, keepdims=True)),
        ]  # fmt: skip
        expect_array(got, want, f"my_column_centred on a {shape} table", mistakes)
    return "equal to analysis.column_centred: every column now has mean 0"


register(
    "column_centred", "implement", NB04,
    "write `my_column_centred(values)`: each column (joint) of an (actions, joints) table minus its mean over the actions",
    column_centred_solution, _check_column_centred,
    hint="values.mean(axis=0, keepdims=True) is the mean of every column.",
)  # fmt: skip


def _attention_gain(**_) -> tuple[float, float]:
    return (1.0, 2.0)


def _check_attention_gain(answer) -> str:
    try:
        low, high = (float(a) for a in answer)
    except (TypeError, ValueError):
        raise Wrong(f"give two numbers (smallest, largest), got {answer!r}") from None
    if (low, high) == (0.0, 1.0):
        raise Wrong("(0, 1) is the range of the sigmoid a; the feature is multiplied by 1 + a")
    if low < 1 and np.isclose(high, 2):
        raise Wrong("it can never suppress: with a >= 0 the factor 1 + a is at least 1")
    if not (np.isclose(low, 1) and np.isclose(high, 2)):
        raise Wrong(f"you said ({low:g}, {high:g}); y * (1 + a) with a in (0, 1) gives a factor between 1 and 2")
    return "yes: x1 (a = 0) to x2 (a = 1); a unit can amplify a joint, a frame or a channel, never suppress it"


register(
    "attention_gain", "predict", NB04,
    "one attention step multiplies a feature by at least and at most what factor? (smallest, largest)",
    _attention_gain, _check_attention_gain,
    explanation="a = sigmoid(...) lies in (0, 1) and the step is residual, y * (1 + a).",
    stub="my_range",
)  # fmt: skip


def _shared_top3(spatial: Any = None, **_) -> int:
    from ..analysis import top_columns

    if spatial is None:
        raise TypeError("needs the notebook's per-action spatial attention")
    sets = [frozenset(t) for t in top_columns(np.asarray(spatial), 3)]
    return max(sets.count(s) for s in set(sets))


def _check_shared_top3(answer, spatial: Any) -> str:
    want = _shared_top3(spatial)
    expect_number(answer, want, "actions sharing the most common uncentred top 3")
    return f"yes: {want} actions; an uncentred ranking mostly shows what every action shares"


register(
    "shared_top3", "explore", NB04,
    "from the uncentred ranking of section 3: how many actions share the most common top-3 set of joints?",
    _shared_top3, _check_shared_top3,
    explanation="the uncentred values mix what every action shares with what is specific; centring removes the shared part.",
    stub="my_count",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 05: streams
# ------------------------------------------------------------------------------------------------


def motion_solution(x):
    """Motion (M, T, V, C): the step to the next frame, x[:, t + 1] - x[:, t]; the last frame has none (0)."""
    x = np.asarray(x)
    motion = np.zeros_like(x)
    motion[:, :-1] = x[:, 1:] - x[:, :-1]
    return motion


def _check_motion(fn) -> str:
    from ..data.pipeline import Pipeline

    rng = np.random.default_rng(5)
    for t in (6, 31):
        x = rng.normal(size=(2, t, 25, 3)).astype(np.float32)
        got = call(fn, x.copy(), what=f"my_motion on a clip of {t} frames")
        want = Pipeline("jm", "val").features(x, np.arange(t))
        backward = np.zeros_like(x)
        backward[:, 1:] = x[:, 1:] - x[:, :-1]
        mistakes = [
            ("the sign is reversed: motion is the next frame minus this one", -want),
            ("the motion is shifted by one frame: frame t holds x[t + 1] - x[t], and the *last* frame is 0, not the first", backward),
        ]  # fmt: skip
        expect_array(got, want, f"my_motion on a clip (M, T, V, C) = {x.shape}", mistakes, atol=1e-5,
                     shape_hints={(2, t - 1, 25, 3): f"{t - 1} frames: keep all {t}, the last one's motion is 0"})
    return "equal to the pipeline's joint motion (the jm stream before sampling)"


register(
    "motion", "implement", NB05,
    "write `my_motion(x)`: the motion of every frame of (M, T, V, C) joints (or bones), the last frame 0",
    motion_solution, _check_motion,
    hint="np.zeros_like(x), then fill frames 0..T-2 with x[:, 1:] - x[:, :-1].",
)  # fmt: skip


def _weakest(ci: Mapping[str, Any] | None = None, **_) -> str:
    if ci is None:
        raise TypeError("needs the notebook's intervals")
    singles = [s for s in ci if s in ("j", "b", "jm", "bm")]
    return min(singles, key=lambda s: ci[s].value)


def _check_weakest(answer, ci: Mapping[str, Any]) -> str:
    singles = [s for s in ci if s in ("j", "b", "jm", "bm")]
    if answer not in singles:
        raise Wrong(f"name one of the streams {', '.join(singles)}, got {answer!r}")
    want = _weakest(ci)
    table = ", ".join(f"{s} {100 * ci[s].value:.1f}" for s in singles)
    if ci[answer].value > ci[want].value:  # a stream tied with the weakest is as right as it
        overlap = ci[answer].low <= ci[want].high
        raise Wrong(f"the weakest here is {want} ({table})" + ("; but its interval overlaps yours, so the two cannot be told apart" if overlap else ""))
    return f"yes: {answer} ({table}); check its interval against the next stream before calling it a ranking"


register(
    "weakest_stream", "predict", NB05,
    "before training: which single stream (j, b, jm or bm) will be the weakest on the built-in data, and why?",
    _weakest, _check_weakest,
    explanation="a likely reason, not tested: on the built-in data the actions are defined by movement, and the bone stream "
                "also carries each performer's bone lengths, which with six training performers it can fit instead of the "
                "action (notebook 05, section on NTU; exercise 4 there tests it).",
    stub="my_guess",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 06: fusion
# ------------------------------------------------------------------------------------------------


def fuse_by_id_solution(scores, weights):
    """Fuse streams by sample id: ``scores[stream] = (ids, probs (N, K))`` -> ``(ids, sum_s w_s probs_s)``
    in the first stream's order, every stream's rows looked up by id (never by position)."""
    names = list(scores)
    ids = list(scores[names[0]][0])
    total = np.zeros(np.shape(scores[names[0]][1]), dtype=float)
    for name in names:
        row = {sid: i for i, sid in enumerate(scores[name][0])}
        probs = np.asarray(scores[name][1], dtype=float)
        total += weights.get(name, 0.0) * probs[[row[sid] for sid in ids]]
    return ids, total


def _check_fuse(fn) -> str:
    from ..fusion import fuse
    from ..scores import Scores

    rng = np.random.default_rng(6)
    n, k = 40, 5
    ids = [f"S001C001P{p:03d}R001A{a:03d}" for p in range(1, 9) for a in range(1, 6)]
    labels = rng.integers(0, k, n)
    weights = {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}
    streams = {}
    for i, s in enumerate(weights):
        order = np.arange(n) if i == 0 else rng.permutation(n)
        p = rng.dirichlet(np.ones(k), n)
        streams[s] = ([ids[j] for j in order], p[order], labels[order])
    got = call(fn, {s: (v[0], v[1]) for s, v in streams.items()}, dict(weights), what="my_fuse")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Wrong(f"my_fuse should return (ids, fused probabilities), got {type(got).__name__}")
    ref = fuse({s: Scores(v[0], v[1], v[2]) for s, v in streams.items()}, weights)
    got_ids = [str(i) for i in got[0]]
    if got_ids != ref.frame_dir:
        raise Wrong("the ids come back in another order than the first stream's" if sorted(got_ids) == sorted(ref.frame_dir)
                    else "the ids returned are not the samples' ids")  # fmt: skip
    by_position = sum(w * streams[s][1] for s, w in weights.items())
    mistakes = [
        ("the rows were summed by position: the streams list their samples in different orders, so look every row up by its id",
         by_position),
        ("the weights are missing: fuse sum_s w_s p_s", sum(streams[s][1][[streams[s][0].index(i) for i in ids]] for s in weights)),
        ("divided by the sum of the weights: the ranking is the same, but the contract is the plain weighted sum", ref.probs / 6),
    ]  # fmt: skip
    expect_array(got[1], ref.probs, "your fused probabilities", mistakes)
    return "equal to fusion.fuse on four streams listed in four different orders"


register(
    "fuse_by_id", "implement", NB06,
    "write `my_fuse(scores, weights)`: fuse streams given as {stream: (ids, probs)} by sample id, in the first stream's order",
    fuse_by_id_solution, _check_fuse,
    hint="Build {id: row} for every stream, then gather the rows in the first stream's id order before summing.",
    stub="my_fuse",
)  # fmt: skip


def _misaligned(top1: float | None = None, **_) -> float:
    if top1 is None:
        raise TypeError("needs the notebook's measured top-1")
    return float(top1)


def _check_misaligned(answer, top1: float, num_classes: int) -> str:
    expect_number(answer, top1, "top-1 with scores and labels in different orders", tol=max(0.05, 2 / num_classes))
    return f"yes: {top1:.3f}, about chance ({1 / num_classes:.3f}): every prediction is compared with another sample's label"


register(
    "misaligned_labels", "predict", NB06,
    "scores in one order, labels in another: what top-1 do you expect (a fraction, to 0.05)?",
    _misaligned, _check_misaligned,
    explanation="each prediction is compared with a random other sample's label: chance, 1 / number of classes.",
    stub="my_top1",
)  # fmt: skip


def _most_needed(test: Mapping[str, Any] | None = None, **_) -> str:
    from ..fusion import default_weights, fuse

    if test is None:
        raise TypeError("needs the notebook's test scores")
    full = default_weights(list(test))

    def top1(names):
        sc = fuse({s: test[s] for s in names}, {s: full[s] for s in names})
        return float((sc.probs.argmax(1) == sc.labels).mean())

    return min(test, key=lambda s: top1([t for t in test if t != s]))


def _check_most_needed(answer, test: Mapping[str, Any]) -> str:
    if answer not in test:
        raise Wrong(f"name one of the streams {', '.join(test)}, got {answer!r}")
    want = _most_needed(test)
    if answer != want:
        raise Wrong(f"leaving out {want} costs the fusion the most here; compare the differences with their intervals before ranking")
    return f"yes: without {want} the fusion loses the most"


register(
    "most_needed_stream", "explore", NB06,
    "leave one stream out at a time (pyskl's weights for the rest): without which stream does the fused top-1 drop the most?",
    _most_needed, _check_most_needed,
    explanation="fuse the three other streams with fusion.fuse and compare top-1; the stream whose absence hurts most is the most needed.",
    stub="my_stream",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------
# 07: 2D input
# ------------------------------------------------------------------------------------------------


def normalise_2d_solution(xy, img_shape):
    """pyskl's PreNormalize2D for coordinates: x in [0, w] and y in [0, h] to [-1, 1]; img_shape = (h, w)."""
    h, w = img_shape
    xy = np.asarray(xy, dtype=float)
    return np.stack([(xy[..., 0] - w / 2) / (w / 2), (xy[..., 1] - h / 2) / (h / 2)], axis=-1)


def _check_normalise_2d(fn) -> str:
    from ..data.pipeline import prenormalize_2d

    rng = np.random.default_rng(7)
    for h, w in ((1080, 1920), (480, 640)):
        xy = rng.uniform(0, 1, size=(1, 8, 17, 2)) * [w, h]
        got = call(fn, xy.copy(), (h, w), what=f"my_normalise for a {w}x{h} video")
        want = prenormalize_2d(xy, np.ones(xy.shape[:-1]), (h, w))[..., :2]
        mistakes = [
            ("width and height are swapped: img_shape is (height, width), and x runs along the width",
             normalise_2d_solution(xy, (w, h))),
            ("divided by the full width/height: the range is then [-0.5, 0.5]; divide by half of it", normalise_2d_solution(xy, (h, w)) / 2),
            ("not centred: subtract half the width (height) first", np.stack([xy[..., 0] / (w / 2), xy[..., 1] / (h / 2)], -1)),
        ]  # fmt: skip
        expect_array(got, want, f"my_normalise for a {w}x{h} video", mistakes, atol=1e-5)
    return "equal to the pipeline's PreNormalize2D coordinates for two image sizes"


register(
    "normalise_2d", "implement", NB07,
    "write `my_normalise(xy, img_shape)`: pixel coordinates (..., 2) to [-1, 1] as pyskl's PreNormalize2D; img_shape = (h, w)",
    normalise_2d_solution, _check_normalise_2d,
    hint="x' = (x - w/2) / (w/2), y' = (y - h/2) / (h/2).",
    stub="my_normalise",
)  # fmt: skip


def _stream_count(results: Any = None, **_) -> int:
    if results is None:
        raise TypeError("needs the notebook's streaming results")
    return len(results)


def _check_stream_count(answer, results: Any) -> str:
    expect_number(answer, len(results), "streaming predictions over this input")
    return f"yes: {len(results)}, one every `stride` frames once enough frames have arrived"


register(
    "stream_count", "predict", NB07,
    "with the window and stride of the parameters, how many streaming predictions will this input give?",
    _stream_count, _check_stream_count,
    explanation="the predictor answers every `stride` frames once `min_frames` have arrived; frames / stride, rounded down.",
    stub="my_count",
)  # fmt: skip
