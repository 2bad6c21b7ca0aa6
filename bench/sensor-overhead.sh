#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Side-by-side overhead of the Vigil kernel sensor (DESIGN.md "Numbers"; ebpf-anchors.md §6-7).
#
#   sudo bench/sensor-overhead.sh [path/to/vigil]        (default .build/release/vigil)
#
# For each workload mode (bench/workload.c: open, exec, mixed, build) the variants below run
# interleaved for ROUNDS rounds, in a different order each round (first variant and who-follows-
# whom both change), and auditd's backlog and log are drained after each of its runs so that its
# aftermath does not land in the next variant. The workload times itself, so tool start-up
# is never counted. Reported: median per variant, and the median over rounds of each run ÷ the
# baseline run of the same round (paired, so drift between rounds cancels).
#
#   baseline    the workload alone
#   vigil       vigil trace --json --output /dev/null -- workload (every event rendered and
#               written, to /dev/null as bpftrace's output; the summary read from stdout)
#   vigil-file  the same with the stream kept in a tmpfs file (what storing it adds)
#   vigil-idle  the workload outside any session while another vigil session is live, so the
#               BPF programs are attached and filtering everyone else's syscalls
#   bpftrace    the same tracepoints in bpftrace 0.17, following the same process tree
#   auditd      auditd with -S execve,openat,open,openat2,creat,connect, scoped by audit uid
#
# Then, with kernel.bpf_stats_enabled=1, one extra (untimed) idle and traced run per mode to get
# the BPF run time per program run and per session event. Stats are off during the timed rounds
# because the stats themselves add two clock reads to every program run.
#
# Output lines (stdout):
#   bench sensor.<mode>.<variant> median_ms=… ratio_vs_baseline=… cpu_median_ms=… cpu_ratio=… [more]
#       wall time (the headline) and the workload's own CPU time (see workload.c: steadier on a
#       shared machine, but blind to work done by other tasks and to blocking); more = vigil's
#       summary counts (events, drops), bpftrace's lost events, audit's lost records
#   bench sensor.bpf.<idle|session>.<program> ns_per_run=… runs=… [net_of_floor_ns=… target_ns=40]
#       idle: outside every session, net of an empty program on the same hook (goal ≤ 40)
#   bench sensor.bpf.idle.per_event net_of_floor_ns=… (goal ≤ 40)
#       the same over every event turned away outside sessions, all hooks weighted by their runs
#   bench sensor.bpf.session.per_event.<mode> ns_per_event=… events=…
#       all programs' run time while the mode ran in a session, over the session's events: an
#       upper bound, as the syscalls that emit nothing (close, read…) are charged to the events
#   bench sensor.consumer_e2e events=… dropped=… produced_per_s=… consumer_cpu_ms=… events_per_cpu_s=…
#       vigil trace --json end to end (ring → decode → tree → JSON line) over `opens`, per CPU-second
#       (goal ≥ 1 M); produced_per_s is the rate the workload made them at (goal: 0 drops at 200 k/s)
#   bench sensor.bpf.session.per_open_event ns_per_event=… net_of_floor_ns=… (goal ≤ 250)
#       the same over workload mode `opens` (opens only; descriptors closed 512 at a time): the
#       cost of one open event, raw and net of the floor bpf_stats adds to every run. The window
#       also holds every other task's syscalls (the hooks are global) and the session's few
#       non-open ones; net_of_floor_ns charges those runs at what they cost (sys_enter: its own
#       per-run cost in the window, the same path for every syscall; sys_exit: a syscall turned
#       away by its number, measured over getppid() outside the session), not to the opens.
#       incl_non_open_ns is the figure with them charged to the opens, as before (an upper bound
#       that grows with the machine's other load); non_open_runs_per_window, how many there were.
#   bench sensor.overhead      <mode>_pct=… <mode>_iqr=lo..hi   vigil, (paired ratio − 1) × 100,
#                                             and the quartiles of the per-round paired overheads
#   bench sensor.overhead_idle <mode>_pct=…   vigil-idle, same formula
#   bench sensor.overhead_cpu, overhead_idle_cpu    the same from the CPU-time medians
#   bench sensor.overhead_total_cpu   the same with vigil's own CPU time added (its reader and
#                                     consumer threads; its start-up taken off): the machine's
#                                     cost of watching, steadier than wall time on a busy machine
#   bench sensor.vs_auditd     <mode>_ratio=… auditd overhead ÷ vigil overhead (goal ≥ 10)
#   bench sensor.vs_bpftrace   <mode>_ratio=… bpftrace overhead ÷ vigil overhead (goal ≥ 0.67,
#                                             i.e. vigil ≤ 1.5× a bare tracer)
# A ratio is "na" when vigil's overhead is not measurably above zero.
#
# Mode build is a real compile: GNU libiberty from Debian's binutils-source (installed if missing),
# configured once under BENCH_OUT/build (not timed), then built from clean by gcc under
# `make -j$BUILD_JOBS` in each run (66 objects, ~33k opens and ~1,100 execs per build); N_BUILD
# builds per run. With as many jobs as CPUs, vigil's own threads compete with the build for them,
# as they would on a developer's machine.
#
# Environment: ROUNDS (7), EXEC_ROUNDS and BUILD_ROUNDS (2 × ROUNDS each), N_OPEN (50000), N_EXEC (2000), N_MIXED (500), N_BUILD (1), BUILD_JOBS (online CPUs), SETTLE (0.5 s between runs), PIN_CPU (unset: not pinned), MODES ("open exec
# mixed build"), VARIANTS (all six), BENCH_OUT (.output/bench), BENCH_AUID (4242).
#
# Side effects, all undone on exit (trap): tracefs mounted if it was not, auditd started from a
# private config with its log under BENCH_OUT, audit rules added, bpf_stats toggled. One is NOT
# undoable: once auditd has enabled auditing, the kernel gives every new task an audit context
# until reboot (audit_ever_enabled). A "-a never,task -F auid!=BENCH_AUID" rule keeps the other
# variants' processes free of it during the run; after the run, `auditctl -a never,task`
# restores the fast path for new tasks if wanted.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

