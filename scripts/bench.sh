#!/usr/bin/env bash
# bench.sh — Warren and Apache ZooKeeper 3.8 side by side on this machine;
# writes docs/benchmarks.md. Run through `make bench` (which builds bin/warren
# and installs ZooKeeper first).
#
# Both servers run standalone on loopback with the same zoo.cfg settings
# (tickTime, forceSync left at its default "yes", data directories side by
# side on the same disk, every four-letter word allowed), and one client —
# `warren bench` — drives both, alternating between them round by round:
#
#   1. machine facts and the disk's fsync latency (dd oflag=dsync);
#   2. create, set, get and mixed, ROUNDS times each against each server
#      (CONNS connections x INFLIGHT requests in flight, VALUE-byte values),
#      with the servers' CPU time per operation read from /proc;
#   3. memory: a fresh server of each kind gets POPULATE znodes of VALUE
#      bytes; then ZooKeeper's heap after a full GC (jcmd), Warren's heap
#      figures from mntr (any *heap* key), and both resident set sizes;
#   4. startup: exec to the first "imok" answer to ruok, STARTUP_RUNS times
#      on a fresh data directory, median;
#   5. recovery: a data directory holding POPULATE znodes of VALUE bytes,
#      written through the client with each server's default snapCount
#      (the memory step's, when it ran; else populated afresh), the server
#      stopped with SIGTERM; then RECOVERY_RUNS times: exec of the server on
#      that directory to the first successful getData of the last znode
#      populated (`warren bench --wait-get`: a fresh session every 10 ms),
#      median and range, and the directory's size on disk;
#   6. ensemble: a 3-member ensemble of each kind on loopback (server.N=
#      127.0.0.1:qp:ep lines, myid, tickTime=2000, initLimit=10,
#      syncLimit=5, dataDirs on the same disk; ZooKeeper as QuorumPeerMain),
#      both up at once, each waited for until one leader and two followers
#      answer srvr; then (a) create, set, get and mixed ROUNDS times each,
#      alternating between the kinds, with ENSEMBLE_CONNS connections spread
#      round robin over the three members (`--server a,b,c`) and the three
#      processes' CPU summed; (b) FAILOVER_RUNS times per kind, alternating:
#      find the leader (srvr), run `warren bench --workload failover` against
#      the two followers with --kill-pid of the leader (one session writing
#      back to back; the write gap is the time from the SIGKILL to the first
#      successful write after it), restart the killed member on its data and
#      wait until the ensemble is whole again; median and range;
#   7. clients: the client libraries compared (Warren's Go SDK against
#      github.com/go-zookeeper/zk), each driving a fresh standalone Warren and
#      a fresh ZooKeeper: create, set, get and mixed ROUNDS times each per
#      client x server (`warren bench --client sdk` / `--client go-zookeeper`:
#      CONNS sessions x INFLIGHT goroutines making synchronous calls on each
#      shared session), the clients' order reversed every round, so that
#      whatever else loads the machine weighs on both alike; medians of
#      ops/s, p50, p99 and the bench process's CPU time per operation.
#
# Steps 2 to 6 drive the servers with the bench's protocol-level client
# (`--client raw`), the lightest load generator, so that they measure the
# servers; only step 7 compares client libraries.
#
# BENCH_STEPS picks the steps run after step 1 (default all of "throughput
# memory startup recovery ensemble clients"; BENCH_STEPS=clients runs the
# client comparison alone); a run without all of them is a partial
# run: its report goes to $BENCH_PARTIAL_OUT, never to $BENCH_OUT. Sections
# of $BENCH_OUT after a line "<!-- bench.sh: hand-written sections follow -->"
# are not generated: a complete run keeps them as they are.
#
# docs/benchmarks.md is written only when every step succeeded for both
# servers and both persisted their writes (a server whose dataDir is still
# empty after the write workloads is reported as not comparable). If one server cannot run (a clear message says which and why),
# the partial report goes to $BENCH_PARTIAL_OUT instead and the script
# fails. BENCH_SERVERS=zookeeper asks for a ZooKeeper-only dry run on purpose
# (partial report, exit 0).
#
# Settings (environment): BENCH_ROUNDS (3), BENCH_DURATION (10s),
# BENCH_WARMUP (2s), BENCH_CONNS (4), BENCH_INFLIGHT (16), BENCH_VALUE (100),
# BENCH_KEYS (1000), BENCH_POPULATE (1000000), BENCH_STARTUP_RUNS (7),
# BENCH_RECOVERY_RUNS (5), BENCH_RECOVERY_TIMEOUT (120, seconds a restarted
# server has to answer), BENCH_ENSEMBLE_CONNS (6: two per member),
# BENCH_FAILOVER_RUNS (5), BENCH_STEPS ("throughput memory startup recovery
# ensemble clients"), BENCH_CLIENT_LIBS ("sdk go-zookeeper": the --client
# values step 7 compares),
# BENCH_SERVERS ("zookeeper warren"), ZK_HEAP_MB (1000, the heap
# ZooKeeper's own zkServer.sh gives it), BENCH_WORKLOADS
# ("create set get mixed"), BENCH_DIR (parent of the scratch directory:
# /var/tmp, a disk, not a tmpfs), BENCH_OUT (docs/benchmarks.md),
# BENCH_PARTIAL_OUT (/tmp/warren-bench-partial.md), WARREN (bin/warren),
# BENCH_CLIENT (the client command; default "$WARREN bench").
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNS:-4}
INFLIGHT=${BENCH_INFLIGHT:-16}
VALUE=${BENCH_VALUE:-100}
KEYS=${BENCH_KEYS:-1000}
POPULATE=${BENCH_POPULATE:-1000000}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-7}
RECOVERY_RUNS=${BENCH_RECOVERY_RUNS:-5}
RECOVERY_TIMEOUT=${BENCH_RECOVERY_TIMEOUT:-120}
ENSEMBLE_CONNS=${BENCH_ENSEMBLE_CONNS:-6}
FAILOVER_RUNS=${BENCH_FAILOVER_RUNS:-5}
ALL_STEPS="throughput memory startup recovery ensemble clients"
STEPS=${BENCH_STEPS-$ALL_STEPS}
SERVERS=${BENCH_SERVERS:-zookeeper zookeeper-nosync warren}
# The memory and startup runs skip zookeeper-nosync: fsync changes neither.
MEM_SERVERS=$(printf "%s\n" $SERVERS | grep -vx zookeeper-nosync | tr "\n" " ")
WORKLOADS=${BENCH_WORKLOADS:-create set get mixed}
CLIENT_LIBS=${BENCH_CLIENT_LIBS:-sdk go-zookeeper}
# The client comparison runs against the two servers as they come (fsync on).
CLIENT_SERVERS=$(printf "%s\n" $SERVERS | grep -xE 'zookeeper|warren' | tr "\n" " ")
ZK_HEAP_MB=${ZK_HEAP_MB:-1000}
TICK=2000
OUT=${BENCH_OUT:-docs/benchmarks.md}
PARTIAL_OUT=${BENCH_PARTIAL_OUT:-/tmp/warren-bench-partial.md}
WARREN=${WARREN:-bin/warren}
read -r -a CLIENT <<<"${BENCH_CLIENT:-$WARREN bench}"
ZK_CP="/etc/zookeeper/conf:/usr/share/java/*"

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# has_step STEP: is STEP among the steps asked for?
has_step() { [[ " $STEPS " == *" $1 "* ]]; }
for step in $STEPS; do
	[[ " $ALL_STEPS " == *" $step "* ]] || die "unknown step \"$step\" in BENCH_STEPS (known: $ALL_STEPS)"
