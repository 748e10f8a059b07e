// Sessions on a token: token information, objects, mechanisms, login and
// signing. Every card operation runs through Module::run, so it is bounded by
// the module's timeout (timeout.hpp) and fails fast once the module is poisoned.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "pkcs11/info.hpp"
#include "pkcs11/module.hpp"
#include "pkcs11/uri.hpp"
#include "src/result.hpp"
#include "src/secret.hpp"
#include "src/sigalg.hpp"

namespace cardgate::p11 {

// Public key material of a key pair as the token stores it.
struct PublicKeyParts {
    CK_KEY_TYPE key_type = kNoKeyType;
    std::vector<std::uint8_t> modulus, exponent;   // RSA, big-endian
    std::vector<std::uint8_t> ec_params, ec_point;  // EC: DER OID; DER OCTET STRING or raw point
};

class Session {
public:
    // A read-only session is enough to log in and sign (PKCS#11 §5.6).
    static Result<Session> open(std::shared_ptr<Module> module, CK_SLOT_ID slot);
    // A read/write session: changing or unblocking the PIN needs one (PKCS#11 §11.6).
    static Result<Session> open_rw(std::shared_ptr<Module> module, CK_SLOT_ID slot);

    Session(Session&&) noexcept = default;
    Session& operator=(Session&&) noexcept = default;
    ~Session() = default;  // C_CloseSession when the last in-flight operation is done

    CK_SLOT_ID slot() const noexcept;
    const std::shared_ptr<Module>& module() const noexcept;

    Result<TokenInfo> token_info();
    // Objects of one class (all when nullopt), with their URIs. Private keys of
    // most tokens are visible only after login.
    Result<std::vector<ObjectInfo>> objects(std::optional<ObjectClass> cls = std::nullopt);
    Result<std::vector<MechanismInfo>> mechanisms();

    // C_Login as the user. pin == nullptr logs in on the protected authentication
    // path (PIN pad); without one that is p11_pin_required. Reads the token flags
    // first: a locked PIN is p11_pin_locked without asking the card. A rejected PIN
    // is p11_pin_incorrect with the counter state re-read from the token in the
    // detail ("incorrect PIN; PIN count low" / "incorrect PIN; last try before the
    // PIN locks"); when that rejection locked the PIN the result is p11_pin_locked.
    // Never retried. CKR_USER_ALREADY_LOGGED_IN is success. Read token_info()
    // before to tell the person about CKF_USER_PIN_COUNT_LOW / FINAL_TRY /
    // TO_BE_CHANGED (TokenInfo::pin_state()).
    Status login(const SecretBuffer* pin);
    Status logout();

    // C_SetPIN of the user PIN (read/write session, not logged in). The old
    // PIN is checked by the card and counts as a try: the same counter rules
    // as login (locked -> p11_pin_locked without asking; rejected ->
    // p11_pin_incorrect with the counter state; never retried). The new PIN
    // must fit the token's length limits (p11_pin_invalid otherwise).
    Status change_pin(const SecretBuffer& old_pin, const SecretBuffer& new_pin);
    // Unblocks a locked user PIN: C_Login as SO with the PUK (PIV's PUK is the
    // SO PIN of OpenSC's PIV driver), C_InitPIN(new), C_Logout. A rejected PUK
    // is p11_pin_incorrect (its counter is the card's concern: never retried).
    Status unblock_pin(const SecretBuffer& puk, const SecretBuffer& new_pin);

    // The one private key with the certificate's CKA_ID: p11_no_object when there
    // is none (or the certificate has no CKA_ID), p11_ambiguous when several.
    Result<ObjectInfo> find_private_key_for(const ObjectInfo& cert);

    // Signs a digest computed by the caller with an explicitly chosen mechanism
    // from the token's list: EC → CKM_ECDSA (output converted to DER); RSA →
    // CKM_RSA_PKCS_PSS (sLen = hash length, MGF1 with the same hash), else
    // CKM_RSA_PKCS with our DigestInfo, else CKM_RSA_X_509 with our EMSA-PKCS1-v1_5
    // block. `force` picks the scheme (rsa_pkcs1 / rsa_pss / ecdsa); with only
    // CKM_RSA_X_509 a forced rsa_pss is encoded here (EMSA-PSS). p11_mechanism when
    // the token offers nothing acceptable.
    Result<Signature> sign_digest(const ObjectInfo& key, Hash hash, std::span<const std::uint8_t> digest,
                                  std::optional<SigScheme> force = std::nullopt);
    // Hashes `data` (with default_hash(key) unless given) and signs the digest.
    Result<Signature> sign(const ObjectInfo& key, std::span<const std::uint8_t> data,
                           std::optional<Hash> hash = std::nullopt, std::optional<SigScheme> force = std::nullopt);

    // The public half of a private key, read from the token (added for the
    // OpenSSL provider, which must compare a card key with a certificate):
    // RSA from the key's CKA_MODULUS and CKA_PUBLIC_EXPONENT; EC from the
    // public key object with the key's CKA_ID (CKA_EC_PARAMS, CKA_EC_POINT as
    // stored), since private EC keys carry no point. p11_no_object when the
    // token reveals neither.
    Result<PublicKeyParts> public_key(const ObjectInfo& key);

    struct State;  // shared with in-flight operations

private:
    explicit Session(std::shared_ptr<State> st) : st_(std::move(st)) {}
    std::shared_ptr<State> st_;
};

// SHA-256 for RSA and P-256, SHA-384 for P-384, SHA-512 for P-521.
Hash default_hash(const ObjectInfo& key) noexcept;

// A token and object found by a URI, with the session they were found in.
struct Located {
    Session session;
    TokenInfo token;
    ObjectInfo object;
};

// The one certificate the URI names. Tokens are matched by the URI's token,
// slot and library attributes: p11_no_token when none matches; among all
// matching tokens, certificates by object/id/type: p11_no_object when none,
// p11_ambiguous (listing the candidates) when several.
Result<Located> locate_certificate(const std::shared_ptr<Module>& module, const Uri& uri);
// The one private key the URI names (type=private implied when absent). Logs
// in first (pin; else the URI's pin-value; else the PIN pad when the token has
// one; else p11_pin_required), because most tokens hide private keys until then.
Result<Located> locate_private_key(const std::shared_ptr<Module>& module, const Uri& uri, const SecretBuffer* pin);

}  // namespace cardgate::p11
