# Fleet features of issue 15: capture groups sharing one mirror (three copy
# agents fed the same VXLAN stream, one killed and restarted mid-run).
# Exits 77 (SKIP) when not root, without netns, or when a tool is missing.
rf_add_integration_test(t_fleet_mirror)
