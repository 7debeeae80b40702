"""The gated layer's product ``x * g(β)`` as one autograd function, cheaper in memory and time
than autograd's own on a CPU (measured by ``scripts/benchmark_overhead.py``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


class _GateProduct(torch.autograd.Function):
    """``x * gates``, ``relu(x) * gates`` or ``residual + x * gates``, with ``gates (B, F)``
    broadcast along ``dim``.

    Autograd's own product keeps ``x`` and, in backward, materialises ``grad * x`` before
    summing it to ``(B, F)``; here, on a CPU, that sum is one pass with no temporary
    (:func:`_fused_feature_sums`).

    With ``relu`` (a gate followed by a ReLU, fused by :func:`mrvae.convert`) the output is
    ``relu(x * g) = relu(x) * g`` (gates are ``>= 0``): computed over ``x`` itself when
    ``in_place``, and kept for backward as a ReLU keeps its output, so the pair costs no more
    memory than the ReLU alone. Backward recovers ``relu(x)`` as ``out / g``; where ``g == 0``
    (a closed ``sqrt`` gate) it takes the sum as 0, which changes nothing: the gate's
    derivative is 0 there (:func:`~mrvae.hyper.gates.sqrt_gate`).
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, gates: Tensor, residual: Tensor | None, dim: int, relu: bool,
                in_place: bool) -> Tensor:
        view = _broadcastable(gates, x, dim)
        ctx.dim, ctx.relu, ctx.view_shape = dim, relu, view.shape
        if not relu:
            ctx.save_for_backward(x, gates)
            return x * view if residual is None else torch.addcmul(residual, x, view)
        if in_place:
            ctx.mark_dirty(x)
            out = x.clamp_min_(0.0).mul_(view)
        else:
            out = x.clamp_min(0.0).mul_(view)
        ctx.save_for_backward(out, gates)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        saved, gates = ctx.saved_tensors
        view = gates.view(ctx.view_shape)
        grad_x = grad_gates = None
        if ctx.needs_input_grad[0]:
            if ctx.relu:  # d/dx relu(x) g = g where x > 0; with g > 0 that is where out > 0
                grad_x = torch.ops.aten.threshold_backward(grad, saved, 0.0).mul_(view)
            else:
                grad_x = grad * view
        if ctx.needs_input_grad[1]:
            grad_gates = _feature_sums(grad, saved, ctx.dim)
            if ctx.relu:  # saved is relu(x) * g; where g = 0, saved = 0 and so is the sum
                grad_gates = torch.where(gates > 0, grad_gates / gates, 0.0)
        grad_residual = grad if ctx.needs_input_grad[2] else None
        return grad_x, grad_gates, grad_residual, None, None, None


def _feature_sums(grad: Tensor, saved: Tensor, dim: int) -> Tensor:
    """``(grad * saved)`` summed over all dims but the batch and ``dim``: ``(B, F)``."""
    if dim == 1 and grad.dim() > 2 and _sums_fuse(grad, saved):
        return _fused_feature_sums(grad, saved)
    product = grad * saved
    dims = [d for d in range(grad.dim()) if d not in (0, dim)]
    return product.sum(dims) if dims else product


def _sums_fuse(grad: Tensor, saved: Tensor) -> bool:
    # Measured on CPUs only (scripts/benchmark_overhead.py); elsewhere the product and sum stay.
    return (grad.device.type == "cpu" and grad.dtype == saved.dtype and grad.dtype in _FUSED_DTYPES
            and grad.numel() > 0 and grad.is_contiguous() and saved.is_contiguous())


_FUSED_DTYPES = (torch.float32, torch.float64)


def _fused_feature_sums(grad: Tensor, saved: Tensor) -> Tensor:
    """:func:`_feature_sums` of ``(B, F, *spatial)`` maps in one pass and no temporary.

    Batch norm's backward (inference mode, mean 0, variance 1) returns its weight's gradient,
    ``sum(grad * input)`` per channel over the batch and space. Seen as one example with
    ``B * F`` channels, the maps give exactly the per-example, per-feature sums. The product
    and sum it replaces wrote and re-read a full-size temporary, a fresh allocation (page
    faults on a CPU) at every gate of every step. Its float32 sums are accumulated in order,
    not pairwise as ``Tensor.sum`` does: relative errors of about 1e-6 on a million elements,
    far below what a gradient step notices.
    """
    batch, features = grad.shape[:2]
    channels = batch * features
    mean = grad.new_zeros(channels)
    variance = grad.new_ones(channels)
    _, sums, _ = torch.ops.aten.native_batch_norm_backward(
        grad.view(1, channels, -1), saved.view(1, channels, -1), None, mean, variance, None, None,
        False, 0.0, [False, True, False])
    return sums.view(batch, features)


def _broadcastable(gates: Tensor, like: Tensor, dim: int) -> Tensor:
    """``gates (B, F)`` viewed to broadcast against ``like``, whose features lie along ``dim``."""
    shape = [like.shape[0]] + [1] * (like.dim() - 1)
    shape[dim] = gates.shape[1]
    return gates.view(shape)
