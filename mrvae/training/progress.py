"""A progress bar for long training: steps done, and the last epoch's loss, rate and distortion.

On by default only when stderr is a terminal, so notebooks, nbval-checked cells, logs and
CI output stay clean. It reads numbers the loop already has at the end of each epoch and
adds no host synchronisation per step.
"""

from __future__ import annotations

import statistics
import sys

__all__ = ["Progress", "progress_wanted"]


def progress_wanted(requested: bool | None) -> bool:
    """``requested``, or (``None``) whether stderr is an interactive terminal."""
    if requested is not None:
        return requested
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class Progress:
    """A tqdm bar over ``total`` steps starting at ``done`` (a resumed run); inert when disabled."""

    def __init__(self, total: int, done: int = 0, *, enabled: bool, description: str = "training") -> None:
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc=description, unit="step", dynamic_ncols=True)

    def step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def epoch(self, records: list[dict[str, float]]) -> None:
        """Show the epoch's training means (averaged over models for a sweep)."""
        if self._bar is not None:
            self._bar.set_postfix({key: f"{statistics.fmean(r[key] for r in records):.2f}"
                                   for key in ("loss", "rate", "distortion")})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