VIGIL=${1:-.build/release/vigil}
ROUNDS=${ROUNDS:-7}
N_OPEN=${N_OPEN:-50000}
N_EXEC=${N_EXEC:-2000}
N_MIXED=${N_MIXED:-500}
N_BUILD=${N_BUILD:-1}
MODES=${MODES:-open exec mixed build}
VARIANTS=${VARIANTS:-baseline vigil vigil-file vigil-idle bpftrace auditd}
OUT=${BENCH_OUT:-$repo/.output/bench}
AUID=${BENCH_AUID:-4242}
OPENS_PER_CHILD=16        # must match workload.c (mixed mode)
AUDIT_SYSCALLS=execve,openat,open,openat2,creat,connect

log() { echo "sensor-overhead: $*" >&2; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {
    if (NR == 0) print "na"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { $1 }"; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (BPF, auditd, sysctl)"
[[ -x $VIGIL ]] || die "no vigil binary at $VIGIL (build it with: swift build -c release)"
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL")
[[ $OUT != *' '* ]] || die "BENCH_OUT must not contain spaces (bpftrace -c splits on them)"
command -v gcc >/dev/null || die "gcc is needed to build the workload"
command -v jq >/dev/null || die "jq is needed to read bpftool output"
command -v bpftool >/dev/null || die "bpftool is needed for bpf_stats"
START=$SECONDS

# --- peers ------------------------------------------------------------------------------------
need=()
command -v bpftrace >/dev/null || need+=(bpftrace)
{ command -v auditctl && command -v auditd; } >/dev/null || need+=(auditd)
[[ -x /usr/bin/time ]] || need+=(time)    # GNU time: the consumer's CPU time
build_tarball() { ls /usr/src/binutils/binutils-*.tar.* 2>/dev/null | head -n 1; }
if [[ " $MODES " == *" build "* ]]; then
    [[ -n $(build_tarball) ]] || need+=(binutils-source)    # the real compile's sources
    command -v make >/dev/null || need+=(make)
fi
if ((${#need[@]})); then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- build ------------------------------------------------------------------------------------
mkdir -p "$OUT"
gcc -O2 -Wall -Wextra -o "$OUT/workload" "$here/workload.c"
# Every variant runs the workload through this wrapper: the result goes to a file, so the tools
# keep stdout, and the tree starts with the same /bin/sh exec under every tool. With PIN_CPU=N
# the workload and its children run on CPU N in every variant, and the tools' own threads
# (vigil's reader and consumer, bpftrace, kauditd, auditd) have the other cores. Not the default:
# on this 2-core VM it moved auditd's cost more than vigil's and did not make runs steadier.
PIN_CPU=${PIN_CPU-}
cat > "$OUT/run-workload" <<EOF
#!/bin/sh
# run-workload RESULT MODE N (generated by bench/sensor-overhead.sh)
out=\$1; shift
exec ${PIN_CPU:+taskset -c $PIN_CPU} "$OUT/workload" "\$@" > "\$out"
EOF
chmod +x "$OUT/run-workload"
RUNWL=$OUT/run-workload

# The real compile (mode build): libiberty's sources out of the binutils tarball, configured once;
# kept between bench runs (the tarball's name is in the path). One untimed build checks it works.
if [[ " $MODES " == *" build "* ]]; then
    tarball=$(build_tarball)
    [[ -n $tarball ]] || die "no /usr/src/binutils/binutils-*.tar.* (Debian's binutils-source)"
    top=$(basename "$tarball"); top=${top%.tar.*}
    export WORKLOAD_BUILD_DIR=$OUT/build/$top/libiberty
    export BUILD_JOBS=${BUILD_JOBS:-$(nproc)}
    if [[ ! -f $WORKLOAD_BUILD_DIR/Makefile ]]; then
        log "configuring $top/libiberty (once, not timed)"
        rm -rf "${OUT:?}/build/$top"; mkdir -p "$OUT/build"
        members=(libiberty include config config.guess config.sub install-sh mkinstalldirs move-if-change missing
            ltmain.sh compile depcomp ar-lib)
        tar -C "$OUT/build" -xf "$tarball" "${members[@]/#/$top/}" || die "cannot unpack $tarball"
        (cd "$WORKLOAD_BUILD_DIR" && ./configure > ../configure.log 2>&1) \
            || { rm -f "$WORKLOAD_BUILD_DIR/Makefile"; die "configuring libiberty failed: see $OUT/build/$top/configure.log"; }
    fi
    "$OUT/workload" build 1 > /dev/null || die "the real compile fails outside any tool"
fi
# Scratch on tmpfs (the vigil-file variant's stream, small result files).
SCRATCH=$(mktemp -d /dev/shm/vigil-bench.XXXXXX)

# --- cleanup ----------------------------------------------------------------------------------
IDLE_VP=""               # pid of the vigil trace holding an idle session
MOUNTED_TRACEFS=0
OWN_AUDITD=0
AUDIT_RULES_ADDED=0
ORIG_BPF_STATS=$(sysctl -n kernel.bpf_stats_enabled)
ORIG_AUDIT_ENABLED="" ORIG_AUDIT_BACKLOG=""
AUDIT_DIR=$OUT/auditd

cleanup() {
    set +e; trap - ERR
    [[ -n $IDLE_VP ]] && stop_idle_session
    if ((AUDIT_RULES_ADDED)); then
        auditctl -d always,exit -F arch=b64 -S "$AUDIT_SYSCALLS" -F auid="$AUID" -k vigil-bench >/dev/null 2>&1
        auditctl -d never,task -F auid!="$AUID" >/dev/null 2>&1
    fi
    if ((OWN_AUDITD)) && [[ -f /var/run/auditd.pid ]]; then
        local pid; pid=$(cat /var/run/auditd.pid)
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    [[ -n $ORIG_AUDIT_ENABLED ]] && auditctl -e "$ORIG_AUDIT_ENABLED" >/dev/null 2>&1
    [[ -n $ORIG_AUDIT_BACKLOG ]] && auditctl -b "$ORIG_AUDIT_BACKLOG" >/dev/null 2>&1
    sysctl -q kernel.bpf_stats_enabled="$ORIG_BPF_STATS"
    ((MOUNTED_TRACEFS)) && umount /sys/kernel/tracing
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

has_variant() { [[ " $VARIANTS " == *" $1 "* ]]; }
drop_variant() { log "$1 disabled: $2"; VARIANTS=" $VARIANTS "; VARIANTS=${VARIANTS/ $1 / }; }

# --- vigil ------------------------------------------------------------------------------------
"$VIGIL" trace --json -- /bin/true > "$SCRATCH/pre.jsonl" 2> "$SCRATCH/pre.err" \
    || die "vigil trace does not work here: $(cat "$SCRATCH/pre.err")"
tail -n 1 "$SCRATCH/pre.jsonl" | grep -q '"kind":"summary"' || die "vigil trace printed no summary line"
grep -q degraded "$SCRATCH/pre.err" && log "vigil runs degraded: $(grep degraded "$SCRATCH/pre.err" | tr '\n' ' ')"

# The ids of the BPF programs a vigil process holds (its fds' fdinfo), so that another vigil
# running on the machine is never counted.
vigil_prog_ids() { grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u; }
# "name run_cnt run_time_ns" per program; the counters are absent until non-zero.
prog_stats() {
    local id
    for id in $(vigil_prog_ids "$1"); do
        bpftool -j prog show id "$id" | jq -r '"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"'
    done
}

# Starts `vigil trace -- sleep 600` and returns once the sleep has exec'd, which vigil allows
# only after the session is tagged, i.e. with every program attached.
start_idle_session() {
    "$VIGIL" trace -- sleep 600 > /dev/null 2>> "$SCRATCH/idle.err" &
    IDLE_VP=$!
    for _ in $(seq 1000); do
        pgrep -P "$IDLE_VP" -x sleep >/dev/null && return 0
        kill -0 "$IDLE_VP" 2>/dev/null || die "idle vigil session died: $(cat "$SCRATCH/idle.err")"
        sleep 0.01
    done
    die "idle vigil session did not start in 10 s"
}
# Ends the session the way it ends in use: its last process exits, vigil drains and exits.
stop_idle_session() {
    pkill -TERM -P "$IDLE_VP" -x sleep 2>/dev/null || true
    wait "$IDLE_VP" 2>/dev/null || true    # exits 143: the command's SIGTERM
    IDLE_VP=""
}

# --- bpftrace ---------------------------------------------------------------------------------
# Same tracepoints as vigil (sched exec/fork/exit; open, openat, openat2, creat, connect), the
# same filter (a hash of the tree's tgids, seeded with the command and grown at fork, like
# vigil's session map), comparable fields. bpftrace's tracepoint args at sys_exit hold only the
# return value, so the path pointer is kept from sys_enter, as opensnoop.bt does; vigil reads it
# from pt_regs at exit. bpftrace -c holds the command until every probe is attached ("Attaching
# N probes...", then BEGIN), which is the same guarantee vigil's gated spawn gives.
# On this kernel (6.18) the comms of sched_process_fork are __data_loc strings, hence str().
cat > "$OUT/sensor.bt" <<'EOF'
BEGIN { @tree[cpid] = 1; }
tracepoint:sched:sched_process_fork /@tree[args->parent_pid]/ {
  @tree[args->child_pid] = 1;
  printf("fork %d %d %s\n", args->parent_pid, args->child_pid, str(args->child_comm));
}
tracepoint:sched:sched_process_exec /@tree[pid]/ {
  printf("exec %d %d %s %s\n", pid, args->old_pid, comm, str(args->filename));
}
tracepoint:sched:sched_process_exit /@tree[pid]/ {
  printf("exit %d %d %s\n", pid, tid, comm);
  if (args->group_dead) { delete(@tree[pid]); }
}
tracepoint:syscalls:sys_enter_open /@tree[pid]/ { @path[tid] = args->filename; @flags[tid] = args->flags; }
tracepoint:syscalls:sys_enter_creat /@tree[pid]/ { @path[tid] = args->pathname; @flags[tid] = 0x241; }
tracepoint:syscalls:sys_enter_openat /@tree[pid]/ {
  @path[tid] = args->filename; @dfd[tid] = args->dfd; @flags[tid] = args->flags;
}
tracepoint:syscalls:sys_enter_openat2 /@tree[pid]/ {
  @path[tid] = args->filename; @dfd[tid] = args->dfd; @flags[tid] = 0;  // how is a user pointer
}
tracepoint:syscalls:sys_enter_connect /@tree[pid]/ { @addr[tid] = args->uservaddr; }
tracepoint:syscalls:sys_exit_open, tracepoint:syscalls:sys_exit_creat,
tracepoint:syscalls:sys_exit_openat, tracepoint:syscalls:sys_exit_openat2 /@path[tid]/ {
  printf("open %d %d %d %d %x %s\n", pid, tid, @dfd[tid], args->ret, @flags[tid], str(@path[tid]));
  delete(@path[tid]); delete(@dfd[tid]); delete(@flags[tid]);
}
tracepoint:syscalls:sys_exit_connect /@addr[tid]/ {
  printf("connect %d %d %d %d\n", pid, tid, args->ret, ((struct sockaddr *)@addr[tid])->sa_family);
  delete(@addr[tid]);
}
EOF

if has_variant bpftrace; then
    if ! grep -qw tracefs /proc/mounts && [[ ! -d /sys/kernel/tracing/events ]]; then
        # bpftrace reads tracepoint formats from tracefs; this machine does not mount it.
        mount -t tracefs nodev /sys/kernel/tracing && MOUNTED_TRACEFS=1
    fi
    if ! bpftrace -c "/bin/sh $RUNWL $SCRATCH/pre.out open 10" "$OUT/sensor.bt" \
            > "$SCRATCH/bt-pre.out" 2> "$SCRATCH/bt-pre.err" \
        || ! grep -q '^open ' "$SCRATCH/bt-pre.out"; then
        drop_variant bpftrace "$(grep -v RLIMIT_MEMLOCK "$SCRATCH/bt-pre.err" | head -3 | tr '\n' ' ')"
    fi
fi

# --- auditd -----------------------------------------------------------------------------------
# Scope: the audit uid (loginuid). It is the audit subsystem's own session tag: set once on the
# workload's launcher, inherited by every fork and exec, so "-F auid=" follows exactly the tree
# vigil follows. The alternatives are worse: "-F pid=/ppid=" match one process or its direct
# children only; "-F exe=" matches one binary (the workload, not its /bin/true children); a
# whole-system rule would also log (and slow, and fill the disk with) every other process on this
# shared machine, whose noise would land in all variants. auid rules cost the audited tasks the
# same per-syscall filter walk as a whole-system rule does.
if has_variant auditd; then
    status=$(auditctl -s)
    ORIG_AUDIT_ENABLED=$(awk '$1 == "enabled" {print $2}' <<<"$status")
    ORIG_AUDIT_BACKLOG=$(awk '$1 == "backlog_limit" {print $2}' <<<"$status")
    running_pid=$(awk '$1 == "pid" {print $2}' <<<"$status")
    if [[ $ORIG_AUDIT_ENABLED == 2 ]]; then
        drop_variant auditd "audit configuration is locked (enabled 2)"
    else
        # Stale rules from an interrupted run would make -a fail.
        auditctl -d always,exit -F arch=b64 -S "$AUDIT_SYSCALLS" -F auid="$AUID" -k vigil-bench >/dev/null 2>&1 || true
        auditctl -d never,task -F auid!="$AUID" >/dev/null 2>&1 || true
        AUDIT_RULES_ADDED=1
        # Rules first, then auditd (which enables auditing): no task is created with an audit
        # context except the audited workload's.
        auditctl -a never,task -F auid!="$AUID" >/dev/null
        auditctl -a always,exit -F arch=b64 -S "$AUDIT_SYSCALLS" -F auid="$AUID" -k vigil-bench >/dev/null
        auditctl -b 8192 >/dev/null    # what Debian's stock audit.rules sets
        if [[ $running_pid == 0 ]]; then
            # A private config: the stock one with the log under BENCH_OUT (stock rotation,
            # 5 × 8 MB, keeps the disk bounded).
            rm -rf "$AUDIT_DIR"; mkdir -m 700 -p "$AUDIT_DIR/log"
            sed "s|^log_file = .*|log_file = $AUDIT_DIR/log/audit.log|" /etc/audit/auditd.conf > "$AUDIT_DIR/auditd.conf"
            chmod 640 "$AUDIT_DIR/auditd.conf"
            auditd -c "$AUDIT_DIR" || die "auditd did not start"
            OWN_AUDITD=1
            for _ in $(seq 100); do [[ $(auditctl -s | awk '$1 == "pid" {print $2}') != 0 ]] && break; sleep 0.1; done
        else
            log "auditd already runs (pid $running_pid): using it; its log is wherever it is configured"
        fi
    fi
fi

# The audited launcher: set the loginuid, then fork (not exec) the workload, because the audit
# context is decided when a task is created.
run_audited() { bash -c 'echo "$0" > /proc/self/loginuid && "$@"; exit $?' "$AUID" "$@"; }

if has_variant auditd && ((OWN_AUDITD)); then
    run_audited /bin/sh "$RUNWL" "$SCRATCH/pre.out" open 10
    # A syscall record of our rule for the workload's opens, not just any record naming the auid
    # (the rule changes themselves do): another rule on this machine (a "never,task" before ours)
    # would silence the variant, and its runs would measure nothing.
    audited() { grep '^type=SYSCALL' "$AUDIT_DIR/log/audit.log" | grep 'key="vigil-bench"' | grep -q "auid=$AUID"; }
    for _ in $(seq 50); do audited && break; sleep 0.1; done
    audited || die "auditd recorded no syscall of the workload (auid $AUID); rules in force: $(auditctl -l | tr '\n' ';')"
fi
audit_lost() { auditctl -s | awk '$1 == "lost" {print $2}'; }

# --- one timed run ----------------------------------------------------------------------------
n_for() { case $1 in open) echo "$N_OPEN" ;; exec) echo "$N_EXEC" ;; mixed) echo "$N_MIXED" ;; build) echo "$N_BUILD" ;; esac; }

declare -A SAMPLES CPU_SAMPLES TOT_SAMPLES EVENTS DROPPED BT_LOST AUDIT_LOST_DELTA
run_variant() {    # mode variant → appends ns to SAMPLES[mode.variant]
    local mode=$1 variant=$2 n res=$SCRATCH/result
    n=$(n_for "$mode")
    rm -f "$res"
    case $variant in
    baseline)
        /bin/sh "$RUNWL" "$res" "$mode" "$n" ;;
    vigil|vigil-file)
        # vigil: every event rendered and written to /dev/null, as bpftrace's are; vigil-file:
        # the stream kept in a tmpfs file (what storing it costs the machine on top).
        local sink=/dev/null
        [[ $variant == vigil-file ]] && sink=$SCRATCH/vigil.jsonl
        /usr/bin/time -f "%U %S" -o "$SCRATCH/vigil.time" \
            "$VIGIL" trace --json --output "$sink" -- /bin/sh "$RUNWL" "$res" "$mode" "$n" \
            > "$SCRATCH/vigil.summary" 2> "$SCRATCH/vigil.err" || die "vigil trace failed: $(cat "$SCRATCH/vigil.err")"
        # vigil's CPU time with the workload's (its child), less vigil's start-up: what the
        # machine spent on the work and on watching it (the consumer's threads included).
        TOT_SAMPLES[$mode.$variant]+=" $(awk -v s="$VIGIL_STARTUP_NS" '{printf "%.0f", ($1 + $2) * 1e9 - s}' "$SCRATCH/vigil.time")"
        local summary; summary=$(tail -n 1 "$SCRATCH/vigil.summary")
        [[ $summary == *'"kind":"summary"'* ]] || die "no vigil summary line"
        if [[ $variant == vigil ]]; then
            EVENTS[$mode]+=" $(jq -r .events <<<"$summary")"
            DROPPED[$mode]=$(( ${DROPPED[$mode]:-0} + $(jq -r .dropped <<<"$summary") ))
        else
            [[ $(jq -r .dropped <<<"$summary") == 0 ]] || log "vigil-file dropped events: $summary"
        fi
        rm -f "$SCRATCH/vigil.jsonl" "$SCRATCH/vigil.summary" ;;
    vigil-idle)
        start_idle_session
        /bin/sh "$RUNWL" "$res" "$mode" "$n"
        kill -0 "$IDLE_VP" 2>/dev/null || die "idle vigil session ended during the run"
        stop_idle_session ;;
    bpftrace)
        bpftrace -c "/bin/sh $RUNWL $res $mode $n" "$OUT/sensor.bt" > /dev/null 2> "$SCRATCH/bt.err" \
            || die "bpftrace failed: $(cat "$SCRATCH/bt.err")"
        # bpftrace says "Lost N events" when its perf buffer overflowed.
        local lost; lost=$({ grep -o "Lost [0-9]* events" "$SCRATCH/bt.err" || true; } | awk '{s += $2} END {print s + 0}')
        BT_LOST[$mode]=$(( ${BT_LOST[$mode]:-0} + lost )) ;;
    auditd)
        local before; before=$(audit_lost)
        run_audited /bin/sh "$RUNWL" "$res" "$mode" "$n"
        AUDIT_LOST_DELTA[$mode]=$(( ${AUDIT_LOST_DELTA[$mode]:-0} + $(audit_lost) - before ))
        # Untimed: let kauditd empty its backlog and write the log back, so that auditd's
        # aftermath is not charged to whichever variant runs next.
        for _ in $(seq 300); do
            [[ $(auditctl -s | awk '$1 == "backlog" {print $2}') == 0 ]] && break
            sleep 0.1
        done
        if ((OWN_AUDITD)); then sync "$AUDIT_DIR/log/audit.log"; fi ;;
    esac
    [[ -s $res ]] || die "$mode/$variant: the workload printed no result"
    local wall cpu; read -r wall cpu < "$res"
    SAMPLES[$mode.$variant]+=" $wall"
    CPU_SAMPLES[$mode.$variant]+=" $cpu"
    [[ $variant == baseline ]] && TOT_SAMPLES[$mode.$variant]+=" $cpu"
    return 0
}

