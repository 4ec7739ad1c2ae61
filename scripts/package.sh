#!/bin/bash
# package.sh [--out DIR] [--version X] -- build the Debian packages
# replayfleet-agent and replayfleet-controller (CPack DEB, Depends from
# dpkg-shlibdeps) into DIR (default dist/). A release build without tests,
# benches or cmocka, in its own build directory (build-pkg/, or
# build-pkg-X/ with --version). --version X overrides the VERSION file
# (e.g. 0.1.0+local1 for a rebuilt package that must upgrade the last one).
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist
version=
while (($#)); do
    case $1 in
        --out) out=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
for c in cmake cpack dpkg-deb dpkg-shlibdeps; do
    command -v "$c" >/dev/null || { echo "package.sh: '$c' missing (bash scripts/deps.sh)" >&2; exit 1; }
done
bdir=build-pkg${version:+-$version}
# ccache and Ninja as in scripts/build.sh (scripts/cmake_args.sh): the
# rollout test packages every fresh clone, and the same relative build-pkg/
# hits the cache of the last one.
# shellcheck source=scripts/cmake_args.sh
. scripts/cmake_args.sh
rf_cmake_args "$PWD" "$bdir"
cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DBUILD_TESTING=OFF -DRF_REQUIRE_SYSTEMD=ON -DRF_VERSION="${version:-$(head -n1 VERSION)}" \
    "${RF_CMAKE_ARGS[@]}" >/dev/null
cmake --build "$bdir" -j"${RF_JOBS:-2}"
# Strip into the packages (debug info stays in the build tree).
(cd "$bdir" && cpack -G DEB -D CPACK_STRIP_FILES=ON >/dev/null)
mkdir -p "$out"
for f in "$bdir"/*.deb; do
    cp -f "$f" "$out/"
    echo "$out/${f##*/}"
    dpkg-deb -f "$f" Package Version Depends | sed 's/^/    /'
done
