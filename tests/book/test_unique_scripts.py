import importlib.util
from pathlib import Path

from sphinx.builders.html._assets import _JavaScript

EXTENSION = Path(__file__).resolve().parents[2] / "book" / "_ext" / "unique_scripts.py"


def _extension():
    spec = importlib.util.spec_from_file_location("unique_scripts", EXTENSION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_repeated_scripts_are_written_once_and_in_order() -> None:
    inline = _JavaScript("", body='const THEBE_JS_URL = "x";')
    other_inline = _JavaScript("", body="let toggleHintShow = 'Click to show';")
    context = {"script_files": [_JavaScript("a.js"), inline, _JavaScript("b.js", **{"async": "async"}),
                                _JavaScript(None, body='const THEBE_JS_URL = "x";'), other_inline,
                                _JavaScript("a.js"), _JavaScript("b.js")]}
    _extension().unique_scripts(None, "page", "page.html", context, None)
    kept = [(s.filename, s.attributes.get("body", ""), s.attributes.get("async", "")) for s in context["script_files"]]
    assert kept == [("a.js", "", ""), ("", 'const THEBE_JS_URL = "x";', ""), ("b.js", "", "async"),
                    ("", "let toggleHintShow = 'Click to show';", ""), ("b.js", "", "")]


def test_a_page_without_scripts_is_left_alone() -> None:
    context = {}
    _extension().unique_scripts(None, "page", "page.html", context, None)
    assert context == {}
