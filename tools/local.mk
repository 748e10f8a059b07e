bin_PROGRAMS += cardgate
cardgate_SOURCES = \
	tools/cardgate.cpp \
	tools/cli.hpp tools/cli.cpp \
	tools/prompt.hpp tools/prompt.cpp \
	tools/context.hpp tools/context.cpp \
	tools/cmd_list.cpp \
	tools/cmd_verify.cpp \
	tools/cmd_prove.cpp \
	tools/cmd_check_config.cpp \
	tools/cmd_map.cpp \
	tools/cmd_revocation.cpp \
	tools/cmd_pin.cpp
cardgate_LDADD = libcardgate.la

# The libp11 peer for bench/run (built by `make`, not installed).
noinst_PROGRAMS += bench/p11_minimal
bench_p11_minimal_SOURCES = bench/p11_minimal.c
bench_p11_minimal_CFLAGS = $(AM_CFLAGS) -Wno-deprecated-declarations $(LIBP11_CFLAGS) $(OPENSSL_CFLAGS)
bench_p11_minimal_LDADD = $(LIBP11_LIBS) $(OPENSSL_LIBS)

# The mapping scale benchmark (bench/map): one login's config + trust + mapping work.
noinst_PROGRAMS += bench/map_login
bench_map_login_SOURCES = bench/map_login.cpp
bench_map_login_LDADD = libcardgate.la

# The TLS load generator and backend of bench/tls/run (cardgate-tunnel vs stunnel4).
noinst_PROGRAMS += bench/tls/tls_load
bench_tls_tls_load_SOURCES = bench/tls/tls_load.cpp
bench_tls_tls_load_LDADD = $(OPENSSL_LIBS) $(PTHREAD_LIBS)

# Signatures per second: the provider vs libp11's direct API vs a file key (bench/tls/sign).
noinst_PROGRAMS += bench/tls/sign_rate
bench_tls_sign_rate_SOURCES = bench/tls/sign_rate.cpp
bench_tls_sign_rate_CXXFLAGS = $(AM_CXXFLAGS) -Wno-deprecated-declarations $(LIBP11_CFLAGS)
bench_tls_sign_rate_LDADD = libcardgate_tls.la libcardgate.la $(LIBP11_LIBS) $(OPENSSL_LIBS)
EXTRA_DIST += bench/tls/run bench/tls/sign
