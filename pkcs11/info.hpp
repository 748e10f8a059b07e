// What the token layer reports about modules, slots, tokens, objects and
// mechanisms: plain values, read once, safe to copy and to keep after the
// session is gone.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct x509_st;

namespace cardgate::p11 {

// RFC 7512 "type" values; `other` stands for any class cardgate does not name.
enum class ObjectClass { certificate, private_key, public_key, secret_key, data, other };

// "cert", "private", "public", "secret-key", "data" (RFC 7512 §2.3); "other".
std::string_view class_name(ObjectClass c) noexcept;
ObjectClass class_from_ck(CK_OBJECT_CLASS c) noexcept;
// CKO_* of a named class; nullopt for `other`.
std::optional<CK_OBJECT_CLASS> class_to_ck(ObjectClass c) noexcept;

// C_GetInfo of a loaded module.
struct ModuleInfo {
    std::string path;
    std::string manufacturer;   // manufacturerID, trailing blanks removed
    std::string description;    // libraryDescription
    unsigned cryptoki_major = 0, cryptoki_minor = 0;
    unsigned library_major = 0, library_minor = 0;
    std::string library_version() const;  // "2.6"
};

// C_GetTokenInfo (+ the slot's description), strings with the blank padding removed.
struct TokenInfo {
    CK_SLOT_ID slot = 0;
    std::string slot_description, slot_manufacturer;
    std::string label, manufacturer, model, serial;
    CK_FLAGS flags = 0;
    unsigned long min_pin = 0, max_pin = 0;

    bool pin_locked() const noexcept { return flags & CKF_USER_PIN_LOCKED; }
    bool pin_count_low() const noexcept { return flags & CKF_USER_PIN_COUNT_LOW; }
    bool pin_final_try() const noexcept { return flags & CKF_USER_PIN_FINAL_TRY; }
    bool pin_to_be_changed() const noexcept { return flags & CKF_USER_PIN_TO_BE_CHANGED; }
    bool protected_auth_path() const noexcept { return flags & CKF_PROTECTED_AUTHENTICATION_PATH; }
    bool login_required() const noexcept { return flags & CKF_LOGIN_REQUIRED; }
    // False for a blank token (SoftHSM's spare slot, a card never personalised).
    bool initialized() const noexcept { return flags & CKF_TOKEN_INITIALIZED; }
    // For people: "PIN locked", "last try before the PIN locks", "PIN count low",
    // "PIN must be changed", or "" when none applies (most severe first).
    std::string pin_state() const;
    // pkcs11:token=…;manufacturer=…;model=…;serial=…
    std::string uri() const;
};

struct SlotInfo {
    CK_SLOT_ID id = 0;
    std::string description, manufacturer;
    CK_FLAGS flags = 0;
    bool token_present = false;
    std::optional<TokenInfo> token;  // set when a token is present and answered C_GetTokenInfo
};

inline constexpr CK_KEY_TYPE kNoKeyType = CK_UNAVAILABLE_INFORMATION;

struct ObjectInfo {
    ObjectClass cls = ObjectClass::other;
    CK_OBJECT_HANDLE handle = 0;      // valid in the session that listed it
    std::vector<std::uint8_t> id;     // CKA_ID
    std::string label;                // CKA_LABEL
    CK_KEY_TYPE key_type = kNoKeyType;  // keys: CKA_KEY_TYPE; certificates: the type of the subject key
    unsigned bits = 0;                // RSA modulus bits / EC field bits
    std::string curve;                // "P-256", "P-384", "P-521" for EC keys
    std::vector<std::uint8_t> value;  // DER certificate (certificates only)
    // `value` parsed, when it is exactly one DER certificate (shared, read
    // only): a login reuses it instead of parsing the certificate again.
    std::shared_ptr<const x509_st> parsed;
    std::string uri;                  // pkcs11:token=…;serial=…;id=…;object=…;type=…
    std::string id_hex() const;       // "01"
};

struct MechanismInfo {
    CK_MECHANISM_TYPE type = 0;
    std::string name;  // "CKM_RSA_PKCS_PSS", or "CKM_0x…" when unknown
    unsigned long min_key = 0, max_key = 0;
    CK_FLAGS flags = 0;
    bool can_sign() const noexcept { return flags & CKF_SIGN; }
};

// Text of a fixed-width, blank-padded PKCS#11 field, without the padding.
std::string padded_field(const unsigned char* p, std::size_t n);

}  // namespace cardgate::p11
