#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, to try the job scripts of deploy/slurm/ and for
# CI (tests/slurm/run.sh): munged, slurmctld and slurmd started directly (no systemd), no
# cgroups, state and logs in one folder. Needs root and Debian's packages:
#   apt-get install -y slurm-wlm munge
#
# Usage: deploy/slurm/local-cluster.sh start|stop|status
#   start   writes slurm.conf, starts the daemons and waits until the node takes jobs
#   stop    stops the daemons this script started (by their pid files)
#   status  shows the node
#
# The configuration is written to $PATHCAST_SLURM_STATE/slurm.conf (default
# /tmp/pathcast-slurm) and linked from /etc/slurm/slurm.conf when that file does not exist,
# so that plain `sbatch`, `squeue` and `sinfo` find it; `stop` removes only that link.
# An existing /etc/slurm/slurm.conf (a real cluster's) is never touched: then export
# SLURM_CONF=$PATHCAST_SLURM_STATE/slurm.conf to talk to this cluster.
set -euo pipefail

STATE="${PATHCAST_SLURM_STATE:-/tmp/pathcast-slurm}"
CONF="$STATE/slurm.conf"
SYSTEM_CONF=/etc/slurm/slurm.conf
MUNGE_RUN=/run/munge
MUNGE_PID="$MUNGE_RUN/munged.pid"
export SLURM_CONF="$CONF"

die() {
  echo "local-cluster: $*" >&2
  exit 2
}

write_conf() {
  local host cpus
  host="$(hostname -s)"
  cpus="$(nproc)"
  mkdir -p "$STATE/ctld" "$STATE/d"
  # proctrack/linuxproc and task/none: no cgroups, which containers and CI machines often
  # lack. RealMemory is kept small so that any machine has it; jobs ask for less.
  cat >"$CONF" <<EOF
# Written by deploy/slurm/local-cluster.sh: a single-node cluster for testing.
ClusterName=pathcast-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
# Jobs are small: check for finished ones and start new ones often.
SchedulerParameters=sched_interval=2
# A job whose dependency can no longer be met (afterok on a failed array) is cancelled, not
# left pending forever.
DependencyParameters=kill_invalid_depend
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# Starts munged unless one runs already (then it is not ours to stop).
start_munge() {
  if [[ -f "$MUNGE_PID" ]] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null; then
    return
  fi
  if [[ ! -f /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 0755 "$MUNGE_RUN"
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  # munged refuses to run as root; it runs as the munge user the package made.
  runuser -u munge -- /usr/sbin/munged
  cp "$MUNGE_PID" "$STATE/munged.pid"
  munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
}

wait_for_node() {
  local host state
  host="$(hostname -s)"
  for _ in $(seq 60); do
    state="$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null || true)"
    case "$state" in
      idle* | mixed* | allocated*) return 0 ;;
      down* | drain*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
    esac
    sleep 1
  done
  echo "local-cluster: the node did not come up; its state: '${state:-none}'" >&2
  tail -n 20 "$STATE/slurmctld.log" "$STATE/slurmd.log" >&2 || true
  exit 1
}

start() {
  [[ $(id -u) == 0 ]] || die "start needs root (it runs munged, slurmctld and slurmd)"
  for cmd in munged slurmctld slurmd sinfo sbatch; do
    command -v "$cmd" >/dev/null || die "$cmd not found: apt-get install -y slurm-wlm munge"
  done
  write_conf
  start_munge
  # Daemons of an earlier start are restarted with the new configuration.
  stop_pid "$STATE/slurmd.pid"
  stop_pid "$STATE/slurmctld.pid"
  if [[ ! -e "$SYSTEM_CONF" ]]; then
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -s "$CONF" "$SYSTEM_CONF"
  elif [[ "$(readlink "$SYSTEM_CONF" || true)" != "$CONF" ]]; then
    echo "local-cluster: $SYSTEM_CONF exists; export SLURM_CONF=$CONF to use this cluster" >&2
  fi
  # -c: start from a clean state (no jobs of an earlier test).
  slurmctld -c
  slurmd
  wait_for_node
  echo "local-cluster: up ($(nproc) CPUs, node $(hostname -s)); state and logs in $STATE"
}

# Stops the daemon whose pid file is $1 and waits (bounded) for it to end.
stop_pid() {
  local pid
  [[ -f "$1" ]] || return 0
  pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$1"
}

stop() {
  stop_pid "$STATE/slurmd.pid"
  stop_pid "$STATE/slurmctld.pid"
  stop_pid "$STATE/munged.pid"
  if [[ "$(readlink "$SYSTEM_CONF" || true)" == "$CONF" ]]; then
    rm -f "$SYSTEM_CONF"
  fi
  echo "local-cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) die "usage: $0 start|stop|status" ;;
esac
