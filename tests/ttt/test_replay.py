"""Replayed frame draws: reading replay files, checking them, and rebuilding sequences exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ttvos.config import TTTConfig
from ttvos.errors import UserError
from ttvos.ttt.adapt import sequence_lengths
from ttvos.ttt.replay import ReplayedDraws, draw_record, load_replay
from ttvos.ttt.sampler import Draw, SequenceSampler


def masks_with_second_object_in(video, frames):
    """Pseudo-masks: frame 0's annotation everywhere, object 2 only in ``frames``."""
    first = video.annotations[0].numpy().astype(np.uint8)
    masks = [first.copy() for _ in range(len(video.frames))]
    for t, mask in enumerate(masks):
        if t not in frames:
            mask[mask == 2] = 0
    return masks


AUGMENTED = {"augmentations": ("colour", "geometric"), "scale": (0.7, 1.0), "ratio": (0.8, 1.25)}


def sampler_for(video, masks, draws=None, *, augmented, rng_seed=0):
    config = TTTConfig(resolution=None, **(AUGMENTED if augmented else {}))
    return SequenceSampler(
        video.frames,
        masks,
        [0],
        config,
        np.random.default_rng(rng_seed),
        check_last=True,
        draws=draws,
        seed=(7, 0, 0),
    )


def assert_same_sample(a, b):
    if a is None or b is None:  # no object left in the first frame after augmentation
        assert a is b
        return
    assert a.frame_indices == b.frame_indices
    for name in ("images", "masks", "others", "labels"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("augmented", [False, True])
@pytest.mark.parametrize("second_object_in", [{0, 2}, {0}])
def test_replaying_the_draws_rebuilds_every_sequence(tiny_videos, augmented, second_object_in):
    """Retries (object 2 missing from the last frame) and fallbacks included; the frame generator
    of the replay differs, the per-trial generators do not."""
    video = tiny_videos[0]
    masks = masks_with_second_object_in(video, second_object_in)
    sampler = sampler_for(video, masks, augmented=augmented)
    drawn = [sampler.draw_sample(10, 3) for _ in range(4)]
    assert any(draw.trial > 1 for draw, _ in drawn)
    if second_object_in == {0}:  # never accepted before the reference's 50-trial relaxation
        assert all(d.trial > 50 and s.frame_indices[-1] == 0 for d, s in drawn if s is not None)
    replay = ReplayedDraws("video0", [draw for draw, _ in drawn], "test")
    replay.start(len(video.frames), [0], [3] * len(drawn))
    again = sampler_for(video, masks, replay, augmented=augmented, rng_seed=99)
    for draw, sample in drawn:
        replayed_draw, replayed = again.draw_sample(10, 3)
        assert replayed_draw == draw
        assert_same_sample(replayed, sample)


def test_trained_frames_of_a_fallback_replay_as_the_fallback(tiny_videos):
    """A frame list whose last frame is the first (the reference's fallback, as its logs and
    ``frames_idx`` record it) gives the fallback's sequence: a copy of the first image last."""
    video = tiny_videos[0]
    masks = masks_with_second_object_in(video, {0})
    _, fallback = sampler_for(video, masks, augmented=False).draw_sample(10, 3)
    assert fallback.frame_indices == (0, 1, 0)
    replay = ReplayedDraws("video0", [Draw(fallback.frame_indices)], "test")
    replay.start(len(video.frames), [0], [3])
    draw, replayed = sampler_for(video, masks, replay, augmented=False).draw_sample(10, 3)
    assert draw == Draw((0, 1, 0), 1)
    assert_same_sample(replayed, fallback)


def test_sequence_lengths_follow_the_schedule():
    ttt = TTTConfig(loss="mcc", jump_steps=2, iters_per_jump=1, batch_size=2, max_jump=(10,), seq_len=(3, 4))
    assert sequence_lengths(ttt) == [3, 3, 4, 4, 3, 3, 4, 4]
    assert sequence_lengths(TTTConfig(loss="none")) == []


def draws(*lists):
    return ReplayedDraws("bike", [Draw(tuple(frames)) for frames in lists], "draws.json")


@pytest.mark.parametrize(
    ("replay", "message"),
    [
        (draws([0, 1, 2]), "'bike' has 1 draws but the schedule trains on 2 sequences"),
        (draws([0, 1, 2], [0, 1, 2], [0, 1, 2]), "'bike' has 3 draws but the schedule trains on 2"),
        (draws([0, 1, 2], [0, 1, 8]), "draw 2 names frame 8, the video has 8 frames (0..7)"),
        (draws([0, -1, 2], [0, 1, 2]), "draw 1 names frame -1"),
        (draws([0, 1], [0, 1, 2]), "draw 1 has 2 frames, its stage trains on sequences of 3"),
        (draws([0, 1, 2], [3, 4, 5]), "draw 2 starts at frame 3, which is not annotated (annotated: 0)"),
        (ReplayedDraws("bike", [Draw((0, 1, 2), 101)] * 2, "d"), "draw 1 has trial 101, not in 1..100"),
    ],
)
def test_draws_that_do_not_fit_are_refused(replay, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replay.check(8, [0], [3, 3])


def test_a_json_mapping_gives_every_video_its_frame_lists(tmp_path):
    path = tmp_path / "draws.json"
    path.write_text(json.dumps({"bike": [[0, 1, 5], [0, 2, 3]], "car": [[0]]}))
    replay = load_replay(path)
    assert replay.videos == {"bike": [Draw((0, 1, 5)), Draw((0, 2, 3))], "car": [Draw((0,))]}
    assert replay.path == path.resolve()
    with pytest.raises(UserError, match=r"no draws for video 'dog' \(it has: bike, car\)"):
        replay.for_video("dog")


def log(video, steps):
    return {"video": video, "seed": 1, "steps": steps}


def test_logs_and_run_folders_give_the_recorded_draws(tmp_path):
    logs = tmp_path / "run" / "logs"
    logs.mkdir(parents=True)
    recorded = [Draw((0, 1, 4), 3), Draw((0, 1, 0), 51)]
    step = {"loss": 1.0, "frames": [[0, 1, 4]], "draws": [draw_record(d) for d in recorded]}
    (logs / "bike.json").write_text(json.dumps(log("bike", [step])))
    older = {"loss": 1.0, "frames": [[0, 1, 2], [0, 1, 0]]}  # a log written before draws were recorded
    (logs / "car.json").write_text(json.dumps(log("car", [older])))
    assert load_replay(logs / "bike.json").videos == {"bike": recorded}
    assert load_replay(tmp_path / "run").videos == {
        "bike": recorded,
        "car": [Draw((0, 1, 2)), Draw((0, 1, 0))],
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "replay file not found"),
        ("{", "not valid JSON"),
        ("[[0, 1, 2]]", 'expected {"<video>": '),
        ('{"bike": [0, 1, 2]}', "a draw must be a non-empty list of frame indices, got 0"),
        ('{"bike": {"a": 1}}', "bike: expected a list of draws"),
        ('{"video": "bike", "steps": [{"draws": [{"frames": [0]}]}]}', "not a ttvos per-video log"),
    ],
)
def test_unreadable_replay_files_are_refused(tmp_path, content, message):
    path = tmp_path / "draws.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message.replace("[", r"\[")):
        load_replay(path)


def test_a_folder_without_logs_is_refused(tmp_path):
    with pytest.raises(UserError, match="not a ttvos run folder"):
        load_replay(tmp_path)
