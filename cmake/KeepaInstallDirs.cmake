# The install layout (GNUInstallDirs), shared by config/ (the programs look
# for their data relative to themselves) and KeepaPackaging.cmake (which
# installs it): KEEPA_DATA_SUBDIR (share/keepa-pipeline: profiles/,
# deal_query.json), KEEPA_DOC_SUBDIR (share/doc/keepa-pipeline) and
# KEEPA_DATA_FROM_BIN, the data directory relative to the programs' own.
include(GNUInstallDirs)
set(KEEPA_DATA_SUBDIR ${CMAKE_INSTALL_DATADIR}/keepa-pipeline)
set(KEEPA_DOC_SUBDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/keepa-pipeline)
file(RELATIVE_PATH KEEPA_DATA_FROM_BIN ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/keepa-pipeline)
