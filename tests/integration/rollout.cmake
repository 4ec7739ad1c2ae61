# t_rollout: packages -> booted Debian 12 containers -> ansible-playbook ->
# load -> idempotence -> upgrade (tests/integration/t_rollout.sh). The first
# run also builds the root filesystem (cached in the build dir) and the
# packages; budget 10 minutes on a 2-core machine, the timeout leaves room.
rf_add_integration_test(t_rollout LIGHT COST 1000)
set_tests_properties(t_rollout PROPERTIES TIMEOUT 1800)
