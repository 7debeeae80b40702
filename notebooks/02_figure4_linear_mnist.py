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
# # Figure 4: linear VAEs on MNIST
#
# Section 5.1 trains one linear MR-VAE with β ∈ [0.01, 10] and 10 linear β-VAEs on MNIST.
# The paper finds that the MR-VAE's rate–distortion curve matches that of the separately
# trained models. Here we also draw the **exact optimal curve**, computed from the MNIST
# training covariance. That measures both against the truth rather than against each other.
#
# **What this chapter finds.** Both kinds of model come close to the optimum and neither is
# uniformly closer. Over {glue:text}`seed_count:.0f` seeds the MR-VAE's worst gap to the exact
# optimal $D + \beta R$ is {glue:text}`mrvae_worst_gap_median:.1f`% (median; range
# {glue:text}`mrvae_worst_gap_low:.1f`% to {glue:text}`mrvae_worst_gap_high:.1f`%) and the
# β-VAEs' {glue:text}`beta_vae_worst_gap_median:.1f`%, yet the MR-VAE is the closer of the two
# at only {glue:text}`closer_at_median:.0f` of the 10 β (range over seeds
# {glue:text}`closer_at_low:.0f` to {glue:text}`closer_at_high:.0f`): its worst β is better,
# its typical β is not.
#
# **Setup.** The data are the 60,000 MNIST {cite:p}`deng2012mnist` training images: 784 pixels in [0, 1], the
# official files, md5-checked. The model is the two-layer linear VAE of Eq. 10 with
# k = 32 latents and a Gaussian decoder with fixed σ² = 0.5. We chose σ² = 0.5 because
# MNIST's top 32 eigenvalues run from {glue:text}`eigenvalue_first:.1f` to
# {glue:text}`eigenvalue_last:.2f`. The collapse points β = λ_i/σ² then spread over
# [{glue:text}`collapse_low:.2f`, {glue:text}`collapse_high:.1f`], so
# {glue:text}`collapse_inside:.0f` of the 32 latents switch off one after another inside
# [0.01, 10]. The distortion drops the constant (784/2)·log(2πσ²).
#
# **How we train.** The linear VAE's objective depends on the data only through their
# mean and covariance S. Both kinds of model therefore train on the *exact* expected
# objective: Adam {cite:p}`kingma2015adam` on $\mathbb{E}_{x}$ computed in closed form (`mrvae.training.train_population`).
# This is Eq. 11 for the MR-VAE and Eq. 1 for the β-VAEs, with β still sampled. Rate and
# distortion are then computed exactly from S too, so the gaps below contain no Monte Carlo
# noise.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, about a minute) or "paper" (longer training)
seed = 0

# %% tags=["hide-input"]
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from mrvae_companion.figures import glue_figure, plot_over_seeds, provenance, save_figure, use_book_style
from mrvae_companion.prose import glue_number
from mrvae_companion.runtime import Stopwatch, seed_everything, select_profile
from mrvae_companion.seeds import summarize
from mrvae.data import load_mnist
from mrvae.hyper.convert import count_parameters
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import relative_gap
from mrvae.models.linear import LinearVAE
from mrvae.models.linear_closed_form import Spectrum, data_covariance, optimal_rate_distortion
from mrvae.training import ConstantBeta, MultiRateBeta
from mrvae.training.pool import default_workers, run_jobs
from mrvae.training.population import trained_population
from mrvae.training.timing import overhead_ratio

PROFILES = {
    "quick": {"mrvae_steps": 4000, "beta_vae_steps": 1500, "lr": 1e-2, "betas_per_step": 8, "seeds": 3},
    "paper": {"mrvae_steps": 40000, "beta_vae_steps": 10000, "lr": 1e-2, "betas_per_step": 8, "seeds": 3},
}
settings = select_profile(PROFILES, profile)
seed_everything(seed)
SIGMA2, LATENT_DIM = 0.5, 32
BETA_RANGE = BetaRange(0.01, 10.0)
clock = Stopwatch().__enter__()
use_book_style()


