#!/bin/bash
# scripts/slurm/start.sh -- a single-node Slurm on this machine, for tempora's
# Slurm executor tests and for trying `--executor slurm` without a cluster.
#
# Runs as root without systemd (Debian 12 and its Slurm 22.05 packages):
#   1. installs munge, slurmctld, slurmd and slurm-client with apt-get, only
#      when one of them is missing (maintainer scripts may not start services);
#   2. writes /etc/slurm/slurm.conf for this node (its real name, CPUs and
#      memory) with settings that work in a container: no cgroups
#      (proctrack/linuxproc, task/none), no accounting (sacct is optional for
#      tempora), dependencies that can never be met are cancelled;
#   3. starts munged, slurmctld and slurmd in the background and waits until
#      the node is idle.
# Daemons already running are left alone. Only what this script starts gets a
# pid file under $TEMPORA_SLURM_DIR/run; scripts/slurm/stop.sh stops exactly
# those. Idempotent: a second call with nothing changed does nothing.
#
# Environment:
#   TEMPORA_SLURM_DIR=DIR  pid files and daemon output (default /tmp/tempora-slurm)
#   TEMPORA_SLURM_CPUS=N   advertise N CPUs instead of the machine's count
#   TEMPORA_SLURM_CLEAN=1  forget the old queue and job ids before starting
set -euo pipefail

DIR=${TEMPORA_SLURM_DIR:-/tmp/tempora-slurm}
RUN=$DIR/run
LOG=$DIR/log
CONF=/etc/slurm/slurm.conf
HOST=$(hostname -s)
T0=$(date +%s.%N)

say() { printf '[slurm start %s] %s\n' "$(date +%T)" "$*"; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root (I install packages and start daemons)"
mkdir -p "$RUN" "$LOG"

# ------------------------------------------------------------ 1. packages
missing=""
for p in munge slurmctld slurmd slurm-client; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing:$missing (log: $LOG/apt.log)"
  policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $missing >"$LOG/apt.log" 2>&1 \
    || { apt-get update >>"$LOG/apt.log" 2>&1 && apt-get install -y --no-install-recommends $missing >>"$LOG/apt.log" 2>&1; } \
    || { [ $policy = 1 ] && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed; see $LOG/apt.log"; }
  [ $policy = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# ------------------------------------------------------------ 2. keys, directories, config
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key --force
chown munge:munge /etc/munge/munge.key; chmod 0600 /etc/munge/munge.key
install -d -o slurm -g slurm -m 0755 /var/log/slurm /var/lib/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd

NODE=$(slurmd -C 2>/dev/null | head -1)   # NodeName=.. CPUs=.. ... RealMemory=..
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$NODE")
MEM=$(( MEM * 90 / 100 ))                  # leave the rest to the daemons
OVERRIDE=""
if [ -n "${TEMPORA_SLURM_CPUS:-}" ]; then
  NODE="NodeName=$HOST CPUs=$TEMPORA_SLURM_CPUS RealMemory=$MEM"
  OVERRIDE="SlurmdParameters=config_overrides"
else
  NODE=$(sed "s/RealMemory=[0-9]*/RealMemory=$MEM/" <<<"$NODE")
fi

NEW=$(mktemp)
cat >"$NEW" <<CONF
# written by tempora's scripts/slurm/start.sh: a single-node test cluster
ClusterName=tempora-local
SlurmctldHost=$HOST
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# no cgroups: works inside containers
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobContainerType=job_container/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
DependencyParameters=kill_invalid_depend
ReturnToService=2
KillWait=5
MinJobAge=300
MaxArraySize=10001
MailProg=/bin/true
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$OVERRIDE
$NODE State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
CHANGED=0
if ! cmp -s "$NEW" "$CONF"; then
  [ -f "$CONF" ] && [ ! -f "$CONF.orig" ] && cp -p "$CONF" "$CONF.orig"
  install -m 0644 "$NEW" "$CONF"; CHANGED=1; say "wrote $CONF"
fi
rm -f "$NEW"

# ------------------------------------------------------------ 3. daemons
# alive PID NAME: PID is a live (not zombie) process called NAME
alive() {
  local st
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# ours NAME: prints the pid of NAME if this script started it and it lives
ours() {
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f"); alive "$pid" "$1" && { echo "$pid"; return 0; }
  rm -f "$f"; return 1
}
# running NAME: prints the pid of a live NAME, ours or not (never used to kill)
running() {
  ours "$1" && return 0
  local p; for p in $(pgrep -x "$1"); do alive "$p" "$1" && { echo "$p"; return 0; }; done
  return 1
}
stop_ours() {
  local pid i; pid=$(ours "$1") || return 0
  kill -TERM "$pid"; for i in $(seq 1 300); do alive "$pid" "$1" || break; sleep 0.1; done
  alive "$pid" "$1" && kill -KILL "$pid"; rm -f "$RUN/$1.pid"; say "stopped $1 (pid $pid) to restart it"
}
wait_for() {
  local what=$1 end=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "gave up waiting for $what (logs: $LOG, /var/log/slurm)"
    sleep 0.2
  done
}
launch() {
  local name=$1 pid; shift
  if pid=$(running "$name"); then say "$name already running (pid $pid), left alone"; return 0; fi
  setsid "$@" </dev/null >>"$LOG/$name.out" 2>&1 &
  pid=$!; sleep 0.3
  alive "$pid" "$name" || die "$name did not start; see $LOG/$name.out"
  echo "$pid" >"$RUN/$name.pid"; say "started $name (pid $pid)"
}

launch munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground
wait_for munged 20 bash -c 'munge -n | unmunge'
if [ "${TEMPORA_SLURM_CLEAN:-0}" = 1 ] && ! running slurmctld >/dev/null; then
  rm -rf /var/lib/slurm/slurmctld/*
fi
if [ $CHANGED = 1 ] && running slurmctld >/dev/null; then
  if ours slurmctld >/dev/null; then stop_ours slurmd; stop_ours slurmctld
  else scontrol reconfigure || true; fi
fi
launch slurmctld /usr/sbin/slurmctld -D
wait_for slurmctld 60 bash -c 'scontrol ping | grep -q UP'
launch slurmd /usr/sbin/slurmd -D
node_ready() {
  local st; st=$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -1)
  case $st in
    idle|mixed|allocated|completing) return 0 ;;
    down*|drain*|fail*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true; return 1 ;;
    *) return 1 ;;
  esac
}
wait_for "node $HOST" 90 node_ready
say "ready in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s: $(sinfo -h -N -o '%N %T cpus=%c mem=%m')"
