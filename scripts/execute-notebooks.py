"""Executes notebooks with nbclient and the registered tslab kernel; used by scripts/run-notebooks.ts.

    .venv/bin/python scripts/execute-notebooks.py --out build/notebooks notebooks/*.ipynb

Each notebook runs in a fresh kernel whose working directory is the notebook's own folder
(as in JupyterLab), so "restart and run all" is what is tested. Executed copies and HTML
exports go to --out. On a cell error it prints which notebook and cell failed, the cell's
source, the error text the cell showed (tslab reports only `<Error>` as the error itself and
writes the message to the cell's stderr stream) and anything the kernel process wrote to its
own stderr (a crash, a message printed after the cell ended), then goes on with the next
notebook. Exit status 1 if any notebook failed.

After each cell it reads the kernel process's memory from /proc (Linux): the summary line gives the
kernel's resident memory after the last cell and its peak, the figure the README quotes for notebook 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def cell_error_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
            parts.extend(out.get("traceback", []))
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts).strip()


def kernel_memory(client: NotebookClient) -> tuple[int, int] | None:
    """(resident, peak) bytes of the kernel process, from /proc/<pid>/status; None where that is unavailable."""
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, TypeError):
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    try:
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
    except (KeyError, ValueError):
        return None


def run(path: Path, out_dir: Path, kernel: str, timeout: int, html: bool) -> bool:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    current: dict[str, int | None] = {"index": None}

    def on_cell_start(cell, cell_index, **_):
        current["index"] = cell_index

    client.on_cell_start = on_cell_start
    memory: dict[str, tuple[int, int] | None] = {"last": None}

    def on_cell_complete(**_):
        memory["last"] = kernel_memory(client) or memory["last"]

    client.on_cell_complete = on_cell_complete
    started = time.monotonic()
    ok = True
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as kernel_stderr:
        try:
            # Extra keyword arguments reach the kernel's Popen: its stderr goes to our file.
            client.execute(stderr=kernel_stderr)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            ok = False
            cell_index = current["index"]
            print(f"\n✘ {path}: {type(error).__name__}", file=sys.stderr)
            if cell_index is not None:
                cell = nb.cells[cell_index]
                print(f"--- cell {cell_index} ---\n{cell.source}\n--- its error output ---", file=sys.stderr)
                print(cell_error_text(cell) or str(error), file=sys.stderr)
            else:
                print(str(error), file=sys.stderr)
        kernel_stderr.seek(0)
        extra = kernel_stderr.read().strip()
        if extra and not ok:
            print(f"--- kernel stderr ---\n{extra[-8000:]}", file=sys.stderr)
    # showFigure inlines plotly.js into the first figure of a kernel only: more would bloat the notebook.
    bundles = sum(
        "* plotly.js v" in str(o.get("data", {}).get("text/html", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    if bundles > 1:
        ok = False
        print(f"\n✘ {path}: plotly.js is inlined {bundles} times; showFigure should inline it once per kernel", file=sys.stderr)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(nb, target)
    if html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        target.with_suffix(".html").write_text(body, encoding="utf-8")
    status = "✔" if ok else "✘"
    mem = memory["last"]
    kernel_note = f", kernel {mem[0] / 2**20:.0f} MB after the last cell, peak {mem[1] / 2**20:.0f} MB" if mem else ""
    print(f"{status} {path} ({time.monotonic() - started:.1f} s{kernel_note}) -> {target}", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for executed copies (and HTML)")
    parser.add_argument("--kernel", default="tslab")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML exports")
    args = parser.parse_args()
    results = [run(p, args.out, args.kernel, args.timeout, not args.no_html) for p in args.notebooks]
    failed = results.count(False)
    if failed:
        print(f"execute-notebooks: {failed} of {len(results)} notebooks failed (see above)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
