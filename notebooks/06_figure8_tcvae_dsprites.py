# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 8: β-TCVAE on dSprites, judged by the Mutual Information Gap
#
# Section 5.4 trains one MR-VAE on the **β-TCVAE objective** {cite:p}`chen2018isolating` and compares it
# with separately trained β-TCVAEs. The paper reports that the MR-VAE's disentanglement,
# measured by the Mutual Information Gap (MIG), is as good as the baselines' and more robust to
# the choice of β. Here the MR-VAE is trained once with β ∈ [0.1, 10] and evaluated at many β.
# The baselines are 10 β-TCVAEs at log-spaced β in [0.1, 10], each trained with several seeds.
#
# **The objective.** β-TCVAE splits the KL term of the ELBO into three parts:
#
# $$\mathbb{E}_x\,\mathrm{KL}(q(z|x)\,\|\,p(z)) = \underbrace{I_q(x; z)}_{\text{index-code MI}}
#   + \underbrace{\mathrm{KL}\big(q(z)\,\|\,\textstyle\prod_j q(z_j)\big)}_{\text{total correlation}}
#   + \underbrace{\textstyle\sum_j \mathrm{KL}(q(z_j)\,\|\,p(z_j))}_{\text{dimension-wise KL}}$$
#
# and weights only the total correlation (TC) by β. The aggregate posterior $q(z)$ is estimated
# from each minibatch with **minibatch-weighted sampling** (`mrvae.models.tcvae`, estimator `"mws"`;
# `"mss"`, stratified sampling, is the option). For the MR-VAE each example's own β weights its
# TC term and drives the gates of every layer.
#
# **The metric.** For each latent $z_j$ and ground-truth factor $v_k$, MIG estimates
# $I(z_j; v_k) = H(z_j) - H(z_j \mid v_k)$ by Monte Carlo from samples of $q(z|x)$, using the exact
# mixture density $q(z_j) = \frac1N\sum_n q(z_j|x_n)$, and divides by the factor's entropy
# $H(v_k)$. The gap between the two most informative latents, averaged over scale, orientation,
# x and y, is the MIG (shape is excluded, as in
# [Chen et al.'s code](https://github.com/rtqichen/beta-tcvae)). An ideal representation
# scores 1 and an unrelated one 0; `tests/test_disentanglement.py` checks both bands.
#
# **The data.** The official dSprites file {cite:p}`matthey2017dsprites` is not available on the machines that build this
# book. `mrvae.data.dsprites` then renders the same factor grid procedurally: 3 shapes × 6 scales ×
# 40 orientations × 32 × 32 positions, in the official order, with our own shape definitions
# (documented in the module). The cell below prints which source this run used. Rendered pixels
# are *not* the official pixels, so MIG values are comparable within this book, not digit for
# digit with the paper.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, a few minutes) or "paper" (full dSprites; a GPU)
seed = 0

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import torch

from mrvae.book.figures import provenance, save_figure
from mrvae.book.runtime import (
    Stopwatch,
    pick_device,
    run_directory,
    seed_everything,
    select_profile,
)
from mrvae.data.dsprites import N_IMAGES, load_dsprites, subsample_indices
from mrvae.hyper.convert import convert, count_parameters
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.mig import model_mig
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.tcvae import ChenMLPVAE
from mrvae.training import ConstantBeta, MultiRateBeta, TrainConfig, train

PROFILES = {
    # CPU: a random 8,192-image subsample, a narrow MLP, a few epochs, two seeds.
    "quick": {"train_images": 8192, "mig_images": 4096, "hidden": 256, "epochs": 8, "batch_size": 128,
              "lr": 3e-3, "seeds": 2, "mig_samples": 1000},
    # Chen et al.'s set-up as the paper uses it: all 737,280 images, batch 2048, 50 epochs, Adam.
    "paper": {"train_images": N_IMAGES, "mig_images": N_IMAGES, "hidden": 1200, "epochs": 50, "batch_size": 2048,
              "lr": 1e-3, "seeds": 3, "mig_samples": 10_000},
}
settings = select_profile(PROFILES, profile)
seed_everything(seed)
device = pick_device()
BETA_RANGE = BetaRange(0.1, 10.0)
LATENT_DIM = 10
clock = Stopwatch().__enter__()
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
runs = run_directory(profile, "06_figure8")

# %% tags=["hide-input"]
indices = None if settings["train_images"] == N_IMAGES else subsample_indices(settings["train_images"], seed)
dsprites = load_dsprites(indices)
images = dsprites.images
mig_rows = torch.randperm(len(dsprites), generator=torch.Generator().manual_seed(seed))[: settings["mig_images"]]
mig_images, mig_classes = images[mig_rows], dsprites.latents_classes[mig_rows]
print(f"dSprites source: {dsprites.source}")
print(f"training images: {len(dsprites):,} of {N_IMAGES:,}; MIG evaluated on {len(mig_rows):,} of them")
print(f"mean pixel occupancy: {images.mean().item():.4f}")

