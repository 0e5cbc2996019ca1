"""ttvos: test-time training for matching-based video object segmentation."""

__version__ = "0.1.0"
