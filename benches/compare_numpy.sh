#!/usr/bin/env bash
# pathcast against a vectorised NumPy implementation of the same scenario semantics.
#
# Run from the repository root:
#
#   benches/compare_numpy.sh                          # first-format baseline: 10M pathcast paths, 2M NumPy paths
#   benches/compare_numpy.sh --paths 1000000 --numpy-paths 200000 --scenario sanctions
#   benches/compare_numpy.sh --exact-check            # also: NumPy against `pathcast exact`, every preset it covers
#
# It installs NumPy with pip if it is missing, builds pathcast (`cargo build --release`), runs
# NumPy implements the first scenario format (events that happen once and stay, constant
# probabilities), so the default scenario is the baseline as it was in that format
# (tests/golden/v1-baseline/baseline.toml), on which the figures of benches/README.md were
# measured; presets with events that end or rates that change are skipped by --exact-check.
#
# pathcast on all cores and on one thread, and runs benches/numpy_baseline.py (single-threaded,
# as NumPy is) on the resolved scenario.toml that pathcast wrote. It prints paths/s for each and
# the ratios pathcast/NumPy, then the outcome (and event) probabilities side by side with their
# difference in standard errors, flagging any beyond 5: a check that both simulate one model.
# Timings are wall clock around each whole command (start-up and CSV writing included; NumPy's
# own simulation time, without the interpreter start and imports, is printed beside it).
#
# Options (defaults in brackets):
#   --paths N          paths for pathcast [10000000]
#   --numpy-paths N    paths for NumPy [2000000]
#   --threads N        threads of the multi-threaded pathcast run [nproc]
#   --scenario S       preset name or scenario file [tests/golden/v1-baseline/baseline.toml]
#   --seed S           seed for both [the scenario's seed]
#   --batch N          NumPy paths per batch, bounds memory [1000000]
#   --exact-check      afterwards, compare NumPy with `pathcast exact` on every preset
#   --exact-paths N    NumPy paths per preset for --exact-check [1000000]
#   --skip-one-thread  do not run pathcast with --threads 1
#   --keep             keep the temporary folder with every output
#
# Exit status: 0, or 3 when some difference exceeds 5 standard errors.

set -euo pipefail

PYTHON=${PYTHON:-python3}
PATHS=10000000
NUMPY_PATHS=2000000
THREADS=$(nproc 2>/dev/null || echo 2)
SCENARIO=tests/golden/v1-baseline/baseline.toml
SEED=
BATCH=1000000
EXACT_CHECK=0
EXACT_PATHS=1000000
ONE_THREAD=1
KEEP=0

usage() { sed -n '2,/^# Exit status/p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case $1 in
    --paths) PATHS=$2; shift 2 ;;
    --numpy-paths) NUMPY_PATHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --scenario) SCENARIO=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --exact-check) EXACT_CHECK=1; shift ;;
    --exact-paths) EXACT_PATHS=$2; shift 2 ;;
    --skip-one-thread) ONE_THREAD=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -f Cargo.toml || ! -f benches/numpy_baseline.py ]]; then
  echo "error: run this from the repository root (benches/compare_numpy.sh)" >&2
  exit 2
fi

# --- Set-up ----------------------------------------------------------------------------------

if ! "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "error: $PYTHON must be Python 3.11 or newer (tomllib)" >&2
  exit 2
fi
if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
  echo "installing numpy with pip..." >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check numpy
fi
cargo build --release --quiet
PATHCAST=target/release/pathcast

TMP=$(mktemp -d "${TMPDIR:-/tmp}/compare_numpy.XXXXXX")
if [[ $KEEP == 1 ]]; then
  echo "outputs kept in $TMP" >&2
else
  trap 'rm -rf "$TMP"' EXIT
fi

seed_args=()
numpy_seed_args=()
if [[ -n $SEED ]]; then
  seed_args=(--seed "$SEED")
  numpy_seed_args=(--seed "$SEED")
fi

now() { date +%s.%N; }
# rate PATHS START END: paths per second
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
group() { printf "%'d" "$1" 2>/dev/null || printf "%d" "$1"; }

# --- Runs ------------------------------------------------------------------------------------

echo "pathcast: $SCENARIO, $PATHS paths on $THREADS threads..." >&2
t0=$(now)
"$PATHCAST" run "$SCENARIO" --paths "$PATHS" --threads "$THREADS" "${seed_args[@]}" \
  --out "$TMP/pathcast" >"$TMP/pathcast.log" 2>&1 || { cat "$TMP/pathcast.log" >&2; exit 1; }
t1=$(now)
pc_rate=$(rate "$PATHS" "$t0" "$t1")

if [[ $ONE_THREAD == 1 ]]; then
  echo "pathcast: $SCENARIO, $PATHS paths on 1 thread..." >&2
  t0=$(now)
  "$PATHCAST" run "$SCENARIO" --paths "$PATHS" --threads 1 "${seed_args[@]}" \
    --out "$TMP/pathcast1" >"$TMP/pathcast1.log" 2>&1 || { cat "$TMP/pathcast1.log" >&2; exit 1; }
  t1=$(now)
  pc1_rate=$(rate "$PATHS" "$t0" "$t1")
fi

