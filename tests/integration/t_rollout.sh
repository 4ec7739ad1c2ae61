#!/usr/bin/env bash
# t_rollout: fresh Debian 12 hosts become a working fleet by ansible-playbook
# alone, from the Debian packages, served by an air-gapped apt repository.
#
#   1. scripts/package.sh builds replayfleet-agent and -controller.
#   2. A minimal Debian 12 root filesystem (mmdebstrap from this machine's
#      Debian mirror: systemd, openssh-server, python3, nginx-light; cached
#      per machine in /var/cache/replayfleet) boots once per bed host with systemd-nspawn
#      --boot inside that host's network namespace (lib.sh bed), read-only
#      lower layer + a private overlay each (--volatile=overlay).
#   3. A local apt repository (dpkg-scanpackages + python3 -m http.server in
#      the controller's namespace) holds the packages and the runtime
#      dependencies the image lacks (apt-get download): the containers have
#      no other apt source.
#   4. site.yml from an inventory of controller, 2 capture hosts (each its
#      own nginx), 1 assistant, 1 target: packages, config, keys, services,
#      the plan (replayfleet_plan), the targets' routes from `replayctl
#      routes`. Then bounded load (wrk from the bed's client namespace) and:
#      target/online >= 0.999; services active as user replayfleet with the
#      unit's capabilities (CapEff of the running process); `journalctl -p
#      err` of our units empty; a second run changed=0; --check shows no
#      drift; an upgrade run (same packages, version bumped by repacking)
#      restarts the services and every agent keeps its assignment.
# Tear-down (containers, namespaces, http server) by PID, also on failure.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

NEED=(mmdebstrap systemd-nspawn dpkg-scanpackages dpkg-deb ansible-playbook ssh ssh-keygen wrk cpack)
[[ $(id -u) -eq 0 ]] || tb_skip "t_rollout needs root (network namespaces, systemd-nspawn)"
for c in "${NEED[@]}"; do
  command -v "$c" >/dev/null || tb_skip "'$c' not installed (bash scripts/deps.sh installs mmdebstrap, systemd-container, dpkg-dev, ansible, wrk)"
done
require_root_netns --no-apps wrk
[[ -n ${RF_BIN:-} ]] || tb_skip "RF_BIN is not set (run through ctest)"
# The Debian image and the downloaded runtime dependencies depend on this
# machine's mirror, not on the tree: cached per machine, so a fresh clone
# (CI) does not rebuild them (mmdebstrap alone is ~100 s). RF_ROLLOUT_CACHE
# overrides. The image is rebuilt when older than 30 days (security updates).
CACHE=${RF_ROLLOUT_CACHE:-/var/cache/replayfleet/rollout}
mkdir -p "$CACHE"
# One writer at a time (two clones may run this test at once); held until exit.
exec {CACHE_LOCK}>"$CACHE/.lock"
flock "$CACHE_LOCK"

T0=$SECONDS
HOSTS=(controller capture1 capture2 assistant target)
declare -A NSPAWN=()
W=
HTTP_PID=
PKG_PID=

rollout_down() {
  local rc=$? h p
  set +e
  for h in "${!NSPAWN[@]}"; do
    p=${NSPAWN[$h]}
    # SIGTERM to systemd-nspawn = an orderly poweroff of the container.
    kill -TERM "$p" 2>/dev/null
  done
  for h in "${!NSPAWN[@]}"; do
    p=${NSPAWN[$h]}
    wait_for "! _tb_alive $p" 20 || { tb_log "container $h did not stop; killing"; kill -KILL "$p" 2>/dev/null; }
    wait "$p" 2>/dev/null
  done
  if [[ -n $HTTP_PID ]]; then kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null; fi
  if [[ -n $PKG_PID ]]; then kill -- "-$PKG_PID" 2>/dev/null; wait "$PKG_PID" 2>/dev/null; fi
  NSPAWN=()
  HTTP_PID=
  if [[ $rc -eq 0 && ${TB_KEEP:-0} != 1 ]]; then rm -rf "$W"; else tb_log "rollout files kept in $W"; fi
  return "$rc"
}

