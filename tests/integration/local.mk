# Integration tests: the cardgate CLI against SoftHSM badges and the
# fault-injecting module. TAP scripts, one per command family.
TEST_EXTENSIONS = .sh
SH_LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_COMPILER = $(SHELL)
INTEGRATION_TESTS = \
	tests/integration/verify.sh \
	tests/integration/prove.sh \
	tests/integration/list.sh \
	tests/integration/map.sh \
	tests/integration/pam.sh \
	tests/integration/pin.sh \
	tests/integration/pam_profile.sh \
	tests/integration/example_config.sh \
	tests/integration/revocation.sh \
	tests/integration/provider.sh \
	tests/integration/tunnel.sh \
	tests/integration/tunnel-client.sh \
	tests/integration/tunnel_notify.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/tap.sh tests/integration/netns.sh tests/integration/tunnel_load.py
