// Files that decide who is trusted (the config, anchors, CRLs, the PKCS#11
// module, the PAM helper) and the directories above them: who may write them.
//
// Kept apart from config.hpp, with no TOML or OpenSSL behind it, so that
// pam_cardgate.so can check its helper without linking libcardgate.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "result.hpp"

namespace cardgate {

// Reads a file that decides who is trusted (the config, an anchor, a CRL).
// Refuses (Code::config_file) a file that is not a regular file, is
// writable by others (or by a group other than root's), sits in a directory
// that is, or is owned by neither root nor the effective user: whoever
// can edit it decides who logs in. Code::config_io when it cannot be opened or
// read. The checks are made on the opened descriptor (no check-then-open race).
Result<std::string> read_protected_file(const std::string& path, std::size_t max_size = 4u << 20);
// The same checks, returning the open descriptor (O_CLOEXEC; the caller
// closes it) and its fstat, for a file that is read later or in parts.
Result<int> open_protected_file(const std::string& path, struct stat& st);

// A file opened and checked as open_protected_file does, refused
// (Code::config_file) when larger than `max_size` bytes; closed with the object.
class ProtectedFile {
public:
    static Result<ProtectedFile> open(const std::string& path, std::size_t max_size);

    // Its bytes as at open(): Code::config_io when it cannot be read or is
    // shorter now ("changed while it was read").
    Result<std::string> read() const;

    int fd() const noexcept { return fd_; }
    const struct stat& stat() const noexcept { return st_; }
    // Hands the descriptor to the caller, who closes it.
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

    ProtectedFile(ProtectedFile&& o) noexcept : path_(std::move(o.path_)), fd_(o.release()), st_(o.st_) {}
    ProtectedFile& operator=(ProtectedFile&&) = delete;
    ProtectedFile(const ProtectedFile&) = delete;
    ProtectedFile& operator=(const ProtectedFile&) = delete;
    ~ProtectedFile();

private:
    ProtectedFile(std::string path, int fd, const struct stat& st) : path_(std::move(path)), fd_(fd), st_(st) {}
    std::string path_;
    int fd_;
    struct stat st_;
};

// The same ownership and permission checks for a file that is used but not
// read here (the PKCS#11 module, which is loaded as code into login
// processes), and for every directory above it: owned by root or the effective
// user, not writable by others (a sticky directory such as /tmp excepted), not
// group-writable except by root's group. Code::config_file naming the culprit.
Status check_trusted_file(const std::string& path);

// A directory whose files are trusted (the derived index directory): a real
// directory (not a symbolic link), owned by root or the effective user,
// writable by nobody else, with every directory above it as for
// check_trusted_file.
Status check_trusted_directory(const std::string& path);

}  // namespace cardgate
