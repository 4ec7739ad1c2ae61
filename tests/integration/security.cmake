# Security v2 (issue 12): TLS 1.3 PSK channels with per-agent identity, under
# attack (MITM, id takeover, tamper, floods, log injection, key and state-dir
# hygiene). Exits 77 (SKIP) when not root or without netns.
rf_add_integration_test(t_security)
