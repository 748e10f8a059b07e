#include "login.hpp"

#include <algorithm>
#include <thread>

#include "pkcs11/module.hpp"
#include "pkcs11/token.hpp"
#include "pkcs11/uri.hpp"
#include "pin.hpp"
#include "possession.hpp"
#include "trust.hpp"
#include "validation_cache.hpp"

namespace cardgate {
namespace {

struct Found {
    std::size_t session = 0;  // index into the sessions vector
    p11::TokenInfo token;
    p11::ObjectInfo object;
    std::optional<Certificate> cert;
    Code code = Code::cert_parse;  // why it is not eligible (ok when it is)
    std::string detail;
    std::optional<Identity> identity;
    std::string revocation;  // when valid: which source answered for each certificate, and how old
};

void describe_cert(LoginOutcome& out, const p11::TokenInfo& t, const Certificate& c) {
    out.token_label = t.label;
    out.token_serial = t.serial;
    out.cert_subject = c.subject();
    out.cert_issuer = c.issuer();
    out.cert_serial = c.serial_hex();
    out.cert_sha256 = c.sha256();
}

// Person-facing text for a refused PIN (the detail carries the counter state).
std::string pin_message(const Error& e) {
    switch (e.code()) {
    case Code::p11_pin_locked: return "Your badge PIN is locked. Ask the service desk to unblock it.";
    case Code::p11_pin_incorrect: {
        const auto& d = e.detail();
        if (d.find("last try") != std::string::npos) return "Wrong PIN. Last try before the PIN locks.";
        if (d.find("count low") != std::string::npos) return "Wrong PIN. Few tries are left before the PIN locks.";
        return "Wrong PIN.";
    }
    default: return "";
    }
}

// Ends a login or PIN change with a refusal: the code and its detail.
LoginOutcome refused(LoginOutcome& out, Code c, std::string detail) {
    out.code = c;
    out.detail = std::move(detail);
    return out;
}
LoginOutcome refused(LoginOutcome& out, const Error& e) { return refused(out, e.code(), e.detail()); }

// The configured module (checked like a trusted file: it runs as code in
// this process) and the token.uri filter.
Result<std::pair<std::shared_ptr<p11::Module>, std::optional<p11::Uri>>> open_module(const Config& config) {
    std::optional<p11::Uri> filter;
    if (config.token.uri) filter = CG_TRY(p11::Uri::parse(*config.token.uri));
    if (auto m = check_trusted_file(config.token.module); !m)
        return Error(m.code(), "token.module: " + m.error().detail());
    auto module = CG_TRY(p11::Module::load(config.token.module, config.token.timeout));
    return std::make_pair(std::move(module), std::move(filter));
}

// Step 1 of a login (and of a PIN change): every slot with an initialised
// token that `filter` selects. With `wait`, the person is told "Insert your
// badge." and the slots are polled until one appears or the time is up.
Result<std::vector<p11::TokenInfo>> present_tokens(p11::Module& module, const std::optional<p11::Uri>& filter,
                                                   std::chrono::milliseconds wait, Person& person) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::vector<p11::TokenInfo> tokens;
    for (bool told = false;;) {
        const auto slots = CG_TRY(module.slots(true));
        tokens.clear();
        for (const auto& s : slots)
            if (s.token && s.token->initialized() && (!filter || filter->matches(*s.token))) tokens.push_back(*s.token);
        if (!tokens.empty() || std::chrono::steady_clock::now() >= deadline) return tokens;
        person.progress();
        if (!told) person.info("Insert your badge.");
        told = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

// Step 2 of a login (and of a PIN change): every certificate on `tokens` that
// `filter` selects, validated for purpose login and mapped (to `user` when
// one is named), before any PIN is asked. A certificate that fails is kept
// with its refusal; an Error ends the examination (a card or trust-file
// failure, not a verdict on one certificate).
struct Examined {
    std::vector<p11::Session> sessions;
    std::vector<Found> found;  // in slot, then object order
};

Result<Examined> examine(const std::shared_ptr<p11::Module>& module, const std::optional<p11::Uri>& filter,
                         const std::vector<p11::TokenInfo>& tokens, const Config& config, Validator& validator,
                         const Mapper& mapper, const std::optional<std::string>& requested, Person& person,
                         const Clock& clock) {
    Examined ex;
    for (const auto& t : tokens) {
        auto session = CG_TRY(p11::Session::open(module, t.slot));
        auto objects = CG_TRY(session.objects(p11::ObjectClass::certificate));
        ex.sessions.push_back(std::move(session));
        person.progress();
        for (auto& o : objects) {
            if (filter && !filter->matches(o)) continue;
            Found f;
            f.session = ex.sessions.size() - 1;
            f.token = t;
            f.object = o;
            // Parsed once, when the token was listed (from_der's checks).
            auto cert = o.parsed ? Certificate::from_x509(const_cast<X509*>(o.parsed.get()), o.uri)
                                 : Certificate::from_der(o.value, o.uri);
            if (!cert) {
                f.code = cert.code();
                f.detail = cert.error().detail();
                ex.found.push_back(std::move(f));
                continue;
            }
            f.cert.emplace(std::move(*cert));
            const Verdict v = CG_TRY(validator.validate(*f.cert, Purpose::login, config.purpose(Purpose::login), clock));
            if (!v.ok()) {
                f.code = v.code;
                f.detail = v.detail;
            } else {
                f.revocation = revocation_summary(v.revocation, clock.now());
                std::optional<std::string_view> user;
                if (requested) user = *requested;
                MapResult m = mapper.map(*f.cert, Purpose::login, user);
                f.code = m.code;
                f.detail = m.detail;
                if (m.ok()) f.identity = std::move(m.identity);
            }
            ex.found.push_back(std::move(f));
        }
    }
    return ex;
}

// The card work of a PIN change, on a badge already held to a login's
// checks: the current PIN (or, when it is locked, the PUK), the new PIN
// twice, then C_SetPIN (or the unblock).
LoginOutcome change_pin_on(const std::shared_ptr<p11::Module>& module, const p11::TokenInfo& token, LoginOutcome& out,
                           Person& person) {
    auto session = p11::Session::open_rw(module, token.slot);
    if (!session) return refused(out, session.error());
    person.progress();

    auto ask = [&](const std::string& prompt) -> Result<SecretBuffer> {
        auto a = CG_TRY(person.ask_secret(prompt));
        if (!a) return Error(Code::login_cancelled, "cancelled");
        return std::move(*a);
    };
    // Fresh flags: the PIN may have locked since the token was listed.
    auto info = session->token_info();
    if (!info) return refused(out, info.error());
    const p11::TokenInfo* t = &*info;
    const bool locked = t->pin_locked();
    if (locked) person.info("The PIN of " + t->label + " is locked: unblock it with its PUK.");
    auto first = locked ? ask("PUK for " + t->label + ": ") : ask("Current PIN for " + t->label + ": ");
    if (!first) return refused(out, first.error());
    auto fresh = ask("New PIN: ");
    if (!fresh) return refused(out, fresh.error());
    auto again = ask("Repeat new PIN: ");
    if (!again) return refused(out, again.error());
    if (!fresh->equals(*again)) {
        person.error("The new PINs differ; nothing was changed.");
        return refused(out, Code::p11_pin_invalid, "the new PINs differ");
    }
    person.progress();
    const Status done = locked ? session->unblock_pin(*first, *fresh) : session->change_pin(*first, *fresh);
    first->clear();
    fresh->clear();
    again->clear();
    if (!done) {
        if (auto m = pin_message(done.error()); !m.empty()) person.error(m);
        if (done.code() == Code::p11_pin_invalid) person.error("The new PIN is not valid for this badge.");
        return refused(out, done.error());
    }
    person.info(locked ? "The badge PIN is unblocked and set." : "The badge PIN is changed.");
    out.code = Code::ok;
    out.detail = std::string(locked ? "PIN unblocked with the PUK" : "PIN changed") + " for " + out.account + " (" +
                 out.strength + ", " + out.source + ")";
    return out;
}

// Steps 1 and 2 of a login and of a PIN change alike: the badges present
// (waiting for one when asked to), every certificate on them validated and
// mapped before any PIN is asked. nullopt when refused, with `out` saying why.
std::optional<Examined> examine_present(const std::shared_ptr<p11::Module>& module, const std::optional<p11::Uri>& filter,
                                        const Config& config, const LoginRequest& req, Validator& validator,
                                        const Mapper& mapper, Person& person, const Clock& clock, LoginOutcome& out) {
    auto tokens = present_tokens(*module, filter, req.wait_for_card.value_or(config.token.wait_for_card), person);
    if (!tokens) {
        refused(out, tokens.error());
        return std::nullopt;
    }
    if (tokens->empty()) {
        out.no_badge = true;
        refused(out, Code::p11_no_token, "no badge is present");
        return std::nullopt;
    }
    auto examined = examine(module, filter, *tokens, config, validator, mapper, req.user, person, clock);
    if (!examined) {
        refused(out, examined.error());
        return std::nullopt;
    }
    if (examined->found.empty()) {
        out.no_badge = true;
        refused(out, Code::p11_no_object, "the badge holds no certificate");
        return std::nullopt;
    }
    return std::move(examined).value();
}

}  // namespace

LoginOutcome run_login(const Config& config, const LoginRequest& req, Person& person, const Accounts& accounts,
                       const Clock& clock) {
    LoginOutcome out;

    // 0. Policy that needs no card.
    const auto& services = config.login.services;
    if (!services.empty() && std::find(services.begin(), services.end(), req.service) == services.end())
        return refused(out, Code::login_service, "service \"" + req.service + "\" is not in login.services");

    // Loads the trust store only when a certificate's path checks are not
    // remembered from an earlier login (validation_cache.hpp).
    Validator validator(config.trust, config.mapping.index_dir);
    auto mapper = Mapper::create(config.mapping, config.path, accounts);
    if (!mapper) return refused(out, mapper.error());
    auto opened = open_module(config);
    if (!opened) return refused(out, opened.error());
    auto& [module, filter] = *opened;

    // 1. Tokens, waiting for one when asked to; 2. every certificate,
    // validated and mapped before any PIN is asked.
    auto examined = examine_present(module, filter, config, req, validator, *mapper, person, clock, out);
    if (!examined) return out;
    // Named, not a structured binding: clang (the fuzz build) cannot capture one in a lambda.
    auto& sessions = examined->sessions;
    auto& found = examined->found;
    // 2b. No user named and a certificate that maps to several accounts
    // (and none that maps to one): ask which account, still before any PIN.
    // The answer only selects: map() accepts it only among the certificate's
    // own candidates, so a name typed here reaches no other account.
    auto has = [&](Code c) { return std::any_of(found.begin(), found.end(), [c](const Found& f) { return f.code == c; }); };
    if (!req.user && !has(Code::ok) && has(Code::map_ambiguous)) {
        auto hint = person.ask_text("This badge can log in to more than one account. User name: ");
        if (!hint) return refused(out, hint.error());
        // No answer leaves the refusals as they are (map_ambiguous, said below).
        const std::string name = hint->value_or("");
        const std::string why = name.empty() ? std::string() : account_name_problem(name);
        for (auto& f : found) {
            if (name.empty() || f.code != Code::map_ambiguous) continue;
            // The answer is never put in a detail (which goes to syslog): the
            // question comes where people expect to type their PIN.
            if (!why.empty()) {
                f.code = Code::map_other_user;
                f.detail = "user-name answer is not an account name";
                continue;
            }
            MapResult m = mapper->map(*f.cert, Purpose::login, std::string_view(name));
            f.code = m.code;
            f.detail = m.code == Code::map_other_user ? "user-name answer not among the candidates" : m.detail;
            if (m.ok()) f.identity = std::move(m.identity);
        }
    }
    std::vector<const Found*> eligible;
    for (const auto& f : found)
        if (f.code == Code::ok) eligible.push_back(&f);
    if (eligible.empty()) {
        const Found& first = found.front();
        if (first.cert) describe_cert(out, first.token, *first.cert);
        // Say why, before any other module asks for a password: no PIN was asked.
        person.error("This badge cannot log you in: " + std::string(describe(first.code)) + ".");
        return refused(out, first.code, first.detail);
    }

    // 3. One certificate: the only eligible one, or the person's choice.
    const Found* chosen = eligible.front();
    if (eligible.size() > 1) {
        std::vector<std::string> labels;
        for (const Found* f : eligible)
            labels.push_back(f->token.label + ": " + f->cert->subject() + " -> " + f->identity->account);
        auto pick = person.choose("More than one badge certificate can log you in:", labels);
        if (!pick) return refused(out, pick.error());
        if (!*pick || **pick >= eligible.size()) return refused(out, Code::login_cancelled, "no certificate was chosen");
        chosen = eligible[**pick];
    }
    describe_cert(out, chosen->token, *chosen->cert);
    out.account = chosen->identity->account;
    out.strength = std::string(strength_name(chosen->identity->strength));
    out.source = chosen->identity->source;
    p11::Session& session = sessions[chosen->session];

    // 4. The PIN, after reading its state.
    person.progress();
    auto t = session.token_info();
    if (!t) return refused(out, t.error());
    if (t->pin_locked()) {
        person.error(pin_message(Error(Code::p11_pin_locked, "")));
        return refused(out, Code::p11_pin_locked, "badge PIN is locked");
    }
    if (!t->login_required())
        return refused(out, Code::p11_pin_required,
                    "the badge does not require a PIN (no CKF_LOGIN_REQUIRED): a login needs the PIN as a second factor");
    if (t->pin_final_try()) person.info("Careful: this is the last try before the badge PIN locks.");
    else if (t->pin_count_low()) person.info("Careful: few tries are left before the badge PIN locks.");

    auto login_with = [&](const SecretBuffer* pin) -> Status {
        if (pin && pin->empty()) return Error(Code::p11_pin_invalid, "empty PIN");
        return session.login(pin);
    };
    Status logged_in = Error(Code::p11_pin_required, "no PIN");
    bool asked = false;
    // try_first_pass offers PAM_AUTHTOK only when it could be a PIN (the
    // token's length limits and plausible_pin's rule: digits, or
    // login.pin_pattern), so a password typed for another module does not
    // cost a PIN try; use_first_pass always offers it (the admin said so).
    const auto fits = [&](const SecretBuffer& p) {
        return p.size() >= t->min_pin && (t->max_pin == 0 || p.size() <= t->max_pin) &&
               plausible_pin(p, config.login.pin_pattern);
    };
    if (req.first_pass && (req.first_pass_only || fits(*req.first_pass))) {
        logged_in = login_with(&*req.first_pass);
        asked = true;
        if (!logged_in && (req.first_pass_only || logged_in.code() != Code::p11_pin_incorrect)) {
            if (auto m = pin_message(logged_in.error()); !m.empty()) person.error(m);
            return refused(out, logged_in.error());
        }
        if (!logged_in) person.error(pin_message(logged_in.error()));
    } else if (req.first_pass_only) {
        return refused(out, Code::p11_pin_required, "use_first_pass: no PIN was given by an earlier module");
    }
    if (!asked || !logged_in) {
        if (t->protected_auth_path()) {
            person.info("Enter your PIN on the reader's PIN pad for " + t->label + ".");
            logged_in = login_with(nullptr);
        } else {
            auto pin = person.ask_secret("PIN for " + t->label + ": ");
            if (!pin) return refused(out, pin.error());
            if (!*pin) return refused(out, Code::login_cancelled, "no PIN was entered");
            logged_in = login_with(&**pin);
            (*pin)->clear();
        }
        if (!logged_in) {
            if (auto m = pin_message(logged_in.error()); !m.empty()) person.error(m);
            if (logged_in.code() == Code::p11_pin_invalid) person.error("The PIN is empty or not valid for this badge.");
            return refused(out, logged_in.error());
        }
    }

    // 5. Proof of possession, bound to this login.
    person.progress();
    auto key = session.find_private_key_for(chosen->object);
    if (!key) return refused(out, key.error());
    auto proof = prove_possession(session, *key, *chosen->cert, Purpose::login, req.host, req.service, clock);
    (void)session.logout();  // best effort: the session closes next anyway
    if (!proof) return refused(out, proof.error());

    out.cert_der = chosen->cert->der();
    out.pin_change_required = t->pin_to_be_changed();
    out.code = Code::ok;
    out.detail = "badge login of " + out.account + " (" + out.strength + ", " + out.source + ")";
    if (!chosen->revocation.empty()) out.detail += "; revocation: " + chosen->revocation;
    return out;
}

Result<AccountVerdict> check_account(const Config& config, const std::vector<std::uint8_t>& der, std::string_view user,
                                     const Accounts& accounts, const Clock& clock) {
    const Certificate cert = CG_TRY(Certificate::from_der(der, "login certificate"));
    AccountVerdict out;
    out.not_after = static_cast<std::int64_t>(cert.not_after());
    // The login just stored this certificate's path checks (validation_cache.hpp):
    // an account check right after it loads no CRL, unless a trust file changed.
    Validator validator(config.trust, config.mapping.index_dir);
    const Verdict v = CG_TRY(validator.validate(cert, Purpose::login, config.purpose(Purpose::login), clock));
    out.code = v.code;
    out.detail = v.detail;
    if (!v.ok()) return out;
    const Mapper mapper = CG_TRY(Mapper::create(config.mapping, config.path, accounts));
    MapResult m = mapper.map(cert, Purpose::login, user);
    out.code = m.code;
    out.detail = std::move(m.detail);
    return out;
}

LoginOutcome run_change_pin(const Config& config, const LoginRequest& req, Person& person, const Accounts& accounts,
                            const Clock& clock) {
    LoginOutcome out;
    // Whose PIN: the badge must log in req.user, so a PIN change is held to
    // a login's checks, in a login's order, before any PIN or PUK is asked.
    if (!req.user) return refused(out, Code::map_unknown_account, "no user named: whose badge PIN to change is unknown");
    Validator validator(config.trust, config.mapping.index_dir);
    auto mapper = Mapper::create(config.mapping, config.path, accounts);
    if (!mapper) return refused(out, mapper.error());
    auto opened = open_module(config);
    if (!opened) return refused(out, opened.error());
    auto& [module, filter] = *opened;
    auto examined = examine_present(module, filter, config, req, validator, *mapper, person, clock, out);
    if (!examined) return out;
    const auto& found = examined->found;
    // The badges (not certificates: the PIN is the token's) with at least one
    // certificate that logs this user in, each once, in slot order.
    std::vector<const Found*> eligible;
    for (const auto& f : found)
        if (f.code == Code::ok && std::none_of(eligible.begin(), eligible.end(),
                                               [&](const Found* e) { return e->token.slot == f.token.slot; }))
            eligible.push_back(&f);
    if (eligible.empty()) {
        const Found& first = found.front();
        if (first.cert) describe_cert(out, first.token, *first.cert);
        person.error("This badge cannot change your PIN: " + std::string(describe(first.code)) + ".");
        return refused(out, first.code, "PIN change refused: " + first.detail);
    }
    const Found* chosen = eligible.front();
    if (eligible.size() > 1) {
        std::vector<std::string> labels;
        for (const Found* f : eligible) labels.push_back(f->token.label + " (serial " + f->token.serial + ")");
        auto pick = person.choose("Which badge?", labels);
        if (!pick) return refused(out, pick.error());
        if (!*pick || **pick >= eligible.size()) return refused(out, Code::login_cancelled, "no badge was chosen");
        chosen = eligible[**pick];
    }
    describe_cert(out, chosen->token, *chosen->cert);
    out.account = chosen->identity->account;
    out.strength = std::string(strength_name(chosen->identity->strength));
    out.source = chosen->identity->source;
    // The examination's read-only sessions end here: with one open, a PUK
    // login (C_Login as SO) is CKR_SESSION_READ_ONLY_EXISTS (PKCS#11 §5.6).
    examined->sessions.clear();
    return change_pin_on(module, chosen->token, out, person);
}


}  // namespace cardgate
