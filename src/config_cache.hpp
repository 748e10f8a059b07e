// A large configuration parsed once: the result kept as a derived index file.
//
// Parsing and checking a config with 10^4 [[mapping.rule]] tables (TOML,
// every DN, every regex compiled) takes tens of milliseconds, on every login.
// After a full, strict parse of such a file, the rules are stored in binary
// form next to a copy of the config text with the rule tables blanked out
// (line for line, so every other key keeps its line number in messages). A
// later load of the unchanged file (same identity, index_file.hpp) re-parses
// only that short text and reads the rules back, already checked.
#pragma once

#include <optional>
#include <string>

#include "config.hpp"

namespace cardgate {

// Rules from which a config is worth caching.
inline constexpr std::size_t config_cache_min_rules = 64;

// Config::load's implementation.
Result<Config> load_config(const std::string& path, const std::optional<std::string>& index_dir);

}  // namespace cardgate
