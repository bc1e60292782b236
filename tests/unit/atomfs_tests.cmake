# atomfs's own unit tests (the filesystem object called directly, no kernel).
# Included from tests/CMakeLists.txt.
find_package(GTest REQUIRED)
include(GoogleTest)
add_executable(atomfs_unit_tests
	${CMAKE_CURRENT_LIST_DIR}/atomfs_open_atomic_test.cc
	${CMAKE_CURRENT_LIST_DIR}/atomfs_inode_table_test.cc
	${CMAKE_CURRENT_LIST_DIR}/atomfs_init_test.cc
	${CMAKE_CURRENT_LIST_DIR}/atomfs_creds_test.cc
)
target_link_libraries(atomfs_unit_tests PRIVATE atomfs_core atomfs_fuse_testing GTest::gtest GTest::gtest_main)
gtest_discover_tests(atomfs_unit_tests TEST_PREFIX "unit.atomfs." DISCOVERY_MODE PRE_TEST
	PROPERTIES TIMEOUT 120 LABELS unit)
