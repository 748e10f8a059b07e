# systemd units for `cardgate revocation refresh` (installed into
# --with-systemdunitdir=DIR, default $(prefix)/lib/systemd/system; enable with
# `systemctl enable --now cardgate-revocation-refresh.timer`).
systemdunit_DATA = systemd/cardgate-revocation-refresh.service systemd/cardgate-revocation-refresh.timer
EXTRA_DIST += systemd/cardgate-revocation-refresh.service.in systemd/cardgate-revocation-refresh.timer
CLEANFILES += systemd/cardgate-revocation-refresh.service
systemd/cardgate-revocation-refresh.service: $(srcdir)/systemd/cardgate-revocation-refresh.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@revocationdir[@]|$(revocationdir)|g' \
	    $(srcdir)/systemd/cardgate-revocation-refresh.service.in >$@.tmp && mv $@.tmp $@
