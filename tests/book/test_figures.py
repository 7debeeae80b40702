import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mrvae.data import data_roots  # noqa: E402
from mrvae_companion.figures import REPO_ROOT, load_figure_data, save_figure, short_commit  # noqa: E402


def test_figure_json_names_data_files_relative_to_the_data_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MRVAE_FIGURE_DIR", str(tmp_path))
    root = data_roots()[-1]
    source = f"train: {root / 'BinarizedMNIST' / 'binarized_mnist_train.amat.gz'}"
    fig = plt.figure()
    path = save_figure(fig, "demo", figure="Figure 0", notebook="nb", profile="quick",
                       data={"source": source, "checkpoint": REPO_ROOT / "runs" / "x"},
                       metrics={"m": 1.0}, provenance={"cwd": str(REPO_ROOT)}, notes=f"sources: {source}")
    plt.close(fig)
    text = path.read_text()
    assert str(root) not in text and str(REPO_ROOT) not in text
    record = json.loads(text)
    assert record["data"]["source"] == "train: <data root>/BinarizedMNIST/binarized_mnist_train.amat.gz"
    assert record["data"]["checkpoint"] == "<repo>/runs/x"
    assert record["notes"] == "sources: train: <data root>/BinarizedMNIST/binarized_mnist_train.amat.gz"
    assert load_figure_data("demo", tmp_path)["metrics"] == {"m": 1.0}


def test_committed_figures_hold_no_machine_paths() -> None:
    """What the test above guards on writing, checked on what is committed: a data root, the
    checkout or a home directory in a figure file would name one machine's folders."""
    from mrvae_companion.figures import committed_figure_dir

    pattern = re.compile(r"(/tmp|/work|/root|/home)/[A-Za-z0-9_.-]+/")
    leaking = {p.name: pattern.search(p.read_text())[0] for p in committed_figure_dir().glob("*.json")
               if pattern.search(p.read_text())}
    assert leaking == {}, "rewrite them through mrvae_companion.figures.relative_to_roots"


def test_a_bad_figure_name_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MRVAE_FIGURE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="letters, digits"):
        save_figure(plt.figure(), "../escape", figure="F", notebook="n", profile="quick", data={}, metrics={},
                    provenance={})


def test_committed_figures_ignore_the_nbval_figure_dir(tmp_path, monkeypatch) -> None:
    from mrvae_companion.figures import FIGURE_DIR_ENV_VAR, committed_figure_dir, figure_dir

    monkeypatch.setenv(FIGURE_DIR_ENV_VAR, str(tmp_path))
    assert figure_dir() == tmp_path and committed_figure_dir() != tmp_path
    assert (committed_figure_dir() / "overhead.json").is_file()


def _plot(width: float, legend_points: float | None = None) -> plt.Figure:
    from mrvae_companion.figures import use_book_style

    use_book_style()
    fig, ax = plt.subplots(figsize=(width, 2.5))
    ax.plot([0, 1], [1, 0], label="MR-VAE")
    ax.set_xlabel("rate (nats)")
    ax.legend(fontsize=legend_points)
    return fig


def test_the_book_style_is_legible_at_the_column_width() -> None:
    from mrvae_companion.figures import MIN_TEXT_POINTS, check_legible, smallest_text

    fig = _plot(6.8)
    points, _ = smallest_text(fig)
    assert points == MIN_TEXT_POINTS
    check_legible(fig, "ok")
    plt.close(fig)


@pytest.mark.parametrize(("width", "legend_points"), [(6.8, 7.0), (9.0, None)])
def test_text_under_8_pt_at_the_column_width_is_refused(width, legend_points) -> None:
    from mrvae_companion.figures import check_legible

    fig = _plot(width, legend_points)
    with pytest.raises(ValueError, match="minimum is 8 pt"):
        check_legible(fig, "small")
    plt.close(fig)


