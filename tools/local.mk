bin_PROGRAMS += cardgate
cardgate_SOURCES = \
	tools/cardgate.cpp \
	tools/cli.hpp tools/cli.cpp \
	tools/prompt.hpp tools/prompt.cpp \
	tools/context.hpp tools/context.cpp \
	tools/cmd_list.cpp \
	tools/cmd_verify.cpp \
	tools/cmd_prove.cpp \
	tools/cmd_check_config.cpp
cardgate_LDADD = libcardgate.la
