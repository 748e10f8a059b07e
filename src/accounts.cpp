#include "accounts.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cardgate {
namespace {

constexpr std::size_t max_nss_buffer = 1u << 20;
constexpr int max_groups = 65536;

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '@';
}

std::string group_name(gid_t gid) {
    std::vector<char> buf(1024);
    for (;;) {
        group gr{};
        group* res = nullptr;
        const int rc = getgrgid_r(gid, &gr, buf.data(), buf.size(), &res);
        if (rc == ERANGE && buf.size() < max_nss_buffer) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc == 0 && res && res->gr_name) return res->gr_name;
        return std::to_string(gid);
    }
}

}  // namespace

std::string account_name_problem(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name.size() > 64) return "is longer than 64 characters";
    if (name.front() == '-' || name.front() == '.') return "starts with '" + std::string(1, name.front()) + "'";
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (name_char(c) || (c == '$' && i + 1 == name.size() && i > 0)) continue;
        const auto u = static_cast<unsigned char>(c);
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", u);
        return "contains " + (u >= 0x21 && u < 0x7F ? "'" + std::string(1, c) + "'" : std::string(hex)) +
               " at offset " + std::to_string(i) + " (allowed: letters, digits, '.', '_', '-', '@', a final '$')";
    }
    return "";
}

Result<std::optional<Account>> NssAccounts::find(const std::string& name) const {
    using Out = std::optional<Account>;
    if (!account_name_problem(name).empty()) return Out{};
    std::vector<char> buf(4096);
    passwd pw{};
    passwd* res = nullptr;
    for (;;) {
        const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
        if (rc == ERANGE && buf.size() < max_nss_buffer) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM) break;
        return Error(Code::io, "account lookup for " + name + " failed: " + std::strerror(rc));
    }
    if (!res || !res->pw_name || name != res->pw_name) return Out{};

    Account a;
    a.name = res->pw_name;
    a.uid = res->pw_uid;
    a.gid = res->pw_gid;
    std::vector<gid_t> gids(64);
    int n = static_cast<int>(gids.size());
    while (getgrouplist(a.name.c_str(), a.gid, gids.data(), &n) < 0) {
        if (n <= static_cast<int>(gids.size()) || n > max_groups)
            return Error(Code::io, "group lookup for " + name + " failed");
        gids.resize(static_cast<std::size_t>(n));
    }
    gids.resize(static_cast<std::size_t>(n));
    for (gid_t g : gids) a.groups.push_back(group_name(g));
    std::sort(a.groups.begin(), a.groups.end());
    a.groups.erase(std::unique(a.groups.begin(), a.groups.end()), a.groups.end());
    return Out{std::move(a)};
}

}  // namespace cardgate
