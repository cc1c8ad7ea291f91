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

namespace {

bench_row row(const char* strategy, int64_t rate, uint64_t good,
              int64_t consumed) {
  bench_row r;
  r.rate = rate;
  r.pressure = 10;
  r.strategy = strategy;
  r.oracle = r.strategy == "oracle";
  r.hours = 24;
  r.stored = r.stored_good = good;
  r.committed = good;
  r.good_in_feed = 50;
  r.consumed = consumed;
  r.generated = 1000;
  return r;
}

/// The CSV's last field on the line that starts with `prefix`.
std::string last_csv_field(const std::string& csv, const std::string& prefix) {
  auto at = csv.find("\n" + prefix);
  if (at == std::string::npos)
    return "(no line " + prefix + ")";
  auto end = csv.find('\n', at + 1);
  auto line = csv.substr(at + 1, end - at - 1);
  return line.substr(line.rfind(',') + 1);
}

} // namespace

TEST_CASE("keepa-bench: good deals per 1 000 tokens against the seeds' "
          "configuration, and the most a plan spent to 99 % allows",
          "[bench]") {
  bench_options opts;
  std::vector<bench_row> rows{
    row("keepa-pipeline", 5, 40, 1000), row(seeds_strategy, 5, 20, 1000),
    row("oracle", 5, 50, 500),
    // A plan without the seeds' row: nothing to compare with.
    row("keepa-pipeline", 20, 30, 1000), row("oracle", 20, 50, 500)};
  auto table = render_table(opts, rows);
  INFO(table);
  // 40 against 20 good per 1 000 tokens; the oracle 100.
  CHECK(table.find(" 40.00   2.00 x ") != std::string::npos);
  CHECK(table.find(" 20.00   1.00 x ") != std::string::npos);
  CHECK(table.find("100.00   5.00 x ") != std::string::npos);
  // All 50 good deals on 990 of the 1 000 tokens: 50.51 per 1 000.
  CHECK(table.find("spending 99 % of the plan, at most 50.51 good/1k tok "
                   "(every good deal the feed showed): 2.53 x seeds")
        != std::string::npos);
  auto r20 = table.substr(table.find("R = 20 "));
  CHECK(r20.find(" 30.00        - ") != std::string::npos);
  CHECK(r20.find("spending 99 %") == std::string::npos);
  auto csv = render_csv(rows);
  CHECK(csv.substr(0, csv.find('\n')).find(",of_seeds") != std::string::npos);
  CHECK(last_csv_field(csv, "10.000,5,keepa-pipeline,") == "2.0000");
  CHECK(last_csv_field(csv, "10.000,5,oracle,") == "5.0000");
  CHECK(last_csv_field(csv, "10.000,20,keepa-pipeline,") == "-1.0000");
}
