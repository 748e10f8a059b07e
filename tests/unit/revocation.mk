# Unit tests of revocation: the CRL index, HTTP fetches and OCSP (the last two
# against real servers in a private network namespace: tests/unit/netns.hpp;
# the misbehaving server is tests/unit/hostile_http.py, python3 only).
check_PROGRAMS += tests/unit/test_crl_index
tests_unit_test_crl_index_SOURCES = tests/unit/test_crl_index.cpp
tests_unit_test_crl_index_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_crl_index_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_crl_index

check_PROGRAMS += tests/unit/test_ocsp
tests_unit_test_ocsp_SOURCES = tests/unit/test_ocsp.cpp tests/unit/netns.hpp tests/unit/certgen.hpp
tests_unit_test_ocsp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_ocsp_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_ocsp
EXTRA_DIST += tests/unit/hostile_http.py
