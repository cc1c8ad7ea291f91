// The option registry (config/options.hpp): every keepa.* option once, each
// help text stating its default from config/defaults.hpp, and what --help
// and --dump-config show.

#include "config/options.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "config/defaults.hpp"
#include "config/pipeline_config.hpp"

using namespace keepa;

namespace {

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

bool is_keepa(const caf::config_option& opt) {
  auto category = str(opt.category());
  return category == "keepa" || category.compare(0, 6, "keepa.") == 0;
}

/// How often each keepa.* option occurs in `xs`, by full name.
std::map<std::string, int> keepa_options(const caf::config_option_set& xs) {
  std::map<std::string, int> result;
  for (auto& opt : xs)
    if (is_keepa(opt))
      ++result[str(opt.full_name())];
  return result;
}

/// X of a help text ending in "(default X)"; empty without one.
std::string stated_default(const caf::config_option& opt) {
  auto text = str(opt.description());
  auto pos = text.rfind(" (default ");
  if (pos == std::string::npos || text.back() != ')')
    return {};
  auto first = pos + 10;
  return text.substr(first, text.size() - 1 - first);
}

/// Every keepa.* option with the default its help text states: the values
/// before the registry existed (from the readers' fallbacks where the help
/// said nothing), so a changed default shows up here.
const std::map<std::string, std::string> expected_defaults{
  {"keepa.profile", "auto"},
  {"keepa.profiles-dir", defaults::profiles_dir()},
  {"keepa.locale", "none"},
  {"keepa.run-for", "0s"},
  {"keepa.max-deals", "0"},
  {"keepa.status-every", "1min"},
  {"keepa.status-refresh", "1s"},
  {"keepa.log.level", "info"},
  {"keepa.log.format", "text"},
  {"keepa.token.max-observation-age", "1h"},
  {"keepa.token.stagger", "5ms"},
  {"keepa.token.ticket-grace", "30s"},
  {"keepa.token.grant-ttl", "10min"},
  {"keepa.token.probe-retry", "1s"},
  {"keepa.token.remote", "none"},
  {"keepa.token.weight", "1"},
  {"keepa.token.host", "127.0.0.1"},
  {"keepa.token.port", "4272"},
  {"keepa.client.endpoint", "https://api.keepa.com"},
  {"keepa.client.key-file", "none"},
  {"keepa.client.ca-file", "none"},
  {"keepa.client.allow-insecure", "false"},
  {"keepa.client.timeout", "120s"},
  {"keepa.client.connect-timeout", "30s"},
  {"keepa.client.max-answer-size", "67108864"},
  {"keepa.client.max-connections", "16"},
  {"keepa.client.attempts", "4"},
  {"keepa.client.backoff", "500ms"},
  {"keepa.client.backoff-max", "30s"},
  {"keepa.client.gzip", "true"},
  {"keepa.client.max-auth-failures", "3"},
  {"keepa.storage.url", "sqlite:keepa.db"},
  {"keepa.storage.busy-timeout", "5s"},
  {"keepa.storage.lock-retries", "0"},
  {"keepa.storage.scope", "none"},
  {"keepa.scan.query-file", defaults::scan::query_file()},
  {"keepa.scan.source", "deals"},
  {"keepa.scan.finder-query-file", defaults::scan::finder_query_file()},
  {"keepa.scan.interval", "5min"},
  {"keepa.scan.max-backlog", "2000"},
  {"keepa.scan.price-bands", "[]"},
  {"keepa.scan.max-slices", "0"},
  {"keepa.update.interval", "10min"},
  {"keepa.update.refresh-after", "24h"},
  {"keepa.update.grace", "72h"},
  {"keepa.filter.min-sell-price", "1200"},
  {"keepa.filter.max-buy-to-sell", "1.1"},
  {"keepa.filter.min-roi", "0.2"},
  {"keepa.filter.min-rank-drops365", "1"},
  {"keepa.filter.min-price", "0"},
  {"keepa.filter.max-price", "0"},
  {"keepa.filter.rejection-memory", "168h"},
  {"keepa.filter.skip-peek-profit", "false"},
  {"keepa.filter.refresh-tolerance", "0.1"},
  {"keepa.peek.value-gate", "true"},
  {"keepa.peek.skip-hopeless", "false"},
  {"keepa.peek.value-horizon", "10min"},
  {"keepa.peek.value-horizon-tokens", "500"},
  {"keepa.peek.max-wait", "4h"},
  {"keepa.business.prep-fee", "0"},
  {"keepa.business.inbound-shipping", "0"},
  {"keepa.business.tax-percent", "0"},
  {"keepa.business.markup", "0"},
  {"keepa.business.referral-percent", "15"},
  {"keepa.business.pick-pack-fee", "350"},
  {"keepa.business.min-profit", "500"},
  {"keepa.introspection.host", "127.0.0.1"},
  {"keepa.introspection.port", "4270"},
  {"keepa.http.host", "127.0.0.1"},
  {"keepa.http.port", "4271"},
  {"keepa.http.token-file", "none"},
  {"keepa.http.ready-max-age", "10min"},
  {"keepa.http.access-token-file", "none"},
};

/// A program with a group of its own, like keepa-eta's eta.*.
struct tool_config : pipeline_config {
  tool_config() {
    add_group("tool", "a tool's own options")
      .add<int64_t>("knob", "a tool option (default 1)");
  }
};

} // namespace