# --- timed rounds -----------------------------------------------------------------------------
read -r -a variants <<<"$VARIANTS"
# vigil's own start-up CPU time (loading and attaching the programs, hashing itself): the median
# of three traces of /bin/true, taken off each vigil run's total CPU time (overhead_total_cpu).
VIGIL_STARTUP_NS=0
if has_variant vigil || has_variant vigil-file; then
    st=""
    for _ in 1 2 3; do
        /usr/bin/time -f "%U %S" -o "$SCRATCH/vigil.time" "$VIGIL" trace --json --output /dev/null -- /bin/true > /dev/null 2>&1
        st+=" $(awk '{printf "%.0f", ($1 + $2) * 1e9}' "$SCRATCH/vigil.time")"
    done
    VIGIL_STARTUP_NS=$(median <<<"$st")
fi
# A fresh order for every round and mode (a seeded, so repeatable, shuffle): no variant has a
# fixed place or a fixed predecessor, so slow drifts and after-effects spread over all of them.
shuffled() { awk -v n="${#variants[@]}" -v seed="$1" 'BEGIN { srand(seed)
    for (i = 0; i < n; i++) a[i] = i
    for (i = n - 1; i > 0; i--) { j = int(rand() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t }
    for (i = 0; i < n; i++) printf "%d ", a[i] }'; }
log "vigil=$VIGIL rounds=$ROUNDS N: open=$N_OPEN exec=$N_EXEC mixed=$N_MIXED variants: ${variants[*]}"
# exec and build get twice the rounds: their overheads (a few %) are the smallest against the
# noise of one run here (±3–5 %), and their targets (10× auditd, ≤ 3 %) sit closest to it.
EXEC_ROUNDS=${EXEC_ROUNDS:-$((2 * ROUNDS))}
BUILD_ROUNDS=${BUILD_ROUNDS:-$((2 * ROUNDS))}
rounds_of() { case $1 in exec) echo "$EXEC_ROUNDS" ;; build) echo "$BUILD_ROUNDS" ;; *) echo "$ROUNDS" ;; esac; }
MAX_ROUNDS=$ROUNDS
for mode in $MODES; do ((MAX_ROUNDS >= $(rounds_of "$mode"))) || MAX_ROUNDS=$(rounds_of "$mode"); done
for ((r = 0; r < MAX_ROUNDS; r++)); do
    mi=0
    for mode in $MODES; do
        mi=$((mi + 1))
        ((r < $(rounds_of "$mode"))) || continue
        line="round $((r + 1))/$(rounds_of "$mode") $mode:"
        for k in $(shuffled "$((r * 10 + mi))"); do
            v=${variants[$k]}
            # Settle first: what the previous tool left for the kernel to do after it exited
            # (freeing a 32 MiB ring, perf buffers, maps, via RCU and workqueues) must not be
            # charged to whichever run comes next.
            sleep "${SETTLE:-0.5}"
            run_variant "$mode" "$v"
            last=${SAMPLES[$mode.$v]##* }
            line+=" $v=$((last / 1000000))ms"
        done
        log "$line"
    done
done

# --- the consumer, end to end, untimed ------------------------------------------------------
# `vigil trace --json` over the opens-only workload: every event read from the ring, decoded,
# put in the tree and written as a JSON line (to tmpfs). The consumer's CPU time is vigil's own
# (rusage of vigil minus the workload's, which it reports) less vigil's start-up (a trace of
# /bin/true: loading, attaching, hashing its own binary). Events per consumer CPU-second is the
# per-core rate; the workload makes events faster than that on the other core, so the queue and
# the ring are exercised too (drops, if any, are in the summary).
consumer_e2e() {
    local n=${N_CONSUMER:-400000} startup total wl wall events dropped
    /usr/bin/time -f "%U %S" -o "$SCRATCH/time" "$VIGIL" trace --json -- /bin/true > /dev/null 2>&1
    startup=$(awk '{print ($1 + $2) * 1e9}' "$SCRATCH/time")
    /usr/bin/time -f "%U %S" -o "$SCRATCH/time" "$VIGIL" trace --json --output /dev/null -- "$OUT/workload" opens "$n" > "$SCRATCH/e2e.jsonl" 2>/dev/null
    total=$(awk '{print ($1 + $2) * 1e9}' "$SCRATCH/time")
    wl=$(grep -v '^{' "$SCRATCH/e2e.jsonl" | head -n 1 | awk '{print $2}')
    wall=$(grep -v '^{' "$SCRATCH/e2e.jsonl" | head -n 1 | awk '{print $1}')
    events=$(tail -n 1 "$SCRATCH/e2e.jsonl" | jq -r .events)
    dropped=$(tail -n 1 "$SCRATCH/e2e.jsonl" | jq -r .dropped)
    rm -f "$SCRATCH/e2e.jsonl"
    awk -v total="$total" -v wl="$wl" -v wall="$wall" -v startup="$startup" -v events="$events" -v dropped="$dropped" 'BEGIN {
        c = total - wl - startup; if (c <= 0) c = 1
        printf "bench sensor.consumer_e2e events=%d dropped=%d produced_per_s=%d consumer_cpu_ms=%.1f events_per_cpu_s=%d ns_per_event=%.0f target_events_per_s=1000000\n", events, dropped, events / (wall / 1e9), c / 1e6, events / (c / 1e9), c / events }'
}
if has_variant vigil; then
    E2E_LINE=$(consumer_e2e)
