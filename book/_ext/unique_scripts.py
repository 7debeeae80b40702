"""A Sphinx extension that writes each script of a page once.

Under Jupyter Book 1.x, sphinx-thebe and sphinx-togglebutton register their inline
configuration scripts twice, so every page declared ``const THEBE_JS_URL`` twice and the
browser stopped that script with "Identifier 'THEBE_JS_URL' has already been declared".
This drops exact repeats (same file or same inline body, same attributes) and keeps the first.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    attributes = getattr(script, "attributes", {}) or {}
    # An inline script's filename is None or "" depending on who added it.
    filename = str(getattr(script, "filename", script) or "")
    return filename, tuple(sorted((str(k), str(v)) for k, v in attributes.items()))


def unique_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app: Any) -> dict[str, Any]:
    # After every other handler (default priority 500) has added its scripts.
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
