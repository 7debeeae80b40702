"""Train independent models side by side on a CPU: one thread each, one process per core.

A β-VAE sweep is ten trainings that share nothing but their data. On a CPU, the small
networks of the book's quick profile scale poorly over intra-op threads, so two single-thread
trainings at once finish sooner than two two-thread trainings in turn (1.4x for the quick conv
net, 1.7x for the quick ResNet on 2 cores). :func:`run_jobs` runs such trainings in worker
processes, each limited to one thread.

Every job runs on one thread whatever ``workers`` is, in a worker or in this process, so the
trained models do not depend on the number of workers or of cores: the same seed gives the
same floats on a 2-core laptop and a 64-core server (tested bit for bit). Threads, not
workers, change float results, because a parallel reduction sums in another order.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import torch

__all__ = ["default_workers", "handoff_dir", "one_thread", "run_jobs"]

T = TypeVar("T")


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one intra-op thread, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def handoff_dir(run_dir: Path | None, workers: int | None) -> Iterator[Path | None]:
    """Where trainings write the checkpoints that carry their models out of the workers.

    ``run_dir`` itself when given (the models stay cached there) or when nothing runs in
    workers (``workers=None``); otherwise a temporary folder, deleted after the block.
    """
    if run_dir is not None or workers is None:
        yield run_dir
        return
    with tempfile.TemporaryDirectory(prefix="mrvae-runs-") as scratch:
        yield Path(scratch)


def _start_worker() -> None:
    torch.set_num_threads(1)


def _check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}; default_workers() gives one per core")
    return workers


def run_jobs(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """Call every job on one thread, up to ``workers`` at a time; their results, in order.

    Args:
        jobs: zero-argument callables that pickle (a module-level function, or a
            ``functools.partial`` of one, with picklable arguments): with ``workers > 1`` each
            runs in a fresh process (the ``spawn`` start method, safe after torch has started
            threads). Jobs that write files must write different ones.
        workers: how many run at a time; 1 runs them in turn in this process.

    Raises:
        ValueError: ``workers`` is not a positive int.
        Exception: the first failing job's own exception (pending jobs are cancelled).
        RuntimeError: a worker died without one (killed, out of memory, or a script whose
            top-level code is not under ``if __name__ == "__main__":``).
    """
    workers = _check_workers(workers)
    if workers == 1 or len(jobs) <= 1:
        with one_thread():
            return [job() for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_start_worker) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            return [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise RuntimeError(
                "a worker process died before its job finished. Workers start with the 'spawn' method, "
                "which imports the main script again: in a script, put its top-level code under "
                "`if __name__ == \"__main__\":`. Otherwise look for a kill or an out-of-memory, or train "
                "in this process (workers=None, or a profile without parallel)") from error
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
