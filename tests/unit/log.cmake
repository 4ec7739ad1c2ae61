# rf_log: journald priorities, SIGHUP reopen (owned by the packaging work).
rf_add_unit_test(test_rf_log rf_common)
