# rf_build_flags: every target links it PRIVATE. C11, warnings, sanitizers.
add_library(rf_build_flags INTERFACE)
target_compile_features(rf_build_flags INTERFACE c_std_11)
target_compile_definitions(rf_build_flags INTERFACE _GNU_SOURCE)
target_compile_options(rf_build_flags INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wno-unused-parameter -Wformat=2 -Wvla)
if(RF_WERROR)
  target_compile_options(rf_build_flags INTERFACE -Werror)
endif()
if(RF_SANITIZE)
  target_compile_options(rf_build_flags INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(rf_build_flags INTERFACE -fsanitize=address,undefined)
endif()
# RF_ASSERT invariant checks (common/rf_assert.h): Debug and sanitizer
# builds only; release builds carry no trace of them.
if(RF_SANITIZE)
  target_compile_definitions(rf_build_flags INTERFACE RF_INVARIANTS)
else()
  target_compile_definitions(rf_build_flags INTERFACE $<$<CONFIG:Debug>:RF_INVARIANTS>)
endif()
# The libFuzzer flavour (scripts/fuzz.sh): every library gets the coverage
# hooks, so libFuzzer steers by the code under test and not only by the
# harness. The fuzz targets themselves link -fsanitize=fuzzer
# (cmake/RfTesting.cmake); the sanitizer runtime serves the hooks elsewhere.
if(RF_LIBFUZZER)
  target_compile_options(rf_build_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "" FORCE)
endif()