def test_a_wide_figure_is_fitted_to_the_column_with_its_text_unchanged() -> None:
    from mrvae_companion.figures import COLUMN_INCHES, check_legible, fit_to_column, saved_width, smallest_text

    fig = _plot(9.0)
    assert saved_width(fig) > COLUMN_INCHES
    fit_to_column(fig)
    assert saved_width(fig) <= COLUMN_INCHES
    assert smallest_text(fig)[0] == 8.0
    check_legible(fig, "fitted")
    plt.close(fig)


def test_a_figure_without_text_has_no_smallest_text() -> None:
    from mrvae_companion.figures import smallest_text

    fig = plt.figure()
    assert smallest_text(fig) == (float("inf"), "")
    plt.close(fig)


def test_vector_figures_are_the_same_bytes_from_run_to_run() -> None:
    from mrvae_companion.figures import figure_bytes

    first, second = (_plot(7.2) for _ in range(2))
    svg = figure_bytes(first, vector=True)
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    assert svg == figure_bytes(second, vector=True)
    assert figure_bytes(first, vector=False).startswith(b"\x89PNG")
    plt.close("all")


@pytest.mark.parametrize(("vector", "mime"), [(True, "image/svg+xml"), (False, "image/png")])
def test_glue_figure_glues_the_checked_figure_and_closes_it(monkeypatch, vector, mime) -> None:
    import myst_nb
    from IPython.core.formatters import format_display_data

    from mrvae_companion.figures import glue_figure

    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display: glued.update({name: (obj, display)}))
    fig = _plot(9.0)
    glue_figure("demo", fig, vector=vector)
    obj, display = glued["demo"]
    assert display is False
    assert mime in format_display_data(obj)[0]
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(ValueError, match="minimum is 8 pt"):
        glue_figure("small", _plot(7.2, 6.0))
    plt.close("all")


def test_a_constrained_grid_with_a_legend_below_saves_within_the_column() -> None:
    from mrvae_companion.figures import COLUMN_INCHES, figure_bytes, fit_to_column, legend_below, use_book_style

    use_book_style()
    fig = plt.figure(figsize=(7.2, 5.6), layout="constrained")
    axes = fig.subplots(2, 4)
    for ax in axes.flat:
        ax.plot([0, 50, 100], [160, 90, 70], label="MR-VAE")
        ax.set_xlabel("rate (nats)")
        ax.set_ylabel("distortion (nats)")
    legend_below(fig, axes[0, 0])
    fit_to_column(fig)
    svg = figure_bytes(fig, vector=True).decode()
    width_points = float(svg.split('width="', 1)[1].split("pt", 1)[0])
    assert width_points / 72 <= COLUMN_INCHES
    plt.close(fig)


def test_a_legend_below_lists_every_series_of_the_grid_once() -> None:
    from mrvae_companion.figures import legend_below

    fig = plt.figure(layout="constrained")
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.plot([0, 1], [1, 0], label="MR-VAE")
        ax.plot([0, 1], [0, 1], label="β-VAEs, constant β")
    right.plot([0, 1], [0.5, 0.5], label="β-VAEs, KL annealing")  # one panel only
    legend_below(fig)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "MR-VAE", "β-VAEs, constant β", "β-VAEs, KL annealing"]
    legend_below(fig, left)  # one panel's entries when asked
    assert [t.get_text() for t in fig.legends[1].get_texts()] == ["MR-VAE", "β-VAEs, constant β"]
    plt.close(fig)


def _gap_variant(group: str, mr_steps: int, beta_steps: int, gap: float) -> dict:
    return {"group": group, "mr_vae_steps": mr_steps, "beta_vae_steps": beta_steps, "median_gap": gap,
            "worst_gap": 2 * gap, "betas": [0.01, 0.1, 1.0, 10.0], "gaps": [2 * gap, gap, gap / 2, 0.0]}


