// The strong bindings file (SPEC "Bindings file"): one binding per line,
//
//   # user   kind           value
//   alice    spki-sha256    <64 hex digits: SHA-256 of the DER SubjectPublicKeyInfo>
//   bob      cert-sha256    <64 hex digits: SHA-256 of the DER certificate>
//   carol    issuer-serial  1A2B3C CN=Example Issuing CA,O=Example Corp
//   dave     ski            <hex subjectKeyIdentifier>
//
// Fields are separated by spaces or tabs; '#' starts a comment only at the
// start of a line (a DN may contain '#'). Parsing is strict: any bad line is an
// error naming file and line, and a file with a bad line is not used at all.
//
// Lookup must not grow with the file (10^5 badges): the file is read once into
// a sorted table of (key digest, line, offset) and that table is cached as a
// derived index file (index_file.hpp). A lookup binary-searches the table and
// re-reads and re-checks each hit's line from the source file, so the table
// can only ever point at lines, never invent a binding.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index_file.hpp"
#include "result.hpp"
#include "x509.hpp"

namespace cardgate {

enum class BindingKind : std::uint8_t { spki_sha256 = 1, cert_sha256 = 2, issuer_serial = 3, ski = 4 };
std::string_view binding_kind_name(BindingKind k) noexcept;

struct Binding {
    std::string user;
    BindingKind kind{};
    std::string value;   // hex: lower case for digests and SKI, upper case without leading zeros for a serial
    std::string issuer;  // issuer-serial only: the DN as written
    unsigned line = 0;
};

// One line. nullopt for a blank or comment line. Error: Code::config_value
// with a detail "<what>" (no location: the caller adds path:line).
Result<std::optional<Binding>> parse_binding_line(std::string_view line);

// Whether the binding names this certificate (issuer compared with same_dn()).
bool binding_matches(const Binding& b, const Certificate& cert);

struct BindingHit {
    Binding binding;
    std::string source;  // "<path>:<line>"
};

class BindingsFile {
public:
    // Opens and checks the file (ownership and mode as read_protected_file),
    // then uses a valid index from `index_dir` or parses the whole file and
    // stores the index there (when it is usable). A bad line is an Error
    // (Code::config_value "<path>:<line>: ..."), an unreadable file
    // Code::config_io / config_file.
    static Result<BindingsFile> open(const std::string& path, const IndexDir* index_dir);

    // Every binding that names the certificate, in file order. An Error when
    // the source cannot be re-read (it is then not known what it says).
    Result<std::vector<BindingHit>> lookup(const Certificate& cert) const;

    std::size_t size() const noexcept;      // number of bindings
    bool from_index() const noexcept { return mapped_ != nullptr; }
    const std::string& path() const noexcept { return path_; }

    // Checks every line of a file and returns all problems (at most `limit`),
    // each "<path>:<line>: ...", and the keys bound to more than one user as
    // warnings. For check-config.
    struct Report {
        std::size_t bindings = 0;
        std::vector<std::string> errors;
        std::vector<std::string> warnings;
    };
    static Result<Report> check(const std::string& path, std::size_t limit = 20);

    BindingsFile(BindingsFile&&) noexcept;
    BindingsFile& operator=(BindingsFile&&) = delete;
    ~BindingsFile();

private:
    BindingsFile() = default;
    std::string path_;
    int fd_ = -1;                               // the source, for re-reading lines
    std::vector<std::uint8_t> table_;           // built here, when there was no index
    std::unique_ptr<MappedIndex> mapped_;       // or the cached index
    std::span<const std::uint8_t> records() const;
};

}  // namespace cardgate
