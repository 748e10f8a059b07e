// The cardgate OpenSSL 3 provider, used from inside cardgate's own programs.
//
// The same provider is installed as a loadable module (cardgate.so in
// OpenSSL's modules directory, cardgate-provider(7)); this header is for
// programs that link it in: they get a private OSSL_LIB_CTX holding OpenSSL's
// default provider and the cardgate provider, so the process's default
// context is never touched (no openssl.cnf, no ENGINE, libp11 #456) and the
// provider never recurses into itself (OpenVPN's xkey design).
#pragma once

#include <openssl/core.h>
#include <openssl/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "src/ossl.hpp"
#include "src/result.hpp"
#include "src/secret.hpp"

extern "C" {
// The provider's entry point; the loadable module exports it as
// OSSL_provider_init. Programs that link the provider in register it with
// OSSL_PROVIDER_add_builtin(ctx, "cardgate", cardgate_provider_init).
int cardgate_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                           void** provctx);
}

namespace cardgate::tls {

struct ProviderOptions {
    // cardgate.conf: token.module and token.timeout decide which PKCS#11
    // module is loaded and how long one card operation may take. Empty: the
    // provider's own search order (cardgate-provider(7)).
    std::string config_path;
    // Asked for the PIN when the key's URI has neither pin-value nor
    // pin-source and the token has no PIN pad. nullopt = the person
    // cancelled. Unset: such a key cannot be used (p11_pin_required).
    std::function<Result<std::optional<SecretBuffer>>(const std::string& prompt)> ask_pin;
};

// A private library context with "default" and "cardgate" loaded.
class LibContext {
public:
    static Result<LibContext> create(ProviderOptions options);

    OSSL_LIB_CTX* get() const noexcept;

    // The private key / certificate a pkcs11: URI names, loaded through
    // OSSL_STORE in this context. The key's private operations run on the
    // card; its public half is an ordinary OpenSSL key.
    Result<ossl::EvpPkeyPtr> load_key(const std::string& uri) const;
    Result<ossl::X509Ptr> load_certificate(const std::string& uri) const;

    LibContext(LibContext&&) noexcept;
    LibContext& operator=(LibContext&&) noexcept;
    ~LibContext();

    struct State;

private:
    explicit LibContext(std::unique_ptr<State> st);
    std::unique_ptr<State> st_;
};

}  // namespace cardgate::tls