def test_the_gap_study_plots_equal_budgets_left_and_per_beta_gaps_right() -> None:
    from mrvae_companion.figures import check_legible, legend_below, plot_gap_study, use_book_style

    use_book_style()
    variants = {"equal x1": _gap_variant("equal", 1000, 1000, 0.04),
                "equal x2": _gap_variant("equal", 2000, 2000, 0.05),
                "mr_vae x2 vs x1": _gap_variant("mr_vae_longer", 2000, 1000, -0.07),
                "gate lr x1 at x2": _gap_variant("gate_lr", 2000, 2000, 0.07),
                "range 0.001-10": _gap_variant("wider_range", 1000, 1000, 0.04)}
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    plot_gap_study(axes, variants, target=0.03)
    legend_below(fig, axes[1], ncol=2)
    median, worst, target = axes[0].get_lines()
    assert list(median.get_xdata()) == [1000, 2000] and list(median.get_ydata()) == pytest.approx([4.0, 5.0])
    assert list(worst.get_ydata()) == pytest.approx([8.0, 10.0]) and target.get_ydata()[0] == pytest.approx(3.0)
    labels = [line.get_label() for line in axes[1].get_lines()]
    assert len(labels) == 5 and not any("gate lr" in label for label in labels)  # gate lr: the table only
    check_legible(fig, "gap study")
    plt.close(fig)
    # with seeds: each seed's median at the first budget, and bands over the seeds' per-β gaps
    seeded = {**variants, "equal x1, seed 1": {**_gap_variant("seed", 1000, 1000, 0.02), "seed": 1},
              "mr_vae x2 vs x1, seed 1": {**_gap_variant("mr_vae_longer", 2000, 1000, -0.05), "seed": 1}}
    for v in seeded.values():
        v.setdefault("seed", 0)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    plot_gap_study(axes, seeded, target=0.03)
    assert list(axes[0].collections[0].get_offsets()[:, 1]) == pytest.approx([4.0, 2.0])
    assert len(axes[1].collections) == 2 and len(axes[1].get_lines()) == 5  # two bands, the same lines
    assert sum("(band: 2 seeds)" in line.get_label() for line in axes[1].get_lines()) == 2
    plt.close(fig)


def test_short_commits_keep_the_dirty_marker() -> None:
    head = "0123456789abcdef0123456789abcdef01234567"
    assert short_commit(head) == "0123456789"
    assert short_commit(head + "-dirty") == "0123456789-dirty"
    assert short_commit("unknown") == "unknown"


def test_a_committed_run_records_its_machine_finish_time_and_command() -> None:
    import torch

    from mrvae_companion.figures import committed_run_provenance

    record = committed_run_provenance(seed=3, config={"epochs": 2}, device=torch.device("cpu"), wall_seconds=12.345,
                                      command="make gap-study")
    assert record["seed"] == 3 and record["config"] == {"epochs": 2} and record["wall_seconds"] == 12.35
    assert record["command"] == "make gap-study" and "CPU cores" in record["machine"]
    assert record["finished_utc"][:2] == "20" and record["finished_utc"].endswith("+00:00")


def test_values_over_seeds_draw_a_point_per_seed_and_a_median_per_category() -> None:
    import matplotlib.pyplot as plt

    from mrvae_companion.figures import plot_gap_over_seeds, plot_over_seeds

    fig, ax = plt.subplots()
    plot_over_seeds(ax, {"a": {0: 1.0, 1: 2.0, 2: 4.0}, "b": {0: -1.0, 1: 0.0, 2: 1.0}}, xlabel="x", ylabel="y",
                    title="t")
    points = [p for c in ax.collections for p in c.get_offsets().tolist()]
    assert len([p for p in points if p[0] < 0.5]) >= 3  # the three seeds of "a" (the strip), at x = 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="at least one category"):
        plot_over_seeds(ax, {}, xlabel="x", ylabel="y", title="t")
    with pytest.raises(ValueError, match="same β"):
        plot_gap_over_seeds(ax, {0: [{"beta": 0.1, "gap": 0.0}], 1: [{"beta": 1.0, "gap": 0.0}]})
    plt.close(fig)
