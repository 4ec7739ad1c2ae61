# Test registration helpers; labels: unit, fuzz, integration.
function(rf_add_unit_test name)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
  target_link_libraries(${name} PRIVATE ${ARGN} rf_build_flags ${CMOCKA_LINK})
  target_include_directories(${name} PRIVATE ${CMOCKA_INC} ${PROJECT_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

# A fuzz target is one file defining LLVMFuzzerTestOneInput. Under ctest it is
# linked with standalone.c and replays its committed seed corpus.
function(rf_add_fuzz_test name)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_${name}.c)
  if(RF_LIBFUZZER)
    add_executable(fuzz_${name} ${src})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(fuzz_${name} ${src} ${CMAKE_CURRENT_SOURCE_DIR}/standalone.c)
  endif()
  target_link_libraries(fuzz_${name} PRIVATE ${ARGN} rf_build_flags)
  target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  if(RF_LIBFUZZER)
    # Replay only: without -runs=0 libFuzzer would fuzz until the timeout
    # and write new inputs into the committed corpus.
    add_test(NAME fuzz_${name} COMMAND fuzz_${name} -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  else()
    add_test(NAME fuzz_${name} COMMAND fuzz_${name} ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  endif()
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()

# Integration scripts exit 77 to SKIP (no root / no netns / missing server).
# `ctest -j4` (scripts/test.sh) runs four at a time: beds never collide (each run has its own
# namespaces rf<pid>-*, its own mktemp run dir, its listeners inside its own
# namespaces; t_rollout's containers are unregistered, --register=no). What
# two tests can collide on is the machine's two cores, hence a class each:
#   (default)  drives a load whose fidelity it asserts: takes the lock
#              rf_load, so two such tests never share the cores; a LIGHT
#              test may run beside it. New tests start here: the safe class.
#   LIGHT      little CPU or nothing asserted on timing (bad input, doctor,
#              Ansible, the rollout's containers): runs beside anything.
#   ALONE      asserts latency, rates or timer precision: runs alone.
# COST orders a fresh run (ctest starts the most costly first): the long
# LIGHT tests start at once, beside the chain of load tests.
function(rf_add_integration_test name)
  cmake_parse_arguments(arg "LIGHT;ALONE" "COST" "" ${ARGN})
  add_test(NAME ${name} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/${name}.sh)
  set_tests_properties(${name} PROPERTIES LABELS integration
    TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "RF_BIN=${CMAKE_BINARY_DIR}/bin;RF_SRC=${CMAKE_SOURCE_DIR}")
  if(arg_ALONE)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  elseif(NOT arg_LIGHT)
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK rf_load)
  endif()
  if(arg_COST)
    set_tests_properties(${name} PROPERTIES COST ${arg_COST})
  endif()
endfunction()
