#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, from Debian's packages (slurm-wlm, munge), for
# trying and testing deploy/slurm/campaign.sbatch: munged, slurmctld and slurmd as root, talking
# over localhost only, every file (config, key, sockets, state, logs, pid files) in one directory
# so nothing of a real installation is read or changed.
#
#   deploy/slurm/local-cluster.sh up      # (re)start it and wait until its node is idle
#   deploy/slurm/local-cluster.sh down    # cancel its jobs, stop its daemons
#   deploy/slurm/local-cluster.sh env     # the line that points Slurm's commands at it
#
# SAMSARA_SLURM_DIR (default /tmp/samsara-slurm) is the directory; SAMSARA_SLURM_PORT (default
# 16817) is slurmctld's port, slurmd takes the next one. `up` first stops whatever an earlier `up`
# of the same directory left running, so it can be run again at any time. Exit status of `up`: 0
# when the node is idle, 1 when a daemon failed (its log's tail is printed).
set -euo pipefail

DIR=${SAMSARA_SLURM_DIR:-/tmp/samsara-slurm}
PORT=${SAMSARA_SLURM_PORT:-16817}
NODE=samsara-node
MARK="# Written by deploy/slurm/local-cluster.sh:"
export SLURM_CONF=$DIR/slurm.conf

say() { echo "local-cluster: $*" >&2; }

# Whether process $1 runs and is still the program named $2 (a stale pid file may name a process
# reused since).
runs() { [[ $1 =~ ^[0-9]+$ && "$(cat "/proc/$1/comm" 2>/dev/null)" == "$2" ]]; }

# Whether daemon $1 of this cluster runs.
alive() { runs "$(cat "$DIR/pids/$1" 2>/dev/null || true)" "$1"; }

# Stops daemon $1: TERM, then KILL after 10 s.
stop() {
    local name=$1 pid
    pid=$(cat "$DIR/pids/$name" 2>/dev/null || true)
    if runs "$pid" "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while runs "$pid" "$name" && ((SECONDS < deadline)); do sleep 0.1; done
        if runs "$pid" "$name"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$DIR/pids/$name"
}

# Starts daemon $1 (the command line $@) in the foreground of a background process, so its pid is
# known at once, before it has forked or written a pid file of its own: a daemon that fails early
# is still found and stopped. Its output goes to NAME.out (never to this script's caller's pipes).
start() {
    local name=$1
    shift
    "$@" </dev/null >>"$DIR/$name.out" 2>&1 &
    echo $! >"$DIR/pids/$name"
}

# Job ids in the queue; nothing when slurmctld does not answer within 5 s.
queue() { timeout 5 squeue --noheader --format=%i 2>/dev/null || true; }

down() {
    [[ -d $DIR ]] || return 0
    # Jobs first: a job's slurmstepd outlives slurmd, so cancel them while slurmctld can (15 s).
    if alive slurmctld; then
        local jobs deadline=$((SECONDS + 15))
        jobs=$(queue)
        # shellcheck disable=SC2086 # one argument per job id
        [[ -n $jobs ]] && { timeout 5 scancel --quiet $jobs 2>/dev/null || true; }
        while [[ -n "$(queue)" ]] && ((SECONDS < deadline)); do sleep 0.2; done
    fi
    stop slurmd
    stop slurmctld
    stop munged
}

# Prints the last lines of the daemons' logs (why a start failed).
logs() {
    for log in "$DIR"/{munged,slurmctld,slurmd}.{out,log}; do
        [[ -f $log ]] && { echo "--- $log"; tail -n 15 "$log"; }
    done >&2
}

fail() {
    say "$*"
    logs
    down
    exit 1
}

up() {
    for tool in munged mungekey slurmctld slurmd sinfo; do
        command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install slurm-wlm munge)"; exit 1; }
    done
    [[ $(id -u) == 0 ]] || { say "must run as root (the daemons and the jobs run as root)"; exit 1; }
    # The directory is wiped: refuse one that holds anything but an earlier cluster of this script.
    if [[ -d $DIR && -n "$(ls -A "$DIR")" ]] && ! grep -qs "^$MARK" "$DIR/slurm.conf"; then
        say "$DIR is not empty and holds no cluster of this script: choose another SAMSARA_SLURM_DIR"
        exit 1
    fi
    down
    rm -rf "$DIR"
    # munged wants every directory on the way to its socket searchable by all, and its key private.
    mkdir -p "$DIR/spool" "$DIR/state" "$DIR/pids"
    chmod 755 "$DIR"
    mungekey --create --keyfile="$DIR/munge.key" --bits=1024
    chmod 600 "$DIR/munge.key"

    local cpus mem host
    cpus=$(nproc)
    # Slurm drains a node that has less memory than configured: leave the kernel its share.
    mem=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)
    host=$(hostname -s 2>/dev/null || uname -n)
    cat >"$SLURM_CONF" <<CONF
$MARK one node, this machine, localhost only.
ClusterName=samsara
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire: a requeued job waits this long before it may start again (default 120 s).
AuthInfo=socket=$DIR/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
# No cgroups: a plain process tree is enough for one node, and works in a container.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# No accounting database: sacct is not available; squeue and scontrol tell a job's state, kept
# MinJobAge seconds after it ends.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
MinJobAge=600
ReturnToService=2
# Look at pending jobs every second: a requeued job starts as soon as it may, not a minute later.
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

    local deadline=$((SECONDS + 10))
    start munged munged --foreground --socket="$DIR/munge.socket" --key-file="$DIR/munge.key" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munged.seed"
    until [[ -S $DIR/munge.socket ]]; do
        alive munged || fail "munged stopped while starting"
        ((SECONDS < deadline)) || fail "munged made no socket in 10 s"
        sleep 0.1
    done
    # -c: a clean start, with no jobs remembered from an earlier cluster in this directory.
    start slurmctld slurmctld -D -c
    start slurmd slurmd -D -N "$NODE"

    # A busy port or a bad config shows as a daemon gone. Wait 60 s at most, whatever the commands
    # on the way take.
    local state=""
    deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        for daemon in munged slurmctld slurmd; do
            alive "$daemon" || fail "$daemon stopped while starting"
        done
        state=$(timeout 5 sinfo --noheader --nodes="$NODE" --format=%T 2>/dev/null || true)
        [[ $state == idle ]] && { say "node $NODE is idle ($cpus CPUs, $mem MB); $(env_line)"; return 0; }
        sleep 0.2
    done
    fail "node $NODE is not idle after 60 s (state: ${state:-none})"
}

env_line() { echo "export SLURM_CONF=$SLURM_CONF"; }

case ${1:-} in
    up) up ;;
    down) down ;;
    env) env_line ;;
    *)
        echo "usage: $0 up|down|env" >&2
        exit 2
        ;;
esac
