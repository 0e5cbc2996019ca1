"""Whole-video XMem propagation against the official ``InferenceCore`` (``xmem/infer_xmem_*.npz``, section 3).

Tolerances of the golden README: probabilities within 0.1 on every frame and labels agreeing on
>= 98% of the pixels (here: of every frame), because float32 noise compounds through the memory
and near-tied object logits; memory sizes after every frame and memory events exact.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from ttvos.config import XMemInferenceConfig
from ttvos.inference.propagation import labels_from_prob
from ttvos.inference.xmem_propagation import XMemInferenceCore, XMemVideo
from ttvos.model.padding import padding_for
from ttvos.model.standin import standin_state_dict
from ttvos.model.xmem import load_xmem

PROB_ATOL = 0.1
HIDDEN_ATOL = 0.1
LABEL_AGREEMENT = 0.98
CASES = ["lt_t20_64x96", "st_t10_60x100_pad", "deep_t12_64x96", "late_t12_64x96"]
OPTIONS = [
    "top_k",
    "mem_every",
    "deep_update_every",
    "enable_long_term",
    "min_mid_term_frames",
    "max_mid_term_frames",
    "num_prototypes",
    "max_long_term_elements",
]


@pytest.fixture(scope="module")
def network():
    return load_xmem(standin_state_dict(family="xmem"))


def annotations_of(case: dict[str, np.ndarray]) -> dict[int, torch.Tensor]:
    annotations = {0: torch.from_numpy(case["first_mask"].astype(np.int64))}
    for t, mask in zip(case["late_mask_frames"], case["late_masks"], strict=True):
        annotations[int(t)] = torch.from_numpy(mask.astype(np.int64))
    return annotations


@pytest.fixture(scope="module", params=CASES)
def run(request, golden, network):
    """Propagate one case through ``XMemInferenceCore.propagate``, recording the memory per frame."""
    case = golden(f"xmem/infer_xmem_{request.param}")
    options = json.loads(str(case["config_json"]))
    config = XMemInferenceConfig(**{name: options[name] for name in OPTIONS})
    core = XMemInferenceCore(network, config)
    videos: list[XMemVideo] = []
    start = core.start
    core.start = lambda *args: videos.append(start(*args)) or videos[-1]  # keep the video to inspect it
    frames = torch.from_numpy(case["rgb"])
    num_objects = case["prob"].shape[0] - 1
    hidden_shape = case["hidden"].shape[1:]
    record: dict[str, list] = {"index": [], "prob": [], "hidden": [], "work": [], "long": []}
    for prediction in core.propagate(frames, annotations_of(case), num_objects):
        memory = videos[0].memory
        assert memory.hidden is not None
        hidden = torch.zeros(hidden_shape)  # objects not given yet have zeros in the reference
        hidden[: memory.hidden.shape[1]] = memory.hidden[0]
        record["index"].append(prediction.index)
        record["prob"].append(prediction.prob)
        record["hidden"].append(hidden)
        record["work"].append(memory.working.size)
        record["long"].append(memory.long_term.size)
    return case, options, config, videos[0], record


def test_configuration_and_dimensions(run, network):
    case, options, config, video, _ = run
    assert config.counts_long_term_usage(len(case["rgb"])) == options["enable_long_term_count_usage"]
    assert video.memory.long_term.count_usage == options["enable_long_term_count_usage"]
    assert (network.size.key_dim, network.size.value_dim) == (options["key_dim"], options["value_dim"])
    assert network.hidden_dim == options["hidden_dim"]
    assert tuple(padding_for(*case["rgb"].shape[-2:])) == tuple(case["pad"])


def test_probabilities(run):
    case, _, _, _, record = run
    assert record["index"] == list(range(len(case["rgb"])))
    prob = torch.stack(record["prob"], dim=1)
    assert_close(prob, torch.from_numpy(case["prob"]), rtol=0, atol=PROB_ATOL)


def test_labels(run):
    case, _, _, _, record = run
    labels = torch.stack([labels_from_prob(prob) for prob in record["prob"]]).numpy()
    agreement = (labels == case["labels"]).reshape(len(labels), -1).mean(axis=1)
    assert agreement.min() >= LABEL_AGREEMENT


def test_hidden_state(run):
    case, _, _, _, record = run
    assert_close(torch.stack(record["hidden"]), torch.from_numpy(case["hidden"]), rtol=0, atol=HIDDEN_ATOL)


def test_memory_sizes(run):
    case, _, _, _, record = run
    assert record["work"] == case["work_mem_size"].tolist()
    assert record["long"] == case["long_mem_size"].tolist()


def test_memory_events(run):
    case, options, _, video, _ = run
    expected = json.loads(str(case["events_json"]))
    max_size = options["max_long_term_elements"] - options["num_prototypes"]
    assert len(video.memory.events) == len(expected)
    for event, reference in zip(video.memory.events, expected, strict=True):
        fields = {"frame", "kind", "long_before", "long_after"}
        if reference["kind"] == "consolidate":
            fields |= {"work_before", "work_after"}
        else:
            assert reference["max_size"] == max_size
            assert event.work_before == event.work_after
        assert {name: getattr(event, name) for name in fields} == {name: reference[name] for name in fields}


def test_objects_not_given_yet_are_exactly_zero(run):
    case, _, _, _, record = run
    prob = torch.stack(record["prob"], dim=1)
    for frame, mask in zip(case["late_mask_frames"], case["late_masks"], strict=True):
        label = int(mask.max())
        assert torch.count_nonzero(prob[label, :frame]) == 0
        assert float(prob[label, frame].max()) > 0.5