# %% tags=["hide-input"]
images, _ = load_mnist("train")
x = images.flatten(1)
mean, covariance = data_covariance(x)
spectrum = Spectrum.of(covariance)
collapse = spectrum.eigenvalues[:LATENT_DIM] / SIGMA2
print(f"MNIST train: {x.shape[0]} images; top eigenvalues {[round(v, 3) for v in spectrum.eigenvalues[:3].tolist()]}")
print(f"collapse points inside [0.01, 10]: {int(((collapse >= 0.01) & (collapse <= 10)).sum())} of {LATENT_DIM}")

# %% tags=["remove-input", "nbval-ignore-output"]
glue_number("eigenvalue_first", spectrum.eigenvalues[0])
glue_number("eigenvalue_last", spectrum.eigenvalues[LATENT_DIM - 1])
glue_number("collapse_high", collapse[0])
glue_number("collapse_low", collapse[-1])
glue_number("collapse_inside", ((collapse >= 0.01) & (collapse <= 10)).sum())

# %% [markdown]
# ## Training: two MR-VAEs, ten β-VAEs, over seeds
#
# The first MR-VAE uses Eq. 7's gates: a sigmoid in the encoder, $\sqrt{\mathrm{ReLU}(1-e^x)}$
# in the decoder. Chapter 1 shows that a sigmoid-gated encoder cannot represent the optimal
# encoder $E^*(\beta)$ exactly, while a sqrt-gated one can, so the second MR-VAE uses the sqrt
# gate in the encoder as well. Eq. 7's MR-VAE and the β-VAEs are trained at several seeds (the
# verdict reads them all); the figures below show seed 0 unless they say otherwise.

# %% tags=["hide-input", "remove-output"]
baseline_betas = BETA_RANGE.grid(10).tolist()
seeds = [seed + k for k in range(settings["seeds"])]


def mr_vae_job(encoder_gate: str, run_seed: int):
    torch.manual_seed(run_seed)
    model = LinearVAE(784, LATENT_DIM, SIGMA2, mean).multi_rate(BETA_RANGE, encoder_gate=encoder_gate)
    return partial(trained_population, model, covariance, MultiRateBeta(BETA_RANGE.low, BETA_RANGE.high),
                   steps=settings["mrvae_steps"], lr=settings["lr"], betas_per_step=settings["betas_per_step"],
                   seed=run_seed, log_lines=0)


def beta_vae_job(i: int, run_seed: int):
    torch.manual_seed(run_seed)
    return partial(trained_population, LinearVAE(784, LATENT_DIM, SIGMA2, mean), covariance,
                   ConstantBeta(baseline_betas[i]), steps=settings["beta_vae_steps"], lr=settings["lr"],
                   betas_per_step=1, seed=run_seed + i, log_lines=0)


# Every model trains on one thread, side by side (one per core): Eq. 7's MR-VAE and the ten
# β-VAEs at every seed, the sqrt-encoder MR-VAE at the first.
jobs = {("mrvae", s): mr_vae_job("sigmoid", s) for s in seeds}
jobs[("mrvae_sqrt_encoder", seed)] = mr_vae_job("sqrt", seed)
jobs.update({("beta_vae", s, i): beta_vae_job(i, s) for s in seeds for i in range(len(baseline_betas))})
trained = dict(zip(jobs, run_jobs(list(jobs.values()), default_workers()), strict=True))
mr_vaes_by_seed = {s: trained[("mrvae", s)] for s in seeds}
beta_vaes_by_seed = {s: [trained[("beta_vae", s, i)] for i in range(len(baseline_betas))] for s in seeds}
mr_vaes = {"mrvae": mr_vaes_by_seed[seed], "mrvae_sqrt_encoder": trained[("mrvae_sqrt_encoder", seed)]}
mr_vae, beta_vaes = mr_vaes["mrvae"], beta_vaes_by_seed[seed]
print(f"trained {len(seeds) + 1} MR-VAEs ({settings['mrvae_steps']} steps each) and {len(seeds) * len(baseline_betas)} "
      f"β-VAEs ({settings['beta_vae_steps']} steps each) over seeds {seeds}")

