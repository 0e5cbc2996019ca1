"""Whole adaptations replayed against the official code (``shared/golden/replay``).

Each case is one per-video adaptation run by the reference on a synthetic video with the stand-in
weights. ttvos reads the same JPEGs and first mask through its DAVIS reader, runs its own
adaptation with only the frame draws taken from the reference's ``frames_idx``, and must match
every sample, loss, pseudo-mask inference, final mask and recorded parameter at the tolerances of
the golden README.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ttvos.config import Config, load_config, replace
from ttvos.data.datasets import DatasetSource, open_dataset
from ttvos.data.io import write_mask
from ttvos.data.video import LoadedVideo, load_video
from ttvos.inference.segment import segment_video
from ttvos.model import load_stcn
from ttvos.ttt.adapt import AdaptTrace, TestTimeTrainer
from ttvos.ttt.replay import load_replay

CASES = ["mcc_t8_64x96", "ent_t8_64x96", "ae_t8_64x96"]
IMAGE_ATOL = 1e-5
LOSS_RTOL = 1e-4
MIN_AGREEMENT = 0.999
PARAM_ATOL = 1e-5
ZERO_GRADIENT_PARAM = "key_proj.key_proj.bias"  # Adam moves it by rounding noise only: up to lr per step


def case_config(settings: dict) -> Config:
    """The paper's config of the case's loss with the reference run's overrides."""
    augmentations = [] if settings["augmentations"] == "none" else settings["augmentations"]
    config = replace(
        load_config(settings["reference_config"]),
        **{
            "amp": settings["amp"],
            "inference.top_k": settings["top_k"],
            "inference.mem_every": settings["mem_every"],
            "inference.include_last": settings["include_last"],
            "inference.resolution": None,  # the reference segments at the native size
            "ttt.resolution": settings["ttt_resolution"],
            "ttt.jump_steps": settings["jump_steps"],
            "ttt.iters_per_jump": settings["iters_per_jump"],
            "ttt.lr": settings["lr"],
            "ttt.weight_decay": settings["weight_decay"],
            "ttt.batch_size": settings["batch_size"],
            "ttt.max_jump": settings["max_jump"],
            "ttt.seq_len": settings["seq_len"],
            "ttt.frozen": settings["frozen"],
            "ttt.augmentations": augmentations,
        },
    )
    assert config.ttt.loss == settings["loss"]
    return config


def davis_video(case: dict[str, np.ndarray], root: Path, name: str, config: Config) -> LoadedVideo:
    """The reference's JPEG files and first mask in a DAVIS tree, read by ttvos's DAVIS reader."""
    davis = root / "DAVIS" / "2017" / "trainval"
    frames = davis / "JPEGImages" / "480p" / name
    masks = davis / "Annotations" / "480p" / name
    frames.mkdir(parents=True)
    masks.mkdir(parents=True)
    (davis / "ImageSets" / "2017").mkdir(parents=True)
    (davis / "ImageSets" / "2017" / "val.txt").write_text(f"{name}\n")
    data, offsets = case["jpeg_data"], case["jpeg_offsets"]
    for t in range(len(offsets) - 1):
        (frames / f"{t:05d}.jpg").write_bytes(data[offsets[t] : offsets[t + 1]].tobytes())
    write_mask(masks / "00000.png", case["first_label"])
    dataset = open_dataset(DatasetSource("davis"), root, cache=root / "cache")
    return load_video(dataset.video(name), config.inference.resolution)


def agreement(ours: np.ndarray, reference: np.ndarray) -> float:
    assert ours.shape == reference.shape
    return float((ours == reference).mean())


@pytest.mark.parametrize("name", CASES)
def test_whole_adaptation_matches_the_reference(name, golden_dir, standin_checkpoint, tmp_path):
    with np.load(golden_dir / "replay" / f"replay_{name}.npz") as data:
        case = {key: data[key] for key in data.files}
    settings = json.loads(str(case["config_json"]))
    config = case_config(settings)
    video = davis_video(case, tmp_path, name, config)
    assert np.array_equal(
        np.stack([video.frames.raw(t) for t in range(len(video.frames))]), case["frames_decoded"]
    )
    replay_file = tmp_path / "draws.json"
    replay_file.write_text(json.dumps({name: case["frames_idx"].tolist()}))

    network = load_stcn(standin_checkpoint)  # a fresh copy: adaptation changes it
    before = {key: value.clone() for key, value in network.state_dict().items()}
    for key in case:
        if key.startswith("param_before__"):
            assert torch.equal(before[key.removeprefix("param_before__")], torch.from_numpy(case[key])), key
    trace = AdaptTrace()
    steps = list(
        TestTimeTrainer(network).adapt(
            video, config, settings["seed"], draws=load_replay(replay_file).for_video(name), trace=trace
        )
    )
    final = np.stack([mask.labels for mask in segment_video(network, video, config.inference)])

    # every pseudo-mask inference: the reference's first tt-MCC refresh repeats the initial one,
    # which ttvos skips (docs/ttt.md), so it is compared with ttvos's initial inference
    reference_masks = case["pseudo_masks"]
    if config.ttt.loss == "mcc":
        assert np.array_equal(reference_masks[0], reference_masks[1])
        reference_masks = np.concatenate([reference_masks[:1], reference_masks[2:]])
    assert len(trace.pseudo_masks) == len(reference_masks)
    pseudo = [
        agreement(np.stack(masks), ref)
        for masks, ref in zip(trace.pseudo_masks, reference_masks, strict=True)
    ]
    assert min(pseudo) >= MIN_AGREEMENT, pseudo

    # each iteration's sample (frame 0's masks: the losses read no other) and loss
    per_stage = config.ttt.iters_per_jump * config.ttt.batch_size
    assert len(trace.samples) == len(steps) == len(case["loss"])
    for i, (sample, step) in enumerate(zip(trace.samples, steps, strict=True)):
        assert sample.frame_indices == tuple(case["frames_idx"][i])
        torch.testing.assert_close(sample.images, torch.from_numpy(case["rgb"][i]), rtol=0, atol=IMAGE_ATOL)
        assert torch.equal(sample.masks, torch.from_numpy(case["gt"][i][:, 0]))
        assert torch.equal(sample.others, torch.from_numpy(case["sec_gt"][i][:, 0]))
        assert torch.equal(sample.labels, torch.from_numpy(case["cls_gt"][i][0]))
        assert np.array_equal(case["selector"][i], np.ones(sample.masks.shape[0], dtype=np.float32))
        # the later frames' masks the reference carried come from the pseudo-masks in force
        in_force = trace.pseudo_masks[i // per_stage if config.ttt.loss == "mcc" else 0]
        for t, frame in enumerate(sample.frame_indices[1:], start=1):
            assert agreement(in_force[frame].astype(np.int64), case["cls_gt"][i][t]) >= MIN_AGREEMENT
        assert step.loss == pytest.approx(float(case["loss"][i]), rel=LOSS_RTOL)

    assert agreement(final, case["final_labels"]) >= MIN_AGREEMENT
    after = network.state_dict()
    lr_bound = config.ttt.lr * len(steps) * (1 + 1e-3)
    for key in case:
        if not key.startswith("param_after__"):
            continue
        param = key.removeprefix("param_after__")
        if param == ZERO_GRADIENT_PARAM:
            assert (after[param] - before[param]).abs().max() <= lr_bound
        else:
            torch.testing.assert_close(after[param], torch.from_numpy(case[key]), rtol=0, atol=PARAM_ATOL)
