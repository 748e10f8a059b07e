// Mapping rules in a compact byte form, read in place.
//
// The same bytes serve a config parsed now (built in memory) and a config
// read from the derived index (mapped from the file): 10^4 rules are then not
// turned into 10^4 objects on every login. Each rule is read only when its
// issuer hash matches the certificate's, and fully decoded only when its
// required literal occurs in the subject (rules.hpp). Every read is
// bounds-checked; a malformed table reads as an error, never out of bounds.
//
// Layout (native byte order; the file is read on the machine that wrote it):
//   u32 count
//   count x { u32 issuer_hash, u32 offset }      offsets into the rule area
//   rule area: per rule  u32 line, u8 flags, str issuer, str subject, str user,
//              str literal, list eku, list policies, list san, then 16 bytes
//              of SHA-256 over those, checked whenever the rule is decoded
//   str = u32 length + bytes; list = u32 n + n str
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace cardgate {

class RuleTable {
public:
    static std::vector<std::uint8_t> encode(const std::vector<MappingRule>& rules);
    // A view of `bytes`, which `owner` keeps alive. nullopt when the header
    // does not fit the bytes.
    static std::optional<RuleTable> view(std::span<const std::uint8_t> bytes, std::shared_ptr<const void> owner);
    // Encodes and owns the bytes.
    static RuleTable build(const std::vector<MappingRule>& rules);

    std::size_t size() const noexcept { return count_; }
    std::uint32_t issuer_hash(std::size_t i) const;
    // The issuer text and the required literal of rule i, read in place;
    // nullopt when the table is malformed there.
    struct Key {
        std::string_view issuer;
        std::string_view literal;
    };
    std::optional<Key> key(std::size_t i) const;
    // Rule i, decoded (issuer_hash and literal included).
    std::optional<MappingRule> rule(std::size_t i) const;

private:
    RuleTable(std::span<const std::uint8_t> b, std::shared_ptr<const void> owner, std::size_t count)
        : bytes_(b), owner_(std::move(owner)), count_(count) {}
    std::span<const std::uint8_t> bytes_;
    std::shared_ptr<const void> owner_;
    std::size_t count_;
};

}  // namespace cardgate
