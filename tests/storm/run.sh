#!/usr/bin/env bash
# Checks `pathcast export --prism` against the Storm model checker (stormpy) on every preset:
# installs stormpy, builds pathcast in release mode, and compares Storm's P=? [F "<id>"] with
# `pathcast exact` for every outcome and event (see tests/storm/check_prism.py).
# Run from the repository root: bash tests/storm/run.sh [check_prism.py options] [SCENARIO...]
set -euo pipefail

if [[ ! -f Cargo.toml || ! -f tests/storm/check_prism.py ]]; then
  echo "error: run tests/storm/run.sh from the repository root" >&2
  exit 2
fi

PYTHON="${PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree
STORMPY_VERSION="2.0.0"

# Installs stormpy only when that version is not importable yet (no network when it is).
if ! "$PYTHON" -c "import sys, stormpy; sys.exit(stormpy.__version__ != '$STORMPY_VERSION')" \
  >/dev/null 2>&1; then
  echo "installing stormpy==$STORMPY_VERSION"
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    "stormpy==$STORMPY_VERSION"
fi

cargo build --release --quiet
"$PYTHON" tests/storm/check_prism.py --pathcast target/release/pathcast "$@"
