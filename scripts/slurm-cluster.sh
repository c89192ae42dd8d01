#!/usr/bin/env bash
# A real, single-node SLURM cluster on this machine, for genoflow's cluster test
# (`make test-cluster`): munge, MariaDB + slurmdbd (accounting: the Snakemake SLURM executor
# plugin asks `sacct` for job states, and the test reads the scheduler's records), slurmctld and
# slurmd, all on 127.0.0.1.
#
#   scripts/slurm-cluster.sh install   apt-get the Debian packages that are missing (idempotent)
#   scripts/slurm-cluster.sh start     write the configs, start the daemons that are not running,
#                                      wait until the node is idle (safe to rerun)
#   scripts/slurm-cluster.sh stop      cancel leftover jobs, stop exactly the daemons `start`
#                                      started (by their recorded pids), remove the pid files
#                                      and the config files; the state directory stays
#   scripts/slurm-cluster.sh status    which daemons run, and sinfo
# Subcommands can be chained: `scripts/slurm-cluster.sh install start`.
#
# Needs root on Debian 12 (no systemd needed). The daemons run in the foreground (-D / -F /
# mariadbd), each in its own session, started in the background with its pid recorded. All they
# write lives in the state directory, $GENOFLOW_SLURM_DIR (default /tmp/genoflow-slurm), except
# /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf: the Snakemake SLURM jobstep strips every
# SLURM_* variable (SLURM_CONF included) before its inner `srun`, which then only finds the
# default location. The script never overwrites config files that it did not write itself.
#
# Environment: GENOFLOW_SLURM_DIR (state directory), GENOFLOW_SLURM_TIMEOUT (seconds to wait
# for each daemon and for the node to become idle; default 120).
set -euo pipefail

STATE=${GENOFLOW_SLURM_DIR:-/tmp/genoflow-slurm}
TIMEOUT=${GENOFLOW_SLURM_TIMEOUT:-120}
CONF_DIR=/etc/slurm
SLURM_CONF_FILE=$CONF_DIR/slurm.conf
DBD_CONF_FILE=$CONF_DIR/slurmdbd.conf
MARKER="# Written by genoflow scripts/slurm-cluster.sh"
CLUSTER=genoflow
PARTITION=main
PACKAGES=(munge mariadb-server slurmdbd slurmctld slurmd slurm-client)
# Start order; `stop` goes backwards. Each name is also the daemon's process name (comm).
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
RUN=$STATE/run   # our pid files (<daemon>.pid), sockets
LOG=$STATE/log   # daemon logs and their stdout/stderr (<daemon>.out)
MUNGE_SOCKET=$RUN/munge.socket
NODE=$(hostname -s)

log() { echo "slurm-cluster: $*" >&2; }

die() {
    log "error: $*"
    exit 1
}

need_root() { [[ $(id -u) == 0 ]] || die "run as root (it installs packages and writes $CONF_DIR)"; }

# --- install -------------------------------------------------------------------------------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

cmd_install() {
    need_root
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        log "packages already installed: ${PACKAGES[*]}"
        return
    fi
    log "installing ${missing[*]}"
    # Package scripts must not start the distribution's own services: this script starts (and
    # stops) its daemons itself. policy-rc.d exit code 101 = "action forbidden".
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        own_policy=1
    fi
    local status=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null; } || status=$?
    if ((own_policy)); then rm -f "$policy"; fi
    ((status == 0)) || die "apt-get install ${missing[*]} failed (exit $status)"
    for pkg in "${PACKAGES[@]}"; do
        installed "$pkg" || die "package $pkg is still not installed"
    done
}

# --- daemons by pid ------------------------------------------------------------------------

pidfile() { echo "$RUN/$1.pid"; }

# The recorded pid of a daemon if that process still runs and is still that daemon (a pid
# can be reused after a crash); nothing otherwise.
live_pid() {
    local file pid
    file=$(pidfile "$1")
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$1" ]] || return 1
    echo "$pid"
}

# launch NAME COMMAND...: start COMMAND (which stays in the foreground) in the background, in
# its own session so that a Ctrl-C in the terminal does not reach it, and record its pid.
launch() {
    local name=$1
    shift
    if live_pid "$name" >/dev/null; then
        log "$name already running (pid $(live_pid "$name"))"
        return
    fi
    # This script runs without job control, so setsid does not fork: $! is the daemon itself.
    setsid "$@" </dev/null >>"$LOG/$name.out" 2>&1 &
    local pid=$!
    echo "$pid" >"$(pidfile "$name")"
    # Until the exec, the process is still called bash or setsid.
    local deadline=$((SECONDS + 5))
    until live_pid "$name" >/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
            show_logs "$name"
            die "$name did not start (logs above, all logs in $LOG)"
        fi
        sleep 0.05
    done
    log "started $name (pid $pid)"
}

