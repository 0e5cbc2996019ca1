"""``ttvos config`` through the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ttvos.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TTVOS_CONFIG_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def test_save_then_show_round_trips(user_dir):
    result = runner.invoke(app, ["config", "save", "my_cfg", "--lr", "1e-5"])
    assert result.exit_code == 0, result.output
    assert (user_dir / "my_cfg.yaml").is_file()
    shown = runner.invoke(app, ["config", "show", "my_cfg"])
    assert shown.exit_code == 0
    assert "lr: 1.0e-05" in shown.output and "name: my_cfg" in shown.output and "loss: mcc" in shown.output
    from ttvos.config import load_config

    config = load_config("my_cfg")
    assert config.ttt.lr == 1e-5 and config.ttt.loss == "mcc" and config.ttt.jump_steps == 10


def test_save_with_every_kind_of_option(user_dir):
    result = runner.invoke(
        app,
        [
            "config",
            "save",
            "custom",
            "--from",
            "stcn_ent",
            "--loss",
            "mcc",
            "--frozen",
            "dec",
            "--jump-steps",
            "3",
            "--iters",
            "4",
            "--max-jump",
            "5",
            "--max-jump",
            "15",
            "--seq-len",
            "3",
            "--top-k",
            "10",
            "--mem-every",
            "3",
            "--include-last",
            "--resolution",
            "native",
            "--scale",
            "0.8",
            "1.0",
            "--augmentations",
            "colour",
        ],
    )
    assert result.exit_code == 0, result.output
    from ttvos.config import load_config

    config = load_config("custom")
    assert config.ttt.frozen == ("dec",) and config.ttt.stages() == [(5, 3), (15, 3)]
    assert (config.ttt.jump_steps, config.ttt.iters_per_jump, config.ttt.scale) == (3, 4, (0.8, 1.0))
    assert (config.inference.top_k, config.inference.mem_every, config.inference.include_last) == (
        10,
        3,
        True,
    )
    assert config.inference.resolution is None and config.ttt.augmentations == ("colour",)


def test_refuses_to_overwrite_without_force(user_dir):
    assert runner.invoke(app, ["config", "save", "twice"]).exit_code == 0
    again = runner.invoke(app, ["config", "save", "twice", "--lr", "1e-4"])
    assert again.exit_code == 1 and "already exists; use --force" in again.output
    assert runner.invoke(app, ["config", "save", "twice", "--lr", "1e-4", "--force"]).exit_code == 0


def test_bad_override_is_one_line(user_dir):
    result = runner.invoke(app, ["config", "save", "bad", "--loss", "cycle"])
    assert result.exit_code == 1
    assert "error: command-line options: ttt.loss: 'cycle' is not one of none, mcc, ae, ent" in result.output
    assert not (user_dir / "bad.yaml").exists()


def test_list_and_unknown_show():
    listed = runner.invoke(app, ["config", "list"])
    assert listed.exit_code == 0 and "stcn_s01_mcc" in listed.output
    unknown = runner.invoke(app, ["config", "show", "nothing"])
    assert unknown.exit_code == 1 and "unknown config 'nothing'" in unknown.output


def test_save_refuses_names_that_climb_out_of_the_config_folder(user_dir, tmp_path):
    result = runner.invoke(app, ["config", "save", "../../escape"])
    assert result.exit_code == 1 and "not a plain config name" in result.output
    assert not list(tmp_path.rglob("escape*")) and not (user_dir.parent.parent / "escape").exists()


def test_saving_over_a_bundled_name_needs_force_and_says_it_shadows(user_dir):
    refused = runner.invoke(app, ["config", "save", "stcn", "--lr", "1e-5"])
    assert refused.exit_code == 1 and "stcn is a bundled config" in " ".join(refused.output.split())
    assert not (user_dir / "stcn.yaml").exists()
    forced = runner.invoke(app, ["config", "save", "stcn", "--lr", "1e-5", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "shadows the bundled config stcn" in " ".join(forced.output.split())
    assert (user_dir / "stcn.yaml").is_file()


def test_a_config_file_cannot_name_its_results_folder_outside_output(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: ../../evil\n")
    result = runner.invoke(app, ["config", "show", str(path)])
    assert result.exit_code == 1 and "'../../evil' is not a plain name" in " ".join(result.output.split())


def test_save_antialias(user_dir):
    assert runner.invoke(app, ["config", "save", "smooth", "--antialias"]).exit_code == 0
    from ttvos.config import load_config

    assert load_config("smooth").inference.antialias is True
