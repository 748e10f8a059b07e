// Proof of possession: the host makes a fresh challenge, the card signs it, the
// host verifies the signature with the certificate's public key.
//
// The challenge is 32 bytes from the host CSPRNG bound to a context (purpose,
// host, service, time) in an unambiguous, length-prefixed encoding under a
// domain-separation label, so that a signature made for one purpose, host or
// moment is useless for any other (NIST SP 800-116 "PKI-CAK"/"PKI-AUTH"
// challenge-response; the context binding mirrors TLS 1.3's signature context
// string, RFC 8446 section 4.4.3). The challenge is never logged or printed.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "clock.hpp"
#include "purpose.hpp"
#include "result.hpp"
#include "sigalg.hpp"

namespace cardgate {

class Challenge {
public:
    static constexpr std::size_t nonce_size = 32;
    static constexpr std::string_view label = "cardgate proof-of-possession v1";

    // Draws the nonce from the CSPRNG (RAND_priv_bytes); fails closed with Code::random.
    static Result<Challenge> create(Purpose purpose, std::string_view host, std::string_view service,
                                    const Clock& clock);
    ~Challenge();
    Challenge(Challenge&&) noexcept = default;
    Challenge& operator=(Challenge&&) noexcept = default;
    Challenge(const Challenge&) = delete;
    Challenge& operator=(const Challenge&) = delete;

    Purpose purpose() const noexcept { return purpose_; }
    std::time_t issued_at() const noexcept { return issued_at_; }
    // The exact bytes that are hashed and signed.
    std::span<const std::uint8_t> message() const noexcept { return message_; }
    // Digest of message() with the given hash.
    Result<std::vector<std::uint8_t>> digest(Hash hash) const;

private:
    Challenge(Purpose purpose, std::time_t at, std::vector<std::uint8_t> message)
        : purpose_(purpose), issued_at_(at), message_(std::move(message)) {}
    Purpose purpose_;
    std::time_t issued_at_;
    std::vector<std::uint8_t> message_;
};

// The hash a card should use for a certificate's key: SHA-384 for P-384 and
// larger curves, SHA-256 otherwise (RSA of any size, P-256).
Result<Hash> preferred_hash(X509* cert);

// Verifies that `sig` is a valid signature over `challenge` by the private key
// belonging to `cert`'s public key. The scheme must fit the key type (ECDSA for
// EC keys; RSA-PSS or PKCS#1 v1.5 for RSA keys), RSA keys must have at least
// 2048 bits and EC keys must be on P-256, P-384 or P-521. Refuses with
// proof_bad_signature (signature does not verify) or proof_key_mismatch
// (scheme does not fit the key); crypto on an OpenSSL failure.
Status verify_proof(X509* cert, const Challenge& challenge, const Signature& sig);

}  // namespace cardgate
