check_PROGRAMS += tests/unit/test_core
tests_unit_test_core_SOURCES = tests/unit/test_core.cpp
tests_unit_test_core_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_core_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_core

check_PROGRAMS += tests/unit/test_proof
tests_unit_test_proof_SOURCES = tests/unit/test_proof.cpp
tests_unit_test_proof_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_proof_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_proof