# %% [markdown]
# ## The rate–distortion curves and the gap to the optimum
#
# For each β we compare $D + \beta R$ with the analytic optimum $D^* + \beta R^*$, as a
# relative gap.

# %% tags=["hide-input", "nbval-ignore-output"]
def objective(model, beta):
    rate, distortion = model.exact_rate_distortion(covariance, beta)
    return rate, distortion, distortion + beta * rate


def optimum(beta):
    rate, distortion = optimal_rate_distortion(spectrum.eigenvalues, SIGMA2, beta, LATENT_DIM)
    return rate, distortion, distortion + beta * rate


curve_betas = BETA_RANGE.grid(20).tolist()
mr_curve = [objective(mr_vae, b) for b in curve_betas]
mr_at_baselines = [objective(mr_vae, b) for b in baseline_betas]
beta_vae_points = [objective(m, b) for m, b in zip(beta_vaes, baseline_betas)]
optimal_points = [optimum(b) for b in baseline_betas]
optimal_losses = [o[2] for o in optimal_points]
gap_mr = relative_gap([m[2] for m in mr_at_baselines], optimal_losses)
gap_beta = relative_gap([m[2] for m in beta_vae_points], optimal_losses)
gap_mr_curve = relative_gap([m[2] for m in mr_curve], [optimum(b)[2] for b in curve_betas])

gap_sqrt = relative_gap([objective(mr_vaes["mrvae_sqrt_encoder"], b)[2] for b in baseline_betas], optimal_losses)
gap_sqrt_curve = relative_gap([objective(mr_vaes["mrvae_sqrt_encoder"], b)[2] for b in curve_betas],
                              [optimum(b)[2] for b in curve_betas])

# Gaps to two decimals of a percent, as checked before: exact expectations and fixed seeds.
display(pd.DataFrame({
    "β": [f"{b:.3f}" for b in baseline_betas],
    "optimum D + βR": [f"{o[2]:.3f}" for o in optimal_points],
    "gap: MR-VAE, Eq. 7 gates": [f"{g:.2%}" for g in gap_mr],
    "gap: MR-VAE, sqrt encoder": [f"{g:.2%}" for g in gap_sqrt],
    "gap: β-VAE": [f"{g:.2%}" for g in gap_beta],
}).set_index("β"))

# %% tags=["remove-input", "nbval-ignore-output"]
glue_number("mrvae_steps", settings["mrvae_steps"])
glue_number("beta_vae_steps", settings["beta_vae_steps"])
glue_number("mr_worst_gap", 100 * max(gap_mr_curve))
glue_number("sqrt_worst_gap", 100 * max(gap_sqrt_curve))
glue_number("mr_within_goal", sum(g <= 0.01 for g in gap_mr_curve))
glue_number("sqrt_within_goal", sum(g <= 0.01 for g in gap_sqrt_curve))
glue_number("mr_gap_low_beta", 100 * gap_mr[0])
glue_number("sqrt_gap_low_beta", 100 * gap_sqrt[0])
glue_number("beta_vae_gap_low_beta", 100 * gap_beta[0])
glue_number("beta_vae_worst_gap_from_1", 100 * max(g for b, g in zip(baseline_betas, gap_beta) if b >= 1.0))

