#!/usr/bin/env bash
# t_copy_pg: PostgreSQL replayed live at libpq's defaults (issue 10).
#
# libpq's default sslmode=prefer sends an 8-byte SSLRequest, waits for the
# server's one-byte 'N', and only then sends its StartupMessage; a server
# that gets both at once drops the session ("received unencrypted data
# after SSL request"). Every pgbench -S transaction also waits for the
# previous result. So this is the test of the causal order: the replay must
# wait for the target wherever the client waited for the online server.
#
# Runs pgbench -S (select-only) keep-alive, then -C (a new connection per
# transaction), and asserts from PostgreSQL's own statistics: transactions
# committed in the bench database on target >= 0.999 x online, no
# "unencrypted data after SSL request" in target's log, no causal hold
# timed out. The copy agent runs with the reverse capture (online host).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns --no-apps pgbench psql setpriv
require_bins replay-copy replay-intercept
id postgres >/dev/null 2>&1 || tb_skip "no postgres user (apt-get install postgresql)"

RANGE=10.250.12.0/24
SECS=${T_PG_SECS:-8}
tb_up
tb_postgres online
tb_postgres target
for h in online target; do
  tb_psql controller "$h" postgres "CREATE DATABASE bench" >/dev/null
  tb_exec controller timeout 120 pgbench -q -i -s 1 -h "$(tb_ip "$h")" -U postgres bench \
    >"$TB_RUN/pgbench-init-$h.txt" 2>&1 || tb_die "pgbench -i on $h failed: $(tail -n 5 "$TB_RUN/pgbench-init-$h.txt")"
done

# Transactions committed in the bench database (read from the postgres
# database: the reading session does not count itself). The cumulative
# statistics are flushed within a second of a transaction's end.
xacts() { tb_psql controller "$1" postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench'" | tr -d ' '; }
base_online=$(xacts online)
base_target=$(xacts target)

# shellcheck disable=SC2086 # extra agent flags for experiments
tb_replay_agents 5432 "$RANGE" ${T_PG_COPY_ARGS:-}

# run NAME ARGS...: one bounded pgbench run from the client at libpq's
# defaults (no sslmode given: prefer).
run() {
  local name=$1; shift
  tb_exec client timeout $((SECS + 60)) pgbench -n -S -T "$SECS" -h "$(tb_ip online)" -U postgres "$@" bench \
    >"$TB_RUN/pgbench-$name.txt" 2>&1 || tb_die "pgbench $name failed: $(tail -n 5 "$TB_RUN/pgbench-$name.txt")"
  tb_log "$name: $(grep -E '^(number of transactions actually processed|tps)' "$TB_RUN/pgbench-$name.txt" | tr '\n' ' ')"
}

check() {
  local name=$1
  local on tg
  sleep 1.2   # online's statistics flush
  on=$(( $(xacts online) - base_online ))
  tg=$(tb_wait_count "echo \$(( \$(xacts target) - base_target ))" "$on" 40)
  tb_log "$name: transactions online $on, target $tg, ratio $(tb_ratio "$tg" "$on")"
  tb_assert "$name: online ran a real load (>= 100 transactions, got $on)" test "$on" -ge 100
  tb_assert "$name: target >= 0.999 x online ($tg vs $on)" tb_frac_ge "$tg" "$on" 0.999
  tb_assert "$name: target <= online ($tg vs $on)" test "$tg" -le "$on"
  base_online=$((base_online + on)); base_target=$((base_target + tg))
}

run keepalive -c 8 -j 2
check keepalive
run connect -c 8 -j 2 -C
check connect

st=$(tb_dir online)/copy.stats
held=$(tb_stat "$st" causal_held)
tmo=$(tb_stat "$st" causal_timeouts)
rev=$(tb_stat "$st" causal_by_reverse)
fb=$(tb_stat "$st" causal_by_fallback)
tb_log "causal: held $held, released $(tb_stat "$st" causal_released), timeouts $tmo, by reverse $rev, by fallback $fb, server_pkts $(tb_stat "$st" server_pkts)"
tb_stop_agents
tb_assert "segments were held for the target's answer (causal_held $held > 0)" test "$held" -gt 0
tb_assert "no causal hold timed out ($tmo)" test "$tmo" -eq 0
tb_assert "the reverse direction timed most holds ($rev by reverse, $fb by fallback)" test "$rev" -gt "$fb"
bad=$(grep -c 'unencrypted data after SSL request' "$(tb_dir target)/postgres.log" || true)
tb_assert "target logged no 'unencrypted data after SSL request' ($bad)" test "$bad" -eq 0
tb_finish
