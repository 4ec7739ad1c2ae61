# cp_decap (agent-copy): L2/tunnel decoding. Tests and fuzz link `rf_decap`:
# the copy agent's cp_core when it exists (it lists cp_decap.c, so the decoder
# is compiled once and tests link the code that ships); otherwise the decoder
# alone, so these tests also build in a tree without the agent.
if(TARGET cp_core)
  add_library(rf_decap INTERFACE)
  target_link_libraries(rf_decap INTERFACE cp_core)
elseif(NOT TARGET rf_decap)
  add_library(rf_decap STATIC ${CMAKE_CURRENT_LIST_DIR}/../../agent-copy/cp_decap.c)
  target_include_directories(rf_decap PUBLIC ${CMAKE_CURRENT_LIST_DIR}/../../agent-copy)
  target_link_libraries(rf_decap PUBLIC rf_common PRIVATE rf_build_flags)
endif()
rf_add_unit_test(test_cp_decap rf_decap rf_common)
