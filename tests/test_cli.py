"""The command-line pattern: one module per command, each with a real --help; overrides; exit statuses."""

from __future__ import annotations

import pytest

from aagcn_lab import cli


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_is_a_module_with_add_arguments_run_and_help(name, capsys):
    module = cli.command_module(name)
    assert callable(module.add_arguments) and callable(module.run), name
    assert module.__doc__ and module.__doc__.startswith(f"``aagcn-lab {name}"), f"cli/{name}.py: docstring starts with its command"
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f"usage: aagcn-lab {name}"), out[:200]
    assert "-h, --help" in out


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and all(name in out for name in cli.COMMANDS)


def test_parse_overrides_forms():
    got = cli.parse_overrides(["--lr", "0.05", "--deterministic", "--model.base_channels=16", "--num-workers", "0"])
    assert got == {"lr": "0.05", "deterministic": "true", "model.base_channels": "16", "num_workers": "0"}
    with pytest.raises(SystemExit, match="unexpected argument 'x'"):
        cli.parse_overrides(["x"])


def test_unknown_option_of_a_command_without_overrides_is_status_2(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["presets", "--bogus"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "aagcn-lab presets: error: unrecognized arguments: --bogus" in err


def test_presets_lists_the_builtin_preset(capsys):
    assert cli.main(["presets"]) == 0
    assert any(line.startswith("builtin_j ") for line in capsys.readouterr().out.splitlines())
