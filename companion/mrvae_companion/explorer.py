"""A β explorer for readers: one MR-VAE, a slider over β, and what the model does at that β.

The paper's point is that one model serves every β. The explorer shows it without a kernel:
the frames (the MR-VAE's rate and distortion, its reconstructions of a fixed set of test images
and its samples from one fixed ``z``) are rendered in advance at every β of a grid, and a small
inline script swaps them as the slider moves, beside the β-VAE sweep on the rate–distortion
plane. Everything is in one HTML fragment (images as ``data:`` URLs), so it works in the built
book offline.

>>> frames = explorer_frames(mr_vae, test_images, beta_range=BetaRange(0.01, 10.0))
>>> display(HTML(explorer_html(frames, baselines=[(beta, rate, distortion), ...])))
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from mrvae._validate import check_integer
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.base import VAE

__all__ = ["MIN_EXPLORER_BETAS", "ExplorerFrames", "explorer_frames", "explorer_html"]

#: The fewest β values an explorer shows (a slider with fewer steps is a table).
MIN_EXPLORER_BETAS = 30


@dataclass(frozen=True)
class ExplorerFrames:
    """What the explorer shows at each β of its grid (all lists have one entry per β).

    ``reconstructions`` and ``samples`` are PNG images as base64 text; ``originals`` is the
    fixed test images the reconstructions are of.
    """

    betas: list[float]
    rates: list[float]
    distortions: list[float]
    reconstructions: list[str]
    samples: list[str]
    originals: str
    images: int


def _png(images: Tensor, scale: int) -> str:
    """``(N, C, H, W)`` in [0, 1] as one row of images, upscaled ``scale``× (nearest), base64 PNG."""
    row = torch.cat(list(images.clamp(0, 1).cpu()), dim=-1)  # (C, H, N*W)
    pixels = (row.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    picture = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@torch.no_grad()
def explorer_frames(model: VAE, test: Tensor, *, beta_range: BetaRange, steps: int = 31, images: int = 8,
                    seed: int = 0, scale: int = 2) -> ExplorerFrames:
    """Render the explorer's frames: ``model`` at ``steps`` log-spaced β over ``beta_range``.

    Args:
        model: an MR-VAE (gated over ``beta_range``).
        test: held-out images ``(N, C, H, W)`` in [0, 1]; rate and distortion are measured on all
            of them (:func:`mrvae.evaluate`, one sample per image with ``seed``), and the first
            ``images`` are reconstructed (posterior mean, decoded to the likelihood's mean).
        steps: β values in the grid, at least :data:`MIN_EXPLORER_BETAS`.
        images: test images reconstructed, and samples drawn (from one ``z ~ N(0, I)`` fixed
            by ``seed``, the same at every β).
        scale: nearest-neighbour upscaling of the shown images.
    """
    steps = check_integer(steps, "steps", minimum=MIN_EXPLORER_BETAS)
    images = check_integer(images, "images", minimum=1)
    if test.shape[0] < images:
        raise ValueError(f"test has {test.shape[0]} images; pass at least images={images}")
    betas = [float(b) for b in beta_range.grid(steps)]
    device = next(model.parameters()).device
    shown = test[:images].to(device)
    latent = model.encode_mean(shown, betas[0]).shape[1:]
    z = torch.randn((images, *latent), generator=torch.Generator().manual_seed(seed)).to(device)
    was_training = model.training
    model.eval()
    try:
        points = [evaluate(model, test, beta, seed=seed) for beta in betas]
        reconstructions = [_png(model.decode_mean(model.encode_mean(shown, beta), beta), scale) for beta in betas]
        samples = [_png(model.decode_mean(z, beta), scale) for beta in betas]
    finally:
        model.train(was_training)
    return ExplorerFrames(betas, [p["rate"] for p in points], [p["distortion"] for p in points], reconstructions,
                          samples, _png(shown, scale), images)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]``."""
    raw = (high - low) / max(1, count)
    step = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step *= next((m for m in (1, 2, 5, 10) if raw <= m * step), 10)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def explorer_html(frames: ExplorerFrames, *, baselines: Sequence[tuple[float, float, float]] = (),
                  element_id: str = "beta-explorer", start: float = 1.0, width: int = 420, height: int = 260) -> str:
    """The explorer as one self-contained HTML fragment (no network, no kernel).

    Args:
        frames: from :func:`explorer_frames`.
        baselines: ``(β, rate, distortion)`` of each β-VAE, drawn as points beside the curve.
        element_id: unique on the page; prefixes every element id.
        start: the slider starts at the grid β nearest this.
    """
    if not element_id.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"element_id must be letters, digits, '-' and '_', got {element_id!r}")
    n = len(frames.betas)
    first = min(range(n), key=lambda i: abs(math.log(frames.betas[i] / start)))
    rates = list(frames.rates) + [r for _, r, _ in baselines]
    distortions = list(frames.distortions) + [d for _, _, d in baselines]
    pad = 0.05
    r_low, r_high = min(0.0, min(rates)), max(rates) * (1 + pad)
    d_low, d_high = min(distortions) * (1 - pad), max(distortions) * (1 + pad)
    left, right, top, bottom = 56, 12, 10, 40

    def x(rate: float) -> float:
        return left + (rate - r_low) / (r_high - r_low) * (width - left - right)

    def y(distortion: float) -> float:
        return top + (d_high - distortion) / (d_high - d_low) * (height - top - bottom)

    curve = " ".join(f"{x(r):.1f},{y(d):.1f}" for r, d in zip(frames.rates, frames.distortions, strict=True))
    ticks = [f'<line x1="{x(t):.1f}" y1="{height - bottom}" x2="{x(t):.1f}" y2="{height - bottom + 4}" '
             f'stroke="#444"/><text x="{x(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{t:g}</text>'
             for t in _nice_ticks(r_low, r_high)]
    ticks += [f'<line x1="{left - 4}" y1="{y(t):.1f}" x2="{left}" y2="{y(t):.1f}" stroke="#444"/>'
              f'<text x="{left - 7}" y="{y(t) + 3:.1f}" text-anchor="end">{t:g}</text>'
              for t in _nice_ticks(d_low, d_high)]
    points = [f'<circle cx="{x(r):.1f}" cy="{y(d):.1f}" r="3.5" fill="#dd8452"><title>β-VAE, β = {b:.3g}: '
              f'rate {r:.1f}, distortion {d:.1f} nats</title></circle>' for b, r, d in baselines]
    data = {"betas": frames.betas, "rates": frames.rates, "distortions": frames.distortions,
            "x": [round(x(r), 1) for r in frames.rates], "y": [round(y(d), 1) for d in frames.distortions],
            "reconstructions": frames.reconstructions, "samples": frames.samples}
    i = element_id
    payload = json.dumps(data).replace("</", "<\\/")  # nothing in the data may close the script element
    pixelated = "image-rendering:pixelated;max-width:100%"
    legend = ('<span style="color:#4c72b0">━ MR-VAE, one model</span>'
              + (' &nbsp;<span style="color:#dd8452">● β-VAEs, one per β</span>' if baselines else ""))
    return f"""<figure class="mrvae-explorer" id="{i}" style="margin:1em 0;font-size:13px">
<div><label for="{i}-slider">β = <output id="{i}-beta">{frames.betas[first]:.3g}</output></label>
<input type="range" id="{i}-slider" min="0" max="{n - 1}" step="1" value="{first}"
 style="width:60%;vertical-align:middle" aria-label="β, from {frames.betas[0]:g} to {frames.betas[-1]:g} ({n} values)">
<span id="{i}-point-text">rate {frames.rates[first]:.1f}, distortion {frames.distortions[first]:.1f} nats</span></div>
<svg id="{i}-plot" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"
 aria-label="Rate–distortion plane: the MR-VAE's curve over β, the β-VAEs' points, and the MR-VAE at the chosen β"
 style="font-size:10px;font-family:sans-serif;max-width:100%">
<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="none" stroke="#444"/>
{"".join(ticks)}
<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">rate (nats)</text>
<text transform="translate(12 {(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">distortion (nats)</text>
<polyline points="{curve}" fill="none" stroke="#4c72b0" stroke-width="1.5"/>
{"".join(points)}
<circle id="{i}-point" cx="{data['x'][first]}" cy="{data['y'][first]}" r="6" fill="none" stroke="#c44e52"
 stroke-width="2.5"/>
</svg>
<div style="font-size:11px">{legend}</div>
<div style="display:grid;grid-template-columns:auto 1fr;gap:4px 8px;align-items:center;margin-top:6px">
<span>test images</span><img id="{i}-originals" src="data:image/png;base64,{frames.originals}"
 alt="{frames.images} test images the MR-VAE reconstructs" style="{pixelated}">
<span>reconstructions</span><img id="{i}-recon" src="data:image/png;base64,{frames.reconstructions[first]}"
 alt="the MR-VAE's reconstructions of those images at β = {frames.betas[first]:.3g}" style="{pixelated}">
<span>samples</span><img id="{i}-samples" src="data:image/png;base64,{frames.samples[first]}"
 alt="the MR-VAE's samples from one fixed z at β = {frames.betas[first]:.3g}" style="{pixelated}">
</div>
<script type="application/json" id="{i}-data">{payload}</script>
<script>
(function () {{
  var root = document.getElementById("{i}");
  var data = JSON.parse(document.getElementById("{i}-data").textContent);
  var slider = document.getElementById("{i}-slider");
  function show() {{
    var k = Number(slider.value), beta = data.betas[k].toPrecision(3).replace(/\\.?0+$/, "");
    document.getElementById("{i}-beta").textContent = beta;
    document.getElementById("{i}-point-text").textContent =
      "rate " + data.rates[k].toFixed(1) + ", distortion " + data.distortions[k].toFixed(1) + " nats";
    var point = document.getElementById("{i}-point");
    point.setAttribute("cx", data.x[k]);
    point.setAttribute("cy", data.y[k]);
    var recon = document.getElementById("{i}-recon"), samples = document.getElementById("{i}-samples");
    recon.src = "data:image/png;base64," + data.reconstructions[k];
    recon.alt = "the MR-VAE's reconstructions of those images at β = " + beta;
    samples.src = "data:image/png;base64," + data.samples[k];
    samples.alt = "the MR-VAE's samples from one fixed z at β = " + beta;
    root.dataset.beta = beta;
  }}
  slider.addEventListener("input", show);
}})();
</script>
<figcaption style="font-size:12px">One MR-VAE at every β: move the slider to read the model at another β.
Its point moves along its rate–distortion curve; the images below are what the same network does at that β.</figcaption>
</figure>"""