fi

# --- BPF run time (bpf_stats), untimed --------------------------------------------------------
declare -A STAT_CNT STAT_NS SESS_EVENTS SESS_WINDOW_NS SESS_RUNS SESS_PROG_RUNS SESS_PROG_NS
OPEN_RAW="" OPEN_NET="" OPEN_INCL="" OPEN_OTHERS=""
add_stats() {    # context before-file after-file: accumulates per-program deltas
    local ctx=$1 name cnt ns bcnt bns
    while read -r name cnt ns; do
        read -r bcnt bns < <(awk -v n="$name" '$1 == n {print $2, $3; exit} END {print "0 0"}' "$2")
        STAT_CNT[$ctx.$name]=$(( ${STAT_CNT[$ctx.$name]:-0} + cnt - bcnt ))
        STAT_NS[$ctx.$name]=$(( ${STAT_NS[$ctx.$name]:-0} + ns - bns ))
    done < "$3"
}
# Inside a session: the session root waits on a fifo before the workload and signals another
# after it, so the two snapshots bracket the workload and not vigil's start or end. Sets
# SESS_WINDOW_NS, SESS_RUNS (program runs in the window), SESS_PROG_RUNS/NS[mode.program] and
# SESS_EVENTS (the session's events: the workload's plus ~10 of the wrapper shell and sleep).
session_stats() {    # mode n [stats-context]
    local mode=$1 n=$2 ctx=${3:-session} vp window=0 runs=0 name cnt ns bns bcnt
    rm -f "$SCRATCH/go" "$SCRATCH/done"; mkfifo "$SCRATCH/go" "$SCRATCH/done"
    "$VIGIL" trace --json -- /bin/sh -c \
        'read _ < "$0"; done=$1; shift; /bin/sh "$@"; echo > "$done"; exec sleep 600' \
        "$SCRATCH/go" "$SCRATCH/done" "$RUNWL" "$SCRATCH/result" "$mode" "$n" \
        > "$SCRATCH/stats.jsonl" 2> "$SCRATCH/stats.err" &
    vp=$!
    for _ in $(seq 1000); do pgrep -P "$vp" -x sh >/dev/null && break; sleep 0.01; done
    prog_stats "$vp" > "$SCRATCH/before"
    echo > "$SCRATCH/go"
    read -r _ < "$SCRATCH/done"
    prog_stats "$vp" > "$SCRATCH/after"
    pkill -TERM -P "$vp" -x sleep || true
    wait "$vp" || true    # exits 143: the root's SIGTERM
    add_stats "$ctx" "$SCRATCH/before" "$SCRATCH/after"
    while read -r name cnt ns; do
        read -r bcnt bns < <(awk -v n="$name" '$1 == n {print $2, $3; exit} END {print "0 0"}' "$SCRATCH/before")
        window=$(( window + ns - bns )); runs=$(( runs + cnt - bcnt ))
        SESS_PROG_RUNS[$mode.$name]=$(( cnt - bcnt )); SESS_PROG_NS[$mode.$name]=$(( ns - bns ))
    done < "$SCRATCH/after"
    SESS_WINDOW_NS[$mode]=$window
    SESS_RUNS[$mode]=$runs
    SESS_EVENTS[$mode]=$(tail -n 1 "$SCRATCH/stats.jsonl" | jq -r .events)
    rm -f "$SCRATCH/go" "$SCRATCH/done" "$SCRATCH/stats.jsonl"
}
# bpf-floor prints "NAME RUNS NS" per empty program; floor_of NAME → "RUNS NS".
floor_run() { "$OUT/bpf-floor" "$OUT/floor.bpf.o" "$1" > "$SCRATCH/floor" || die "bpf-floor failed"; }
floor_of() { awk -v p="$1" '$1 == p { print $2, $3; found = 1 } END { if (!found) print 0, 0 }' "$SCRATCH/floor"; }
declare -A FLOOR_RUNS_OF FLOOR_NS_OF
if has_variant vigil || has_variant vigil-idle; then
    sysctl -q kernel.bpf_stats_enabled=1
    # The floor: an empty program on the same hook over an open run (see bench/floor.bpf.c).
    CLANG=${CLANG:-/opt/swift/usr/bin/clang}
    BPF_ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
    [ -f "$repo/bpf/include/$BPF_ARCH/vmlinux.h" ] || die "no bpf/include/$BPF_ARCH/vmlinux.h: the BPF programs are not built for $(uname -m)"
    "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_$BPF_ARCH -I"$repo/bpf/include/$BPF_ARCH" -I"$repo/bpf/include" \
        -c "$repo/bench/floor.bpf.c" -o "$OUT/floor.bpf.o"
    gcc -O2 -o "$OUT/bpf-floor" "$repo/bench/bpf-floor.c" -lbpf
    # Over an open run for the syscall hook, over an exec run for exec, fork and exit.
    floor_run "/bin/sh $RUNWL $SCRATCH/result open $N_OPEN"
    read -r FLOOR_RUNS FLOOR_NS < <(floor_of floor_sys_exit)
    read -r FLOOR_RUNS_OF[sys_enter] FLOOR_NS_OF[sys_enter] < <(floor_of floor_sys_enter)
    floor_run "/bin/sh $RUNWL $SCRATCH/result exec $N_EXEC"
    for hook in exec fork exit; do read -r FLOOR_RUNS_OF[$hook] FLOOR_NS_OF[$hook] < <(floor_of "floor_$hook"); done
    # A syscall sys_exit turns away by its number (getppid, outside the session while one is
    # tracked): what the other tasks' syscalls cost in the opens windows below.
    start_idle_session
    prog_stats "$IDLE_VP" > "$SCRATCH/before"
    /bin/sh "$RUNWL" "$SCRATCH/result" syscalls "$((2 * N_OPEN))"
    prog_stats "$IDLE_VP" > "$SCRATCH/after"
    stop_idle_session
    add_stats idle_syscalls "$SCRATCH/before" "$SCRATCH/after"
    TURNED_AWAY_NS=$(calc "printf \"%.2f\", ${STAT_NS[idle_syscalls.vigil_sys_exit]:-0} / (${STAT_CNT[idle_syscalls.vigil_sys_exit]:-0} > 0 ? ${STAT_CNT[idle_syscalls.vigil_sys_exit]} : 1)")
    for mode in $MODES; do
        n=$(n_for "$mode")
        # (a) Outside any session: an idle session's programs over one workload run. They also
        # filter every other process's syscalls meanwhile, which is the same kind of run.
        start_idle_session
        prog_stats "$IDLE_VP" > "$SCRATCH/before"
        /bin/sh "$RUNWL" "$SCRATCH/result" "$mode" "$n"
        prog_stats "$IDLE_VP" > "$SCRATCH/after"
        stop_idle_session
        add_stats idle "$SCRATCH/before" "$SCRATCH/after"
        session_stats "$mode" "$n"
    done
    # One open event's cost: `opens` mode closes its descriptors 512 at a time, so the window
    # holds opens and little else (a close_range per 512, ~10 events of the wrapper, and other
    # processes' syscalls filtered meanwhile: all charged to the opens, an upper bound again).
    # Five windows, and the floor measured again beside each: the median of five.
    for _ in 1 2 3 4 5; do
        floor_run "/bin/sh $RUNWL $SCRATCH/result open $N_OPEN"
        read -r fr fn < <(floor_of floor_sys_exit)
        session_stats opens "$N_OPEN" opens
        ev=${SESS_EVENTS[opens]}
        OPEN_RAW+=" $(calc "printf \"%.1f\", ${SESS_WINDOW_NS[opens]} / $ev")"
        OPEN_INCL+=" $(calc "printf \"%.1f\", (${SESS_WINDOW_NS[opens]} - ${SESS_RUNS[opens]} * $fn / $fr) / $ev")"
        # Runs of the two syscall hooks that are not an open of the session: every other task's
        # syscalls and the session's few others (close_range, the wrapper's), one run per hook
        # each. Charged at what such a run costs, net of the floor: sys_enter's own average in
        # this window (it takes the same path for every syscall), and for sys_exit the turned-
        # away syscall measured above. What is left is the opens' own runs.
        read -r xr xn er en <<<"${SESS_PROG_RUNS[opens.vigil_sys_exit]:-0} ${SESS_PROG_NS[opens.vigil_sys_exit]:-0} ${SESS_PROG_RUNS[opens.vigil_sys_enter]:-0} ${SESS_PROG_NS[opens.vigil_sys_enter]:-0}"
        OPEN_NET+=" $(calc "fl = $fn / $fr; ox = $xr - $ev; if (ox < 0) ox = 0; oe = $er - $ev; if (oe < 0) oe = 0
            cx = $TURNED_AWAY_NS - fl; if (cx < 0) cx = 0; ce = ($er > 0 ? $en / $er : 0) - fl; if (ce < 0) ce = 0
            printf \"%.1f\", (${SESS_WINDOW_NS[opens]} - ${SESS_RUNS[opens]} * fl - ox * cx - oe * ce) / $ev")"
        OPEN_OTHERS+=" $((xr > ev ? xr - ev : 0))"
    done
    sysctl -q kernel.bpf_stats_enabled="$ORIG_BPF_STATS"
