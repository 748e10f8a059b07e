// Certificate validation that remembers its chain checks across logins.
//
// Step 2 of a validation (trust.hpp: the chain's signatures and validity) is
// the same work on every login with the same badge, and most of a login's
// CPU time with an ECDSA P-384 CA. A Validator runs TrustStore::validate and,
// when the whole verdict passed, remembers the path in the index directory
// (index_file.hpp, a keyed entry) under a key that is the SHA-256 of
// everything step 2 depends on:
//
//   - the leaf certificate's DER;
//   - for every trust.anchors and trust.intermediates file, in config order:
//     its path and its identity (device, inode, size, mtime, ctime, mode,
//     owner; see index_file.hpp): an anchor replaced or edited in place is
//     another key;
//   - the purpose, cardgate's and OpenSSL's versions.
//
// An entry holds the path (subjects and DER certificates, leaf first) and the
// time window in which step 2 holds (every certificate of the path within
// its validity: Verdict::path_window), and is used only inside it, at the
// Clock's time. Every other step runs on every use: step 3 (revocation,
// asked of revocation.hpp with the remembered path: CRL indexes and kept
// OCSP answers make it cheap, and a CRL or an OCSP answer published after
// the entry was written counts at once) and steps 1, 4 to 6 (parse,
// end-entity, key usage, EKU). Only passes are remembered: a refusal is
// worked out again each time, with its precise reason. Nothing is remembered
// while a trust file is "racily" recent (changed within 2 s) or when a trust
// file changed while the store was loading. The trust store itself is loaded
// only on a miss.
//
// What this trusts: the index directory (owned by root or the user, writable
// by nobody else; entries 0600, the key repeated inside). Whoever can write
// there can already replace the config's derived indexes; a directory that
// fails the check is not used at all.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "clock.hpp"
#include "config.hpp"
#include "index_file.hpp"
#include "purpose.hpp"
#include "result.hpp"
#include "trust.hpp"
#include "x509.hpp"

namespace cardgate {

class Validator {
public:
    // `trust` must outlive the Validator. An empty `index_dir` remembers nothing.
    Validator(const TrustConfig& trust, std::string index_dir);

    // TrustStore::validate's verdict. An Error only when the verdict needs the
    // trust store and the store cannot be loaded (a config_file error).
    Result<Verdict> validate(const Certificate& leaf, Purpose purpose, const PurposeConfig& purpose_config,
                             const Clock& clock);

    // How the last validate() went, for tests and `cardgate verify`.
    enum class Last { none, reused, stored, checked };
    Last last() const noexcept { return last_; }

private:
    using Key = std::array<std::uint8_t, 32>;
    std::optional<Key> key_for(const Certificate& leaf, Purpose purpose, std::int64_t now);
    std::optional<std::string> trust_identity(std::int64_t now) const;

    const TrustConfig& trust_;
    std::shared_ptr<const RevocationChecker> checker_;  // shared with the store, so its caches serve both
    std::optional<IndexDir> dir_;
    std::optional<TrustStore> store_;
    std::optional<std::string> identity_;  // trust files' identities when first asked (nullopt: do not cache)
    bool identity_known_ = false;
    Last last_ = Last::none;
};

}  // namespace cardgate
