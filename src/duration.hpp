// Durations in the config file: "<n><unit>" strings such as "10s", "5m", "24h".
//
// One unit per value (ms, s, m, h, d), a non-negative decimal integer with no
// sign, spaces or fraction. Compound forms ("1h30m") are not accepted: a
// config is read by people under pressure, and "90m" says the same thing.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "result.hpp"

namespace cardgate {

// Upper bound of every timeout in the config (SPEC "Durations"): a bound
// longer than this is a typo, not a policy.
inline constexpr std::chrono::milliseconds max_config_duration = std::chrono::hours(24 * 30);

// Parses `text` as a duration no longer than `max`. On failure returns
// Code::config_value with a detail saying what is wrong and what is allowed,
// without any location (the caller prefixes "file:line:col: key: ").
Result<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                 std::chrono::milliseconds max = max_config_duration);

// The shortest exact spelling of `d` in the config syntax ("10s", "1500ms", "30d").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace cardgate
