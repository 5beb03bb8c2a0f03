"""The inference wing: one typed stream model shared by predict, the streaming predictor and export; fusion
and clip averaging each in one function that every caller uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aagcn_lab
from aagcn_lab import export, prediction, stream_models
from aagcn_lab.data.classes import class_names
from aagcn_lab.model import AAGCN, AAGCNConfig
from aagcn_lab.model.aagcn import clip_probabilities
from aagcn_lab.model.checkpoint import save_checkpoint
from aagcn_lab.stream_models import OnnxModel, StreamModel, load_stream_models
from aagcn_lab.streaming import StreamingPredictor

SMALL = dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3])


def tiny(path, layout: str = "nturgb+d", feat: str = "j", num_person: int = 2, num_classes: int = 60):
    torch.manual_seed(0)
    cfg = AAGCNConfig(layout=layout, num_classes=num_classes, in_channels=3, num_person=num_person, **SMALL)
    return save_checkpoint(AAGCN(cfg), path, meta={"feat": feat})


def test_a_checkpoint_loads_as_one_typed_stream_model(tmp_path):
    models = load_stream_models([tiny(tmp_path / "j.pt"), tiny(tmp_path / "b.pt", feat="b", num_person=1)])
    j, b = models["j"], models["b"]
    assert isinstance(j, StreamModel) and isinstance(j.net, AAGCN) and j.file_format == "checkpoint"
    assert (j.layout.name, j.num_classes, j.num_person, j.in_channels, j.clip_len, j.protocol) == ("nturgb+d", 60, 2, 3, 100, "pyskl")
    assert list(j.class_names) == class_names("ntu60") and j.source.endswith("j.pt") and j.provenance.feat == "j"
    assert b.num_person == 1
    assert load_stream_models(models) == models  # loaded models are taken as they are (what streaming and bench pass)
    assert load_stream_models({"jm": j})["jm"].stream == "jm"
    with pytest.raises(ValueError, match="two checkpoints for stream 'j'"):
        load_stream_models([j, tiny(tmp_path / "j2.pt")])


def test_prediction_fuses_through_fusion_fuse(tmp_path, monkeypatch):
    calls = []
    real = prediction.fuse

    def spy(scores, weights=None, normalise=False):
        calls.append((sorted(scores), dict(weights), normalise))
        return real(scores, weights, normalise)

    monkeypatch.setattr(prediction, "fuse", spy)
    models = load_stream_models({"j": tiny(tmp_path / "j.pt"), "b": tiny(tmp_path / "b.pt", feat="b")})
    x = np.random.default_rng(0).normal(size=(20, 25, 3)).astype(np.float32)
    [pred] = aagcn_lab.predict(models, x, num_clips=1, weights={"j": 3.0, "b": 1.0})
    assert calls == [(["b", "j"], {"j": 3.0, "b": 1.0}, True)]
    s = pred.streams  # f64 from the same stream probabilities: 2 products, a sum and a division, 4 x 2.2e-16 << 1e-12
    np.testing.assert_allclose(pred.probs, (3 * s["j"] + s["b"]) / 4, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="without a checkpoint: bm"):  # checked before any model runs
        aagcn_lab.predict(models, x, num_clips=1, weights={"j": 1.0, "bm": 1.0})


def test_an_onnx_model_averages_its_clips_with_the_models_one_function(monkeypatch):
    calls = []

    def spy(logits_of, x):
        calls.append(tuple(x.shape))
        return clip_probabilities(logits_of, x)

    class Session:  # onnxruntime's InferenceSession.run, standing in: fixed logits per clip
        def run(self, names, feeds):
            k = feeds["keypoint"]
            return [np.stack([k.reshape(len(k), -1).mean(1), -k.reshape(len(k), -1).mean(1)], 1).astype(np.float32)]

    monkeypatch.setattr(stream_models, "clip_probabilities", spy)
    onnx = object.__new__(OnnxModel)
    onnx.session = Session()
    x = torch.randn(2, 3, 1, 8, 5, 3)
    probs = onnx.forward_test(x)
    assert calls == [(2, 3, 1, 8, 5, 3)] and probs.shape == (2, 2)
    torch.testing.assert_close(probs, clip_probabilities(lambda c: torch.from_numpy(onnx.logits(c.numpy())), x), rtol=0, atol=0)


def test_export_leaves_the_model_it_is_handed_as_it_was():
    model = AAGCN(AAGCNConfig(layout="coco", num_classes=5, in_channels=3, **SMALL))
    before = model.backbone.share_absent_persons
    fn = export._Logits(model)
    assert model.backbone.share_absent_persons == before and fn.model.backbone.share_absent_persons is False


def test_the_streaming_predictor_tracks_as_many_people_as_the_model_has_slots(tmp_path):
    sp = StreamingPredictor(tiny(tmp_path / "coco3.pt", "coco", num_person=3, num_classes=5), window=4, stride=4, num_clips=1)
    assert sp.max_persons == 3 and isinstance(sp.models["j"], StreamModel)
    assert StreamingPredictor(sp.models, window=4, stride=4, max_persons=1).max_persons == 1
