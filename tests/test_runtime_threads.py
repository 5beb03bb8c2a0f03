"""The thread policy (issue #29): what our entry points and the lab's kernels get, and that the user's settings win.

No timing here: ``aagcn-lab bench shared`` measures; these tests check where the settings go.
"""

import json
import os
import subprocess
import sys

import pytest

from aagcn_lab import runtime
from aagcn_lab.bench import shared
from aagcn_lab.cli import main as cli_main
from aagcn_lab.lab import runner

POLICY = runtime.WAIT_POLICY


@pytest.fixture
def clean_env(monkeypatch):
    """No thread setting of the user's in the environment (monkeypatch puts them back)."""
    for k in runtime.THREAD_VARS:
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def test_the_policy_is_a_wait_policy_and_touches_nothing_else():
    assert runtime.thread_policy_env({}) == POLICY
    assert set(POLICY) <= set(runtime.THREAD_VARS)  # the bench's clean environment removes what we set, too


@pytest.mark.parametrize(
    "user",
    [{"OMP_WAIT_POLICY": "ACTIVE"}, {"OMP_WAIT_POLICY": "passive"}, {"GOMP_SPINCOUNT": "300000"}, {"KMP_BLOCKTIME": "200"},
     {"AAGCN_LAB_THREADS": "default"}, {"AAGCN_LAB_THREADS": " Default "}],
)  # fmt: skip
def test_the_users_own_wait_setting_wins(user):
    assert runtime.thread_policy_env(user) == {}


def test_the_users_thread_count_is_kept_and_the_wait_policy_still_added():
    env = {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}
    assert runtime.thread_policy_env(env) == POLICY  # nothing about the count: the count stays the user's


def test_an_empty_setting_counts_as_unset():
    assert runtime.thread_policy_env({"OMP_WAIT_POLICY": "", "AAGCN_LAB_THREADS": ""}) == POLICY


def test_apply_adds_the_policy_to_this_environment_only_where_unset(clean_env):
    assert runtime.apply_thread_policy() == POLICY
    assert all(os.environ[k] == v for k, v in POLICY.items())
    clean_env.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert runtime.apply_thread_policy() == {}
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_environ_context_adds_the_policy_and_takes_it_away(clean_env):
    with runtime.thread_policy_environ() as added:
        assert added == POLICY and all(os.environ[k] == v for k, v in POLICY.items())
    assert not any(k in os.environ for k in POLICY)
    clean_env.setenv("GOMP_SPINCOUNT", "5")
    with runtime.thread_policy_environ() as added:
        assert added == {} and "OMP_WAIT_POLICY" not in os.environ
    assert os.environ["GOMP_SPINCOUNT"] == "5"


def test_the_cli_entry_applies_the_policy_before_the_command_runs(clean_env, capsys):
    assert cli_main(["presets"]) == 0
    assert all(os.environ[k] == v for k, v in POLICY.items())  # children of any command inherit it


def test_the_cli_entry_keeps_the_users_setting(clean_env, capsys):
    clean_env.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert cli_main(["presets"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def _one_notebook(folder):
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "run_root = '.'\n", "outputs": [],
            "execution_count": None}  # fmt: skip
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "01_x.ipynb").write_text(json.dumps(nb))


@pytest.mark.parametrize("user", [{}, {"OMP_WAIT_POLICY": "ACTIVE"}, {"AAGCN_LAB_THREADS": "default"}])
def test_the_labs_kernels_start_with_the_policy_and_the_users_setting_wins(clean_env, tmp_path, user):
    papermill = pytest.importorskip("papermill")
    for k, v in user.items():
        clean_env.setenv(k, v)
    seen = []
    # the kernel is started inside execute_notebook with the environment of that moment (jupyter_client)
    clean_env.setattr(papermill, "execute_notebook", lambda *a, **kw: seen.append(dict(os.environ)))
    _one_notebook(tmp_path)
    runner.run_lab(tmp_path / "out", notebooks_folder=tmp_path, quiet=True)
    expected = runtime.thread_policy_env(user)
    assert len(seen) == 1
    assert {k: seen[0].get(k) for k in runtime.THREAD_VARS if k in seen[0]} == {**user, **expected}
    assert {k: os.environ.get(k) for k in runtime.THREAD_VARS if k in os.environ} == user  # the lab's own process: as it was