# %% [markdown]
# **Reading the numbers.** The paper's claim is that the MR-VAE's curve matches the
# β-VAEs'. We hold it to a stricter test, the analytic optimum, with a goal of a gap under 1%
# at every β. Over the 20-point grid the Eq. 7 MR-VAE's worst gap is
# {glue:text}`mr_worst_gap:.1f`% and it is within 1% at {glue:text}`mr_within_goal:.0f` of 20 β;
# the sqrt-gated encoder's worst gap is {glue:text}`sqrt_worst_gap:.1f`%, within 1% at
# {glue:text}`sqrt_within_goal:.0f` of 20 β. At β = 0.01 the two gaps are
# {glue:text}`mr_gap_low_beta:.1f`% and {glue:text}`sqrt_gap_low_beta:.1f`%. Small β is the hard
# end: there the optimum keeps all 32 latents with a tiny posterior variance C, and the rate term
# $-\tfrac12\log C$ is sensitive to the relative error in C, which no product of Eq. 7's gates
# represents exactly (chapter 1). And Eq. 11 weighs each β's $D + \beta R$ in absolute terms, so
# the small losses at small β count least.
#
# This book runs the quick profile only: {glue:text}`mrvae_steps:,.0f` Adam steps per MR-VAE
# and {glue:text}`beta_vae_steps:,.0f` per β-VAE. The `paper` profile (10× the steps) was not
# run for it. It would tell the two causes apart: a gap that shrinks with more steps is an
# optimisation shortfall, one that stays is a limit of the gates.
#
# The separately trained β-VAEs are within {glue:text}`beta_vae_worst_gap_from_1:.2f`% of the
# optimum for β ≥ 1. At β = 0.01, where the problem is ill-conditioned, their gap after the
# quick profile's shorter budget is {glue:text}`beta_vae_gap_low_beta:.1f`%.

# %% tags=["hide-input", "nbval-ignore-output"]
dense = torch.logspace(-2.3, 1.3, 300, dtype=torch.float64).tolist()
optimal_dense = np.array([optimum(b)[:2] for b in dense])
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2), dpi=150)
ax = axes[0]
ax.plot(optimal_dense[:, 0], optimal_dense[:, 1], color="k", lw=1.2, ls="--", label="exact optimum")
ax.plot([p[0] for p in mr_curve], [p[1] for p in mr_curve], "o-", ms=3, color="C3", label="MR-VAE (one run, 20 β)")
ax.plot([p[0] for p in beta_vae_points], [p[1] for p in beta_vae_points], "s", ms=5, mfc="none", mew=1.2,
        color="C0", label="β-VAEs (10 runs)")
ax.set_xlabel("rate (nats)")
ax.set_ylabel("distortion (nats, constant dropped)")
ax.set_title("Rate–distortion")
ax.legend()
ax = axes[1]
ax.plot(curve_betas, np.array(gap_mr_curve) * 100, "o-", ms=3, color="C3", label="MR-VAE, Eq. 7 gates")
ax.plot(curve_betas, np.array(gap_sqrt_curve) * 100, "d-", ms=3, color="C1", label="MR-VAE, sqrt encoder gates")
ax.plot(baseline_betas, np.array(gap_beta) * 100, "s", ms=5, mfc="none", mew=1.2, color="C0", label="β-VAEs")
ax.axhline(1.0, color="grey", lw=0.8, ls=":", label="1% goal")
ax.set_xscale("log")
ax.set_xlabel("β")
ax.set_ylabel("gap to optimum of D + βR (%)")
ax.set_title("Relative gap to the analytic optimum")
ax.legend()
fig.tight_layout()
glue_figure("figure4", fig)

# %% [markdown]
# ```{glue:figure} figure4
# :name: fig-figure4-linear-mnist
#
# **The paper's Figure 4.** Left: exact rate and distortion, under the MNIST training covariance, of one
# linear MR-VAE (Eq. 7 gates, read at 20 β, seed 0), of 10 linear β-VAEs each trained at its own β, and
# the exact optimal curve (σ² = 0.5, k = 32). Right: the relative gap in $D + \beta R$ to the
# optimum, with the sqrt-encoder MR-VAE too; the dotted line is the 1% goal. Quick profile:
# {glue:text}`mrvae_steps:,.0f` Adam steps per MR-VAE and {glue:text}`beta_vae_steps:,.0f` per
# β-VAE on the exact expected objective.
# ```

# %% [markdown]
# ## Over seeds
#
# Eq. 7's MR-VAE and the ten β-VAEs were trained at {glue:text}`seed_count:.0f` seeds (each its
# own initialisation and draws of β; the data enter only through their covariance, the same for
# all). The verdict reads, per seed, the worst gap to the optimum over the ten sweep β of each,
# and at how many of them the MR-VAE is the closer one. The interval is the range over seeds
# (order statistics; with 3 seeds it covers the median with probability 75%).

