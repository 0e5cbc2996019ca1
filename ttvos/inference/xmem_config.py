"""XMem inference settings: the options of XMem's ``eval.py``, under its names and with its defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class XMemInferenceConfig:
    """How a video is segmented with XMem (working, long-term and sensory memory)."""

    top_k: int = 30  # memory elements kept per query position (top-k softmax)
    mem_every: int = 5  # a frame becomes working memory every mem_every frames (r in the paper)
    deep_update_every: int = -1  # deep hidden-state update every N frames; < 0: on every memory frame
    enable_long_term: bool = True  # consolidate old working memory into long-term prototypes
    min_mid_term_frames: int = 5  # T_min: frames left after consolidating (the first + T_min-1 newest)
    max_mid_term_frames: int = 10  # T_max: working-memory frames that trigger a consolidation
    num_prototypes: int = 128  # P: long-term prototypes made per consolidation
    max_long_term_elements: int = 10000  # LT_max: least-used long-term elements are removed beyond it
    resolution: int | None = 480  # shorter side the network runs at (XMem's --size); None = input size

    def problems(self) -> list[str]:
        """One-line descriptions of the values XMem cannot run with (empty when all are valid)."""
        checks = [
            (self.top_k >= 1, "top_k must be >= 1"),
            (self.mem_every >= 1, "mem_every must be >= 1"),
            (self.min_mid_term_frames >= 1, "min_mid_term_frames must be >= 1"),
            (
                self.max_mid_term_frames > self.min_mid_term_frames,
                "max_mid_term_frames must be larger than min_mid_term_frames",
            ),
            (self.num_prototypes >= 1, "num_prototypes must be >= 1"),
            (
                self.max_long_term_elements > self.num_prototypes,
                "max_long_term_elements must be larger than num_prototypes",
            ),
            (self.resolution is None or self.resolution >= 16, "resolution must be >= 16 pixels or native"),
        ]
        return [message for ok, message in checks if not ok]

    def counts_long_term_usage(self, num_frames: int) -> bool:
        """Whether long-term usage is counted: only when the video can fill the long-term memory.

        ``eval.py``'s rule: ``T / (T_max - T_min) * P >= LT_max`` for a video of T frames. Without
        the count, the least-used long-term elements could not be found (nor need to be).
        """
        frames_per_consolidation = self.max_mid_term_frames - self.min_mid_term_frames
        return (
            self.enable_long_term
            and num_frames / frames_per_consolidation * self.num_prototypes >= self.max_long_term_elements
        )
