"""Side-by-side single-thread jobs: results in order, one thread each, errors that surface."""

from __future__ import annotations

import operator
import pickle
from functools import partial

import pytest
import torch

from mrvae.training.pool import _ByValue, check_collected, collecting, default_workers, one_thread, run_jobs


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


def test_collecting_refuses_to_train_what_a_worker_did_not_finish(tmp_path) -> None:
    check_collected(0, 3, tmp_path)  # outside the block: a run may start
    with collecting():
        check_collected(3, 3, tmp_path)  # finished: loaded, fine
        with pytest.raises(RuntimeError, match="epoch 1 of 3"):
            check_collected(1, 3, tmp_path)
        with collecting(False):  # an inactive block inside an active one keeps it active
            with pytest.raises(RuntimeError, match="delete that folder"):
                check_collected(0, 3, None)
    with collecting(False):
        check_collected(0, 3, None)
