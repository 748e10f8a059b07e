# pam_cardgate.so and the helper process that does its card work.
pam_LTLIBRARIES = pam_cardgate.la
pam_cardgate_la_SOURCES = \
	pam/pam_cardgate.cpp \
	pam/codes.hpp \
	pam/protocol.hpp pam/protocol.cpp
pam_cardgate_la_CPPFLAGS = $(AM_CPPFLAGS) -DCARDGATE_HELPER='"$(pkglibexecdir)/cardgate-pam-helper"'
# A PAM module: no version, no lib prefix, only the pam_sm_* entry points exported.
# (A version script: libtool's -export-symbols-regex does not hide C++ symbols here.)
pam_cardgate_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/pam/pam_cardgate.map
EXTRA_pam_cardgate_la_DEPENDENCIES = $(srcdir)/pam/pam_cardgate.map
EXTRA_DIST += pam/pam_cardgate.map
pam_cardgate_la_LIBADD = libcardgate.la $(PAM_LIBS)

# Installed under $(libexecdir)/cardgate: started by the module, never by people.
pkglibexec_PROGRAMS = cardgate-pam-helper
cardgate_pam_helper_SOURCES = pam/helper.cpp pam/protocol.hpp pam/protocol.cpp
cardgate_pam_helper_LDADD = libcardgate.la
