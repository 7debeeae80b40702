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
# # What an MR-VAE costs: parameters and time per step
#
# The paper's practical promise is the whole rate–distortion curve for the price of one
# training run. Appendix C of {cite:t}`bae2023multirate` puts a number on "the price": an
# MR-VAE has at most 5% more parameters than the β-VAE it is built from, and takes at most 5%
# more wall-clock time.
#
# Parameters are easy to count: each gate adds two per unit or channel (Eq. 6). Time is where
# an implementation can lose the claim. A gate is a per-example, per-channel scale of a feature
# map, so its arithmetic is negligible next to the convolution before it, but every pass over a
# full-size feature map costs memory bandwidth, and on a CPU every fresh full-size tensor costs
# page faults as well. Our gates therefore
#
# - compute the values of all gates of a kind in one batched expression per forward pass;
# - fuse with the ReLU after them, in place (`relu(x·g) = relu(x)·g` because `g ≥ 0`), so a gate
#   keeps no extra feature map for backward;
# - sum `grad · x` to the gate's gradient, on a CPU, in one pass with no full-size temporary
#   (batch norm's backward in inference mode computes exactly these sums when each example's
#   channels are seen as channels of their own);
# - add a residual block's skip connection in the same pass as its last gate;
#
# and every trainer uses PyTorch's fused Adam {cite:p}`kingma2015adam`, because its default
# Adam on a CPU loops over the parameters in Python, once per tensor, and an MR-VAE adds many
# small gate tensors.
#
# `scripts/benchmark_overhead.py` times one Adam step (forward, backward, update) of each
# network as a β-VAE and as an MR-VAE with one β per example, alternating the two on the same
# batch, and takes the median over the pairs of steps. A full run is too long to repeat at every build, so it ran once and
# its output is committed as `figures/overhead.json` (rerun: `make benchmark-overhead`). This
# page reads that file; the first table below says where and when it ran. The last section
# shows the same measurement on a VAE of your own.

# %% [markdown]
# ## What this chapter finds
#
# *(The committed benchmark run: {glue:text}`threads:.0f` CPU threads, batch
# {glue:text}`batch_size:.0f`, one run. The numbers are from the tables below.)*
#
# - **Parameters.** The largest parameter overhead of a full-width network is
#   {glue:text}`param_extra_max_full:.2f`%, and the linear VAE's, whose every layer is gated,
#   {glue:text}`linear_param_extra:.1f`%, against Appendix C's {glue:text}`goal_percent:.0f`%.
# - **Time.** At the paper's widths the conv nets' step-time ratios are
#   {glue:text}`conv_full_ratio_min:.2f` to {glue:text}`conv_full_ratio_max:.2f` and the
#   ResNets' {glue:text}`resnet_full_ratio_min:.2f` to {glue:text}`resnet_full_ratio_max:.2f`,
#   against Appendix C's {glue:text}`goal:.2f`: {glue:text}`full_over_goal_count:.0f` of the
#   {glue:text}`full_count:.0f` full-width networks are over it.
#   {glue:text}`full_undecided_sentence` The largest ratio of all is the
#   {glue:text}`largest_ratio_name`'s, {glue:text}`largest_ratio:.2f`.
# - **The training loop** costs {glue:text}`loop_ratio_min:.2f` to
#   {glue:text}`loop_ratio_max:.2f` times the step time of a hand-written loop.

# %% tags=["parameters"]
profile = "quick"  # unused: this page reads committed measurements
seed = 0

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from myst_nb import glue

from mrvae_companion.figures import committed_figure_dir, glue_figure, load_figure_data, short_commit, use_book_style
from mrvae_companion.prose import glue_number

