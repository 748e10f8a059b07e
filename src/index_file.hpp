// Derived index files: a cache of work done on a source file (the bindings
// file), kept next to nothing else in a directory only its owner can write,
// and used only while the source file is byte-for-byte the one it was built
// from.
//
// The source's identity is (device, inode, size, mtime, ctime, mode, owner)
// read from the descriptor that is then read. ctime cannot be set by anyone
// but the kernel, so an edit in place, a rename over it or a chmod all change
// the identity. An index is not written for a source changed less than two
// seconds before the build began ("racily clean", as git calls it: a second
// edit within the file system's timestamp granularity could keep the size and
// times). The index is written to a temporary file and renamed into place, so
// readers see a whole file or none. Anything unexpected (wrong owner or mode,
// short file, other identity) makes the reader ignore the index and rebuild:
// the index only ever saves time, it never decides.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace cardgate {

// The version an index is written with: its layout version and the
// program's version (a newer cardgate may check more than the one that wrote
// an index, so it re-parses).
constexpr std::uint32_t index_format_version(std::uint32_t layout, std::string_view program_version) {
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (char c : program_version) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    return layout ^ (h << 8);
}

struct FileIdentity {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0, ctime_nsec = 0;
    std::uint32_t mode = 0, uid = 0;

    static FileIdentity of(const struct stat& st);
    bool operator==(const FileIdentity&) const = default;
    // Changed within `seconds` of now (see "racily clean" above).
    bool recent(std::int64_t now, std::int64_t seconds = 2) const;
};

// A read-only mapping of an index file's payload (the bytes after the header).
class MappedIndex {
public:
    std::span<const std::uint8_t> payload() const noexcept { return payload_; }
    MappedIndex(MappedIndex&&) noexcept;
    MappedIndex& operator=(MappedIndex&&) = delete;
    MappedIndex(const MappedIndex&) = delete;
    ~MappedIndex();

private:
    friend class IndexDir;
    MappedIndex(void* base, std::size_t length, std::span<const std::uint8_t> payload)
        : base_(base), length_(length), payload_(payload) {}
    void* base_;
    std::size_t length_;
    std::span<const std::uint8_t> payload_;
};

// A directory of index files. Usable only when it is a directory owned by
// root or the effective user and writable by nobody else; otherwise every
// open() misses and every store() is skipped.
class IndexDir {
public:
    explicit IndexDir(std::string path) : path_(std::move(path)) {}

    // The index for `source_path` of `kind` ("bindings"), when one exists
    // whose header matches `kind`, `format_version` and `source`.
    std::unique_ptr<MappedIndex> open(std::string_view kind, std::uint32_t format_version,
                                      const std::string& source_path, const FileIdentity& source) const;

    // Writes the index atomically. Returns false (and writes nothing) when the
    // directory is unusable or not writable, or the source is racily recent.
    bool store(std::string_view kind, std::uint32_t format_version, const std::string& source_path,
               const FileIdentity& source, std::span<const std::uint8_t> payload) const;

    // Keyed entries: a small result remembered under a 32-byte key (a digest
    // of everything the result depends on) rather than an index of one
    // source file. File "<kind>-<hex key>.idx", mode 0600 (a user's process
    // neither reads nor writes root's entries), the key repeated inside.
    // `expires` is kept as the file's mtime, for prune().
    using Key = std::span<const std::uint8_t, 32>;
    std::unique_ptr<MappedIndex> open_entry(std::string_view kind, std::uint32_t format_version, Key key) const;
    // `mode` 0644 for public data that every checking process may read
    // (revocation answers: CRL indexes, OCSP responses).
    bool store_entry(std::string_view kind, std::uint32_t format_version, Key key,
                     std::span<const std::uint8_t> payload, std::int64_t expires, mode_t mode = 0600) const;
    // Removes the entries of `kind` that expired before `now`. Returns how many.
    std::size_t prune(std::string_view kind, std::int64_t now) const;
    // The keys of the entries of `kind` now in the directory (by file name;
    // open_entry still checks each one).
    std::vector<std::array<std::uint8_t, 32>> list_entries(std::string_view kind) const;

    const std::string& path() const noexcept { return path_; }

private:
    bool usable() const;
    std::string file_for(std::string_view kind, const std::string& source_path) const;
    std::unique_ptr<MappedIndex> map(const std::string& file, std::string_view kind, std::uint32_t format_version,
                                     const FileIdentity& source) const;
    bool write(const std::string& file, mode_t mode, std::string_view kind, std::uint32_t format_version,
               const FileIdentity& source, std::span<const std::uint8_t> payload,
               std::optional<std::int64_t> mtime) const;
    std::string path_;
};

}  // namespace cardgate
