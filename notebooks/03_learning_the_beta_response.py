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
# An MR-VAE {cite:p}`bae2023multirate` is only useful once its gates respond to β: until then
# one network gives one point of the rate–distortion curve, whatever β it is asked for. How
# fast that happens depends on two choices the paper leaves open.
#
# - **Initialisation.** We start every gate open and β-independent: $w = 0$, and $c$ such that
#   the gate is about 0.9 (`init="open"`). The authors' code builds each gate as
#   `nn.Linear(1, channels)` with PyTorch's default initialisation, $w, c \sim U(-1, 1)$
#   (`init="uniform"`), so the network depends on β from the first step. (For the
#   $\sqrt{\mathrm{ReLU}(1-e^x)}$ gate we shift $c$ down by $1 + \sqrt3$, because a gate
#   that starts closed gets no gradient.)
# - **The gates' learning rate.** Adam {cite:p}`kingma2015adam` moves a parameter by about the
#   learning rate per step, so at a shared rate of 1e-3 a gate weight moves by at most about 1
#   in a thousand steps. A multiplier gives $w$ and $c$ their own, larger rate
#   (`TrainConfig.hyper_lr_multiplier`).
#
# We train the Figure 1 panel (ResNet, binary MNIST, the quick profile's budget of 1,000 Adam
# steps) once per combination of initialisation and multiplier. After every epoch we measure
# the rate span $R(a)/R(b)$ between the ends of the range and the mean relative gap in
# $D + \beta R$ to the 10 constant-β β-VAEs of Figure 1 (trained for the full budget).
#
# **Chosen on validation images.** A default chosen by its score on the test images would be
# tuned on the test set, and the β-VAEs got no such tuning. So every number of this study is
# measured on {glue:text}`validation_images:,.0f` images of the binary-MNIST *training* split
# that the 8,000 training images leave out; the test images score the chosen default once, in
# chapter 4. The budget and the β range are the paper's and the quick profile's, not chosen by
# comparing runs.
#
# The study decides a fixed default of the package, not something each build should decide
# again, so it ran once with `make learning-study` (`scripts/run_learning_study.py`) and its
# figure data are committed; the cell below prints where and when it ran.

# %% [markdown]
# ## What this chapter finds
#
# *(The committed run of the study: one seed, one panel, 1,000 Adam steps per model, scored on
# validation images. The numbers are that run's, from the table below.)*
#
# - **Speed.** Open gates at the shared learning rate (×1) first reach a rate span of 10 at
#   step {glue:text}`open_x1_first_step:.0f`; {glue:text}`others_reached:.0f` of the other
#   {glue:text}`others_total:.0f` variants reach it by step
#   {glue:text}`others_first_step_max:.0f` (the span is measured after every epoch of
#   {glue:text}`steps_per_epoch:.0f` steps).
# - **Final gap.** After the whole budget the mean gap to the β-VAEs is
#   {glue:text}`open_gap_min:+.0f`% to {glue:text}`open_gap_max:+.0f`% for open gates and
#   {glue:text}`uniform_gap_min:+.0f`% to {glue:text}`uniform_gap_max:+.0f`% for the authors'
#   random initialisation, over the four multipliers.
# - **The default.** The selection rule below picks {glue:text}`chosen`; the package's default
#   is {glue:text}`package_default`.
# - **The gap that remains.** With both kinds trained equally long, the median gap is
#   {glue:text}`gap_equal_first_median:+.1f`% at {glue:text}`gap_equal_first_steps:,.0f` steps
#   and {glue:text}`gap_equal_last_median:+.1f`% at {glue:text}`gap_equal_last_steps:,.0f`
#   steps. It is larger at small β, and neither the gates' learning rate nor a wider β range
#   closes it ({ref}`the committed study at the end of this chapter <gap-study>`).

# %% tags=["parameters"]
profile = "quick"  # the profile whose committed studies this chapter shows (it trains nothing)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from myst_nb import glue

from mrvae_companion.figures import (
    committed_figure_dir,
    glue_figure,
    legend_below,
    load_figure_data,
    plot_gap_study,
    plot_learning_study,
    use_book_style,
)
from mrvae_companion.prose import glue_number
from mrvae_companion.seeds import SeedSummary
from mrvae.hyper.layers import DEFAULT_GATE_INIT
from mrvae.training import DEFAULT_HYPER_LR_MULTIPLIER

