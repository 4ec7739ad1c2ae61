# shellcheck shell=bash
# cmake_args.sh -- sourced by build.sh, package.sh and fuzz.sh:
# `rf_cmake_args ROOT BUILD_DIR` fills the array RF_CMAKE_ARGS with what
# every build of this tree passes to cmake when it configures BUILD_DIR.
#  * ccache as the compiler launcher, when installed (scripts/deps.sh
#    installs it): a fresh clone on a machine that built before recompiles
#    in seconds. base_dir + no hash_dir make the cache hit across clones in
#    different directories (the debug info then names paths relative to the
#    tree).
#  * Ninja, when installed: the Makefile generator starts `cmake -E` for
#    every object and target (progress lines, dependency scans), and with
#    ccache hitting, those start-ups were most of a build: 86 core-seconds
#    of one CI run, more than its compiler and linker. A build directory
#    configured before keeps its generator (cmake refuses a change).
rf_cmake_args() {
    local root=$1 dir=$2
    RF_CMAKE_ARGS=()
    if command -v ccache >/dev/null; then
        export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
        RF_CMAKE_ARGS+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
    fi
    if command -v ninja >/dev/null &&
        { [ ! -f "$dir/CMakeCache.txt" ] || grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt"; }; then
        RF_CMAKE_ARGS+=(-G Ninja)
    fi
}
