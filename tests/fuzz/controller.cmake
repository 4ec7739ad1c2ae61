# controller fuzz targets: plan.json (and state.json) parsing + sharding
# invariants. Replays corpus/plan/ under ctest.
rf_add_fuzz_test(plan rd_core)
# doctor: CanaryResult from agents (untrusted) and DoctorReply rendering.
# Replays corpus/doctor/ under ctest.
rf_add_fuzz_test(doctor rd_core ctl_core)
