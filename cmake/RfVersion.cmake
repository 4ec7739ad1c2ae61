# RF_VERSION: the VERSION file (what packages are called), plus the git
# commit when the tree is a checkout (what --version prints). A packager may
# override the package version with -DRF_VERSION=X (scripts/package.sh
# --version X), e.g. for a rebuilt package of the same tree.
file(STRINGS ${CMAKE_SOURCE_DIR}/VERSION RF_VERSION_FILE LIMIT_COUNT 1)
string(STRIP "${RF_VERSION_FILE}" RF_VERSION_FILE)
if(NOT RF_VERSION_FILE MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+")
  message(FATAL_ERROR "VERSION: \"${RF_VERSION_FILE}\" is not MAJOR.MINOR.PATCH")
endif()
set(RF_VERSION "${RF_VERSION_FILE}" CACHE STRING "package and program version (default: VERSION file)")
if(RF_VERSION STREQUAL "")
  set(RF_VERSION "${RF_VERSION_FILE}" CACHE STRING "" FORCE)
endif()
if(NOT RF_VERSION MATCHES "^[0-9][A-Za-z0-9.+~-]*$")
  message(FATAL_ERROR "RF_VERSION \"${RF_VERSION}\" is not a Debian upstream version")
endif()

set(RF_GIT_DESCRIBE "")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS ${CMAKE_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --always --dirty --tags
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE RF_GIT_DESCRIBE
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(RF_GIT_DESCRIBE STREQUAL "")
  set(RF_VERSION_LONG "${RF_VERSION}")
else()
  set(RF_VERSION_LONG "${RF_VERSION} (git ${RF_GIT_DESCRIBE})")
endif()

# rf_version.h in the build tree; every target sees it through rf_build_flags.
configure_file(${CMAKE_SOURCE_DIR}/cmake/rf_version.h.in
  ${CMAKE_BINARY_DIR}/generated/rf_version.h @ONLY)
target_include_directories(rf_build_flags INTERFACE ${CMAKE_BINARY_DIR}/generated)