use_book_style()
study = load_figure_data("learning_the_beta_response", directory=committed_figure_dir())
study_run, summary = study["provenance"], study["metrics"]["final"]
curves = {name: records for name, records in study["data"].items() if name in summary}
print(f"committed run: commit {study_run['git_commit'][:7]}, {study_run['machine']}, finished "
      f"{study_run['finished_utc']}, {study_run['wall_seconds'] / 60:.0f} min, `{study_run['command']}`")
print(f"scored on: {study['metrics']['scored_on']} ({study['metrics']['validation_images']:,} images)")
if study["profile"] != profile:
    print(f"note: the committed study is of the {study['profile']!r} profile, not {profile!r}")

# %% [markdown]
# ## Results
#
# Final values after the whole budget, on the validation images, and the first step at which
# the rate span reached 10. Gaps are rounded to whole percent and spans to whole numbers (the
# figure JSON keeps every value).

# %% tags=["hide-input"]
display(pd.DataFrame([
    {"init": v["init"], "gate lr ×": f"{v['multiplier']:g}", "final span R(a)/R(b)": f"{v['rate_ratio']:.0f}",
     "final mean gap": f"{v['mean_gap']:+.0%}",
     "first step with span ≥ 10": str(v["first_step_span_10"]) if v["first_step_span_10"] is not None else "never"}
    for v in summary.values()]).set_index(["init", "gate lr ×"]))

# %% [markdown]
# **The rule for the default.** Among the variants whose final mean gap is within
# {glue:text}`gap_tolerance_points:.0f` percentage point of the best, take the one that first
# reaches a rate span of 10 (the learning speed); ties go to the smaller final gap.

# %% tags=["hide-input"]
chosen = study["metrics"]["chosen"]
package_default = f"{DEFAULT_GATE_INIT} x{DEFAULT_HYPER_LR_MULTIPLIER:g}"
print(f"chosen by the rule: {chosen}; the package default: {package_default}; "
      f"{'they agree' if chosen == package_default else 'they DIFFER'}")

# %% tags=["hide-input"]
# Two panels at the book's column width (about 7 in), so 8-pt text stays 8 pt on the page.
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2), dpi=150)
plot_learning_study(fig, axes, curves)
glue_figure("learning_the_beta_response", fig)

# %% [markdown]
# ```{glue:figure} learning_the_beta_response
# :name: fig-learning-the-beta-response
#
# **Study: learning the β response.** Left: the rate span $R(0.01)/R(10)$ of the Figure 1
# panel's MR-VAE, measured before training and after every epoch, for each gate
# initialisation (open: solid; the authors' uniform: dashed) and gate learning-rate multiplier
# (colour); the dotted line is a span of 10. Right: its mean gap in $D + \beta R$ to the
# 10 constant-β β-VAEs, after every epoch (log scale when all gaps are positive). Both measured
# on validation images (training-split images outside the training subset). Quick profile:
# ResNet at 1/4 width on binary MNIST, 1,000 Adam steps per model, one seed; the committed run
# of `make learning-study`.
# ```

# %% tags=["remove-input"]
# The numbers the prose quotes, glued from the committed run (myst-nb) so that none is typed by hand.
INITS = list(dict.fromkeys(v["init"] for v in summary.values()))
MULTIPLIERS = list(dict.fromkeys(v["multiplier"] for v in summary.values()))


def gap_percent(init: str, multiplier: float) -> float:
    return 100 * summary[f"{init} x{multiplier:g}"]["mean_gap"]


others = [v["first_step_span_10"] for k, v in summary.items() if k != "open x1"]
open_x1_step = summary["open x1"]["first_step_span_10"]
glue_number("open_x1_first_step", open_x1_step if open_x1_step is not None else float("nan"))
glue_number("others_total", len(others))
glue_number("others_reached", sum(s is not None for s in others))
glue_number("others_first_step_max", max((s for s in others if s is not None), default=float("nan")))
glue_number("steps_per_epoch", next(iter(curves.values()))[1]["step"])
glue_number("validation_images", study["metrics"]["validation_images"])
glue_number("gap_tolerance_points", 100 * study["metrics"]["gap_tolerance"])
for init in INITS:
    gaps = [gap_percent(init, m) for m in MULTIPLIERS]
    glue_number(f"{init}_gap_min", min(gaps))
    glue_number(f"{init}_gap_max", max(gaps))
    for m in MULTIPLIERS:
        glue_number(f"{init}_x{m:g}_gap", gap_percent(init, m))
