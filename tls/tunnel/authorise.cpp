// Authorisation per [[tls.service]]: see authorise.hpp.
#include "tls/tunnel/authorise.hpp"

#include <algorithm>

namespace cardgate::tunnel {

namespace {

bool listed(const std::vector<std::string>& list, const std::string& v) {
    return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

Authorisation authorise(const TlsService& service, const Identity& identity) {
    Authorisation a;  // denied until an entry allows it
    if (service.allow_users.empty() && service.allow_groups.empty() && service.allow_privileges.empty()) {
        a.detail = "service " + service.name + " allows nobody (allow_users, allow_groups and allow_privileges are empty)";
        return a;
    }
    if (listed(service.allow_users, identity.account)) {
        a.allowed = true;
        a.detail = "allow_users: " + identity.account;
        return a;
    }
    for (const auto& g : identity.groups)
        if (listed(service.allow_groups, g)) {
            a.allowed = true;
            a.detail = "allow_groups: " + g;
            return a;
        }
    for (const auto& p : identity.privileges)
        if (listed(service.allow_privileges, p)) {
            a.allowed = true;
            a.detail = "allow_privileges: " + p;
            return a;
        }
    a.detail = "account " + identity.account + " is not allowed for service " + service.name;
    return a;
}

}  // namespace cardgate::tunnel
