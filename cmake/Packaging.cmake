# `cmake --install` and the Debian package. The CLI goes to bin/, the agent and the Python
# bootstrap to lib/leakhunt/,
# where the CLI looks for it (../lib/leakhunt/ beside its own bin/; the build tree's ../lib/ is
# the other place it looks). `cpack -G DEB` in the build directory writes leakhunt_<ver>_<arch>.deb;
# its dependencies are computed from the installed binaries by dpkg-shlibdeps.
include(GNUInstallDirs)
install(TARGETS leakhunt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS leakhunt_agent LIBRARY DESTINATION lib/leakhunt)  # not multiarch: the CLI looks here
install(FILES src/capture/python/leakhunt_bootstrap.py DESTINATION lib/leakhunt)  # record of python
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME leakhunt)
set(CPACK_PACKAGE_VENDOR "leakhunt")
set(CPACK_PACKAGE_CONTACT "leakhunt maintainers <leakhunt@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "finds memory leaks in long-running Linux processes")
set(CPACK_PACKAGE_INSTALL_DIRECTORY leakhunt)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Only the CLI and the agent: not the tests, benchmarks or the demo service.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};ALL;/")
include(CPack)
