#!/usr/bin/env bash
# t_copy_redis: live replay of redis-benchmark traffic (a binary-ish,
# request/response protocol on long connections, plain and pipelined).
#
# Asserted from redis' own counters (INFO commandstats after CONFIG RESETSTAT):
# every command that online processed was processed by target exactly as often.
# Then once more with --eager-responses (serial and 50 clients): the agent
# reads the intercept's answers lazily by default, as they arrive with it.
#
# Gotcha 14: any query to online's redis port is itself captured and replayed.
# So the counters are reset on both servers BEFORE the agents start, and the
# INFO command is left out of the comparison (our own INFO calls to online are
# replayed to target and land in target's "info" count only).
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replay-copy replay-intercept

RANGE=10.250.9.0/24
tb_up
tb_redis online
tb_redis target
# Reset from the controller namespace, before any agent runs.
tb_redis_cli controller online CONFIG RESETSTAT >/dev/null
tb_redis_cli controller target CONFIG RESETSTAT >/dev/null
tb_replay_agents 6379 "$RANGE"

# cmdstats_noinfo HOST: "cmd calls" lines without the info command.
cmdstats_noinfo() { tb_redis_cmdstats controller "$1" | awk '$1 != "info"'; }
# sum_noinfo HOST: total calls without info.
sum_noinfo() { cmdstats_noinfo "$1" | awk '{ s += $2 } END { print s + 0 }'; }

# bench NAME ARGS...: one bounded redis-benchmark run from the client.
bench() {
  local name=$1; shift
  tb_exec client timeout 120 redis-benchmark -h "$(tb_ip online)" -p 6379 -q "$@" \
    >"$TB_RUN/bench-$name.txt" 2>&1 || tb_die "redis-benchmark $name failed: $(tail -n 5 "$TB_RUN/bench-$name.txt")"
  tb_log "$name: $(tr '\r' '\n' <"$TB_RUN/bench-$name.txt" | grep -E '^ *(SET|GET): [0-9.]+ requests per second' | tr -s ' \n' ' ')"
}

# Keep-alive, 50 connections, plain request/response.
bench plain -n 50000 -c 50 -t set,get
# Pipelined: 16 commands in flight per connection.
bench pipelined -n 100000 -c 20 -P 16 -t set,get
# Serial: two clients, each request waits on the answer before the next.
bench serial -n 10000 -c 2 -t set,get

want=$(sum_noinfo online)
got=$(tb_wait_count "sum_noinfo target" "$want" 30)
tb_log "commands: online $want, target $got"
tb_log "online cmdstats: $(cmdstats_noinfo online | tr '\n' ' ')"
tb_log "target cmdstats: $(cmdstats_noinfo target | tr '\n' ' ')"

tb_stop_agents

# After the copy agent has stopped nothing more is replayed: final numbers.
online_stats=$(cmdstats_noinfo online)
target_stats=$(cmdstats_noinfo target)
want=$(sum_noinfo online)
got=$(sum_noinfo target)
tb_assert "online processed a real load (>= 300000 commands, got $want)" test "$want" -ge 300000
tb_assert "target processed exactly online's commands ($got vs $want)" test "$got" -eq "$want"
tb_assert "per-command counts equal (online: $(echo "$online_stats" | tr '\n' ' '); target: $(echo "$target_stats" | tr '\n' ' '))" \
  test "$online_stats" == "$target_stats"
tb_log "raw total_commands_processed: online $(tb_redis_total controller online), target $(tb_redis_total controller target)"

# The first phase read the intercept's answers lazily (the default: at once
# only while a session waits for one, else once per tick). Serial clients
# (-c 2) are its hard case: every request waits on an answer, so a reader
# that fell asleep shows as causal timeouts. Now the same with
# --eager-responses (every answer read as it arrives).
ct=$(tb_stat "$(tb_dir online)/copy.stats" causal_timeouts)
tb_assert "lazy: no causal timeout (answers read in time: $ct)" test "$ct" -eq 0
tb_keep_agent_files lazy
tb_redis_cli controller online CONFIG RESETSTAT >/dev/null
tb_redis_cli controller target CONFIG RESETSTAT >/dev/null
tb_replay_agents 6379 "$RANGE" --eager-responses
bench eager-serial -n 10000 -c 2 -t set,get
bench eager-c50 -n 20000 -c 50 -t set,get
want=$(sum_noinfo online)
got=$(tb_wait_count "sum_noinfo target" "$want" 30)
tb_log "eager: commands online $want, target $got"
tb_stop_agents
want=$(sum_noinfo online)
got=$(sum_noinfo target)
tb_assert "eager: online processed a real load (>= 60000 commands, got $want)" test "$want" -ge 60000
tb_assert "eager: target processed exactly online's commands ($got vs $want)" test "$got" -eq "$want"
ct=$(tb_stat "$(tb_dir online)/copy.stats" causal_timeouts)
tb_assert "eager: no causal timeout ($ct)" test "$ct" -eq 0
tb_finish
