// The badge login coordinator: select -> validate -> map -> PIN -> prove ->
// authorise, in one fixed order, for any front end that can talk to a person
// (the PAM helper; tests with a scripted person).
//
// Order (deny by default; every failure falls to one exit with a code):
//  1. tokens: every slot with an initialised token that token.uri selects;
//     with wait_for_card, tell the person "Insert your badge" and poll.
//     None -> no_badge (PAM_AUTHINFO_UNAVAIL: a password module may follow).
//  2. certificates on those tokens (token.uri object filter), each validated
//     for purpose login and mapped (with the requested user, if any) BEFORE
//     any PIN is asked: a PIN never goes to a card that could not log this
//     person in (pam_pkcs11 sends it to whatever is inserted). No certificate
//     at all -> no_badge; certificates but none valid and mapped -> the
//     refusal of the first (in slot, then object order). Validation goes
//     through a Validator (validation_cache.hpp): the trust store is loaded
//     only for a certificate whose path checks are not remembered, so a
//     broken trust file is reported at the first certificate, not before.
//     No user named and certificates that map only ambiguously: the person
//     is asked for a user name (echo on), which selects among the accounts
//     the certificate already maps to; still no PIN.
//  3. one eligible certificate is used; several -> the person chooses by number.
//  4. PIN state before C_Login: locked -> refuse; final try / count low -> say
//     so. PIN from the front end (its first_pass), else the PIN pad, else a
//     prompt "PIN for <label>: ". An empty PIN is refused without C_Login.
//     A PIN the card rejected is never retried.
//  5. proof of possession: a fresh challenge bound to purpose login, this
//     host and the service, signed on the card, verified with the
//     certificate's key.
//  6. authorise: login.services (when set) must list the service.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts.hpp"
#include "clock.hpp"
#include "config.hpp"
#include "mapping.hpp"
#include "result.hpp"
#include "secret.hpp"

namespace cardgate {

// What the coordinator needs from whoever talks to the person.
class Person {
public:
    virtual ~Person() = default;
    // A secret answer (the PIN), echo off. nullopt when the person cancelled.
    virtual Result<std::optional<SecretBuffer>> ask_secret(const std::string& prompt) = 0;
    // A short answer shown as it is typed (the user-name hint). nullopt when
    // the person cancelled or the front end cannot ask.
    virtual Result<std::optional<std::string>> ask_text(const std::string& prompt) = 0;
    virtual void info(const std::string& text) = 0;
    virtual void error(const std::string& text) = 0;
    // Index into `choices` (0-based), or nullopt when cancelled.
    virtual Result<std::optional<std::size_t>> choose(const std::string& title,
                                                      const std::vector<std::string>& choices) = 0;
    // Called between card operations: the front end may watch for a stall.
    virtual void progress() {}
};

struct LoginRequest {
    std::optional<std::string> user;   // PAM_USER when set
    std::string service;               // PAM_SERVICE
    std::string host;                  // this host's name (the challenge is bound to it)
    std::optional<SecretBuffer> first_pass;  // use_first_pass / try_first_pass: PAM_AUTHTOK
    bool first_pass_only = false;      // use_first_pass: never prompt
    std::optional<std::chrono::milliseconds> wait_for_card;  // overrides token.wait_for_card
};

struct LoginOutcome {
    Code code = Code::p11_no_token;   // a refusal until the end
    std::string detail;
    bool no_badge = false;            // nothing to log in with: let another module try
    // Set as far as known (for the audit line), complete when ok():
    std::string account;
    std::string token_label, token_serial;
    std::string cert_subject, cert_issuer, cert_serial, cert_sha256;
    std::vector<std::uint8_t> cert_der;
    std::string strength, source;
    // The badge says its PIN must be changed (CKF_USER_PIN_TO_BE_CHANGED: an
    // initial or expired PIN). The login itself succeeds; the PAM account
    // check then asks for a new PIN (PAM_NEW_AUTHTOK_REQD).
    bool pin_change_required = false;
    bool ok() const noexcept { return code == Code::ok; }
};

// Changes the badge PIN (current PIN, new PIN twice), or, when the PIN is
// locked, unblocks it with the PUK and sets a new one, for req.user (PAM_USER;
// none -> map_unknown_account). Held to a login's steps 1-2 in a login's
// order: only a badge with a certificate that validates for purpose login
// (chain, validity, EKU, revocation) and maps to req.user is eligible, and
// that is decided before any PIN or PUK is asked, so nobody changes or
// unblocks the PIN of a badge that is not theirs. One badge: the only
// eligible one, or the person's choice among the eligible ones. ok (with the
// certificate and account, for the audit line), no_badge, or the refusal of
// the first certificate (the person is told why). The root-only
// `cardgate pin change|unblock` is the way for everything else.
LoginOutcome run_change_pin(const Config& config, const LoginRequest& req, Person& person, const Accounts& accounts,
                            const Clock& clock);

// The account check after a badge login (pam_sm_acct_mgmt), without the
// card: the login's certificate (DER) validated again for purpose login, now,
// then mapped again to `user` (PAM_USER now) with the mapping as it is now (a
// binding removed or a rule narrowed since the login refuses it). `code` is ok
// or the refusal (cert_*, map_*); an Error is a failure of the certificate's
// encoding, the config, the trust files or a mapping source, not a verdict.
struct AccountVerdict {
    Code code = Code::map_other_user;  // a refusal until the end
    std::string detail;
    std::int64_t not_after = 0;        // the certificate's notAfter (seconds since the epoch)
};
Result<AccountVerdict> check_account(const Config& config, const std::vector<std::uint8_t>& der, std::string_view user,
                                     const Accounts& accounts, const Clock& clock);

// Runs the whole login. `accounts` answers account lookups (NSS in production).
LoginOutcome run_login(const Config& config, const LoginRequest& req, Person& person, const Accounts& accounts,
                       const Clock& clock);

}  // namespace cardgate
