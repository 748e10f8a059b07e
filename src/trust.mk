# Owned by the trust core: config.*, x509.*, trust.*
libcardgate_la_SOURCES +=
