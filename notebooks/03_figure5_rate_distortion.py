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
# # Figures 5 and 1: rate–distortion curves of deep VAEs
#
# Section 5.2 claims that **one** MR-VAE training run gives a test rate–distortion curve as good
# as a sweep of 10 separately trained β-VAEs, for conv and ResNet VAEs on five image datasets.
# Figure 1 is the headline panel: a ResNet on binary MNIST, MR-VAE against β-VAEs trained with
# and without KL annealing {cite:p}`bowman2016generating`.
#
# **Set-up (all profiles).** The networks are the authors' (`mrvae.models.benchmark`), who take
# them from the pythae benchmark of {cite:t}`chadebec2022pythae`
# ([code](https://github.com/clementchadebec/benchmark_VAE)): at full width
# the plain β-VAEs have the parameter counts of the paper's Appendix Table 1 (printed below).
# The conv nets have a BatchNorm after every hidden conv, the ResNets none. The MR-VAE gates
# follow the authors' placement: after the BatchNorm (`Conv → BN → gate → ReLU`), on both convs
# of every residual block, and not on the μ/log σ² heads, the decoder's first linear layer or
# its output layer. The gate is a sigmoid in the encoder and $\sqrt{\mathrm{ReLU}(1-e^{x})}$ in
# the decoder (Eq. 7). Gates start open and β-independent, and train at 30× the learning rate of
# the other weights: the defaults that the *Learning the β response* chapter measured. The
# MR-VAE samples $\log\beta \sim U[\log 0.01, \log 10]$ per example. The baselines are 10
# β-VAEs at $\beta = $ `logspace(-2, 1, 10)`, once with a constant β and once with KL annealing
# (β rises linearly over the first 10% of training). Every model of a panel gets the same
# budget: epochs, batch size and Adam with a linear learning-rate warm-up, then cosine decay.
#
# **Likelihoods.** Binary MNIST (static, {cite:t}`larochelle2011neural`) and Omniglot
# {cite:p}`lake2015human` (28×28, dynamically re-binarised) use a Bernoulli decoder. CIFAR-10
# {cite:p}`krizhevsky2009learning`, SVHN {cite:p}`netzer2011reading` and CelebA {cite:p}`liu2015deep`
# use a Gaussian decoder with a
# fixed variance σ² = ½, so the distortion is the summed squared error over pixels in [0, 1], as
# in the authors' code.
#
# **What the quick profile changes.** It is sized for a 2-core CPU; the table below gives each
# panel's width, data and number of Adam steps. The 28×28 panels (binary MNIST, Omniglot) train
# every model for 1,000 steps (8,000 images, batch 64, 8 epochs, learning rate 3e-3) at 1/8
# (conv) and 1/4 (ResNet) of the paper's widths. The RGB panels cost 3–15× more per step, so
# they get 2,000 images (CelebA 1,000), 4 epochs and narrower networks: a pipeline check, not a
# test of the claim. These models are far from converged, so the figure tests the *comparison*
# under a small equal budget, not the paper's absolute numbers. SVHN has no offline copy; its
# panels say so instead of showing a curve. The `cpu` profile trains the paper's full-width
# 28×28 networks on the full training sets, and the `paper` profile (a GPU) everything at the
# paper's size for 200 epochs.

# %% tags=["parameters"]
profile = "quick"  # "quick" (CPU, a few minutes) or "paper" (full size; a GPU, many hours)
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import torch

from mrvae.book.experiments import (
    PAPER_BETA_RANGE,
    evaluate_panel,
    image_profile,
    likelihood_for,
    train_image_experiments,
)
from mrvae.book.figures import (
    REPO_ROOT,
    load_figure_data,
    mark_not_run,
    plot_rate_distortion,
    provenance,
    save_figure,
)
from mrvae.book.runtime import Stopwatch, pick_device, run_directory, seed_everything
from mrvae.hyper.convert import count_parameters
from mrvae.models.benchmark import SUPPORTED_SHAPES, ArchitectureConfig, build_mr_vae, build_vae
from mrvae.training.timing import overhead_ratio

settings = image_profile(profile)
seed_everything(seed)
device = pick_device()
KINDS = ("conv", "resnet")
runs = run_directory(profile, "images")
clock = Stopwatch().__enter__()
plt.rcParams.update({"figure.dpi": 90, "axes.grid": True, "grid.alpha": 0.3})
print(f"profile {profile}")

