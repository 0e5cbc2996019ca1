"""Downloads of checkpoints and datasets: one registry, resumable verified transfers, safe extraction."""
