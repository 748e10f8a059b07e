// Accounts named by a mapping: syntax, and lookup through NSS.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace cardgate {

// Why `name` cannot be an account name, or "" when it can: 1 to 64 bytes of
// ASCII letters, digits, '.', '_', '-', '@', not starting with '-' or '.',
// optionally ending in '$'. Stricter than POSIX on purpose: a name from a
// certificate then cannot carry path, shell, LDAP-filter, regex or control
// characters into anything that later uses it.
std::string account_name_problem(std::string_view name);

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<std::string> groups;  // names (number as text when a gid has none), sorted, no duplicates
};

class Accounts {
public:
    virtual ~Accounts() = default;
    // nullopt when the account does not exist; an Error (Code::io) when the
    // lookup itself failed, which callers must treat as a refusal.
    virtual Result<std::optional<Account>> find(const std::string& name) const = 0;
};

// getpwnam_r + getgrouplist + getgrgid_r. An NSS entry whose name differs from
// the one asked for (a case-insensitive backend answering "Alice" for "alice")
// counts as not found: the account must be named exactly.
class NssAccounts final : public Accounts {
public:
    Result<std::optional<Account>> find(const std::string& name) const override;
};

}  // namespace cardgate
