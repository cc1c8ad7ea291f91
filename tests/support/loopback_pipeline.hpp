// A whole pipeline in real time over loopback against keepa-sim: the busy
// simulator and the settings the introspection and budget-server tests
// both spawn their pipelines with.

#pragma once

#include <chrono>
#include <filesystem>

#include <catch2/catch.hpp>

#include "actors/analysis/deal_analysis.hpp"
#include "actors/pipeline/pipeline.hpp"
#include "actors/stages/scanner.hpp"
#include "actors/stages/updater.hpp"
#include "tests/support/loopback.hpp"

namespace client_test {

/// A simulator with plenty to scan: 3 000 tokens a minute, 2 000 books,
/// 300 updates a minute.
inline keepa::sim::options busy_sim() {
  auto o = sim_options();
  o.refill_rate = 3000;
  o.products = 2000;
  o.update_rate = 300;
  return o;
}

/// Settings for a pipeline against `srv` with TOKEN `token`, its SQLite
/// file in `dir` and its log in `logs`; scan passes every 5 s.
inline keepa::pipeline_settings
loopback_pipeline_settings(const keepa::token_config& token,
                           const sim_server& srv,
                           const std::filesystem::path& dir,
                           log_capture& logs) {
  keepa::pipeline_settings s;
  s.token = token;
  s.client.endpoint = srv.endpoint();
  s.client.key = secret_key;
  s.client.seed = 7;
  s.storage.url = "sqlite:" + (dir / "deals.db").string();
  auto scan = keepa::scanner_config_from(caf::settings{});
  REQUIRE(scan);
  s.scan = *scan;
  // A pass whose books are all remembered hands the peek-filter nothing,
  // so only the interval brings the next pass (and its scan tokens).
  s.scan.interval = std::chrono::seconds{5};
  // The scanner waits for Keepa's result sets to expire (120 s) before it
  // asks again; here a pass every 5 s is what the tests watch for.
  s.scan.deal_cache = std::chrono::seconds{5};
  auto update = keepa::updater_config_from(caf::settings{});
  REQUIRE(update);
  s.update = *update;
  auto analysis = keepa::analysis_config_from(caf::settings{});
  REQUIRE(analysis);
  s.analysis = *analysis;
  s.log = logs.sink();
  s.unix0_ms = wall_ms();
  return s;
}

} // namespace client_test