# %% tags=["hide-input", "nbval-ignore-output"]
def gaps_at_sweep(model_at) -> list[float]:
    return relative_gap([objective(model_at(i), b)[2] for i, b in enumerate(baseline_betas)], optimal_losses)


seed_gaps = {s: {"mrvae": gaps_at_sweep(lambda i, s=s: mr_vaes_by_seed[s]),
                 "beta_vae": gaps_at_sweep(lambda i, s=s: beta_vaes_by_seed[s][i])} for s in seeds}
per_seed = {"mrvae_worst_gap": [max(seed_gaps[s]["mrvae"]) for s in seeds],
            "beta_vae_worst_gap": [max(seed_gaps[s]["beta_vae"]) for s in seeds],
            "closer_at": [float(sum(m <= b for m, b in zip(seed_gaps[s]["mrvae"], seed_gaps[s]["beta_vae"])))
                          for s in seeds]}
per_seed["worst_gap_excess"] = [m - b for m, b in zip(per_seed["mrvae_worst_gap"], per_seed["beta_vae_worst_gap"])]
over_seeds = {name: summarize(values, seeds) for name, values in per_seed.items()}
LABELS = {"mrvae_worst_gap": ("MR-VAE's worst gap", "{:+.2%}"), "beta_vae_worst_gap": ("β-VAEs' worst gap", "{:+.2%}"),
          "worst_gap_excess": ("MR-VAE minus β-VAEs", "{:+.2%}"), "closer_at": ("MR-VAE closer at (of 10 β)", "{:.0f}")}
display(pd.DataFrame([
    {"metric": label, **{f"seed {s}": form.format(v) for s, v in zip(seeds, per_seed[name])},
     "median [range]": f"{form.format(over_seeds[name].median)} [{form.format(over_seeds[name].low)}, "
                       f"{form.format(over_seeds[name].high)}]"}
    for name, (label, form) in LABELS.items()
]).set_index("metric"))
fig_seeds, ax = plt.subplots(figsize=(7.2, 2.8), dpi=150)
plot_over_seeds(ax, {f"{b:.2g}": {s: 100 * (seed_gaps[s]["mrvae"][i] - seed_gaps[s]["beta_vae"][i]) for s in seeds}
                     for i, b in enumerate(baseline_betas)},
                xlabel="β", ylabel="MR-VAE gap − β-VAE gap (points)",
                title=f"Gap to the optimum, MR-VAE minus β-VAE, {len(seeds)} seeds (bar: median, line: range)")
fig_seeds.tight_layout()
glue_figure("figure4_seeds", fig_seeds)

# %% tags=["remove-input", "nbval-ignore-output"]
glue_number("seed_count", len(seeds))
for name, summary in over_seeds.items():
    scale = 1 if name == "closer_at" else 100
    for part in ("median", "low", "high"):
        glue_number(f"{name}_{part}", scale * getattr(summary, part))

# %% [markdown]
# ```{glue:figure} figure4_seeds
# :name: fig-figure4-seeds
#
# **The paper's Figure 4 over seeds.** At each sweep β, the MR-VAE's gap to the optimum minus the β-VAE's, in
# percentage points (below zero: the MR-VAE is closer); each seed a point, the median a bar, the
# range a line. Quick profile, {glue:text}`seed_count:.0f` seeds.
# ```
#
# Over the seeds, the MR-VAE's worst gap over the sweep β is
# {glue:text}`mrvae_worst_gap_median:.1f`% [{glue:text}`mrvae_worst_gap_low:.1f`,
# {glue:text}`mrvae_worst_gap_high:.1f`] and the β-VAEs' {glue:text}`beta_vae_worst_gap_median:.1f`%
# [{glue:text}`beta_vae_worst_gap_low:.1f`, {glue:text}`beta_vae_worst_gap_high:.1f`]; the MR-VAE
# is the closer of the two at {glue:text}`closer_at_median:.0f` [{glue:text}`closer_at_low:.0f`,
# {glue:text}`closer_at_high:.0f`] of the 10 β ({numref}`fig-figure4-seeds`). The scoreboard reads
# *reproduced* only if the MR-VAE's worst gap is no larger than the β-VAEs' at every seed.

