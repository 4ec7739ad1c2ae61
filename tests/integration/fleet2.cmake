# Fleet features of issue 15: capture groups sharing one mirror (three copy
# agents fed the same VXLAN stream, one killed and restarted mid-run).
# Exits 77 (SKIP) when not root, without netns, or when a tool is missing.
rf_add_integration_test(t_fleet_mirror)
# Stress schedules: a 3-step copies schedule seen in the target's request
# rate and in status, across a replayd restart; pause/resume.
rf_add_integration_test(t_fleet_schedule)
# Target groups: one capture replayed to two targets (A/B), ratio 1.000 on
# each, no foreign source on either, status and metrics per group.
rf_add_integration_test(t_fleet_targets)
