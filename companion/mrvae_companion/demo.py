"""The authors' published demo (``pomonam/mr-vae`` README, "What you should see"), as data.

Their table gives rate and distortion per β for one MR-VAE and four β-VAEs at
β ∈ {0.01, 0.1, 1, 10}, trained on the whole binary MNIST training split with ResNet encoder
and decoder, 8 epochs, batch 64, Adam at a constant 1e-3. ``scripts/run_authors_demo.py``
trains the same set-up with this package; chapter 4 shows both side by side. Their "gap"
column compares distortions at different rates; here every model is compared in ``D + βR``,
the objective a β-VAE trained at β minimises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes

__all__ = ["DEMO_BETAS", "PUBLISHED_BETA_VAE", "PUBLISHED_MR_VAE", "PUBLISHED_SOURCE", "demo_rows", "objective",
           "plot_authors_demo"]

#: β -> (rate, distortion) in nats, for their MR-VAE and for their β-VAE trained at that β.
PUBLISHED_MR_VAE = {0.01: (112.2, 47.5), 0.1: (76.1, 48.9), 1.0: (30.2, 65.3), 10.0: (4.7, 141.6)}
PUBLISHED_BETA_VAE = {0.01: (129.1, 42.2), 0.1: (81.7, 45.2), 1.0: (25.6, 68.7), 10.0: (3.5, 148.4)}
PUBLISHED_SOURCE = "pomonam/mr-vae README.md at bcde9dc25ad102fa2d5a9fcdc2c2aee5ed790362, 'What you should see'"
DEMO_BETAS = sorted(PUBLISHED_BETA_VAE)

Point = Mapping[str, float]


def objective(rate: float, distortion: float, beta: float) -> float:
    """``D + βR``: what a β-VAE trained at β minimises."""
    return distortion + beta * rate


def demo_rows(mr_points: Mapping[str, Mapping[float, Point]],
              beta_vae_points: Mapping[float, Point]) -> list[dict[str, float | str]]:
    """One row per (model, β): published and measured rate, distortion and ``D + βR``, and each
    MR-VAE's relative gap in ``D + βR`` to the β-VAE at the same β (positive: the MR-VAE is worse).

    Args:
        mr_points: ``{variant: {β: {"rate", "distortion"}}}`` for each MR-VAE trained.
        beta_vae_points: ``{β: {"rate", "distortion"}}`` for the β-VAE trained at each β.
    """
    rows: list[dict[str, float | str]] = []
    for beta in DEMO_BETAS:
        base = beta_vae_points[beta]
        base_loss = objective(base["rate"], base["distortion"], beta)
        pub_r, pub_d = PUBLISHED_BETA_VAE[beta]
        rows.append({"model": "β-VAE", "beta": beta, "published_rate": pub_r, "published_distortion": pub_d,
                     "published_objective": objective(pub_r, pub_d, beta), "rate": base["rate"],
                     "distortion": base["distortion"], "objective": base_loss})
        pub_mr_r, pub_mr_d = PUBLISHED_MR_VAE[beta]
        pub_gap = objective(pub_mr_r, pub_mr_d, beta) / objective(pub_r, pub_d, beta) - 1.0
        for name, points in mr_points.items():
            point = points[beta]
            loss = objective(point["rate"], point["distortion"], beta)
            rows.append({"model": f"MR-VAE ({name})", "beta": beta, "published_rate": pub_mr_r,
                         "published_distortion": pub_mr_d, "published_objective": objective(pub_mr_r, pub_mr_d, beta),
                         "published_gap": pub_gap, "rate": point["rate"], "distortion": point["distortion"],
                         "objective": loss, "gap": loss / base_loss - 1.0})
    return rows


def plot_authors_demo(ax: Axes, rows: Sequence[Mapping[str, Any]], curves: Mapping[str, Sequence[Point]]) -> None:
    """Our MR-VAE curves and β-VAEs beside the authors' published points, on one rate–distortion axis.

    Args:
        rows: :func:`demo_rows`' output (the β-VAEs' points are read from it).
        curves: ``{variant: [{"rate", "distortion"}, ...]}``, each MR-VAE along its β grid.
    """
    for (name, curve), style in zip(curves.items(), ("-", "--", "-.", ":"), strict=False):
        ax.plot([p["rate"] for p in curve], [p["distortion"] for p in curve], style,
                label=f"MR-VAE ({name} gates), this run")
    ax.plot([v[0] for v in PUBLISHED_MR_VAE.values()], [v[1] for v in PUBLISHED_MR_VAE.values()], "k:",
            label="MR-VAE, authors' published run")
    ours = [r for r in rows if r["model"] == "β-VAE"]
    ax.scatter([r["rate"] for r in ours], [r["distortion"] for r in ours], marker="o", zorder=3,
               label="β-VAEs, this run")
    ax.scatter([v[0] for v in PUBLISHED_BETA_VAE.values()], [v[1] for v in PUBLISHED_BETA_VAE.values()],
               marker="x", color="k", zorder=3, label="β-VAEs, authors' published run")
    ax.set_xlabel("rate (nats)")
    ax.set_ylabel("distortion (nats)")
