# Unit tests of the trust core: config, x509, trust (chain + revocation + usage).
check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.cpp
tests_unit_test_config_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_config

EXTRA_DIST += \
	tests/fixtures/configs/good-full.conf \
	tests/fixtures/configs/bad-unknown-key.conf \
	tests/fixtures/configs/bad-ocsp-responder.conf \
	tests/fixtures/configs/bad-duration.conf

check_PROGRAMS += tests/unit/test_x509
tests_unit_test_x509_SOURCES = tests/unit/test_x509.cpp
tests_unit_test_x509_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_x509_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_x509

check_PROGRAMS += tests/unit/test_trust
tests_unit_test_trust_SOURCES = tests/unit/test_trust.cpp
tests_unit_test_trust_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_trust_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_trust

check_PROGRAMS += tests/unit/test_validation_cache
tests_unit_test_validation_cache_SOURCES = tests/unit/test_validation_cache.cpp
tests_unit_test_validation_cache_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_validation_cache_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_validation_cache

check_PROGRAMS += tests/unit/test_revocation
tests_unit_test_revocation_SOURCES = tests/unit/test_revocation.cpp
tests_unit_test_revocation_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_revocation_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test_revocation
