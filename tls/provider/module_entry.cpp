// The entry point of the loadable module cardgate.so (the only symbol it
// exports); programs that link the provider in use cardgate_provider_init.
#include <openssl/core.h>

#include "tls/provider/provider.hpp"

extern "C" OSSL_provider_init_fn OSSL_provider_init;

extern "C" int OSSL_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                                  void** provctx) {
    return cardgate_provider_init(handle, in, out, provctx);
}
