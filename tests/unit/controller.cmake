# Controller unit tests: pure modules of rd_plan, rd_core (replayd) and
# ctl_core (replayctl, cli/) (cmocka).
rf_add_unit_test(test_rd_plan rd_plan)
rf_add_unit_test(test_rd_assign rd_core)
rf_add_unit_test(test_rd_state rd_core)
rf_add_unit_test(test_rd_doctor rd_core)
rf_add_unit_test(test_rd_metrics rd_core)
rf_add_unit_test(test_ctl_status ctl_core rd_core)
rf_add_unit_test(test_rd_agent rd_core)
rf_add_unit_test(test_rd_opts rd_core)
