"""Training sequences for test-time training, drawn as the reference's ``VOSDataset`` draws them.

A sequence starts at an annotated frame (frame 0 in DAVIS) with its mask and continues with
frames at most ``max_jump`` apart; the objects to train on are checked on the current
pseudo-masks. Where the frame indices come from is pluggable (:class:`FrameDraws`): drawn at
random, or replayed from a file (:mod:`ttvos.ttt.replay`). The other random choices of a trial
(objects, augmentation) come from a generator seeded by (sampler seed, sequence number, trial
number) only, so replaying a sequence's frames and trial reproduces the sequence exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from ttvos.config import TTTConfig
from ttvos.data.augment import (
    Colour,
    apply_affine,
    apply_colour,
    apply_crop,
    draw_affine,
    draw_colour,
    draw_crop,
)
from ttvos.data.io import normalize_frame, working_size
from ttvos.data.video import FrameSequence
from ttvos.model.padding import pad
from ttvos.ttt.losses import TrainingSample

TRIAL_LIMIT = 100  # the reference redraws a sequence at most this many times


@dataclass(frozen=True)
class Draw:
    """The frames one trial of a training sequence drew, before any fallback, and its trial number.

    A sequence is retried (new frames, objects and augmentation) until the reference's rules accept
    it, at most ``TRIAL_LIMIT`` times; ``trial`` (from 1) is the one the sequence ended with.
    """

    frames: tuple[int, ...]
    trial: int = 1


class FrameDraws(Protocol):
    """Where the frame indices of each training sequence come from."""

    def start(self, num_frames: int, annotated_frames: list[int], lengths: list[int]) -> None:
        """A new adaptation begins; ``lengths``: the seq_len of every sequence it will ask for."""

    def trials(self, sampler: SequenceSampler, max_jump: int, seq_len: int) -> Iterator[Draw]:
        """The next sequence's trials, in order: its frames, once per trial."""


class RandomDraws:
    """The reference's rule: every trial draws new frames from the sampler's generator."""

    def start(self, num_frames: int, annotated_frames: list[int], lengths: list[int]) -> None:
        pass

    def trials(self, sampler: SequenceSampler, max_jump: int, seq_len: int) -> Iterator[Draw]:
        for trial in range(1, TRIAL_LIMIT + 1):
            yield Draw(tuple(sampler.draw_indices(max_jump, seq_len)), trial)


@dataclass(frozen=True)
class _SequenceTransform:
    """Augmentation parameters shared by every frame of a sequence (hflip, crop, colour)."""

    flip: bool
    crop: tuple[int, int, int, int] | None  # top, left, height, width (random resized crop)
    colour: Colour | None
    grayscale: bool


@dataclass(frozen=True)
class _FrameTransform:
    """Per-frame augmentation parameters (affine, light colour jitter), same for image and mask."""

    affine: tuple[float, float] | None  # angle, shear_x
    colour: Colour | None


