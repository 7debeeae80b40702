from pathlib import Path

import mrvae.book.runtime as runtime


def test_every_package_file_is_classified_for_the_model_cache() -> None:
    assert runtime.unclassified_sources() == []
    assert not set(runtime.TRAINING_SOURCES) & set(runtime.REPORTING_SOURCES)


def _digest_with(monkeypatch, tmp_path: Path, edit: str) -> str:
    package = runtime._PACKAGE_DIR
    copy = tmp_path / edit.replace("/", "_")
    for path in package.rglob("*.py"):
        target = copy / path.relative_to(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text()
        target.write_text(text + "\n# edited\n" if path.relative_to(package).as_posix() == edit else text)
    monkeypatch.setattr(runtime, "_PACKAGE_DIR", copy)
    runtime.source_digest.cache_clear()
    try:
        return runtime.source_digest()
    finally:
        runtime.source_digest.cache_clear()


def test_cache_key_changes_with_training_code_only(monkeypatch, tmp_path) -> None:
    base = _digest_with(monkeypatch, tmp_path, "none")
    assert _digest_with(monkeypatch, tmp_path, "book/figures.py") == base
    assert _digest_with(monkeypatch, tmp_path, "metrics/rate_distortion.py") == base
    assert _digest_with(monkeypatch, tmp_path, "training/loop.py") != base
    assert _digest_with(monkeypatch, tmp_path, "models/base.py") != base
    assert _digest_with(monkeypatch, tmp_path, "hyper/layers.py") != base
