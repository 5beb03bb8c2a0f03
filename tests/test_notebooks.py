"""Every notebook executed headless with papermill (the main job on small parameters), and what it produced."""

from __future__ import annotations

import json

from aagcn_lab.lab import list_notebooks

from .conftest import LAB_EPOCHS


def test_every_notebook_ran_without_an_error_output(lab_run):
    out, result = lab_run
    assert [nb["name"] for nb in result.notebooks] == [p.name for p in list_notebooks()]
    assert result.ok, [(nb["name"], nb.get("error")) for nb in result.notebooks if nb["status"] != "ok"]
    for nb in result.notebooks:
        executed = json.loads((out / "notebooks" / nb["name"]).read_text())
        outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o["output_type"] == "error"], nb["name"]
        assert all(c.get("execution_count") for c in executed["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip())
        injected = executed["metadata"]["papermill"]["parameters"]
        assert injected["run_root"] == str(out)
        if nb["name"] >= "03":  # the training notebooks took the small settings
            assert injected["epochs"] == LAB_EPOCHS and injected["options"] == {"test_clips": 2}


def test_the_notebooks_recorded_their_results(lab_run):
    out, result = lab_run
    r = result.results
    assert r["01_skeleton_graphs"]["pipeline_matches_reference"] is True
    assert r["02_inside_aagcn"]["parameters"] == 3_781_668  # pyskl's AAGCN for NTU-60
    assert 12.5 < r["02_inside_aagcn"]["gflops_per_sample"] < 13.5
    assert len(r["03_learned_adjacency"]["alpha"]) == 6  # the built-in model's six units
    assert r["03_learned_adjacency"]["mean_drift"] > 0  # training moved the learned graphs
    assert set(r["04_attention_maps"]["top_joints"]) and r["04_attention_maps"]["layer"] >= 0
    fusion = r["06_fusion"]
    assert fusion["num_samples"] == 552  # the built-in xsub_val split
    assert fusion["fused_top1"] >= fusion["best_single_top1"]
    assert r["05_four_streams"]["j_top1"] > 3 / 23  # well above chance after a few epochs
    # the index says where everything is and what the fusion reached
    index = (out / "index.md").read_text()
    assert "fused_top1" in index and all(nb["name"] in index for nb in result.notebooks)
    assert json.loads((out / "results.json").read_text())["results"]["06_fusion"] == fusion


def test_the_notebooks_saved_their_figures(lab_run):
    out, result = lab_run
    names = {f.stem for f in result.figures}
    for expected in ("01_partition", "02_attention_at_init", "03_alpha", "04_attention_summary", "05_training_curves",
                     "06_confusion", "06_fusion_accuracy"):  # fmt: skip
        assert expected in names, sorted(names)
    for f in result.figures:
        data = f.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000, f
