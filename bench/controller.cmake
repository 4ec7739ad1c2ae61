# bench_controller: spawns replayd and simulates a fleet over loopback
# (docs/CONTROLLER.md, "Bench"). Not a test: run it by hand.
add_executable(bench_controller ${CMAKE_CURRENT_SOURCE_DIR}/bench_controller.c)
target_link_libraries(bench_controller PRIVATE rf_common rf_build_flags)
target_compile_definitions(bench_controller PRIVATE RD_BENCH_REPLAYD="$<TARGET_FILE:replayd>")
add_dependencies(bench_controller replayd)
