#include "index_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <vector>

#include <openssl/sha.h>

#include "config.hpp"  // check_trusted_directory
#include "x509.hpp"    // to_hex

namespace cardgate {
namespace {

constexpr char magic[8] = {'C', 'G', 'I', 'D', 'X', '0', '0', '1'};
constexpr char trailer[8] = {'C', 'G', 'I', 'D', 'X', 'E', 'N', 'D'};

// Fixed little-endian-in-memory header: the file is read only on the machine
// (and by the build) that wrote it; format_version guards layout changes.
struct Header {
    char magic[8];
    char kind[16];
    std::uint32_t format_version;
    std::uint32_t reserved;
    FileIdentity source;
    std::uint64_t payload_size;
};

bool trusted_owner(const struct stat& st) { return st.st_uid == 0 || st.st_uid == geteuid(); }

}  // namespace

FileIdentity FileIdentity::of(const struct stat& st) {
    FileIdentity id;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = static_cast<std::uint64_t>(st.st_size);
    id.mtime_sec = st.st_mtim.tv_sec;
    id.mtime_nsec = st.st_mtim.tv_nsec;
    id.ctime_sec = st.st_ctim.tv_sec;
    id.ctime_nsec = st.st_ctim.tv_nsec;
    id.mode = st.st_mode;
    id.uid = st.st_uid;
    return id;
}

bool FileIdentity::recent(std::int64_t now, std::int64_t seconds) const {
    return now - mtime_sec < seconds || now - ctime_sec < seconds;
}

MappedIndex::MappedIndex(MappedIndex&& o) noexcept : base_(o.base_), length_(o.length_), payload_(o.payload_) {
    o.base_ = nullptr;
    o.length_ = 0;
}

MappedIndex::~MappedIndex() {
    if (base_) munmap(base_, length_);
}

bool IndexDir::usable() const { return static_cast<bool>(check_trusted_directory(path_)); }

std::string IndexDir::file_for(std::string_view kind, const std::string& source_path) const {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(source_path.data()), source_path.size(), md);
    return path_ + "/" + std::string(kind) + "-" + to_hex({md, 12}) + ".idx";
}

std::unique_ptr<MappedIndex> IndexDir::open(std::string_view kind, std::uint32_t format_version,
                                            const std::string& source_path, const FileIdentity& source) const {
    if (kind.size() >= sizeof(Header::kind) || !usable()) return nullptr;
    return map(file_for(kind, source_path), kind, format_version, source);
}

std::unique_ptr<MappedIndex> IndexDir::map(const std::string& file, std::string_view kind,
                                           std::uint32_t format_version, const FileIdentity& source) const {
    const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return nullptr;
    struct stat st {};
    const bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && trusted_owner(st) &&
                    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
                    static_cast<std::size_t>(st.st_size) >= sizeof(Header) + sizeof trailer;
    void* base = ok ? mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    ::close(fd);
    if (base == MAP_FAILED) return nullptr;
    const auto length = static_cast<std::size_t>(st.st_size);
    MappedIndex mapped(base, length, {});  // unmaps on every return below

    Header h;
    std::memcpy(&h, base, sizeof h);
    char want_kind[sizeof h.kind] = {};
    std::memcpy(want_kind, kind.data(), kind.size());
    const auto* bytes = static_cast<const std::uint8_t*>(base);
    if (std::memcmp(h.magic, magic, sizeof magic) != 0 || std::memcmp(h.kind, want_kind, sizeof h.kind) != 0 ||
        h.format_version != format_version || !(h.source == source) ||
        h.payload_size != length - sizeof(Header) - sizeof trailer ||
        std::memcmp(bytes + length - sizeof trailer, trailer, sizeof trailer) != 0)
        return nullptr;
    mapped.payload_ = {bytes + sizeof(Header), static_cast<std::size_t>(h.payload_size)};
    return std::unique_ptr<MappedIndex>(new MappedIndex(std::move(mapped)));
}

bool IndexDir::store(std::string_view kind, std::uint32_t format_version, const std::string& source_path,
                     const FileIdentity& source, std::span<const std::uint8_t> payload) const {
    if (kind.size() >= sizeof(Header::kind) || !usable() || source.recent(std::time(nullptr))) return false;
    return write(file_for(kind, source_path), 0644, kind, format_version, source, payload, std::nullopt);
}

