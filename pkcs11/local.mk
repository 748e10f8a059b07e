# Token layer: PKCS#11 modules, slots, tokens, sessions, keys, signing.
libcardgate_la_SOURCES +=
