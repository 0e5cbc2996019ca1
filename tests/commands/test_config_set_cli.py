"""``ttvos config save --set KEY=VALUE``: every key of the schema, checked like a YAML file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ttvos.cli import app
from ttvos.config import XMemInferenceConfig, load_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TTVOS_CONFIG_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


def save(*arguments: str):
    return runner.invoke(app, ["config", "save", "mine", *arguments])


def one_line(output: str) -> str:
    return " ".join(output.split())


def test_set_reaches_every_kind_of_key():
    result = save(
        "--from",
        "xmem_mcc",
        "--set",
        "inference.deep_update_every=3",
        "--set",
        "inference.enable_long_term=false",
        "--set",
        "inference.resolution=native",
        "--set",
        "ttt.lr=1e-5",  # YAML 1.1 reads this as a string: still a number here
        "--set",
        "ttt.frozen=net,ubn",
        "--set",
        "ttt.seq_len=[3, 5]",
        "--set",
        "amp=true",
    )
    assert result.exit_code == 0, result.output
    config = load_config("mine")
    assert config.model == "xmem" and config.weights == "xmem" and config.amp
    assert config.inference == XMemInferenceConfig(
        deep_update_every=3, enable_long_term=False, resolution=None
    )
    assert config.ttt.lr == 1e-5 and config.ttt.frozen == ("net", "ubn") and config.ttt.seq_len == (3, 5)


def test_another_model_starts_from_its_own_inference_options():
    result = save("--from", "stcn_mcc", "--set", "model=xmem", "--top-k", "25")
    assert result.exit_code == 0, result.output
    config = load_config("mine")
    assert config.weights == "xmem" and config.inference == XMemInferenceConfig(top_k=25)
    assert config.ttt == load_config("stcn_mcc").ttt


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "ttt.lrr=1"], "ttt: unknown key 'lrr'; allowed keys: loss, lr,"),
        (["--set", "bogus.key=1"], "config: unknown key 'bogus'"),
        (["--set", "inference.include_last=true", "--from", "xmem"], "inference: unknown key 'include_last'"),
        (["--set", "inference.num_prototypes=0", "--from", "xmem"], "inference.num_prototypes must be >= 1"),
        (["--set", "ttt.frozen=key_comp", "--from", "xmem_mcc"], "key_comp does not exist in model xmem"),
        (["--set", "model=sam"], "model: 'sam' is not one of stcn, xmem"),
        (["--set", "ttt.lr=fast"], "ttt.lr: 'fast' is not a number"),
        (["--set", "weights.file=x"], "weights is a value, not a section"),
        (["--set", "ttt.lr"], "--set ttt.lr: expected KEY=VALUE"),
        (["--set", "name=other"], "a config's name is the NAME it is saved as"),
        (["--set", "ttt.lr=1e-5", "--lr", "1e-4"], "ttt.lr is given twice"),
        (["--set", "ttt.lr=1e-5", "--set", "ttt.lr=1e-4"], "ttt.lr is given twice"),
    ],
)
def test_bad_assignments_are_one_line_errors(arguments, message, user_dir):
    result = save(*arguments)
    assert result.exit_code == 1 and message in one_line(result.output), result.output
    assert "Traceback" not in result.output and not (user_dir / "mine.yaml").exists()


def test_list_shows_the_model():
    result = runner.invoke(app, ["config", "list"])
    assert result.exit_code == 0
    rows = {line.split()[1]: line for line in result.output.splitlines() if "xmem_ent" in line}
    assert "xmem" in rows["xmem_ent"] and "ent" in rows["xmem_ent"]
