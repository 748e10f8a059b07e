# systemd units (installed into --with-systemdunitdir=DIR, default
# $(prefix)/lib/systemd/system):
# - `cardgate revocation refresh` (enable with
#   `systemctl enable --now cardgate-revocation-refresh.timer`);
# - cardgate-tunnel in server mode, Type=notify (tls/tunnel/notify.cpp).
systemdunit_DATA = systemd/cardgate-revocation-refresh.service systemd/cardgate-revocation-refresh.timer \
	systemd/cardgate-tunnel.service
EXTRA_DIST += systemd/cardgate-revocation-refresh.service.in systemd/cardgate-revocation-refresh.timer \
	systemd/cardgate-tunnel.service.in
CLEANFILES += systemd/cardgate-revocation-refresh.service systemd/cardgate-tunnel.service
SYSTEMD_SUBST = sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@revocationdir[@]|$(revocationdir)|g'
systemd/cardgate-revocation-refresh.service: $(srcdir)/systemd/cardgate-revocation-refresh.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	$(SYSTEMD_SUBST) $(srcdir)/systemd/cardgate-revocation-refresh.service.in >$@.tmp && mv $@.tmp $@
systemd/cardgate-tunnel.service: $(srcdir)/systemd/cardgate-tunnel.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	$(SYSTEMD_SUBST) $(srcdir)/systemd/cardgate-tunnel.service.in >$@.tmp && mv $@.tmp $@
