"""Train independent models side by side on a CPU: one thread each, one process per core.

A β-VAE sweep is ten trainings that share nothing but their data. On a CPU, the small
networks of the book's quick profile scale poorly over intra-op threads, so two single-thread
trainings at once finish sooner than two two-thread trainings in turn (on 2 cores, a 1-epoch
quick binary-MNIST panel of 21 models: 1.66x faster with the ResNet, 1.29x with the conv net).
:func:`run_jobs` runs such trainings in worker processes, each limited to one thread.

Every job runs on one thread whatever ``workers`` is, in a worker or in this process, so the
trained models do not depend on the number of workers or of cores: on machines of one kind,
the same seed gives the same floats (tests compare 1 and 2 workers bit for bit). Threads, not
workers, change float results, because a parallel reduction sums in another order.

Jobs travel to the workers by value (``torch.save`` bytes), not through torch's shared-memory
tensors: those hold a file descriptor per tensor and fill ``/dev/shm`` (64 MB in a default
Docker container). Models come back through their checkpoints:
``mrvae.train(..., load_finished=True)`` loads what a worker finished, and refuses to train
anything it did not.

A worker whose parent dies (a killed notebook kernel, a ``kill -9``) stops within about a
second instead of training on as an orphan: each worker watches its parent's pid.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import torch

__all__ = ["cpu_workers", "default_workers", "discarding_result", "handoff_dir", "one_thread", "run_jobs"]

T = TypeVar("T")


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def cpu_workers(workers: int | None, device: torch.device | str | None) -> int | None:
    """``workers`` where training runs on a CPU (``device`` None means the CPU); ``None`` (train
    in this process) elsewhere: one GPU is better used by one process."""
    on_cpu = device is None or torch.device(device).type == "cpu"
    return workers if on_cpu else None


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


def discarding_result(fit: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """A :func:`run_jobs` job: ``fit(*args, **kwargs)``, whose model reaches the parent through
    its checkpoint, not through a pickle."""
    fit(*args, **kwargs)


class _ByValue:
    """A job pickled as ``torch.save`` bytes, so its tensors travel inside the pickle."""

    def __init__(self, job: Callable[[], Any]) -> None:
        self.job = job

    def __reduce__(self) -> tuple[Callable[[bytes], Callable[[], Any]], tuple[bytes]]:
        buffer = io.BytesIO()
        torch.save(self.job, buffer)
        return _unpack, (buffer.getvalue(),)


def _unpack(payload: bytes) -> Callable[[], Any]:
    # Our own bytes, written a moment ago by the parent process: not untrusted input.
    return torch.load(io.BytesIO(payload), weights_only=False)


def _call(job: Callable[[], T]) -> T:
    return job()


#: How often a worker checks that the process that started it is still alive (seconds).
PARENT_POLL_SECONDS = 0.5


def _exit_when_orphaned(parent_pid: int, poll_seconds: float) -> None:
    # An orphan is re-parented (to init or a subreaper), so its parent pid changes. Polling
    # works on every POSIX system, unlike Linux's PR_SET_PDEATHSIG, which also fires when
    # the *thread* that started the worker ends rather than the process.
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os._exit(1)  # no cleanup: the parent that would collect the result is gone


def _start_worker(parent_pid: int, poll_seconds: float = PARENT_POLL_SECONDS) -> None:
    torch.set_num_threads(1)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid, poll_seconds), daemon=True,
                     name="mrvae-parent-watch").start()


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
        Exception: the first failing job's own exception, as soon as it fails (jobs not yet
            started are cancelled; running ones finish first).
        RuntimeError: a worker died without one (killed, interrupted, out of memory, or a
            script whose top-level code is not under ``if __name__ == "__main__":``).
    """
    workers = _check_workers(workers)
    if workers == 1 or len(jobs) <= 1:
        with one_thread():
            return [job() for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_start_worker,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_call, _ByValue(job)) for job in jobs]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
            return [future.result() for future in futures]
        except BrokenProcessPool as error:
            raise RuntimeError(
                "a worker process died before its job finished: killed, interrupted, or out of memory. Workers "
                "start with the 'spawn' method, which imports the main script again: in a script, put its "
                "top-level code under `if __name__ == \"__main__\":`. To train in this process instead, use a "
                "profile without `parallel` (or workers=None in the fit functions)") from error
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
