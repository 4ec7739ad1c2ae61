#!/bin/bash
# deps.sh -- install the Debian packages replayfleet builds, tests and
# demos with, when any is missing. Idempotent; needs root for apt-get.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config ccache clang libclang-rt-14-dev
      libuv1-dev libprotobuf-c-dev protobuf-c-compiler libpcap-dev libjansson-dev libmnl-dev
      libcmocka-dev libsodium-dev libmicrohttpd-dev libssl-dev openssl
      iproute2 procps iputils-ping jq nginx-light redis-server redis-tools wrk tcpdump curl python3 ethtool
      ansible ansible-lint zlib1g-dev prometheus
      libsystemd-dev dpkg-dev apt-utils mmdebstrap systemd-container openssh-client)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts services on install where an init is running; the tests
# start their own instances inside namespaces.
for svc in nginx redis-server prometheus; do
    command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null &&
        systemctl stop "$svc" || true
done
echo "deps: ok"
