# The OpenSSL provider "cardgate" (cardgate-provider(7)).
#
# libcardgate_tls.la: the provider linked into cardgate's own programs and the
# tests (LibContext, provider.hpp). cardgate.la: the same code as a loadable
# module in OpenSSL's modules directory, exporting only OSSL_provider_init;
# libcardgate is linked in statically (PIC), so the module depends on no
# unversioned library of ours.
TLS_PROVIDER_SOURCES = \
	tls/provider/provider.hpp tls/provider/provider.cpp \
	tls/provider/provctx.hpp tls/provider/provctx.cpp \
	tls/provider/card_key.hpp tls/provider/card_key.cpp \
	tls/provider/dispatch.hpp \
	tls/provider/keymgmt.cpp \
	tls/provider/signature.cpp \
	tls/provider/store.cpp

noinst_LTLIBRARIES += libcardgate_tls.la
libcardgate_tls_la_SOURCES = $(TLS_PROVIDER_SOURCES) tls/provider/libctx.cpp
libcardgate_tls_la_LIBADD = libcardgate.la

osslmodules_LTLIBRARIES = cardgate.la
cardgate_la_SOURCES = $(TLS_PROVIDER_SOURCES) tls/provider/module_entry.cpp
cardgate_la_LIBADD = libcardgate.la
# A version script, not -export-symbols-regex: libtool applies the regex to C
# symbols only and would leave every C++ symbol of libcardgate exported.
cardgate_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/tls/provider/cardgate.map
EXTRA_cardgate_la_DEPENDENCIES = $(srcdir)/tls/provider/cardgate.map
EXTRA_DIST += tls/provider/cardgate.map