FIGURES = committed_figure_dir()
record = load_figure_data("overhead", directory=FIGURES)
metrics, ran = record["metrics"], record["provenance"]
networks = {name: m for name, m in metrics.items() if name not in ("loop", "summary")}
device = "gpu" if any("gpu_step_time_ratio" in m for m in networks.values()) else "cpu"
use_book_style()
# Where and when the committed run ran, one field a row (the machine string is long).
display(pd.DataFrame({"benchmark run": {
    "finished (UTC)": ran["finished_utc"],
    "machine": ran["machine"],
    "commit": short_commit(ran["git_commit"]),
    "wall time": f"{ran['wall_seconds'] / 60:.0f} min",
    "command": ran["command"],
}}))

# %% [markdown]
# **The overhead table.** One training step, MR-VAE over β-VAE, batch of 128. *Full*: the
# paper's networks (Appendix Table 1's parameter counts). *Quick*: the narrower networks of
# the book's quick profile. *Linear*: Figure 4's linear VAE (784 → 32). *Chen MLP*: Figure 8's
# MLP VAE for dSprites {cite:p}`chen2018isolating`. The ratio is the median over *pairs* of
# adjacent steps; the 95% interval for that median comes from the order statistics of the
# pairs (`mrvae.training.timing.median_interval`), and short steps, which vary most, get more
# pairs.

# %% tags=["hide-input"]
def interval(m: dict) -> list[float] | None:
    """The 95% interval of a network's median ratio; None in files written before it was recorded."""
    return m.get(f"{device}_step_time_ratio_interval")


def interval_text(m: dict) -> str:
    bounds = interval(m)
    return "not recorded" if bounds is None else f"{bounds[0]:.3f}–{bounds[1]:.3f}"


display(pd.DataFrame([
    {"network": name, "β-VAE parameters": f"{m['parameters']:,}",
     "parameter ratio": f"{m['param_ratio']:.4f}",
     "β-VAE ms/step": f"{m[f'{device}_seconds_per_step']['beta_vae'] * 1e3:.1f}",
     "MR-VAE ms/step": f"{m[f'{device}_seconds_per_step']['mr_vae'] * 1e3:.1f}",
     "step-time ratio": f"{m[f'{device}_step_time_ratio']:.3f}",
     "95% interval": interval_text(m), "pairs": m.get("pairs", m["steps"] * record["data"]["repeats"])}
    for name, m in networks.items()
]).set_index("network"))

# %% tags=["hide-input", "nbval-ignore-output"]
# Drawn here from the committed JSON at the book's column width; the script's own PNG stays
# beside it in figures/.
names = list(networks)
ratios = [networks[n][f"{device}_step_time_ratio"] for n in names]
kinds = {"paper's width": "C3", "quick profile's width": "C0", "linear and MLP VAEs": "C2"}
colours = [kinds["paper's width"] if n.endswith("-full") else kinds["quick profile's width"]
           if n.endswith("-quick") else kinds["linear and MLP VAEs"] for n in names]
