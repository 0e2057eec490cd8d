# Sourced by scripts/demo and scripts/test: make a virtual environment with the package, once.
# PYTHON names the interpreter (default python3), VENV the directory (default .venv). The venv
# is made afresh when it holds another Python than PYTHON; the package is reinstalled when
# pyproject.toml or src/conda_vendor_plugin/__init__.py (the version) changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
_version() { "$1" -c 'import sys; print(sys.version)'; }
if [ ! -x "$VENV/bin/python" ] || [ "$(_version "$VENV/bin/python")" != "$(_version "$PY")" ]; then
  "$PY" -m venv --clear "$VENV"
  echo '*' >"$VENV/.gitignore" # whatever its name, git leaves it alone
fi
if [ pyproject.toml -nt "$VENV/.installed" ] || [ src/conda_vendor_plugin/__init__.py -nt "$VENV/.installed" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[rattler,test]'
  touch "$VENV/.installed"
fi
export PATH="$PWD/$VENV/bin:$PATH"
