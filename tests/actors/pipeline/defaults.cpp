// One default per option: every `*_config{}` equals what its reader yields
// on empty settings, and on settings holding the default each help text
// states (so help, struct and reader cannot drift apart).

#include <cstdlib>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <caf/config_option.hpp>
#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/analysis/deal_analysis.hpp"
#include "actors/client/keepa_client.hpp"
#include "actors/stages/committer.hpp"
#include "actors/stages/peek_filter.hpp"
#include "actors/stages/scanner.hpp"
#include "actors/stages/updater.hpp"
#include "actors/storage/storage.hpp"
#include "actors/token/token.hpp"
#include "config/defaults.hpp"
#include "config/pipeline_config.hpp"
#include "tools/keepa-pipeline/service.hpp"

using namespace keepa;

namespace {

std::string str(caf::string_view x) {
  return {x.begin(), x.end()};
}

/// Sets KEEPA_API_KEY (client_config_from needs a key) for one scope.
struct api_key_env {
  std::optional<std::string> saved;
  api_key_env() {
    if (auto* x = std::getenv("KEEPA_API_KEY"))
      saved = x;
    setenv("KEEPA_API_KEY", "test-key", 1);
  }
  ~api_key_env() {
    if (saved)
      setenv("KEEPA_API_KEY", saved->c_str(), 1);
    else
      unsetenv("KEEPA_API_KEY");
  }
};

/// Every keepa.* option set to the value its help text states
/// ("(default X)"); "none" (an empty string) stays unset.
caf::settings stated_defaults() {
  pipeline_config cfg;
  caf::settings result;
  for (auto& opt : cfg.options()) {
    auto name = str(opt.full_name());
    if (name.compare(0, 6, "keepa.") != 0)
      continue;
    INFO(name << ": " << str(opt.description()));
    auto text = str(opt.description());
    auto pos = text.rfind(" (default ");
    REQUIRE(pos != std::string::npos);
    auto x = text.substr(pos + 10, text.size() - pos - 11);
    if (x == "none")
      continue;
    auto value = opt.parse(x);
    REQUIRE(value);
    caf::put(result, name, std::move(*value));
  }
  return result;
}

void check_equal(const analysis_config& x, const analysis_config& y) {
  CHECK(x.min_sell_price == y.min_sell_price);
  CHECK(x.max_buy_to_sell == y.max_buy_to_sell);
  CHECK(x.min_roi == y.min_roi);
  CHECK(x.min_rank_drops == y.min_rank_drops);
  CHECK(x.min_price == y.min_price);
  CHECK(x.max_price == y.max_price);
  CHECK(x.memory == y.memory);
  CHECK(x.peek_profit == y.peek_profit);
  CHECK(x.prep_fee == y.prep_fee);
  CHECK(x.inbound_shipping == y.inbound_shipping);
  CHECK(x.tax_percent == y.tax_percent);
  CHECK(x.markup == y.markup);
  CHECK(x.referral_percent == y.referral_percent);
  CHECK(x.pick_pack_fee == y.pick_pack_fee);
  CHECK(x.min_profit == y.min_profit);
}

void check_equal(const updater_config& x, const updater_config& y) {
  CHECK(x.interval == y.interval);
  CHECK(x.refresh_after == y.refresh_after);
  CHECK(x.grace == y.grace);
}

void check_equal(const scanner_config& x, const scanner_config& y) {
  CHECK(x.interval == y.interval);
  CHECK(x.max_backlog == y.max_backlog);
}

void check_equal(const storage_config& x, const storage_config& y) {
  CHECK(x.url == y.url);
  CHECK(x.busy_timeout == y.busy_timeout);
  CHECK(x.lock_retries == y.lock_retries);
}

/// Everything but the key, which only the reader loads.
void check_equal(const client_config& x, const client_config& y) {
  CHECK(x.endpoint == y.endpoint);
  CHECK(x.attempts == y.attempts);
  CHECK(x.backoff == y.backoff);
  CHECK(x.backoff_max == y.backoff_max);
  CHECK(x.transport.timeout == y.transport.timeout);
  CHECK(x.transport.connect_timeout == y.transport.connect_timeout);
  CHECK(x.transport.max_answer_bytes == y.transport.max_answer_bytes);
  CHECK(x.transport.max_connections == y.transport.max_connections);
  CHECK(x.transport.gzip == y.transport.gzip);
  CHECK(x.transport.ca_file == y.transport.ca_file);
  CHECK(x.max_auth_failures == y.max_auth_failures);
}

/// Everything but the profiles, which only the reader loads.
void check_equal(const token_config& x, const token_config& y) {
  CHECK(x.profile_name == y.profile_name);
  CHECK(x.max_observation_age == y.max_observation_age);
  CHECK(x.stagger == y.stagger);
  CHECK(x.ticket_grace == y.ticket_grace);
  CHECK(x.grant_ttl == y.grant_ttl);
  CHECK(x.probe_retry == y.probe_retry);
}

void check_equal(const introspection_options& x,
                 const introspection_options& y) {
  CHECK(x.publish == y.publish);
  CHECK(x.host == y.host);
  CHECK(x.port == y.port);
  CHECK(x.serve_http == y.serve_http);
  CHECK(x.http_host == y.http_host);
  CHECK(x.http_port == y.http_port);
  CHECK(x.token_file == y.token_file);
  CHECK(x.ask_timeout == y.ask_timeout);
  CHECK(x.health.ready_max_age == y.health.ready_max_age);
  CHECK(x.health.max_observation_age == y.health.max_observation_age);
}

/// Runs every reader on `xs` and compares with the struct defaults.
void check_readers(const caf::settings& xs) {
  SECTION("analysis") {
    auto c = analysis_config_from(xs);
    REQUIRE(c);
    check_equal(*c, analysis_config{});
  }
  SECTION("updater") {
    auto c = updater_config_from(xs);
    REQUIRE(c);
    check_equal(*c, updater_config{});
  }
  SECTION("scanner") {
    auto c = scanner_config_from(xs);
    REQUIRE(c);
    check_equal(*c, scanner_config{});
    CHECK(!c->selection.empty());
  }
  SECTION("storage") {
    check_equal(storage_config_from(xs), storage_config{});
  }
  SECTION("client") {
    api_key_env env;
    auto c = client_config_from(xs);
    REQUIRE(c);
    check_equal(*c, client_config{});
    CHECK(c->key == "test-key");
  }
  SECTION("token") {
    pipeline_config cfg;
    cfg.content = xs;
    REQUIRE(!load_profiles(cfg));
    auto c = token_config_from(cfg);
    check_equal(c, token_config{});
    CHECK(c.profiles.size() == 4);
  }
  SECTION("introspection") {
    check_equal(introspection_options_from(xs), introspection_options{});
  }
}

} // namespace

