# Token layer: PKCS#11 modules, slots, tokens, sessions, keys, signing.
# Talks to PKCS#11 directly (dlopen + C_GetFunctionList), not through libp11.
libcardgate_la_SOURCES += \
	pkcs11/ckr.hpp pkcs11/ckr.cpp pkcs11/ckr_names.inc pkcs11/ckm_names.inc \
	pkcs11/timeout.hpp pkcs11/timeout.cpp \
	pkcs11/info.hpp pkcs11/info.cpp \
	pkcs11/uri.hpp pkcs11/uri.cpp \
	pkcs11/module.hpp pkcs11/module.cpp \
	pkcs11/padding.hpp pkcs11/padding.cpp \
	pkcs11/token.hpp pkcs11/token.cpp
