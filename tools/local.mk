bin_PROGRAMS += cardgate
cardgate_SOURCES = tools/cardgate.cpp
cardgate_LDADD = libcardgate.la
