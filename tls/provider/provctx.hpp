// The provider's own state (one per provider instance, i.e. per OSSL_LIB_CTX
// that loaded it): where its configuration comes from, the PKCS#11 module it
// loaded, a private library context for public-key work, and how it reports
// errors to the core.
//
// Internal to tls/provider/: the dispatch tables (keymgmt.cpp, signature.cpp,
// store.cpp) receive a ProvCtx* as their provctx.
#pragma once

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/types.h>

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pkcs11/module.hpp"
#include "src/result.hpp"
#include "src/sigalg.hpp"

namespace cardgate::tls::prov {

// Reason codes the provider raises: kReasonBase + the catalogue Code, so a
// program that links the provider in (LibContext) gets the Code back from the
// error queue, and people read its name (get_reason_strings).
inline constexpr int kReasonBase = 1000;

class ProvCtx {
public:
    ProvCtx(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in);
    ~ProvCtx();
    ProvCtx(const ProvCtx&) = delete;
    ProvCtx& operator=(const ProvCtx&) = delete;

    // Resolves the config path (cardgate-provider(7)): the `config` parameter
    // of the provider's openssl.cnf section, then CARDGATE_CONF, then
    // /etc/cardgate/cardgate.conf. A program linking the provider in hands its
    // path over with override_config().
    void resolve_config();
    const std::string& config_path() const noexcept { return config_path_; }

    // The PKCS#11 module of the config, loaded on first use (not at provider
    // init, so an application that never touches a badge never loads it). In a
    // forked child the parent's module is left alone (its worker thread does
    // not exist there) and the module is loaded again.
    Result<std::shared_ptr<p11::Module>> module();

    // Library context with OpenSSL's default provider only: certificates and
    // native public keys live there, so public-key work never recurses into
    // this provider.
    OSSL_LIB_CTX* native() const noexcept { return native_; }
    // SHA-256/384/512 of native(), fetched once (a fetch per signature was
    // a measurable part of a SoftHSM signature). Null if the fetch failed.
    const EVP_MD* md(Hash h) const noexcept { return mds_[static_cast<int>(h)]; }

    // Puts `e` on the OpenSSL error queue (reason kReasonBase + code; the
    // detail as error data). Details never carry a PIN.
    void raise(const Error& e) const;

private:
    const OSSL_CORE_HANDLE* handle_;
    OSSL_FUNC_core_get_params_fn* get_params_ = nullptr;
    OSSL_FUNC_core_new_error_fn* new_error_ = nullptr;
    OSSL_FUNC_core_set_error_debug_fn* set_error_debug_ = nullptr;
    OSSL_FUNC_core_vset_error_fn* vset_error_ = nullptr;
    OSSL_LIB_CTX* native_ = nullptr;
    OSSL_PROVIDER* native_default_ = nullptr;
    EVP_MD* mds_[3] = {nullptr, nullptr, nullptr};  // indexed by Hash
    std::string config_path_;

    std::mutex mu_;
    pid_t pid_;
    std::shared_ptr<p11::Module> module_;
};

// For LibContext: the config path the next cardgate provider initialised in
// this thread uses (empty: the normal search order). Set around
// OSSL_PROVIDER_load only.
void override_config(std::optional<std::string> path);

// True once the process is exiting (exit handlers running): objects holding
// a PKCS#11 module are then left alone rather than finalised.
bool process_exiting() noexcept;

// The reason strings of every catalogue code (for get_reason_strings).
const OSSL_ITEM* reason_strings();

}  // namespace cardgate::tls::prov
