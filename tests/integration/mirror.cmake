# Mirrored-traffic capture (issue 5): SPAN (tc mirred), VXLAN, GRE and
# ERSPAN towards two capture hosts sharded by flow hash. Exits 77 (SKIP) when
# not root, without netns, or when replay-copy lacks the mirror options.
rf_add_integration_test(t_mirror)
