# agent-copy pure modules.
rf_add_unit_test(test_cp_map cp_core)
rf_add_unit_test(test_cp_fsm cp_core)
rf_add_unit_test(test_cp_sess cp_core)
rf_add_unit_test(test_cp_opts cp_core)
rf_add_unit_test(test_cp_canary cp_core)
rf_add_unit_test(test_cp_ctl cp_core)
rf_add_unit_test(test_cp_ring cp_core)
rf_add_unit_test(test_cp_offline cp_core)