# %% [markdown]
# ## Training
#
# Each (dataset, architecture) pair trains 21 models: one MR-VAE and two sweeps of 10 β-VAEs.
# Models are cached under `runs/`, keyed by the package's source, so the Figure 6, 7 and
# Section 5.3 notebooks reuse them rather than train again.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
panels, not_run = train_image_experiments(settings, KINDS, seed=seed, run_dir=runs, device=device)

# %% tags=["hide-input"]
print(f"{'panel':<26} {'width':>7} {'train':>6} {'test':>5} {'batch':>5} {'epochs':>6} {'steps':>6} {'lr':>7}")
budgets = {}
for (dataset, kind), panel in panels.items():
    exp, n_train = panel.experiment, panel.data.train.shape[0]
    budgets[exp.tag] = {"width": exp.width, "train_images": n_train, "test_images": panel.data.test.shape[0],
                        "batch_size": exp.batch_size, "epochs": exp.epochs, "steps": exp.steps(n_train), "lr": exp.lr}
    b = budgets[exp.tag]
    print(f"{exp.tag:<26} {exp.width:>7.4g} {n_train:>6} {b['test_images']:>5} {exp.batch_size:>5} {exp.epochs:>6} "
          f"{b['steps']:>6} {exp.lr:>7.0e}")

# %% [markdown]
# ## Test-set rate–distortion, and the per-β comparison
#
# For each β of the sweep the table gives the test rate R and distortion D (nats per image, one
# posterior sample) of the MR-VAE evaluated at β and of the β-VAE trained at β, and the relative
# gap in $D + \beta R$: $(L_{\text{MR}} - L_{\beta\text{-VAE}}) / |L_{\beta\text{-VAE}}|$. A
# negative gap means the MR-VAE is better.

# %% tags=["nbval-ignore-output", "hide-input"]
results: dict[tuple[str, str], dict] = {}
for key, panel in panels.items():
    results[key] = {"experiment": panel.experiment, "data": panel.data,
                    **evaluate_panel(panel.mr_vae, panel.constant, panel.annealed, panel.data.test, seed=seed)}
    entry = results[key]
    print(f"\n{panel.experiment.tag}  (gap: MR-VAE vs β-VAE trained at β)")
    print(f"{'beta':>6} | {'MR R':>7} {'MR D':>8} | {'const R':>7} {'const D':>8} {'gap':>7} | "
          f"{'anneal R':>8} {'anneal D':>8} {'gap':>7}")
    for c, a in zip(entry["rows_constant"], entry["rows_annealed"]):
        print(f"{c['beta']:>6.3f} | {c['mr_rate']:>7.2f} {c['mr_distortion']:>8.2f} | {c['rate']:>7.2f} "
              f"{c['distortion']:>8.2f} {c['gap']:>+7.1%} | {a['rate']:>8.2f} {a['distortion']:>8.2f} {a['gap']:>+7.1%}")

# %% [markdown]
# ## Did the MR-VAE learn its β response?
#
# Per panel: the rate span $R(a)/R(b)$ of the MR-VAE over its 20-point grid, whether its rate
# falls monotonically with β (within 1%), and the median and worst relative gap in $D + \beta R$
# to the β-VAE trained at each of the 10 β, per schedule. The values are rounded to what holds
# from run to run; the figure JSON keeps them unrounded under `metrics.response`.

# %% tags=["hide-input"]
response = {}
print(f"{'panel':<26} {'R(a)/R(b)':>9} {'monotone':>8} | {'median gap: const':>17} {'anneal':>7} | "
      f"{'worst: const':>12} {'anneal':>7} | β-VAEs monotone")
for (dataset, kind), entry in sorted(results.items(), key=lambda item: item[0]):
    metrics_ = response[entry["experiment"].tag] = entry["response"]
    med, worst, sweeps = metrics_["median_gap"], metrics_["worst_gap"], metrics_["beta_vae_monotone"]
    print(f"{entry['experiment'].tag:<26} {metrics_['rate_ratio']:>9.0f} {str(metrics_['monotone']):>8} | "
          f"{med['constant']:>+17.0%} {med['annealed']:>+7.0%} | {worst['constant']:>+12.0%} {worst['annealed']:>+7.0%} | "
          f"{sweeps['constant']}/{sweeps['annealed']}")

# %% [markdown]
# The targets this book sets for the quick profile (issue 8 of the project): on the Figure 1
# panel a rate span of at least 10, a monotone rate, and a median gap to the constant-β β-VAEs
# of at most 3%; on every other 28×28 panel a rate span of at least 5.

