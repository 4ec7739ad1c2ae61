# common/ pure modules.
rf_add_unit_test(test_rf_cidr rf_common)
rf_add_unit_test(test_rf_rule rf_common)
rf_add_unit_test(test_rf_frame rf_common)
rf_add_unit_test(test_rf_pkt rf_common)
rf_add_unit_test(test_rf_auth rf_common)
rf_add_unit_test(test_rf_tls rf_common)
rf_add_unit_test(test_rf_parse rf_common)
