"""run.yaml as one typed record, shared by the runner and the evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ttvos.config import config_to_dict, load_config, replace
from ttvos.records import RecordError, RunRecord, read_run_record, write_run_record

PACKAGE = Path(__file__).resolve().parents[1] / "ttvos"


def record(**changes) -> RunRecord:
    fields = {
        "dataset": "davis",
        "seed": 1,
        "config": config_to_dict(load_config("stcn_mcc")),
        "model": {"weights": "stcn", "path": "/w/stcn.pth", "sha256": "ab" * 32},
    }
    fields.update(changes)
    return RunRecord(**fields)


def test_round_trip_and_properties(tmp_path):
    path = write_run_record(tmp_path / "run.yaml", record())
    again = read_run_record(path)
    assert again == record()
    assert (again.config_name, again.loss, again.weights) == ("stcn_mcc", "mcc", "stcn")
    assert list(yaml.safe_load(path.read_text()))[:5] == ["dataset", "corruption", "level", "seed", "config"]


def test_differences_and_settings_digest():
    base = record()
    lr = record(config=config_to_dict(replace(load_config("stcn_mcc"), **{"ttt.lr": 1e-5})))
    other_weights = record(model={"weights": "stcn", "sha256": "cd" * 32})
    assert base.differences(record()) == [] and base.settings_digest() == record().settings_digest()
    assert base.differences(lr) == ["config"] and base.settings_digest() != lr.settings_digest()
    assert base.differences(other_weights) == ["weights"]
    assert base.differences(record(seed=2, versions={"torch": "x"})) == ["seed"]  # versions do not count


@pytest.mark.parametrize(
    "text", ["dataset: [unclosed", "- a list\n", "dataset: davis\n", "dataset: davis\nconfig: {}\nmodel: 3\n"]
)
def test_corrupt_records_are_one_line_errors(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(RecordError, match="run.yaml") as error:
        read_run_record(path)
    assert "\n" not in str(error.value)


def test_undecodable_record(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RecordError, match="unreadable run record"):
        read_run_record(path)


def test_run_file_name_is_defined_once():
    definitions = [
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if '"run.yaml"' in p.read_text()
    ]
    assert definitions == ["records.py"]