# %% [markdown]
# ## Training: one MR-VAE and the β-TCVAE baselines
#
# The encoder and decoder are {cite:t}`chen2018isolating`'s MLPs, 4096–1200–1200–(2×10) with ReLU and
# 10–1200–1200–1200–4096 with tanh, and a Bernoulli likelihood. The quick profile narrows the
# hidden layers to 256 units (stated in the figure title). Every model gets the same budget:
# the same epochs, batch size and learning rate. Trained models are cached under `runs/`, keyed
# by the package's source, so the book build reuses what the regression test trained.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
config = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"], lr=settings["lr"], seed=seed,
                     log_lines=2)


def chen_vae() -> ChenMLPVAE:
    return ChenMLPVAE(dataset_size=len(dsprites), latent_dim=LATENT_DIM, hidden=settings["hidden"]).to(device)


torch.manual_seed(seed)
mr_vae = convert(chen_vae(), BETA_RANGE)
mr_result = train(mr_vae, images, MultiRateBeta(BETA_RANGE.low, BETA_RANGE.high), config,
                  checkpoint_dir=runs / "mr_vae")
baseline_betas = BETA_RANGE.grid(10).tolist()
seeds = [seed + s for s in range(settings["seeds"])]
baselines: dict[tuple[int, float], ChenMLPVAE] = {}
baseline_seconds = 0.0
for s in seeds:
    for beta in baseline_betas:
        torch.manual_seed(s)
        model = chen_vae()
        result = train(model, images, ConstantBeta(beta), dataclasses.replace(config, seed=s),
                       checkpoint_dir=runs / f"tcvae_seed{s}_beta{beta:.4g}", log=lambda line: None)
        baselines[(s, beta)] = model
        baseline_seconds += sum(h["seconds"] for h in result.history)
mr_seconds = sum(h["seconds"] for h in mr_result.history)
print(f"MR-VAE: {mr_seconds:.0f} s; {len(baselines)} β-TCVAEs: {baseline_seconds:.0f} s in all")

# %% tags=["hide-input"]
print(f"trained 1 MR-VAE and {len(baselines)} β-TCVAEs ({len(baseline_betas)} β × {len(seeds)} seeds), "
      f"{config.epochs} epochs each")
print(f"final training loss, MR-VAE (β sampled): {mr_result.final['loss']:.2f}")

# %% [markdown]
# ## MIG across β
#
# The MR-VAE is evaluated at 19 log-spaced β (the baselines' 10 and the geometric midpoints); each
# β-TCVAE is evaluated at the β it was trained with.

# %% tags=["hide-input"]
midpoints = [float(np.sqrt(a * b)) for a, b in zip(baseline_betas, baseline_betas[1:])]
mr_betas = sorted(baseline_betas + midpoints)
mig_options = {"num_samples": settings["mig_samples"], "seed": seed}
mr_mig = [model_mig(mr_vae, mig_images, mig_classes, b, **mig_options) for b in mr_betas]
baseline_mig = {key: model_mig(model, mig_images, mig_classes, key[1], **mig_options)
                for key, model in baselines.items()}
baseline_mig_array = np.array([[baseline_mig[(s, b)].mig for b in baseline_betas] for s in seeds])
mr_at_baseline = [mr_mig[mr_betas.index(b)].mig for b in baseline_betas]

print(f"{'beta':>7} {'MR-VAE':>8} {'β-TCVAE mean':>13} {'min':>7} {'max':>7}")
for i, b in enumerate(baseline_betas):
    column = baseline_mig_array[:, i]
    print(f"{b:>7.3f} {mr_at_baseline[i]:>8.3f} {column.mean():>13.3f} {column.min():>7.3f} {column.max():>7.3f}")
best_mr = max(r.mig for r in mr_mig)
print(f"best MIG: MR-VAE {best_mr:.3f}; β-TCVAE (seed mean) {baseline_mig_array.mean(0).max():.3f}")
print(f"spread of MIG across β (max − min): MR-VAE {best_mr - min(r.mig for r in mr_mig):.3f}; "
      f"β-TCVAE seed means {np.ptp(baseline_mig_array.mean(0)):.3f}")

# %% [markdown]
# ## Rate–distortion of both
#
# Rate is the analytic KL(q(z|x) ‖ p(z)) and distortion the Bernoulli negative log-likelihood,
# both in nats per image on the MIG images, one posterior sample each.

# %% tags=["hide-input"]
mr_rd = [evaluate(mr_vae, mig_images, b) for b in mr_betas]
baseline_rd = {key: evaluate(model, mig_images, key[1]) for key, model in baselines.items()}
print(f"{'beta':>7} {'MR rate':>8} {'MR dist':>8} {'β-TCVAE rate':>13} {'β-TCVAE dist':>13}")
for b in baseline_betas:
    mr_point = mr_rd[mr_betas.index(b)]
    rates = [baseline_rd[(s, b)]["rate"] for s in seeds]
    dists = [baseline_rd[(s, b)]["distortion"] for s in seeds]
    print(f"{b:>7.3f} {mr_point['rate']:>8.2f} {mr_point['distortion']:>8.2f} {np.mean(rates):>13.2f} "
          f"{np.mean(dists):>13.2f}")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
