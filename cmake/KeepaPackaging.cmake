# Install rules and the Debian package (README, "Install, package and
# service"). `cmake --install build [--prefix P]` lays out
#
#   P/bin/                             keepa-pipeline, keepa-sim, keepa-eta,
#                                      keepa-status, keepa-deals, keepa-token
#   P/share/keepa-pipeline/            profiles/*.ini, deal_query.json,
#                                      finder_query.json
#   P/share/doc/keepa-pipeline/        README.md, keepa-sim.md,
#                                      examples/keepa-alerts.yml
#   P/lib/systemd/system/              keepa-pipeline.service
#   /etc/keepa-pipeline/ (P = /usr)    keepa-pipeline.conf (else P/etc/...)
#
# The programs find share/keepa-pipeline relative to their own path
# (config/data_dir.hpp), so the tree can move. `cpack -G DEB` in the build
# directory packages the same files for /usr.

include(KeepaInstallDirs)

# keepa-bench and the benchmark helpers are for developers; they stay in the
# build tree.
install(TARGETS keepa-pipeline keepa-sim keepa-eta keepa-status keepa-deals
                keepa-token
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/profiles/
        DESTINATION ${KEEPA_DATA_SUBDIR}/profiles
        FILES_MATCHING PATTERN "*.ini")
install(FILES ${PROJECT_SOURCE_DIR}/config/deal_query.json
              ${PROJECT_SOURCE_DIR}/config/finder_query.json
        DESTINATION ${KEEPA_DATA_SUBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${KEEPA_DOC_SUBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/prometheus/keepa-alerts.yml
        DESTINATION ${KEEPA_DOC_SUBDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/tools/keepa-sim/README.md
        DESTINATION ${KEEPA_DOC_SUBDIR} RENAME keepa-sim.md)

# The unit names absolute paths of the prefix the install goes to, known
# only at install time (cpack installs to /usr whatever the build's prefix
# is): cmake/KeepaInstallService.cmake writes it then, and the config file
# to /etc for the prefixes /usr and / (GNUInstallDirs' rule).
install(CODE "
  set(KEEPA_UNIT_TEMPLATE
      \"${PROJECT_SOURCE_DIR}/config/systemd/keepa-pipeline.service.in\")
  set(KEEPA_CONFIG_FILE \"${PROJECT_SOURCE_DIR}/config/keepa-pipeline.conf\")
  set(KEEPA_SCRATCH_DIR \"${PROJECT_BINARY_DIR}/CMakeFiles\")
  set(KEEPA_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(KEEPA_DOC_SUBDIR \"${KEEPA_DOC_SUBDIR}\")")
install(SCRIPT ${CMAKE_CURRENT_LIST_DIR}/KeepaInstallService.cmake)

# -- the Debian package ----------------------------------------------------------

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME keepa-pipeline)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT
    "Seed 39f48842 maintainers <maintainers@users.noreply.b-seed-39f48842.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "harvests Amazon deals from the Keepa API within a plan's token bucket")
# The body below the synopsis (CPACK_PACKAGE_DESCRIPTION_SUMMARY).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "keepa-pipeline scans Keepa's deal feed, checks each deal against
resale rules and stores the good ones in SQLite or PostgreSQL, spending
the plan's tokens as fast as Keepa refills them and never overdrawing.
It runs as the systemd service keepa-pipeline (key in
/etc/keepa-pipeline/api-key, settings in
/etc/keepa-pipeline/keepa-pipeline.conf, database in
/var/lib/keepa-pipeline). Also: keepa-sim, a Keepa API simulator;
keepa-eta, the time a plan needs for N deals; keepa-status, the state
of a running keepa-pipeline.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Dependencies on the runtime libraries (libcaf-core0.17, libsoci-*,
# libcurl4, ...) from dpkg-shlibdeps; systemd runs the service.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS systemd)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# The config file goes to /etc, outside the prefix: install through DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
