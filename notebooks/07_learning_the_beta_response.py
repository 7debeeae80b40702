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
# # Learning the β response: gate initialisation and the gates' learning rate
#
# An MR-VAE is only useful once its gates respond to β: until then one network gives one point
# of the rate–distortion curve, whatever β it is asked for. How fast that happens depends on two
# choices the paper leaves open.
#
# - **Initialisation.** We start every gate open and β-independent: $w = 0$, and $c$ such that
#   the gate is about 0.9 (`init="open"`). The authors' code builds each gate as
#   `nn.Linear(1, channels)` with PyTorch's default initialisation, $w, c \sim U(-1, 1)$
#   (`init="uniform"`), so the network depends on β from the first step. (For the
#   $\sqrt{\mathrm{ReLU}(1-e^x)}$ gate we shift $c$ down by $1 + \sqrt3$, because a gate
#   that starts closed gets no gradient.)
# - **The gates' learning rate.** Adam {cite:p}`kingma2015adam` moves a parameter by about the learning rate per step, so
#   at a shared rate of 1e-3 a gate weight moves by at most about 1 in a thousand steps. A
#   multiplier gives $w$ and $c$ their own, larger rate (`TrainConfig.hyper_lr_multiplier`).
#
# We train the Figure 1 panel (ResNet, binary MNIST, the quick profile's budget of 1,000 Adam
# steps) once per combination of initialisation and multiplier. After every epoch we measure
# the rate span $R(a)/R(b)$ between the ends of the range and the mean relative gap in
# $D + \beta R$ to the 10 constant-β β-VAEs of Figure 5 (trained for the full budget).

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU) or "paper" (full size; a GPU)
seed = 0

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt

from mrvae.book.experiments import (
    baseline_betas,
    fit_beta_vaes,
    image_profile,
    load_experiment_data,
    response_learning_curve,
)
from mrvae.book.figures import provenance, save_figure
from mrvae.book.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae.hyper.layers import DEFAULT_GATE_INIT
from mrvae.models.benchmark import GatePlacement
from mrvae.training import DEFAULT_HYPER_LR_MULTIPLIER

settings = image_profile(profile)
seed_everything(seed)
device = pick_device()
clock = Stopwatch().__enter__()
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
INITS = ("open", "uniform")
MULTIPLIERS = (1.0, 10.0, 30.0, 100.0)

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
dataset, kind = settings.headline
base = settings.experiment(dataset, kind, seed)
data = load_experiment_data(base)
# The same β-VAEs as Figure 5 (cached under runs/ by notebook 03, trained here if absent).
references = fit_beta_vaes(base, data, baseline_betas(), annealed=False, run_dir=run_directory(profile, "images"),
                           device=device)
curves = {}
for init in INITS:
    for multiplier in MULTIPLIERS:
        experiment = dataclasses.replace(base, hyper_lr_multiplier=multiplier)
        _, curves[(init, multiplier)] = response_learning_curve(
            experiment, data, references, placement=GatePlacement(init=init),
            run_dir=run_directory(profile, "study"), device=device, seed=seed)
print(f"{len(curves)} MR-VAEs on {base.tag}, {base.steps(data.train.shape[0])} steps each")

# %% [markdown]
# ## Results
#
# Final values after the whole budget, and the first step at which the rate span reached 10.
# Gaps are rounded to whole percent and spans to whole numbers: that is what holds from run to
# run (the figure JSON keeps every value).

# %% tags=["hide-input"]
def first_step(records, threshold=10.0):
    return next((int(r["step"]) for r in records if r["rate_ratio"] >= threshold), None)


summary = {}
print(f"{'init':<8} {'× lr':>5} | {'final R(a)/R(b)':>15} {'final mean gap':>14} | {'first step with span ≥ 10':>26}")
for (init, multiplier), records in curves.items():
    final = records[-1]
    summary[f"{init} x{multiplier:g}"] = {"init": init, "multiplier": multiplier, "rate_ratio": final["rate_ratio"],
                                          "mean_gap": final["mean_gap"], "first_step_span_10": first_step(records)}
    reached = first_step(records)
    print(f"{init:<8} {multiplier:>5g} | {final['rate_ratio']:>15.0f} {final['mean_gap']:>+14.0%} | "
          f"{reached if reached is not None else 'never':>26}")