echo "numpy: $NUMPY_PATHS paths on the resolved $TMP/pathcast/scenario.toml..." >&2
status=0
t0=$(now)
"$PYTHON" benches/numpy_baseline.py "$TMP/pathcast/scenario.toml" --paths "$NUMPY_PATHS" \
  --batch "$BATCH" "${numpy_seed_args[@]}" --json "$TMP/numpy.json" --against "$TMP/pathcast" \
  >"$TMP/numpy.log" 2>&1 || status=$?
t1=$(now)
if [[ $status != 0 && $status != 3 ]]; then cat "$TMP/numpy.log" >&2; exit "$status"; fi
np_rate=$(rate "$NUMPY_PATHS" "$t0" "$t1")
np_inner=$("$PYTHON" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["paths_per_s"]))' \
  "$TMP/numpy.json")
np_version=$("$PYTHON" -c 'import numpy; print(numpy.__version__)')

# --- Report ----------------------------------------------------------------------------------

echo
echo "== $SCENARIO: paths per second (wall clock; $(nproc 2>/dev/null || echo '?') cores;" \
  "load average$(uptime | sed 's/.*load average[s]*://')) =="
printf '%-34s %14s %14s\n' "" "paths/s" "vs NumPy"
printf '%-34s %14s %14s\n' "NumPy $np_version, 1 thread" "$(group "$np_rate")" "1.0"
printf '%-34s %14s %14s\n' "  (simulation alone)" "$(group "$np_inner")" ""
if [[ $ONE_THREAD == 1 ]]; then
  printf '%-34s %14s %14s\n' "pathcast, 1 thread" "$(group "$pc1_rate")" "$(ratio "$pc1_rate" "$np_rate")"
fi
printf '%-34s %14s %14s\n' "pathcast, $THREADS threads" "$(group "$pc_rate")" "$(ratio "$pc_rate" "$np_rate")"
echo "(pathcast $PATHS paths, NumPy $NUMPY_PATHS paths)"
if [[ $ONE_THREAD == 1 ]]; then
  if cmp -s "$TMP/pathcast/outcomes.csv" "$TMP/pathcast1/outcomes.csv" &&
     cmp -s "$TMP/pathcast/events.csv" "$TMP/pathcast1/events.csv"; then
    echo "pathcast's CSV files are identical on 1 and $THREADS threads, as documented."
  else
    echo "WARNING: pathcast's CSV files differ between 1 and $THREADS threads."
    status=3
  fi
fi

echo
echo "== $SCENARIO: probabilities, pathcast ($PATHS paths) against NumPy ($NUMPY_PATHS paths) =="
echo "diff/se: the difference over the standard error of the difference of two estimates"
sed -n '/^against /,$p' "$TMP/numpy.log" | tail -n +2

# --- NumPy against the exact solver, every preset ---------------------------------------------

if [[ $EXACT_CHECK == 1 ]]; then
  echo
  echo "== NumPy ($EXACT_PATHS paths each) against pathcast exact, every preset =="
  printf '%-18s %10s %8s %10s %s\n' preset "numpy s" "max|z|" "at" verdict
  for preset in $("$PATHCAST" list | awk 'NR == 1 { next } !NF { exit } { print $1 }'); do
    dir=$TMP/exact-$preset
    "$PATHCAST" run "$preset" --paths 1000 --out "$dir/run" >/dev/null 2>&1
    # The NumPy implementation covers the first format only.
    if grep -qE '\.ends\]|half_life|until *=' "$dir/run/scenario.toml"; then
      printf '%-18s %10s %8s %10s %s\n' "$preset" - - - "skipped (events that end or rates)"
      continue
    fi
    "$PATHCAST" exact "$preset" --out "$dir/exact" >/dev/null 2>&1
    preset_status=0
    "$PYTHON" benches/numpy_baseline.py "$dir/run/scenario.toml" --paths "$EXACT_PATHS" \
      --batch "$BATCH" "${numpy_seed_args[@]}" --json "$dir/numpy.json" --against "$dir/exact" \
      >"$dir/numpy.log" 2>&1 || preset_status=$?
    if [[ $preset_status != 0 && $preset_status != 3 ]]; then
      cat "$dir/numpy.log" >&2; exit "$preset_status"
    fi
    # The largest |diff/se| over outcomes and events, from the comparison table.
    read -r maxz at < <(awk '/^against /{on=1; next} on && NF >= 5 && $5 ~ /^[-+][0-9]/ {
        z = $5 < 0 ? -$5 : $5; if (z > m) { m = z; id = $1 } }
        END { printf "%.2f %s\n", m, id }' "$dir/numpy.log")
    secs=$("$PYTHON" -c 'import json, sys; print(format(json.load(open(sys.argv[1]))["seconds"], ".1f"))' \
      "$dir/numpy.json")
    if [[ $preset_status == 3 ]]; then
      verdict="DIFFERS (see below)"; status=3
    else
      verdict=ok
    fi
    printf '%-18s %10s %8s %10s %s\n' "$preset" "$secs" "$maxz" "$at" "$verdict"
    if [[ $preset_status == 3 ]]; then
      sed -n '/^against /,$p' "$dir/numpy.log" | grep -E 'beyond|^(outcome|event) ' >&2 || true
    fi
  done
fi

exit "$status"
