#!/bin/bash
# demo.sh -- the README's main job: install dependencies when missing,
# build, then bring up a small fleet in network namespaces (controller,
# 2 capture hosts with nginx + replay-copy, 1 assistant with
# replay-intercept, 1 target with nginx, 1 client), drive bounded load and
# show `replayctl status` while it runs. Tears everything down on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: needs root (network namespaces, raw sockets)" >&2
    exit 1
fi
bash scripts/deps.sh
bash scripts/build.sh release
RF_BIN="$PWD/build/bin" RF_SRC="$PWD" exec bash tests/integration/demo.sh "$@"
