# Operators' view (issue 7): replayd --metrics scraped and checked against
# `replayctl status --json`; `replayctl doctor` naming each broken hop.
# Exits 77 (SKIP) when not root, without netns, or when a tool is missing.
rf_add_integration_test(t_metrics)
rf_add_integration_test(t_doctor)