TEST_CASE("every *_config{} default is its reader's on empty settings",
          "[pipeline][defaults]") {
  check_readers(caf::settings{});
}

TEST_CASE("the default each help text states is the readers' default",
          "[pipeline][defaults]") {
  auto xs = stated_defaults();
  check_readers(xs);
  // Run control, read by keepa-pipeline's main().
  CHECK(caf::get_or(xs, "keepa.run-for", caf::timespan{1})
        == defaults::run_for);
  CHECK(caf::get_or(xs, "keepa.max-deals", size_t{1}) == defaults::max_deals);
  CHECK(caf::get_or(xs, "keepa.status-every", caf::timespan{0})
        == defaults::status_every);
}

TEST_CASE("settings without an option take config/defaults.hpp too",
          "[pipeline][defaults]") {
  // TOKEN's scheduler policy defaults to the keepa.token.* values.
  scheduler_policy policy;
  token_config token;
  CHECK(policy.stagger == token.stagger);
  CHECK(policy.ticket_grace == token.ticket_grace);
  CHECK(policy.grant_ttl == token.grant_ttl);
  CHECK(policy.no_observation_retry == token.probe_retry);
  peek_filter_config peek;
  CHECK(peek.stats == defaults::peek::stats);
  CHECK(peek.max_in_flight == defaults::peek::max_in_flight);
  CHECK(peek.attempts == defaults::peek::attempts);
  committer_config commit;
  CHECK(commit.max_in_flight == defaults::commit::max_in_flight);
  CHECK(commit.attempts == defaults::commit::attempts);
}
