// keepa-bench's figures: the oracle spends only on scan pages and commits,
// and the distinct-deal figures and feed recall add up.

#include <catch2/catch.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tools/keepa-bench/bench.hpp"

using namespace keepa;

TEST_CASE("keepa-bench: the oracle pays no peek and stores only good deals; "
          "rows come per pressure and plan",
          "[bench]") {
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  bench_options opts;
  opts.rates = {5};
  opts.pressures = {2, 10};
  opts.only = {"keepa-pipeline", "oracle"};
  opts.duration = std::chrono::hours{3};
  opts.sim.products = 5000;
  opts.sim.seed = 7;
  opts.jobs = 2;
  auto rows = run_bench(opts, cfg);
  INFO((rows ? std::string{} : render(rows.error())));
  REQUIRE(rows);
  REQUIRE(rows->size() == 4);
  for (auto& r : *rows) {
    INFO(r.strategy << " at pressure " << r.pressure);
    CHECK(r.oracle == (r.strategy == "oracle"));
    CHECK(r.stored_good <= r.stored);
    CHECK(r.stored_good <= r.good_in_feed);
    CHECK(r.stored <= r.committed);
    CHECK(r.recall() <= 1.0);
    CHECK(r.good_in_feed > 0);
    CHECK(r.http_429 == 0);
    if (r.oracle) {
      CHECK(r.peek_tokens == 0);
      CHECK(r.stored > 0);
      CHECK(r.stored_good == r.stored);
    } else {
      CHECK(r.peek_tokens > 0);
    }
  }
  CHECK((*rows)[0].pressure == 2);
  CHECK((*rows)[2].pressure == 10);
  auto table = render_table(opts, *rows);
  CHECK(table.find("feed pressure 10.0") != std::string::npos);
  CHECK(table.find("100.0 %") != std::string::npos);
}
