# Unit tests of the tunnel (tls/tunnel): the [tls] config, PROXY v2 bytes,
# the identity header rewriter against hostile requests, authorisation, the
# audit line.
check_PROGRAMS += tests/unit/test_tunnel
tests_unit_test_tunnel_SOURCES = tests/unit/test_tunnel.cpp
tests_unit_test_tunnel_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_tunnel_LDADD = libcardgate_tunnel.la $(UNIT_LDADD)
TESTS += tests/unit/test_tunnel

# The client tunnel's owner checks: peer uid by SO_PEERCRED and by the
# kernel's socket table (sock_diag), and its UNIX socket. Real sockets in a
# private network namespace; the other-uid cases need root.
check_PROGRAMS += tests/unit/test_peer_uid
tests_unit_test_peer_uid_SOURCES = tests/unit/test_peer_uid.cpp
tests_unit_test_peer_uid_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_peer_uid_LDADD = libcardgate_tunnel.la $(UNIT_LDADD)
TESTS += tests/unit/test_peer_uid