glue_number("uniform_worse_count", sum(gap_percent("uniform", m) > gap_percent("open", m) for m in MULTIPLIERS))
glue_number("n_multipliers", len(MULTIPLIERS))
glue_number("gated_layers", study["metrics"]["gated_layers"])
glue("chosen", chosen.replace(" x", " ×"), display=False)
glue("package_default", package_default.replace(" x", " ×"), display=False)

# %% [markdown]
# **Reading the numbers.** *(The committed run printed above.)*
#
# - **Open gates at the shared learning rate (×1)**: their rate span first reaches 10 at step
#   {glue:text}`open_x1_first_step:.0f` ({numref}`fig-learning-the-beta-response`, left). With
#   $w = 0$ at the start, Adam moves $w$ by about the learning rate per step.
#   {glue:text}`others_reached:.0f` of the other {glue:text}`others_total:.0f` variants reach a
#   span of 10 by step {glue:text}`others_first_step_max:.0f`.
# - **The authors' random initialisation**: its final mean gap is
#   {glue:text}`uniform_gap_min:+.0f`% to {glue:text}`uniform_gap_max:+.0f`%, larger than that of
#   open gates at the same multiplier at {glue:text}`uniform_worse_count:.0f` of the
#   {glue:text}`n_multipliers:.0f` multipliers ({numref}`fig-learning-the-beta-response`,
#   right). A possible cause, not tested here: the ResNet has no normalisation layers, and
#   random sigmoid gates (about 0.5 on average) scale the signal down at each of its
#   {glue:text}`gated_layers:.0f` gated layers.
# - **The open gates' learning rate**: their final mean gap is
#   {glue:text}`open_x1_gap:+.0f`% at ×1, {glue:text}`open_x10_gap:+.0f`% at ×10,
#   {glue:text}`open_x30_gap:+.0f`% at ×30 and {glue:text}`open_x100_gap:+.0f`% at ×100.
# - The rule picks {glue:text}`chosen`; the package's default (`init`,
#   `hyper_lr_multiplier`) is {glue:text}`package_default`, and the line above the figure says
#   whether the two agree. One panel and one seed at one budget decided it, so treat it as a
#   default to start from, not a law.

# %% [markdown]
# (gap-study)=
# ## Does the gap close with more training?
#
# Chapter 4 sets the quick profile a target on the Figure 1 panel (ResNet, binary MNIST): a
# median gap in $D + \beta R$ to the constant-β β-VAEs of at most 3%. In this study's runs of
# that setting the MR-VAE {glue:text}`gap_seed_verdicts` (below); seed 0 is chapter 4's run. We
# first compared our recipe with the authors' code
# (`experiments/hyper_train_utils.py` and `src/hyper/base_model.py` in their repository).
# These match:
# - β is drawn per example, with $\log\beta \sim U[\log a, \log b]$;
# - the loss is the batch mean of $D + \beta R$;
# - the learning rate warms up linearly, then decays on a cosine;
# - the gates sit where theirs do.
#
# Two things differ: the gates' initialisation and their learning rate, which the study
# above chose.
#
# So this study asks how much the gap moves from run to run, and whether something the recipe
# leaves free closes it:
# - **Other seeds.** The 1× setting and the longer-trained MR-VAE again with seeds 1 and 2:
#   other 8,000 training and 1,000 test images, another initialisation and batch order.
# - **A longer run.** The MR-VAE and the β-VAEs train at 1×, 2× and 4× the profile's budget.
# - **The gates' learning rate** at 2× the budget.
# - **A wider training range.** The MR-VAE trains on β ∈ [0.001, 10], the range in the
#   authors' code.
# - **Only the MR-VAE trains longer:** 2× its budget against β-VAEs at 1×.
#
# Every variant is scored on the same 10 β in [0.01, 10].
#
# Every model trains on one thread, one per core side by side, as chapter 4's panels do, so
# run from the same commit on the same kind of CPU, the 1× run with seed 0 is chapter 4's
# Figure 1 panel, float for float. The study trains 40
# β-VAEs, so it runs longer than a build of this book allows. It was run once with
# `make gap-study` (`scripts/run_gap_study.py`) and committed as `figures/gap_study.json`. The
# cell below prints where and when it ran. The table's rate span is $R(0.01)/R(10)$.

