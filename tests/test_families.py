"""The model boundary: one registry of families, found from a config or from a network."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from ttvos.config import MODELS, InferenceConfig, XMemInferenceConfig
from ttvos.data.synthetic import make_synthetic_video, save_video
from ttvos.data.video import VOSVideo, load_video
from ttvos.families import FAMILIES, family_of
from ttvos.inference.propagation import InferenceCore, labels_from_prob
from ttvos.inference.segment import segment_video
from ttvos.inference.xmem_propagation import XMemInferenceCore
from ttvos.model.standin import standin_state_dict
from ttvos.model.xmem import load_xmem


@pytest.fixture(scope="module")
def xmem(xmem_checkpoint):
    return load_xmem(xmem_checkpoint)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    root = tmp_path_factory.mktemp("video")
    save_video(make_synthetic_video(4, 64, 96, seed=3), root / "frames", root / "masks")
    files = VOSVideo("v", tuple(sorted((root / "frames").glob("*.jpg"))), {0: root / "masks" / "00000.png"})
    return load_video(files, resolution=None)


def test_families_and_config_schemas_agree():
    assert set(FAMILIES) == set(MODELS)
    for name, family in FAMILIES.items():
        assert family.name == name
        assert set(family.freezing) | {"bn", "ubn"} == set(MODELS[name].frozen)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_freezing_option_names_existing_modules(name, xmem, standin_network):
    network = {"stcn": standin_network, "xmem": xmem}[name]
    for modules in FAMILIES[name].freezing.values():
        for module in modules:
            assert module == "*" or isinstance(network.get_submodule(module), nn.Module)


def test_a_network_knows_its_family(standin_network, xmem):
    assert family_of(standin_network) is FAMILIES["stcn"] and family_of(xmem) is FAMILIES["xmem"]
    with pytest.raises(TypeError, match="Linear is not the network of a model family"):
        family_of(nn.Linear(2, 2))


def test_engines_take_their_own_settings_only(standin_network, xmem):
    assert isinstance(FAMILIES["stcn"].engine(standin_network), InferenceCore)
    engine = FAMILIES["xmem"].engine(xmem, XMemInferenceConfig(top_k=7))
    assert isinstance(engine, XMemInferenceCore) and engine.config.top_k == 7
    with pytest.raises(TypeError, match="XMem runs with XMemInferenceConfig, not InferenceConfig"):
        FAMILIES["xmem"].engine(xmem, InferenceConfig())


def test_segment_video_runs_the_networks_own_engine(xmem, video):
    settings = XMemInferenceConfig(mem_every=2, enable_long_term=False)
    ours = [mask.labels for mask in segment_video(xmem, video, settings)]
    core = XMemInferenceCore(xmem, settings)
    direct = [
        labels_from_prob(p.prob, video.frames.original_size).numpy()
        for p in core.propagate(video.frames, video.annotations, video.num_objects)
    ]
    assert len(ours) == 4 and all(np.array_equal(a, b) for a, b in zip(ours, direct, strict=True))


@pytest.mark.parametrize("name", list(FAMILIES))
def test_standin_builds_the_asked_family(name):
    network = FAMILIES[name].build(None)
    assert family_of(network) is FAMILIES[name] and not network.training
    expected = standin_state_dict(family=name)
    assert list(network.state_dict()) == list(expected)
    assert all(torch.equal(value, expected[key]) for key, value in network.state_dict().items())


@pytest.mark.parametrize(("model", "mode"), [("stcn", "BICUBIC"), ("xmem", "BILINEAR")])
def test_frames_are_resized_as_each_models_evaluation_resizes_them(model, mode, video):
    """STCN's evaluation: Resize(480, BICUBIC); XMem's eval.py: Resize(size, BILINEAR) (tensors,
    no antialias at the time); the settings say which, and no config key can change it."""
    from torchvision.transforms import InterpolationMode, Resize

    from ttvos.data.io import normalize_frame

    settings = MODELS[model].inference()
    assert "interpolation" not in {field.name for field in dataclasses.fields(settings)}
    loaded = load_video(video.video, 48, interpolation=settings.interpolation)
    reference = Resize(48, interpolation=getattr(InterpolationMode, mode), antialias=False)
    expected = reference(normalize_frame(loaded.frames.raw(1)))
    torch.testing.assert_close(loaded.frames[1], expected, rtol=0, atol=1e-5)


def test_every_inference_option_reaches_the_engine(standin_network, xmem):
    """A key of the inference section that the engine never sees would be silently ignored."""
    settings = InferenceConfig(top_k=3, mem_every=2, include_last=True, max_memory_frames=4)
    engine = FAMILIES["stcn"].engine(standin_network, settings)
    frame_loading = {"resolution", "antialias"}  # read by load_video, not by the engine
    for field in dataclasses.fields(settings):
        if field.name not in frame_loading:
            assert getattr(engine, field.name) == getattr(settings, field.name), field.name
    xmem_settings = XMemInferenceConfig(top_k=3, deep_update_every=2)
    assert FAMILIES["xmem"].engine(xmem, xmem_settings).config is xmem_settings