# %% tags=["hide-input", "remove-output"]
headline_tag = panels[settings.headline].experiment.tag
targets = {headline_tag: {"rate_ratio": 10.0, "median_gap_constant": 0.03, "monotone": True}}
for (dataset, kind), panel in panels.items():
    if panel.experiment.tag != headline_tag and panel.experiment.architecture().data_shape == (1, 28, 28):
        targets[panel.experiment.tag] = {"rate_ratio": 5.0}
target_met = {}
for tag, target in targets.items():
    got = response[tag]
    checks = [got["rate_ratio"] >= target["rate_ratio"]]
    if "median_gap_constant" in target:
        checks += [got["median_gap"]["constant"] <= target["median_gap_constant"], got["monotone"]]
    target_met[tag] = all(checks)
    print(f"{tag:<26} target {target}: {'met' if target_met[tag] else 'NOT met'}")

# %% tags=["hide-input"]
datasets = list(settings.datasets)
fig, axes = plt.subplots(len(KINDS), len(datasets), figsize=(3.6 * len(datasets), 3.3 * len(KINDS)), squeeze=False)
for col, dataset in enumerate(datasets):
    for row, kind in enumerate(KINDS):
        ax = axes[row, col]
        title = f"{dataset}, {kind}"
        if dataset in not_run:
            mark_not_run(ax, title, f"not run in this build:\n{dataset} files are not available offline")
            continue
        entry = results[(dataset, kind)]
        plot_rate_distortion(ax, entry["curve"], entry["rows_constant"], entry["rows_annealed"], title=title)
axes[0, 0].legend(fontsize=8)
fig.suptitle(f"Figure 5 ({profile} profile): test rate–distortion, MR-VAE (β ∈ [0.01, 10]) vs 10 β-VAEs per schedule",
             y=1.0)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Figure 1: ResNet on binary MNIST

# %% tags=["hide-input"]
headline = results[("binary_mnist", "resnet")]
fig1, ax = plt.subplots(figsize=(6, 4.5))
plot_rate_distortion(ax, headline["curve"], headline["rows_constant"], headline["rows_annealed"],
                     title=f"Figure 1 ({profile} profile): ResNet VAE, binary MNIST")
for point in headline["curve"][::4]:
    ax.annotate(f"β={point['beta']:.2g}", (point["rate"], point["distortion"]), fontsize=7,
                textcoords="offset points", xytext=(4, 4))
ax.legend()
fig1.tight_layout()
plt.show()

# %% [markdown]
# ## Figure 1 at the paper's width: the `cpu` profile
#
# The quick panel above is 1/4 of the paper's width on 8,000 images, trained in CI. The
# `cpu` profile trains the same panel with the paper's full-width ResNet on all 50,000
# training images; at about an hour on 2 CPU cores it is too long for CI, so it ran once,
# and its figure data are committed (`figures/cpu_binary_mnist_resnet.json`, with the
# commit, machine, date and wall time of the run). The cell below re-plots those data beside
# the quick panel and compares its best test ELBO with the paper's Table 2, where both
# models trained for 200 epochs. Rerun it with `make cpu-profile PANEL="binary_mnist resnet"`.

# %% tags=["hide-input"]
CPU_RUN = "cpu_binary_mnist_resnet"
try:
    cpu_run = load_figure_data(CPU_RUN, directory=REPO_ROOT / "figures")
except FileNotFoundError:
    cpu_run = None
    print(f"figures/{CPU_RUN}.json is missing: run `make cpu-profile PANEL=\"binary_mnist resnet\"`")
if cpu_run is not None:
    ran, budget = cpu_run["provenance"], cpu_run["metrics"]["budget"]
    cpu_response, elbo = cpu_run["metrics"]["response"], cpu_run["metrics"]["best_test_elbo"]
    print(f"ran {ran['finished_utc']} on {ran['machine']}, commit {ran['git_commit'][:10]}, "
          f"{ran['wall_seconds'] / 60:.0f} min; command: {ran['command']}")
    print(f"full-width ResNet, binary MNIST: {budget['train_images']:,} training images, {budget['epochs']} epochs = "
          f"{budget['steps']:,} Adam steps per model")
    print(f"R(a)/R(b) {cpu_response['rate_ratio']:.0f}, monotone {cpu_response['monotone']}, median gap "
          f"{cpu_response['median_gap']['constant']:+.1%} (constant β) {cpu_response['median_gap']['annealed']:+.1%} "
          f"(annealed), worst {cpu_response['worst_gap']['constant']:+.1%} / {cpu_response['worst_gap']['annealed']:+.1%}")
    best_beta_vae = min(elbo["ours"]["constant"], elbo["ours"]["annealed"])
    print(f"best test -ELBO (nats): MR-VAE {elbo['ours']['mr_vae']:.1f} (Table 2: {elbo['table2']['mr_vae']}), "
          f"β-VAEs {best_beta_vae:.1f} (Table 2: {elbo['table2']['beta_vae']})")

