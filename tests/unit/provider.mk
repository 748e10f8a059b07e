# The OpenSSL provider in-process (LibContext) against the SoftHSM fixtures
# and faultp11.
check_PROGRAMS += tests/unit/test_provider
tests_unit_test_provider_SOURCES = tests/unit/test_provider.cpp
tests_unit_test_provider_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_provider_LDADD = libcardgate_tls.la $(UNIT_LDADD)
TESTS += tests/unit/test_provider
