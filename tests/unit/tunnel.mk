# Unit tests of the tunnel (tls/tunnel).