# %% tags=["hide-input"]
if cpu_run is not None:
    fig_cpu, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    plot_rate_distortion(axes[0], headline["curve"], headline["rows_constant"], headline["rows_annealed"],
                         title=f"{profile} profile (this build)")
    plot_rate_distortion(axes[1], cpu_run["data"]["curve"], cpu_run["data"]["per_beta_constant"],
                         cpu_run["data"]["per_beta_annealed"],
                         title=f"cpu profile (ran {cpu_run['provenance']['finished_utc'][:10]})")
    axes[1].legend()
    fig_cpu.tight_layout()
    plt.show()

# %% [markdown]
# ## Overhead of the MR-VAE
#
# Parameters are counted exactly, at the paper's full width, for every architecture. The time
# of one training step (forward, backward, Adam; batch 128) is measured on this machine for the
# networks this profile trains, MR-VAE over β-VAE. The paper reports at most 5% for both.

# %% tags=["hide-input"]
beta_range = PAPER_BETA_RANGE
#: Appendix Table 1 (its powers of ten corrected): plain β-VAE and MR-VAE parameters.
TABLE_1 = {("conv", 28): ("17.53M", "17.88M"), ("conv", 32): ("40.46M", "40.81M"), ("conv", 64): ("34.59M", "34.96M"),
           ("resnet", 28): ("1.881M", "1.884M"), ("resnet", 32): ("7.896M", "7.898M"),
           ("resnet", 64): ("2.770M", "2.774M")}
parameters = {}
print(f"{'architecture':<20} {'β-VAE':>11} {'Table 1':>8} | {'MR-VAE':>11} {'Table 1':>8} | {'ratio':>7} {'Table 1':>7}")
for kind in KINDS:
    for shape in SUPPORTED_SHAPES:
        config = ArchitectureConfig(kind, shape)
        with torch.device("meta"):
            plain = count_parameters(build_vae(config))["total"]
            gated = count_parameters(build_mr_vae(config, None, beta_range))["total"]
        name = f"{kind} {shape[1]}×{shape[2]}×{shape[0]}"
        paper_plain, paper_gated = TABLE_1[(kind, shape[1])]
        paper_ratio = float(paper_gated[:-1]) / float(paper_plain[:-1])
        parameters[name] = {"plain": plain, "mr_vae": gated, "ratio": gated / plain,
                            "table1_plain": paper_plain, "table1_mr_vae": paper_gated, "table1_ratio": paper_ratio}
        print(f"{name:<20} {plain:>11,} {paper_plain:>8} | {gated:>11,} {paper_gated:>8} | {gated / plain:>7.4f} "
              f"{paper_ratio:>7.4f}")
parameter_ratios = {name: p["ratio"] for name, p in parameters.items()}

# %% tags=["nbval-ignore-output", "hide-input"]
step_time_ratios = {}
for (dataset, kind), entry in results.items():
    if dataset not in ("binary_mnist", "cifar10", "celeba64"):
        continue  # one per data shape
    architecture = entry["experiment"].architecture()
    likelihood = likelihood_for(dataset)
    torch.manual_seed(seed)
    mr, plain = build_mr_vae(architecture, likelihood, beta_range).to(device), build_vae(architecture, likelihood).to(device)
    batch = entry["data"].train[:128].to(device)
    step_time_ratios[entry["experiment"].tag] = overhead_ratio(mr, plain, batch, (beta_range.low, beta_range.high),
                                                               steps=10)
    print(f"{entry['experiment'].tag:<26} time per step, MR-VAE / β-VAE: {step_time_ratios[entry['experiment'].tag]:.3f}")

