#!/usr/bin/env bash
# Runs notebooks/analysis.ipynb headless against a sweep directory.
#
# Usage: notebooks/run_notebook.sh SWEEP_DIR
#
# Creates .venv at the repository root if it is missing, installs notebooks/requirements.txt
# (every package pinned with ==, dependencies included) into it quietly, only when that file
# changed since the last install, registers the venv's Python as the Jupyter kernel
# "python3" inside the venv, and executes the notebook with nbclient. Writes nothing
# outside .venv.
#
# Exit status: 0 when every cell ran; 1 when a cell (or the kernel) failed; 2 for bad
# arguments; 3 when the environment could not be set up (no venv module, or pip could not
# install the packages: no network, say), so that scripts/test can tell "could not run"
# from "failed".
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: $0 SWEEP_DIR" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
if [ ! -f "$1/manifest.json" ]; then
  echo "$1 is not a sweep directory (no manifest.json)" >&2
  exit 2
fi
sweep="$(cd "$1" && pwd)"

venv="$root/.venv"
python="$venv/bin/python"
if [ ! -x "$python" ]; then
  if ! python3 -m venv "$venv"; then
    echo "run_notebook.sh: could not create the virtual environment $venv (python3 -m venv)" >&2
    rm -rf "$venv"
    exit 3
  fi
fi
stamp="$venv/.slotsim-requirements"
wanted="$( (sha256sum 2>/dev/null || shasum -a 256) < "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  if ! "$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"; then
    echo "run_notebook.sh: could not install notebooks/requirements.txt into $venv" >&2
    exit 3
  fi
  echo "$wanted" > "$stamp"
fi
kernel="$venv/share/jupyter/kernels/python3/kernel.json"
if ! grep -qF "\"$python\"" "$kernel" 2>/dev/null; then
  "$python" -m ipykernel install --prefix "$venv" --name python3 >/dev/null
fi

SLOTSIM_SWEEP_DIR="$sweep" exec "$python" "$here/execute.py" "$here/analysis.ipynb"
