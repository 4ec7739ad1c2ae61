# rf_protobuf_generate(OUT_SRCS proto_file): protoc-c into the build dir.
# Generated code is never committed (.gitignore has *.pb-c.[ch]).
find_program(PROTOC_C NAMES protoc-c protoc REQUIRED)
function(rf_protobuf_generate out_var proto)
  get_filename_component(name ${proto} NAME_WE)
  get_filename_component(dir  ${proto} DIRECTORY)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.c ${CMAKE_CURRENT_BINARY_DIR}/${name}.pb-c.h)
  add_custom_command(
    OUTPUT ${gen}
    COMMAND ${PROTOC_C} --proto_path=${dir} --c_out=${CMAKE_CURRENT_BINARY_DIR} ${proto}
    DEPENDS ${proto}
    COMMENT "protoc-c ${name}.proto"
    VERBATIM)
  set(${out_var} ${gen} PARENT_SCOPE)
endfunction()
