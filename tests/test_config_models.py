"""The config's ``model`` key: each model's inference schema, defaults and bundled configs."""

from __future__ import annotations

import pytest

from ttvos.config import (
    Config,
    ConfigError,
    InferenceConfig,
    XMemInferenceConfig,
    config_from_dict,
    load_config,
    replace,
)


def test_a_model_brings_its_own_defaults():
    stcn = config_from_dict({"name": "a"}, "a.yaml")
    xmem = config_from_dict({"name": "b", "model": "xmem"}, "b.yaml")
    assert (stcn.model, stcn.weights, stcn.inference) == ("stcn", "stcn", InferenceConfig())
    assert (xmem.model, xmem.weights, xmem.inference) == ("xmem", "xmem", XMemInferenceConfig())
    # XMem's eval.py defaults
    assert (xmem.inference.top_k, xmem.inference.mem_every, xmem.inference.deep_update_every) == (30, 5, -1)
    assert xmem.inference.enable_long_term and xmem.inference.num_prototypes == 128


@pytest.mark.parametrize("loss", ["mcc", "ae", "ent"])
def test_bundled_xmem_configs_take_the_stcn_configs_ttt_settings(loss):
    xmem, stcn = load_config(f"xmem_{loss}"), load_config(f"stcn_{loss}")
    assert (xmem.model, xmem.weights, xmem.inference) == ("xmem", "xmem", XMemInferenceConfig())
    assert xmem.ttt == stcn.ttt and xmem.amp == stcn.amp
    baseline = load_config("xmem")
    assert baseline.inference == xmem.inference and not baseline.ttt.enabled


def test_the_inference_section_must_fit_the_model():
    with pytest.raises(TypeError, match="model xmem takes XMemInferenceConfig"):
        Config(name="x", model="xmem")
    with pytest.raises(ConfigError, match="x.yaml: inference: unknown key 'deep_update_every'"):
        config_from_dict({"name": "x", "inference": {"deep_update_every": 2}}, "x.yaml")


def test_switching_model_keeps_ttt_and_explicit_inference_keys():
    switched = replace(load_config("stcn_ent"), model="xmem", **{"inference.top_k": 12})
    assert switched.inference == XMemInferenceConfig(top_k=12) and switched.weights == "xmem"
    assert switched.ttt == load_config("stcn_ent").ttt
    back = replace(switched, model="stcn")
    assert back.inference == InferenceConfig() and back.weights == "stcn"
