# Fault injection under bounded load (issue 6): kill -9 / restart of every
# program, link cuts, a full state dir during apply. Exits 77 (SKIP) when not
# root, without netns, or without nginx / wrk / unshare / nsenter; steps that
# cannot run print a loud SKIP line and the rest still runs.
rf_add_integration_test(t_faults)
