// What a badge login does between "certificate read from the card" and
// "account known", once per process as in the PAM helper: load the config
// (through the derived index when one exists), load the trust store, open the
// mapping sources, validate the certificate and map it. Run by bench/map.
//
//   map_login CONFIG CERT [USER] [INDEX_DIR]   exit 0 mapped, 1 refused, 2 error
#include <cstdio>
#include <optional>
#include <string>

#include "src/accounts.hpp"
#include "src/clock.hpp"
#include "src/config.hpp"
#include "src/mapping.hpp"
#include "src/trust.hpp"
#include "src/x509.hpp"

using namespace cardgate;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: map_login CONFIG CERT [USER|-] [INDEX_DIR]\n");
        return 2;
    }
    std::optional<std::string> index_dir;
    if (argc > 4) index_dir = argv[4];
    auto cfg = Config::load(argv[1], index_dir);
    if (!cfg) return std::fprintf(stderr, "%s\n", cfg.error().detail().c_str()), 2;
    if (index_dir) cfg->mapping.index_dir = *index_dir;
    auto store = TrustStore::create(cfg->trust);
    if (!store) return std::fprintf(stderr, "%s\n", store.error().detail().c_str()), 2;
    NssAccounts accounts;
    auto mapper = Mapper::create(std::move(cfg->mapping), cfg->path, accounts);
    if (!mapper) return std::fprintf(stderr, "%s\n", mapper.error().detail().c_str()), 2;
    auto cert = Certificate::load(argv[2]);
    if (!cert) return std::fprintf(stderr, "%s\n", cert.error().detail().c_str()), 2;
    SystemClock clock;
    const Verdict v = store->validate(*cert, Purpose::login, cfg->purpose(Purpose::login), clock);
    if (!v.ok()) return std::fprintf(stderr, "invalid: %s\n", v.detail.c_str()), 1;
    std::optional<std::string_view> user;
    if (argc > 3 && std::string(argv[3]) != "-") user = argv[3];
    const MapResult m = mapper->map(*cert, Purpose::login, user);
    std::printf("%s %s\n", std::string(name(m.code)).c_str(), m.detail.c_str());
    return m.ok() ? 0 : 1;
}
