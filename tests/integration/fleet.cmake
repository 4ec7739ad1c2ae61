# registered tests for this area
# Fleet control plane (issue 3): replayd + replayctl + 3 copy agents + 2
# intercepts in a network-namespace bed (lib.sh); baseline replay, replayd
# restart mid-load, agent loss, rejected plans, dry run, amplification.
# Exits 77 (SKIP) when not root, without netns, or when a tool is missing.
rf_add_integration_test(t_fleet)
