# Owned by the trust core: config.*, duration.*, x509.*, trust.*
libcardgate_la_SOURCES += \
	src/duration.hpp src/duration.cpp \
	src/config.hpp src/config.cpp \
	src/config_cache.hpp src/config_cache.cpp \
	src/x509.hpp src/x509.cpp \
	src/trust.hpp src/trust.cpp \
	src/validation_cache.hpp src/validation_cache.cpp \
	src/text.hpp src/text.cpp \
	src/dn.hpp src/dn.cpp

# identity: mapping a certificate to an account, groups and privileges
libcardgate_la_SOURCES += \
	src/template.hpp src/template.cpp \
	src/accounts.hpp src/accounts.cpp \
	src/index_file.hpp src/index_file.cpp \
	src/bindings.hpp src/bindings.cpp \
	src/rule_table.hpp src/rule_table.cpp \
	src/rules.hpp src/rules.cpp \
	src/mapping.hpp src/mapping.cpp

# the login coordinator (select, validate, map, PIN, prove, authorise)
libcardgate_la_SOURCES += src/login.hpp src/login.cpp
