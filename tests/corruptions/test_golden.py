"""DAVIS-C corruptions against the reference generator's outputs on real DAVIS frames.

Tolerances from ``shared/golden/corrupt/README.md``: contrast, pixelate and motion_blur
pixel-exact; brightness, saturate, defocus_blur and cartoon max |diff| <= 1 on <= 0.1% of the
values with PSNR > 60 dB; gaussian_noise and glass_blur statistics within value +- tolerance;
crf_compression PSNR and mean difference within +- 0.5 of the reference chain's.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ttvos.corruptions import LEVELS, corrupt_video
from ttvos.corruptions.compression import crf_compression, crf_compression_jpegs, decode_jpeg
from ttvos.corruptions.glass import glass_blur
from ttvos.corruptions.imagenet_c import gaussian_noise
from ttvos.corruptions.tree import encode_frame

EXACT = ("contrast", "pixelate", "motion_blur")
PER_FRAME = ("brightness", "contrast", "saturate", "pixelate", "defocus_blur", "cartoon")
PNG_FRAMES = ("00000", "00003")


@pytest.fixture(scope="module")
def corrupt_dir(golden_dir: Path) -> Path:
    return golden_dir / "corrupt"


@pytest.fixture(scope="module")
def stats(corrupt_dir: Path) -> dict:
    return json.loads((corrupt_dir / "expected_stats.json").read_text())


@pytest.fixture(scope="module")
def clip(corrupt_dir: Path, stats: dict) -> np.ndarray:
    """The 5 judo frames, T*H*W*3 uint8 RGB (PIL decodes them as OpenCV does: the README's check)."""
    assert all(diff == 0 for diff in stats["decode_check_max_abs_diff_pil_vs_cv2"].values())
    return np.stack([read_rgb(corrupt_dir / "input" / f"{frame}.jpg") for frame in stats["frames"]])


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


def bgr_sha256(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb[..., ::-1]).tobytes()).hexdigest()


