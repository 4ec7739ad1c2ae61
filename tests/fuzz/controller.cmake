# controller fuzz targets: plan.json (and state.json) parsing + sharding
# invariants. Replays corpus/plan/ under ctest.
rf_add_fuzz_test(plan rd_core)
