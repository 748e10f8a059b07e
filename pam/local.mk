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

# The pam-auth-update(8) profile, installed as $(pamconfigsdir)/cardgate (a
# profile's file name is its name in pam-auth-update). Renamed on install, so
# not a _DATA primary; the hooks only add prerequisites, so other local.mk
# files can hook install-data-local and uninstall-local too.
pamconfigsdir = $(datadir)/pam-configs
EXTRA_DIST += pam/cardgate.pam-config
install-data-local: install-pam-config
uninstall-local: uninstall-pam-config
install-pam-config:
	$(MKDIR_P) '$(DESTDIR)$(pamconfigsdir)'
	$(INSTALL_DATA) '$(srcdir)/pam/cardgate.pam-config' '$(DESTDIR)$(pamconfigsdir)/cardgate'
uninstall-pam-config:
	rm -f '$(DESTDIR)$(pamconfigsdir)/cardgate'
.PHONY: install-pam-config uninstall-pam-config

# libtool's .la file has no use in the PAM modules directory; without it
# libtool's uninstall no longer knows the .so, so that goes explicitly.
install-data-hook: remove-pam-la
uninstall-local: uninstall-pam-so
remove-pam-la:
	rm -f '$(DESTDIR)$(pamdir)/pam_cardgate.la'
uninstall-pam-so:
	rm -f '$(DESTDIR)$(pamdir)/pam_cardgate.so'
.PHONY: remove-pam-la uninstall-pam-so
