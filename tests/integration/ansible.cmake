# registered tests for this area
# t_ansible: deploy/ansible syntax check, ansible-lint, and a real run of
# site.yml against this machine into a temporary prefix (idempotence too).
rf_add_integration_test(t_ansible LIGHT COST 200)
# Three playbook runs of ~50 module calls each: about a minute on an idle
# machine, but every module call is a Python start, so leave room on a busy one.
set_tests_properties(t_ansible PROPERTIES TIMEOUT 1800)
