# Install-time part of KeepaPackaging.cmake: the systemd unit with the paths
# of the prefix installed to, and the config file. Runs inside
# cmake_install.cmake, where CMAKE_INSTALL_PREFIX is the prefix of this
# install (--prefix, or /usr under cpack) and file(INSTALL) adds DESTDIR.

set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "/")
  set(KEEPA_SYSCONFDIR /etc)
else()
  set(KEEPA_SYSCONFDIR "${prefix}/etc")
endif()
if(IS_ABSOLUTE "${KEEPA_BINDIR}")
  set(KEEPA_BINDIR_FULL "${KEEPA_BINDIR}")
else()
  set(KEEPA_BINDIR_FULL "${prefix}/${KEEPA_BINDIR}")
endif()

# configure_file's @VAR@ names
set(KEEPA_BINDIR "${KEEPA_BINDIR_FULL}")
set(KEEPA_DOCDIR "${prefix}/${KEEPA_DOC_SUBDIR}")
string(RANDOM LENGTH 16 tag)
set(unit_dir "${KEEPA_SCRATCH_DIR}/keepa-unit-${tag}")
configure_file("${KEEPA_UNIT_TEMPLATE}" "${unit_dir}/keepa-pipeline.service"
               @ONLY)
file(INSTALL "${unit_dir}/keepa-pipeline.service"
     DESTINATION "${prefix}/lib/systemd/system"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(REMOVE_RECURSE "${unit_dir}")
file(INSTALL "${KEEPA_CONFIG_FILE}"
     DESTINATION "${KEEPA_SYSCONFDIR}/keepa-pipeline"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
