// The pipe protocol between pam_cardgate.so and cardgate-pam-helper.
//
// Frames: u8 type, u32 length (little-endian), payload, over one
// socketpair that is the helper's stdin and stdout; nothing else is on it. The only secrets that travel are the PIN frames, module -> helper,
// each wiped after use on both sides. Payloads other than secrets are JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "src/result.hpp"
#include "src/secret.hpp"

namespace cardgate::pam {

enum class Frame : std::uint8_t {
    // module -> helper
    request = 1,        // JSON: config, mode ("login", "change_pin": user, service, host, first_pass_only,
                        // has_first_pass, wait_for_card_ms; "account": cert_der, the login's certificate in hex, and user, PAM_USER now)
    first_pass = 2,     // secret: PAM_AUTHTOK for use_first_pass / try_first_pass
    secret = 3,         // secret: the answer to ask_secret
    cancel = 4,         // the person cancelled the last question
    choice = 5,         // decimal index answering choose
    answer = 6,         // text answering ask_text
    // helper -> module
    info = 10,          // text to show
    error = 11,         // error text to show
    ask_secret = 12,    // prompt (echo off)
    choose = 13,        // JSON: title, choices
    progress = 14,      // still working (resets the module's watchdog)
    result = 15,        // JSON: the outcome (code, detail, ...; for "account": verdict, not_after, warn_expiry_s)
    limits = 16,        // JSON: timeout_ms, wait_ms, net_ms (revocation's network time before the first
                        // question) — the helper's first frame once its config is loaded
    ask_text = 17,      // prompt (echo on): the user-name hint
};

// How long the module waits for the helper's first frame (it loads the
// config, the trust store and the mapping sources before it knows its limits).
inline constexpr int startup_ms = 10000;

inline constexpr std::uint32_t max_frame = 1u << 20;

// Writes one frame; false on any error (the peer is gone).
bool write_frame(int fd, Frame type, const void* data, std::size_t len);
inline bool write_frame(int fd, Frame type, const std::string& s) { return write_frame(fd, type, s.data(), s.size()); }

// Reads one frame into `payload` (a SecretBuffer, so a PIN frame never
// lands in a std::string). Error: Code::io on EOF, a short read or a frame
// over max_frame. When `timeout_ms` >= 0, Code::p11_timeout when no frame
// header arrives within it.
struct Received {
    Frame type;
    SecretBuffer payload;
    std::string text() const { return std::string(reinterpret_cast<const char*>(payload.data()), payload.size()); }
};
Result<Received> read_frame(int fd, int timeout_ms = -1);

}  // namespace cardgate::pam
