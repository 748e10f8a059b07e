dist_man_MANS += man/cardgate.1 man/cardgate.conf.5 man/pam_cardgate.8 man/cardgate-provider.7 man/cardgate-tunnel.8
