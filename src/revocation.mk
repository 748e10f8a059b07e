# Revocation (trust.revocation): a verified index per CRL (crl_index.*), HTTP
# through libcurl (http_fetch.*), OCSP (ocsp.*), and the decision for every
# certificate of a chain with its caches (revocation.*).
libcardgate_la_SOURCES += \
	src/crl_index.hpp src/crl_index.cpp \
	src/http_fetch.hpp src/http_fetch.cpp \
	src/ocsp.hpp src/ocsp.cpp \
	src/bytes.hpp \
	src/revocation.hpp src/revocation.cpp
