#include "duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace cardgate {

namespace {

struct Unit {
    std::string_view suffix;
    std::uint64_t ms;
};

// Longest suffix first is not needed: suffixes are matched exactly after the
// digits, so "ms" and "m" cannot be confused.
constexpr std::array<Unit, 5> units{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

Error not_a_duration(std::string_view text, std::string_view why) {
    std::string d = quoted(text) + " is not a duration (use e.g. \"10s\", \"5m\", \"24h\"; units ms, s, m, h, d)";
    if (!why.empty()) d += ": " + std::string(why);
    return Error(Code::config_value, std::move(d));
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text, std::chrono::milliseconds max) {
    if (text.empty()) return not_a_duration(text, "empty");
    std::size_t i = 0;
    std::uint64_t n = 0;
    constexpr std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() / 10;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (n > limit) return not_a_duration(text, "number too large");
        n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    if (i == 0) return not_a_duration(text, "must start with a number");
    const std::string_view suffix = text.substr(i);
    if (suffix.empty()) return not_a_duration(text, "missing unit");
    for (const Unit& u : units) {
        if (suffix != u.suffix) continue;
        const auto max_ms = static_cast<std::uint64_t>(max.count());
        if (n > max_ms / u.ms)
            return Error(Code::config_value,
                         quoted(text) + " is too long (at most " + format_duration(max) + ")");
        return std::chrono::milliseconds(static_cast<std::int64_t>(n * u.ms));
    }
    return not_a_duration(text, "unknown unit " + quoted(suffix));
}

std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    for (auto u = units.rbegin(); u != units.rend(); ++u) {
        if (ms % u->ms == 0 && (ms != 0 || u->ms == 1000))
            return std::to_string(ms / u->ms) + std::string(u->suffix);
    }
    return std::to_string(ms) + "ms";
}

}  // namespace cardgate
