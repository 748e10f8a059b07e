// Mapping a validated certificate to an identity: account, groups, privileges.
//
// One fixed order (SPEC "Config file", issue "Identity and privilege mapping"):
//   1. every source in mapping.sources is consulted, in order, and every
//      candidate (account, strength, source) is collected; a source that
//      cannot be consulted (bindings file unreadable or changed, a rule that
//      cannot be evaluated) refuses the mapping, since what it would have
//      said is unknown;
//   2. with no user given: exactly one distinct account, else unmapped or
//      ambiguous. With a user given: that user must be a candidate, and no
//      strong binding may name another account;
//   3. policy: mapping.require_strong refuses a weak result for login;
//   4. the account must exist in NSS (else "unknown", not "unmapped"), and
//      uid 0 or a uid below mapping.min_uid is refused unless allow_root;
//   5. groups (getgrouplist) and certificate facts become privileges.
// The result starts as a refusal and becomes ok only at the end.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accounts.hpp"
#include "bindings.hpp"
#include "config.hpp"
#include "purpose.hpp"
#include "rules.hpp"
#include "x509.hpp"

namespace cardgate {

enum class Strength { weak, strong };
std::string_view strength_name(Strength s) noexcept;

struct Candidate {
    std::string account;
    Strength strength = Strength::weak;
    std::string source;  // "binding /etc/cardgate/bindings:12 (spki-sha256)", "rule /etc/cardgate/cardgate.conf:40"
};

// One line of the explanation `cardgate map` prints.
struct MapStep {
    std::string source;  // "binding ..." / "rule ..." / "bindings" / "rules" / "decision" / "account" / "policy"
    bool matched = false;
    std::string account;  // when matched
    std::string detail;
};

struct Identity {
    std::string account;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<std::string> groups;
    Strength strength = Strength::weak;
    std::string source;  // of the candidate that decided (a strong one when there is one)
    // What authorisation can name: "group:NAME" for each group, "ou:NAME" for
    // each subject OU, "policy:OID" for each certificate policy.
    std::vector<std::string> privileges;
};

struct MapResult {
    Code code = Code::map_unmapped;
    std::string detail;
    std::optional<Identity> identity;  // only when ok()
    std::vector<Candidate> candidates;
    std::vector<MapStep> steps;
    bool ok() const noexcept { return code == Code::ok; }
};

class Mapper {
public:
    // Opens the bindings file (through mapping.index_dir) and indexes the
    // rules. `accounts` must outlive the Mapper. Errors as BindingsFile::open.
    // Takes the config by value: move it in (10^4 rules are not copied).
    static Result<Mapper> create(MappingConfig config, std::string config_path, const Accounts& accounts);

    // `user`: the account asked for (PAM_USER, --user), if any. `explain`
    // records a step for every rule tested, not only those that matched.
    MapResult map(const Certificate& leaf, Purpose purpose, std::optional<std::string_view> user,
                  bool explain = false) const;

    const std::optional<BindingsFile>& bindings() const noexcept { return bindings_; }
    const RuleSet& rules() const noexcept { return rules_; }

    Mapper(Mapper&&) = default;
    Mapper& operator=(Mapper&&) = delete;

private:
    struct Policy {
        std::vector<MappingSource> sources;
        bool allow_root = false;
        bool require_strong = false;
        unsigned min_uid = 1000;
    };
    Mapper(Policy p, std::string path, const Accounts& a, std::optional<BindingsFile> b, RuleSet r)
        : policy_(std::move(p)), config_path_(std::move(path)), accounts_(a), bindings_(std::move(b)),
          rules_(std::move(r)) {}
    Status collect(const Certificate& leaf, MapResult& res, bool explain) const;
    Status decide(MapResult& res, std::optional<std::string_view> user, std::string& account, Strength& strength,
                  std::string& source) const;

    const Policy policy_;
    const std::string config_path_;
    const Accounts& accounts_;
    std::optional<BindingsFile> bindings_;
    RuleSet rules_;
};

}  // namespace cardgate
