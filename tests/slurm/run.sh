#!/usr/bin/env bash
# The README's "Running on a cluster" commands on a real Slurm: installs Slurm and munge from
# Debian's packages when missing (needs root), starts a single-node cluster
# (deploy/slurm/local-cluster.sh), submits deploy/slurm/shards.sbatch as an array of 4 tasks
# and deploy/slurm/merge.sbatch after it, and checks with `cmp` that the merged tables are
# those of one run. Then: a lost shard is refused and named as `sbatch --array` takes it, and
# resubmitting that shard mends the merge; and 2 tasks running 4 shards
# merge to the same tables. The daemons are stopped at the end, whatever happens.
# Run from the repository root: bash tests/slurm/run.sh
set -euo pipefail

if [[ ! -f Cargo.toml || ! -f deploy/slurm/shards.sbatch ]]; then
  echo "error: run tests/slurm/run.sh from the repository root" >&2
  exit 2
fi
repo="$PWD"
PATHS=2000000
SEED=11
# Bounds the wait for each set of jobs; they take seconds.
WAIT_SECONDS=300

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [[ $(id -u) != 0 ]]; then
    echo "error: Slurm is not installed; as root: apt-get install -y slurm-wlm munge" >&2
    exit 2
  fi
  echo "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

cargo build --release --quiet
export PATHCAST="$repo/target/release/pathcast"
work="$(mktemp -d /tmp/pathcast-slurm-test.XXXXXX)"
cleanup() {
  "$repo/deploy/slurm/local-cluster.sh" stop || true
  rm -rf "$work"
}
trap cleanup EXIT
# Interrupted (Ctrl-C, CI's timeout): exit, so that the EXIT trap stops the daemons.
trap 'exit 130' INT TERM
"$repo/deploy/slurm/local-cluster.sh" start
# Results and Slurm's log files go to the scratch folder, not the checkout.
cd "$work"

fail() {
  echo "FAILED: $*" >&2
  tail -n 50 "$work"/slurm-*.out >&2 || true
  exit 1
}

# Waits (bounded) until job $1 has left the queue, and checks that all its tasks completed.
wait_for() {
  local deadline=$((SECONDS + WAIT_SECONDS)) states
  while [[ -n "$(squeue --noheader --jobs="$1" 2>/dev/null)" ]]; do
    if ((SECONDS > deadline)); then
      scancel "$1" || true
      fail "job $1 still queued or running after $WAIT_SECONDS s"
    fi
    sleep 1
  done
  states="$(scontrol show job "$1" | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ')"
  [[ "$states" == "JobState=COMPLETED " ]] || fail "job $1 ended as: $states"
}

# cmp of every table and the scenario of folder $1 against the single run.
same_as_single() {
  for file in outcomes.csv events.csv timeline.csv conditional.csv scenario.toml; do
    cmp "single/$file" "$1/$file" || fail "$1/$file differs from one run's"
  done
  echo "ok: $1 is byte-identical to one run of $PATHS paths"
}

started=$SECONDS
"$PATHCAST" run baseline --paths "$PATHS" --seed "$SEED" --out single >/dev/null

echo "== the README's commands, with 4 tasks"
jobid=$(sbatch --parsable --array=0-3 "$repo/deploy/slurm/shards.sbatch" baseline "$PATHS" \
  results --seed "$SEED")
merge=$(sbatch --parsable --dependency="afterok:$jobid" "$repo/deploy/slurm/merge.sbatch" results)
wait_for "$jobid"
wait_for "$merge"
same_as_single results/merged
[[ $(grep -c '^\[\[merged_shards\]\]' results/merged/manifest.toml) == 4 ]] ||
  fail "the merged manifest does not list 4 shards"

echo "== a lost shard: refused, named for sbatch --array, then resubmitted"
rm -rf results/shard-2 results/merged
status=0
"$PATHCAST" merge results/shard-* --out results/merged 2>merge.err || status=$?
[[ $status == 2 ]] || fail "merge with a shard missing exited with $status, not 2"
grep -q -- 'PATHCAST_SHARDS=4 sbatch --array=2 ' merge.err ||
  fail "merge did not name the missing shard: $(cat merge.err)"
[[ ! -e results/merged ]] || fail "merge with a shard missing wrote results/merged"
jobid=$(PATHCAST_SHARDS=4 sbatch --parsable --array=2 "$repo/deploy/slurm/shards.sbatch" \
  baseline "$PATHS" results --seed "$SEED")
wait_for "$jobid"
"$PATHCAST" merge results/shard-* --out results/merged >/dev/null
same_as_single results/merged

echo "== 2 tasks running 2 shards each of 4 (PATHCAST_SHARDS_PER_TASK)"
jobid=$(PATHCAST_SHARDS=4 PATHCAST_SHARDS_PER_TASK=2 sbatch --parsable --array=0-1 \
  "$repo/deploy/slurm/shards.sbatch" baseline "$PATHS" looped --seed "$SEED")
merge=$(sbatch --parsable --dependency="afterok:$jobid" "$repo/deploy/slurm/merge.sbatch" looped)
wait_for "$jobid"
wait_for "$merge"
same_as_single looped/merged

echo "passed: Slurm array, merge, recovery and looped shards in $((SECONDS - started)) s"