# %% tags=["hide-input"]
gap_study = load_figure_data("gap_study", directory=committed_figure_dir())
study_run = gap_study["provenance"]
variants = gap_study["metrics"]["variants"]
grid = next(iter(variants.values()))["betas"]
low_end = grid[len(grid) // 2 - 1]  # the smaller half of the grid, as run_gap_study.py splits it
print(f"committed run: commit {study_run['git_commit'][:7]}, {study_run['machine']}, finished "
      f"{study_run['finished_utc']}, {study_run['wall_seconds'] / 60:.0f} min, `{study_run['command']}`")
display(pd.DataFrame([{
    "variant": name, "MR-VAE steps": f"{v['mr_vae_steps']:,}", "β-VAE steps": f"{v['beta_vae_steps']:,}",
    "span R(0.01)/R(10)": f"{v['rate_ratio']:.0f}", "median gap": f"{v['median_gap']:+.1%}",
    "worst gap": f"{v['worst_gap']:+.1%} at β = {v['worst_gap_beta']:.2g}",
    f"median gap, β ≤ {low_end:.2g}": f"{v['median_gap_low_betas']:+.1%}",
    f"median gap, β > {low_end:.2g}": f"{v['median_gap_high_betas']:+.1%}",
    "rate coverage at β = 0.01": f"{v['rate_coverage']:.2f}"} for name, v in variants.items()]).set_index("variant"))

# %% tags=["hide-input", "nbval-ignore-output"]
gap_fig, gap_axes = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
plot_gap_study(gap_axes, variants, target=gap_study["metrics"]["target_median_gap"])
legend_below(gap_fig, gap_axes[1], ncol=2)
glue_figure("gap_study", gap_fig)

# %% [markdown]
# ```{glue:figure} gap_study
# :name: fig-gap-study
#
# **Study: does the Figure 1 gap close?** Left: the MR-VAE's median and worst gap in
# $D + \beta R$ to the 10 constant-β β-VAEs, when both kinds train for the same number of Adam
# steps. The dotted line is the quick profile's 3% target for the median. Right: the gap at
# each β for those runs, for an MR-VAE trained twice as long as its β-VAEs, and for an MR-VAE
# trained on the authors' wider range [0.001, 10]. The setting is the quick profile's Figure 1
# panel (ResNet at 1/4 width, 8,000 binary-MNIST images). Lines are seed 0; the 1× run and the
# longer MR-VAE were also run with seeds 1 and 2: red points (left) are each seed's median, shaded
# bands (right) the range of the three seeds at each β. This is the committed run of
# `make gap-study`, not this build's.
# ```

# %% tags=["remove-input", "nbval-ignore-output"]
equal_runs = [v for v in variants.values() if v["group"] == "equal"]
for end, v in (("first", equal_runs[0]), ("last", equal_runs[-1])):
    glue_number(f"gap_equal_{end}_steps", v["mr_vae_steps"])
    glue_number(f"gap_equal_{end}_median", 100 * v["median_gap"])
glue("gap_equal_medians", ", ".join(f"{100 * v['median_gap']:+.1f}%" for v in equal_runs), display=False)
glue("gap_equal_steps", ", ".join(f"{v['mr_vae_steps']:,}" for v in equal_runs), display=False)
baseline = equal_runs[0]
glue_number("gap_baseline_low", 100 * baseline["median_gap_low_betas"])
glue_number("gap_baseline_high", 100 * baseline["median_gap_high_betas"])
glue_number("gap_baseline_coverage", baseline["rate_coverage"])
glue_number("gap_equal_median_min", min(100 * v["median_gap"] for v in equal_runs))
glue_number("gap_equal_median_max", max(100 * v["median_gap"] for v in equal_runs))
glue_number("gap_equal_low_min", min(100 * v["median_gap_low_betas"] for v in equal_runs))
glue_number("gap_equal_low_max", max(100 * v["median_gap_low_betas"] for v in equal_runs))
glue_number("gap_equal_high_min", min(100 * v["median_gap_high_betas"] for v in equal_runs))
glue_number("gap_equal_high_max", max(100 * v["median_gap_high_betas"] for v in equal_runs))
glue_number("gap_equal_coverage_min", min(v["rate_coverage"] for v in equal_runs))
glue_number("gap_equal_coverage_max", max(v["rate_coverage"] for v in equal_runs))
glue_number("gap_low_end", low_end)
glue_number("gap_equal_worst_beta_max", max(v["worst_gap_beta"] for v in equal_runs))
gate_runs = {k: v for k, v in variants.items() if v["group"] == "gate_lr"}
glue_number("gap_gate_lr_median_min", min(100 * v["median_gap"] for v in gate_runs.values()))
glue("gap_gate_lr_multipliers", ", ".join(name.split()[2].replace("x", "×") for name in gate_runs), display=False)
glue("gap_default_multiplier", f"×{DEFAULT_HYPER_LR_MULTIPLIER:g}", display=False)
glue_number("gap_gate_lr_steps", next(iter(gate_runs.values()))["mr_vae_steps"])
glue_number("gap_gate_lr_default", 100 * next(v for v in equal_runs if v["mr_vae_steps"] ==
                                               next(iter(gate_runs.values()))["mr_vae_steps"])["median_gap"])
wider = next(v for v in variants.values() if v["group"] == "wider_range")
glue_number("gap_wider_median", 100 * wider["median_gap"])
glue_number("gap_wider_low", 100 * wider["median_gap_low_betas"])
glue_number("gap_wider_high", 100 * wider["median_gap_high_betas"])
glue_number("gap_wider_coverage", wider["rate_coverage"])
longer = next(v for v in variants.values() if v["group"] == "mr_vae_longer")
glue_number("gap_longer_median", 100 * longer["median_gap"])
glue_number("gap_longer_worst", 100 * longer["worst_gap"])
glue_number("gap_longer_steps", longer["mr_vae_steps"])
glue_number("gap_longer_beta_steps", longer["beta_vae_steps"])
cpu_budget = load_figure_data("cpu_binary_mnist_resnet", directory=committed_figure_dir())["metrics"]
glue_number("gap_cpu_images", cpu_budget["budget"]["train_images"])
glue_number("gap_cpu_steps", cpu_budget["budget"]["steps"])
glue_number("gap_cpu_median", 100 * cpu_budget["response"]["median_gap"]["constant"])
glue_number("gap_longer_sweep_fraction", 100 * longer["mr_vae_steps"] / (10 * longer["beta_vae_steps"]))
seed_summaries = {k: SeedSummary.from_json(v) for k, v in gap_study["metrics"]["seeds"].items()}
longer_multiple = longer["mr_vae_steps"] // longer["beta_vae_steps"]
at_1x, longer_seeds = seed_summaries["median_gap_x1"], seed_summaries[f"median_gap_x{longer_multiple}_vs_x1"]
glue("gap_seeds", ", ".join(str(s) for s in at_1x.seeds), display=False)
glue_number("gap_seed_count", at_1x.n)
glue_number("gap_seed_median", 100 * at_1x.median)
glue_number("gap_seed_low", 100 * at_1x.low)
glue_number("gap_seed_high", 100 * at_1x.high)
glue_number("gap_seed_coverage", 100 * at_1x.coverage)
target = gap_study["metrics"]["target_median_gap"]
glue("gap_seed_verdicts", f"meets it with {sum(v <= target for v in at_1x.values)} of {at_1x.n} seeds", display=False)
glue_number("gap_longer_seed_median", 100 * longer_seeds.median)
glue_number("gap_longer_seed_low", 100 * longer_seeds.low)
glue_number("gap_longer_seed_high", 100 * longer_seeds.high)

# %% [markdown]
# **Reading the numbers.** *(From the committed run printed above.)*
#
# - **The gap moves from one run to another.** At 1× over seeds {glue:text}`gap_seeds` (seed 0 is
#   chapter 4's panel) the median gap is {glue:text}`gap_seed_median:+.1f`%, ranging from
#   {glue:text}`gap_seed_low:+.1f`% to {glue:text}`gap_seed_high:+.1f`% (the range of
#   {glue:text}`gap_seed_count:.0f` seeds covers the median of reruns with probability
#   {glue:text}`gap_seed_coverage:.0f`%). So the 3% target sits inside the run-to-run spread:
#   the MR-VAE {glue:text}`gap_seed_verdicts`.
# - **More training does not shrink the gap.** With both kinds at
#   {glue:text}`gap_equal_steps` steps, the median gap is {glue:text}`gap_equal_medians`
#   ({numref}`fig-gap-study`, left). Chapter 4's `cpu`
#   run, with the paper's full-width network on all {glue:text}`gap_cpu_images:,.0f` images for
#   {glue:text}`gap_cpu_steps:,.0f` steps, has {glue:text}`gap_cpu_median:+.1f`%.
# - **The gap is larger at the high-rate end.** At these budgets the median gap is
#   {glue:text}`gap_equal_low_min:+.1f`% to {glue:text}`gap_equal_low_max:+.1f`% over the five
#   β ≤ {glue:text}`gap_low_end:.2g`, and {glue:text}`gap_equal_high_min:+.1f`% to {glue:text}`gap_equal_high_max:+.1f`%
#   over the five larger β (single β of the larger half can still exceed the smaller half's
#   median). The worst gap is always at β ≤ {glue:text}`gap_equal_worst_beta_max:.2g`.
#   At β = 0.01 the MR-VAE's rate is {glue:text}`gap_equal_coverage_min:.2f`–{glue:text}`gap_equal_coverage_max:.2f`
#   of the β-VAE's: there the one network keeps less information than the β-VAE trained at
#   that β.
# - **The gates' learning rate is not the lever.** At {glue:text}`gap_gate_lr_steps:,.0f`
#   steps the multipliers {glue:text}`gap_gate_lr_multipliers` give a median gap of at least
#   {glue:text}`gap_gate_lr_median_min:+.1f`%, against {glue:text}`gap_gate_lr_default:+.1f`%
#   for the default, {glue:text}`gap_default_multiplier`.
# - **The authors' wider range moves the gap rather than closing it.** On [0.001, 10] the
#   MR-VAE's coverage at β = 0.01 rises from {glue:text}`gap_baseline_coverage:.2f` to
#   {glue:text}`gap_wider_coverage:.2f`, and the median gap over β ≤ {glue:text}`gap_low_end:.2g`
#   falls from {glue:text}`gap_baseline_low:+.1f`% to {glue:text}`gap_wider_low:+.1f`%. Over the
#   larger β it rises from {glue:text}`gap_baseline_high:+.1f`% to
#   {glue:text}`gap_wider_high:+.1f`%. Overall it is {glue:text}`gap_wider_median:+.1f`%,
#   against {glue:text}`gap_equal_first_median:+.1f`% on the paper's range.
# - **An MR-VAE trained twice as long.** Trained for {glue:text}`gap_longer_steps:,.0f` steps against
#   β-VAEs of {glue:text}`gap_longer_beta_steps:,.0f`, the MR-VAE's median gap is
#   {glue:text}`gap_longer_median:+.1f`% (worst {glue:text}`gap_longer_worst:+.1f`%) with seed 0, and
#   {glue:text}`gap_longer_seed_median:+.1f`% [{glue:text}`gap_longer_seed_low:+.1f`%,
#   {glue:text}`gap_longer_seed_high:+.1f`%] over the seeds. That is
#   {glue:text}`gap_longer_sweep_fraction:.0f`% of the steps of the 10-model sweep: the
#   scoreboard's *Train once* row.
#
# So at CPU budgets, one MR-VAE trails β-VAEs trained for the same number of steps by a few
# percent, mostly at small β. Nothing we varied removes this, and it does not shrink with training
# up to 4× the quick budget. The paper's Figure 1, after 200 epochs on a GPU, has the MR-VAE
# on or below the β-VAEs. We cannot test that budget here. Where the 3% target is missed, it
# comes with a shortfall at small β, not with gates that fail to learn.

