#include "possession.hpp"

#include "proof.hpp"

namespace cardgate {

Result<Proof> prove_possession(p11::Session& session, const p11::ObjectInfo& key, const Certificate& cert,
                               Purpose purpose, std::string_view host, std::string_view service,
                               const Clock& clock) {
    const Hash hash = CG_TRY(preferred_hash(cert.x509()));
    auto challenge = CG_TRY(Challenge::create(purpose, host, service, clock));
    auto digest = CG_TRY(challenge.digest(hash));
    auto sig = CG_TRY(session.sign_digest(key, hash, digest));
    if (auto v = verify_proof(cert.x509(), challenge, sig); !v) {
        if (v.code() != Code::proof_bad_signature) return std::move(v).error();
        return Error(Code::proof_bad_signature,
                     v.error().detail() +
                         ": the card's key does not belong to this certificate (a copied certificate?) "
                         "or the card returned a corrupt signature");
    }
    return Proof{std::move(sig), challenge.issued_at()};
}

}  // namespace cardgate
