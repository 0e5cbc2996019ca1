"""A config's model and its weights file's family must agree: `ttvos run` refuses a mismatch in one line."""

from __future__ import annotations

from typer.testing import CliRunner

from ttvos.cli import app

from .conftest import run_arguments

runner = CliRunner()


def test_xmem_checkpoint_under_an_stcn_config_is_refused(data_root, xmem_checkpoint, tmp_path):
    result = runner.invoke(app, run_arguments(data_root, xmem_checkpoint, tmp_path, "--config", "tiny"))
    assert result.exit_code == 1
    message = result.output.strip()
    assert "holds a network of family 'xmem', not 'stcn'" in message and "model is 'xmem'" in message
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert not list(tmp_path.rglob("*.png"))
