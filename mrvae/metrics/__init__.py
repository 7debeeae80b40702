"""Metrics: held-out rate–distortion and active units, Fréchet distances (FID) and the MIG."""

from mrvae.metrics.rate_distortion import (
    active_units,
    evaluate,
    rate_distortion_curve,
    relative_gap,
)

__all__ = ["active_units", "evaluate", "rate_distortion_curve", "relative_gap"]
