# install() rules and the Debian packages (CPack DEB).
#
# Two components, so capture hosts never get the controller:
#   agent      -> replayfleet-agent       (replay-copy, replay-intercept)
#   controller -> replayfleet-controller  (replayd, replayctl)
# Why CPack and not debian/ + dpkg-buildpackage: the install() rules below
# are then the one list of what ships (cmake --install, the packages and
# the rollout test all read it), Depends still comes from dpkg-shlibdeps,
# and building needs nothing beyond cmake and dpkg-dev. A debian/ directory
# is the route for an upload to Debian itself, which is not the goal here.
include(GNUInstallDirs)

set(RF_UNIT_DIR "lib/systemd/system" CACHE STRING "systemd unit directory, relative to the prefix")
set(RF_CONF_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/replayfleet")

install(TARGETS replay-copy replay-intercept RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT agent)
install(TARGETS replayd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT controller)
install(TARGETS replayctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT controller)

set(_d ${CMAKE_SOURCE_DIR}/deploy)
install(FILES ${_d}/systemd/replay-copy.service ${_d}/systemd/replay-intercept.service
  DESTINATION ${RF_UNIT_DIR} COMPONENT agent)
install(FILES ${_d}/systemd/replayd.service DESTINATION ${RF_UNIT_DIR} COMPONENT controller)
# Config files: conffiles in the packages (dpkg keeps local edits).
install(FILES ${_d}/etc/replay-copy.conf ${_d}/etc/replay-intercept.conf
  DESTINATION ${RF_CONF_DIR} COMPONENT agent)
install(FILES ${_d}/etc/replayd.conf DESTINATION ${RF_CONF_DIR} COMPONENT controller)

set(_m ${CMAKE_SOURCE_DIR}/docs/man)
install(FILES ${_m}/replay-copy.8 ${_m}/replay-intercept.8
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT agent)
install(FILES ${_m}/replayd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8 COMPONENT controller)
install(FILES ${_m}/replayctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT controller)
install(FILES ${_d}/completion/replayctl.bash RENAME replayctl
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT controller)

# ---- CPack DEB ---------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME replayfleet)
set(CPACK_PACKAGE_VERSION ${RF_VERSION})
set(CPACK_PACKAGE_CONTACT "replayfleet maintainers <replayfleet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "live TCP traffic replay run as a fleet")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent controller)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Depends from the binaries' ELF NEEDED entries (dpkg-shlibdeps), plus
# adduser for the service user the maintainer scripts create.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME replayfleet-agent)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_NAME replayfleet-controller)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "ethtool")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
  "replayfleet agents: replay-copy and replay-intercept\n replay-copy captures live client traffic and replays it to a test target;\n replay-intercept captures the target's responses on the assistant host.")
set(CPACK_COMPONENT_CONTROLLER_DESCRIPTION
  "replayfleet controller: replayd and replayctl\n replayd shards client ranges over the copy agents; replayctl applies\n plans and shows the fleet's counters.")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
  ${_d}/debian/agent/conffiles ${_d}/debian/agent/postinst ${_d}/debian/agent/prerm ${_d}/debian/agent/postrm)
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_CONTROL_EXTRA
  ${_d}/debian/controller/conffiles ${_d}/debian/controller/postinst ${_d}/debian/controller/prerm ${_d}/debian/controller/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
