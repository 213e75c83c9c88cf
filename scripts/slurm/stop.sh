#!/bin/bash
# scripts/slurm/stop.sh -- stops the daemons scripts/slurm/start.sh started
# (its pid files under $TEMPORA_SLURM_DIR/run), never anything else and never
# by name. First cancels the jobs left in that cluster's queue, so no job
# process outlives slurmd (TEMPORA_SLURM_KEEP_JOBS=1 skips this).
set -uo pipefail

RUN=${TEMPORA_SLURM_DIR:-/tmp/tempora-slurm}/run
say() { printf '[slurm stop %s] %s\n' "$(date +%T)" "$*"; }
alive() {
  local st
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
ours() {
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f"); alive "$pid" "$1" && { echo "$pid"; return 0; }
  rm -f "$f"; return 1
}
stop() {
  local name=$1 pid i own
  pid=$(ours "$name") || { say "$name: not started by start.sh (or stopped already), left alone"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 300); do alive "$pid" "$name" || break; sleep 0.1; done
  alive "$pid" "$name" && { say "$name ignored SIGTERM, killing it"; kill -KILL "$pid"; sleep 0.5; }
  rm -f "$RUN/$name.pid"
  # daemons that dropped root leave their own pid file behind
  case $name in slurmd) own=/run/slurmd.pid ;; slurmctld) own=/run/slurmctld.pid ;; *) own=/run/munge/munged.pid ;; esac
  [ -f "$own" ] && [ "$(tr -d ' \n' <"$own")" = "$pid" ] && rm -f "$own"
  say "stopped $name (pid $pid)"
}

if [ "${TEMPORA_SLURM_KEEP_JOBS:-0}" != 1 ] && ours slurmctld >/dev/null && ours slurmd >/dev/null; then
  jobs=$(squeue -h -o %F 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 1 75); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
fi
for d in slurmd slurmctld munged; do stop "$d"; done
