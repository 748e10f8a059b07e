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
    CG_TRY_VOID(verify_proof(cert.x509(), challenge, sig));
    return Proof{std::move(sig), challenge.issued_at()};
}

}  // namespace cardgate
