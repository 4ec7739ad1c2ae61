# Data-plane integration tests (issue 2): real nginx / redis-server / wrk /
# redis-benchmark in a network-namespace bed built by tests/integration/lib.sh.
# Each script exits 77 (SKIP) when not root, without netns support, or when a
# server, load generator or our binary is missing. LIGHT / ALONE / default:
# how ctest -j2 may pair them (cmake/RfTesting.cmake).
rf_add_integration_test(t_bed LIGHT)
rf_add_integration_test(t_copy_http)
rf_add_integration_test(t_copy_fanout)
rf_add_integration_test(t_copy_redis)
rf_add_integration_test(t_copy_pg)
rf_add_integration_test(t_copy_expect LIGHT)
rf_add_integration_test(t_copy_copies)
rf_add_integration_test(t_copy_sample)
rf_add_integration_test(t_copy_offline)
rf_add_integration_test(t_copy_badinput LIGHT)