goal = metrics["summary"]["goal"]
fig, ax = plt.subplots(figsize=(7.2, 3.0), dpi=150)
ax.bar(range(len(names)), [r - 1 for r in ratios], bottom=1.0, color=colours)  # from 1: no cost
bounds = [interval(networks[n]) or [r, r] for n, r in zip(names, ratios, strict=True)]
ax.errorbar(range(len(names)), ratios, yerr=[[r - lo for r, (lo, _) in zip(ratios, bounds, strict=True)],
                                             [hi - r for r, (_, hi) in zip(ratios, bounds, strict=True)]],
            fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
ax.axhline(1.0, color="black", lw=0.8)
ax.axhline(goal, color="C3", ls="--", lw=1)
ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
ax.set_ylabel("MR-VAE / β-VAE time per step")
ax.set_ylim(0.8, max(1.3, max(hi for _, hi in bounds) + 0.05))  # whiskers included
ax.legend([*(Patch(color=c) for c in kinds.values()), Line2D([], [], color="C3", ls="--", lw=1)],
          [*kinds, f"Appendix C: ≤ {goal:g}"], loc="upper left")
fig.tight_layout()
glue_figure("overhead", fig)

# %% [markdown]
# ```{glue:figure} overhead
# :name: fig-overhead
#
# **The paper's Appendix C: overhead.** Time of one Adam step (forward, backward, update) of an MR-VAE
# with one β per example over that of the same network as a β-VAE, from the table above; the
# dashed line is Appendix C's bound; bars start at 1 (no cost); whiskers: the 95% interval
# of the median over the timed pairs. Measured once by
# `scripts/benchmark_overhead.py` (batch 128, median over pairs of steps) on the machine in the first
# table; the GPU section below says whether a GPU run is committed.
# ```
#
# The verdict below is computed from the committed file, which holds one run: a ratio a
# little under 1 means no measurable cost, not a speed-up. The intervals say how far the run's
# medians can move from chance alone, taking the pairs as independent. They leave out drift
# within a run (neighbouring pairs share the machine's state) and changes of its load or clock
# between runs, so they are, if anything, too narrow.

# %% tags=["hide-input"]
summary = record["metrics"]["summary"]
full = {name: m for name, m in networks.items() if name.endswith("-full")}
worst_name = max(full, key=lambda name: full[name][f"{device}_step_time_ratio"])
print(f"full-width conv and ResNet networks: worst step-time ratio "
      f"{summary['worst_full_width']:.3f} ({worst_name})")
print(f"Appendix C's goal ≤ {summary['goal']}: "
      f"{'met' if summary['goal_met_full_width'] else 'not met'}")
print(f"largest parameter ratio of a full-width network: "
      f"{max(m['param_ratio'] for m in full.values()):.4f}")
over = {name: m[f"{device}_step_time_ratio"] for name, m in full.items()
        if m[f"{device}_step_time_ratio"] > summary["goal"]}
print("full-width networks over the goal: "
      + (", ".join(f"{n} ({r:.3f})" for n, r in over.items()) or "none"))
undecided = [name for name, m in full.items() if interval(m) and interval(m)[0] <= summary["goal"] <= interval(m)[1]]
print("full-width networks whose 95% interval contains the goal: "
      + (", ".join(f"{n} ({interval_text(full[n])})" for n in undecided) or "none"))
for name in ("linear", "chen_mlp"):
    if name in networks:
        print(f"{name}: parameter ratio {networks[name]['param_ratio']:.3f}, "
              f"step-time ratio {networks[name][f'{device}_step_time_ratio']:.2f}")

# %% tags=["remove-input", "nbval-ignore-output"]
# The numbers the prose quotes, glued from the committed file (myst-nb) so none is typed by hand.

def step_ratio(m: dict) -> float:
    return m[f"{device}_step_time_ratio"]


def spread(values: list[float], name: str) -> None:
    glue_number(f"{name}_min", min(values))
    glue_number(f"{name}_max", max(values))


conv_full = [m for n, m in full.items() if n.startswith("conv")]
resnet_full = [m for n, m in full.items() if n.startswith("resnet")]
glue_number("threads", record["provenance"]["config"]["threads"])
glue_number("batch_size", record["data"]["batch_size"])
glue_number("goal", summary["goal"])
glue_number("goal_percent", 100 * (summary["goal"] - 1))
largest = max(networks, key=lambda n: step_ratio(networks[n]))
glue("largest_ratio_name", {"linear": "linear VAE", "chen_mlp": "Chen MLP"}.get(largest, largest),
     display=False)
glue_number("largest_ratio", step_ratio(networks[largest]))
glue_number("param_extra_max_full", 100 * (max(m["param_ratio"] for m in full.values()) - 1))
spread([step_ratio(m) for m in conv_full], "conv_full_ratio")
spread([step_ratio(m) for m in resnet_full], "resnet_full_ratio")
spread([m["parameters"] / 1e6 for m in conv_full], "conv_full_millions")
spread([m["parameters"] / 1e6 for m in resnet_full], "resnet_full_millions")
glue_number("full_over_goal_count", len(over))
glue_number("full_count", len(full))
glue("full_over_goal_names", ", ".join(over) or "none", display=False)
if not any(interval(m) for m in full.values()):
    undecided_sentence = "This file records no interval for the ratios."
elif undecided:
    undecided_sentence = (f"For {len(undecided)} of them ({', '.join(undecided)}) the goal lies inside the 95% "
                          "interval of the median ratio, so this run cannot tell on which side of it they are.")
else:
    undecided_sentence = "For none of them does the goal lie inside the 95% interval of the median ratio."
glue("full_undecided_sentence", undecided_sentence, display=False)
glue("worst_full_name", worst_name, display=False)
glue_number("worst_full_ratio", summary["worst_full_width"])
if "linear" in networks:
    linear = networks["linear"]
    linear_ms = {k: 1e3 * v for k, v in linear[f"{device}_seconds_per_step"].items()}
    glue_number("linear_param_extra", 100 * (linear["param_ratio"] - 1))
    glue_number("linear_time_ratio", step_ratio(linear))
    glue_number("linear_beta_vae_ms", linear_ms["beta_vae"])
    glue_number("linear_extra_ms", linear_ms["mr_vae"] - linear_ms["beta_vae"])
quick = [m for n, m in networks.items() if n.endswith("-quick")]
pairs = [(m, networks[n[: -len("-full")] + "-quick"]) for n, m in full.items()
         if n[: -len("-full")] + "-quick" in networks]
glue_number("quick_higher_count", sum(step_ratio(q) > step_ratio(f) for f, q in pairs))
glue_number("pair_count", len(pairs))
spread([step_ratio(m) for m in quick], "quick_ratio")
spread([1e3 * m[f"{device}_seconds_per_step"]["beta_vae"] for m in quick], "quick_ms")
spread([loop["step_time_ratio"] for loop in metrics["loop"]], "loop_ratio")

# %% [markdown]
# Full-width networks over the goal ({numref}`fig-overhead`, red bars):
# {glue:text}`full_over_goal_names`. The worst is {glue:text}`worst_full_name` at
# {glue:text}`worst_full_ratio:.3f`. The ResNets'
# convolutions are cheap ({glue:text}`resnet_full_millions_min:.1f`M to
# {glue:text}`resnet_full_millions_max:.1f`M parameters at full width, against
# {glue:text}`conv_full_millions_min:.0f`M to {glue:text}`conv_full_millions_max:.0f`M for the
# conv nets) next to the feature maps the gates scale, and a ResNet has a gate on every
# convolution of its residual blocks. Over its ReLU, a gate costs one more pass over the map
# forward (the scale) and, backward, one more pass (the scaled gradient) and, on a CPU, one
# read (the sums for its own gradient). The conv nets' large convolutions hide the same passes.
# On the ResNets these passes, and the Python around each gate, are a few per cent of a step:
# about the size of the step-to-step variation, which is why the intervals matter here.
#
# The narrower networks of the quick profile take {glue:text}`quick_ms_min:.0f` to
# {glue:text}`quick_ms_max:.0f` ms per β-VAE step, and their ratios are
# {glue:text}`quick_ratio_min:.2f` to {glue:text}`quick_ratio_max:.2f`; at
# {glue:text}`quick_higher_count:.0f` of the {glue:text}`pair_count:.0f` architectures the
# narrow network's ratio is above the full-width one's. The fixed cost of the gates, a few small
# kernels and the Python around them, is a larger share of a shorter step. The linear VAE,
# whose every layer is gated (Theorem 1 needs that) and whose step is a few small matrix
# products, has a ratio of {glue:text}`linear_time_ratio:.2f`: its MR-VAE step takes
# {glue:text}`linear_extra_ms:.1f` ms more than its β-VAE's {glue:text}`linear_beta_vae_ms:.1f` ms.
#
# ## The training loop
#
# The same script measures `mrvae.train` against the plainest loop that trains the same MR-VAE
# on the same in-memory batches (`torch.optim.Adam`, forward, backward, step). Everything the
# loop adds, such as the learning-rate schedule, the non-finite check, running totals and
# checkpoints, should cost little per step. On an accelerator the loop reads nothing back
# to the host on most steps: it checks the loss for NaN every 50 steps, and until then a bad
# step and all after it are skipped on the device, so the parameters stay those from before it.

# %% tags=["hide-input"]
display(pd.DataFrame([
    {"network": loop["network"], "batch": loop["batch_size"],
     "steps per epoch": loop["steps_per_epoch"],
     "mrvae.train / hand-written loop, per step": f"{loop['step_time_ratio']:.2f}"}
    for loop in metrics["loop"]
]).set_index("network"))

# %% [markdown]
# ## On a GPU
#
# `make benchmark-overhead DEVICE=cuda` writes `gpu_step_time_ratio` entries instead, on a
# machine with one; `book/reproducing.md` says which run times are measured and which are
# projected.

# %% tags=["hide-input"]
if device == "gpu":
    print(f"measured on a GPU: {ran['device']}")
else:
    print(f"measured on a CPU ({ran['device']}); no GPU measurement is committed yet")

# %% [markdown]
# ## The same measurement on your own VAE
#
# The script uses the package's public pieces, and the same few calls measure any VAE. Write
# it as for a β-VAE: a subclass of `mrvae.VAE` with `encode` and `decode` (here a small MLP
# for flattened 28×28 binary images). `mrvae.convert` puts the gates on a second copy, and
# `mrvae.count_parameters` says how many parameters they add.

# %%
import torch
from torch import nn

import mrvae


class MyVAE(mrvae.VAE):
    """An MLP VAE for flattened 28×28 binary images, written as for a β-VAE."""

    def __init__(self, hidden: int = 512, latent: int = 32) -> None:
        super().__init__(mrvae.Likelihood("bernoulli"))
        self.encoder = nn.Sequential(
            nn.Linear(784, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * latent))  # the μ and log σ² head
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 784))  # Bernoulli logits

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z):
        return self.decoder(z)