def difference_stats(outputs: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    diff = outputs.astype(np.float64) - clean
    mse = float(np.mean(diff**2))
    return {
        "mean_diff": float(diff.mean()),
        "std_diff": float(diff.std()),
        "mean_abs_diff": float(np.abs(diff).mean()),
        "psnr_db": 10 * np.log10(255**2 / mse),
    }


def jpeg_round_trip(frames: np.ndarray) -> np.ndarray:
    """What DAVIS-C's files decode to: our JPEG writer, then libjpeg."""
    return np.stack([decode_jpeg(encode_frame(frame, "jpg")) for frame in frames])


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", PER_FRAME)
def test_deterministic_frames_match_the_reference(name, level, corrupt_dir, clip, stats):
    # Cartoon (mean shift) is slow at 480p: one of the two frames per level, alternating.
    frames = PNG_FRAMES if name != "cartoon" else PNG_FRAMES[LEVELS.index(level) % 2 :][:1]
    ours = corrupt_video(clip[[stats["frames"].index(frame) for frame in frames]], name, level)
    for frame, out in zip(frames, ours, strict=True):
        expected = read_rgb(corrupt_dir / "expected" / name / level / f"{frame}.png")
        diff = np.abs(out.astype(np.int16) - expected)
        if name in EXACT:
            assert diff.max() == 0, f"{name}/{level}/{frame}: max diff {diff.max()}"
            continue
        mse = float(np.mean(diff.astype(np.float64) ** 2))
        assert diff.max() <= 1 and np.mean(diff > 0) <= 1e-3, f"{name}/{level}/{frame}: max {diff.max()}"
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 60


@pytest.mark.parametrize("name", EXACT)
def test_exact_types_hash_like_the_reference_on_every_frame(name, clip, stats):
    for level in LEVELS:
        ours = corrupt_video(clip, name, level)
        expected = stats["deterministic"][name][level]["sha256_uint8_bgr"]
        assert [bgr_sha256(out) for out in ours] == [expected[f] for f in stats["frames"]], f"{name}/{level}"


def test_motion_blur_matches_the_reference_pngs(corrupt_dir, clip, stats):
    for level in LEVELS:
        ours = corrupt_video(clip, "motion_blur", level)
        assert np.array_equal(ours[0], clip[0])  # frame 0 is the input
        for t, frame in enumerate(stats["frames"][1:], start=1):
            expected = read_rgb(corrupt_dir / "expected" / "motion_blur" / level / f"{frame}.png")
            assert np.array_equal(ours[t], expected), f"motion_blur/{level}/{frame}"


@pytest.mark.parametrize("name", ["brightness", "cartoon"])
def test_jpeg_writer_is_the_one_davis_c_used(name, corrupt_dir, stats):
    """Our q95 JPEG of the exact array decodes to what OpenCV's file decodes to: same PSNR."""
    for level in LEVELS:
        exact = read_rgb(corrupt_dir / "expected" / name / level / "00000.png")
        decoded = jpeg_round_trip(exact[None])[0]
        psnr = difference_stats(decoded[None], exact[None].astype(np.float64))["psnr_db"]
        assert psnr == pytest.approx(
            stats["deterministic"][name][level]["psnr_davisc_jpeg_vs_exact"]["00000"], abs=1e-6
        )


def assert_within(ours: dict[str, float], expected: dict[str, dict[str, float]], where: str) -> None:
    for key, reference in expected.items():
        assert abs(ours[key] - reference["value"]) <= reference["tolerance"], (
            f"{where} {key}: {ours[key]:.4f} vs {reference['value']:.4f} +- {reference['tolerance']:.4f}"
        )


@pytest.mark.parametrize("name", ["gaussian_noise", "glass_blur"])
def test_random_types_match_the_reference_statistics(name, clip, stats):
    for level in LEVELS:
        ours = corrupt_video(clip, name, level, seed=7)
        reference = stats["random"][name][level]
        assert_within(difference_stats(ours, clip), reference["pre_jpeg"], f"{name}/{level} pre_jpeg")
        after = difference_stats(jpeg_round_trip(ours), clip)
        assert_within(after, reference["after_cv2_jpeg_q95"], f"{name}/{level} after jpeg")


def test_seeded_frames_are_bit_exact(clip, stats):
    """The reference's protocol: the legacy global RNG seeded right before each frame."""
    hashes = stats["random"]
    for level in LEVELS:
        for seed, t in (("1", 0), ("2", 3)):
            frame, bgr = stats["frames"][t], np.ascontiguousarray(clip[t][..., ::-1])
            noise = gaussian_noise(bgr, level, np.random.RandomState(int(seed)))
            glass = glass_blur(bgr, level, np.random.RandomState(int(seed)))
            for out, name in ((noise, "gaussian_noise"), (glass, "glass_blur")):
                out8 = np.clip(np.rint(out), 0, 255).astype(np.uint8)
                assert (
                    hashlib.sha256(out8.tobytes()).hexdigest()
                    == hashes[name]["seeded_exact_sha256"][level][seed][frame]
                )


def test_true_swap_matches_the_diagnostic_variant(clip, stats):
    """--no-faithful glass blur is the intended swap: the README's diagnostic (seed 1, 2 frames)."""
    for level in LEVELS:
        variants = stats["random"]["glass_blur"]["diagnostic_variants"][level]
        picked = [stats["frames"].index(f) for f in variants["frames"]]
        outputs = []
        for t in picked:
            bgr = np.ascontiguousarray(clip[t][..., ::-1])
            out = glass_blur(bgr, level, np.random.RandomState(1), faithful=False)
            outputs.append(np.clip(np.rint(out), 0, 255).astype(np.uint8)[..., ::-1])
        ours = difference_stats(np.stack(outputs), clip[picked])
        for key, value in variants["true_swap"].items():
            assert ours[key] == pytest.approx(value, abs=1e-9), f"{level} {key}"


def test_crf_compression_matches_the_reference_chain(clip, stats):
    psnrs = []
    for level in LEVELS:
        ours = difference_stats(crf_compression(clip, level), clip)
        reference = stats["crf_compression"][level]["reference_chain"]
        assert abs(ours["psnr_db"] - reference["psnr_db"]) <= 0.5, f"{level}: {ours} vs {reference}"
        assert abs(ours["mean_diff"] - reference["mean_diff"]) <= 0.5, f"{level}: {ours} vs {reference}"
        psnrs.append(ours["psnr_db"])
    assert psnrs[0] > psnrs[1] > psnrs[2]


def test_crf_compression_files_are_the_mjpeg_frames(clip):
    jpegs = crf_compression_jpegs(clip[:2], "high")
    assert len(jpegs) == 2 and all(data[:2] == b"\xff\xd8" for data in jpegs)
    with Image.open(io.BytesIO(jpegs[0])) as image:
        assert image.format == "JPEG" and image.size == (clip.shape[2], clip.shape[1])
