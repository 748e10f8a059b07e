// Signature schemes and hashes shared by the token layer (which signs) and the
// proof of possession (which verifies). SHA-1 is deliberately absent.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace cardgate {

enum class Hash { sha256, sha384, sha512 };

// The scheme of a signature as the verifier sees it, whatever PKCS#11 mechanism
// produced it (CKM_RSA_X_509 with host-side padding yields rsa_pkcs1 or rsa_pss).
enum class SigScheme {
    ecdsa,      // DER ECDSA-Sig-Value over the digest
    rsa_pss,    // RSASSA-PSS, MGF1 with the same hash, salt length = hash length
    rsa_pkcs1,  // RSASSA-PKCS1-v1_5 with DigestInfo
};

constexpr std::string_view hash_name(Hash h) noexcept {
    switch (h) {
    case Hash::sha256: return "SHA-256";
    case Hash::sha384: return "SHA-384";
    case Hash::sha512: return "SHA-512";
    }
    return "unknown";
}

constexpr std::size_t hash_size(Hash h) noexcept {
    switch (h) {
    case Hash::sha256: return 32;
    case Hash::sha384: return 48;
    case Hash::sha512: return 64;
    }
    return 0;
}

// OpenSSL's digest for a Hash (static objects: never freed).
inline const EVP_MD* evp_md(Hash h) noexcept {
    switch (h) {
    case Hash::sha256: return EVP_sha256();
    case Hash::sha384: return EVP_sha384();
    case Hash::sha512: return EVP_sha512();
    }
    return nullptr;
}

constexpr std::string_view scheme_name(SigScheme s) noexcept {
    switch (s) {
    case SigScheme::ecdsa: return "ECDSA";
    case SigScheme::rsa_pss: return "RSA-PSS";
    case SigScheme::rsa_pkcs1: return "RSA-PKCS1v1.5";
    }
    return "unknown";
}

// What the card produced: the signature in the scheme's standard encoding, and
// the PKCS#11 mechanism that was used (for display and audit).
struct Signature {
    SigScheme scheme;
    Hash hash;
    unsigned long mechanism;          // CK_MECHANISM_TYPE actually used
    std::string_view mechanism_name;  // "CKM_ECDSA", "CKM_RSA_PKCS_PSS", ...
    std::vector<std::uint8_t> bytes;
};

}  // namespace cardgate
