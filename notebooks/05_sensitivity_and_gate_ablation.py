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
# # Section 5.3 and Appendix D: the sample range [a, b] and the choice of gate
#
# An MR-VAE removes β from the hyperparameters but adds the range $[a, b]$ from which
# $\log\beta$ is sampled. Section 5.3 reports that MR-VAEs are **robust to this range**: on
# Omniglot with a ResNet, moving $a$ over {0.001, 0.01, 0.1, 1} with $b = 10$, or $b$ over
# {10, 1, 0.1} with $a = 0.01$, changes the learned rate–distortion curve little. Appendix D
# reports that the **gate function matters little**: sigmoid gates everywhere do about as well
# as Eq. 7's sigmoid encoder and $\sqrt{\mathrm{ReLU}(1-e^x)}$ decoder gates.
#
# Both experiments reuse the Figure 5 set-up and profile (see that notebook for what the quick
# profile reduces: here, 1,000 Adam steps per model at 1/4 of the ResNet's width). Each MR-VAE is evaluated at 20 log-spaced β inside its own range, and
# compared with the β-VAEs (constant β) of Figure 5 at the β values inside that range.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU) or "paper" (full size; a GPU)
seed = 0

# %%
import matplotlib.pyplot as plt
import numpy as np

from mrvae.book.experiments import (
    compare_at_betas,
    fit_mr_vae,
    image_profile,
    train_image_experiments,
)
from mrvae.book.figures import CONSTANT_STYLE, plot_rate_distortion, provenance, save_figure
from mrvae.book.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import evaluate, rate_distortion_curve
from mrvae.models.benchmark import GatePlacement

settings = image_profile(profile)
seed_everything(seed)
device = pick_device()
runs = run_directory(profile, "images")
clock = Stopwatch().__enter__()
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
RANGES_A = [BetaRange(a, 10.0) for a in (0.001, 0.01, 0.1, 1.0)]
RANGES_B = [BetaRange(0.01, b) for b in (10.0, 1.0, 0.1)]

# %%
# NBVAL_IGNORE_OUTPUT
panels, not_run = train_image_experiments(settings, ("resnet",), datasets=("omniglot", "binary_mnist"), seed=seed,
                                          run_dir=runs, device=device)
omniglot, mnist = panels[("omniglot", "resnet")], panels[("binary_mnist", "resnet")]
range_models = {}
for beta_range in dict.fromkeys(RANGES_A + RANGES_B):  # (0.01, 10) appears in both lists
    range_models[beta_range], _ = fit_mr_vae(omniglot.experiment, omniglot.data, beta_range=beta_range, run_dir=runs,
                                             device=device, log=lambda line: None)
sigmoid_everywhere, _ = fit_mr_vae(mnist.experiment, mnist.data, placement=GatePlacement("sigmoid", "sigmoid"),
                                   run_dir=runs, device=device, log=lambda line: None)
print(f"{len(range_models)} Omniglot MR-VAEs and 1 sigmoid-gated binary-MNIST MR-VAE ready")


# %% [markdown]
# ## Sensitivity to the sample range (Omniglot, ResNet)
#
# For each range: the MR-VAE's $D + \beta R$ against the constant-β β-VAE trained at each sweep
# β inside the range, as a relative gap (negative: MR-VAE better).

# %%
def range_comparison(model, beta_range):
    inside = {b: m for b, m in omniglot.constant.items() if beta_range.low * (1 - 1e-9) <= b <= beta_range.high * (1 + 1e-9)}
    return compare_at_betas(model, inside, omniglot.data.test)


