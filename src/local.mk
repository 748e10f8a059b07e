# libcardgate: the trust core (src/) and the token layer (pkcs11/, see pkcs11/local.mk),
# linked statically (PIC) into every program and module so the PAM module and the
# OpenSSL provider carry no unversioned shared-library dependency.
noinst_LTLIBRARIES += libcardgate.la
libcardgate_la_SOURCES = \
	src/error.hpp src/error.cpp \
	src/result.hpp \
	src/secret.hpp src/secret.cpp \
	src/files.hpp src/files.cpp \
	src/ossl.hpp src/ossl.cpp \
	src/clock.hpp \
	src/purpose.hpp \
	src/sigalg.hpp \
	src/proof.hpp src/proof.cpp \
	src/pin.hpp src/pin.cpp \
	src/harden.hpp src/harden.cpp \
	src/possession.hpp src/possession.cpp
libcardgate_la_LIBADD = $(OPENSSL_LIBS) $(TOMLPP_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# config, x509, trust, proof
include $(srcdir)/src/trust.mk
# revocation: CRL indexes, HTTP fetches, OCSP, the decision per certificate
include $(srcdir)/src/revocation.mk