fi

# --- report -----------------------------------------------------------------------------------
positive() { [[ $1 != na ]] && awk "BEGIN { exit !($1 > 0) }"; }
declare -A MED
for mode in $MODES; do
    for v in "${variants[@]}"; do MED[$mode.$v]=$(median <<<"${SAMPLES[$mode.$v]:-}"); done
    for v in "${variants[@]}"; do MED[cpu.$mode.$v]=$(median <<<"${CPU_SAMPLES[$mode.$v]:-}"); done
done
# Paired: each run over the baseline run of the same round (the rounds are interleaved, so the
# two ran seconds apart), then the median over the rounds. A slow drift of the shared machine
# between rounds cancels out, which a ratio of the two medians would keep.
paired() {    # mode variant what: what = median | quartiles (of run ÷ that round's baseline)
    local b x
    if [[ $1 == cpu.* ]]; then b=${CPU_SAMPLES[${1#cpu.}.baseline]:-} x=${CPU_SAMPLES[${1#cpu.}.$2]:-}
    elif [[ $1 == tot.* ]]; then b=${TOT_SAMPLES[${1#tot.}.baseline]:-} x=${TOT_SAMPLES[${1#tot.}.$2]:-}
    else b=${SAMPLES[$1.baseline]:-} x=${SAMPLES[$1.$2]:-}; fi
    [[ -z ${b// } || -z ${x// } ]] && { echo na; return; }
    awk -v b="$b" -v x="$x" -v what="$3" 'BEGIN { nb = split(b, bs, " "); nx = split(x, xs, " "); n = nb < nx ? nb : nx
        for (i = 1; i <= n; i++) r[i] = xs[i] / bs[i]
        for (i = 2; i <= n; i++) { v = r[i]; for (j = i - 1; j >= 1 && r[j] > v; j--) r[j + 1] = r[j]; r[j + 1] = v }
        if (what == "quartiles") printf "%.1f..%.1f", (r[int((n + 3) / 4)] - 1) * 100, (r[n + 1 - int((n + 3) / 4)] - 1) * 100
        else printf "%.3f", n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2 }'; }
ratio() { paired "$1" "$2" median; }    # mode variant (or cpu.mode variant)
pct() { local r; r=$(ratio "$1" "$2"); [[ $r == na ]] && { echo na; return; }; calc "printf \"%.1f\", ($r - 1) * 100"; }
for mode in $MODES; do
    n=$(n_for "$mode")
    case $mode in open) expect=$n ;; exec) expect=$((3 * n)) ;; mixed) expect=$(((3 + OPENS_PER_CHILD) * n)) ;; build) expect=na ;; esac
    for v in "${variants[@]}"; do
        m=${MED[$mode.$v]} c=${MED[cpu.$mode.$v]}
        line="bench sensor.$mode.$v median_ms=$([[ $m == na ]] && echo na || calc "printf \"%.1f\", $m / 1e6") ratio_vs_baseline=$(ratio "$mode" "$v")"
        line+=" cpu_median_ms=$([[ $c == na ]] && echo na || calc "printf \"%.1f\", $c / 1e6") cpu_ratio=$(ratio "cpu.$mode" "$v")"
        case $v in
        vigil) line+=" events_per_run=$(median <<<"${EVENTS[$mode]:-}") workload_events_min=$expect dropped_total=${DROPPED[$mode]:-0}" ;;
        bpftrace) line+=" lost_total=${BT_LOST[$mode]:-0}" ;;
        auditd) line+=" audit_lost_total=${AUDIT_LOST_DELTA[$mode]:-0}" ;;
        esac
        echo "$line"
    done