# wait_until NAME WHAT COMMAND...: poll COMMAND until it succeeds; fail early if daemon NAME
# died, or after $TIMEOUT seconds, showing the end of its logs.
wait_until() {
    local name=$1 what=$2
    shift 2
    local deadline=$((SECONDS + TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! live_pid "$name" >/dev/null; then
            show_logs "$name"
            die "$name exited while waiting for: $what (logs above, all logs in $LOG)"
        fi
        if ((SECONDS >= deadline)); then
            show_logs "$name"
            die "timed out after ${TIMEOUT}s waiting for: $what (logs above, all logs in $LOG;" \
                "node state: $(node_state || true))"
        fi
        sleep 0.5
    done
}

show_logs() {
    local file
    for file in "$LOG/$1".*; do
        [[ -s $file ]] || continue
        echo "--- tail of $file" >&2
        tail -n 20 "$file" >&2
    done
}

# --- configuration -------------------------------------------------------------------------

# A TCP port nobody listens on, for MariaDB (3306 may belong to another server).
free_port() {
    local port
    for port in $(seq 33061 33160); do
        if [[ -z $(ss -Hltn "sport = :$port") ]]; then
            echo "$port"
            return
        fi
    done
    die "no free TCP port in 33061-33160 for MariaDB"
}

# write_config FILE MODE: FILE gets stdin, unless it exists and was not written by this script.
write_config() {
    local file=$1 mode=$2 text
    text=$(cat)
    if [[ -e $file ]] && ! grep -qF "$MARKER" "$file"; then
        die "$file exists and was not written by this script; not touching it"
    fi
    mkdir -p "$(dirname "$file")"
    printf '%s\n%s\n' "$MARKER (state: $STATE)" "$text" >"$file.tmp"
    chmod "$mode" "$file.tmp"
    mv "$file.tmp" "$file"
}

write_configs() {
    local port=$1 password=$2 node_line
    # This machine as slurmd sees it (CPUs, sockets, cores, threads, memory): the first line
    # of `slurmd -C`, e.g. "NodeName=vm CPUs=2 Boards=1 ... RealMemory=23995".
    node_line=$(slurmd -C 2>/dev/null | head -n 1)
    [[ $node_line == NodeName=*" CPUs="* ]] || die "slurmd -C printed no node line: $node_line"
    node_line="NodeName=$NODE ${node_line#NodeName=* }"
    write_config "$SLURM_CONF_FILE" 644 <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MailProg=/bin/true
KillWait=5
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$RUN/slurmctld.own.pid
SlurmdPidFile=$RUN/slurmd.own.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePass=$MUNGE_SOCKET
AccountingStoreFlags=job_comment
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    write_config "$DBD_CONF_FILE" 600 <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$NODE
DbdAddr=127.0.0.1
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=$RUN/slurmdbd.own.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$port
StorageUser=slurm
StoragePass=$password
StorageLoc=slurm_acct_db
EOF
}

# --- start ---------------------------------------------------------------------------------

start_munge() {
    mkdir -p "$STATE/munge"
    chmod 700 "$STATE/munge"
    local key=$STATE/munge/munge.key
    if [[ ! -s $key ]]; then
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
        chmod 400 "$key"
    fi
    launch munged munged --foreground --key-file="$key" --socket="$MUNGE_SOCKET" \
        --pid-file="$RUN/munged.own.pid" --log-file="$LOG/munged.log" \
        --seed-file="$STATE/munge/munge.seed"
    wait_until munged "munge credentials" sh -c "munge -n -S '$MUNGE_SOCKET' | unmunge -S '$MUNGE_SOCKET'"
}

mariadb_sql() { mariadb --no-defaults --socket="$RUN/mariadb.sock" -u root -e "$1"; }

start_mariadb() {
    local data=$STATE/mariadb
    if [[ ! -d $data/mysql ]]; then
        log "initialising the accounting database in $data"
        mariadb-install-db --no-defaults --user=root --datadir="$data" --skip-test-db \
            --auth-root-authentication-method=socket >"$LOG/mariadb-install.out" 2>&1 ||
            { show_logs mariadb-install; die "mariadb-install-db failed"; }
    fi
    if ! live_pid mariadbd >/dev/null; then
        free_port >"$STATE/mariadb.port"
    fi
    launch mariadbd mariadbd --no-defaults --user=root --datadir="$data" \
        --socket="$RUN/mariadb.sock" --port="$(<"$STATE/mariadb.port")" \
        --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$RUN/mariadbd.own.pid" \
        --log-error="$LOG/mariadbd.log" --innodb-buffer-pool-size=64M
    wait_until mariadbd "MariaDB" mariadb-admin --no-defaults --socket="$RUN/mariadb.sock" -u root ping
    # slurmdbd connects over TCP as its own user; the password stays in this state directory.
    [[ -s $STATE/mariadb.password ]] || (umask 077 && od -An -N16 -tx1 /dev/urandom |
        tr -d ' \n' >"$STATE/mariadb.password")
    local password
    password=$(<"$STATE/mariadb.password")
    mariadb_sql "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
        ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
        die "could not create the slurm database user"
}

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }
node_idle() { [[ $(node_state) == idle ]]; }
cluster_registered() { sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; }

cmd_start() {
    need_root
    local daemon
    for daemon in "${DAEMONS[@]}"; do
        command -v "$daemon" >/dev/null || die "$daemon not found: run '$0 install' first"
    done
    # SLURM's default ports must be free, unless our own daemon holds them already.
    local daemon_port
    for daemon_port in slurmctld:6817 slurmd:6818 slurmdbd:6819; do
        if [[ -n $(ss -Hltn "sport = :${daemon_port#*:}") ]] &&
            ! live_pid "${daemon_port%:*}" >/dev/null; then
            die "TCP port ${daemon_port#*:} (${daemon_port%:*}) is in use by another program"
        fi
    done
    mkdir -p "$STATE" "$RUN" "$LOG" "$STATE/slurmctld" "$STATE/slurmd"
    # munged refuses a socket directory that others may write to; 755 is what it accepts.
    chmod 755 "$STATE" "$RUN"

    start_munge
    start_mariadb
    write_configs "$(<"$STATE/mariadb.port")" "$(<"$STATE/mariadb.password")"

    launch slurmdbd slurmdbd -D
    wait_until slurmdbd "slurmdbd" sacctmgr -n list cluster
    cluster_registered || sacctmgr -i add cluster "$CLUSTER" >/dev/null ||
        die "could not register cluster $CLUSTER in the accounting database"

    launch slurmctld slurmctld -D -i
    wait_until slurmctld "slurmctld" scontrol ping

    launch slurmd slurmd -D
    wait_until slurmd "node $NODE idle" node_idle
    log "cluster $CLUSTER up: node $NODE idle in partition $PARTITION; state in $STATE"
}

# --- stop ----------------------------------------------------------------------------------

cmd_stop() {
    # Jobs still queued or running on this cluster would leave slurmstepd processes behind.
    if live_pid slurmctld >/dev/null && [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
        log "cancelling leftover jobs"
        scancel --full --user=root 2>/dev/null || true
        local deadline=$((SECONDS + 30))
        while [[ -n $(squeue -h -o %i 2>/dev/null) ]] && ((SECONDS < deadline)); do
            sleep 1
        done
    fi
    local i name pid
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        name=${DAEMONS[i]}
        if pid=$(live_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            local deadline=$((SECONDS + 30))
            while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
                sleep 0.2
            done
            if kill -0 "$pid" 2>/dev/null; then
                log "$name (pid $pid) ignored SIGTERM for 30 s; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            log "stopped $name (pid $pid)"
        fi
        rm -f "$(pidfile "$name")"
    done
    # Without a controller, a config would only make every SLURM client (and so every start of
    # snakemake with the SLURM plugin installed, which asks `scontrol`) wait for a timeout.
    local file
    for file in "$SLURM_CONF_FILE" "$DBD_CONF_FILE"; do
        if [[ -e $file ]] && grep -qF "$MARKER" "$file"; then
            rm -f "$file"
        fi
    done
}

# --- status --------------------------------------------------------------------------------

cmd_status() {
    local name pid down=0
    for name in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$name"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not running"
            down=1
        fi
    done
    if live_pid slurmctld >/dev/null; then
        sinfo
    fi
    return "$down"
}

(($# > 0)) || {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 2
}
for command in "$@"; do
    case $command in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) die "unknown subcommand '$command' (install, start, stop, status)" ;;
    esac
done
