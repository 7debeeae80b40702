import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mrvae.book.figures import REPO_ROOT, load_figure_data, save_figure  # noqa: E402
from mrvae.data import data_roots  # noqa: E402


def test_figure_json_names_data_files_relative_to_the_data_root(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MRVAE_FIGURE_DIR", str(tmp_path))
    root = data_roots()[-1]
    source = f"train: {root / 'BinarizedMNIST' / 'binarized_mnist_train.amat.gz'}"
    fig = plt.figure()
    path = save_figure(fig, "demo", figure="Figure 0", notebook="nb", profile="quick",
                       data={"source": source, "checkpoint": REPO_ROOT / "runs" / "x"},
                       metrics={"m": 1.0}, provenance={"cwd": str(REPO_ROOT)})
    plt.close(fig)
    text = path.read_text()
    assert str(root) not in text and str(REPO_ROOT) not in text
    record = json.loads(text)
    assert record["data"]["source"] == "train: <data root>/BinarizedMNIST/binarized_mnist_train.amat.gz"
    assert record["data"]["checkpoint"] == "<repo>/runs/x"
    assert load_figure_data("demo", tmp_path)["metrics"] == {"m": 1.0}


def test_a_bad_figure_name_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MRVAE_FIGURE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="letters, digits"):
        save_figure(plt.figure(), "../escape", figure="F", notebook="n", profile="quick", data={}, metrics={},
                    provenance={})


def test_committed_figures_ignore_the_nbval_figure_dir(tmp_path, monkeypatch) -> None:
    from mrvae.book.figures import FIGURE_DIR_ENV_VAR, committed_figure_dir, figure_dir

    monkeypatch.setenv(FIGURE_DIR_ENV_VAR, str(tmp_path))
    assert figure_dir() == tmp_path and committed_figure_dir() != tmp_path
    assert (committed_figure_dir() / "overhead.json").is_file()