done
per_run() { calc "printf \"%.1f\", $1 / ($2 > 0 ? $2 : 1)"; }
for key in $(printf '%s\n' "${!STAT_CNT[@]}" | sort); do
    [[ ${STAT_CNT[$key]} -gt 0 ]] || continue
    # Outside sessions (idle), each program net of an empty one on its own hook: the ≤ 40 ns goal.
    t=""
    case $key in
    idle.vigil_sys_exit)
        net=$(calc "printf \"%.1f\", ${STAT_NS[$key]} / ${STAT_CNT[$key]} - $FLOOR_NS / $FLOOR_RUNS")
        t=" net_of_floor_ns=$net target_ns=40"
        IDLE_NET_NS=$(calc "print ${IDLE_NET_NS:-0} + $net * ${STAT_CNT[$key]}"); IDLE_RUNS=$((${IDLE_RUNS:-0} + STAT_CNT[$key])) ;;
    idle_syscalls.vigil_sys_exit|idle_syscalls.vigil_sys_enter)
        # A syscall turned away by its number (getppid outside the session), on each hook.
        t=" net_of_floor_ns=$(calc "printf \"%.1f\", ${STAT_NS[$key]} / ${STAT_CNT[$key]} - $FLOOR_NS / $FLOOR_RUNS")" ;;
    idle.vigil_exec|idle.vigil_fork|idle.vigil_exit|idle.vigil_sys_enter)
        hook=${key#idle.vigil_}
        if ((${FLOOR_RUNS_OF[$hook]:-0} > 0)); then
            net=$(calc "printf \"%.1f\", ${STAT_NS[$key]} / ${STAT_CNT[$key]} - ${FLOOR_NS_OF[$hook]} / ${FLOOR_RUNS_OF[$hook]}")
            t=" net_of_floor_ns=$net target_ns=40"
            IDLE_NET_NS=$(calc "print ${IDLE_NET_NS:-0} + $net * ${STAT_CNT[$key]}"); IDLE_RUNS=$((${IDLE_RUNS:-0} + STAT_CNT[$key]))
        fi ;;
    esac
    echo "bench sensor.bpf.$key ns_per_run=$(per_run "${STAT_NS[$key]}" "${STAT_CNT[$key]}") runs=${STAT_CNT[$key]}$t"
done
# Per event outside sessions, all hooks together (every run is one event turned away): each
# program's net cost weighted by how often it ran over the workloads.
((${IDLE_RUNS:-0} > 0)) && echo "bench sensor.bpf.idle.per_event net_of_floor_ns=$(calc "printf \"%.1f\", $IDLE_NET_NS / $IDLE_RUNS") runs=$IDLE_RUNS target_ns=40"
[[ -n ${FLOOR_RUNS:-} ]] && echo "bench sensor.bpf.floor ns_per_run=$(per_run "$FLOOR_NS" "$FLOOR_RUNS") runs=$FLOOR_RUNS"
for hook in sys_enter exec fork exit; do
    ((${FLOOR_RUNS_OF[$hook]:-0} > 0)) || continue
    echo "bench sensor.bpf.floor.$hook ns_per_run=$(per_run "${FLOOR_NS_OF[$hook]}" "${FLOOR_RUNS_OF[$hook]}") runs=${FLOOR_RUNS_OF[$hook]}"
