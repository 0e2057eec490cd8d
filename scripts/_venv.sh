# Sourced by scripts/demo and scripts/test: make ./.venv with the package, once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[rattler,test]'
  touch .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"
