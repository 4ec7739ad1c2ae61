# shellcheck shell=bash
# lib.sh: the network-namespace test bed shared by the integration scripts,
# the demo and the benchmark. Source it from a script that runs with
# `set -euo pipefail`.
#
# Topology (see shared/notes/testbed.md section 1):
#
#   netns ${TB_PREFIX}sw: bridge br0 (no IP, STP off) with one veth end per host
#   netns ${TB_PREFIX}HOST: eth0 = the other end, TB_NET.<octet>/24
#
# Nothing is attached to the root namespace: every veth pair is created inside
# the switch namespace and one end is pushed into a host namespace. The
# replayed client range (TB_CLIENT_RANGE) is routed by every "target*" host via
# the first "assistant*" host, which has ip_forward=0 and so is the black hole
# the intercept captures from.
#
# Safety: every run uses its own prefix (rf<pid>- by default), so concurrent or
# aborted runs never touch each other's namespaces; tb_down (installed in an
# EXIT trap by tb_up) and a small reaper process (in case the script is killed
# with SIGKILL) remove only this run's namespaces and the processes inside them.

# ---- configuration (override in the environment) ---------------------------
TB_PREFIX=${TB_PREFIX:-rf$$-}
TB_NET=${TB_NET:-10.199.0}                 # first three octets of the /24
TB_CLIENT_RANGE=${TB_CLIENT_RANGE:-10.250.0.0/16}
TB_NGINX_WORKERS=${TB_NGINX_WORKERS:-auto}
TB_KEEP=${TB_KEEP:-0}                      # 1 = keep the run dir after tb_down
RF_BIN=${RF_BIN:-}
RF_SRC=${RF_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# ---- state of this run ------------------------------------------------------
TB_RUN=${TB_RUN:-}          # run dir: per-host conf, logs, stats
declare -gA TB_IP=()        # host -> IP
declare -ga TB_HOSTS=()     # host names in creation order
declare -ga TB_PIDS=()      # PIDs started by tb_bg (children of this shell)
TB_LASTPID=
TB_FAILS=0
TB_REAPER_PID=
TB_UP=0

# python3 may be a version-manager shim that takes seconds to start on a
# loaded machine; the helpers below call it often, so use the system one.
if [[ -x /usr/bin/python3 ]]; then
  python3() { /usr/bin/python3 "$@"; }
fi

# Builtins only here and in tb_sleep/tb_now_ms: CI's polling loops and logs
# forked ~24,000 sleeps and thousands of dates a run (perf by command name:
# 32 core-seconds of a run whose two cores are busy throughout).
tb_log() { printf '[%(%T)T %s] %s\n' -1 "${0##*/}" "$*" >&2; }
# tb_sleep SECONDS: sleep without a process: a read that times out on a pipe
# nobody writes to (both ends held here, so it never sees end-of-file).
exec {_TB_SLEEP_FD}<> <(:)
tb_sleep() { read -rt "$1" -u "$_TB_SLEEP_FD" _ || true; }
tb_die() { tb_log "FAIL: $*"; exit 1; }
tb_skip() {
  # Loud on purpose: a skipped integration test must never look like a pass.
  printf '\n*** SKIP: %s ***\n\n' "$*" >&2
  exit 77
}

# require_root_netns [--no-apps] [cmd...]: skip (77) unless we are root, can
# create a network namespace, and have the servers and load generators the
# bed uses (unless --no-apps) plus any extra commands given.
# shellcheck disable=SC2120 # arguments are optional
require_root_netns() {
  local c
  local -a need=(python3 ss)
  if [[ ${1:-} == --no-apps ]]; then shift; else need+=(nginx redis-server redis-cli wrk redis-benchmark); fi
  [[ $(id -u) -eq 0 ]] || tb_skip "needs root (network namespaces)"
  command -v ip >/dev/null || tb_skip "iproute2 'ip' not installed"
  for c in "${need[@]}" "$@"; do
    command -v "$c" >/dev/null || tb_skip "'$c' not installed (apt-get install nginx-light redis-server redis-tools wrk tcpdump)"
  done
  local probe="${TB_PREFIX}probe"
  ip netns add "$probe" 2>/dev/null || tb_skip "cannot create a network namespace (ip netns add failed)"
  ip netns del "$probe"
}

# require_bins NAME...: skip unless the named programs exist in RF_BIN.
require_bins() {
  local b
  [[ -n $RF_BIN ]] || tb_skip "RF_BIN is not set (run through ctest, or export RF_BIN=<build>/bin)"
  for b in "$@"; do
    [[ -x $RF_BIN/$b ]] || tb_skip "$b not built ($RF_BIN/$b missing)"
  done
}

tb_ns() { printf '%s%s' "$TB_PREFIX" "$1"; }
tb_ip() {
  [[ -n ${TB_IP[$1]:-} ]] || tb_die "unknown host '$1'"
  printf '%s' "${TB_IP[$1]}"
}
tb_dir() { printf '%s/%s' "$TB_RUN" "$1"; }

# tb_exec HOST CMD...: run a command inside a host namespace (foreground).
tb_exec() {
  local h=$1; shift
  ip netns exec "$(tb_ns "$h")" "$@"
}

# tb_bg HOST LOGFILE CMD...: start CMD in the background inside HOST.
# `exec` makes the subshell become `ip netns exec`, which itself execs CMD,
# so $! is the PID of CMD (testbed gotcha 3). Sets TB_LASTPID.
tb_bg() {
  local h=$1 log=$2; shift 2
  local ns; ns=$(tb_ns "$h")
  ( exec ip netns exec "$ns" "$@" ) >"$log" 2>&1 </dev/null &
  TB_LASTPID=$!
  TB_PIDS+=("$TB_LASTPID")
  echo "$TB_LASTPID" >>"$TB_RUN/pids"
}

# wait_for COND TIMEOUT: poll COND (a shell string, eval'd) every 0.1 s until
# it succeeds (return 0) or TIMEOUT seconds pass (return 1). Never a fixed sleep.
wait_for() {
  local cond=$1 timeout=$2
  local deadline=$((SECONDS + timeout))
  # Sub-second first polls keep fast steps fast.
  while :; do
    if eval "$cond"; then return 0; fi
    ((SECONDS < deadline)) || return 1
    tb_sleep 0.1
  done
}

# _tb_alive PID: true if PID exists and is not a zombie.
# Builtins only: it runs in polling loops on a busy machine.
_tb_alive() {
  local st
  { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  [[ -n $st && ${st:0:1} != Z ]]
}

# _tb_sysctl HOST|'' k=v...: write per-namespace sysctls in one exec.
_tb_sysctl() {
  local ns=$1; shift
  ip netns exec "$ns" sysctl -q -w "$@" >/dev/null
}

# tb_up [HOST[=OCTET]...]: build the bed. Default hosts: client online target
# assistant controller at .10 .20 .30 .40 .50. Installs the EXIT trap.
# shellcheck disable=SC2120 # arguments are optional
tb_up() {
  local -a specs=("$@")
  ((${#specs[@]})) || specs=(client online target assistant controller)
  [[ $TB_PREFIX =~ ^[A-Za-z0-9_.-]+$ ]] || tb_die "bad TB_PREFIX '$TB_PREFIX'"

  if [[ -z $TB_RUN ]]; then
    TB_RUN=$(mktemp -d "/tmp/${TB_PREFIX}run.XXXXXX")
  fi
  # nginx workers run as nobody by default; let them read the run dir.
  chmod 755 "$TB_RUN"
  : >"$TB_RUN/pids"
  : >"$TB_RUN/netns"
  trap 'tb_down' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  TB_UP=1

  local sw; sw=$(tb_ns sw)
  echo "$sw" >>"$TB_RUN/netns"
  ip netns add "$sw"
  _tb_reaper_start
  _tb_sysctl "$sw" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # STP off and forward_delay 0: ports forward at once (no 15 s learning).
  ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$sw" link set br0 up

  local i=0 spec h oct ns port
  for spec in "${specs[@]}"; do
    i=$((i + 1))
    h=${spec%%=*}
    if [[ $spec == *=* ]]; then oct=${spec#*=}; else oct=$((i * 10)); fi
    [[ $h =~ ^[a-z][a-z0-9]*$ ]] || tb_die "bad host name '$h'"
    TB_HOSTS+=("$h")
    TB_IP[$h]="$TB_NET.$oct"
    mkdir -p "$TB_RUN/$h"
    chmod 755 "$TB_RUN/$h"
    ns=$(tb_ns "$h")
    echo "$ns" >>"$TB_RUN/netns"
    ip netns add "$ns"
    # IPv6 off before any link comes up: no RS/MLD/DAD noise in captures.
    # rp_filter 0 and ip_forward 0 everywhere (on the assistant that makes
    # it the black hole); see testbed.md section 1 step 3.
    _tb_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv4.ip_forward=0
    # veth names live in the switch namespace only; 15-char limit.
    port="p-${h:0:13}"
    ip -n "$sw" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "$port" master br0 up
    _tb_sysctl "$ns" net.ipv6.conf.eth0.disable_ipv6=1 net.ipv4.conf.eth0.rp_filter=0
    ip -n "$ns" link set lo up
    ip -n "$ns" addr replace "${TB_IP[$h]}/24" dev eth0
    ip -n "$ns" link set eth0 up
    case $h in
      client*)
        _tb_sysctl "$ns" net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 ;;
      online* | target*)
        _tb_sysctl "$ns" net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192 ;;
    esac
    case $h in
      assistant*) _tb_sysctl "$ns" net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0 ;;
      target*) _tb_sysctl "$ns" net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.eth0.accept_redirects=0 ;;
    esac
  done

  # Targets route the replayed client range via the (first) assistant.
  local assist=""
  for h in "${TB_HOSTS[@]}"; do
    if [[ $h == assistant* ]]; then assist=$h; break; fi
  done
  if [[ -n $assist ]]; then
    for h in "${TB_HOSTS[@]}"; do
      [[ $h == target* ]] || continue
      ip -n "$(tb_ns "$h")" route replace "$TB_CLIENT_RANGE" via "${TB_IP[$assist]}" dev eth0
    done
  fi
  tb_log "bed up: prefix=$TB_PREFIX run=$TB_RUN hosts: $(for h in "${TB_HOSTS[@]}"; do printf '%s=%s ' "$h" "${TB_IP[$h]}"; done)"
}

# The reaper: a detached process that waits for this script to disappear and
# then removes this run's namespaces and the processes in them. It only
# matters when the script is killed with SIGKILL (no trap runs); otherwise
# tb_down finds nothing left and stops it.
_tb_reaper_start() {
  local me=$$
  # shellcheck disable=SC2016 # the script is expanded by the inner bash
  setsid bash -c '
    me=$1 list=$2
    while kill -0 "$me" 2>/dev/null; do sleep 1; done
    [[ -s $list ]] || exit 0
    mapfile -t nss <"$list"
    for ns in "${nss[@]}"; do
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    done
    sleep 0.5
    for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  ' rf-reaper "$me" "$TB_RUN/netns" </dev/null >/dev/null 2>&1 &
  TB_REAPER_PID=$!
}

# tb_down: stop every process in this run's namespaces (TERM, then KILL after
# 3 s), wait for them (exiting processes leave `ip netns pids` before they are
# gone, gotcha 4), delete the namespaces, stop the reaper. Safe to call twice.
tb_down() {
  local rc=$?
  ((TB_UP)) || return "$rc"
  TB_UP=0
  trap - EXIT INT TERM HUP
  set +e
  local -a nss=() pids=()
  local ns p
  [[ -f $TB_RUN/netns ]] && mapfile -t nss <"$TB_RUN/netns"
  for p in "${TB_PIDS[@]}"; do _tb_alive "$p" && pids+=("$p"); done
  for ns in "${nss[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
  done
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null
    local deadline=$((SECONDS + 3)) alive
    while :; do
      alive=0
      for p in "${pids[@]}"; do _tb_alive "$p" && alive=1; done
      ((alive && SECONDS < deadline)) || break
      tb_sleep 0.05
    done
    for p in "${pids[@]}"; do _tb_alive "$p" && kill -KILL "$p" 2>/dev/null; done
  fi
  # Reap our own children so none stays a zombie.
  for p in "${TB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  # A process killed above may have had children in the namespace too.
  for ns in "${nss[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  for ns in "${nss[@]}"; do ip netns del "$ns" 2>/dev/null; done
  # The reaper is sleeping; it exits on TERM right after (no need to wait).
  [[ -n $TB_REAPER_PID ]] && kill "$TB_REAPER_PID" 2>/dev/null
  : >"$TB_RUN/netns"
  if [[ $TB_KEEP == 1 || $rc -ne 0 ]]; then
    tb_log "bed down (rc=$rc); logs kept in $TB_RUN"
  else
    rm -rf "$TB_RUN"
    tb_log "bed down (rc=$rc)"
  fi
  return "$rc"
}

# tb_stop PID [TIMEOUT]: SIGTERM one process we started, wait up to TIMEOUT
# (default 10) seconds, then SIGKILL. Prints nothing; returns its exit status.
tb_stop() {
  local pid=$1 t=${2:-10} rc=0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for "! _tb_alive $pid" "$t"; then
    tb_log "pid $pid ignored SIGTERM for ${t}s; killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# tb_listening HOST PORT: true if something listens on TCP PORT in HOST.
tb_listening() {
  [[ -n $(tb_exec "$1" ss -Hltn "sport = :$2" 2>/dev/null) ]]
}

# ---- applications -----------------------------------------------------------

# tb_nginx HOST: nginx on HOST_IP:80 with everything (conf, pid, logs, temp
# paths) under the run dir (two instances share one filesystem, gotcha 5).
# Access log: one line per request; fields (space separated):
#   1 $remote_addr  2 $remote_port  3 $connection (serial)  4 $connection_requests
#   5 $msec (log time)  6 $connection_time (s, age of the connection)  7 $status
#   8.. "$request"
# 5 and 6 give each connection's lifetime, for the live-4-tuple overlap check.
tb_nginx() {
  local h=$1 d ip
  d=$(tb_dir "$h"); ip=$(tb_ip "$h")
  mkdir -p "$d/www" "$d/nginx-tmp"
  chmod 755 "$d/www"
  printf 'replayfleet test\n' >"$d/www/index.html"   # a small static page
  chmod 644 "$d/www/index.html"
  cat >"$d/nginx.conf" <<EOF
# generated by tests/integration/lib.sh for host $h
daemon off;
worker_processes $TB_NGINX_WORKERS;
pid $d/nginx.pid;
error_log $d/nginx-error.log warn;
events { worker_connections 16384; }
http {
  log_format rf '\$remote_addr \$remote_port \$connection \$connection_requests \$msec \$connection_time \$status "\$request"';
  access_log $d/access.log rf;
  client_body_temp_path $d/nginx-tmp/body;
  proxy_temp_path $d/nginx-tmp/proxy;
  fastcgi_temp_path $d/nginx-tmp/fastcgi;
  uwsgi_temp_path $d/nginx-tmp/uwsgi;
  scgi_temp_path $d/nginx-tmp/scgi;
  keepalive_requests 100000;
  keepalive_timeout 65;
  default_type text/plain;
  server {
    listen $ip:80 backlog=8192;
    root $d/www;
    location / { index index.html; }
    # A location that reads request bodies (so it answers Expect:
    # 100-continue): proxied to a loopback server that returns 200.
    location /post { proxy_pass http://127.0.0.1:8081; }
  }
  server {
    listen 127.0.0.1:8081;
    access_log off;
    location / { return 200 "posted\n"; }
  }
}
EOF
  : >"$d/access.log"
  tb_bg "$h" "$d/nginx.out" nginx -e "$d/nginx-error.log" -p "$d" -c "$d/nginx.conf"
  wait_for "tb_listening $h 80" 10 || { cat "$d/nginx.out" "$d/nginx-error.log" >&2; tb_die "nginx on $h did not start"; }
}

tb_access_log() { printf '%s/access.log' "$(tb_dir "$1")"; }
tb_log_count() { local f; f=$(tb_access_log "$1"); wc -l <"$f" | tr -d ' '; }
# nginx opens its log with O_APPEND, so truncating in place is safe.
tb_log_truncate() { : >"$(tb_access_log "$1")"; }

# tb_redis HOST: redis-server on HOST_IP:6379, no persistence, foreground.
tb_redis() {
  local h=$1 d ip
  d=$(tb_dir "$h"); ip=$(tb_ip "$h")
  tb_bg "$h" "$d/redis.out" redis-server --bind "$ip" --port 6379 --save '' \
    --appendonly no --daemonize no --protected-mode no --dir "$d" --logfile "$d/redis.log"
  wait_for "tb_listening $h 6379" 10 || { cat "$d/redis.out" "$d/redis.log" >&2; tb_die "redis on $h did not start"; }
}

# tb_redis_cli FROMHOST SERVERHOST ARGS...: bounded redis-cli.
tb_redis_cli() {
  local from=$1 srv=$2; shift 2
  tb_exec "$from" timeout 10 redis-cli -h "$(tb_ip "$srv")" -p 6379 "$@"
}

# tb_redis_total FROMHOST SERVERHOST: total_commands_processed.
tb_redis_total() {
  tb_redis_cli "$1" "$2" INFO stats | tr -d '\r' | awk -F: '$1=="total_commands_processed"{print $2}'
}

# tb_redis_cmdstats FROMHOST SERVERHOST: "cmd calls" lines, sorted.
tb_redis_cmdstats() {
  tb_redis_cli "$1" "$2" INFO commandstats | tr -d '\r' |
    sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\1 \2/p' | sort
}

# tb_postgres HOST: PostgreSQL (Debian's, as the postgres user) on HOST_IP:5432
# with its cluster under the run dir, trust authentication for everyone,
# ssl off (so libpq's default sslmode=prefer negotiates: SSLRequest, 'N',
# then the StartupMessage: a client that waits for the server mid-stream).
TB_PG_BIN=${TB_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
tb_postgres() {
  local h=$1 d ip
  d=$(tb_dir "$h"); ip=$(tb_ip "$h")
  [[ -x $TB_PG_BIN/postgres ]] || tb_skip "PostgreSQL server not installed (apt-get install postgresql)"
  mkdir -p "$d/pg"
  chown postgres:postgres "$d/pg"
  chmod 700 "$d/pg"
  setpriv --reuid postgres --regid postgres --init-groups -- \
    "$TB_PG_BIN/initdb" -D "$d/pg/data" -A trust -U postgres --no-sync >"$d/initdb.log" 2>&1 ||
    { tail -n 20 "$d/initdb.log" >&2; tb_die "initdb on $h failed"; }
  printf 'host all all 0.0.0.0/0 trust\n' >>"$d/pg/data/pg_hba.conf"
  tb_bg "$h" "$d/postgres.log" setpriv --reuid postgres --regid postgres --init-groups -- \
    "$TB_PG_BIN/postgres" -D "$d/pg/data" -c listen_addresses="$ip" -c port=5432 \
    -c unix_socket_directories="$d/pg" -c ssl=off -c fsync=off -c max_connections=200 \
    -c shared_buffers=32MB ${TB_PG_ARGS:-}
  wait_for "tb_listening $h 5432" 20 || { tail -n 20 "$d/postgres.log" >&2; tb_die "postgres on $h did not start"; }
}

# tb_psql FROMHOST SERVERHOST DB SQL: one bounded query, unaligned output.
tb_psql() {
  tb_exec "$1" timeout 20 psql -X -q -A -t -h "$(tb_ip "$2")" -U postgres -d "$3" -c "$4"
}

# tb_wrk_delay_lua MS: path of a wrk script whose delay() pauses MS ms between
# requests on a connection (wrk has no rate option; gotcha 9).
tb_wrk_delay_lua() {
  local f="$TB_RUN/delay_$1.lua"
  printf 'function delay()\n  return %s\nend\n' "$1" >"$f"
  printf '%s' "$f"
}

# tb_wrk OUT HOST URL SECS CONNS DELAY_MS [WRK_ARGS...]: one bounded wrk run
# from HOST (2 threads, or 1 for a single connection); its report goes to OUT.
# DELAY_MS > 0 paces each connection with the Lua delay() hook.
tb_wrk() {
  local out=$1 h=$2 url=$3 secs=$4 conns=$5 delay=$6; shift 6
  local thr=2
  ((conns >= 2)) || thr=1
  local -a a=("-t$thr" "-c$conns" "-d${secs}s")
  if ((delay > 0)); then a+=(-s "$(tb_wrk_delay_lua "$delay")"); fi
  tb_exec "$h" timeout $((secs + 30)) wrk "${a[@]}" "$@" "$url" >"$out" 2>&1
}

# tb_wrk_rps OUT: the Requests/sec figure of a wrk report.
tb_wrk_rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1"; }

# ---- our agents ------------------------------------------------------------

# tb_start_intercept HOST FILTER [ARGS...]: replay-intercept on HOST's eth0,
# stats every second; waits for its copy-agent port. Sets TB_LASTPID.
tb_start_intercept() {
  local h=$1 filter=$2; shift 2
  local d; d=$(tb_dir "$h")
  tb_bg "$h" "$d/intercept.log" "$RF_BIN/replay-intercept" -i eth0 -F "$filter" \
    --insecure --stats-json "$d/intercept.stats" "$@"
  local pid=$TB_LASTPID
  if ! wait_for "tb_listening $h 36524 || ! _tb_alive $pid" 10 || ! _tb_alive "$pid"; then
    tail -n 30 "$d/intercept.log" >&2
    tb_die "replay-intercept on $h did not come up"
  fi
  TB_LASTPID=$pid
}

# tb_start_copy HOST [ARGS...]: replay-copy on HOST with stats every second.
# Returns once it is running (its "running" log line: capture, raw socket,
# controller client all set up) with a first stats line and, when given an
# intercept (-s), connected to it (its "intercept ...: connected" line;
# bounded, so a test of an unreachable intercept goes on after 10 s). Then
# checks it is still alive (an agent that could not start must not pass
# unnoticed, gotcha 6). Sets TB_LASTPID.
tb_start_copy() {
  local h=$1; shift
  local d; d=$(tb_dir "$h")
  tb_bg "$h" "$d/copy.log" "$RF_BIN/replay-copy" --stats-json "$d/copy.stats" "$@"
  local pid=$TB_LASTPID a want=running
  for a in "$@"; do [[ $a != -s ]] || want=connected; done
  wait_for "grep -qE 'replay-copy .* running' $d/copy.log || ! _tb_alive $pid" 10 || true
  wait_for "[[ -s $d/copy.stats ]] || ! _tb_alive $pid" 10 || true
  if [[ $want == connected ]]; then
    wait_for "grep -qE 'intercept .*: connected' $d/copy.log || ! _tb_alive $pid" 10 || true
  fi
  if ! _tb_alive "$pid"; then
    tail -n 30 "$d/copy.log" >&2
    tb_die "replay-copy on $h exited at start"
  fi
  TB_LASTPID=$pid
}

# tb_replay_agents PORT RANGE [COPY_ARGS...]: the standard standalone pair on
# the default bed: replay-intercept on assistant capturing target:PORT
# responses (started first, gotcha 6), then replay-copy on online with
# -x PORT-target:PORT -s assistant -c RANGE -i eth0. Sets ICPT_PID, COPY_PID.
tb_replay_agents() {
  local port=$1 range=$2; shift 2
  local tip; tip=$(tb_ip target)
  tb_start_intercept assistant "tcp and src host $tip and src port $port"
  ICPT_PID=$TB_LASTPID
  tb_start_copy online -x "$port-$tip:$port" -s "$(tb_ip assistant)" -c "$range" -i eth0 "$@"
  COPY_PID=$TB_LASTPID
  tb_log "agents up: intercept pid $ICPT_PID, copy pid $COPY_PID ($*)"
}

# tb_stop_agents: SIGTERM both (they write a final stats line); fail the test
# if either exits non-zero (a crash is >= 128).
tb_stop_agents() {
  local rc=0
  tb_stop "$COPY_PID" 10 || rc=$?
  tb_assert "replay-copy exited cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
  rc=0
  tb_stop "$ICPT_PID" 10 || rc=$?
  tb_assert "replay-intercept exited cleanly on SIGTERM (rc=$rc)" test "$rc" -eq 0
  # A sanitizer build reports at exit into the agent's log.
  tb_assert "no sanitizer report in the agents' logs" \
    bash -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' '$(tb_dir online)/copy.log' '$(tb_dir assistant)/intercept.log'"
  tb_log "copy final: $(tb_stats_last "$(tb_dir online)/copy.stats")"
  tb_log "intercept final: $(tb_stats_last "$(tb_dir assistant)/intercept.stats")"
}

# tb_keep_agent_files SUFFIX: renames the stopped agents' logs and stats
# (copy.log -> copy-SUFFIX.log...) so the next tb_replay_agents starts
# fresh ones and the earlier run's stay for the post-mortem.
tb_keep_agent_files() {
  local f
  for f in "$(tb_dir online)/copy" "$(tb_dir assistant)/intercept"; do
    [ -e "$f.log" ] && mv "$f.log" "$f-$1.log"
    [ -e "$f.stats" ] && mv "$f.stats" "$f-$1.stats"
  done
  return 0
}

# ---- the fleet: replayd, replayctl, agents under a controller ---------------

# tb_replayd HOST [ARGS...]: replayd on HOST's address, port 36523, state dir
# HOST/state (made 0700), log HOST/replayd.log; waits for the control port
# and for the --metrics port when one is given. Sets RD_PID and TB_CTRL
# (ip:port, what agents and tb_ctl connect to).
tb_replayd() {
  local h=$1; shift
  local d ip a prev= cond
  d=$(tb_dir "$h"); ip=$(tb_ip "$h")
  mkdir -p -m 700 "$d/state"
  TB_CTRL=$ip:36523
  cond="tb_listening $h 36523"
  for a in "$@"; do
    [[ $prev == --metrics ]] && cond+=" && tb_listening $h ${a##*:}"
    prev=$a
  done
  tb_bg "$h" "$d/replayd.log" "$RF_BIN/replayd" --listen "$TB_CTRL" --state-dir "$d/state" "$@"
  RD_PID=$TB_LASTPID
  if ! wait_for "($cond) || ! _tb_alive $RD_PID" 10 || ! _tb_alive "$RD_PID"; then
    tail -n 30 "$d/replayd.log" >&2
    tb_die "replayd on $h did not come up"
  fi
}

# tb_fleet_bed HOST=N...: the bed of a fleet test (tb_up HOST=N...; one
# host must be "controller", one "target"), then:
#   - a snapshot of the four programs in TB_RUN/bin, and RF_BIN points there:
#     a rebuild of the shared build tree during the run must not swap or
#     remove a binary between two phases;
#   - CIP, TIP: the controller's and the target's addresses; CDIR: the
#     controller's directory, with state/ in it;
#   - the target loses the client-range route lib.sh gives it: a fleet's
#     targets use only what `replayctl routes` prints.
tb_fleet_bed() {
  tb_up "$@"
  mkdir -p "$TB_RUN/bin"
  cp "$RF_BIN/replayd" "$RF_BIN/replayctl" "$RF_BIN/replay-copy" "$RF_BIN/replay-intercept" "$TB_RUN/bin/"
  RF_BIN=$TB_RUN/bin
  CIP=$(tb_ip controller)
  TIP=$(tb_ip target)
  CDIR=$(tb_dir controller)
  mkdir -p "$CDIR/state"
  tb_exec target ip route del "$TB_CLIENT_RANGE"
}

# tb_ctl ARGS...: replayctl on the controller host against TB_CTRL, bounded
# (30 s). TB_CTL_ARGS (an array) goes first, e.g. (--key-file admin.key).
declare -ga TB_CTL_ARGS=()
tb_ctl() {
  tb_exec controller timeout 30 "$RF_BIN/replayctl" -c "$TB_CTRL" "${TB_CTL_ARGS[@]}" "$@"
}

# tb_fleet_intercept HOST ID FILTER [ARGS...]: replay-intercept ID on HOST
# under the controller, advertising HOST's address. Sets TB_LASTPID.
tb_fleet_intercept() {
  local h=$1 id=$2 filter=$3; shift 3
  tb_start_intercept "$h" "$filter" --controller "$TB_CTRL" --id "$id" --advertise "$(tb_ip "$h")" "$@"
}

# tb_fleet_copy HOST ID [ARGS...]: replay-copy ID on HOST's eth0 under the
# controller. Sets TB_LASTPID.
tb_fleet_copy() {
  local h=$1 id=$2; shift 2
  tb_start_copy "$h" --controller "$TB_CTRL" --id "$id" -i eth0 "$@"
}

# tb_apply FILE: replayctl apply FILE; its output in FILE.out, shown on failure.
tb_apply() {
  tb_ctl apply "$1" >"$1.out" 2>&1 || { cat "$1.out" >&2; tb_die "replayctl apply $1 failed"; }
}

# tb_fleet_ready TIMEOUT ID...: wait until every ID is up and has acked the
# current plan generation, and every copy agent among them is connected to
# an intercept (icpt_up >= 1); an ID written ID=up (an agent outside the
# plan) need only be up. On timeout: the status, the agents' logs, fail.
tb_fleet_ready() {
  local t=$1; shift
  wait_for "tb_fleet_is_ready $*" "$t" && return 0
  tb_ctl status >&2 || true
  tb_dump_agents
  tb_die "fleet not ready after ${t}s (want up, acked, connected: $*)"
}
# tb_fleet_is_ready ID...: the condition of tb_fleet_ready, checked once.
tb_fleet_is_ready() {
  tb_ctl status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
a = {x["id"]: x for x in s["agents"]}
def ready(arg):
    i, _, only_up = arg.partition("=")
    x = a.get(i)
    return x is not None and x["up"] and (only_up == "up" or (
        x["acked_generation"] == s["generation"] and
        (x["role"] != "copy" or x["counters"].get("icpt_up", 0) >= 1)))
sys.exit(0 if all(ready(x) for x in sys.argv[1:]) else 1)' "$@"
}

# tb_stat FILE KEY: counter KEY from the last complete JSON line of an agent's
# --stats-json file (0 if absent).
tb_stat() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
path, key = sys.argv[1], sys.argv[2]
last = None
try:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                last = json.loads(line)
            except ValueError:
                pass          # a line being written right now
except OSError:
    pass
print((last or {}).get("counters", {}).get(key, 0))
EOF
}

# tb_stats_last FILE: the last stats line, for reports.
tb_stats_last() { [[ -f $1 ]] && tail -n 1 "$1"; }

# ---- measurement --------------------------------------------------------------

# tb_cpu_ticks PID: utime+stime of PID in clock ticks (fields 14, 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
tb_cpu_ticks() {
  local s
  s=$(<"/proc/$1/stat") || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086 # word splitting is the point
  set -- $s
  echo $(( ${12} + ${13} ))
}
TB_CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# tb_cpu_pct TICKS0 TICKS1 SECONDS: CPU % of one core over the window.
tb_cpu_pct() {
  awk -v a="$1" -v b="$2" -v s="$3" -v hz="$TB_CLK_TCK" \
    'BEGIN { if (s <= 0) s = 1; printf "%.1f", (b - a) * 100.0 / hz / s }'
}

# tb_rss_kb PID: max(VmRSS, VmHWM) in KiB (VmHWM can lag, gotcha 12).
tb_rss_kb() {
  awk '/^VmRSS:|^VmHWM:/ { if ($2 > m) m = $2 } END { print m + 0 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# tb_now_ms: wall clock in ms.
tb_now_ms() {
  local t=${EPOCHREALTIME/[.,]/}
  echo $((t / 1000))
}

# tb_wait_stable CMD STABLE_S TIMEOUT_S: wait until the number printed by CMD
# stops changing for STABLE_S seconds (the replay has drained), bounded by
# TIMEOUT_S. Prints the final value.
tb_wait_stable() {
  local cmd=$1 stable=$2 timeout=$3
  local deadline=$((SECONDS + timeout)) last cur since=$SECONDS
  last=$(eval "$cmd")
  while ((SECONDS < deadline)); do
    tb_sleep 0.5
    cur=$(eval "$cmd")
    if [[ $cur != "$last" ]]; then last=$cur; since=$SECONDS
    elif ((SECONDS - since >= stable)); then break
    fi
  done
  printf '%s' "$last"
}

# tb_wait_count CMD WANT TIMEOUT_S: wait until CMD prints >= WANT, or until it
# stops moving for 3 s, bounded by TIMEOUT_S. Prints the final value.
tb_wait_count() {
  local cmd=$1 want=$2 timeout=$3
  local deadline=$((SECONDS + timeout)) last cur since=$SECONDS
  last=$(eval "$cmd")
  while ((SECONDS < deadline)) && ((last < want)); do
    tb_sleep 0.3
    cur=$(eval "$cmd")
    if [[ $cur != "$last" ]]; then last=$cur; since=$SECONDS
    elif ((SECONDS - since >= 3)); then break
    fi
  done
  printf '%s' "$last"
}

# tb_addrs_outside LOGFILE CIDR: number of access-log lines whose source
# address ($remote_addr, field 1) is not inside CIDR.
tb_addrs_outside() {
  python3 - "$1" "$2" <<'EOF'
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[2], strict=False)
bad = 0
with open(sys.argv[1]) as f:
    for line in f:
        a = line.split(" ", 1)[0]
        try:
            if ipaddress.ip_address(a) not in net:
                bad += 1
        except ValueError:
            bad += 1
print(bad)
EOF
}

# tb_conn_check ONLINE_LOG TARGET_LOG K: compare replayed connections with
# the originals, from the two nginx access logs (format of tb_nginx). Prints
# key=value lines:
#   online_reqs target_reqs online_conns target_conns target_tuples
#   max_conns_per_tuple  (nginx connections that used one src ip:port)
#   multiset_ok          (1 if the per-connection request counts on target are
#                         exactly K copies of online's: a replayed session that
#                         collided with another 4-tuple would merge or lose
#                         requests and break this)
#   multiset_diff        (a few differing count:multiplicity pairs, for reports)
#   min_reuse_gap_ms     (smallest gap between a connection's last request and
#                         the next connection on the same src ip:port; -1 if none)
tb_conn_check() {
  python3 - "$1" "$2" "$3" <<'EOF2'
import sys
from collections import Counter, defaultdict
online_log, target_log, k = sys.argv[1], sys.argv[2], int(sys.argv[3])

def load(path):
    conns = defaultdict(lambda: {"n": 0, "start": 1e30, "end": 0.0, "tuple": None})
    lines = 0
    with open(path) as f:
        for line in f:
            p = line.split(" ", 7)
            if len(p) < 7:
                continue
            lines += 1
            c = conns[p[2]]
            c["n"] += 1
            c["tuple"] = (p[0], p[1])
            msec, age = float(p[4]), float(p[5])
            c["start"] = min(c["start"], msec - age)
            c["end"] = max(c["end"], msec)
    return lines, conns

ol, oc = load(online_log)
tl, tc = load(target_log)
want = Counter()
for c in oc.values():
    want[c["n"]] += k
got = Counter(c["n"] for c in tc.values())
diff = []
for n in sorted(set(want) | set(got)):
    if want[n] != got[n]:
        diff.append("%d:%d/%d" % (n, got[n], want[n]))
tuples = defaultdict(list)
for c in tc.values():
    tuples[c["tuple"]].append(c)
gap = -1.0
for cs in tuples.values():
    cs.sort(key=lambda c: c["start"])
    for a, b in zip(cs, cs[1:]):
        g = (b["start"] - a["end"]) * 1000
        if gap < 0 or g < gap:
            gap = g
print("online_reqs=%d" % ol)
print("target_reqs=%d" % tl)
print("online_conns=%d" % len(oc))
print("target_conns=%d" % len(tc))
print("target_tuples=%d" % len(tuples))
print("max_conns_per_tuple=%d" % max([len(v) for v in tuples.values()] or [0]))
print("multiset_ok=%d" % (0 if diff else 1))
print("multiset_diff=%s" % (",".join(diff[:12]) or "-"))
print("min_reuse_gap_ms=%.0f" % gap)
EOF2
}

# tb_pcap_requests PCAP IP PORT: number of HTTP requests sent to IP:PORT in a
# pcap file, each once (retransmissions too); read from the file itself, not
# from tcpdump's text (pcap_tcp.py).
tb_pcap_requests() { python3 "$RF_SRC/tests/integration/pcap_tcp.py" requests "$@"; }

# tb_kv TEXT KEY: value of KEY in key=value lines.
tb_kv() { sed -n "s/^$2=//p" <<<"$1"; }

# tb_ratio A B: A/B with 4 decimals.
tb_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.4f", a / b }'; }

# tb_check_ge A B MSG: ratio-free integer assertion helper that logs.
tb_assert() {
  local desc=$1; shift
  if "$@"; then tb_log "ok: $desc"; else tb_log "NOT OK: $desc"; TB_FAILS=$((${TB_FAILS:-0} + 1)); fi
}

# tb_frac_ge A B FRAC: true if A >= FRAC * B (float compare in awk).
tb_frac_ge() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { exit !(a >= f * b) }'; }
# tb_within X LO HI: LO <= X <= HI (floats).
tb_within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x <= hi) }'; }

# tb_dump_agent_logs: print the tail of every agent log and last stats line;
# called by tests on failure so the report has the evidence.
tb_dump_agents() {
  local h f
  for h in "${TB_HOSTS[@]}"; do
    for f in "$TB_RUN/$h"/*.stats; do
      [[ -f $f ]] || continue
      printf -- '--- %s last stats: %s\n' "$h/${f##*/}" "$(tail -n 1 "$f")" >&2
    done
    for f in "$TB_RUN/$h"/copy.log "$TB_RUN/$h"/intercept.log; do
      [[ -s $f ]] || continue
      printf -- '--- %s (tail):\n' "$h/${f##*/}" >&2
      tail -n 15 "$f" >&2
    done
  done
}

# tb_finish: exit 1 if any tb_assert failed (after dumping agent evidence).
tb_finish() {
  if ((${TB_FAILS:-0})); then
    tb_dump_agents
    tb_die "${TB_FAILS} assertion(s) failed"
  fi
  tb_log "PASS"
}
