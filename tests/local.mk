# Tests: unit (Boost.Test, one program per module), integration (real SoftHSM
# tokens, the cardgate CLI, the fault-injecting module). Fixtures (test PKI and
# SoftHSM tokens) are generated into the build tree before any test runs.
FIXTURES = $(abs_top_builddir)/tests/fixtures/out

AM_TESTS_ENVIRONMENT = \
	CARDGATE_FIXTURES='$(FIXTURES)'; export CARDGATE_FIXTURES; \
	SOFTHSM2_CONF='$(FIXTURES)/softhsm2.conf'; export SOFTHSM2_CONF; \
	SOFTHSM2_MODULE='$(SOFTHSM2_MODULE)'; export SOFTHSM2_MODULE; \
	FAULTP11_MODULE='$(abs_top_builddir)/tests/faultp11/.libs/faultp11.so'; export FAULTP11_MODULE; \
	CARDGATE_BIN='$(abs_top_builddir)/cardgate'; export CARDGATE_BIN; \
	CARDGATE_SRCDIR='$(abs_top_srcdir)'; export CARDGATE_SRCDIR; \
	BOOST_TEST_LOG_LEVEL=test_suite; export BOOST_TEST_LOG_LEVEL; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1; export ASAN_OPTIONS; \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; export UBSAN_OPTIONS;

UNIT_CPPFLAGS = $(AM_CPPFLAGS) -DBOOST_TEST_DYN_LINK
UNIT_LDADD = libcardgate.la $(BOOST_TEST_LIBS)

include $(srcdir)/tests/fixtures/local.mk
include $(srcdir)/tests/faultp11/local.mk
include $(srcdir)/tests/unit/core.mk
include $(srcdir)/tests/unit/trust.mk
include $(srcdir)/tests/unit/revocation.mk
include $(srcdir)/tests/unit/identity.mk
include $(srcdir)/tests/unit/pkcs11.mk
include $(srcdir)/tests/unit/provider.mk
include $(srcdir)/tests/unit/tunnel.mk
include $(srcdir)/tests/pam/local.mk
include $(srcdir)/tests/integration/local.mk
