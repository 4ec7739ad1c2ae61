# Operators' view (issue 7): replayd --metrics scraped and checked against
# `replayctl status --json`; `replayctl doctor` naming each broken hop.
# Exits 77 (SKIP) when not root, without netns, or when a tool is missing.
rf_add_integration_test(t_metrics LIGHT)
rf_add_integration_test(t_doctor LIGHT)
# promtool on the shipped rules (check + unit tests), on a rendered page,
# and the dashboard's families (no root; SKIP 77 without promtool).
if(TARGET test_rd_metrics)
  add_test(NAME promtool_check COMMAND bash ${CMAKE_SOURCE_DIR}/tests/prometheus/check.sh
    $<TARGET_FILE:test_rd_metrics>)
  set_tests_properties(promtool_check PROPERTIES LABELS unit TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()
# A real Prometheus server scraping replayd on the bed (issue 16).
rf_add_integration_test(t_prometheus)
