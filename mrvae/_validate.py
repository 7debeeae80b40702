"""Argument checks for the public surface: each names the argument, what it got and what to pass.

Public functions and configs call these before any work; private code may then assume valid
input. Numbers may arrive as Python numbers, numpy scalars or 0-d tensors (all valid, returned
as Python ``float``/``int``); anything else gets a :class:`TypeError`, and a number of the
right type but a bad value a :class:`ValueError`. Messages end with what to pass instead.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["assignment", "check_data", "check_flag", "check_integer", "check_model", "check_real", "describe"]


def describe(value: Any) -> str:
    """``value`` as an error message shows it: short repr and type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def assignment(name: str, value: Any) -> str:
    """How a caller passes ``value`` to ``name``: ``TrainConfig(lr=1e-3)`` for a field written
    ``TrainConfig.lr``, ``beta=1.0`` for an argument."""
    owner, _, field = name.rpartition(".")
    return f"{owner}({field}={value})" if owner else f"{name}={value}"


def _scalar(value: Any) -> Any:
    """A 0-d tensor or numpy scalar as a Python number; anything else unchanged."""
    if isinstance(value, Tensor):
        return value.item() if value.dim() == 0 else value
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    return value


def check_real(value: Any, name: str, *, minimum: float | None = None, exclusive: bool = False,
               maximum: float | None = None, below: bool = False, example: str | None = None) -> float:
    """``value`` as a finite ``float`` within the bounds, or an error that names ``name``.

    ``exclusive`` makes ``minimum`` a strict bound (``> minimum``), ``below`` likewise
    ``maximum`` (``< maximum``). ``example`` is a valid value shown in the message (default:
    one derived from the lower bound).
    """
    number = _scalar(value)
    hint = f"pass e.g. {assignment(name, example or _example(minimum, exclusive))}"
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(value)}; {hint}")
    number = float(number)
    bound = ""
    if minimum is not None:
        bound = f" {'>' if exclusive else '>='} {minimum:g}"
    if maximum is not None:
        bound += f"{' and' if bound else ''} {'<' if below else '<='} {maximum:g}"
    too_low = minimum is not None and (number <= minimum if exclusive else number < minimum)
    too_high = maximum is not None and (number >= maximum if below else number > maximum)
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be a finite number{bound}, got {number!r}; {hint}")
    return number


def _example(minimum: float | None, exclusive: bool) -> str:
    if minimum is None:
        return "1.0"
    return f"{minimum * 10 if exclusive and minimum > 0 else minimum + 1 if exclusive else minimum:g}"


def check_integer(value: Any, name: str, *, minimum: int | None = None, example: int | None = None) -> int:
    """``value`` as an ``int`` of at least ``minimum``; floats (even ``2.0``), bools and strings
    are refused, so that ``epochs=1.5`` cannot silently become 1."""
    number = _scalar(value)
    shown = example if example is not None else (minimum if minimum is not None else 1)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}; pass e.g. {assignment(name, shown)}")
    number = int(number)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {number}; pass e.g. {assignment(name, shown)}")
    return number


def check_flag(value: Any, name: str) -> bool:
    """``value`` as a ``bool``; a truthy string such as ``"False"`` is refused, not read as True."""
    flag = _scalar(value)
    if not isinstance(flag, bool):
        raise TypeError(f"{name} must be True or False, got {describe(value)}; pass "
                        f"{assignment(name, True)} or {assignment(name, False)}")
    return flag


def check_model(model: Any, name: str = "model") -> torch.device:
    """A trainable :class:`~mrvae.VAE`: returns the device of its parameters."""
    from mrvae.models.base import VAE

    if not isinstance(model, VAE):
        kind = "an nn.Module" if isinstance(model, nn.Module) else describe(model)
        raise TypeError(f"{name} must be a mrvae.VAE (encode, decode and a likelihood), got {kind}; subclass "
                        f"mrvae.VAE, as the README's 'Your own VAE' shows")
    parameters = list(model.parameters())
    if not parameters:
        raise ValueError(f"{name} ({type(model).__name__}) has no parameters, so there is nothing to train or "
                         f"to place on a device; build its layers in __init__")
    device = parameters[0].device
    if device.type == "meta":
        raise ValueError(f"{name} ({type(model).__name__}) lives on the meta device and has no values; "
                         f"materialise it first, e.g. model.to_empty(device='cpu') and initialise its weights")
    return device


def check_data(data: Any, name: str = "data", *, model: nn.Module | None = None) -> Tensor:
    """A non-empty, batch-first tensor whose dtype the model accepts.

    Lists and numpy arrays are refused (not converted: a silent float64 copy of a large array is
    a surprise) with the conversion to use. With ``model``, a floating tensor must have the
    dtype of the model's parameters; integer and bool tensors are refused unless the model
    declares that it reads token ids (``model.integer_data``, the text VAEs).
    """
    if not isinstance(data, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, ...), got {describe(data)}; convert it "
                        f"with torch.as_tensor({name}, dtype=torch.float32)")
    if data.dim() < 2 or data.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch-first tensor (N, ...), got shape {tuple(data.shape)}; "
                         f"add a batch dimension with {name}.unsqueeze(0) or pass at least one example")
    if model is None:
        return data
    parameter = next(model.parameters(), None)
    if getattr(model, "integer_data", False):
        if data.is_floating_point() or data.dtype == torch.bool:
            raise TypeError(f"{type(model).__name__} reads token ids, so {name} must be an integer tensor, got "
                            f"{data.dtype}; pass {name}.long()")
        return data
    if not data.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {data.dtype}; pass {name}.float() "
                        f"(and scale images to [0, 1] for a Bernoulli likelihood)")
    if parameter is not None and parameter.is_floating_point() and data.dtype != parameter.dtype:
        raise TypeError(f"{name} is {data.dtype} but the model's parameters are {parameter.dtype}; pass "
                        f"{name}.to({parameter.dtype}) or convert the model with model.to({data.dtype})")
    return data
