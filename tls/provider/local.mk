# The OpenSSL provider (see tls/provider/README or cardgate-provider(7)).
