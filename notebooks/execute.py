"""Executes a notebook headless with nbclient; exits non-zero if any cell fails.

Usage: python notebooks/execute.py NOTEBOOK.ipynb [--save EXECUTED.ipynb]

The notebook runs in its own folder (so relative paths in it resolve as they would in
Jupyter), in the kernel named "python3". Nothing is written unless --save names a file
for the executed notebook with its outputs. Set SLOTSIM_SWEEP_DIR to choose the sweep the
notebook reads (a relative path is taken from the current directory; unset, the notebook
reads ../results/example relative to itself). The kernel process's own stderr (start-up
chatter) is shown only if the run fails.
"""

import os
import re
import sys
import tempfile
import time
from pathlib import Path

# Prefer the kernel spec registered inside this virtual environment over any user-level
# "python3" spec that may point to another interpreter.
os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402


def main() -> int:
    args = sys.argv[1:]
    save = None
    if len(args) == 3 and args[1] == "--save":
        save = Path(args[2])
        args = args[:1]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(args[0]).resolve()
    # The notebook runs in its own folder: a relative sweep directory given here means one
    # relative to where this command was started.
    sweep = os.environ.get("SLOTSIM_SWEEP_DIR")
    if sweep:
        os.environ["SLOTSIM_SWEEP_DIR"] = str(Path(sweep).resolve())
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as kernel_stderr:
        try:
            client.execute(stderr=kernel_stderr)
        except CellExecutionError as e:
            message = str(e) if sys.stderr.isatty() else re.sub(r"\x1b\[[0-9;]*m", "", str(e))
            print(f"{path.name}: a cell failed:\n{message}", file=sys.stderr)
            return 1
        except Exception as e:  # the kernel did not start, a cell timed out, ...
            kernel_stderr.seek(0)
            print(kernel_stderr.read(), file=sys.stderr)
            print(f"{path.name}: execution failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
    if save is not None:
        nbformat.write(nb, save)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    print(f"{path.name}: {cells} code cells ran without error in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
