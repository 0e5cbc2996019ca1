"""Configurations: the paper's values, strict validation, YAML round trips and the search order."""

from __future__ import annotations

import pytest
import yaml

from ttvos.config import (
    Config,
    ConfigError,
    TTTConfig,
    config_from_dict,
    find_config,
    list_configs,
    load_config,
    replace,
    save_config,
)

PAPER = {  # name: (weights, loss, lr, rounds, iterations, seq_len, frozen)
    "stcn_mcc": ("stcn", "mcc", 1e-6, 10, 10, (3,), ()),
    "stcn_ae": ("stcn", "ae", 1e-6, 1, 20, (1,), ()),
    "stcn_ent": ("stcn", "ent", 1e-6, 10, 10, (3,), ("net", "ubn")),
    "stcn_s01_mcc": ("stcn_s01", "mcc", 1e-5, 10, 10, (3,), ()),
    "stcn_s01_ae": ("stcn_s01", "ae", 1e-5, 1, 20, (1,), ()),
    "stcn_s01_ent": ("stcn_s01", "ent", 1e-5, 10, 10, (3,), ("net", "ubn")),
    "stcn_s0_mcc": ("stcn_s0", "mcc", 1e-5, 10, 10, (3,), ()),
    "stcn_s0_ae": ("stcn_s0", "ae", 1e-5, 1, 20, (1,), ()),
    "stcn_s0_ent": ("stcn_s0", "ent", 1e-5, 10, 10, (3,), ("net", "ubn")),
}


@pytest.fixture(autouse=True)
def isolated_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TTVOS_CONFIG_DIR", str(tmp_path / "user"))
    return tmp_path / "user"


@pytest.mark.parametrize("name", sorted(PAPER))
def test_bundled_paper_configs(name):
    config = load_config(name)
    weights, loss, lr, rounds, iterations, seq_len, frozen = PAPER[name]
    ttt = config.ttt
    assert (config.name, config.weights, ttt.loss, ttt.lr) == (name, weights, loss, lr)
    assert (ttt.jump_steps, ttt.iters_per_jump, ttt.seq_len, ttt.max_jump, ttt.frozen) == (
        rounds,
        iterations,
        seq_len,
        (10,),
        frozen,
    )
    assert (ttt.weight_decay, ttt.batch_size, ttt.resolution, ttt.augmentations) == (1e-7, 1, 480, ())
    inference = config.inference
    assert (inference.top_k, inference.mem_every, inference.include_last, inference.resolution) == (
        20,
        5,
        False,
        480,
    )
    assert not config.amp


def test_baseline_config():
    config = load_config("stcn")
    assert config.weights == "stcn" and not config.ttt.enabled
    assert set(PAPER) | {"stcn"} <= set(list_configs())


def test_unknown_key_names_key_file_and_allowed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "ttt": {"learning_rate": 1e-5}}))
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    message = str(info.value)
    assert str(path) in message and "'learning_rate'" in message and "allowed keys: loss, lr," in message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"ttt": {"loss": "cycle"}}, "ttt.loss: 'cycle' is not one of none, mcc, ae, ent"),
        ({"ttt": {"frozen": ["net", "everything"]}}, "ttt.frozen: 'everything' is not one of enc, dec"),
        ({"inference": {"top_k": 2.5}}, "inference.top_k: 2.5 is not an integer"),
        ({"inference": {"top_k": 0}}, "inference.top_k must be >= 1"),
        ({"inference": {"resolution": "full"}}, "inference.resolution: 'full' is not an integer or native"),
        ({"ttt": {"scale": [0.5]}}, "ttt.scale: [0.5] is not a list of 2 numbers"),
        ({"ttt": {"max_jump": [5, 10], "seq_len": [3, 3, 3]}}, "equal lengths"),
        ({"ttt": {"loss": "mcc", "seq_len": [1]}}, "seq_len must be >= 2 for the mcc loss"),
        ({"amp": "yes"}, "amp: 'yes' is not true or false"),
        ({"ttt": 3}, "ttt: expected a mapping"),
    ],
)
def test_bad_values_are_one_line_errors(data, fragment):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"name": "x", **data}, "x.yaml")
    assert str(info.value).startswith("x.yaml: ")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_reference_style_values_are_accepted():
    config = config_from_dict({"name": "x", "ttt": {"frozen": "net,ubn", "augmentations": None}}, "x.yaml")
    assert config.ttt.frozen == ("net", "ubn") and config.ttt.augmentations == ()


def test_save_load_round_trip_and_no_overwrite(tmp_path):
    config = replace(
        load_config("stcn_mcc"), **{"ttt.lr": 3e-5, "inference.resolution": None, "ttt.max_jump": (5, 10)}
    )
    path = save_config(config, tmp_path / "mine.yaml")
    assert load_config(str(path)) == config
    with pytest.raises(ConfigError, match="already exists; use --force"):
        save_config(config, path)
    save_config(replace(config, **{"ttt.lr": 1e-4}), path, force=True)
    assert load_config(str(path)).ttt.lr == 1e-4


def test_stages_repeat_single_values():
    assert TTTConfig(max_jump=(5, 10, 20), seq_len=(3,)).stages() == [(5, 3), (10, 3), (20, 3)]
    assert TTTConfig(max_jump=(10,), seq_len=(3, 5)).stages() == [(10, 3), (10, 5)]


def test_search_order_path_then_user_then_bundled(tmp_path, isolated_user_dir):
    assert find_config("stcn_mcc").parent.name == "configs"
    save_config(replace(load_config("stcn_mcc"), **{"ttt.lr": 5e-5}), isolated_user_dir / "stcn_mcc.yaml")
    assert find_config("stcn_mcc") == isolated_user_dir / "stcn_mcc.yaml"
    assert load_config("stcn_mcc").ttt.lr == 5e-5
    explicit = save_config(Config("elsewhere"), tmp_path / "elsewhere.yaml")
    assert find_config(str(explicit)) == explicit
    with pytest.raises(ConfigError, match="unknown config 'nothing'"):
        find_config("nothing")


@pytest.mark.parametrize("name", ["../../evil", "a/b", ".hidden", "-x", "with space", ""])
def test_config_names_are_plain_names(name):
    with pytest.raises(ConfigError, match="not a plain name|is not a string") as info:
        config_from_dict({"name": name}, "x.yaml")
    assert "\n" not in str(info.value)


def test_plain_names_pass():
    assert config_from_dict({"name": "stcn_mcc-v2.1"}, "x.yaml").name == "stcn_mcc-v2.1"


def test_antialias_defaults_to_what_the_paper_computed():
    assert load_config("stcn").inference.antialias is False  # torchvision <= 0.16 tensor Resize
    assert config_from_dict({"name": "x", "inference": {"antialias": True}}, "x.yaml").inference.antialias
    with pytest.raises(ConfigError, match="inference.antialias: 'yes' is not true or false"):
        config_from_dict({"name": "x", "inference": {"antialias": "yes"}}, "x.yaml")
