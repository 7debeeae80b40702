"""The command line: trains, resumes, writes its figure, and turns bad input into one clear line."""

from __future__ import annotations

import json
import os

import pytest
import torch

from mrvae.training.checkpoints import FORMAT
from mrvae_companion.cli import main

TINY = ["binary_mnist", "resnet", "--width", "0.0625", "--train-images", "128", "--test-images", "32",
        "--epochs", "1", "--batch-size", "64", "--no-progress"]


def _run(tmp_path, *extra: str) -> None:
    assert main(["train", *TINY, "--run-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), *extra]) == 0


def test_help_lists_every_option_with_its_default(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--model", "--profile", "--beta-range", "--epochs", "--lr", "--hyper-lr-multiplier", "--progress"):
        assert option in text
    assert "(default: quick)" in text and "(paper: 200)" in text


def test_train_writes_the_curve_and_a_rerun_resumes(tmp_path, capsys) -> None:
    _run(tmp_path)
    first = capsys.readouterr().out
    assert "wrote" in first and "resumed" not in first
    (record_path,) = (tmp_path / "out").glob("cli_*_mr-vae.json")
    record = json.loads(record_path.read_text())
    assert len(record["data"]["curve"]) == 20 and {"rate_ratio", "monotone"} <= record["metrics"].keys()
    assert record["provenance"]["config"]["experiment"]["epochs"] == 1
    _run(tmp_path)  # as after a kill: the checkpoint of the finished epoch is picked up
    assert "resumed from" in capsys.readouterr().out


def test_a_beta_vae_sweep_trains_and_reports_monotonicity(tmp_path) -> None:
    _run(tmp_path, "--model", "beta-vaes", "--betas", "3", "--schedule", "annealed")
    (record_path,) = (tmp_path / "out").glob("cli_*_beta-vaes_annealed.json")
    record = json.loads(record_path.read_text())
    assert len(record["data"]["curve"]) == 3 and "monotone" in record["metrics"]


def test_a_sweep_trained_side_by_side_equals_one_trained_in_turn(tmp_path) -> None:
    curves = []
    for workers in ("1", "2"):
        folder = tmp_path / workers
        _run(folder, "--model", "beta-vaes", "--betas", "2", "--workers", workers)
        (record_path,) = (folder / "out").glob("cli_*_beta-vaes_constant.json")
        curves.append(json.loads(record_path.read_text())["data"]["curve"])
    assert curves[0] == curves[1]


def test_sync_batchnorm_without_torchrun_trains_in_this_process(tmp_path) -> None:
    _run(tmp_path, "--model", "beta-vaes", "--betas", "2", "--sync-batchnorm")


@pytest.mark.parametrize("argv, message", [
    (["train", "mnist9", "resnet"], "invalid choice: 'mnist9'"),
    (["train", *TINY, "--workers", "0"], "--workers must be at least 1"),
    (["train", *TINY, "--beta-range", "10", "0.01"], "BetaRange"),
    (["train", *TINY, "--width", "0"], "width"),
    (["train", *TINY, "--epochs", "0"], "--epochs 0: TrainConfig.epochs must be an int >= 1"),
    (["train", *TINY, "--lr", "nan"], "--lr nan: TrainConfig.lr must be a finite number > 0"),
    (["train", *TINY, "--device", "gpu"], "unknown device 'gpu'"),
    (["train", *TINY, "--model", "beta-vaes", "--betas", "1"], "--betas must be at least 2"),
])
def test_bad_input_exits_with_one_line_naming_the_fix(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--out", "--run-dir"])
def test_a_folder_flag_that_names_a_file_is_refused_before_training(tmp_path, flag, capsys) -> None:
    file = tmp_path / "taken"
    file.write_text("not a folder")
    argv = ["train", *TINY, "--run-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), flag, str(file)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"{flag} {file} is a file, not a folder" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # refused before anything trained


def test_more_training_images_than_the_split_holds_is_refused(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path, "--train-images", "10000000")
    assert exit_.value.code == 2
    assert "train_images=10000000 exceeds the training split's" in capsys.readouterr().err


def test_a_corrupt_checkpoint_is_named_with_the_fix(tmp_path, capsys) -> None:
    _run(tmp_path)
    (path,) = (tmp_path / "runs").rglob("checkpoint.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "is not a usable checkpoint" in err and "--run-dir" in err and len(err.strip().splitlines()) == 1


def test_a_missing_data_root_says_how_to_get_the_data(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MRVAE_DATA", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "mrvae: error:" in err and "download=True" in err


def test_a_stale_checkpoint_is_refused_naming_the_file(tmp_path, capsys) -> None:
    _run(tmp_path)
    (path,) = (tmp_path / "runs").rglob("checkpoint.pt")
    saved = torch.load(path, weights_only=True)
    saved["fingerprint"] = saved["fingerprint"].replace(f'"format": {FORMAT}', '"format": 1')  # an older mrvae wrote it
    torch.save(saved, path)
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    # the file as the message shows paths: relative to the working directory (no machine paths)
    assert "different settings" in err and os.path.relpath(path) in err and "delete that file" in err
    assert "format: 1 -> " in err and err.count("\n") == 1  # one line, naming what differs


def test_list_names_datasets_kinds_and_profiles(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "binary_mnist" in out and "resnet" in out and "profile cpu" in out