ax = axes[0]
ax.plot(mr_betas, [r.mig for r in mr_mig], "o-", ms=4, color="C3", label="MR-VAE (one run)")
mean, low, high = baseline_mig_array.mean(0), baseline_mig_array.min(0), baseline_mig_array.max(0)
ax.errorbar(baseline_betas, mean, yerr=[mean - low, high - mean], fmt="s", ms=6, mfc="none", mew=1.5, capsize=3,
            color="C0", label=f"β-TCVAEs (mean, min–max over {len(seeds)} seeds)")
ax.set_xscale("log")
ax.set_xlabel("β (weight on total correlation)")
ax.set_ylabel("MIG")
ax.set_title("Disentanglement across β")
ax.legend()
ax = axes[1]
ax.plot([p["rate"] for p in mr_rd], [p["distortion"] for p in mr_rd], "o-", ms=4, color="C3", label="MR-VAE")
for k, s in enumerate(seeds):
    ax.plot([baseline_rd[(s, b)]["rate"] for b in baseline_betas],
            [baseline_rd[(s, b)]["distortion"] for b in baseline_betas], "s", ms=6, mfc="none", mew=1.3,
            color="C0", alpha=0.6 + 0.4 * (k == 0), label="β-TCVAEs" if k == 0 else None)
ax.set_xlabel("rate (nats)")
ax.set_ylabel("distortion (nats)")
ax.set_title("Rate–distortion")
ax.legend()
fig.suptitle(f"Figure 8 ({profile} profile): MLP hidden {settings['hidden']}, {len(dsprites):,} images, "
             f"{config.epochs} epochs; {'procedural' if 'procedural' in dsprites.source else 'official'} dSprites")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** *(This refers to the quick-profile run the book is built from: 8,192
# procedurally rendered images, hidden width 256, 8 epochs. The tables above are the numbers.)*
#
# - **Robustness across β: consistent with the paper.** The MR-VAE's MIG is almost the same at
#   every β (a spread of about 0.007). The β-TCVAEs' MIG changes several-fold between β values
#   and between seeds.
# - **Best MIG: not matched at this budget.** The best β-TCVAE (seed mean, at large β) scored
#   higher than the MR-VAE at any β (about 0.14 against 0.11). The paper reports the two as
#   competitive. Absolute MIG values are low for both, as expected after 8 epochs on 1% of
#   dSprites.
# - **The MR-VAE responds little to β here.** Its rate falls only from about 14 to 8 nats across
#   β ∈ [0.1, 10]. With the authors' placement this MLP has only two gated layers in the
#   encoder and two in the decoder, and 8 epochs of 64 steps. So its flat MIG is weaker
#   evidence of robustness than it looks.
# - The paper profile (all 737,280 images, batch 2048, 50 epochs, full width) needs a GPU and
#   was not run for this build.

# %% tags=["hide-input"]
params_mr, params_plain = count_parameters(mr_vae), count_parameters(next(iter(baselines.values())))
print(f"parameters: β-TCVAE {params_plain['total']:,}; MR-VAE {params_mr['total']:,} "
      f"(ratio {params_mr['total'] / params_plain['total']:.4f})")

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
path = save_figure(
    fig, "figure8_tcvae_dsprites", figure="Figure 8", notebook="06_figure8_tcvae_dsprites", profile=profile,
    data={"dsprites_source": dsprites.source, "train_images": len(dsprites), "mig_images": len(mig_rows),
          "mrvae": {"beta": mr_betas, "rate": [p["rate"] for p in mr_rd], "distortion": [p["distortion"] for p in mr_rd]},
          "beta_tcvae": {"beta": baseline_betas, "seeds": seeds,
                         "rate": [[baseline_rd[(s, b)]["rate"] for b in baseline_betas] for s in seeds],
                         "distortion": [[baseline_rd[(s, b)]["distortion"] for b in baseline_betas] for s in seeds]}},
    metrics={"mig": {"mrvae": {"beta": mr_betas, "mig": [r.mig for r in mr_mig],
                               "gap_per_factor": [r.gap_per_factor for r in mr_mig]},
                     "beta_tcvae": {"beta": baseline_betas, "seeds": seeds, "mig": baseline_mig_array.tolist()}},
             "overhead": {"parameter_ratio": params_mr["total"] / params_plain["total"],
                          "extra_parameters": params_mr["hyper"]},
             "train_seconds": {"mrvae": mr_seconds, "beta_tcvae_total": baseline_seconds}},
    provenance=provenance(seed=seed, config={"profile": settings, "beta_range": [BETA_RANGE.low, BETA_RANGE.high],
                                             "latent_dim": LATENT_DIM, "estimator": "mws"},
                          device=device, wall_seconds=clock.seconds),
    notes=f"dSprites source: {dsprites.source}",
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")