def test_a_bench_policys_child_environment_drops_the_users_thread_settings():
    base = {"PATH": "/bin", "OMP_NUM_THREADS": "7", "OMP_WAIT_POLICY": "ACTIVE", "AAGCN_LAB_THREADS": "default"}
    lab = shared.policy_env("lab", base)
    assert {k: v for k, v in lab.items() if k in runtime.THREAD_VARS} == POLICY and lab["PATH"] == "/bin"
    assert shared.policy_env("1thread", base)["OMP_NUM_THREADS"] == "1" and "OMP_WAIT_POLICY" not in shared.policy_env("1thread", base)
    assert shared.policy_env("passive", base)["OMP_NUM_THREADS"] == str(runtime.usable_cores())
    with pytest.raises(ValueError, match="--policies: unknown policy 'fast'"):
        shared.policy_env("fast", base)


def test_the_bench_refuses_an_unknown_policy_or_competitor_before_starting_anything(capsys):
    assert cli_main(["bench", "shared", "--policies", "1thread,fast"]) == 2
    assert "unknown policy 'fast'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--competitors: unknown competitor 'chrome'"):
        shared.bench_shared(["1thread"], ["chrome"])
    with pytest.raises(ValueError, match="--workload: unknown workload 'infer'"):
        shared.bench_shared(["1thread"], ["python"], workload="infer")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/maps for the OpenMP runtime")
def test_the_shared_section_runs_at_a_tiny_size_and_returns_its_keys():
    out = shared.bench_shared(["1thread"], ["python"], steps=1, batch=2, frames=8)
    assert out["1thread_threads"] == 1  # the policy's environment reached the child
    assert out["1thread_settings"] == "OMP_NUM_THREADS=1"
    assert "omp" in out["openmp"]  # torch's OpenMP runtime, as the child loaded it
    assert out["1thread_alone_s"] > 0 and out["1thread_beside_python_s"] > 0
    assert out["1thread_beside_python_ratio"] == pytest.approx(out["1thread_beside_python_s"] / out["1thread_alone_s"])
    assert out["1thread_worst_ratio"] == out["1thread_beside_python_ratio"]  # the only competitor


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/maps for the OpenMP runtime")
def test_the_shared_section_times_a_streaming_prediction_under_the_policy():
    """The stream workload: each timed call is one prediction (the child asserts it), in the policy's environment."""
    out = shared.bench_shared(["1thread"], ["python"], steps=1, workload="stream", window=20, stride=5, dtype="bf16")
    assert out["workload"] == "stream" and out["window / stride / dtype"] == "20 / 5 / bf16" and "batch" not in out
    assert out["1thread_threads"] == 1 and out["1thread_alone_s"] > 0 and out["1thread_beside_python_s"] > 0


@pytest.mark.parametrize("command", ["predict", "train"])  # predict's parser loads torch; train's does not
def test_the_cli_applies_the_policy_before_torch_loads(command, tmp_path):
    """OpenMP reads its wait policy once, when torch loads it: a fresh interpreter tells the order."""
    code = (
        "import sys, aagcn_lab.runtime as r\n"
        "apply = r.apply_thread_policy\n"
        "r.apply_thread_policy = lambda: print('torch loaded' if 'torch' in sys.modules else 'torch not loaded') or apply()\n"
        "from aagcn_lab.cli import main\n"
        f"main([{command!r}, '--no-such-option'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in runtime.THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert out.stdout.splitlines()[:1] == ["torch not loaded"], out.stdout + out.stderr[-2000:]