done
for n in "$RECOVERY_RUNS" "$RECOVERY_TIMEOUT" "$POPULATE" "$ENSEMBLE_CONNS" "$FAILOVER_RUNS"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RECOVERY_RUNS, BENCH_RECOVERY_TIMEOUT, BENCH_POPULATE, BENCH_ENSEMBLE_CONNS and BENCH_FAILOVER_RUNS must be positive integers (got \"$n\")"
done

# ---------------------------------------------------------------- tools

install_pkgs() {
	command -v apt-get >/dev/null 2>&1 || die "missing $*, and no apt-get to install it: install it by hand"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || die "missing $*: run as root or install it by hand"
		sudo=(sudo)
	fi
	log "installing $*"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v java >/dev/null 2>&1 && [ -r /usr/share/java/zookeeper.jar ] ||
	die "Apache ZooKeeper 3.8 and java are missing: run scripts/test-deps.sh (make bench does)"
command -v jq >/dev/null 2>&1 || install_pkgs jq
# jcmd (heap after a full GC) ships with the JDK, not the JRE.
command -v jcmd >/dev/null 2>&1 || install_pkgs default-jdk-headless
[ -x "${CLIENT[0]}" ] || command -v "${CLIENT[0]}" >/dev/null 2>&1 ||
	die "the client ${CLIENT[*]} is missing: run make build (make bench does)"
"${CLIENT[@]}" --help >/dev/null 2>&1 ||
	die "${CLIENT[*]} does not run (is the bench command registered in cmd/warren?)"
# (The help goes through a variable: grep -q closing the pipe early would
# fail the pipeline under pipefail.)
client_help=$("${CLIENT[@]}" --help 2>&1 || true)
! has_step recovery || [[ $client_help == *--wait-get* ]] ||
	die "${CLIENT[*]} has no --wait-get, which the recovery step needs: run make build (make bench does)"
! has_step ensemble || [[ $client_help == *--kill-pid* ]] ||
	die "${CLIENT[*]} has no --kill-pid (failover workload), which the ensemble step needs: run make build (make bench does)"
[[ $client_help == *--client* ]] ||
	die "${CLIENT[*]} has no --client (raw, sdk, go-zookeeper), which every step passes: run make build (make bench does)"

mkdir -p "${BENCH_DIR:-/var/tmp}"
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/warren-bench.XXXXXX")
RES=$WORK/results
mkdir -p "$RES"
declare -A PID=() PORT=() FAILED=() NOT_DURABLE=()
cleanup() {
	local s
	for s in "${!PID[@]}"; do stop_server "$s"; done
	if [ -z "${BENCH_KEEP_WORK:-}" ]; then rm -rf "$WORK"; else log "scratch directory kept: $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# free_port prints a loopback TCP port nobody listens on, in 20000-40000.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Htln "sport = :$p" | grep -q . && ! [[ " ${PORT[*]} " == *" $p "* ]]; then
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# ask PORT WORD prints the server's answer to a four-letter word.
ask() {
	(
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf '%s' "$2" >&3
		IFS= read -r -d '' -t 5 a <&3 || true
		printf '%s' "$a"
	) 2>/dev/null
}

now_us() { echo "${EPOCHREALTIME/./}"; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

# write_cfg KIND DIR PORT writes the zoo.cfg both servers read.
write_cfg() {
	local kind=$1 dir=$2 port=$3
	mkdir -p "$dir/data"
	cat >"$dir/zoo.cfg" <<-EOF
		tickTime=$TICK
		initLimit=10
		syncLimit=5
		dataDir=$dir/data
		clientPort=$port
		clientPortAddress=127.0.0.1
		maxClientCnxns=0
		4lw.commands.whitelist=*
		admin.enableServer=false
	EOF
	# zookeeper-nosync: ZooKeeper still writes its log but never fsyncs it,
	# the closest match for a server that does not persist yet.
	[ "$kind" != zookeeper-nosync ] || echo "forceSync=no" >>"$dir/zoo.cfg"
}

# launch KIND DIR PORT starts a server in the background and sets PID[KIND].
launch() {
	local kind=$1 dir=$2 port=$3
	case $kind in
	zookeeper | zookeeper-nosync)
		java "-Xmx${ZK_HEAP_MB}m" -cp "$ZK_CP" "-Dzookeeper.log.dir=$dir" \
			org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
		;;
	warren)
		"$WARREN" server --config "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
		;;
	esac
	PID[$kind]=$!
	PORT[$kind]=$port
}

# start_server KIND NAME starts a fresh server in $WORK/NAME and waits until
# it takes sessions; on failure it says why and returns 1.
start_server() {
	local kind=$1 dir=$WORK/$2 port ans i
	port=$(free_port)
	write_cfg "$kind" "$dir" "$port"
	launch "$kind" "$dir" "$port"
	for i in $(seq 1 600); do
		if ! kill -0 "${PID[$kind]}" 2>/dev/null; then
			log "$kind FAILED to start (exited); last lines of $dir/server.log:"
			tail -n 20 "$dir/server.log" | sed 's/^/    /' >&2
			unset "PID[$kind]"
			return 1
		fi
		# ruok answers before ZooKeeper takes sessions; srvr does not.
		ans=$(ask "$port" srvr)
		if [[ $ans == *"Mode: "* ]]; then
			log "$kind serving on 127.0.0.1:$port (pid ${PID[$kind]})"
			return 0
		fi
		sleep 0.1
	done
	log "$kind FAILED to start: no srvr answer with a Mode within 60 s; last lines of $dir/server.log:"
	tail -n 20 "$dir/server.log" | sed 's/^/    /' >&2
	stop_server "$kind"
	return 1
}

# stop_server KIND [GRACE] sends SIGTERM, waits up to GRACE seconds (10)
# for the server to exit, then SIGKILLs it; STOP_KILLED says whether it had
# to.
STOP_KILLED=
stop_server() {
	local kind=$1 pid=${PID[$1]:-} grace=${2:-10} i
	STOP_KILLED=
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 $((grace * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		STOP_KILLED=1
		log "$kind did not exit within $grace s of SIGTERM: SIGKILL"
		kill -9 "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	unset "PID[$kind]"
}

# client KIND OUTFILE ARGS... runs the bench client against KIND, with the
# client library $CLIENT_LIB (default raw: the protocol-level load generator).
client() {
	local kind=$1 out=$2
	shift 2
	"${CLIENT[@]}" --client "${CLIENT_LIB:-raw}" --server "127.0.0.1:${PORT[$kind]}" --label "$kind" --server-pid "${PID[$kind]}" \
		--conns "$CONNS" --inflight "$INFLIGHT" --value-size "$VALUE" --json --quiet "$@" >"$out.tmp" 2>"$out.err" &&
		mv "$out.tmp" "$out"
}

# fail KIND WHY records the first failure of a server and says it.
fail() {
	[ -n "${FAILED[$1]:-}" ] || FAILED[$1]=$2
	log "$1 FAILED: $2"
}

# dir_kb DIR prints DIR's size on disk in KiB.
dir_kb() { du -sk "$1" | awk '{print $1}'; }

# quiesce DIR waits until DIR's size on disk stays put for a second (at
# most 120 s): the background snapshot a populate may have started is done.
quiesce() {
	local a b i
	a=$(dir_kb "$1")
	for i in $(seq 1 120); do
		sleep 1
		b=$(dir_kb "$1")
		[ "$a" != "$b" ] || return 0
		a=$b
	done
	log "$1 still growing after 120 s; stopping its server anyway"
}

# recovery_stop KIND NAME POPULATE_JSON ends a populate meant for the
# recovery step: it lets a background snapshot finish, notes the server's
# last zxid (srvr), stops it with SIGTERM (SIGKILL only after 120 s) and
# records which directory and populate result the recovery runs use.
recovery_stop() {
	local kind=$1 name=$2 pop=$3
	quiesce "$WORK/$name/data"
	ask "${PORT[$kind]}" srvr | awk '/^Zxid:/ {print $2}' >"$RES/recovery-$kind-zxid"
	stop_server "$kind" 120
	if [ -n "$STOP_KILLED" ]; then echo "SIGKILL (no exit within 120 s of SIGTERM)"; else echo SIGTERM; fi >"$RES/recovery-$kind-stop"
	echo "$name $pop" >"$RES/recovery-$kind-source"
}

# newest_snapshot DIR prints the zxid (decimal) and path of the newest
# complete snapshot.<hex zxid> file under DIR (both servers name them so).
newest_snapshot() {
	local f z
	find "$1" -type f -name 'snapshot.*' ! -name '*.tmp' | while read -r f; do
		z=${f##*.}
		[[ $z =~ ^[0-9a-fA-F]+$ ]] && echo "$((16#$z)) $f"
	done | sort -n | tail -n 1
}

# ---------------------------------------------------------------- 1. machine

log "scratch directory $WORK"
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
DISK=$(df -P "$WORK" | awk 'NR==2 {print $1}')
FS=$(stat -f -c %T "$WORK")
JAVA_VERSION=$(java -version 2>&1 | head -n1)
GO_VERSION=$(go version 2>/dev/null | awk '{print $3}' || true)
CMDLINE="$(env | grep -E '^(BENCH_[A-Z_]+|ZK_HEAP_MB|WARREN)=' | grep -v '^BENCH_CLIENT=' | sort | tr '\n' ' ' || true)make bench"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT (with uncommitted changes)"

# fsync latency: 1000 synchronous 4 KiB writes.
dd if=/dev/zero of="$WORK/fsync.test" bs=4k count=1000 oflag=dsync 2>"$WORK/dd.out" >/dev/null
DD_SECONDS=$(awk '/copied/ {for (i=1;i<=NF;i++) if ($i ~ /^s,?$/) print $(i-1)}' "$WORK/dd.out" | tr , . | head -n1)
FSYNC_US=$(awk -v s="$DD_SECONDS" 'BEGIN {printf "%.0f", s*1e6/1000}')
rm -f "$WORK/fsync.test"
log "fsync latency ${FSYNC_US} µs per 4 KiB write (dd oflag=dsync)"

# ---------------------------------------------------------------- 2. throughput

if has_step throughput; then
	for kind in $SERVERS; do
		start_server "$kind" "$kind-throughput" || fail "$kind" "cannot start the server; its throughput runs are skipped"
	done
	order=($SERVERS)
	for round in $(seq 1 "$ROUNDS"); do
		for wl in $WORKLOADS; do
			for kind in "${order[@]}"; do
				[ -z "${FAILED[$kind]:-}" ] || continue
				log "round $round/$ROUNDS: $wl against $kind"
				if ! client "$kind" "$RES/$wl-$kind-$round.json" --workload "$wl" --duration "$DURATION" \
					--warmup "$WARMUP" --keys "$KEYS"; then
					fail "$kind" "$wl run failed: $(tail -n 3 "$RES/$wl-$kind-$round.json.err" | tr '\n' ' ')"
					continue
				fi
				errs=$(jq .errors "$RES/$wl-$kind-$round.json")
				[ "$errs" = 0 ] || fail "$kind" "$wl run had $errs error replies: $(jq -r .first_error "$RES/$wl-$kind-$round.json")"
			done
		done
		# Alternate which server goes first.
		order=($(printf '%s\n' "${order[@]}" | tac))
	done
	# A server that acknowledged thousands of writes without writing a byte to
	# its dataDir does not persist them: its figures are no match for
	# ZooKeeper's fsynced ones, whatever they are.
	for kind in $SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		if [ -z "$(find "$WORK/$kind-throughput/data" -type f -size +0 -print -quit 2>/dev/null)" ]; then
			NOT_DURABLE[$kind]=1
			log "$kind wrote nothing under its dataDir: it does not persist yet; the report says so and adds ZooKeeper without fsync as a baseline"
		fi
	done
	for kind in $SERVERS; do stop_server "$kind"; done
fi

# ---------------------------------------------------------------- 3. memory

heap_used_kb() { # ZooKeeper's heap in use after a full GC, in KiB
	jcmd "$1" GC.run >/dev/null
	jcmd "$1" GC.heap_info | awk '/heap/ && /used/ {for (i=1;i<=NF;i++) if ($i=="used") {gsub(/[^0-9]/,"",$(i+1)); print $(i+1); exit}}'
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
mntr_heap() { # Warren's mntr lines mentioning heap (bytes shown in MiB)
	ask "$1" mntr | awk 'tolower($1) ~ /heap/ {if ($1 ~ /bytes$/) printf "%.0f MiB (%s) ", $2/1048576, $1; else printf "%s=%s ", $1, $2}'
}

if has_step memory; then
	for kind in $MEM_SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		start_server "$kind" "$kind-memory" || { fail "$kind" "cannot start the server for the memory run"; continue; }
		pid=${PID[$kind]}
		if [ "$kind" = zookeeper ]; then echo "$(heap_used_kb "$pid")" >"$RES/mem-$kind-heap-empty"; else mntr_heap "${PORT[$kind]}" >"$RES/mem-$kind-heap-empty"; fi
		rss_kb "$pid" >"$RES/mem-$kind-rss-empty"
		log "populating $kind with $POPULATE znodes"
		if ! client "$kind" "$RES/populate-$kind.json" --workload populate --count "$POPULATE" --keep; then
			fail "$kind" "populate failed: $(tail -n 3 "$RES/populate-$kind.json.err" | tr '\n' ' ')"
			stop_server "$kind"
			continue
		fi
		errs=$(jq .errors "$RES/populate-$kind.json")
		[ "$errs" = 0 ] || fail "$kind" "populate had $errs error replies: $(jq -r .first_error "$RES/populate-$kind.json")"
		if [ "$kind" = zookeeper ]; then heap_used_kb "$pid" >"$RES/mem-$kind-heap"; else mntr_heap "${PORT[$kind]}" >"$RES/mem-$kind-heap"; fi
		rss_kb "$pid" >"$RES/mem-$kind-rss"
		awk '/^VmHWM/ {print $2}' "/proc/$pid/status" >"$RES/mem-$kind-hwm"
		if has_step recovery && [ -z "${FAILED[$kind]:-}" ]; then
			recovery_stop "$kind" "$kind-memory" "$RES/populate-$kind.json"
		else
			stop_server "$kind"
			rm -rf "$WORK/$kind-memory"
		fi
	done
fi

# ---------------------------------------------------------------- 4. startup

if has_step startup; then
	for kind in $MEM_SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		: >"$RES/startup-$kind"
		for i in $(seq 1 "$STARTUP_RUNS"); do
			dir=$WORK/$kind-startup-$i
			port=$(free_port)
			write_cfg "$kind" "$dir" "$port"
			t0=$(now_us)
			launch "$kind" "$dir" "$port"
			ok=
			while kill -0 "${PID[$kind]}" 2>/dev/null; do
				if [ "$(ask "$port" ruok)" = imok ]; then
					ok=1
					break
				fi
				[ $(($(now_us) - t0)) -lt 60000000 ] || break
				sleep 0.005
			done
			t1=$(now_us)
			stop_server "$kind"
			rm -rf "$dir"
			if [ -z "$ok" ]; then
				fail "$kind" "startup run $i: no imok (log: $dir/server.log)"
				break
			fi
			echo $(((t1 - t0) / 1000)) >>"$RES/startup-$kind"
		done
	done
fi

# ---------------------------------------------------------------- 5. recovery

if has_step recovery; then
	for kind in $MEM_SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		if [ ! -s "$RES/recovery-$kind-source" ]; then
			# No memory step: populate a fresh server for the recovery runs.
			start_server "$kind" "$kind-recovery" || { fail "$kind" "cannot start the server for the recovery run"; continue; }
			log "populating $kind with $POPULATE znodes for the recovery runs"
			if ! client "$kind" "$RES/recovery-populate-$kind.json" --workload populate --count "$POPULATE" --keep; then
				fail "$kind" "populate for recovery failed: $(tail -n 3 "$RES/recovery-populate-$kind.json.err" | tr '\n' ' ')"
				stop_server "$kind"
				continue
			fi
			errs=$(jq .errors "$RES/recovery-populate-$kind.json")
			if [ "$errs" != 0 ]; then
				fail "$kind" "populate for recovery had $errs error replies: $(jq -r .first_error "$RES/recovery-populate-$kind.json")"
				stop_server "$kind"
				continue
			fi
			recovery_stop "$kind" "$kind-recovery" "$RES/recovery-populate-$kind.json"
		fi
		read -r name pop <"$RES/recovery-$kind-source"
		dir=$WORK/$name
		last=$(jq -r '.last // empty' "$pop")
		if [ -z "$last" ]; then
			fail "$kind" "$pop names no last znode: ${CLIENT[*]} predates --wait-get"
			continue
		fi
		dir_kb "$dir/data" >"$RES/recovery-$kind-kb"
		du -sk --apparent-size "$dir/data" | awk '{print $1}' >"$RES/recovery-$kind-apparent-kb"
		find "$dir/data" -type f -name 'snapshot.*' ! -name '*.tmp' | wc -l >"$RES/recovery-$kind-snapshots"
		snap_zxid= snap_file=
		read -r snap_zxid snap_file < <(newest_snapshot "$dir/data") || true
		zxid=$(cat "$RES/recovery-$kind-zxid")
		if [ -n "${snap_file:-}" ]; then
			stat -c %s "$snap_file" >"$RES/recovery-$kind-snapshot-bytes"
			[ -z "$zxid" ] || echo $((zxid - snap_zxid)) >"$RES/recovery-$kind-after"
		elif [ -n "$zxid" ]; then
			echo "$((zxid)) (no snapshot)" >"$RES/recovery-$kind-after"
		fi
		log "recovery of $kind: $(($(cat "$RES/recovery-$kind-kb") / 1024)) MiB in $dir/data; each run waits for $last"
		: >"$RES/recovery-$kind"
		for i in $(seq 1 "$RECOVERY_RUNS"); do
			port=$(free_port)
			write_cfg "$kind" "$dir" "$port"
			t0=$(now_us)
			launch "$kind" "$dir" "$port"
			"${CLIENT[@]}" --server "127.0.0.1:$port" --wait-get "$last" --value-size "$VALUE" \
				--wait-timeout "${RECOVERY_TIMEOUT}s" --json --quiet >"$RES/recovery-$kind-$i.json" 2>"$RES/recovery-$kind-$i.err" &
			waiter=$!
			# Whichever ends first: the waiter (answered or gave up) or the server (crashed).
			ended= st=0 why=
			wait -n -p ended "$waiter" "${PID[$kind]}" || st=$?
			if [ "$ended" != "$waiter" ]; then
				why="the server exited before answering"
				kill "$waiter" 2>/dev/null || true
				wait "$waiter" 2>/dev/null || true
			elif [ "$st" != 0 ]; then
				why="no getData of $last answered within $RECOVERY_TIMEOUT s: $(tail -n 1 "$RES/recovery-$kind-$i.err")"
			fi
			t1=$(jq -r '.ready_unix_us // empty' "$RES/recovery-$kind-$i.json" 2>/dev/null || true)
			stop_server "$kind" 120
			if [ -n "$why" ] || [ -z "$t1" ]; then
				log "$kind recovery run $i: ${why:-no result}; last lines of $dir/server.log:"
				tail -n 20 "$dir/server.log" | sed 's/^/    /' >&2
				fail "$kind" "recovery run $i: ${why:-no result} (log: $dir/server.log)"
				break
			fi
			cp "$dir/server.log" "$RES/recovery-$kind-$i.log"
			echo $(((t1 - t0) / 1000)) >>"$RES/recovery-$kind"
			log "recovery run $i/$RECOVERY_RUNS of $kind: $(((t1 - t0) / 1000)) ms ($(jq .attempts "$RES/recovery-$kind-$i.json") attempts)"
		done
		dir_kb "$dir/data" >"$RES/recovery-$kind-kb-after"
	done
fi

# ---------------------------------------------------------------- 6. ensemble

ENS_MEMBERS="1 2 3"

# ens_start KIND writes a zoo.cfg and myid for each member of a 3-member
# ensemble of KIND in $WORK/ens-KIND/N and starts them.
ens_start() {
	local kind=$1 i j dir servers=
	for i in $ENS_MEMBERS; do
		PORT[ens-$kind-$i]=$(free_port)
		PORT[ens-$kind-$i-qp]=$(free_port)
		PORT[ens-$kind-$i-ep]=$(free_port)
	done
	for j in $ENS_MEMBERS; do
		servers="${servers}server.$j=127.0.0.1:${PORT[ens-$kind-$j-qp]}:${PORT[ens-$kind-$j-ep]}
"
	done
	for i in $ENS_MEMBERS; do
		dir=$WORK/ens-$kind/$i
		mkdir -p "$dir/data"
		echo "$i" >"$dir/data/myid"
		cat >"$dir/zoo.cfg" <<-EOF
			tickTime=$TICK
			initLimit=10
			syncLimit=5
			dataDir=$dir/data
			clientPort=${PORT[ens-$kind-$i]}
			clientPortAddress=127.0.0.1
			maxClientCnxns=0
			4lw.commands.whitelist=*
			admin.enableServer=false
		EOF
		printf '%s' "$servers" >>"$dir/zoo.cfg"
		ens_launch "$kind" "$i"
	done
}

# ens_launch KIND N starts member N of KIND's ensemble (on its data, if any)
# and sets PID[ens-KIND-N]; its output goes on $dir/server.log.
ens_launch() {
	local kind=$1 i=$2 dir=$WORK/ens-$1/$2
	echo "==== launch $(date -u +%T.%N)" >>"$dir/server.log"
	case $kind in
	zookeeper)
		java "-Xmx${ZK_HEAP_MB}m" -cp "$ZK_CP" "-Dzookeeper.log.dir=$dir" \
			org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
		;;
	warren)
		"$WARREN" server --config "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
		;;
	esac
	PID[ens-$kind-$i]=$!
}

# ens_modes KIND prints "N:mode" for each member (srvr's Mode, "down" for a
# member that does not answer one).
ens_modes() {
	local kind=$1 i m
	for i in $ENS_MEMBERS; do
		m=$(ask "${PORT[ens-$kind-$i]}" srvr | awk '/^Mode:/ {print $2}')
		printf '%s:%s ' "$i" "${m:-down}"
	done
}

# ens_wait KIND waits (up to 120 s) until one member leads and the two
# others follow; on failure it says why and returns 1.
ens_wait() {
	local kind=$1 i modes t0
	t0=$(now_us)
	while :; do
		for i in $ENS_MEMBERS; do
			if [ -z "${PID[ens-$kind-$i]:-}" ] || ! kill -0 "${PID[ens-$kind-$i]}" 2>/dev/null; then
				log "$kind ensemble member $i is not running; last lines of $WORK/ens-$kind/$i/server.log:"
				tail -n 20 "$WORK/ens-$kind/$i/server.log" | sed 's/^/    /' >&2
				return 1
			fi
		done
		modes=$(ens_modes "$kind")
		if [ "$(grep -o ':leader' <<<"$modes" | wc -l)" = 1 ] && [ "$(grep -o ':follower' <<<"$modes" | wc -l)" = 2 ]; then
			return 0
		fi
		if [ $(($(now_us) - t0)) -gt 120000000 ]; then
			log "$kind ensemble not whole within 120 s: $modes"
			return 1
		fi
		sleep 0.1
	done
}

# ens_leader KIND prints the number of the member that leads.
ens_leader() { ens_modes "$1" | tr ' ' '\n' | awk -F: '$2 == "leader" {print $1}'; }

# ens_addrs KIND [SKIP] prints the members' client addresses, comma-
# separated, member SKIP left out.
ens_addrs() {
	local kind=$1 skip=${2:-} i out=
	for i in $ENS_MEMBERS; do
		[ "$i" != "$skip" ] || continue
		out="$out${out:+,}127.0.0.1:${PORT[ens-$kind-$i]}"
	done
	echo "$out"
}

ens_pids() {
	local i out=
	for i in $ENS_MEMBERS; do out="$out${out:+,}${PID[ens-$1-$i]}"; done
	echo "$out"
}

ens_stop() {
	local i
	for i in $ENS_MEMBERS; do stop_server "ens-$1-$i"; done
}

# ens_client KIND OUTFILE ARGS... runs the bench client against all three
# members of KIND's ensemble.
ens_client() {
	local kind=$1 out=$2
	shift 2
	"${CLIENT[@]}" --client raw --server "$(ens_addrs "$kind")" --label "$kind" --server-pid "$(ens_pids "$kind")" \
		--conns "$ENSEMBLE_CONNS" --inflight "$INFLIGHT" --value-size "$VALUE" --json --quiet "$@" >"$out.tmp" 2>"$out.err" &&
		mv "$out.tmp" "$out"
}

if has_step ensemble; then
	ENS_KINDS=
	for kind in $MEM_SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		ens_start "$kind"
		if ens_wait "$kind"; then
			log "$kind ensemble whole: $(ens_modes "$kind")(client ports $(ens_addrs "$kind"))"
			ENS_KINDS="$ENS_KINDS $kind"
		else
			fail "$kind" "its 3-member ensemble did not form (logs: $WORK/ens-$kind/*/server.log)"
			ens_stop "$kind"
		fi
	done
	order=($ENS_KINDS)
	for round in $(seq 1 "$ROUNDS"); do
		for wl in $WORKLOADS; do
			for kind in "${order[@]}"; do
				[ -z "${FAILED[$kind]:-}" ] || continue
				log "ensemble round $round/$ROUNDS: $wl against $kind"
				f=$RES/ens-$wl-$kind-$round.json
				if ! ens_client "$kind" "$f" --workload "$wl" --duration "$DURATION" --warmup "$WARMUP" --keys "$KEYS"; then
					fail "$kind" "ensemble $wl run failed: $(tail -n 3 "$f.err" | tr '\n' ' ')"
					continue
				fi
				errs=$(jq .errors "$f")
				[ "$errs" = 0 ] || fail "$kind" "ensemble $wl run had $errs error replies: $(jq -r .first_error "$f")"
			done
		done
		order=($(printf '%s\n' "${order[@]}" | tac))
	done
	for run in $(seq 1 "$FAILOVER_RUNS"); do
		for kind in "${order[@]}"; do
			[ -z "${FAILED[$kind]:-}" ] || continue
			ens_wait "$kind" || { fail "$kind" "ensemble not whole before failover run $run"; continue; }
			leader=$(ens_leader "$kind")
			lpid=${PID[ens-$kind-$leader]}
			f=$RES/failover-$kind-$run.json
			log "failover run $run/$FAILOVER_RUNS of $kind: SIGKILL of the leader, member $leader (pid $lpid); client on $(ens_addrs "$kind" "$leader")"
			st=0
			"${CLIENT[@]}" --workload failover --server "$(ens_addrs "$kind" "$leader")" --kill-pid "$lpid" \
				--label "$kind" --value-size "$VALUE" --json --quiet >"$f.tmp" 2>"$f.err" || st=$?
			# Reap the leader (killed by the client, unless the client failed first).
			kill -9 "$lpid" 2>/dev/null || true
			wait "$lpid" 2>/dev/null || true
			unset "PID[ens-$kind-$leader]"
			if [ "$st" != 0 ]; then
				fail "$kind" "failover run $run: $(tail -n 3 "$f.err" | tr '\n' ' ')"
			else
				mv "$f.tmp" "$f"
				echo "$leader" >"$RES/failover-$kind-$run.killed"
				log "failover run $run/$FAILOVER_RUNS of $kind: write gap $(jq .gap_ms "$f") ms, $(jq .reconnects "$f") reconnects, session $(jq -r 'if .new_session then "EXPIRED" elif .session_resumed then "resumed" else "kept, no reconnect" end' "$f"), resumed on $(jq -r .resumed_on "$f")"
			fi
			ens_launch "$kind" "$leader"
			ens_wait "$kind" || fail "$kind" "the ensemble was not whole again after failover run $run (member $leader restarted)"
			log "$kind ensemble whole again: $(ens_modes "$kind")"
		done
		order=($(printf '%s\n' "${order[@]}" | tac))
	done
	for kind in $ENS_KINDS; do
		grep -hiE 'panic|fatal|data race' "$WORK/ens-$kind"/*/server.log >"$RES/ens-$kind-log-alarms" 2>/dev/null || true
		ens_stop "$kind"
	done
fi

# ---------------------------------------------------------------- 7. clients

if has_step clients; then
	for kind in $CLIENT_SERVERS; do
		[ -z "${FAILED[$kind]:-}" ] || continue
		start_server "$kind" "$kind-clients" || fail "$kind" "cannot start the server for the client comparison"
	done
	order=($CLIENT_SERVERS)
	libs=($CLIENT_LIBS)
	for round in $(seq 1 "$ROUNDS"); do
		for wl in $WORKLOADS; do
			for kind in "${order[@]}"; do
				for lib in "${libs[@]}"; do
					[ -z "${FAILED[$kind]:-}" ] || continue
					log "clients round $round/$ROUNDS: $wl against $kind with --client $lib"
					f=$RES/cl-$wl-$kind-$lib-$round.json
					if ! CLIENT_LIB=$lib client "$kind" "$f" --workload "$wl" --duration "$DURATION" \
						--warmup "$WARMUP" --keys "$KEYS"; then
						fail "$kind" "client comparison: $wl run with --client $lib failed: $(tail -n 3 "$f.err" | tr '\n' ' ')"
						continue
					fi
					errs=$(jq .errors "$f")
					[ "$errs" = 0 ] || fail "$kind" "client comparison: $wl run with --client $lib had $errs error replies: $(jq -r .first_error "$f")"
				done
			done
		done
		# Alternate which client and which server go first.
		libs=($(printf '%s\n' "${libs[@]}" | tac))
		order=($(printf '%s\n' "${order[@]}" | tac))
	done
	for kind in $CLIENT_SERVERS; do stop_server "$kind"; done
fi

# ---------------------------------------------------------------- report

# median_run WORKLOAD KIND prints the result file whose ops/s is the median.
median_run() {
	local f
	for f in "$RES/$1-$2-"*.json; do
		[ -e "$f" ] && echo "$(jq .ops_per_sec "$f") $f"
	done | sort -n | awk '{a[NR]=$2} END {if (NR) print a[int((NR+1)/2)]}'
}
ops_range() {
	local f
	for f in "$RES/$1-$2-"*.json; do [ -e "$f" ] && jq .ops_per_sec "$f"; done |
		sort -n | awk 'NR==1 {lo=$1} {hi=$1} END {if (NR) printf "%.0f–%.0f", lo, hi}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "") printf "%.2f×", a/b; else print "n/a"}'; }
mib_of_kb() { awk -v k="$1" 'BEGIN {if (k != "") printf "%.0f MiB", k/1024; else print "n/a"}'; }

# med_field FILTER FILES... prints the median of a jq filter over result files.
med_field() {
	local q=$1 f
	shift
	for f in "$@"; do [ -e "$f" ] && jq "$q" "$f"; done | median
}
# range_field FILTER FORMAT FILES... prints "min–max" of a jq filter over result files.
range_field() {
	local q=$1 fmt=$2 f
	shift 2
	for f in "$@"; do [ -e "$f" ] && jq "$q" "$f"; done | sort -g |
		awk -v fmt="$fmt" 'NR==1 {lo=$1} {hi=$1} END {if (NR) printf fmt "–" fmt, lo, hi}'
}
num() { awk -v x="$1" -v fmt="$2" 'BEGIN {if (x != "") printf fmt, x; else print "n/a"}'; }
ms_of_us() { awk -v x="$1" 'BEGIN {if (x != "") printf "%.2f", x/1000; else print "n/a"}'; }

# clients_report prints the client comparison section.
clients_report() {
	local wl kind lib a b files n libs=($CLIENT_LIBS)
	local -A C_OPS=() C_P99=() C_CPU=()
	cat <<-EOF
		## Client: Warren SDK vs go-zookeeper

		Produced by \`$CMDLINE\` (scripts/bench.sh, step 7) at commit $COMMIT on $(date -u +%Y-%m-%d),
		on a shared $(nproc)-core machine: the bench process, the server and whatever else runs there
		share the cores, so the absolute figures are noisy; the runs alternate (the clients' order is
		reversed every round, the servers' too) so that the load weighs on both clients alike.
		The same \`warren bench\` binary runs the same workloads with $(printf '`--client %s` ' "${libs[@]}" | sed 's/` `/`, `/g; s/ $//')
		against a fresh standalone server of each kind (zoo.cfg as above, forceSync on):
		$CONNS sessions × $INFLIGHT goroutines per session, each goroutine making synchronous calls on
		its session's shared connection, which the client pipelines; $VALUE-byte values, $KEYS keys,
		${WARMUP} warm-up then ${DURATION} measured. The sdk client sends create2 for create (the SDK's
		only create), go-zookeeper sends create. **Client CPU** is the bench process's own CPU time
		(getrusage RUSAGE_SELF, user + system, every thread) over the measured window, divided by the
		operations completed in it. Each figure is the median of $ROUNDS runs, each taken separately
		(the range of all $ROUNDS is shown for ops/s and client CPU).

		| workload | server | client | ops/s | range | p50 ms | p99 ms | client CPU µs/op | range | client CPU % | server CPU ms / 1k ops | errors |
		|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	for wl in $WORKLOADS; do
		for kind in $CLIENT_SERVERS; do
			for lib in "${libs[@]}"; do
				files=()
				for f in "$RES/cl-$wl-$kind-$lib-"*.json; do [ -e "$f" ] && files+=("$f"); done
				if [ "${#files[@]}" -eq 0 ]; then
					echo "| $wl | $kind | $lib | failed | | | | | | | | |"
					continue
				fi
				C_OPS[$wl-$kind-$lib]=$(med_field .ops_per_sec "${files[@]}")
				C_P99[$wl-$kind-$lib]=$(med_field .latency.p99_us "${files[@]}")
				C_CPU[$wl-$kind-$lib]=$(med_field .client_cpu_us_per_op "${files[@]}")
				n=${#files[@]}
				[ "$n" -eq "$ROUNDS" ] || n="$n of $ROUNDS runs"
				[ "$n" != "$ROUNDS" ] || n=
				echo "| $wl | $kind | $lib${n:+ ($n)} | $(num "${C_OPS[$wl-$kind-$lib]}" %.0f) | $(range_field .ops_per_sec %.0f "${files[@]}") | $(ms_of_us "$(med_field .latency.p50_us "${files[@]}")") | $(ms_of_us "${C_P99[$wl-$kind-$lib]}") | $(num "${C_CPU[$wl-$kind-$lib]}" %.2f) | $(range_field .client_cpu_us_per_op %.2f "${files[@]}") | $(num "$(med_field .client_cpu_percent "${files[@]}")" %.0f) | $(num "$(med_field '.server_process.cpu_ms_per_1k_ops // empty' "${files[@]}")" %.2f) | $(for f in "${files[@]}"; do jq .errors "$f"; done | awk '{s+=$1} END {print s+0}') |"
			done
		done
	done
	echo
	if [ "${#libs[@]}" -ge 2 ]; then
		a=${libs[0]} b=${libs[1]}
		cat <<-EOF
			$a / $b, medians:

			| workload | server | throughput (higher is better) | p99 latency (lower is better) | client CPU per op (lower is better) |
			|---|---|---:|---:|---:|
		EOF
		for wl in $WORKLOADS; do
			for kind in $CLIENT_SERVERS; do
				echo "| $wl | $kind | $(ratio "${C_OPS[$wl-$kind-$a]:-}" "${C_OPS[$wl-$kind-$b]:-}") | $(ratio "${C_P99[$wl-$kind-$a]:-}" "${C_P99[$wl-$kind-$b]:-}") | $(ratio "${C_CPU[$wl-$kind-$a]:-}" "${C_CPU[$wl-$kind-$b]:-}") |"
			done
		done
		echo
	fi
}

# recovery_report prints the Recovery section.
recovery_report() {
	local kind f src med lo hi after snap bytes warren_med zk_med
	src="populated afresh by the recovery step"
	! has_step memory || src="the memory step's data directory, reused"
	cat <<-EOF
		## Recovery: $POPULATE znodes of $VALUE bytes

		Data directory: $src (\`warren bench --workload populate --count $POPULATE --keep\`,
		$CONNS × $INFLIGHT pipelined creates), written through the client with each server's defaults:
		snapCount 100000 for both, so each took background snapshots during the populate and holds some
		log after the newest one, as a server in service does; neither purges old snapshots (autopurge is
		off by default in both). Once the directory's size had settled (a snapshot in progress finished),
		the server was stopped with SIGTERM. Then $RECOVERY_RUNS times: exec of the server on that
		directory to the first successful getData of the last znode the populate issued, with its
		$VALUE bytes of data — a fresh connection and session every 10 ms (\`warren bench --wait-get\`),
		so the time covers loading the snapshot and replaying the log, not just opening the port — then
		SIGTERM again. ZooKeeper writes a full snapshot as part of every start, before it serves, so only
		its first run replays the log after the newest snapshot and the later ones start from the snapshot
		the previous start wrote; Warren takes no snapshot at start, so every run of it replays that log
		("txns after it": the zxids between the newest snapshot and the server's last zxid before the
		first restart). The page cache is warm (the files were just written). "On disk" is \`du -s\` of the
		whole data directory (snapshots and log) before the first restart and after the last; the
		apparent size (\`du --apparent-size\`) counts preallocated log space that is not yet written.

		| server | median ms | min ms | max ms | first run ms | on disk | apparent size | on disk after the runs | snapshots | newest snapshot | txns after it | stopped with |
		|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
	EOF
	for kind in $MEM_SERVERS; do
		f=$RES/recovery-$kind
		if [ ! -s "$f" ] || [ "$(wc -l <"$f")" -lt "$RECOVERY_RUNS" ]; then
			echo "| $kind | failed | | | | | | | | | | |"
			continue
		fi
		med=$(median <"$f")
		lo=$(sort -n "$f" | head -n1)
		hi=$(sort -n "$f" | tail -n1)
		[ "$kind" != warren ] || warren_med=$med
		[ "$kind" != zookeeper ] || zk_med=$med
		bytes=$(cat "$RES/recovery-$kind-snapshot-bytes" 2>/dev/null || true)
		snap=n/a
		[ -z "$bytes" ] || snap=$(mib_of_kb $((bytes / 1024)))
		after=$(cat "$RES/recovery-$kind-after" 2>/dev/null || true)
		echo "| $kind | $med | $lo | $hi | $(head -n1 "$f") | $(mib_of_kb "$(cat "$RES/recovery-$kind-kb")") | $(mib_of_kb "$(cat "$RES/recovery-$kind-apparent-kb")") | $(mib_of_kb "$(cat "$RES/recovery-$kind-kb-after" 2>/dev/null)") | $(cat "$RES/recovery-$kind-snapshots") | $snap | ${after:-n/a} | $(cat "$RES/recovery-$kind-stop") |"
	done
	echo
	if [ -n "${warren_med:-}" ]; then
		local verdict="**met**"
		[ "$warren_med" -lt 2000 ] || verdict="**not met**"
		if [ -n "${zk_med:-}" ]; then
			echo "Warren / zookeeper recovery time: $(ratio "$warren_med" "$zk_med") (lower is better; $warren_med ms against $zk_med ms)."
		fi
		echo "Target: Warren answers reads within 2 s of exec on this data: $verdict (median $warren_med ms)."
		echo
	fi
}

# ensemble_report prints the Ensemble section.
ensemble_report() {
	local wl kind f vals med lo hi warren_med= zk_med=
	local -A EOPS=() EP99=()
	cat <<-EOF
		## Ensemble: 3 members on loopback

		A 3-member ensemble of each kind on 127.0.0.1 (\`server.N=127.0.0.1:qp:ep\` lines, myid,
		tickTime=$TICK, initLimit=10, syncLimit=5, forceSync default, data directories on $DISK), both
		ensembles up at once, the one not measured idle. ZooKeeper: \`java -Xmx${ZK_HEAP_MB}m ...
		QuorumPeerMain zoo.cfg\` per member; Warren: \`warren server --config zoo.cfg\` per member.

		### Throughput

		Same client and settings as above, but $ENSEMBLE_CONNS connections spread round robin over the
		three members (\`warren bench --server a,b,c\`: connection i on member i mod 3, the leader included) × $INFLIGHT in flight;
		writes from followers go through the leader, reads are served by the member the connection is
		on. Server CPU is the three processes' together. Median of $ROUNDS runs, alternating between kinds.

		| workload | server | ops/s | range | p50 ms | p99 ms | p99.9 ms | server CPU ms / 1k ops | server CPU % | client CPU % | errors |
		|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
	EOF
	for wl in $WORKLOADS; do
		for kind in $MEM_SERVERS; do
			f=$(median_run "ens-$wl" "$kind")
			if [ -z "$f" ]; then
				echo "| $wl | $kind | failed | | | | | | | | |"
				continue
			fi
			EOPS[$wl-$kind]=$(jq .ops_per_sec "$f")
			EP99[$wl-$kind]=$(jq .latency.p99_us "$f")
			jq -r --arg w "$wl" --arg k "$kind" --arg range "$(ops_range "ens-$wl" "$kind")" '
				def f(n): (n * 100 | round) / 100;
				"| \($w) | \($k) | \(.ops_per_sec | round) | \($range) | \(f(.latency.p50_us/1000)) | \(f(.latency.p99_us/1000)) | \(f(.latency.p999_us/1000)) | \(f(.server_process.cpu_ms_per_1k_ops)) | \(.server_process.cpu_percent | round) | \(.client_cpu_percent | round) | \(.errors) |"' "$f"
		done
	done
	echo
	if [[ " $MEM_SERVERS " == *" warren "* && " $MEM_SERVERS " == *" zookeeper "* ]]; then
		echo "Warren / zookeeper, 3-member ensembles:"
		echo
		echo "| workload | throughput | target | met | p99 latency (lower is better) | p99 lower |"
		echo "|---|---:|---:|---|---:|---|"
		for wl in $WORKLOADS; do
			local target="—" need= met="—" lower="—" r
			case $wl in create | set) target="≥ 2×" need=2 ;; get) target="≥ 1.5×" need=1.5 ;; esac
			r=$(awk -v a="${EOPS[$wl-warren]:-}" -v b="${EOPS[$wl-zookeeper]:-}" 'BEGIN {if (a != "" && b > 0) print a/b}')
			if [ -n "$need" ] && [ -n "$r" ]; then
				met=$(awk -v r="$r" -v n="$need" 'BEGIN {print (r >= n) ? "yes" : "**no**"}')
			fi
			if [ -n "${EP99[$wl-warren]:-}" ] && [ -n "${EP99[$wl-zookeeper]:-}" ]; then
				lower=$(awk -v a="${EP99[$wl-warren]}" -v b="${EP99[$wl-zookeeper]}" 'BEGIN {print (a < b) ? "yes" : "**no**"}')
			fi
			echo "| $wl | $(ratio "${EOPS[$wl-warren]:-}" "${EOPS[$wl-zookeeper]:-}") | $target | $met | $(ratio "${EP99[$wl-warren]:-}" "${EP99[$wl-zookeeper]:-}") | $lower |"
		done
		echo
	fi
	cat <<-EOF
		### Failover: the leader SIGKILLed

		$FAILOVER_RUNS runs per kind, alternating. Each run finds the leader (srvr) and starts
		\`warren bench --workload failover --server <the two followers> --kill-pid <the leader's pid>\`:
		one session on the first follower writes one znode (setData, $VALUE bytes) back to back, one
		write in flight; after 1 s it SIGKILLs the leader. When its connection fails or closes (a
		follower that loses its leader closes its clients' connections), the client reconnects to
		the next follower at once, then every 5 ms, resuming its session (id, password, last zxid seen)
		as a ZooKeeper client does, without the 1 s pause the Java and Go clients take after cycling
		through their server list; a write whose outcome is unknown is sent again. **Write gap**: time
		from the SIGKILL to the completion of the first successful write sent after the leader process
		was gone. **Stall**: the longest time between two successful writes. Then the killed member is
		restarted on its data and the next run waits until the ensemble is whole again (one leader, two
		followers), so each run kills a leader that is in steady state.

		| server | median write gap ms | min ms | max ms | median stall ms | reconnects (median) | sessions resumed | new sessions |
		|---|---:|---:|---:|---:|---:|---:|---:|
	EOF
	for kind in $MEM_SERVERS; do
		vals=$(for f in "$RES/failover-$kind-"*.json; do [ -e "$f" ] && jq .gap_ms "$f"; done)
		if [ -z "$vals" ] || [ "$(wc -l <<<"$vals")" -lt "$FAILOVER_RUNS" ]; then
			echo "| $kind | failed | | | | | | |"
			continue
		fi
		med=$(sort -g <<<"$vals" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		lo=$(sort -g <<<"$vals" | head -n1)
		hi=$(sort -g <<<"$vals" | tail -n1)
		[ "$kind" != warren ] || warren_med=$med
		[ "$kind" != zookeeper ] || zk_med=$med
		local stall rec resumed newsess
		stall=$(for f in "$RES/failover-$kind-"*.json; do jq .outage_ms "$f"; done | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		rec=$(for f in "$RES/failover-$kind-"*.json; do jq .reconnects "$f"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		resumed=$(cat "$RES/failover-$kind-"*.json | jq -s 'map(select(.session_resumed)) | length')
		newsess=$(cat "$RES/failover-$kind-"*.json | jq -s 'map(select(.new_session)) | length')
		printf '| %s | %.0f | %.0f | %.0f | %.0f | %s | %s of %s | %s |\n' "$kind" "$med" "$lo" "$hi" "$stall" "$rec" "$resumed" "$FAILOVER_RUNS" "$newsess"
	done
	echo
	if [ -n "$warren_med" ]; then
		local verdict
		verdict=$(awk -v m="$warren_med" 'BEGIN {print (m < 300) ? "**met**" : "**not met**"}')
		[ -z "$zk_med" ] || printf 'Warren / zookeeper write gap: %s (lower is better; %.0f ms against %.0f ms).\n' \
			"$(ratio "$warren_med" "$zk_med")" "$warren_med" "$zk_med"
		printf 'Target: writes through a follower resume within 300 ms of the leader'"'"'s SIGKILL: %s (median %.0f ms).\n' "$verdict" "$warren_med"
		echo
	fi
	for kind in $MEM_SERVERS; do
		if [ -s "$RES/ens-$kind-log-alarms" ]; then
			echo "$kind's ensemble logs mention panics, fatal errors or data races ($(wc -l <"$RES/ens-$kind-log-alarms") lines), e.g.:"
			echo
			echo '```'
			head -n 5 "$RES/ens-$kind-log-alarms"
			echo '```'
			echo
		fi
	done
}

declare -A OPS=() P99=() SCPU=()
report() {
	local wl kind f
	cat <<-EOF
		# Benchmarks: Warren and Apache ZooKeeper 3.8
		$BANNER

		Produced by \`make bench\` (scripts/bench.sh) at commit $COMMIT on $(date -u +%Y-%m-%d).
		Both servers standalone on loopback, one client (\`warren bench\`) driving both, runs
		alternating between servers; each figure is from the run with the median throughput
		of $ROUNDS (the range of all $ROUNDS is shown). The machine is shared between client and servers,
		so client CPU is reported too.

		Exact command:

		\`\`\`sh
		$CMDLINE
		\`\`\`

		Settings: $CONNS connections × $INFLIGHT requests in flight, $VALUE-byte values, $KEYS keys for
		set/get/mixed (mixed: 90% getData, 10% setData), ${WARMUP} warm-up then ${DURATION} measured.
		Same zoo.cfg for all: tickTime=$TICK, forceSync default (yes; \`zookeeper-nosync\` adds forceSync=no), data directories side by side on
		$DISK ($FS), every four-letter word allowed. ZooKeeper: \`java -Xmx${ZK_HEAP_MB}m\` (zkServer.sh's
		default heap), ZooKeeperServerMain. Warren: \`warren server --config zoo.cfg\`.

		## Machine

		| | |
		|---|---|
		| CPU | $CPU_MODEL, $(nproc) cores |
		| memory | $MEM_GB GiB |
		| kernel | $(uname -r) |
		| disk | $DISK ($FS), fsync latency ${FSYNC_US} µs (1000 × 4 KiB \`dd oflag=dsync\`) |
		| Java | $JAVA_VERSION |
		| Go | ${GO_VERSION:-unknown} |

	EOF
	local wls=
	! has_step throughput || wls=$WORKLOADS
	for wl in $wls; do
		echo "## $wl"
		echo
		echo "| server | ops/s | range | p50 ms | p99 ms | p99.9 ms | server CPU ms / 1k ops | server CPU % | client CPU ms / 1k ops | client CPU % | errors |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for kind in $SERVERS; do
			f=$(median_run "$wl" "$kind")
			if [ -z "$f" ]; then
				echo "| $kind | failed | | | | | | | | | |"
				continue
			fi
			OPS[$wl-$kind]=$(jq .ops_per_sec "$f")
			P99[$wl-$kind]=$(jq .latency.p99_us "$f")
			SCPU[$wl-$kind]=$(jq '.server_process.cpu_ms_per_1k_ops // empty' "$f")
			jq -r --arg k "$kind" --arg range "$(ops_range "$wl" "$kind")" '
				def f(n): (n * 100 | round) / 100;
				"| \($k) | \(.ops_per_sec | round) | \($range) | \(f(.latency.p50_us/1000)) | \(f(.latency.p99_us/1000)) | \(f(.latency.p999_us/1000)) | \(f(.server_process.cpu_ms_per_1k_ops)) | \(.server_process.cpu_percent | round) | \(f(.client_cpu_ms_per_1k_ops)) | \(.client_cpu_percent | round) | \(.errors) |"' "$f"
		done
		echo
	done
	if has_step throughput && [[ " $SERVERS " == *" warren "* && " $SERVERS " == *" zookeeper "* ]]; then
		local base
		for base in zookeeper zookeeper-nosync; do
			[[ " $SERVERS " == *" $base "* ]] || continue
			echo "## Warren / $base"
			echo
			echo "| workload | throughput | target | p99 latency (lower is better) | server CPU per op (lower is better) |"
			echo "|---|---:|---:|---:|---:|"
			for wl in $WORKLOADS; do
				local target="—"
				case $wl in create | set) target="≥ 2×" ;; get) target="≥ 1.5×" ;; esac
				echo "| $wl | $(ratio "${OPS[$wl-warren]:-}" "${OPS[$wl-$base]:-}") | $target | $(ratio "${P99[$wl-warren]:-}" "${P99[$wl-$base]:-}") | $(ratio "${SCPU[$wl-warren]:-}" "${SCPU[$wl-$base]:-}") |"
			done
			echo
		done
	fi
	if has_step memory; then
		cat <<-EOF
			## Memory: $POPULATE znodes of $VALUE bytes

			A fresh server of each kind, then \`warren bench --workload populate --count $POPULATE --keep\`
			($CONNS × $INFLIGHT pipelined creates, 1000 children per parent). ZooKeeper's heap is the
			"used" figure of \`jcmd <pid> GC.heap_info\` right after \`jcmd <pid> GC.run\`; Warren's heap
			figures are whatever its \`mntr\` reports with "heap" in the name. RSS is VmRSS from /proc.

			| server | heap, empty | heap, populated | RSS, empty | RSS, populated | peak RSS | populate rate |
			|---|---:|---:|---:|---:|---:|---:|
		EOF
		for kind in $MEM_SERVERS; do
			f=$RES/populate-$kind.json
			if [ ! -s "$f" ]; then
				echo "| $kind | failed | | | | | |"
				continue
			fi
			local he hp
			if [ "$kind" = zookeeper ]; then
				he=$(mib_of_kb "$(cat "$RES/mem-$kind-heap-empty" 2>/dev/null)")
				hp=$(mib_of_kb "$(cat "$RES/mem-$kind-heap" 2>/dev/null)")
			else
				he=$(cat "$RES/mem-$kind-heap-empty" 2>/dev/null)
				hp=$(cat "$RES/mem-$kind-heap" 2>/dev/null)
				he=${he:-n/a (not in mntr)}
				hp=${hp:-n/a (not in mntr)}
			fi
			echo "| $kind | $he | $hp | $(mib_of_kb "$(cat "$RES/mem-$kind-rss-empty")") | $(mib_of_kb "$(cat "$RES/mem-$kind-rss")") | $(mib_of_kb "$(cat "$RES/mem-$kind-hwm")") | $(jq '.ops_per_sec | round' "$f") creates/s |"
		done
		echo
	fi
	if has_step startup; then
		cat <<-EOF
			## Startup

			Time from exec of a fresh standalone server (empty data directory) to its first \`imok\`
			answer to \`ruok\`, polled every 5 ms; $STARTUP_RUNS runs each.

			| server | median ms | min ms | max ms |
			|---|---:|---:|---:|
		EOF
		for kind in $MEM_SERVERS; do
			f=$RES/startup-$kind
			if [ ! -s "$f" ] || [ "$(wc -l <"$f")" -lt "$STARTUP_RUNS" ]; then
				echo "| $kind | failed | | |"
				continue
			fi
			echo "| $kind | $(median <"$f") | $(sort -n "$f" | head -n1) | $(sort -n "$f" | tail -n1) |"
		done
		echo
	fi
	if has_step recovery; then
		recovery_report
	fi
	if has_step ensemble; then
		ensemble_report
	fi
	if has_step clients; then
		clients_report
	fi
	if [ "${#FAILED[@]}" -gt 0 ]; then
		echo "## Failures"
		echo
		for kind in "${!FAILED[@]}"; do echo "- $kind failed: ${FAILED[$kind]}"; done
	fi
}

complete=1
for kind in zookeeper warren; do
	[[ " $SERVERS " == *" $kind "* ]] && [ -z "${FAILED[$kind]:-}" ] || complete=
done
for step in $ALL_STEPS; do has_step "$step" || complete=; done
BANNER=
for kind in "${!NOT_DURABLE[@]}"; do
	BANNER="$BANNER
> **$kind does not persist writes yet**: it acknowledged every write without writing
> anything under its dataDir (the write-ahead log and snapshots are the durability work,
> issue \"Core 2/4\"). ZooKeeper fsyncs every write by default, so its write figures are
> also given with forceSync=no (\`zookeeper-nosync\`, which still writes its log but never
> fsyncs): compare writes with that row too. Reads are unaffected."
done
KEEP_MARK="<!-- bench.sh: hand-written sections follow -->"
if [ -n "$complete" ]; then
	mkdir -p "$(dirname "$OUT")"
	report >"$OUT.tmp"
	# Hand-written sections after the mark are kept as they are.
	if [ -f "$OUT" ] && grep -qxF "$KEEP_MARK" "$OUT"; then
		sed -n "\|^$KEEP_MARK\$|,\$p" "$OUT" >>"$OUT.tmp"
	fi
	mv "$OUT.tmp" "$OUT"
	log "wrote $OUT"
	exit 0
fi
BANNER="$BANNER
> **Not a result.** A partial or dry run (servers: $SERVERS; steps: ${STEPS:-none}); see Failures at the end, if any. Not for docs/."
report >"$PARTIAL_OUT"
if [ "${#FAILED[@]}" -gt 0 ]; then
	die "not every server completed (${!FAILED[*]}); $OUT left unchanged, partial report in $PARTIAL_OUT"
fi
log "partial run (servers: $SERVERS; steps: ${STEPS:-none}); $OUT left unchanged, partial report in $PARTIAL_OUT"
