// Where a PIN comes from, other than the person at a prompt.
//
// RFC 7512 "pin-source=file:PATH" (and cardgate's --pin-source): the file's
// first line is the PIN. The file must be a regular file, not a symlink, not
// readable or writable by group or others (like ssh's private keys), and at
// most 64 bytes of PIN. The PIN goes straight into a SecretBuffer; the read
// buffer is wiped.
#pragma once

#include <string_view>

#include "result.hpp"
#include "secret.hpp"

namespace cardgate {

inline constexpr std::size_t max_pin_length = 64;

// `source` is "file:PATH" (or "file://PATH"); other schemes are refused.
Result<SecretBuffer> read_pin_source(std::string_view source);

}  // namespace cardgate
