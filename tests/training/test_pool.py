"""Side-by-side single-thread jobs: results in order, one thread each, errors that surface."""

from __future__ import annotations

import operator
import os
import pickle
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
import torch

from mrvae.training.pool import _ByValue, default_workers, one_thread, run_jobs


def _threads_and_value(value: int) -> tuple[int, int]:
    return torch.get_num_threads(), value * value


def _fail(message: str) -> None:
    raise RuntimeError(message)


def test_results_come_back_in_job_order_on_one_thread_each() -> None:
    jobs = [partial(_threads_and_value, i) for i in range(5)]
    for workers in (1, 2):
        assert run_jobs(jobs, workers) == [(1, i * i) for i in range(5)]


def test_in_process_jobs_restore_the_thread_count() -> None:
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    run_jobs([partial(operator.add, 1, 2)], 1)
    assert torch.get_num_threads() == before


def test_a_failing_job_raises_its_own_error() -> None:
    with pytest.raises(RuntimeError, match="job two failed"):
        run_jobs([partial(operator.add, 1, 2), partial(_fail, "job two failed")], 2)
    with pytest.raises(RuntimeError, match="in process"):
        run_jobs([partial(_fail, "in process")], 1)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_bad_worker_counts_name_the_fix(workers) -> None:
    with pytest.raises(ValueError, match="default_workers"):
        run_jobs([], workers)


def test_default_workers_counts_usable_cores() -> None:
    assert default_workers() >= 1


def test_jobs_travel_by_value_with_their_tensors() -> None:
    payload = torch.arange(1000.0)
    travelled = pickle.loads(pickle.dumps(_ByValue(partial(torch.sum, payload))))
    assert isinstance(travelled, partial) and travelled() == payload.sum()
    assert run_jobs([partial(torch.sum, payload), partial(torch.max, payload)], 2) == [payload.sum(), payload.max()]


_ORPHAN_PARENT = """
import os, sys, time
from functools import partial
from pathlib import Path
from mrvae.training.pool import run_jobs

def report_and_wait(folder, index):
    Path(folder, f"worker{index}.pid").write_text(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    run_jobs([partial(report_and_wait, sys.argv[1], i) for i in range(2)], 2)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that never comes counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_workers_stop_within_seconds_when_their_parent_is_killed(tmp_path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_PARENT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("worker*.pid"))) < 2:
            assert parent.poll() is None, "the parent exited before its workers started"
            assert time.monotonic() < deadline, "workers did not start within 60 s"
            time.sleep(0.1)
        workers = [int(p.read_text()) for p in tmp_path.glob("worker*.pid")]
        assert all(_alive(pid) for pid in workers)
    finally:
        parent.kill()  # SIGKILL: no chance to shut its pool down
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"workers {survivors} kept running 10 s after their parent was killed"
