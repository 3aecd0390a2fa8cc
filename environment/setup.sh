#!/usr/bin/env bash
# One setup for everyone: a new user, the Codespace (postCreateCommand) and CI (.ci/run).
#
#   bash environment/setup.sh
#
# 1. checks Node (>= 20.19, what the library's ESM-only dependencies need),
# 2. installs the npm workspace if node_modules is missing (npm ci, from the lock file),
# 3. creates .venv and installs Jupyter + the course's Python stack from
#    environment/requirements.txt (skipped when that file has not changed since the last run),
# 4. builds the library (notebooks import it by name, from lib/dist),
# 5. registers the tslab kernel in .venv's Jupyter, pointing at THIS project's tslab by
#    absolute path (not a global one), so `jupyter lab` started from .venv finds it,
# 6. configures .venv's JupyterLab for this project: it serves the project folder wherever it is
#    started from (so the notebooks' ../ links work), and its own Node helpers run as CommonJS
#    (see the step) so it starts with a clean terminal.
# Re-running it is harmless: each step checks before it acts.
#
# Environment: PYTHON (default python3) picks the interpreter for the venv;
# TAXI_PIP_ARGS (default "--retries 0 --timeout 5") is passed to pip: with local
# wheel indexes a dead network fails fast instead of retrying pypi.org for minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '== setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# 1. Node
command -v node >/dev/null || die "node is not on PATH; install Node 20.19 or newer (https://nodejs.org, or nvm install 22)"
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    console.error(`setup: Node ${process.version} is too old; install Node 20.19 or newer (nvm install 22)`);
    process.exit(1);
  }' || exit 1
say "node $(node --version)"

# 2. npm workspace (npm ci only when node_modules was never installed from the lock file)
if [[ ! -f node_modules/.package-lock.json || ! -x node_modules/.bin/tslab ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund
else
  say "node_modules present (run 'npm ci' yourself after changing package-lock.json)"
fi

# 3. Python venv with Jupyter
python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  command -v "$python" >/dev/null || die "$python not found; install Python 3.10+ with venv (Debian: apt-get install python3-venv)"
  say "creating .venv with $($python --version)"
  "$python" -m venv .venv || die "could not create .venv; on Debian install python3-venv"
fi
stamp=.venv/.requirements.sha256
want="$(sha256sum environment/requirements.txt | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  say "pip install -r environment/requirements.txt"
  # shellcheck disable=SC2086  # TAXI_PIP_ARGS is a list of flags
  .venv/bin/python -m pip install --quiet ${TAXI_PIP_ARGS---retries 0 --timeout 5} -r environment/requirements.txt
  echo "$want" > "$stamp"
else
  say "Python packages up to date (.venv)"
fi

# 4. the library
say "npm run build"
npm run build --silent

# 5. the tslab kernel, written by hand rather than with `tslab install`: that command
# registers the bare name `tslab` (whichever is first on PATH) and a JavaScript kernel we do
# not use. PATH gets node's directory first so a Jupyter started from a shell without node
# on PATH (an IDE, a service) still finds it; jupyter_client expands ${PATH}.
tslab_bin="$root/node_modules/.bin/tslab"
[[ -x "$tslab_bin" ]] || die "$tslab_bin is missing; run 'npm ci'"
node_dir="$(dirname "$(command -v node)")"
kernel_dir=.venv/share/jupyter/kernels/tslab
mkdir -p "$kernel_dir"
.venv/bin/python - "$kernel_dir/kernel.json" "$tslab_bin" "$node_dir" <<'PY'
import json, sys
path, tslab, node_dir = sys.argv[1:]
spec = {
    "argv": [tslab, "kernel", "--config-path", "{connection_file}"],
    "display_name": "TypeScript (taxi-duration)",
    "language": "typescript",
    "env": {"PATH": node_dir + ":${PATH}"},
    "metadata": {"installed_by": "environment/setup.sh"},
}
text = json.dumps(spec, indent=2, sort_keys=True) + "\n"
try:
    old = open(path).read()
except FileNotFoundError:
    old = None
if old != text:
    open(path, "w").write(text)
PY
say "kernel 'tslab' -> $tslab_bin"
.venv/bin/jupyter kernelspec list

# 6. JupyterLab for this project.
# JupyterLab runs Node scripts of its own from .venv (node-version-check.js, jupyter_builder's
# yarn.js) that are CommonJS. Node decides a .js file's module type from the nearest
# package.json above it, which, .venv having none, is this project's, with "type": "module":
# the scripts then fail at every start, printing kilobytes of minified code and stack traces
# and "Could not determine jupyterlab build status". A package.json at the top of .venv marks
# the environment as a package boundary of its own, CommonJS as its scripts expect.
printf '{\n  "//": "written by environment/setup.sh: Node scripts in this Python environment are CommonJS, whatever the project around it declares",\n  "type": "commonjs"\n}\n' > .venv/package.json
# Serve the project folder, not the folder jupyter lab is started from: the notebooks link to
# ../lib, ../environment and friends, which only resolve inside the server's root.
# (The environment's own jupyter_server_config.json: Jupyter reads ServerApp settings from there,
# while the jupyter_server_config.d/ files that packages install are read for extensions only.)
mkdir -p .venv/etc/jupyter
.venv/bin/python - "$root" <<'PY'
import json, sys
root = sys.argv[1]
path = ".venv/etc/jupyter/jupyter_server_config.json"
config = {"ServerApp": {"root_dir": root}}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
PY
say "JupyterLab serves $root wherever it is started"

say "done. Next: npm run doctor; .venv/bin/jupyter lab"
