// cardgate prove: challenge-response against the card.
#include "context.hpp"

#include "prompt.hpp"
#include "src/clock.hpp"
#include "src/pin.hpp"
#include "src/possession.hpp"

namespace cardgate::cli {

namespace {

// The PIN, from (in order) the URI's pin-source,
// --pin-source, the PIN pad, the terminal. nullopt = use the PIN pad.
Result<std::optional<SecretBuffer>> obtain_pin(const Options& o, const p11::Uri& uri, const p11::TokenInfo& t,
                                               Output& out) {
    if (uri.pin_source) return std::optional<SecretBuffer>(CG_TRY(read_pin_source(*uri.pin_source)));
    if (o.pin_source) return std::optional<SecretBuffer>(CG_TRY(read_pin_source(*o.pin_source)));
    if (t.protected_auth_path()) {
        out.line("Enter your PIN on the reader's PIN pad.");
        return std::optional<SecretBuffer>();
    }
    std::string prompt = "PIN for " + t.label;
    if (!t.pin_state().empty()) prompt += " (" + t.pin_state() + ")";
    return std::optional<SecretBuffer>(CG_TRY(prompt_pin(prompt + ": ")));
}

}  // namespace

int cmd_prove(const Options& o, Output& out) {
    if (o.args.size() != 1 || !o.args[0].starts_with("pkcs11:"))
        return out.fail(Error(Code::usage, "prove takes one pkcs11: URI naming a certificate or its key"));
    auto purpose = purpose_option(o);
    if (!purpose) return out.fail(purpose.error());
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    auto uri = uri_argument(o.args[0]);
    if (!uri) return out.fail(uri.error());
    if (uri->type && *uri->type != p11::ObjectClass::certificate && *uri->type != p11::ObjectClass::private_key)
        return out.fail(Error(Code::usage, "the URI must name a certificate (type=cert) or its key (type=private)"));
    p11::Uri cert_uri = *uri;
    cert_uri.type = p11::ObjectClass::certificate;

    auto module = load_module(o, *cfg, &*uri);
    if (!module) return out.fail(module.error());
    auto located = p11::locate_certificate(*module, cert_uri);
    if (!located) return out.fail(located.error());
    auto cert = Certificate::from_der(located->object.value, located->object.uri);
    if (!cert) return out.fail(cert.error());
    const p11::TokenInfo& t = located->token;

    auto& d = out.doc();
    d["token"] = {{"label", t.label}, {"serial", t.serial}, {"pin_state", t.pin_state().empty() ? "ok" : t.pin_state()}};
    d["certificate"] = {{"uri", located->object.uri}, {"subject", cert->subject()}, {"serial", cert->serial_hex()},
                        {"sha256", cert->sha256()}, {"key", cert->key_type()}};
    out.line("token        " + t.label + " (serial " + t.serial + ")");
    out.line("certificate  " + cert->subject() + "  [" + cert->key_type() + "]");

    if (t.pin_locked()) return out.fail(Error(Code::p11_pin_locked, "badge PIN is locked; unblock it with the PUK"));
    if (!t.pin_state().empty()) out.line("PIN state    " + t.pin_state());

    auto pin = obtain_pin(o, *uri, t, out);
    if (!pin) return out.fail(pin.error());
    auto login = located->session.login(pin->has_value() ? &**pin : nullptr);
    if (pin->has_value()) (*pin)->clear();
    if (!login) return out.fail(login.error());

    auto key = located->session.find_private_key_for(located->object);
    if (!key) return out.fail(key.error());

    SystemClock clock;
    const std::string host = o.host.value_or(this_host());
    auto proof = prove_possession(located->session, *key, *cert, *purpose, host, "cardgate-prove", clock);
    auto logout = located->session.logout();
    (void)logout;  // best effort: the session closes next anyway
    if (!proof) return out.fail(proof.error());
    d["proof"] = {{"purpose", purpose_name(*purpose)},
                  {"host", host},
                  {"mechanism", proof->signature.mechanism_name},
                  {"scheme", scheme_name(proof->signature.scheme)},
                  {"hash", hash_name(proof->signature.hash)},
                  {"signature_bytes", proof->signature.bytes.size()},
                  {"verified", true}};
    out.line("challenge    32 random bytes bound to purpose " + std::string(purpose_name(*purpose)) + ", host " + host);
    out.line("signed with  " + std::string(proof->signature.mechanism_name) + " (" +
             std::string(scheme_name(proof->signature.scheme)) + ", " + std::string(hash_name(proof->signature.hash)) +
             ")");
    out.line("proof        OK: the card holds the certificate's private key");
    return out.finish(Code::ok);
}

}  // namespace cardgate::cli
