// Files that decide who is trusted: ownership and permission checks (see files.hpp).
#include "files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace cardgate {

namespace {

// Whoever can write a file that decides who is trusted decides who logs in: it
// must belong to root or to us, and be writable by nobody else (group write
// only for root's group). OpenSSH's safe_path() makes the same checks.
Status check_ownership(const std::string& path, const struct stat& st, std::string_view what) {
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return Error(Code::config_file, path + ": " + std::string(what) + " is owned by uid " +
                                            std::to_string(st.st_uid) + ", not by root or the current user (uid " +
                                            std::to_string(::geteuid()) + ")");
    if (st.st_mode & S_IWOTH) {
        // A sticky world-writable directory (/tmp) lets nobody replace what is not theirs.
        if (!(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
            return Error(Code::config_file, path + ": " + std::string(what) +
                                                " is world-writable; anyone could change who is trusted (fix: chmod o-w " +
                                                path + ")");
    }
    if ((st.st_mode & S_IWGRP) && st.st_gid != 0 && !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
        return Error(Code::config_file, path + ": " + std::string(what) + " is writable by group " +
                                            std::to_string(st.st_gid) + " (fix: chmod g-w " + path + ")");
    return {};
}

// Every directory above the file passes the same test, so nobody can rename
// another file into its place.
Status check_ancestors(const std::string& path) {
    std::string dir = path;
    for (;;) {
        const auto slash = dir.find_last_of('/');
        if (slash == std::string::npos) return {};
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0)
            return Error(Code::config_io, dir + ": cannot stat: " + std::generic_category().message(errno));
        CG_TRY_VOID(check_ownership(dir, st, "directory"));
        if (dir == "/") return {};
    }
}

}  // namespace

Status check_trusted_file(const std::string& path) {
    if (path.empty() || path.front() != '/') return Error(Code::config_file, path + ": must be an absolute path");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return Error(Code::config_file, path + ": cannot stat: " + std::generic_category().message(errno));
    if (!S_ISREG(st.st_mode)) return Error(Code::config_file, path + ": is not a regular file");
    CG_TRY_VOID(check_ownership(path, st, "file"));
    return check_ancestors(path);
}

Status check_trusted_directory(const std::string& path) {
    struct stat st {};
    if (path.empty() || path.front() != '/' || ::lstat(path.c_str(), &st) != 0)
        return Error(Code::config_file, path + ": cannot stat");
    if (!S_ISDIR(st.st_mode)) return Error(Code::config_file, path + ": is not a directory (or is a symbolic link)");
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return Error(Code::config_file, path + ": directory is owned by uid " + std::to_string(st.st_uid));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return Error(Code::config_file, path + ": directory is writable by group or others");
    return check_ancestors(path);
}

Result<int> open_protected_file(const std::string& path, struct stat& st) {
    auto sys = [&](Code c, std::string_view what) {
        return Error(c, path + ": " + std::string(what) + ": " + std::generic_category().message(errno));
    };
    // O_NONBLOCK: opening a FIFO planted in place of the file must not hang a login.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return sys(Code::config_io, "cannot open");
    auto checked = [&]() -> Status {
        if (::fstat(fd, &st) != 0) return sys(Code::config_io, "cannot stat");
        if (!S_ISREG(st.st_mode)) return Error(Code::config_file, path + ": is not a regular file");
        CG_TRY_VOID(check_ownership(path, st, "file"));
        return check_ancestors(path);
    }();
    if (!checked) {
        ::close(fd);
        return checked.error();
    }
    return fd;
}

Result<ProtectedFile> ProtectedFile::open(const std::string& path, std::size_t max_size) {
    struct stat st {};
    ProtectedFile f(path, CG_TRY(open_protected_file(path, st)), st);
    if (static_cast<std::uint64_t>(st.st_size) > max_size)
        return Error(Code::config_file, path + ": is larger than " + std::to_string(max_size) + " bytes");
    return f;
}

ProtectedFile::~ProtectedFile() {
    if (fd_ >= 0) ::close(fd_);
}

Result<std::string> ProtectedFile::read() const {
    const auto size = static_cast<std::size_t>(st_.st_size);
    std::string out(size, '\0');
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(fd_, out.data() + got, size - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error(Code::config_io, path_ + ": cannot read: " + std::generic_category().message(errno));
        if (n == 0) return Error(Code::config_io, path_ + ": changed while it was read");
        got += static_cast<std::size_t>(n);
    }
    return out;
}

Result<std::string> read_protected_file(const std::string& path, std::size_t max_size) {
    auto sys = [&](Code c, std::string_view what) {
        return Error(c, path + ": " + std::string(what) + ": " + std::generic_category().message(errno));
    };
    const ProtectedFile file = CG_TRY(ProtectedFile::open(path, max_size));
    const int fd = file.fd();
    // Read to the end rather than to the size at open: a file that grew past
    // max_size meanwhile is refused, not cut.
    std::string out;
    out.resize(static_cast<std::size_t>(file.stat().st_size));
    std::size_t got = 0;
    for (;;) {
        if (got == out.size()) {
            if (out.size() >= max_size + 1) break;
            out.resize(std::min(max_size + 1, out.size() + 4096));  // the file may have grown
        }
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys(Code::config_io, "cannot read");
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got > max_size)
        return Error(Code::config_file, path + ": is larger than " + std::to_string(max_size) + " bytes");
    out.resize(got);
    return out;
}

}  // namespace cardgate