# %% [markdown]
# **Reading the numbers.** *(This refers to the quick-profile run the book is built from; the
# checked outputs above hold the numbers.)*
#
# - **The MR-VAE learns its β response on every 28×28 panel.** One network's rate falls with β
#   by 16× to 89× between β = 0.01 and β = 10, monotonically, and its points lie along the
#   β-VAEs' curves (Figure 1). With the previous gates and budget (64 steps, gates that could
#   hardly move) the rate moved by less than a nat.
# - **Figure 1's panel meets two of its three targets.** Its rate span (18) and monotone rate
#   meet them; its median gap to the constant-β β-VAEs, printed as +4%, is 3.8%, above
#   the 3% target. The gap sits at small β: at β = 0.01 the MR-VAE uses about 82 nats of rate
#   where the β-VAE trained at that β uses about 132 (per-β table above), so one shared network
#   at 1/4 of the paper's width does not reach the high-rate end within 1,000 steps.
# - **The `cpu` profile does not close that gap at its budget.** With the paper's full-width
#   ResNet on all 50,000 images for 1,564 steps per model (run once, committed, printed above
#   with its provenance), the MR-VAE's rate again falls monotonically with β, by about 20×
#   (from 94 to 4.8 nats in its JSON), but its median gap to the constant-β β-VAEs is +5.0% (+4.7% to the
#   annealed ones), again largest at small β (worst +11%). Its best test negative ELBO is
#   97.6 nats against the β-VAEs' 95.5; the paper's Table 2, after 200 epochs, has 87.89 for
#   the MR-VAE and 89.63 for the β-VAEs. Four epochs are 2% of the paper's training, so these
#   numbers say how far a short run gets (about 6–10 nats short of Table 2), not whether the
#   MR-VAE ends up ahead, as the paper reports.
# - **The other 28×28 panels** meet their rate-span target of 5 by far (16× to 89×). Their
#   median gaps are +5% to +9%, largest for the conv nets at 1/8 width, and again largest at
#   small β. At β ≥ 1 the ResNets and the Omniglot conv net are within about 3% of the β-VAEs
#   and sometimes better; the binary-MNIST conv net stays 3–7% worse there too.
# - **The β-VAE sweeps of the 28×28 panels are monotone in rate** (last column), so at this
#   budget they trace a proper curve to compare against.
# - **The RGB panels** get 64–128 steps per model at 1/16–1/8 width, too few for either method:
#   several β-VAE sweeps are not monotone and the CelebA ResNet has collapsed at every β. They
#   check the pipeline and do not test the claim.
# - **Parameters.** Our plain networks match Table 1 to four digits except the 64×64 ResNet
#   (2,770,819, which prints as 2.771M against the table's 2.770M: the authors' gated network
#   without its gates has exactly our count, and their stored plain file does not run). Our
#   MR-VAE ResNets match Table 1's MR-VAE column. Table 1's conv MR-VAEs are about 0.35M
#   larger than per-channel gates allow. They match a gate computed by a small MLP
#   (1 → 128 → channels), an option of the authors' older code; Eq. 6 and their final code use
#   one weight and one bias per channel, as we do. So our conv overheads are 0.01–0.03%, where
#   the table says 0.9–2%.
# - **Time per step.** The ratios above are measured on this CPU for the narrow networks the
#   profile trains. The gates add two elementwise operations per gated layer, which weigh more
#   on narrow layers than in the paper's GPU setting.

# %% tags=["nbval-ignore-output", "hide-input", "remove-output"]
clock.__exit__()
panel_data = {
    entry["experiment"].tag: {
        "source": entry["data"].source,
        "mrvae_curve": {"beta": [p["beta"] for p in entry["curve"]], "rate": [p["rate"] for p in entry["curve"]],
                        "distortion": [p["distortion"] for p in entry["curve"]]},
        "per_beta_constant": entry["rows_constant"], "per_beta_annealed": entry["rows_annealed"],
    }
    for entry in results.values()
}
run_config = {"profile": profile, "settings": settings.describe(), "budgets": budgets,
              "betas": PAPER_BETA_RANGE.grid(10).tolist(),
              "beta_range": [PAPER_BETA_RANGE.low, PAPER_BETA_RANGE.high]}
metrics = {"response": response, "targets": {"targets": targets, "met": target_met}, "not_run": not_run,
           "parameters": parameters,
           "overhead": {"parameter_ratio_full_width": parameter_ratios, "step_time_ratio": step_time_ratios}}
path5 = save_figure(fig, "figure5_rate_distortion", figure="Figure 5", notebook="03_figure5_rate_distortion",
                    profile=profile, data=panel_data, metrics=metrics,
                    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds),
                    notes="Panels of datasets listed in metrics.not_run were not run (files unavailable).")
path1 = save_figure(fig1, "figure1_resnet_binary_mnist", figure="Figure 1", notebook="03_figure5_rate_distortion",
                    profile=profile, data=panel_data[headline["experiment"].tag],
                    metrics={"response": response[headline_tag], "target_met": target_met[headline_tag]},
                    provenance=provenance(seed=seed, config=run_config, device=device, wall_seconds=clock.seconds))
print(f"wrote {path5.name} and {path1.name}; wall time {clock.seconds:.1f} s")
