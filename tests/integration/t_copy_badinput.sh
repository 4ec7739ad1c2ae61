#!/usr/bin/env bash
# t_copy_badinput: bad flags and bad pcap files.
#   - a bad flag value is a usage error: exit 2 (docs/CLI.md), with a message
#     naming the flag;
#   - a corrupt or truncated pcap given to -o: non-zero exit below 128 (no
#     crash) and a message naming the file or the problem;
#   - a well-formed pcap full of malformed packets: exit 0, the packets counted
#     in bad_pkts, no crash;
#   - never a sanitizer report.
# Everything runs inside one throw-away namespace with only loopback in use,
# so an agent that wrongly accepted a bad flag still cannot reach anything.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

require_root_netns --no-apps
require_bins replay-copy replay-intercept

tb_up box
D="$TB_RUN/box"
NBAD=$(python3 "$(dirname "$0")/mkpcap.py" "$D")

# Valid baseline arguments; each case replaces one of them. --duration bounds
# any run that should not have started at all.
BASE=(-x 80-127.0.0.2:80 -s 127.0.0.1 -c 10.250.0.0/16 -i lo --duration 3)

# expect NAME WANT_RC PATTERN PROGRAM ARGS...: run PROGRAM in the namespace
# (bounded), check its exit code (WANT_RC "2" exactly, or "fail" = 1..127)
# and that stderr+stdout matches the extended regex PATTERN.
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  local out="$D/case-$name.out" rc=0
  tb_exec box timeout -k 2 15 "$@" >"$out" 2>&1 </dev/null || rc=$?
  local msg; msg=$(head -c 300 "$out" | tr '\n' ' ')
  case $want in
    fail) tb_assert "$name: fails without crashing (rc=$rc in 1..127): $msg" test "$rc" -ge 1 -a "$rc" -lt 128 -a "$rc" -ne 124 ;;
    *) tb_assert "$name: exit $want (rc=$rc): $msg" test "$rc" -eq "$want" ;;
  esac
  tb_assert "$name: message names the problem (/$pat/)" grep -Eqi -- "$pat" "$out"
  tb_assert "$name: no sanitizer report" bash -c "! grep -Eq 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:' '$out'"
}