# %% [markdown]
# **The rule for the default.** Among the variants whose final mean gap is within one
# percentage point of the best, take the one that first reaches a rate span of 10 (the
# learning speed); ties go to the smaller final gap.

# %% tags=["hide-input"]
best_gap = min(v["mean_gap"] for v in summary.values())
eligible = {k: v for k, v in summary.items() if v["mean_gap"] <= best_gap + 0.01}
chosen = min(eligible, key=lambda k: (eligible[k]["first_step_span_10"] or float("inf"), eligible[k]["mean_gap"]))
package_default = f"{DEFAULT_GATE_INIT} x{DEFAULT_HYPER_LR_MULTIPLIER:g}"
print(f"variants within 1 point of the best final gap: {sorted(eligible)}")
print(f"chosen by the rule: {chosen}; the package default: {package_default}; "
      f"{'they agree' if chosen == package_default else 'they DIFFER'}")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.3))
for i, init in enumerate(INITS):
    for j, multiplier in enumerate(MULTIPLIERS):
        records = curves[(init, multiplier)]
        style = {"color": f"C{j}", "ls": "-" if init == "open" else "--", "marker": "o" if init == "open" else "s",
                 "ms": 3, "label": f"{init}, ×{multiplier:g}"}
        axes[0].plot([r["step"] for r in records], [r["rate_ratio"] for r in records], **style)
        axes[1].plot([r["step"] for r in records[1:]], [100 * r["mean_gap"] for r in records[1:]], **style)
axes[0].set_yscale("log")
axes[0].axhline(10, color="k", lw=0.8, ls=":")
axes[0].set_ylabel("rate span R(a) / R(b)")
axes[1].set_ylabel("mean gap in D + βR to the β-VAEs (%)")
for ax in axes:
    ax.set_xlabel("Adam steps")
axes[0].legend(fontsize=8, ncol=2)
fig.suptitle(f"Learning the β response ({profile} profile): {base.tag}, gate init × gate learning-rate multiplier")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the numbers.** *(The quick-profile run the book is built from; the checked outputs
# above hold the numbers.)*
#
# - **Open gates at the shared learning rate (×1) learn slowest**: their rate span first
#   reaches 10 only after 375 steps, because Adam moves $w$ by about the learning rate per step.
#   Every other variant gets there within the first epoch (125 steps).
# - **The authors' random initialisation responds at once but ends worse**: its final mean gap
#   is +8% to +10% at every multiplier, against +4% to +7% for open gates. A plausible cause,
#   not tested here: the ResNet has no BatchNorm, and random sigmoid gates (about 0.5 on
#   average) shrink the signal at each of its 13 gated layers.
# - **A faster learning rate for open gates helps up to a point**: ×10 and ×30 end with the
#   smallest gaps (+5% and +4%); at ×100 the gap grows again (+6%).
# - The rule picks `open ×30`, which is the package's default (`init="open"`,
#   `hyper_lr_multiplier=30`); the line above the figure checks that they agree. One panel
#   and one seed at one budget decided it, so treat it as a good default, not a law.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
path = save_figure(
    fig, "learning_the_beta_response", figure="Study: learning the β response",
    notebook="07_learning_the_beta_response", profile=profile,
    data={f"{init} x{multiplier:g}": records for (init, multiplier), records in curves.items()},
    metrics={"final": summary, "chosen": chosen, "package_default": package_default,
             "agrees_with_default": chosen == package_default},
    provenance=provenance(seed=seed, config={"profile": profile, "experiment": base, "inits": INITS,
                                             "multipliers": MULTIPLIERS}, device=device, wall_seconds=clock.seconds),
)
print(f"wrote {path.name}; wall time {clock.seconds:.1f} s")