# ---- 1. packages (in the background while the image is made and booted) --------
# The package build is CPU, mmdebstrap mostly download and dpkg: on a fresh
# machine (no cached image) running them side by side saves the shorter one.
tb_log "building the packages (scripts/package.sh, in the background)"
W=$(mktemp -d /tmp/t_rollout.XXXXXX)
chmod 755 "$W"
# Its own process group (setsid), so a failure below stops the compilers too.
(cd "$RF_SRC" && exec setsid bash scripts/package.sh --out "$W/dist") >"$W/package.log" 2>&1 &
PKG_PID=$!
trap 'rollout_down' EXIT

# ---- 2. the Debian 12 root filesystem (cached) ----------------------------------
INCLUDE=systemd,systemd-sysv,dbus,openssh-server,python3,python3-apt,iproute2,procps,nginx-light,ca-certificates
# This machine's Debian sources (deb822 or one-line files naming debian.org
# or a snapshot of it), nothing else (no third-party repositories).
MIRRORS=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $f ]] || continue
  grep -Eq '^[^#]*(deb\.debian\.org|security\.debian\.org|snapshot\.debian\.org|ftp\.[a-z.]*debian\.org)' "$f" || continue
  grep -Eq '^[^#]*(https?://)' "$f" || continue
  MIRRORS+=("$f")
