# Fuzz targets over the packet path and the channel framing. Each replays
# corpus/<name>/ under ctest; scripts/fuzz.sh runs them under libFuzzer
# (coverage hooks on every library: rf_build_flags). rf_decap is defined
# in tests/unit/decap.cmake.
rf_add_fuzz_test(decap rf_decap rf_common)
rf_add_fuzz_test(pkt rf_common)
rf_add_fuzz_test(frame rf_common)
# Message handlers behind the decoder (intercept copy channel, ResponseBatch
# splitting, Assignment); seeds from gen_envelope_seeds.py.
rf_add_fuzz_test(envelope cp_core ic_core rf_common)
# The replay engine driven by record sequences (causal order, responses,
# timers); seeds from gen_engine_seeds.py.
rf_add_fuzz_test(engine cp_core rf_common)
# The unauthenticated surface of the TLS channels: OpenSSL's server side
# with our PSK callback, and the identity parser (seed: our ClientHello).
rf_add_fuzz_test(tls rf_common)
# The flag-value parsers (rf_parse): numbers, host:port, durations, strings.
rf_add_fuzz_test(parse rf_common)
# The rtnetlink answer parsers of the link-layer send path (cp_nexthop):
# routes, neighbours, errors, other requests' answers.
rf_add_fuzz_test(nexthop cp_core rf_common)
