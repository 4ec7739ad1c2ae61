# Fuzz targets over the packet path and the channel framing. Each replays
# corpus/<name>/ under ctest; tests/fuzz/run_fuzz.sh runs them under
# libFuzzer. rf_decap is defined in tests/unit/decap.cmake.
if(RF_LIBFUZZER)
  # libFuzzer steers by the coverage of the code under test, not only of the
  # harness: the libraries need the coverage hooks too, or it fuzzes blind.
  # (Belongs in rf_build_flags; kept here until it is.)
  foreach(lib cp_core rf_decap rf_common)
    if(TARGET ${lib})
      get_target_property(type ${lib} TYPE)
      if(NOT type STREQUAL "INTERFACE_LIBRARY")
        target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link)
      endif()
    endif()
  endforeach()
endif()
rf_add_fuzz_test(decap rf_decap rf_common)
rf_add_fuzz_test(pkt rf_common)
rf_add_fuzz_test(frame rf_common)
# Message handlers behind the decoder (intercept copy channel, ResponseBatch
# splitting, Assignment); seeds from gen_envelope_seeds.py. ic_core gets the
# coverage hooks too, or libFuzzer would steer by the harness alone.
if(RF_LIBFUZZER AND TARGET ic_core)
  target_compile_options(ic_core PRIVATE -fsanitize=fuzzer-no-link)
endif()
rf_add_fuzz_test(envelope cp_core ic_core rf_common)
# The replay engine driven by record sequences (causal order, responses,
# timers); seeds from gen_engine_seeds.py.
rf_add_fuzz_test(engine cp_core rf_common)
# The unauthenticated surface of the TLS channels: OpenSSL's server side
# with our PSK callback, and the identity parser (seed: our ClientHello).
rf_add_fuzz_test(tls rf_common)
# The flag-value parsers (rf_parse): numbers, host:port, durations, strings.
rf_add_fuzz_test(parse rf_common)
