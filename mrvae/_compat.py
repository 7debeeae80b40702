"""Workarounds for broken combinations of installed third-party wheels.

The torchvision 0.28.0 wheel resolved from PyPI is a CUDA build (``0.28.0+cu130``). Next
to a CPU-only torch its compiled extension cannot load, so the ``torchvision::nms``
operator schema is never registered, and ``import torchvision`` then dies in
``torchvision/_meta_registrations.py`` with ``RuntimeError: operator torchvision::nms
does not exist``. Defining the missing schemas before torchvision is imported lets the
pure-Python parts of torchvision import normally.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import torch

# torchvision registers fake (meta) kernels for these unconditionally at import time.
_SHIM_SCHEMAS: tuple[str, ...] = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_VERSION_RE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)

# Schemas defined through a Library are removed when the object is garbage-collected,
# so it has to live as long as the process.
_SHIM_LIBRARY: torch.library.Library | None = None


def torchvision_build_tag() -> str | None:
    """Local version tag of the installed torchvision (``'cu130'``, ``'cpu'``) or None.

    Reads ``torchvision/version.py`` as text, because importing torchvision is exactly
    what fails in the broken configuration.
    """
    try:
        spec = importlib.util.find_spec("torchvision")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        version_file = Path(location) / "version.py"
        try:
            match = _VERSION_RE.search(version_file.read_text(encoding="utf-8"))
        except OSError:
            continue
        if match:
            _, sep, tag = match.group(1).partition("+")
            return tag if sep and tag else None
    return None


def needs_torchvision_shim(
    torch_cuda: str | None, torchvision_tag: str | None, ops_present: bool
) -> bool:
    """Whether the nms schemas must be defined before torchvision can be imported.

    True only for a CPU-only torch (``torch.version.cuda is None``) next to a CUDA
    torchvision build whose ``torchvision::nms`` op is not registered.
    """
    return (
        torch_cuda is None
        and torchvision_tag is not None
        and torchvision_tag.startswith("cu")
        and not ops_present
    )


def _op_registered(qualified_name: str) -> bool:
    # Ask the dispatcher directly: this must not import torchvision (the import is what
    # fails) and must see schemas defined by any means, including a torch.library.Library.
    try:
        torch._C._get_schema(qualified_name, "")
    except RuntimeError:
        return False
    return True


def install_torchvision_shim() -> bool:
    """Define ``torchvision::nms``/``qnms`` schemas if torchvision cannot import without them.

    Returns True if anything was installed; idempotent, and a no-op for a working
    torchvision (CPU build, matching CUDA torch, or ops already registered).

    Afterwards ``torchvision.datasets``, ``transforms``, ``models`` and
    ``utils.make_grid`` work. The schemas have no kernels, so ``torchvision.ops.nms``
    (and other compiled ops) and the ``torchvision.io`` image/video decoders still
    fail when called.
    """
    global _SHIM_LIBRARY
    tag = torchvision_build_tag()
    if not needs_torchvision_shim(torch.version.cuda, tag, _op_registered("torchvision::nms")):
        return False
    library = _SHIM_LIBRARY or torch.library.Library("torchvision", "DEF")
    installed = False
    for schema in _SHIM_SCHEMAS:
        if not _op_registered("torchvision::" + schema.split("(", 1)[0]):
            library.define(schema)
            installed = True
    _SHIM_LIBRARY = library
    return installed
