// Asking the person at the terminal for a PIN.
#pragma once

#include <string>

#include "src/result.hpp"
#include "src/secret.hpp"

namespace cardgate::cli {

// Prints `prompt` on /dev/tty and reads a line with echo off into a
// SecretBuffer. No terminal → Code::p11_pin_required (use --pin-source).
Result<SecretBuffer> prompt_pin(const std::string& prompt);

}  // namespace cardgate::cli
