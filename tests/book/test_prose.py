"""The numbers and names that the chapters' prose quotes."""

from __future__ import annotations

import pytest

from mrvae_companion.prose import glue_number, panel_title, two_digits


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
