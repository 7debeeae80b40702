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
# (Figure 9) reports, on the same Omniglot ResNet, that **a bigger hypernetwork does not help**
# (a 2-layer MLP, with or without a shared first layer, or a 5-layer MLP in place of Eq. 8's
# linear map from $\log\beta$) and that **the gate function matters little** (sigmoid, sqrt or
# a FiLM {cite:p}`perez2018film` scale-and-shift, in the encoder and, separately, in the decoder), with Eq. 7's
# choice slightly ahead.
#
# Both experiments reuse the Figure 5 set-up and profile (see that notebook for what the quick
# profile reduces: here, 1,000 Adam steps per model at 1/4 of the ResNet's width). Each MR-VAE is evaluated at 20 log-spaced β inside its own range, and
# compared with the β-VAEs (constant β) of Figure 5 at the β values inside that range.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU) or "paper" (full size; a GPU)
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np

from mrvae.book.experiments import (
    compare_at_betas,
    fit_mr_vae,
    image_profile,
    sweep_gap_metrics,
    train_image_experiments,
)
from mrvae.book.figures import CONSTANT_STYLE, provenance, save_figure
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
# Figure 9: each panel changes one thing from Eq. 7-8's MR-VAE (GatePlacement()).
FIGURE9 = {
    "hypernetwork": {"linear (Eq. 8)": GatePlacement(), "2-layer MLP": GatePlacement(hypernetwork="mlp"),
                     "2-layer MLP, shared first layer": GatePlacement(hypernetwork="mlp_shared"),
                     "5-layer MLP": GatePlacement(hypernetwork="mlp5")},
    "encoder gate": {"sigmoid (Eq. 7)": GatePlacement(), "sqrt": GatePlacement(encoder_gate="sqrt"),
                     "FiLM": GatePlacement(encoder_gate="film")},
    "decoder gate": {"sigmoid": GatePlacement(decoder_gate="sigmoid"), "sqrt (Eq. 7)": GatePlacement(),
                     "FiLM": GatePlacement(decoder_gate="film")},
}

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
panels, not_run = train_image_experiments(settings, ("resnet",), datasets=("omniglot",), seed=seed,
                                          run_dir=runs, device=device)
omniglot = panels[("omniglot", "resnet")]
range_models = {}
for beta_range in dict.fromkeys(RANGES_A + RANGES_B):  # (0.01, 10) appears in both lists
    range_models[beta_range], _ = fit_mr_vae(omniglot.experiment, omniglot.data, beta_range=beta_range, run_dir=runs,
                                             device=device, log=lambda line: None)
variant_models = {}
for placement in dict.fromkeys(p for variants in FIGURE9.values() for p in variants.values()):
    variant_models[placement], _ = fit_mr_vae(omniglot.experiment, omniglot.data, placement=placement, run_dir=runs,
                                              device=device, log=lambda line: None)
print(f"{len(range_models)} sample-range and {len(variant_models)} Figure 9 MR-VAEs on Omniglot ready")


# %% [markdown]
# ## Sensitivity to the sample range (Omniglot, ResNet)
#
# For each range: the MR-VAE's $D + \beta R$ against the constant-β β-VAE trained at each sweep
# β inside the range, as a relative gap (negative: MR-VAE better).

# %% tags=["hide-input"]
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

# %% tags=["hide-input"]
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
# ## Figure 9 (Appendix D): the hypernetwork's form and the gate function (Omniglot, ResNet)
#
# Seven more MR-VAEs, each trained like Figure 5's with one change. The MLP hypernetworks have
# hidden width 16 and ReLU activations (the paper gives no width); FiLM scales and shifts each
# pre-activation by two linear functions of $\nu(\beta)$ instead of gating it. Each is
# compared with the constant-β β-VAEs at the 10 sweep β.

