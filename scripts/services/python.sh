#!/usr/bin/env bash
# Creates the project's Python environment (.venv, gitignored) with the pinned
# pyarrow that the Flight end-to-end tests drive as a real Flight client.
# Idempotent: a venv that already has the pinned version is left alone, so CI
# and developers can call it before every test run at no cost.
set -euo pipefail

PYARROW_VERSION="${PYARROW_VERSION:-21.0.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$PYARROW_VERSION" <<'PYEOF' 2>/dev/null
import sys, pyarrow, pyarrow.flight
sys.exit(0 if pyarrow.__version__ == sys.argv[1] else 1)
PYEOF
then
  echo "python.sh: .venv has pyarrow $PYARROW_VERSION"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pyarrow==$PYARROW_VERSION"
"$VENV/bin/python" -c "import pyarrow, pyarrow.flight; print('python.sh: .venv has pyarrow', pyarrow.__version__)"
