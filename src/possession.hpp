// The "prove" step of the pipeline: a fresh challenge, signed on the card,
// verified with the certificate's key. One function so that the CLI, the PAM
// helper, the tunnel and the door daemon all prove possession the same way.
#pragma once

#include <string_view>

#include "clock.hpp"
#include "pkcs11/token.hpp"
#include "purpose.hpp"
#include "result.hpp"
#include "sigalg.hpp"
#include "x509.hpp"

namespace cardgate {

struct Proof {
    Signature signature;       // what the card returned (never the challenge)
    std::time_t at = 0;        // when the challenge was made
};

// Makes a challenge bound to (purpose, host, service, time), has `key` on the
// logged-in session sign its digest (hash chosen for the certificate's key,
// mechanism chosen by the token layer) and verifies the signature with `cert`'s
// public key. proof_bad_signature when the card's key is not the certificate's
// (a copied certificate) or the card returned garbage.
Result<Proof> prove_possession(p11::Session& session, const p11::ObjectInfo& key, const Certificate& cert,
                               Purpose purpose, std::string_view host, std::string_view service,
                               const Clock& clock);

}  // namespace cardgate
