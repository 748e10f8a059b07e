#include "mapping.hpp"

#include <algorithm>
#include <set>

#include "template.hpp"

namespace cardgate {

std::string_view strength_name(Strength s) noexcept {
    switch (s) {
    case Strength::weak: return "weak";
    case Strength::strong: return "strong";
    }
    return "weak";
}

Result<Mapper> Mapper::create(MappingConfig config, std::string config_path, const Accounts& accounts) {
    std::optional<BindingsFile> bindings;
    const bool use_bindings = std::find(config.sources.begin(), config.sources.end(), MappingSource::bindings) !=
                              config.sources.end();
    if (use_bindings && config.bindings) {
        IndexDir dir(config.index_dir);
        auto b = BindingsFile::open(*config.bindings, &dir);
        if (!b) return Error(b.code(), "mapping.bindings: " + b.error().detail());
        bindings.emplace(std::move(*b));
    }
    std::optional<RuleSet> rules;
    if (config.rule_table) rules.emplace(RuleSet::create(config.rule_table));
    else rules.emplace(CG_TRY(RuleSet::create(std::move(config.rules))));
    Policy p{config.sources, config.allow_root, config.require_strong, config.min_uid};
    return Mapper(std::move(p), std::move(config_path), accounts, std::move(bindings), std::move(*rules));
}

Status Mapper::collect(const Certificate& leaf, MapResult& res, bool explain) const {
    for (MappingSource src : policy_.sources) {
        if (src == MappingSource::bindings) {
            if (!bindings_) {
                res.steps.push_back({"bindings", false, "", "no bindings file configured"});
                continue;
            }
            auto hits = bindings_->lookup(leaf);
            if (!hits) return Error(hits.code(), "mapping.bindings: " + hits.error().detail());
            if (hits->empty())
                res.steps.push_back({"bindings", false, "",
                                     "none of " + std::to_string(bindings_->size()) + " bindings names this certificate"});
            for (auto& h : *hits) {
                const std::string source =
                    "binding " + h.source + " (" + std::string(binding_kind_name(h.binding.kind)) + ")";
                res.steps.push_back({source, true, h.binding.user, "strong"});
                res.candidates.push_back({h.binding.user, Strength::strong, source});
            }
        } else {
            std::size_t count = 0;
            auto tested = rules_.evaluate(leaf, explain, &count);
            if (!tested) return Error(tested.code(), "mapping.rule: " + tested.error().detail());
            for (const RuleResult& t : *tested) {
                const MappingRule r = rules_.rule(t.index);
                const std::string source = "rule " + config_path_ + ":" + std::to_string(r.line);
                const Strength s = r.strong ? Strength::strong : Strength::weak;
                res.steps.push_back({source, t.matched, t.account,
                                     t.matched ? std::string(strength_name(s)) : t.why});
                if (t.matched) res.candidates.push_back({t.account, s, source});
            }
            const std::size_t others = rules_.size() - count;
            res.steps.push_back({"rules", false, "",
                                 std::to_string(count) + " rule(s) for issuer " + leaf.issuer() +
                                     " tested; " + std::to_string(others) + " rule(s) for other issuers not tested"});
        }
    }
    return {};
}

Status Mapper::decide(MapResult& res, std::optional<std::string_view> user, std::string& account,
                      Strength& strength, std::string& source) const {
    std::set<std::string> accounts, strong;
    for (const Candidate& c : res.candidates) {
        accounts.insert(c.account);
        if (c.strength == Strength::strong) strong.insert(c.account);
    }
    auto list = [](const std::set<std::string>& s) {
        std::string out;
        for (const auto& a : s) out += (out.empty() ? "" : ", ") + a;
        return out;
    };
    if (user) {
        // The user asked for is never repeated in the detail: it may be what
        // a person typed at a user-name question where a PIN was expected,
        // and the detail goes to syslog. The candidates are accounts the
        // certificate maps to, so they may be named.
        const std::string u(*user);
        if (!accounts.count(u)) {
            if (accounts.empty()) return Error(Code::map_unmapped, "no binding or rule maps this certificate");
            return Error(Code::map_other_user,
                         "maps to " + list(accounts) + "; the user asked for is not among the candidates");
        }
        strong.erase(u);
        if (!strong.empty())
            return Error(Code::map_other_user,
                         "a strong binding names " + list(strong) + ", not the user asked for");
        account = u;
    } else {
        if (accounts.empty()) return Error(Code::map_unmapped, "no binding or rule maps this certificate");
        if (accounts.size() > 1)
            return Error(Code::map_ambiguous, "maps to " + std::to_string(accounts.size()) + " accounts (" +
                                                  list(accounts) + "); give the user name to choose");
        account = *accounts.begin();
    }
    strength = Strength::weak;
    for (const Candidate& c : res.candidates) {
        if (c.account != account) continue;
        if (source.empty() || (c.strength == Strength::strong && strength == Strength::weak)) {
            source = c.source;
            strength = c.strength;
        }
    }
    return {};
}

MapResult Mapper::map(const Certificate& leaf, Purpose purpose, std::optional<std::string_view> user,
                      bool explain) const {
    MapResult res;  // a refusal until the end
    auto refuse = [&](const Error& e, std::string stage = "decision") {
        res.code = e.code();
        res.detail = e.detail();
        res.steps.push_back({std::move(stage), false, "", std::string(name(e.code())) + ": " + e.detail()});
        return res;
    };
    if (auto c = collect(leaf, res, explain); !c) return refuse(c.error(), "sources");

    std::string account, source;
    Strength strength = Strength::weak;
    if (auto d = decide(res, user, account, strength, source); !d) return refuse(d.error());
    res.steps.push_back({"decision", true, account, std::string(strength_name(strength)) + ", by " + source});

    if (policy_.require_strong && purpose == Purpose::login && strength != Strength::strong)
        return refuse(Error(Code::map_weak, account + " is mapped only by a weak rule (" + source +
                                                 ") and mapping.require_strong = true"),
                      "policy");

    auto found = accounts_.find(account);
    if (!found) return refuse(found.error(), "account");
    if (!*found) return refuse(Error(Code::map_unknown_account, "no account named " + account + " exists"), "account");
    const Account& a = **found;
    if (!policy_.allow_root && (a.uid == 0 || a.uid < policy_.min_uid))
        return refuse(Error(Code::map_system_account,
                            account + " has uid " + std::to_string(a.uid) +
                                (a.uid == 0 ? " (root)" : " (below mapping.min_uid = " + std::to_string(policy_.min_uid) + ")") +
                                " and mapping.allow_root = false"),
                      "account");

    Identity id;
    id.account = a.name;
    id.uid = a.uid;
    id.gid = a.gid;
    id.groups = a.groups;
    id.strength = strength;
    id.source = source;
    for (const auto& g : a.groups) id.privileges.push_back("group:" + g);
    for (const auto& ou : subject_values(leaf, "OU")) id.privileges.push_back("ou:" + ou);
    for (const auto& p : leaf.policies()) id.privileges.push_back("policy:" + p);
    res.steps.push_back({"account", true, account,
                         "uid " + std::to_string(a.uid) + ", " + std::to_string(a.groups.size()) + " group(s)"});
    res.identity = std::move(id);
    res.code = Code::ok;
    res.detail = account + " (" + std::string(strength_name(strength)) + ", " + source + ")";
    return res;
}

}  // namespace cardgate