done
for mode in $MODES; do
    [[ -n ${SESS_EVENTS[$mode]:-} && $mode != opens ]] || continue
    # All vigil programs' run time in the window (session events plus the filtering of every
    # other process's syscalls meanwhile) over the session's events: an upper bound.
    echo "bench sensor.bpf.session.per_event.$mode ns_per_event=$(per_run "${SESS_WINDOW_NS[$mode]}" "${SESS_EVENTS[$mode]}") events=${SESS_EVENTS[$mode]}"
done
[[ -n ${E2E_LINE:-} ]] && echo "$E2E_LINE"
if [[ -n ${OPEN_NET:-} ]]; then
    # Net of the floor: every program run in the window pays the floor (what bpf_stats itself
    # adds to an empty program), as the 40 ns figure above is net of it.
    spread() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END { printf "%s..%s", v[1], v[NR] }'; }
    echo "bench sensor.bpf.session.per_open_event ns_per_event=$(median <<<"$OPEN_RAW") net_of_floor_ns=$(median <<<"$OPEN_NET") net_range=$(spread <<<"$OPEN_NET") incl_non_open_ns=$(median <<<"$OPEN_INCL") non_open_runs_per_window=$(median <<<"$OPEN_OTHERS") windows=5 events_per_window=${SESS_EVENTS[opens]} target_ns=250"