torch.manual_seed(0)
beta_vae = MyVAE()
mr_vae = mrvae.convert(MyVAE(), mrvae.BetaRange(0.01, 10.0))
plain_total = mrvae.count_parameters(beta_vae)["total"]
counts = mrvae.count_parameters(mr_vae)
print(f"β-VAE: {plain_total:,} parameters")
print(f"MR-VAE: {counts['total']:,} parameters, "
      f"{counts['hyper']:,} of them in the gates")
print(f"parameter ratio: {counts['total'] / plain_total:.4f}")
gated = [name.removesuffix(".gate") for name, module in mr_vae.named_modules()
         if isinstance(module, mrvae.BetaGate)]
print(f"gated layers: {', '.join(gated)}")

# %% [markdown]
# By default `convert` leaves the encoder's head and the decoder's first and last layers
# plain, as the authors' code does; the last line above lists the layers it gated.
# `compare_step_times` then times the two side by side, as the script does: Adam steps
# alternating between the MR-VAE (one β per example, drawn log-uniformly from the range) and
# the β-VAE, on one batch, with both models restored afterwards. What it prints is this book
# build's machine and load, a short and therefore noisy measurement, not the committed
# benchmark above.

# %% tags=["nbval-ignore-output"]
from mrvae.training.timing import compare_step_times

x = (torch.rand(128, 784) > 0.5).float()  # one batch of stand-in binary data
times = compare_step_times(mr_vae, beta_vae, x, (0.01, 10.0), steps=10)
print(f"one Adam step: β-VAE {times.plain * 1e3:.1f} ms, "
      f"MR-VAE {times.multi_rate * 1e3:.1f} ms, ratio {times.ratio:.2f}")
