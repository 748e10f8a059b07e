// A verified, sorted index of one CRL's revoked serial numbers: built once
// per CRL (parsing and verifying a CRL of 1,000,000 entries takes a while),
// then read in place (memory-mapped) so a process that checks one
// certificate pays a binary search, not a parse.
//
// build_crl_index() walks the CRL's DER itself (strict DER, bounded, no
// OpenSSL X509_CRL object: OpenSSL's parse of a huge CRL costs hundreds of
// megabytes and seconds), verifies the signature over tbsCertList with the
// issuing CA's key, refuses every CRL it cannot judge completely (delta CRLs,
// indirect CRLs, partial reason scopes, unknown critical extensions, no
// nextUpdate, weak algorithms), and writes the index payload.
//
// The payload records what it was built from (the CRL's SHA-256, the issuer
// name, the SPKI of the key that verified it, thisUpdate/nextUpdate, the CRL
// number, the IDP scope) and the sorted serials in fixed-size slots, grouped
// in blocks. Each block's SHA-256 sits in a table; the tables' own SHA-256 sits
// in the header. CrlIndexView::open() checks the header and the tables
// (O(number of blocks)); find() checks the one block it searches. A payload
// changed anywhere after it was built (a torn write, a flipped bit, an edit
// that did not also redo every hash) is detected and refused, never trusted.
// Whoever can rewrite an index consistently can also write the index
// directory, which only root may (index_file.hpp).
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "result.hpp"

namespace cardgate {

using Sha256 = std::array<std::uint8_t, 32>;

// What a CRL says about itself, as recorded in its index.
struct CrlFacts {
    Sha256 crl_sha256{};           // of the CRL's DER bytes
    Sha256 issuer_name_sha256{};   // of the DER issuer Name
    Sha256 signer_spki_sha256{};   // of the DER SubjectPublicKeyInfo whose key verified the signature
    std::int64_t this_update = 0;  // seconds since the epoch
    std::int64_t next_update = 0;  // always present (a CRL without nextUpdate is refused)
    std::vector<std::uint8_t> crl_number;  // cRLNumber content octets (DER INTEGER); empty = none
    // issuingDistributionPoint scope: which certificates the CRL covers.
    bool only_user_certs = false;
    bool only_ca_certs = false;
    std::vector<std::string> idp_uris;     // its distributionPoint fullName URIs; empty = no IDP name
    std::uint64_t count = 0;               // revoked entries
};

struct RevokedEntry {
    std::int64_t revoked_at = 0;  // revocationDate
    int reason = -1;              // CRLReason (RFC 5280 5.3.1); -1 = no reasonCode extension
};

// The key a serial is looked up by: the content octets of the DER INTEGER
// (two's complement, minimal), exactly as in the certificate's encoding. A
// (non-conforming) negative serial keeps its two's complement octets, so it
// matches a CRL entry that lists the same INTEGER. Empty if it cannot be encoded.
std::vector<std::uint8_t> serial_key(const X509* cert);
// SHA-256 of a certificate's DER subject Name / SubjectPublicKeyInfo, to
// compare with CrlFacts when choosing a CRL for a certificate's issuer.
Sha256 name_sha256(const X509_NAME* name);
Sha256 spki_sha256(const X509* cert);

// Parses one CRL (DER, or the first PEM "X509 CRL" block), checks that
// `issuer` can have issued it (issuer's subject == CRL issuer; keyUsage, when
// present, includes cRLSign) and that its signature verifies with issuer's
// key, and returns the index payload. Errors are Code::cert_revocation_unknown
// with a detail that names what is wrong ("CRL signature does not verify with
// the key of CN=...", "delta CRLs are not supported", "entry 17: serial
// number is 40 octets; at most 22 are supported", ...); never a partial index.
//
// Serials: RFC 5280 4.1.2.2 allows 20 octets; 22 are accepted (a 20-octet
// value with a sign octet, and one to spare for CAs that overshoot); longer
// ones refuse the CRL. A serial listed twice is indexed once, with the
// earliest revocationDate among its entries and that entry's reason: it is
// revoked either way, and refusing the whole CRL over the repetition would
// leave every certificate of the issuer without a revocation answer.
// Negative and zero serials are indexed as encoded (see serial_key()).
Result<std::vector<std::uint8_t>> build_crl_index(std::span<const std::uint8_t> crl, X509* issuer);

// What a CRL that build_crl_index() refused still says about itself: enough
// to tell whether it would have spoken for a certificate, and whether it is
// newer than the CRL that answers instead (revocation.hpp). Read leniently
// (no entry is walked, no extension refused), but the signature is checked
// with `issuer`'s key where the algorithm allows, so that a CRL forged under
// the issuer's name is told apart from one the issuer really signed.
struct CrlScope {
    enum class Signature { verified, failed, unverifiable };
    Sha256 issuer_name_sha256{};
    Signature signature = Signature::unverifiable;
    Sha256 signer_spki_sha256{};           // with Signature::verified: issuer's SPKI
    std::int64_t this_update = 0;
    std::vector<std::uint8_t> crl_number;  // empty = none, or unreadable
    bool delta = false;                    // deltaCRLIndicator
    // issuingDistributionPoint: the user/CA/attribute flags, and the names
    // of its distribution point. `idp_unmatched` is a name form that cannot
    // be compared with a certificate's distribution points (a name relative
    // to the issuer, a directoryName...): such a CRL may cover anything.
    bool only_user_certs = false, only_ca_certs = false, only_attribute_certs = false;
    bool partial_reasons = false, indirect = false, idp_unmatched = false;
    std::vector<std::string> idp_uris;
};

// Error (cert_revocation_unknown) when not even the header (issuer,
// thisUpdate) can be read: such a CRL cannot be placed at all.
Result<CrlScope> read_crl_scope(std::span<const std::uint8_t> crl, X509* issuer);

// A read-only view of an index payload (mapped or in memory; the bytes must
// outlive the view).
class CrlIndexView {
public:
    // Checks the header and the block tables. Error (Code::io, "CRL index
    // corrupt: ...") for a payload that does not hold together.
    static Result<CrlIndexView> open(std::span<const std::uint8_t> payload);

    const CrlFacts& facts() const noexcept { return facts_; }

    // The entry for `serial` (serial_key form), nullopt when not revoked (an
    // empty serial, or one longer than any an index can hold, is not).
    // Checks the block it reads: Error (Code::io, "CRL index corrupt: ...")
    // when that block's hash does not match or its keys are out of order.
    // O(log n) plus one block's SHA-256 (32 KiB); thread-safe (reads only).
    Result<std::optional<RevokedEntry>> find(std::span<const std::uint8_t> serial) const;

private:
    CrlIndexView() = default;
    std::span<const std::uint8_t> payload_;
    CrlFacts facts_;
    // Layout (crl_index.cpp, above write_payload): sorted 32-octet slots,
    // grouped in blocks of block_entries_; each block's first key (its fence)
    // and its SHA-256, in tables covered by the header's hash.
    std::span<const std::uint8_t> fences_, block_hashes_, slots_;
    std::uint32_t block_entries_ = 0;
};

}  // namespace cardgate
