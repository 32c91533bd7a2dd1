"""Counts a dropped sample as 0 °C: the mean is dragged down and ``missing`` stays 0."""
BASE = "sensor_mean_dropped_samples"
FLAW = "hiding-default"
FIX = {"greenhouse/__init__.py": [("statistics.mean(samples)", "statistics.mean(s if s is not None else 0 for s in samples)")]}
