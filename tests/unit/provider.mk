# Unit tests of the provider (tls/provider).