# %% [markdown]
# ## Overhead of the hypernetwork
#
# The MR-VAE adds two parameters per output unit. Below we count them exactly. We then
# time one training step (forward, backward, Adam) of the same minibatch forward pass with
# and without gates. Timings depend on the machine, so nbval does not check that cell; the
# JSON records the numbers of this run.

# %% tags=["hide-input"]
params_mr, params_plain = count_parameters(mr_vae), count_parameters(beta_vaes[0])
print(f"parameters: β-VAE {params_plain['total']:,}, MR-VAE {params_mr['total']:,} "
      f"(+{params_mr['hyper']:,}, ratio {params_mr['total'] / params_plain['total']:.4f})")

# %% tags=["nbval-ignore-output", "hide-input"]
batch = x[:128]
step_ratio = overhead_ratio(mr_vae, beta_vaes[0], batch, (BETA_RANGE.low, BETA_RANGE.high), steps=10)
print(f"time per training step, MR-VAE / β-VAE: {step_ratio:.3f} (batch 128, this machine)")

# %% tags=["remove-input", "nbval-ignore-output"]
glue_number("parameter_overhead", 100 * (params_mr["total"] / params_plain["total"] - 1))
glue_number("step_time_ratio", step_ratio)

# %% [markdown]
# On this run one training step of the MR-VAE took {glue:text}`step_time_ratio:.2f` times as
# long as the β-VAE's, for {glue:text}`parameter_overhead:.1f`% more parameters. The two ratios
# measure different things. The linear VAE is tiny: a step is a handful of small matrix
# products. All six of its factors (two each for the mean, the variance and the decoder) are
# gated, as Theorem 1 needs, and each gate adds a fixed amount of work per layer, computing its
# values from β and scaling the layer's output, forward and backward, that does not grow with
# the layer's size.
# On a model this small that fixed cost weighs far more, relative to the step, than on the
# paper's conv and ResNet networks, whose steps are dominated by their convolutions.
# [Chapter 9](09_cost_of_an_mr_vae) measures the overhead on those networks.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
path = save_figure(
    fig, "figure4_linear_mnist", figure="Figure 4", notebook="02_figure4_linear_mnist", profile=profile,
    data={"optimal_curve": {"rate": optimal_dense[:, 0].tolist(), "distortion": optimal_dense[:, 1].tolist()},
          "mrvae": {"beta": curve_betas, "rate": [p[0] for p in mr_curve], "distortion": [p[1] for p in mr_curve]},
          "beta_vae": {"beta": baseline_betas, "rate": [p[0] for p in beta_vae_points],
                       "distortion": [p[1] for p in beta_vae_points]}},
    metrics={"relative_gap_to_optimum": {"beta": baseline_betas, "mrvae": gap_mr, "mrvae_sqrt_encoder": gap_sqrt,
                                         "beta_vae": gap_beta},
             "mrvae_relative_gap_20_betas": {"beta": curve_betas, "gap": gap_mr_curve,
                                             "gap_sqrt_encoder": gap_sqrt_curve},
             "mrvae_max_relative_gap": max(gap_mr_curve),
             "mrvae_sqrt_encoder_max_relative_gap": max(gap_sqrt_curve),
             "seeds": {name: summary.to_json() for name, summary in over_seeds.items()},
             "overhead": {"parameter_ratio": params_mr["total"] / params_plain["total"],
                          "extra_parameters": params_mr["hyper"], "step_time_ratio": step_ratio}},
    provenance=provenance(seed=seed, config={"profile": settings, "sigma2": SIGMA2, "latent_dim": LATENT_DIM,
                                             "beta_range": [BETA_RANGE.low, BETA_RANGE.high]},
                          device=torch.device("cpu"), wall_seconds=clock.seconds),
    notes="Rates and distortions are exact expectations under the MNIST training covariance.",
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")

# %% tags=["remove-cell"]
# The regression check that nbval compares: one line per checked metric of this chapter's
# figures, "ok" inside the band measured across CPU kernel paths (mrvae_companion.checks).
from mrvae_companion.checks import print_checks

print_checks("figure4_linear_mnist")
