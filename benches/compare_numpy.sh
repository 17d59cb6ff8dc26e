#!/usr/bin/env bash
# pathcast against a vectorised NumPy implementation and a Numba per-step kernel of the same
# scenario semantics, on issue 15's synthetic suite and the baseline: one command, one table of
# paths/s and ratios, every figure from this one run. "The baseline" here is the first-format
# baseline frozen in tests/golden/v1-baseline/baseline.toml (the one issue 15 measured): the
# revised presets have events that end and probabilities that change over time, which
# `export --json` (format version 1) and so the Python kernels do not describe.
#
# Run from the repository root:
#
#   benches/compare_numpy.sh                     # the suite and the baseline (about 10 minutes)
#   benches/compare_numpy.sh --quick             # shorter rounds, one each (about 3 minutes)
#   benches/compare_numpy.sh --only 'dense|baseline' --rounds 5
#   benches/compare_numpy.sh --check             # also: both kernels against `pathcast exact`
#
# It makes a Python environment in benches/.venv from benches/requirements.txt if needed (or
# uses $PYTHON as it is), builds pathcast (`cargo build --release`), writes the suite's scenarios
# with `cargo bench --bench suite -- --write-only` (so they are generated in one place, in
# benches/suite.rs), runs `cargo bench --bench suite` for the per-step Rust kernel, and then
# `benches/numpy_baseline.py bench`, which times, for each scenario, alternately and --rounds
# times each: `pathcast run --threads 1` (wall clock of the whole command, start-up and output
# files included), the NumPy implementation and the Numba kernel (simulation only: no
# interpreter start, import, model loading or compilation), each sized to --seconds, and
# keeps each side's best round. Every thread pool is pinned to one thread.
#
# Options (defaults in brackets):
#   --quick            --seconds 0.5 --rounds 1, and the suite bench's --quick
#   --seconds S        seconds per round and side [2]
#   --rounds R         rounds per side [3]
#   --only REGEX       only the scenarios whose id matches (grep -E)
#   --no-numba         NumPy only
#   --no-suite-bench   skip `cargo bench --bench suite` (the per-step Rust column)
#   --check            first check both kernels against `pathcast exact` on the baseline
#   --check-only       only that check (about a minute with the set-up; CI runs it)
#   --out DIR          where the table goes [output/compare_numpy]
#
# Writes DIR/table.md (the machine, load and table, for benches/README.md), DIR/results.json
# and DIR/suite_bench.txt. Exit status: 0, or 3 when --check finds a kernel off.

set -euo pipefail

SECONDS_PER_ROUND=2
ROUNDS=3
ONLY=
NUMBA=1
SUITE_BENCH=1
CHECK=0
QUICK=0
OUT=output/compare_numpy

ARGS=("$@")
usage() { sed -n '2,/^# Writes/p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1; SECONDS_PER_ROUND=0.5; ROUNDS=1; shift ;;
    --seconds) SECONDS_PER_ROUND=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --no-numba) NUMBA=0; shift ;;
    --no-suite-bench) SUITE_BENCH=0; shift ;;
    --check) CHECK=1; shift ;;
    --check-only) CHECK=2; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -f Cargo.toml || ! -f benches/numpy_baseline.py ]]; then
  echo "error: run this from the repository root (benches/compare_numpy.sh)" >&2
  exit 2
fi

# --- Set-up ----------------------------------------------------------------------------------

# One thread everywhere: the comparison is one core against one core.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
# Set on some machines for old OpenBLAS builds; they slow a current NumPy (no BLAS is used here).
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export PYTHONDONTWRITEBYTECODE=1

if [[ -z ${PYTHON:-} ]]; then
  if [[ ! -x benches/.venv/bin/python ]]; then
    echo "creating benches/.venv..." >&2
    python3 -m venv benches/.venv
  fi
  PYTHON=benches/.venv/bin/python
fi
# Installs benches/requirements.txt unless those exact versions are importable already.
if ! "$PYTHON" - <<'EOF' 2>/dev/null; then
import importlib.metadata as m, sys
for line in open("benches/requirements.txt"):
    name, _, version = line.strip().partition("==")
    if name and m.version(name) != version:
        sys.exit(1)
EOF
  echo "installing benches/requirements.txt..." >&2
  PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    -r benches/requirements.txt
fi

cargo build --release --quiet
PATHCAST=$PWD/target/release/pathcast
BASELINE=$PWD/tests/golden/v1-baseline/baseline.toml
export PATHCAST

status=0
if [[ $CHECK != 0 ]]; then
  echo "== both kernels against pathcast exact, on the first-format baseline" >&2
  "$PYTHON" benches/numpy_baseline.py check "$BASELINE" || status=$?
  if [[ $CHECK == 2 || ($status != 0 && $status != 3) ]]; then exit "$status"; fi
fi

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/compare_numpy.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

echo "writing the suite's scenarios (cargo bench --bench suite -- --write-only)..." >&2
suite_ids=$(cargo bench --quiet --bench suite -- --write-only "$TMP/suite")
scenarios=()
for id in $suite_ids baseline; do
  if [[ -z $ONLY ]] || grep -Eq "$ONLY" <<<"$id"; then
    if [[ $id == baseline ]]; then scenarios+=("$BASELINE"); else scenarios+=("$TMP/suite/$id.toml"); fi
  fi
done
if [[ ${#scenarios[@]} == 0 ]]; then
  echo "error: no scenario matches --only '$ONLY'" >&2
  exit 2
fi

load_before=$(uptime | sed 's/.*load average[s]*: *//')
started=$(date -u '+%Y-%m-%d %H:%M UTC')

suite_args=()
if [[ $SUITE_BENCH == 1 ]]; then
  echo "== cargo bench --bench suite (pathcast against the per-step Rust kernel)" >&2
  quick=()
  if [[ $QUICK == 1 ]]; then quick=(--quick); fi
  cargo bench --quiet --bench suite -- "${quick[@]}" | tee "$OUT/suite_bench.txt"
  suite_args=(--suite-table "$OUT/suite_bench.txt")
fi

echo "== pathcast (1 thread), NumPy and Numba, $ROUNDS round(s) of about ${SECONDS_PER_ROUND} s each" >&2
bench_args=(--seconds "$SECONDS_PER_ROUND" --rounds "$ROUNDS" --json "$OUT/results.json"
  --markdown "$TMP/table.md" "${suite_args[@]}")
if [[ $NUMBA == 0 ]]; then bench_args+=(--no-numba); fi
"$PYTHON" benches/numpy_baseline.py bench "${scenarios[@]}" "${bench_args[@]}"

load_after=$(uptime | sed 's/.*load average[s]*: *//')
{
  echo "Measured $started to $(date -u '+%H:%M UTC') by \`benches/compare_numpy.sh${ARGS[*]:+ ${ARGS[*]}}\`"
  echo "on $(getconf _NPROCESSORS_ONLN) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)),"
  echo "$(free -g | awk '/^Mem:/ { print $2 }') GiB; load average $load_before before, $load_after after;"
  echo "pathcast $(git describe --always --dirty 2>/dev/null || echo '?'), $(rustc --version | cut -d' ' -f1-2);"
  echo "$("$PYTHON" -c 'import sys; sys.path.insert(0, "benches")
import numpy_baseline as nb; print(nb.versions())')."
  echo "paths/s, best of $ROUNDS round(s) of about ${SECONDS_PER_ROUND} s; one thread each."
  echo
  cat "$TMP/table.md"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
echo
echo "wrote $OUT/table.md, $OUT/results.json" >&2
exit "$status"
