"""The numbers and names that the chapters' prose quotes."""

from __future__ import annotations

import pytest

from mrvae_companion.prose import glue_number, panel_label, panel_title, two_digits, yes_no


@pytest.mark.parametrize(("value", "text"), [(1234.5, "1,200"), (0.01234, "0.012"), (16.46, "16"), (-3.14, "-3.1"),
                                             (0.0, "0")])
def test_two_digits_are_written_out(value: float, text: str) -> None:
    assert two_digits(value) == text


def test_panel_titles_use_the_books_names() -> None:
    assert panel_title(("binary_mnist", "resnet")) == "binary MNIST, ResNet"
    assert panel_title(("mystery", "mlp")) == "mystery, mlp"  # unknown keys pass through


def test_glued_numbers_are_floats(monkeypatch) -> None:
    myst_nb = pytest.importorskip("myst_nb")
    glued = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: (value, display)}))
    glue_number("span", 16)
    assert glued == {"span": (16.0, False)} and isinstance(glued["span"][0], float)


@pytest.mark.parametrize(("tag", "label"), [
    ("binary_mnist-resnet-w0.25", "binary MNIST, ResNet (1/4 width)"),
    ("celeba64-conv-w0.0625", "CelebA 64, conv (1/16 width)"),
    ("omniglot-resnet-w1", "Omniglot, ResNet (full width)"),
    ("cifar10-conv-w0.3", "CIFAR-10, conv (0.3× width)"),
    ("yahoo-lstm-e32h64z32", "Yahoo, LSTM (embedding 32, hidden 64, latent 32)"),
    ("yahoo-lstm", "Yahoo, LSTM"),
    ("binary_mnist-nvae-quick-c16", "binary MNIST, NVAE-style (quick network, 16 channels)"),
    ("mystery-mlp-zz", "mystery, mlp (zz)"),
])
def test_panel_labels_read_as_words(tag: str, label: str) -> None:
    assert panel_label(tag) == label


def test_tables_say_yes_or_no() -> None:
    assert (yes_no(True), yes_no(False)) == ("yes", "no")
