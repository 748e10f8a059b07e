# Token layer: RFC 7512 URIs (pure), and sessions/login/signing against real
# SoftHSM tokens from the fixtures, directly and through faultp11.
check_PROGRAMS += tests/unit/test_uri
tests_unit_test_uri_SOURCES = tests/unit/test_uri.cpp
tests_unit_test_uri_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_uri_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_uri

check_PROGRAMS += tests/unit/test_token
tests_unit_test_token_SOURCES = tests/unit/test_token.cpp
tests_unit_test_token_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_token_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_token
# (faultp11.la is a check_LTLIBRARY, so `make check` builds it before any test runs)