class SequenceSampler:
    """Draws :class:`TrainingSample` s from a video's frames and its current pseudo-masks.

    ``pseudo_masks[t]``: ``H*W`` uint8 contiguous object ids of frame t at the original size (for
    annotated frames, what inference produced there). With one annotated frame all its objects
    are trained together (at most ``max_objects``); with several (YouTube-VOS), one object and
    possibly a second one are drawn, as the reference does.
    """

    def __init__(
        self,
        frames: FrameSequence,
        pseudo_masks: list[np.ndarray],
        annotated_frames: list[int],
        config: TTTConfig,
        rng: np.random.Generator,
        *,
        check_last: bool,
        draws: FrameDraws | None = None,
        seed: tuple[int, ...] | None = None,
    ) -> None:
        self.frames = frames
        self.pseudo_masks = pseudo_masks
        self.annotated_frames = sorted(annotated_frames)
        self.config = config
        self.rng = rng  # frame draws only (RandomDraws)
        self.check_last = check_last
        self.all_objects = len(annotated_frames) == 1
        self.draws = draws or RandomDraws()
        # Objects and augmentation of trial t of the k-th sequence: generator seeded by (*seed, k, t).
        self.seed = seed if seed is not None else (int(rng.integers(2**63)),)
        self._sequences = 0

    # -- frame indices --------------------------------------------------------------------

    def frame_indices(self, first: int, max_jump: int, seq_len: int) -> list[int]:
        """The reference's ``get_sequence``: each next frame 1..max_jump after the previous one."""
        if seq_len == 1:
            return [first]
        count = len(self.frames)
        jump = min(count - first - 1, max_jump)
        if jump < 1:
            return [first] * seq_len  # nothing after the first frame: the sequence is a still
        indices = [first]
        for _ in range(seq_len - 2):
            index = indices[-1] + int(self.rng.integers(jump)) + 1
            indices.append(min(index, count - jump, count - 1))
        indices.append(min(indices[-1] + int(self.rng.integers(jump)) + 1, count - 1))
        return indices

    def draw_indices(self, max_jump: int, seq_len: int) -> list[int]:
        """An annotated first frame, then ``frame_indices``; redrawn while the last two frames
        coincide (some short videos allow nothing else)."""
        for _ in range(TRIAL_LIMIT):
            first = int(self.rng.choice(self.annotated_frames))
            indices = self.frame_indices(first, max_jump, seq_len)
            if len(indices) == 1 or indices[-1] != indices[-2]:
                break
        return indices

    # -- augmentation parameters ----------------------------------------------------------

    def _sequence_transform(self, rng: np.random.Generator, height: int, width: int) -> _SequenceTransform:
        augment, scale, ratio = self.config.augmentations, self.config.scale, self.config.ratio
        flip = "geometric" in augment and bool(rng.random() < 0.5)
        plain = scale == (1.0, 1.0) and ratio == (1.0, 1.0)  # no random-resized crop configured
        crop = None if plain else draw_crop(rng, height, width, scale, ratio)
        colour = draw_colour(rng, 0.1, 0.03, 0.03) if "colour" in augment else None
        grayscale = "colour" in augment and bool(rng.random() < 0.05)
        return _SequenceTransform(flip, crop, colour, grayscale)

    def _frame_transform(self, rng: np.random.Generator) -> _FrameTransform:
        augment = self.config.augmentations
        affine = draw_affine(rng, 15, 10) if "geometric" in augment else None
        colour = draw_colour(rng, 0.01, 0.01, 0.01) if "colour" in augment else None
        return _FrameTransform(affine, colour)

    # -- applying them --------------------------------------------------------------------

    def _resize(self, image: Image.Image, seq: _SequenceTransform, *, is_mask: bool) -> Image.Image:
        """Flip, then random-resized crop or shorter-side resize (torchvision's PIL operations)."""
        resolution = self.config.resolution
        if seq.crop is not None:
            size = resolution or min(image.height, image.width)
            return apply_crop(image, seq.crop, (size, size), flip=seq.flip, is_mask=is_mask)
        if seq.flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        height, width = working_size(image.height, image.width, resolution)
        if (height, width) == (image.height, image.width):
            return image
        resample = Image.Resampling.NEAREST if is_mask else Image.Resampling.BICUBIC
        return image.resize((width, height), resample)

    @staticmethod
    def _affine(image: Image.Image, frame: _FrameTransform, *, is_mask: bool) -> Image.Image:
        return image if frame.affine is None else apply_affine(image, frame.affine, is_mask=is_mask)

    def _image(self, index: int, seq: _SequenceTransform, frame: _FrameTransform) -> torch.Tensor:
        """Sequence-wide flip/resize and colour, then per-frame affine and colour (reference order)."""
        image = apply_colour(
            self._resize(Image.fromarray(self.frames.raw(index)), seq, is_mask=False), seq.colour
        )
        if seq.grayscale:
            image = image.convert("L").convert("RGB")  # torchvision's rgb_to_grayscale for PIL images
        image = apply_colour(self._affine(image, frame, is_mask=False), frame.colour)
        return normalize_frame(np.array(image))

    def _mask(self, index: int, seq: _SequenceTransform, frame: _FrameTransform) -> np.ndarray:
        mask = self._resize(Image.fromarray(self.pseudo_masks[index]), seq, is_mask=True)
        return np.array(self._affine(mask, frame, is_mask=True))

    # -- the sample -----------------------------------------------------------------------

    def sample(self, max_jump: int, seq_len: int) -> TrainingSample | None:
        """Draw one training sequence (frames, objects, augmentation) and build it.

        ``None`` when no object is visible in the first frame after augmentation, in every trial.
        """
        return self.draw_sample(max_jump, seq_len)[1]

    def draw_sample(self, max_jump: int, seq_len: int) -> tuple[Draw, TrainingSample | None]:
        """The next sequence and the draw it ended with (what a replay needs to rebuild it).

        Each trial takes its frames from ``draws`` and everything else from its own generator; the
        reference's acceptance rules decide whether another trial follows.
        """
        sequence = self._sequences
        self._sequences += 1
        for draw in self.draws.trials(self, max_jump, seq_len):
            rng = np.random.default_rng([*self.seed, sequence, draw.trial])
            indices = list(draw.frames)
            first_labels = np.unique(self.pseudo_masks[indices[0]])
            seq = self._sequence_transform(rng, *self.pseudo_masks[indices[0]].shape)
            frame_transforms = [self._frame_transform(rng) for _ in indices]
            first_mask = self._mask(indices[0], seq, frame_transforms[0])
            last_mask = self._mask(indices[-1], seq, frame_transforms[-1])
            objects, accepted = self._choose_objects(rng, first_mask, last_mask, first_labels, draw.trial - 1)
            if accepted:
                break
        if not objects:
            return draw, None
        same_objects = len(np.unique(first_mask)) == len(np.unique(last_mask))
        if (self.check_last and self.all_objects and not same_objects) or not accepted:
            indices[-1] = indices[0]  # the reference's fallback: the last frame becomes the first
        images = [self._image(i, seq, t) for i, t in zip(indices, frame_transforms, strict=True)]
        if len(indices) > 1 and indices[-1] == indices[0]:
            # A copy of the first frame (as transformed), also when a replayed draw names the first
            # frame last: the reference produces such a sequence only by this fallback.
            images[-1] = images[0]
        labels = [int(v) for v in np.unique(first_mask) if v != 0]
        return draw, self._build(torch.stack(images), first_mask, labels, objects, indices)

    def _choose_objects(
        self,
        rng: np.random.Generator,
        first_mask: np.ndarray,
        last_mask: np.ndarray,
        first_labels: np.ndarray,
        trials: int,
    ) -> tuple[list[int], bool]:
        """Objects to train on, and whether the sequence is accepted (the reference's rules)."""
        labels = [int(v) for v in np.unique(first_mask) if v != 0]
        if not labels:
            return [], False
        if not self.all_objects:
            target = int(rng.choice(labels))
            rest = [v for v in labels if v != target]
            return [target] + ([int(rng.choice(rest))] if rest else []), True
        count = min(len(labels), self.config.max_objects)
        targets = [int(v) for v in rng.choice(labels, count, replace=False)]
        present_last = set(np.unique(last_mask).tolist())
        num_first = len(labels) + 1
        accepted = (
            not self.check_last
            or set(targets) <= present_last
            or len(first_labels) == num_first == len(present_last)
            or (trials > TRIAL_LIMIT // 2 and len(first_labels) == num_first)
        )
        return targets, accepted

    def _build(
        self,
        images: torch.Tensor,
        first_mask: np.ndarray,
        labels: list[int],
        objects: list[int],
        indices: list[int],
    ) -> TrainingSample:
        """Frame 0's masks of the chosen objects, the other objects' masks and the class map."""
        mask = torch.from_numpy(first_mask.astype(np.int64))
        every = torch.stack([(mask == v).float() for v in labels])
        if self.all_objects and len(objects) == len(labels):
            objects = labels  # all objects, in id order (the reference keeps the sorted labels)
        if self.all_objects:
            chosen = every[[labels.index(v) for v in objects]]
            others = every.sum(dim=0, keepdim=True) - chosen  # includes objects not chosen
        else:
            chosen = torch.stack([(mask == v).float() for v in objects])
            others = chosen.sum(dim=0, keepdim=True) - chosen
        classes = torch.zeros_like(mask)
        for position, value in enumerate(objects, start=1):
            classes[mask == value] = position
        padded_images, _ = pad(images)
        padded_masks, _ = pad(torch.cat([chosen, others, classes[None].float()])[:, None])
        count = len(objects)
        return TrainingSample(
            padded_images,
            padded_masks[:count],
            padded_masks[count : 2 * count],
            padded_masks[2 * count, 0].long(),
            tuple(indices),
        )
