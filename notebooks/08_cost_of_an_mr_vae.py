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
# training run. Appendix C puts a number on "the price": an MR-VAE has at most 5% more
# parameters than the β-VAE it is built from, and takes at most 5% more wall-clock time.
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
# - sum `grad · x` to the gate's gradient without a full-size temporary where the map is large;
# - add a residual block's skip connection in the same pass as its last gate;
#
# and every trainer uses PyTorch's fused Adam, because its default Adam on a CPU loops over the
# parameters in Python, which an MR-VAE's many small gate tensors make several per cent slower.
#
# `scripts/benchmark_overhead.py` times one Adam step (forward, backward, update) of each
# network as a β-VAE and as an MR-VAE with one β per example, alternating the two on the same
# batch, and takes the median over repeats. A full run takes about 15 minutes on 2 CPU cores,
# too long for CI, so it ran once and its output is committed as `figures/overhead.json`
# (rerun: `make benchmark-overhead`). This page reads that file; the provenance line says where
# and when it ran.

# %% tags=["parameters"]
profile = "quick"  # unused: this page reads committed measurements
seed = 0

# %%
from IPython.display import Image, Markdown, display

from mrvae.book.figures import committed_figure_dir, load_figure_data

FIGURES = committed_figure_dir()
record = load_figure_data("overhead", directory=FIGURES)
metrics, ran = record["metrics"], record["provenance"]
networks = {name: m for name, m in metrics.items() if name not in ("loop", "summary")}
device = "gpu" if any("gpu_step_time_ratio" in m for m in networks.values()) else "cpu"
print(f"ran {ran['finished_utc']} on {ran['machine']}, commit {ran['git_commit'][:10]}, "
      f"{ran['wall_seconds'] / 60:.0f} min; command: {ran['command']}")

# %% [markdown]
# **Table 1.** One training step, MR-VAE over β-VAE, batch of 128. *Full*: the paper's
# networks (Appendix Table 1's parameter counts). *Quick*: the narrower networks of the book's
# quick profile. *Linear*: Figure 4's linear VAE (784 → 32). *Chen MLP*: Figure 8's MLP VAE for
# dSprites.

# %%
rows = ["| network | β-VAE parameters | parameter ratio | β-VAE ms/step | MR-VAE ms/step | step-time ratio |",
        "|---|---:|---:|---:|---:|---:|"]
for name, m in networks.items():
    seconds = m[f"{device}_seconds_per_step"]
    rows.append(f"| {name} | {m['parameters']:,} | {m['param_ratio']:.4f} | {seconds['beta_vae'] * 1e3:.1f} | "
                f"{seconds['mr_vae'] * 1e3:.1f} | {m[f'{device}_step_time_ratio']:.3f} |")
display(Markdown("\n".join(rows)))

# %%
display(Image(filename=str(FIGURES / "overhead.png")))

# %% [markdown]
# **Figure 1.** The step-time ratios of Table 1; red bars are the paper's full-width networks,
# the dashed line is Appendix C's 5%.
#
# The verdict below is computed from the committed file. Ratios of times are noisy at the level
# of a few per cent: two runs on the same machine differ by about that much, so a ratio a little
# under 1 means "no measurable cost", not a speed-up.

# %%
summary = record["metrics"]["summary"]
full = {name: m for name, m in networks.items() if name.endswith("-full")}
worst_name = max(full, key=lambda name: full[name][f"{device}_step_time_ratio"])
print(f"full-width conv and ResNet networks: worst step-time ratio {summary['worst_full_width']:.2f} "
      f"({worst_name}); Appendix C's goal ≤ {summary['goal']}: {'met' if summary['goal_met_full_width'] else 'not met'}")
print(f"largest parameter ratio of a full-width network: {max(m['param_ratio'] for m in full.values()):.4f}")
over = {name: m[f"{device}_step_time_ratio"] for name, m in full.items()
        if m[f"{device}_step_time_ratio"] > summary["goal"]}
print("full-width networks over the goal: " + (", ".join(f"{n} ({r:.2f})" for n, r in over.items()) or "none"))
for name in ("linear", "chen_mlp"):
    if name in networks:
        print(f"{name}: parameter ratio {networks[name]['param_ratio']:.3f}, "
              f"step-time ratio {networks[name][f'{device}_step_time_ratio']:.2f}")

# %% [markdown]
# Where a full-width network is over the goal, it is a ResNet. Their convolutions are cheap
# (1.9M to 7.9M parameters, against 17M to 40M for the conv nets) next to the feature maps the
# gates scale: every gate costs about what its ReLU costs, one more pass over the map forward
# and two backward, and a ResNet has a gate on every convolution of its residual blocks. The
# conv nets' large convolutions hide the same passes. Closing the rest would take a fused kernel
# (one pass for ReLU, gate and their gradients), which eager PyTorch does not offer.
#
# The small networks pay more, relative to their step. Their steps take milliseconds, so the
# fixed cost of the gates, a few small kernels and the Python around them, is a visible share;
# the linear VAE, whose every layer is gated (Theorem 1 needs that) and whose step is a few small
# matrix products, pays the most. In absolute terms it is a fraction of a millisecond per step.
#
# ## The training loop
#
# The same script measures `mrvae.train` against the plainest loop that trains the same MR-VAE
# on the same in-memory batches (`torch.optim.Adam`, forward, backward, step). Everything the
# loop adds, such as the learning-rate schedule, the non-finite check, running totals and
# checkpoints, should cost little per step. On an accelerator the loop reads nothing back
# to the host on most steps: it checks the loss for NaN every 50 steps, and until then a bad
# step and all after it are skipped on the device, so the parameters stay those from before it.

# %%
for loop in metrics["loop"]:
    print(f"{loop['network']}: mrvae.train / hand-written loop = {loop['step_time_ratio']:.2f} per step "
          f"(batch {loop['batch_size']}, {loop['steps_per_epoch']} steps per epoch)")

# %% [markdown]
# ## On a GPU
#
# `make benchmark-overhead DEVICE=cuda` writes `gpu_step_time_ratio` entries instead, on a
# machine with one; `book/reproducing.md` says which run times are measured and which are
# projected.

# %%
if device == "gpu":
    print(f"measured on a GPU: {ran['device']}")
else:
    print(f"measured on a CPU ({ran['device']}); no GPU measurement is committed yet")