TEST_CASE("every keepa.* option is registered exactly once", "[config]") {
  pipeline_config cfg;
  auto xs = keepa_options(cfg.options());
  CHECK(xs.size() == expected_defaults.size());
  for (auto& kvp : xs) {
    INFO(kvp.first);
    CHECK(kvp.second == 1);
    CHECK(expected_defaults.count(kvp.first) == 1);
  }
  for (auto& kvp : expected_defaults) {
    INFO(kvp.first);
    CHECK(xs.count(kvp.first) == 1);
  }
  // pipeline_config registers nothing of keepa.* beyond the registry, and
  // a tool's own groups add nothing to keepa.*.
  caf::config_option_set registry;
  add_keepa_options(registry);
  CHECK(keepa_options(registry) == xs);
  CHECK(keepa_options(tool_config{}.options()) == xs);
}

TEST_CASE("every help text states the default from config/defaults.hpp",
          "[config]") {
  pipeline_config cfg;
  for (auto& opt : cfg.options()) {
    if (!is_keepa(opt))
      continue;
    auto name = str(opt.full_name());
    INFO(name << ": " << str(opt.description()));
    auto x = stated_default(opt);
    REQUIRE(!x.empty());
    auto i = expected_defaults.find(name);
    REQUIRE(i != expected_defaults.end());
    CHECK(x == i->second);
    // As one would type it; "none" stands for an empty string.
    if (x == "none")
      CHECK(str(opt.type_name()) == "string");
    else
      CHECK(opt.parse(x));
  }
}

TEST_CASE("the help text lists every keepa.* option and the program's own "
          "groups",
          "[config]") {
  tool_config cfg;
  auto text = cfg.help_text();
  INFO(text);
  for (auto& kvp : expected_defaults) {
    INFO(kvp.first);
    CHECK(text.find("--" + kvp.first) != std::string::npos);
  }
  CHECK(text.find("--tool.knob") != std::string::npos);
  CHECK(text.find("--long-help") != std::string::npos);
  // CAF's own groups stay in --long-help.
  CHECK(text.find("--scheduler.") == std::string::npos);
  CHECK(text.find("--logger.") == std::string::npos);
}

TEST_CASE("the command line takes every keepa.* option", "[config]") {
  pipeline_config cfg;
  std::vector<std::string> args{"test",
                                "--keepa.run-for=10s",
                                "--keepa.scan.interval=2min",
                                "--keepa.storage.lock-retries=5",
                                "--keepa.update.grace=96h",
                                "--keepa.filter.min-roi=0.3",
                                "--keepa.http.port=0"};
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  REQUIRE(!cfg.load(static_cast<int>(argv.size()), argv.data()));
  CHECK(caf::get_or(cfg, "keepa.run-for", caf::timespan{0})
        == std::chrono::seconds{10});
  CHECK(caf::get_or(cfg, "keepa.scan.interval", caf::timespan{0})
        == std::chrono::minutes{2});
  CHECK(caf::get_or(cfg, "keepa.storage.lock-retries", int64_t{0}) == 5);
  CHECK(caf::get_or(cfg, "keepa.update.grace", caf::timespan{0})
        == std::chrono::hours{96});
  CHECK(caf::get_or(cfg, "keepa.filter.min-roi", 0.0) == 0.3);
  CHECK(caf::get_or(cfg, "keepa.http.port", uint16_t{1}) == 0);
  // Unset options stay unset: the readers supply the defaults.
  CHECK(!caf::get_if(&cfg.content, "keepa.scan.max-backlog"));
}

TEST_CASE("the config dump shows the profile and the loaded profiles",
          "[config]") {
  pipeline_config cfg;
  auto dump = cfg.dump_content();
  CHECK(caf::get_or(dump, "keepa.profile", std::string{}) == "auto");
  CHECK(caf::get_or(dump, "keepa.profiles-dir", std::string{})
        == defaults::profiles_dir());
  auto profiles = caf::get_if<caf::settings>(&dump, "keepa.profiles");
  REQUIRE(profiles);
  CHECK(profiles->size() == 4);
  CHECK(profiles->count("below-10") == 1);
}

// Issue 17, item 1: CAF's work-stealing scheduler polls while idle.
TEST_CASE("the scheduler defaults to work sharing on two workers, and the "
          "command line overrides that",
          "[config]") {
  auto load = [](std::vector<std::string> args) {
    args.insert(args.begin(), "test");
    std::vector<char*> argv;
    for (auto& x : args)
      argv.push_back(x.data());
    auto cfg = std::make_unique<pipeline_config>();
    REQUIRE(!cfg->load(static_cast<int>(argv.size()), argv.data()));
    return cfg;
  };
  auto plain = load({});
  CHECK(caf::get_or(*plain, "scheduler.policy", caf::atom("none"))
        == caf::atom("sharing"));
  CHECK(caf::get_or(*plain, "scheduler.max-threads", size_t{0}) == 2);
  auto own = load({"--scheduler.policy=stealing", "--scheduler.max-threads=4",
                   "--work-stealing.relaxed-sleep-duration=1s"});
  CHECK(caf::get_or(*own, "scheduler.policy", caf::atom("none"))
        == caf::atom("stealing"));
  CHECK(caf::get_or(*own, "scheduler.max-threads", size_t{0}) == 4);
}
