# pam_cardgate.so and the helper process that does its card work.
#
# The module links nothing of libcardgate: only the few files below, compiled
# in, and libstdc++/libgcc statically, so dlopen() in sshd, gdm or sudo loads
# and relocates libc and libpam alone (libcrypto, toml++ and a shared libstdc++
# cost ~9 M instructions per login). Everything that needs OpenSSL or the
# config parser runs in the helper. Built as a program linked -shared with the
# compiler driver, not as a libtool module: libtool links C++ shared objects
# with -nostdlib and its own libstdc++ list, and drops -static-libstdc++.
pam_PROGRAMS = pam_cardgate.so
pam_cardgate_so_SOURCES = \
	pam/pam_cardgate.cpp \
	pam/codes.hpp \
	pam/protocol.hpp pam/protocol.cpp \
	src/error.hpp src/error.cpp \
	src/result.hpp \
	src/secret.hpp src/secret.cpp \
	src/files.hpp src/files.cpp \
	src/text.hpp src/text.cpp \
	src/duration.hpp src/duration.cpp
pam_cardgate_so_CPPFLAGS = $(AM_CPPFLAGS) -DCARDGATE_HELPER='"$(pkglibexecdir)/cardgate-pam-helper"'
# A PAM module: only the pam_sm_* entry points exported (a version script,
# which hides the C++ symbols and the static libstdc++ too); -z defs: a symbol
# from outside libc and libpam fails the link instead of the dlopen().
# ASan/UBSan builds keep libstdc++ shared: their runtimes intercept it.
if SANITIZERS
PAM_STATIC_RUNTIME =
else
PAM_STATIC_RUNTIME = -static-libstdc++ -static-libgcc
endif
pam_cardgate_so_LDFLAGS = $(AM_LDFLAGS) -shared -Wl,-z,defs \
	-Wl,--version-script=$(srcdir)/pam/pam_cardgate.map $(PAM_STATIC_RUNTIME)
pam_cardgate_so_LDADD = $(PAM_LIBS)
# The compiler driver, not libtool (which would take -shared as "link a program
# against shared libraries").
pam_cardgate_so_LINK = $(CXXLD) $(AM_CXXFLAGS) $(CXXFLAGS) $(pam_cardgate_so_LDFLAGS) $(LDFLAGS) -o $@
EXTRA_pam_cardgate_so_DEPENDENCIES = $(srcdir)/pam/pam_cardgate.map
EXTRA_DIST += pam/pam_cardgate.map

# Installed under $(libexecdir)/cardgate: started by the module, never by people.
pkglibexec_PROGRAMS = cardgate-pam-helper
cardgate_pam_helper_SOURCES = pam/helper.cpp pam/protocol.hpp pam/protocol.cpp
cardgate_pam_helper_LDADD = libcardgate.la

# The pam-auth-update(8) profile, installed as $(pamconfigsdir)/cardgate (a
# profile's file name is its name in pam-auth-update). The profile format has
# no comments, so the reasons live here and in pam_cardgate(8) "pam-auth-update":
# auth default=ignore, not SPEC's hand-written default=die: in the shared
# common-* stacks a refused badge (or a broken config) falls through to the
# password instead of locking every service; account tolerates a missing
# module (module_unknown=ignore) and the module's PAM_IGNORE for logins it did
# not make, so sudo keeps working. tests/integration/pam_profile.sh proves both. Renamed on install, so
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