# %% tags=["hide-input"]
variant_curves, variant_metrics = {}, {}
print(f"{'panel':<13} {'variant':<32} {'R(a)/R(b)':>10} {'median gap':>11} {'worst gap':>10}")
for panel, variants in FIGURE9.items():
    for name, placement in variants.items():
        model = variant_models[placement]
        curve = rate_distortion_curve(model, omniglot.data.test, beta_range=BetaRange(0.01, 10.0))
        rows = compare_at_betas(model, omniglot.constant, omniglot.data.test)
        variant_curves[(panel, name)] = {"curve": curve, "per_beta": rows}
        variant_metrics[(panel, name)] = sweep_gap_metrics(curve, rows)
        m = variant_metrics[(panel, name)]
        span = float(f"{m['rate_ratio']:.2g}")  # two significant digits and whole percent: run-to-run stable
        print(f"{panel:<13} {name:<32} {span:>10g} {m['median_gap']:>+11.0%} {m['worst_gap']:>+10.0%}")

# %% tags=["hide-input"]
for panel, variants in FIGURE9.items():
    medians = {name: variant_metrics[(panel, name)]["median_gap"] for name in variants}
    default = next(name for name, placement in variants.items() if placement == GatePlacement())
    print(f"{panel}: median gaps span {max(medians.values()) - min(medians.values()):.0%}; the default "
          f"({default}) is {medians[default] - min(medians.values()):.0%} behind the best")

# %% tags=["hide-input"]
fig9, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
baseline = [evaluate(m, omniglot.data.test, b) for b, m in sorted(omniglot.constant.items())]
for ax, (panel, variants) in zip(axes, FIGURE9.items()):
    for i, name in enumerate(variants):
        curve = variant_curves[(panel, name)]["curve"]
        ax.plot([p["rate"] for p in curve], [p["distortion"] for p in curve], "o-", ms=3, color=f"C{i}", label=name)
    ax.plot([p["rate"] for p in baseline], [p["distortion"] for p in baseline], label="β-VAEs, constant β",
            **CONSTANT_STYLE)
    ax.set_xlabel("rate (nats)")
    ax.set_title(f"{panel}")
    ax.legend(fontsize=8)
axes[0].set_ylabel("distortion (nats)")
fig9.suptitle(f"Figure 9 ({profile} profile): Omniglot, ResNet ({omniglot.experiment.tag})")
fig9.tight_layout()
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
# - **Figure 9, the hypernetwork's form.** More capacity does not help, as Appendix D reports;
#   at this budget it hurts. The linear map of Eq. 8 has the smallest median gap (+4%) and the
#   widest response (span 89); the 2-layer MLPs reach +7% (shared first layer) and +8%, the
#   5-layer MLP +14%, with spans of 80, 50 and 26: deeper maps from β to the gates learn the
#   response more slowly in 1,000 steps.
# - **Figure 9, the gate function.** In the encoder the choice does not matter: sigmoid, sqrt
#   and FiLM end within one point (+4%, +4%, +5%). In the decoder, FiLM is ahead here (+1%,
#   worst +2%) of sqrt (+4%, Eq. 7's choice) and sigmoid (+5%). The paper found the default
#   slightly better than the alternatives; we find the spread equally small (within 5 points)
#   but FiLM, not sqrt, in front.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
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
variant_key = lambda panel, name: f"{panel}/{name}"  # noqa: E731
path_gates = save_figure(
    fig9, "figure9_ablation", figure="Figure 9", notebook="05_sensitivity_and_gate_ablation", profile=profile,
    data={variant_key(*k): v for k, v in variant_curves.items()},
    metrics={"variants": {variant_key(*k): v for k, v in variant_metrics.items()},
             "median_gap_span": {panel: max(variant_metrics[(panel, n)]["median_gap"] for n in variants)
                                 - min(variant_metrics[(panel, n)]["median_gap"] for n in variants)
                                 for panel, variants in FIGURE9.items()},
             "hypernetwork_mlp": {n: p.hyper_hidden for n, p in FIGURE9["hypernetwork"].items()}},
    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
    notes="Each variant differs from the default MR-VAE (linear hypernetwork, sigmoid encoder and sqrt "
          "decoder gates) in the one setting its panel names; gaps are to the constant-β β-VAEs of Figure 5.",
)
print(f"wrote {path.name} and {path_gates.name}; wall time {clock.seconds:.1f} s")
