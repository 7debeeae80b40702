#!/usr/bin/env python3
"""Convert ``notebooks/*.py`` (jupytext percent format) to ipynb and execute them with papermill.

Used by ``make notebooks`` (into ``book/executed``) and ``make refresh-references``
(into ``tests/notebooks``). Prints the wall time of every notebook and the total, and
stops with a non-zero exit status at the first failing notebook.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}


def select_notebooks(notebooks_dir: Path, names: list[str]) -> list[Path]:
    """Return the sorted notebook sources, restricted to ``names`` (stem or file name) if given."""
    available = sorted(notebooks_dir.glob("*.py"))
    if not names:
        return available
    by_stem = {p.stem: p for p in available}
    selected: list[Path] = []
    for name in names:
        stem = Path(name).stem
        if stem not in by_stem:
            known = ", ".join(by_stem) or "(none)"
            raise SystemExit(f"unknown notebook {name!r} in {notebooks_dir}; available: {known}")
        selected.append(by_stem[stem])
    return selected


def convert(source: Path, dest: Path) -> Path:
    """Write ``source`` as an ipynb at ``dest`` with an explicit python3 kernelspec."""
    import jupytext

    nb = jupytext.read(source)
    # papermill resolves the kernel from metadata; pin it so a stray local kernel
    # name in a notebook header cannot select a different interpreter.
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    jupytext.write(nb, dest, fmt="ipynb")
    return dest


def record_source(output_ipynb: Path, source: Path) -> None:
    """Name the Jupytext source in papermill's metadata instead of the temporary ipynb it ran, and
    the output relative to the checkout, so executed notebooks (the committed references among
    them, wherever they were written first) hold no machine paths."""
    import nbformat

    def relative(path: Path) -> str:
        try:
            return path.resolve().relative_to(REPO_ROOT).as_posix()
        except ValueError:  # outside the checkout (a scratch folder): its name alone
            return path.name

    nb = nbformat.read(output_ipynb, as_version=4)
    papermill = nb.metadata.setdefault("papermill", {})
    papermill["input_path"] = relative(source)
    papermill["output_path"] = relative(output_ipynb)
    nbformat.write(nb, output_ipynb)


def execute(source_ipynb: Path, output_ipynb: Path, profile: str, cwd: Path) -> None:
    """Execute one notebook with papermill, injecting the ``profile`` parameter."""
    import papermill

    papermill.execute_notebook(
        str(source_ipynb),
        str(output_ipynb),
        parameters={"profile": profile},
        kernel_name=KERNEL_NAME,
        cwd=str(cwd),
        log_output=False,
        progress_bar=False,
    )


def check_kernel() -> int:
    """Check that papermill's ``python3`` kernel runs this interpreter's environment."""
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb"
        nbformat.write(nb, src)
        papermill.execute_notebook(
            str(src), str(out), kernel_name=KERNEL_NAME, log_output=False, progress_bar=False
        )
        result = nbformat.read(out, as_version=4)
    kernel_prefix = "".join(o.get("text", "") for o in result.cells[0].outputs).strip()
    expected = str(Path(sys.prefix).resolve())
    if str(Path(kernel_prefix).resolve()) != expected:
        print(
            f"kernel {KERNEL_NAME!r} runs an interpreter with sys.prefix={kernel_prefix!r}, "
            f"expected {expected!r}; remove the conflicting kernelspec "
            "(see `jupyter kernelspec list`)",
            file=sys.stderr,
        )
        return 1
    print(f"kernel {KERNEL_NAME!r} OK: runs {expected}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all, sorted)")
    parser.add_argument("--profile", default="quick", help="value of the `profile` parameter")
    parser.add_argument("--out-dir", type=Path, default=Path("book/executed"))
    parser.add_argument("--notebooks-dir", type=Path, default=REPO_ROOT / "notebooks")
    parser.add_argument(
        "--check-kernel", action="store_true", help="only verify the python3 kernel and exit"
    )
    args = parser.parse_args(argv)
    # As the Makefile does: the notebooks then print the same data lines (a download attempt
    # included) whether they run under `make test` or straight from this script, so references
    # refreshed either way match what nbval sees.
    os.environ.setdefault("MRVAE_DOWNLOAD", "1")
    if args.check_kernel:
        return check_kernel()

    notebooks = select_notebooks(args.notebooks_dir, args.names)
    if not notebooks:
        print(f"no notebooks found in {args.notebooks_dir}")
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)

    total_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for source in notebooks:
            name = source.stem
            start = time.perf_counter()
            try:
                ipynb = convert(source, Path(tmp) / f"{name}.ipynb")
                execute(ipynb, args.out_dir / f"{name}.ipynb", args.profile, args.notebooks_dir)
                record_source(args.out_dir / f"{name}.ipynb", source)
            except Exception as exc:  # any failure must stop the run with the notebook named
                elapsed = time.perf_counter() - start
                print(f"{name}: FAILED after {elapsed:.1f} s", flush=True)
                print(f"notebook {name!r} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
            print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    print(f"total: {time.perf_counter() - total_start:.1f} s ({len(notebooks)} notebook(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