fi
summary_line() {    # name variant [cpu.]: <mode>_pct for each mode
    local s="bench sensor.$1" mode
    for mode in $MODES; do s+=" ${mode}_pct=$(pct "${3:-}$mode" "$2")"; done
    # The spread of the paired overheads (lower and upper quartile over the rounds): how much
    # of the figure is this machine's noise.
    for mode in $MODES; do s+=" ${mode}_iqr=$(paired "${3:-}$mode" "$2" quartiles)"; done
    echo "$s"
}
vs_line() {    # name peer: peer overhead ÷ vigil overhead, per mode
    local s="bench sensor.vs_$1" mode pv pp
    for mode in $MODES; do
        pv=$(pct "$mode" vigil); pp=$(pct "$mode" "$1")
        if [[ $pp == na ]] || ! positive "$pv"; then s+=" ${mode}_ratio=na"
        else s+=" ${mode}_ratio=$(calc "printf \"%.2f\", $pp / $pv")"; fi
    done
    echo "$s"
}
has_variant vigil && summary_line overhead vigil
has_variant vigil-idle && summary_line overhead_idle vigil-idle
has_variant vigil-file && summary_line overhead_file vigil-file
has_variant vigil && summary_line overhead_cpu vigil cpu.
has_variant vigil && summary_line overhead_total_cpu vigil tot.
has_variant vigil-idle && summary_line overhead_idle_cpu vigil-idle cpu.
has_variant vigil && has_variant auditd && vs_line auditd
has_variant vigil && has_variant bpftrace && vs_line bpftrace
echo "bench sensor.runtime seconds=$((SECONDS - START)) rounds=$ROUNDS"
