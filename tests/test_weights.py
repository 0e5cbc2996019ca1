"""Checkpoints by name: resolving, embedded weights, and `ttvos download-models` against a local server."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from ttvos import weights
from ttvos.cli import app
from ttvos.download.transfer import Network
from ttvos.errors import UserError
from ttvos.weights import fetch_model, resolve_weights

from .download.server import local_only, serving

runner = CliRunner()


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    local_only(monkeypatch)


@pytest.fixture()
def server(standin_checkpoint):
    with serving() as running:
        running.files["stcn.pth"] = running.files["stcn_s03.pth"] = standin_checkpoint.read_bytes()
        running.files["stcn_s01.pth"] = b"not a checkpoint" * 1000
        yield running


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TTVOS_WEIGHTS", str(tmp_path / "cache"))
    for name in ("TTVOS_MIRROR", "TTVOS_MODEL_MIRROR", "TTVOS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_resolve_names_paths_and_standin(cache, standin_checkpoint):
    assert resolve_weights("standin") is None
    assert resolve_weights(str(standin_checkpoint)) == standin_checkpoint
    with pytest.raises(UserError, match="run `ttvos download-models stcn`"):
        resolve_weights("stcn")
    with pytest.raises(UserError, match="not a registered model"):
        resolve_weights(str(cache / "missing.pth"))


def test_embedded_weights_resolve_to_the_package_file(tmp_path, monkeypatch):
    shipped = tmp_path / "tiny.pth"
    monkeypatch.setattr(weights, "embedded_path", lambda model: tmp_path / model.embedded)
    with pytest.raises(UserError, match=r"'tiny' ship inside ttvos, but .*tiny.pth is missing: reinstall"):
        resolve_weights("tiny")
    shipped.write_bytes(b"weights")
    assert resolve_weights("tiny") == shipped
    listed = runner.invoke(app, ["download-models", "--list", "--dir", str(tmp_path / "cache")])
    assert listed.exit_code == 0 and "embedded" in listed.output
    assert runner.invoke(app, ["download-models", "tiny", "--dir", str(tmp_path / "cache")]).exit_code == 0


def test_download_models_then_resolve_and_check_on_use(server, cache):
    result = runner.invoke(app, ["download-models", "stcn", "--mirror", f"{server.url}/files", "--quiet"])
    assert result.exit_code == 0, result.output
    path = resolve_weights("stcn")
    assert path == cache / "stcn.pth" and path.read_bytes() == server.files["stcn.pth"]
    assert (cache / "stcn.pth.sha256").read_text().split()[0] == sha256(server.files["stcn.pth"])
    listed = runner.invoke(app, ["download-models", "--list"])
    assert "pinned" in listed.output and "downloaded" in listed.output
    with path.open("r+b") as handle:  # damaged on disk later
        handle.seek(-10, 2)
        handle.write(b"0123456789")
    with pytest.raises(UserError, match="checksum mismatch.*download-models stcn --force"):
        resolve_weights("stcn")
    unknown = runner.invoke(app, ["download-models", "xmem2"])
    assert unknown.exit_code == 1 and "unknown model 'xmem2'" in unknown.output


def test_xmem_checkpoints_are_checked_as_xmem_and_kept_to_xmem_configs(
    server, cache, xmem_checkpoint, standin_checkpoint
):
    server.files["XMem.pth"] = xmem_checkpoint.read_bytes()
    server.files["XMem-s2.pth"] = standin_checkpoint.read_bytes()  # an STCN file under an XMem name
    mirror = ["--mirror", f"{server.url}/files", "--quiet"]
    fetched = runner.invoke(app, ["download-models", "xmem", *mirror])
    assert fetched.exit_code == 0, fetched.output
    assert resolve_weights("xmem", "xmem") == cache / "XMem.pth"
    refused = runner.invoke(app, ["download-models", "xmem_s2", *mirror])
    assert refused.exit_code == 1 and "not a valid XMem checkpoint" in refused.output
    with pytest.raises(
        UserError, match="'xmem' are for model xmem, but the config's model is stcn: use stcn,"
    ):
        resolve_weights("xmem", "stcn")
    with pytest.raises(
        UserError, match="'stcn' are for model stcn, .* is xmem: use xmem, xmem_s012, xmem_s2,"
    ):
        resolve_weights("stcn", "xmem")


def test_a_file_that_is_not_a_checkpoint_is_refused(server, cache, monkeypatch):
    monkeypatch.setenv("TTVOS_MODEL_MIRROR", f"{server.url}/files")  # the older variable still works
    result = runner.invoke(app, ["download-models", "stcn_s01"])
    assert result.exit_code == 1 and "not a valid STCN checkpoint" in result.output
    assert not cache.exists() or not list(cache.iterdir())


def test_drive_only_model_through_the_confirmation_form(server, cache, monkeypatch):
    checked = []
    monkeypatch.setattr(weights, "check_checkpoint", lambda path, family: checked.append((path, family)))
    server.drive["1JllXPJZola0G-g1aUQfXe9nLMBioj-aH"] = ("usercontent", "stcn_s03.pth")
    network = Network(backoff_s=0.0, drive=server.url, drive_usercontent=server.url)
    list(fetch_model("stcn_s03", cache, network))
    assert (cache / "stcn_s03.pth").read_bytes() == server.files["stcn_s03.pth"]
    assert resolve_weights("stcn_s03") == cache / "stcn_s03.pth" and checked == [
        (cache / "stcn_s03.pth.part", "stcn")
    ]


def test_from_file_and_offline(server, cache, tmp_path, standin_checkpoint):
    offline = runner.invoke(app, ["download-models", "stcn", "--offline"])
    assert offline.exit_code == 1 and "--offline forbids downloading" in offline.output
    assert "--from-file PATH" in offline.output and server.requests == []
    given = runner.invoke(app, ["download-models", "stcn", "--from-file", str(standin_checkpoint)])
    assert given.exit_code == 0, given.output
    assert resolve_weights("stcn").read_bytes() == standin_checkpoint.read_bytes()
    again = runner.invoke(app, ["download-models", "stcn", "--offline"])  # present: checked, no request
    assert again.exit_code == 0 and server.requests == []
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    refused = runner.invoke(app, ["download-models", "stcn_s0", "--from-file", str(junk)])
    assert refused.exit_code == 1 and "not a valid STCN checkpoint" in refused.output
    both = runner.invoke(app, ["download-models", "stcn", "stcn_s0", "--from-file", str(junk)])
    assert both.exit_code == 1 and "name exactly one model" in both.output