# with_arg FLAG VALUE: BASE with FLAG's value replaced (or FLAG added).
with_arg() {
  local flag=$1 val=$2 i found=0
  local -a a=("${BASE[@]}")
  for ((i = 0; i < ${#a[@]}; i++)); do
    if [[ ${a[i]} == "$flag" ]]; then a[i + 1]=$val; found=1; fi
  done
  ((found)) || a+=("$flag" "$val")
  printf '%s\n' "${a[@]}"
}

C="$RF_BIN/replay-copy"
I="$RF_BIN/replay-intercept"
run_copy_case() {
  local name=$1 want=$2 pat=$3 flag=$4 val=$5
  local -a args
  mapfile -t args < <(with_arg "$flag" "$val")
  expect "$name" "$want" "$pat" "$C" "${args[@]}"
}

# ---- flags (usage errors, exit 2) ----
run_copy_case port-offset-2000   2 '(-f|port-offset|port offset).*2000|2000.*(-f|port-offset|port offset)' -f 2000
run_copy_case port-offset-neg    2 '(-f|port-offset|port offset)' -f -1
run_copy_case client-range-300   2 '(-c|client-range|client range).*300\.1\.1\.0|300\.1\.1\.0.*(-c|client-range|client range)' -c 300.1.1.0/24
run_copy_case client-range-pfx   2 '(-c|client-range|client range)' -c 10.250.0.0/33
run_copy_case transfer-noport    2 '(-x|transfer)' -x 80-10.0.0.2
run_copy_case transfer-colon     2 '(-x|transfer)' -x 80:10.0.0.2:80
run_copy_case transfer-bigport   2 '(-x|transfer).*99999|99999.*(-x|transfer)' -x 80-10.0.0.2:99999
run_copy_case transfer-badip     2 '(-x|transfer).*10\.0\.0\.256|10\.0\.0\.256.*(-x|transfer)' -x 80-10.0.0.256:80
run_copy_case transfer-word      2 '(-x|transfer)' -x http-10.0.0.2:80
run_copy_case transfer-empty     2 '(-x|transfer)' -x ''
run_copy_case copies-0           2 '(-n|copies)' -n 0
run_copy_case copies-1024        2 '(-n|copies)' -n 1024
run_copy_case sample-0           2 '(-r|sample)' -r 0
run_copy_case sample-101         2 '(-r|sample)' -r 101
run_copy_case sample-word        2 '(-r|sample)' -r fifty
expect unknown-option 2 'bogus' "$C" "${BASE[@]}" --bogus
expect missing-transfer 2 '(-x|transfer)' "$C" -s 127.0.0.1 -c 10.250.0.0/16 -i lo --duration 3
expect check-config-bad 2 '(-f|port-offset|port offset)' "$C" "${BASE[@]}" -f 2000 --check-config
expect intercept-port 2 '(-p|port).*70000|70000.*(-p|port)' "$I" -i lo -b 127.0.0.1 -p 70000 --duration 3
expect intercept-filter 2 '(-F|filter)' "$I" -i lo -b 127.0.0.1 -F 'tcp and src port' --duration 3

# ---- pcap files (-o) ----
# Offline mode ends by itself once the file is read and its sessions are done;
# nothing answers in this namespace, so a session would wait for its SYN
# retries to run out: --duration keeps each case short.
OFF=(-x 80-127.0.0.2:80 -s 127.0.0.1 -c 10.250.0.0/16 --speed 0 --duration 10)
expect pcap-missing fail 'nonexistent\.pcap' "$C" "${OFF[@]}" --offline "$D/nonexistent.pcap"
expect pcap-corrupt fail 'corrupt\.pcap|format|magic' "$C" "${OFF[@]}" --offline "$D/corrupt.pcap"
expect pcap-trunc-header fail 'trunc-header\.pcap|truncat' "$C" "${OFF[@]}" --offline "$D/trunc-header.pcap"

# The remaining pcap cases need an intercept to talk to (on loopback).
tb_bg box "$D/intercept.log" "$I" -i lo -b 127.0.0.1 -F 'tcp and src port 80' --duration 60
ICPT=$TB_LASTPID
wait_for "tb_listening box 36524 || ! _tb_alive $ICPT" 10
_tb_alive "$ICPT" || tb_die "replay-intercept did not start: $(tail -n 5 "$D/intercept.log")"

expect pcap-trunc-record fail 'trunc-record\.pcap|truncat' "$C" "${OFF[@]}" --offline "$D/trunc-record.pcap"

# Malformed packets in a valid file: counted, never fatal.
rc=0
tb_exec box timeout -k 2 30 "$C" "${OFF[@]}" --offline "$D/badpkts.pcap" --stats-json "$D/badpkts.stats" \
  >"$D/case-badpkts.out" 2>&1 </dev/null || rc=$?
bad=$(tb_stat "$D/badpkts.stats" bad_pkts)
tb_log "badpkts: rc=$rc, stats: $(tb_stats_last "$D/badpkts.stats")"
tb_assert "badpkts: exit 0 on a valid file with malformed packets (rc=$rc)" test "$rc" -eq 0
tb_assert "badpkts: at least $NBAD malformed packets counted (bad_pkts=$bad)" test "$bad" -ge "$NBAD"
# The well-formed session after the bad packets is still picked up.
tb_assert "badpkts: the valid session after them is still replayed (sess_opened=$(tb_stat "$D/badpkts.stats" sess_opened))" \
  test "$(tb_stat "$D/badpkts.stats" sess_opened)" -ge 1
tb_assert "badpkts: no sanitizer report" bash -c "! grep -Eq 'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:' '$D/case-badpkts.out'"
rc=0
tb_stop "$ICPT" 10 || rc=$?
tb_assert "replay-intercept exited cleanly (rc=$rc)" test "$rc" -eq 0
tb_finish