sensitivity = {}
print(f"{'range [a, b]':<16} {'sweep β inside':>15} {'median gap':>11} {'worst gap':>10} {'R(a)/R(b)':>10}")
for beta_range, model in range_models.items():
    rows = range_comparison(model, beta_range)
    gaps = [r["gap"] for r in rows]
    curve = rate_distortion_curve(model, omniglot.data.test, beta_range=beta_range)
    sensitivity[beta_range] = {"rows": rows, "curve": curve, "rate_ratio": curve[0]["rate"] / curve[-1]["rate"]}
    # rounded to whole percent: the claim is "little change", and this is what holds run to run
    print(f"[{beta_range.low:g}, {beta_range.high:g}]".ljust(16)
          + f" {len(rows):>15} {np.median(gaps):>+11.0%} {max(gaps):>+10.0%} "
          f"{sensitivity[beta_range]['rate_ratio']:>10.0f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
baseline = [evaluate(m, omniglot.data.test, b) for b, m in sorted(omniglot.constant.items())]
for ax, ranges, varied in ((axes[0], RANGES_A, "a (b = 10)"), (axes[1], RANGES_B, "b (a = 0.01)")):
    for i, beta_range in enumerate(ranges):
        curve = sensitivity[beta_range]["curve"]
        ax.plot([p["rate"] for p in curve], [p["distortion"] for p in curve], "o-", ms=3, color=f"C{i + 3}",
                label=f"MR-VAE, [{beta_range.low:g}, {beta_range.high:g}]")
    ax.plot([p["rate"] for p in baseline], [p["distortion"] for p in baseline], label="β-VAEs, constant β",
            **CONSTANT_STYLE)
    ax.set_xlabel("rate (nats)")
    ax.set_ylabel("distortion (nats)")
    ax.set_title(f"varying {varied}")
    ax.legend(fontsize=8)
fig.suptitle(f"Section 5.3 ({profile} profile): sample range, Omniglot, ResNet ({omniglot.experiment.tag})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Gate ablation (Appendix D): binary MNIST, ResNet

# %%
ablation = {
    "sigmoid encoder, sqrt decoder (Eq. 7)": mnist.mr_vae,
    "sigmoid everywhere": sigmoid_everywhere,
}
ablation_rows = {name: compare_at_betas(model, mnist.constant, mnist.data.test) for name, model in ablation.items()}
names = list(ablation)

# %%
# NBVAL_IGNORE_OUTPUT
print(f"{'beta':>6} | {'β-VAE D+βR':>11} | " + " | ".join(f"{n[:24]:>24}" for n in names))
for i, b in enumerate(sorted(mnist.constant)):
    cells = " | ".join(f"{ablation_rows[n][i]['mr_loss']:>14.2f} ({ablation_rows[n][i]['gap']:>+6.1%})" for n in names)
    print(f"{b:>6.3f} | {ablation_rows[names[0]][i]['loss']:>11.2f} | {cells}")

# %%
for n in names:
    print(f"{n}: median gap to β-VAEs {np.median([r['gap'] for r in ablation_rows[n]]):+.0%}")

# %%
fig_gates, ax = plt.subplots(figsize=(6.5, 4.5))
curves = {n: rate_distortion_curve(m, mnist.data.test, beta_range=BetaRange(0.01, 10.0)) for n, m in ablation.items()}
plot_rate_distortion(ax, curves[names[0]], ablation_rows[names[0]], title="", mr_label=f"MR-VAE, {names[0]}")
ax.plot([p["rate"] for p in curves[names[1]]], [p["distortion"] for p in curves[names[1]]], "d-", ms=3, color="C4",
        label=f"MR-VAE, {names[1]}")
ax.set_title(f"Gate ablation ({profile} profile): {mnist.experiment.tag}")
ax.legend(fontsize=8)
fig_gates.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** *(This refers to the quick-profile run the book is built from; every
# MR-VAE here trains for 1,000 Adam steps.)*
#
# - **The sample range.** For ranges of three or four decades the MR-VAE learns a wide
#   response (rate span R(a)/R(b) of about 100), and its median gap to the β-VAEs inside the
#   range is small (+3% for [0.001, 10], +4% for [0.01, 10]). The ranges with a large low end
#   also respond ([0.1, 10]: 38×, [1, 10]: 11×), with worst gaps at their own low end (+21%,
#   +16%). So across these four ranges the curve changes by a few percent, as the paper
#   reports.
# - **Narrow ranges at small β are different.** With [0.01, 1] and [0.01, 0.1] the MR-VAE hardly
#   responds (spans 3 and 1) while the β-VAEs' rates fall from about 120 to about 20 and 70
#   nats. Its median gap is still about 0%, because at small β the loss $D + \beta R$ barely
#   depends on the rate. A small gap is therefore no evidence of a learned response there.
# - **The gate ablation.** Eq. 7's gates and sigmoid gates everywhere end within about one
#   point of median gap of each other (both +4%), as Appendix D reports: the choice of gate
#   matters little at this budget.

# %%
# NBVAL_IGNORE_OUTPUT
clock.__exit__()
run_config = {"profile": profile, "settings": settings.describe()}
range_key = lambda r: f"[{r.low:g}, {r.high:g}]"  # noqa: E731
path = save_figure(
    fig, "section53_sample_range", figure="Section 5.3", notebook="05_sensitivity_and_gate_ablation", profile=profile,
    data={range_key(r): {"curve": v["curve"], "per_beta": v["rows"]} for r, v in sensitivity.items()},
    metrics={"per_beta_gap": {range_key(r): [row["gap"] for row in v["rows"]] for r, v in sensitivity.items()},
             "median_gap": {range_key(r): float(np.median([row["gap"] for row in v["rows"]]))
                            for r, v in sensitivity.items()}},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
)
path_gates = save_figure(
    fig_gates, "appendix_d_gate_ablation", figure="Appendix D (gate ablation)",
    notebook="05_sensitivity_and_gate_ablation", profile=profile,
    data={n: {"curve": curves[n], "per_beta": ablation_rows[n]} for n in names},
    metrics={"per_beta_gap": {n: [r["gap"] for r in ablation_rows[n]] for n in names},
             "median_gap": {n: float(np.median([r["gap"] for r in ablation_rows[n]])) for n in names}},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
)
print(f"wrote {path.name} and {path_gates.name}; wall time {clock.seconds:.1f} s")
