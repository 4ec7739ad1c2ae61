#!/usr/bin/env bash
# t_copy_sample: `-r 50` replays 50 % +- 2 % of sessions when there are
# thousands of them. Sampling is per session (a hash of the original
# 4-tuple), so the load is many short connections (Connection: close), each
# one request: target requests / online requests is the sampled fraction.
# With ~10k sessions the binomial standard deviation is 0.5 %, so +-2 % is a
# real bound on the hash's quality, not on luck.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns
require_bins replay-copy replay-intercept

SECS=${T_SECS:-8}
RANGE=10.250.5.0/24
tb_up
tb_nginx online
tb_nginx target
tb_replay_agents 80 "$RANGE" -r 50
URL="http://$(tb_ip online)/"

tb_log_truncate online
tb_log_truncate target
# ~1.9k conn/s for SECS seconds.
tb_wrk "$TB_RUN/wrk.txt" client "$URL" "$SECS" 20 10 -H 'Connection: close' ||
  tb_die "wrk failed: $(cat "$TB_RUN/wrk.txt")"
online=$(tb_log_count online)
# The sampled half must drain completely before counting.
target=$(tb_wait_stable "tb_log_count target" 3 30)
ratio=$(tb_ratio "$target" "$online")
st="$(tb_dir online)/copy.stats"
tb_log "online $online sessions ($(tb_wrk_rps "$TB_RUN/wrk.txt") conn/s), target $target, ratio $ratio; sampled_out=$(tb_stat "$st" sampled_out) sess_opened=$(tb_stat "$st" sess_opened)"
tb_assert "thousands of sessions (online $online >= 5000)" test "$online" -ge 5000
tb_assert "-r 50 replays 50% +- 2% (ratio $ratio)" tb_within "$ratio" 0.48 0.52
outside=$(tb_addrs_outside "$(tb_access_log target)" "$RANGE")
tb_assert "all target source addresses inside -c $RANGE ($outside outside)" test "$outside" -eq 0
tb_stop_agents
tb_finish
