# replay-intercept (agent-intercept/) and the shared controller client.
rf_add_unit_test(test_ic_route ic_core)
rf_add_unit_test(test_ic_batch ic_core)
rf_add_unit_test(test_ic_engine ic_core)
rf_add_unit_test(test_ic_opts ic_core)
rf_add_unit_test(test_ic_ctlclient ic_core)
rf_add_unit_test(test_ic_peer ic_core)
