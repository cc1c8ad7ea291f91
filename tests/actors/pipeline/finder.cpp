// Issue 21: the pipeline discovers candidates through Product Finder
// (keepa.scan.source=finder|both) in virtual time against the in-process
// simulator, with trackings lowering the refill mid-run.

#include <catch2/catch.hpp>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/stages/scanner.hpp"
#include "tests/support/harness.hpp"

using namespace pipeline_test;
using namespace keepa;

namespace {

/// keepa.scan.source = `source` with the shipped Product Finder query.
void use_source(pipeline_settings& x, const std::string& source) {
  caf::settings xs;
  caf::put(xs, "keepa.scan.source", source);
  auto cfg = scanner_config_from(xs);
  REQUIRE(cfg);
  x.scan.source = cfg->source;
  x.scan.finder_query = cfg->finder_query;
  x.scan.finder_per_page = cfg->finder_per_page;
}

} // namespace

TEST_CASE("Product Finder as the source: good deals stored, never below the "
          "floor, no 429, also while trackings take most of the refill",
          "[pipeline][finder]") {
  auto source = GENERATE(std::string{"finder"}, std::string{"both"});
  INFO("keepa.scan.source=" << source);
  sim::options opts;
  opts.refill_rate = 60;
  opts.products = 20000;
  opts.update_rate = 60;
  harness f{opts, "finder-" + source, std::chrono::minutes{5},
            [&](pipeline_settings& x) { use_source(x, source); }};
  f.run_for(std::chrono::hours{4});
  // Trackings take 45.5 of the 60 a minute from now on.
  f.model->set_flow_reduction(45.5, f.now_ms());
  f.run_for(std::chrono::hours{4});
  auto ts = f.token_status();
  auto scanner = f.status(caf::actor_cast<status_client_actor>(f.h.scanner));
  auto client = f.status(caf::actor_cast<status_client_actor>(f.h.client));
  auto stored = f.stored_deals();
  WARN(source << ": " << f.summary() << "; finder pages "
              << get_int(scanner, "finder-pages") << ", deal pages "
              << get_int(scanner, "pages") << ", stored " << stored.size()
              << ", min balance " << f.min_balance << ", refill "
              << ts.refill_rate);
  CHECK(get_int(scanner, "finder-pages") > 0);
  if (source == "finder")
    CHECK(get_int(scanner, "pages") == 0);
  else
    CHECK(get_int(scanner, "pages") > 0);
  CHECK(stored.size() > 0);
  CHECK(ts.refill_rate == 14);
  CHECK(f.min_balance >= ts.floor);
  CHECK(get_int(client, "http-429") == 0);
  f.stop_scanner();
}
