// Where a PIN comes from, other than the person at a prompt.
//
// RFC 7512 "pin-source=file:PATH" (and cardgate's --pin-source): the file's
// first line is the PIN. The file must be a regular file, not a symlink, not
// readable or writable by group or others (like ssh's private keys), and at
// most 64 bytes of PIN. The PIN goes straight into a SecretBuffer; the read
// buffer is wiped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"
#include "secret.hpp"

namespace cardgate {

inline constexpr std::size_t max_pin_length = 64;

// `source` is "file:PATH" (or "file://PATH"); other schemes are refused.
Result<SecretBuffer> read_pin_source(std::string_view source);

// try_first_pass: whether a password an earlier module stacked (PAM_AUTHTOK)
// is plausibly a PIN, so that offering it to the card may cost a PIN try.
// Without `pattern`: one or more ASCII digits and nothing else (PIV PINs are
// digits, SP 800-73-4 Part 2 §3.1.1; a pass phrase is not). With `pattern`
// (login.pin_pattern, checked by the config parser): an ECMAScript full match.
// The candidate is matched in place, never copied into a std::string.
bool plausible_pin(const SecretBuffer& candidate, const std::optional<std::string>& pattern);

}  // namespace cardgate
