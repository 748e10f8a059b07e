// A key on a card as the provider holds it: one logged-in PKCS#11 session, the
// private key's handle in it, and the certificate's public key as an ordinary
// (native) OpenSSL key for everything public.
//
// One CardKey per loaded key object: the PIN is asked once, when the key is
// loaded; card use is serialised by the key's mutex (and the token layer's
// module mutex), so one EVP_PKEY may be used from several threads.
//
// Fork: a child that uses a key loaded by its parent gets a fresh session and
// logs in again, only when the key's URI carried a pin-source or pin-value (a
// PIN typed by a person is never kept); otherwise the child's operations fail
// with p11_pin_required (cardgate-provider(7) "THREADS AND FORK").
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "pkcs11/token.hpp"
#include "pkcs11/uri.hpp"
#include "src/ossl.hpp"
#include "src/result.hpp"
#include "src/secret.hpp"
#include "src/sigalg.hpp"
#include "tls/provider/provctx.hpp"

namespace cardgate::tls::prov {

// How the PIN is obtained when the URI has neither pin-value nor pin-source
// and the token has no PIN pad. nullopt: the person cancelled.
using AskPin = std::function<Result<std::optional<SecretBuffer>>(const std::string& prompt)>;

// What a keymgmt name a key is: "RSA", "RSA-PSS" or "EC".
enum class KeyKind { rsa, rsa_pss, ec };
const char* kind_name(KeyKind k) noexcept;

class CardKey {
public:
    // Finds the token and private key the URI names, logs in (pin-value, else
    // pin-source, else the PIN pad, else ask_pin), and takes the public key
    // from the certificate with the key's CKA_ID on the same token.
    static Result<std::shared_ptr<CardKey>> open(ProvCtx& prov, const p11::Uri& uri, const AskPin& ask_pin);

    ~CardKey();
    CardKey(const CardKey&) = delete;
    CardKey& operator=(const CardKey&) = delete;

    KeyKind kind() const noexcept { return kind_; }
    // Native public key (in ProvCtx::native()); never null.
    EVP_PKEY* pub() const noexcept { return pub_.get(); }
    const std::string& uri() const noexcept { return uri_text_; }
    ProvCtx& prov() const noexcept { return prov_; }

    // Signs a digest on the card with exactly the given scheme.
    Result<Signature> sign_digest(Hash hash, std::span<const std::uint8_t> digest, SigScheme scheme);

private:
    struct Login;
    CardKey(ProvCtx& prov, p11::Uri uri, Login login, ossl::EvpPkeyPtr pub, KeyKind kind);
    Status relogin_after_fork();

    ProvCtx& prov_;
    const p11::Uri uri_;
    const std::string uri_text_;
    std::mutex mu_;
    pid_t pid_;
    std::optional<p11::Session> session_;
    p11::ObjectInfo key_;
    const ossl::EvpPkeyPtr pub_;
    const KeyKind kind_;
};

// The certificate's public key parsed in `native` (SubjectPublicKeyInfo
// re-read there, so the key never belongs to the caller's context).
Result<ossl::EvpPkeyPtr> native_public_key(OSSL_LIB_CTX* native, const p11::ObjectInfo& cert);

}  // namespace cardgate::tls::prov
