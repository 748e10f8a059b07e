# cardgate-tunnel.