done
((${#MIRRORS[@]})) || tb_skip "no Debian mirror in /etc/apt/sources.list* to build the image from"
KEY=$(printf '%s|%s' "$INCLUDE" "$(cat "${MIRRORS[@]}")" | md5sum | cut -c1-12)
ROOTFS=$CACHE/rootfs-$KEY
if [[ -z $(find "$ROOTFS/.complete" -mtime -30 2>/dev/null) ]]; then
  tb_log "mmdebstrap bookworm -> $ROOTFS (first run only; from ${MIRRORS[*]})"
  rm -rf "$ROOTFS"
  # The image gets no apt source at all (the fleet is air-gapped: the
  # rollout's repository is the only one) and no host name of its own.
  # shellcheck disable=SC2016 # the hooks' $1 is mmdebstrap's
  mmdebstrap --variant=apt --include="$INCLUDE" \
    --customize-hook='rm -f "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/* "$1"/etc/hostname' \
    --customize-hook='echo "PermitRootLogin prohibit-password" >"$1"/etc/ssh/sshd_config.d/rollout.conf' \
    --customize-hook=': >"$1"/etc/machine-id' \
    bookworm "$ROOTFS" "${MIRRORS[@]}" >"$W/mmdebstrap.log" 2>&1 ||
    { tail -30 "$W/mmdebstrap.log" >&2; rm -rf "$ROOTFS"; tb_die "mmdebstrap failed"; }
  touch "$ROOTFS/.complete"
fi
tb_log "image ready ($((SECONDS - T0)) s)"
# The containers boot while scripts/package.sh still runs (they need only the
# image; apt reads the repository only once the playbook runs): in CI the
# two took ~30 s each under the other tests' load, one after the other before.
REPO=$W/repo
mkdir -p "$REPO"
# ---- 3. the bed and one booted container per host (while the packages build) --
tb_up client=10 controller=50 capture1=21 capture2=22 assistant=40 target=30
trap 'rollout_down; tb_down' EXIT
# Only Ansible gives the target its client-pool routes (lib.sh adds one).
ip -n "$(tb_ns target)" route del "$TB_CLIENT_RANGE" 2>/dev/null || true

CTRL=$(tb_ip controller)
tb_bg controller "$W/http.log" python3 -m http.server --bind "$CTRL" --directory "$REPO" 8080
HTTP_PID=$TB_LASTPID
wait_for "tb_listening controller 8080" 10 || { cat "$W/http.log" >&2; tb_die "apt repository server did not start"; }

mkdir -p "$W/ssh"
ssh-keygen -q -t ed25519 -N '' -C t_rollout -f "$W/ssh/id" >/dev/null
cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
chmod 600 "$W/ssh/authorized_keys"
for h in "${HOSTS[@]}"; do
  mkdir -p "$W/m/$h"
  echo "$h" >"$W/m/$h/hostname"
  # SYSTEMD_NSPAWN_API_VFS_WRITABLE=network: /proc/sys/net writable (the
  # roles set per-namespace sysctls, as on a real host).
  # CAP_NET_ADMIN: the target's routes, the agents' capabilities.
  SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn --quiet --register=no --keep-unit --boot \
    --capability=CAP_NET_ADMIN \
    -D "$ROOTFS" --volatile=overlay --hostname="$h" --console=passive \
    --network-namespace-path="/run/netns/$(tb_ns "$h")" \
    --bind-ro="$W/m/$h/hostname:/etc/hostname" \
    --bind-ro="$W/ssh/authorized_keys:/root/.ssh/authorized_keys" \
    >"$W/m/$h/console.log" 2>&1 </dev/null &
  NSPAWN[$h]=$!
done
wait "$PKG_PID" || { tail -30 "$W/package.log" >&2; tb_die "scripts/package.sh failed"; }
PKG_PID=
V1=$(dpkg-deb -f "$W"/dist/replayfleet-agent_*.deb Version)
tb_log "packages: $(cd "$W/dist" && echo *.deb) (version $V1, $((SECONDS - T0)) s)"

# ---- 4. the apt repository: packages + missing runtime dependencies -------------
mkdir -p "$CACHE/debs"
cp "$W"/dist/*.deb "$REPO/"
# Recursive Depends+PreDepends (and the agent's Recommends) of our packages,
# minus what the image already has, downloaded once into the cache.
mapfile -t direct < <(for f in "$W"/dist/*.deb; do dpkg-deb -f "$f" Depends Recommends; done |
  sed 's/^[A-Za-z-]*: //' | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/[[:space:]]//g' | grep -v '^$' | sort -u)
mapfile -t have < <(dpkg-query --admindir="$ROOTFS/var/lib/dpkg" -W -f '${Package}\n' | sort -u)
mapfile -t need < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${direct[@]}" 2>/dev/null |
  grep -E '^[a-z0-9]' | grep -v ':i386' | sort -u | comm -23 - <(printf '%s\n' "${have[@]}"))
tb_log "runtime dependencies the image lacks: ${need[*]:-none}"
if ((${#need[@]})); then
  # Cached by name and candidate version (a file name holds the epoch as %3a):
  # the packages' Depends come from this machine's libraries, so a stale
  # cached version could not satisfy them.
  : >"$W/download.failed"
  # One apt-cache call for all of them (one per package costs seconds each
  # on a busy machine).
  declare -A CAND=()
  while read -r p v; do CAND[$p]=$v; done < <(apt-cache show --no-all-versions "${need[@]}" 2>/dev/null |
    awk '/^Package: / { p = $2 } /^Version: / { print p, $2 }')
  for p in "${need[@]}"; do
    v=${CAND[$p]:-}
    v=${v/:/%3a}
    if ! compgen -G "$CACHE/debs/${p}_${v}_*.deb" >/dev/null; then
      (cd "$CACHE/debs" && apt-get download -q "$p" >/dev/null 2>&1) || { echo "$p" >>"$W/download.failed"; continue; }
    fi
    cp "$CACHE/debs/${p}_${v}"_*.deb "$REPO/" 2>/dev/null || echo "$p" >>"$W/download.failed"
  done
  [[ ! -s $W/download.failed ]] || tb_die "apt-get download failed for: $(tr '\n' ' ' <"$W/download.failed")"
fi
scan_repo() { (cd "$REPO" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages); }
scan_repo

SSH_OPTS=(-i "$W/ssh/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o BatchMode=yes -o ConnectTimeout=5)
on() { # on HOST CMD...: run CMD as root in HOST's container (over ssh, from the client namespace)
  # -n: stdin from /dev/null. ssh sets O_NONBLOCK on the stdin it inherits, a
  # flag of the open file description that ctest shares with the tests running
  # beside this one: t_ansible's ansible-playbook then refused to start
  # ("Non-blocking file handles detected: <stdin>").
  local h=$1; shift
  tb_exec client ssh -n "${SSH_OPTS[@]}" "root@$(tb_ip "$h")" "$@"
}
for h in "${HOSTS[@]}"; do
  wait_for "on $h true 2>/dev/null" 90 || { tail -20 "$W/m/$h/console.log" >&2; tb_die "container $h: no ssh after 90 s"; }
done
tb_log "containers booted and reachable over ssh ($((SECONDS - T0)) s)"

# ---- 5. the playbook ------------------------------------------------------------
FK=$("$RF_BIN/replayctl" keys new-fleet --out -)   # the fleet master of this run
cat >"$W/inventory.ini" <<INV
[controller]
controller ansible_host=$CTRL
[capture]
capture1 ansible_host=$(tb_ip capture1)
capture2 ansible_host=$(tb_ip capture2)
[assistant]
assistant ansible_host=$(tb_ip assistant)
[target]
target ansible_host=$(tb_ip target)
[all:vars]
ansible_user=root
ansible_ssh_private_key_file=$W/ssh/id
ansible_python_interpreter=/usr/bin/python3
INV
cat >"$W/vars.yml" <<VARS
replayfleet_apt_repo: "deb [trusted=yes] http://$CTRL:8080/ ./"
replayfleet_fleet_key: "$FK"
replayfleet_serial: "100%"
replayfleet_settle_seconds: 1
replayd_listen: "0.0.0.0:36523"
replay_copy_interfaces: [eth0]
replay_copy_allow_target: ["$TB_NET.0/24"]
replay_copy_memory_max: "512M"
replay_copy_cpu_quota: "80%"
# A network namespace cannot raise the kernel-wide conntrack table size.
replay_copy_sysctls: {}
replay_intercept_interface: eth0
replay_intercept_filter: "tcp and src port 80"
replayfleet_plan:
  name: rollout
  transfers: ["80-$(tb_ip target):80"]
  client_pool: "$TB_CLIENT_RANGE"
  copy_agents: [capture1, capture2]
  intercepts: [assistant]
VARS
cat >"$W/ansible.cfg" <<CFG
[defaults]
retry_files_enabled = False
interpreter_python = /usr/bin/python3
local_tmp = $W/ansible-tmp
forks = 5
nocolor = True
host_key_checking = False
callbacks_enabled = ansible.posix.profile_tasks
# The main loop polls its workers every internal_poll_interval (default
# 1 ms: busy on the CPU the load tests beside this one need); 20 ms costs
# a task at most that much latency.
internal_poll_interval = 0.02
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
control_path_dir = $W/cp
CFG
export ANSIBLE_CONFIG=$W/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
# Not niced: t_rollout is the longest test, CI's critical path beside the
# load chain (at nice 10 it took ~15 min on a busy machine).
play() { # play LOG [ansible-playbook args]
  local log=$1; shift
  tb_exec client env ANSIBLE_CONFIG="$ANSIBLE_CONFIG" HOME="$W" ansible-playbook -i "$W/inventory.ini" \
    -e "@$W/vars.yml" "$@" "$RF_SRC/deploy/ansible/site.yml" >"$log" 2>&1 </dev/null
}
recap_ok() { # recap_ok LOG CHANGED_WANT(any|0): every host failed=0 unreachable=0 (and changed=0)
  local log=$1 want=$2 line n=0
  while read -r line; do
    n=$((n + 1))
    [[ $line == *" failed=0 "* && $line == *" unreachable=0 "* ]] || return 1
    [[ $want == any || $line == *" changed=0 "* ]] || return 1
  done < <(sed -n '/^PLAY RECAP/,$p' "$log" | grep -E '^[a-z0-9]+ +: ok=')
  ((n == ${#HOSTS[@]}))
}
run_play() { # run_play NAME WANT [args]
  local name=$1 want=$2; shift 2
  local t=$SECONDS
  if ! play "$W/$name.log" "$@" || ! recap_ok "$W/$name.log" "$want"; then
    grep -E '^(fatal|failed|changed):|FAILED|ERROR' -A3 "$W/$name.log" | tail -60 >&2
    sed -n '/^PLAY RECAP/,/^$/p' "$W/$name.log" >&2
    tb_die "playbook $name (want changed=$want) failed"
  fi
  tb_log "playbook $name: ok in $((SECONDS - t)) s: $(sed -n '/^PLAY RECAP/,/^$/p' "$W/$name.log" | grep -oE 'changed=[0-9]+' | tr '\n' ' ')"
}
run_play run1 any

# ---- 6. what systemd runs --------------------------------------------------------
declare -A UNIT=([controller]=replayd [capture1]=replay-copy [capture2]=replay-copy [assistant]=replay-intercept)
# What the unit grants (ambient = bounding set); the process itself drops
# every capability once its sockets are open (rf_priv_drop), so CapEff and
# CapPrm of the running daemon must be empty.
declare -A CAPS=([controller]="" [capture1]="cap_net_admin cap_net_raw" [capture2]="cap_net_admin cap_net_raw" [assistant]="cap_net_raw")
declare -A PID1=()
check_units() {
  local h u pid st
  for h in controller capture1 capture2 assistant; do
    u=${UNIT[$h]}
    st=$(on "$h" systemctl show -p ActiveState -p Type -p User -p MainPID "$u.service" | sort | tr '\n' ' ')
    pid=$(sed -n 's/.*MainPID=\([0-9]*\).*/\1/p' <<<"$st")
    tb_assert "$h: $u active, Type=notify, User=replayfleet ($st)" \
      test "$st" = "ActiveState=active MainPID=$pid Type=notify User=replayfleet "
    local grant ps_user cap
    grant=$(on "$h" systemctl show -p AmbientCapabilities -p CapabilityBoundingSet "$u.service" | sort | tr '\n' ' ')
    tb_assert "$h: $u.service grants exactly '${CAPS[$h]}' ($grant)" \
      test "$grant" = "AmbientCapabilities=${CAPS[$h]} CapabilityBoundingSet=${CAPS[$h]} "
    # The running process: its user, and no capability left after start-up.
    ps_user=$(on "$h" ps -o user= -p "$pid" | tr -d ' ')
    cap=$(on "$h" "awk '/^Cap(Eff|Prm):/ {printf \"%s \", \$2}' /proc/$pid/status")
    tb_assert "$h: $u pid $pid runs as replayfleet with no capability left (CapPrm CapEff: $cap)" \
      test "$ps_user:$cap" = "replayfleet:0000000000000000 0000000000000000 "
    PID1[$h]=$pid
  done
}
check_journal() {
  local h u out
  for h in controller capture1 capture2 assistant; do
    u=${UNIT[$h]}
    out=$(on "$h" journalctl -q --no-pager -p err -u "$u.service")
    tb_assert "$h: journalctl -p err -u $u empty${out:+ (got: ${out:0:300})}" test -z "$out"
  done
}
check_units

ctl() { on controller replayctl --key-file /etc/replayfleet/admin.key "$@"; }
# fleet_state: "GENERATION ACKED_UP_AGENTS id=range/offset/intercept..." from
# `replayctl status --json` on the controller.
fleet_state() {
  local rc=0
  ctl status --json >"$W/status.json" 2>"$W/status.err" || rc=$?
  ((rc == 0)) || { tb_log "replayctl status --json: rc $rc: $(cat "$W/status.err")"; return 1; }
  python3 - "$W/status.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
acked = sum(1 for a in d["agents"] if a["up"] and a["acked_generation"] == d["generation"])
print(d["generation"], acked, " ".join(sorted("%s=%s/%s/%s" % (a["id"], a["client_range"], a["port_offset"], a["paired_with"]) for a in d["agents"])))
PY
}
routes=$(on target ip -4 route show proto 250)
tb_assert "target: routes from replayctl routes installed ($routes)" \
  grep -q "^10\.250\.[0-9.]*/[0-9]* via $(tb_ip assistant) " <<<"$routes"

# ---- 7. load and fidelity ---------------------------------------------------------
access_count() { on "$1" wc -l /var/log/nginx/access.log | cut -d' ' -f1; }
load_round() { # load_round NAME: 8 s of wrk against both capture hosts, then target/online
  local name=$1
  local o0 t0 o1 t1 online target
  o0=$(($(access_count capture1) + $(access_count capture2)))
  t0=$(access_count target)
  tb_wrk "$W/wrk-$name-1.txt" client "http://$(tb_ip capture1)/" 8 4 2 &
  local w1=$!
  tb_wrk "$W/wrk-$name-2.txt" client "http://$(tb_ip capture2)/" 8 4 2 &
  local w2=$!
  wait "$w1" "$w2" || tb_die "wrk failed: $(cat "$W/wrk-$name-"*.txt)"
  o1=$(($(access_count capture1) + $(access_count capture2)))
  online=$((o1 - o0))
  ((online > 500)) || tb_die "load $name: only $online requests reached the capture hosts"
  t1=$(tb_wait_count "echo \$((\$(access_count target) - $t0))" "$online" 30)
  target=$t1
  tb_log "load $name: online $online requests, target $target: target/online $(tb_ratio "$target" "$online")"
  # Where a shortfall went: every copy agent's loss counters, as the
  # controller has them (also when the round passed: a baseline to compare).
  if ctl status --json >"$W/status-$name.json" 2>/dev/null; then
    tb_log "load $name: copy agents: $(python3 - "$W/status-$name.json" <<'PY'
import json, sys
keys = ("cap_pkts", "kernel_drops", "accepted_pkts", "sess_opened", "sess_completed", "sess_active",
        "sess_shed", "sess_timedout", "sess_reset", "sess_aborted", "causal_held", "causal_timeouts",
        "retransmits", "send_errors", "resp_received", "resp_unmatched", "midstream_pkts", "icpt_up")
for a in json.load(open(sys.argv[1]))["agents"]:
    c = a.get("counters") or {}
    if "accepted_pkts" in c:
        print(a["id"] + ": " + " ".join("%s=%s" % (k, c.get(k, "-")) for k in keys), end="; ")
PY
)"
  fi
  tb_assert "load $name: target/online >= 0.999 ($target/$online)" tb_frac_ge "$target" "$online" 0.999
  tb_assert "load $name: no more on the target than online ($target/$online)" test "$target" -le "$online"
}
load_round first
check_journal

# ---- 8. idempotence and --check ----------------------------------------------------
run_play run2 0
run_play check 0 --check --tags plan,routes
state_before=$(fleet_state) || tb_die "no fleet state from the controller"
tb_log "fleet before the upgrade: $state_before"

# ---- 9. upgrade: the same packages with a bumped version ----------------------------
V2=${V1%-*}+up1-1
mkdir -p "$W/repack"
for f in "$W"/dist/*.deb; do
  d=$W/repack/$(basename "$f" .deb)
  dpkg-deb -R "$f" "$d"
  sed -i "s/^Version: .*/Version: $V2/" "$d/DEBIAN/control"
  dpkg-deb -b -Zxz "$d" "$REPO/" >/dev/null
done
scan_repo
run_play upgrade any
for h in controller capture1 capture2 assistant; do
  pkg=replayfleet-agent
  [[ $h == controller ]] && pkg=replayfleet-controller
  v=$(on "$h" dpkg-query -W -f "'\${Version}'" "$pkg")
  tb_assert "$h: $pkg upgraded to $V2 (has $v)" test "$v" = "$V2"
done
declare -A OLDPID=()
for h in "${!PID1[@]}"; do OLDPID[$h]=${PID1[$h]}; done
check_units
for h in controller capture1 capture2 assistant; do
  tb_assert "$h: ${UNIT[$h]} restarted by the upgrade (pid ${OLDPID[$h]} -> ${PID1[$h]})" \
    test "${OLDPID[$h]}" != "${PID1[$h]}"
done
# Every agent back, acked the generation in force, on its old slice.
acked_before=$(cut -d' ' -f2 <<<"$state_before")
wait_for "st=\$(fleet_state) && [[ \$(cut -d' ' -f2 <<<\"\$st\") == $acked_before ]]" 30 ||
  tb_log "agents did not all ack the generation in force within 30 s"
state_after=$(fleet_state) || tb_die "no fleet state from the controller"
tb_log "fleet after the upgrade:  $state_after"
tb_assert "every agent kept its assignment, same generation, all acked (before: $state_before)" \
  test "$state_before" = "$state_after"
load_round upgraded
check_journal

tb_log "total $((SECONDS - T0)) s"
tb_finish