bool IndexDir::write(const std::string& file, mode_t mode, std::string_view kind, std::uint32_t format_version,
                     const FileIdentity& source, std::span<const std::uint8_t> payload,
                     std::optional<std::int64_t> mtime) const {
    std::string tmp = file + ".XXXXXX";
    const int fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) return false;

    Header h{};
    std::memcpy(h.magic, magic, sizeof magic);
    std::memcpy(h.kind, kind.data(), kind.size());
    h.format_version = format_version;
    h.source = source;
    h.payload_size = payload.size();
    auto write_all = [fd](const void* p, std::size_t n) {
        const auto* c = static_cast<const char*>(p);
        while (n > 0) {
            const ssize_t w = ::write(fd, c, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return false;
            c += w;
            n -= static_cast<std::size_t>(w);
        }
        return true;
    };
    bool ok = fchmod(fd, mode) == 0 && write_all(&h, sizeof h) && write_all(payload.data(), payload.size()) &&
              write_all(trailer, sizeof trailer) && fsync(fd) == 0;
    if (ok && mtime) {
        const struct timespec times[2] = {{0, UTIME_NOW}, {static_cast<std::time_t>(*mtime), 0}};
        ok = futimens(fd, times) == 0;
    }
    ::close(fd);
    if (!ok || rename(tmp.c_str(), file.c_str()) != 0) {
        unlink(tmp.c_str());
        return false;
    }
    return true;
}

namespace {

// The identity a keyed entry's header carries: none (it has no source file).
const FileIdentity no_source{};

std::string entry_name(std::string_view kind, IndexDir::Key key) { return std::string(kind) + "-" + to_hex(key) + ".idx"; }

}  // namespace

std::unique_ptr<MappedIndex> IndexDir::open_entry(std::string_view kind, std::uint32_t format_version, Key key) const {
    if (kind.size() >= sizeof(Header::kind) || !usable()) return nullptr;
    auto m = map(path_ + "/" + entry_name(kind, key), kind, format_version, no_source);
    if (!m || m->payload_.size() < key.size() || std::memcmp(m->payload_.data(), key.data(), key.size()) != 0)
        return nullptr;
    m->payload_ = m->payload_.subspan(key.size());
    return m;
}

bool IndexDir::store_entry(std::string_view kind, std::uint32_t format_version, Key key,
                           std::span<const std::uint8_t> payload, std::int64_t expires, mode_t mode) const {
    if (kind.size() >= sizeof(Header::kind) || !usable() || (mode & 0022) != 0) return false;
    std::vector<std::uint8_t> body(key.begin(), key.end());
    body.insert(body.end(), payload.begin(), payload.end());
    return write(path_ + "/" + entry_name(kind, key), mode, kind, format_version, no_source, body, expires);
}

std::vector<std::array<std::uint8_t, 32>> IndexDir::list_entries(std::string_view kind) const {
    std::vector<std::array<std::uint8_t, 32>> out;
    if (!usable()) return out;
    DIR* d = opendir(path_.c_str());
    if (!d) return out;
    const std::string prefix = std::string(kind) + "-";
    while (const dirent* e = readdir(d)) {
        std::string_view name = e->d_name;
        if (!name.starts_with(prefix) || !name.ends_with(".idx")) continue;
        name = name.substr(prefix.size(), name.size() - prefix.size() - 4);
        std::array<std::uint8_t, 32> key{};
        if (name.size() != 2 * key.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < key.size() && ok; ++i) {
            auto nib = [&](char c) -> int {
                if (c >= '0' && c <= '9') return c - '0';
                if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                ok = false;
                return 0;
            };
            key[i] = static_cast<std::uint8_t>(nib(name[2 * i]) << 4 | nib(name[2 * i + 1]));
        }
        if (ok) out.push_back(key);
    }
    closedir(d);
    return out;
}

std::size_t IndexDir::prune(std::string_view kind, std::int64_t now) const {
    if (!usable()) return 0;
    DIR* d = opendir(path_.c_str());
    if (!d) return 0;
    const std::string prefix = std::string(kind) + "-";
    std::size_t removed = 0;
    while (const dirent* e = readdir(d)) {
        const std::string_view name = e->d_name;
        if (!name.starts_with(prefix) || !name.ends_with(".idx")) continue;
        struct stat st {};
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_mtim.tv_sec < now && unlinkat(dirfd(d), e->d_name, 0) == 0)
            ++removed;
    }
    closedir(d);
    return removed;
}

}  // namespace cardgate
