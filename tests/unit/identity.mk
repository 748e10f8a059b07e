# Unit tests of identity mapping: DN parsing, templates, strong bindings (and
# their index), issuer-scoped rules, and the Mapper with NSS accounts.
# test_mapping resolves accounts through NSS: it runs under nss_wrapper with
# the fake passwd and group files in tests/unit/nss (with-nss.sh); the other
# programs need no accounts and run as they are.
IDENTITY_UNIT_TESTS = \
	tests/unit/test_dn \
	tests/unit/test_template \
	tests/unit/test_bindings \
	tests/unit/test_rules \
	tests/unit/test_mapping
check_PROGRAMS += $(IDENTITY_UNIT_TESTS)
TESTS += $(IDENTITY_UNIT_TESTS)

tests_unit_test_dn_SOURCES = tests/unit/test_dn.cpp tests/unit/certgen.hpp
tests_unit_test_dn_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_dn_LDADD = $(UNIT_LDADD)

tests_unit_test_template_SOURCES = tests/unit/test_template.cpp tests/unit/certgen.hpp
tests_unit_test_template_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_template_LDADD = $(UNIT_LDADD)

tests_unit_test_bindings_SOURCES = tests/unit/test_bindings.cpp tests/unit/certgen.hpp
tests_unit_test_bindings_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_bindings_LDADD = $(UNIT_LDADD)

tests_unit_test_rules_SOURCES = tests/unit/test_rules.cpp tests/unit/certgen.hpp
tests_unit_test_rules_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rules_LDADD = $(UNIT_LDADD) $(PTHREAD_LIBS)

tests_unit_test_mapping_SOURCES = tests/unit/test_mapping.cpp tests/unit/certgen.hpp
tests_unit_test_mapping_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_mapping_LDADD = $(UNIT_LDADD)

# Only these programs get the preload: a GNU make target-specific value of
# LOG_COMPILER on their log files (named through a variable so that Automake
# does not take it for a rule replacing its own); the generic LOG_COMPILER of
# every other test stays empty. Works as well when TESTS is given on the
# command line.
IDENTITY_NSS_LOGS = tests/unit/test_mapping.log
$(IDENTITY_NSS_LOGS): LOG_COMPILER = $(SHELL) $(srcdir)/tests/unit/with-nss.sh

EXTRA_DIST += \
	tests/unit/with-nss.sh \
	tests/unit/nss/passwd \
	tests/unit/nss/group
