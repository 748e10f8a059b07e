# cardgate-tunnel (tls/tunnel): mutual TLS with the badge, server and client
# mode. The pure parts (PROXY v2, the identity header, authorisation, audit
# line), the Gate, the client's owner checks (peer_uid, unix_listener) and
# the pending-handshake guard are a convenience library shared with the unit tests.
noinst_LTLIBRARIES += libcardgate_tunnel.la
libcardgate_tunnel_la_SOURCES = \
	tls/tunnel/proxy_v2.hpp tls/tunnel/proxy_v2.cpp \
	tls/tunnel/http_identity.hpp tls/tunnel/http_identity.cpp \
	tls/tunnel/authorise.hpp tls/tunnel/authorise.cpp \
	tls/tunnel/audit.hpp tls/tunnel/audit.cpp \
	tls/tunnel/gate.hpp tls/tunnel/gate.cpp \
	tls/tunnel/fd.hpp \
	tls/tunnel/peer_uid.hpp tls/tunnel/peer_uid.cpp \
	tls/tunnel/unix_listener.hpp tls/tunnel/unix_listener.cpp \
	tls/tunnel/admission.hpp tls/tunnel/admission.cpp \
	tls/tunnel/refusal_log.hpp tls/tunnel/refusal_log.cpp \
	tls/tunnel/guard.hpp tls/tunnel/guard.cpp
libcardgate_tunnel_la_LIBADD = libcardgate.la $(OPENSSL_LIBS)

bin_PROGRAMS += cardgate-tunnel
cardgate_tunnel_SOURCES = \
	tls/tunnel/main.cpp \
	tls/tunnel/server.hpp tls/tunnel/server.cpp \
	tls/tunnel/session.hpp tls/tunnel/session.cpp \
	tls/tunnel/client.hpp tls/tunnel/client.cpp \
	tls/tunnel/notify.hpp tls/tunnel/notify.cpp \
	tools/prompt.hpp tools/prompt.cpp
# Client mode signs with the badge through the provider (libcardgate_tls.la,
# tls/provider/local.mk) in a private OSSL_LIB_CTX.
cardgate_tunnel_LDADD = libcardgate_tunnel.la libcardgate_tls.la libcardgate.la $(OPENSSL_LIBS) $(PTHREAD_LIBS) $(SYSTEMD_LIBS)
