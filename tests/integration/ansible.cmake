# registered tests for this area
# t_ansible: deploy/ansible syntax check, ansible-lint, and a real run of
# site.yml against this machine into a temporary prefix (idempotence too).
rf_add_integration_test(t_ansible)
