// Host-side signature encodings for tokens that cannot do them on the card
// (CKM_RSA_PKCS needs our DigestInfo; CKM_RSA_X_509 needs the whole block) and
// for turning a card's raw ECDSA output into DER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "src/result.hpp"
#include "src/sigalg.hpp"

namespace cardgate::p11 {

// DER DigestInfo ‖ digest (RFC 8017 §9.2 note 1).
std::vector<std::uint8_t> digest_info(Hash h, std::span<const std::uint8_t> digest);

// EMSA-PKCS1-v1_5 block of k bytes: 00 01 FF… 00 DigestInfo ‖ digest (RFC 8017 §9.2).
Result<std::vector<std::uint8_t>> emsa_pkcs1_v15(Hash h, std::span<const std::uint8_t> digest, std::size_t k);

// EMSA-PSS encoding (RFC 8017 §9.1.1), MGF1 with the same hash, salt length =
// hash length, for a modulus of mod_bits; returned left-padded to the modulus
// length so it can go to CKM_RSA_X_509 as is.
Result<std::vector<std::uint8_t>> emsa_pss(Hash h, std::span<const std::uint8_t> digest, unsigned mod_bits);

// CKM_ECDSA output r ‖ s (each half the length) → DER ECDSA-Sig-Value (RFC 3279 §2.2.3).
Result<std::vector<std::uint8_t>> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

}  // namespace cardgate::p11
