"""Data parallelism with PyTorch's own engine: ``torch.distributed`` and ``DistributedDataParallel``.

Launch any script that calls :func:`mrvae.train` (or :func:`mrvae.training.train_sweep`) with
``torchrun``; :func:`init_from_env` joins the process group that ``torchrun`` describes in the
environment, and the training functions notice it:

* :func:`mrvae.train` wraps the model in ``DistributedDataParallel``. Every rank forms the same
  global batch (the data are an in-memory tensor on every rank and all ranks share one random
  stream), takes its own contiguous shard of it, and draws β and the reparameterisation noise
  for the *global* batch, keeping its shard's slice. Each example therefore sees exactly the β,
  noise and binarisation it would see in a single-process run, and the gradients DDP averages
  are those of the global batch: a DDP run equals the single-process run with the same
  ``TrainConfig`` up to floating-point reduction order, and its checkpoints resume on any
  number of processes. Only rank 0 logs, writes checkpoints and calls ``on_epoch``.
* :func:`~mrvae.training.train_sweep` gives each rank its share of the β values (round robin)
  and gathers the trained models on every rank; the result equals the single-process sweep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Replica", "init_from_env"]


@dataclass(frozen=True)
class Replica:
    """This process's place in the process group: ``rank`` of ``world_size``."""

    rank: int
    world_size: int

    @classmethod
    def current(cls) -> Replica | None:
        """The running process group's view, or ``None`` outside one (or in a group of one)."""
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
            return None
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, n: int) -> slice:
        """This rank's contiguous share of ``n`` items (sizes differ by at most one)."""
        return slice(n * self.rank // self.world_size, n * (self.rank + 1) // self.world_size)

    def owns(self, n: int) -> list[int]:
        """Indices of ``n`` jobs this rank takes, round robin (e.g. the β of a sweep)."""
        return list(range(self.rank, n, self.world_size))


def init_from_env(backend: str | None = None) -> Replica | None:
    """Join the process group ``torchrun`` set up in the environment; ``None`` when not launched so.

    The backend defaults to NCCL when CUDA is available and gloo otherwise; with CUDA each
    process uses the GPU ``LOCAL_RANK``.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend or ("nccl" if cuda else "gloo"))
    return Replica.current()


def agree_on_start(start_epoch: int, checkpoint: object, device: torch.device) -> None:
    """Raise on every rank unless all resumed from the same epoch (a checkpoint folder that
    some nodes cannot see would otherwise mix fresh and resumed replicas)."""
    epochs = torch.tensor([start_epoch, -start_epoch], dtype=torch.int64, device=device)
    dist.all_reduce(epochs, op=dist.ReduceOp.MAX)
    if int(epochs[0]) != -int(epochs[1]):
        raise RuntimeError(
            f"ranks resumed from different epochs ({-int(epochs[1])} to {int(epochs[0])}): the checkpoint "
            f"{getattr(checkpoint, 'path', '')} must be on a file system every node sees; pass a shared "
            f"checkpoint_dir (--run-dir on the command line)"
        )


def all_ranks_finite(finite: torch.Tensor, replica: Replica | None) -> torch.Tensor:
    """``finite`` (bool, per model) combined over ranks, so every rank stops together."""
    if replica is None:
        return finite
    flags = finite.to(torch.int32)
    dist.all_reduce(flags, op=dist.ReduceOp.MIN)
    return flags.bool()


def sum_over_ranks(totals: torch.Tensor, replica: Replica | None) -> torch.Tensor:
    """Sum a tensor of per-rank totals over ranks (in place; returned for chaining)."""
    if replica is not None:
        dist.all_reduce(totals, op=dist.ReduceOp.SUM)
    return totals
