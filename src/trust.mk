# Owned by the trust core: config.*, duration.*, x509.*, trust.*
libcardgate_la_SOURCES += \
	src/duration.hpp src/duration.cpp \
	src/config.hpp src/config.cpp \
	src/x509.hpp src/x509.cpp \
	src/trust.hpp src/trust.cpp
