// Fault switches: each one alone at rate 1, latency, and replay from the
// seed.

#include <catch2/catch.hpp>

#include <set>

#include "tests/support/sim_helpers.hpp"

using namespace sim_test;
using keepa::sim::fault;
using keepa::sim::model;

namespace {

keepa::sim::request product(model& m) {
  return get("/product", {{"domain", "1"}, {"asin", join(m.asins(), 10)}});
}

} // namespace

TEST_CASE("sim faults: 5xx answers 500 with an error and costs nothing",
          "[sim]") {
  auto o = small();
  o.rate_5xx = 1;
  model m{o};
  auto a = m.handle(product(m), t0);
  CHECK(a.status == 500);
  auto d = parse(a.body);
  CHECK(std::string{d["error"]["type"].GetString()} == "INTERNAL_SERVER_ERROR");
  CHECK(d["tokensConsumed"].GetInt() == 0);
  CHECK(m.balance(t0) == 300);
}

TEST_CASE("sim faults: timeouts and resets are transport faults; the "
          "request was charged",
          "[sim]") {
  auto o = small();
  o.rate_timeout = 1;
  o.timeout_hold_ms = 1234;
  model m{o};
  auto a = m.handle(product(m), t0);
  CHECK(a.transport == fault::timeout);
  CHECK(a.latency_ms == 1234);
  CHECK(a.tokens_consumed == 10);
  CHECK(m.balance(t0) == 290);
  o.rate_timeout = 0;
  o.rate_reset = 1;
  model r{o};
  auto b = r.handle(product(r), t0);
  CHECK(b.transport == fault::reset);
  CHECK(r.balance(t0) == 290);
}

TEST_CASE("sim faults: malformed and truncated bodies do not parse", "[sim]") {
  auto o = small();
  model clean{o};
  auto good = clean.handle(product(clean), t0);
  REQUIRE(parses(good.body));
  o.rate_malformed = 1;
  model bad{o};
  for (int i = 0; i < 20; ++i) {
    auto a = bad.handle(product(bad), t0 + i);
    CHECK(a.status == 200);
    CHECK(a.transport == fault::none);
    CHECK_FALSE(parses(a.body));
  }
  o.rate_malformed = 0;
  o.rate_truncated = 1;
  model cut{o};
  for (int i = 0; i < 20; ++i) {
    auto a = cut.handle(product(cut), t0 + i);
    CHECK(a.status == 200);
    CHECK_FALSE(parses(a.body));
    CHECK(a.body.size() < good.body.size());
  }
}

TEST_CASE("sim faults: a 429 storm answers storm_length 429s while tokens "
          "are left",
          "[sim]") {
  auto o = small();
  o.rate_429_storm = 0.05;
  o.storm_length = 6;
  model m{o};
  int run = 0;
  int longest = 0;
  int storms = 0;
  for (int i = 0; i < 400; ++i) {
    auto a = m.handle(get("/token", {}), t0 + i);
    auto d = parse(a.body);
    if (a.status == 429) {
      CHECK(d["tokensLeft"].GetInt64() > 0);
      CHECK(std::string{d["error"]["type"].GetString()} == "NOT_ENOUGH_TOKEN");
      if (run == 0)
        ++storms;
      ++run;
    } else {
      CHECK(a.status == 200);
      // Storms come in whole runs (another may start right after one).
      CHECK(run % 6 == 0);
      longest = std::max(longest, run);
      run = 0;
    }
  }
  CHECK(storms > 3);
  CHECK(longest >= 6);
}

TEST_CASE("sim faults: latency is passed on; a seed replays the same "
          "faults",
          "[sim]") {
  auto o = small();
  o.latency_ms = 250;
  o.rate_5xx = 0.1;
  o.rate_timeout = 0.1;
  o.rate_reset = 0.1;
  o.rate_malformed = 0.1;
  o.rate_truncated = 0.1;
  o.rate_429_storm = 0.02;
  o.refill_rate = 1000;
  auto run = [&](uint64_t seed) {
    o.seed = seed;
    model m{o};
    std::vector<std::string> trace;
    for (int i = 0; i < 200; ++i) {
      auto a = m.handle(product(m), t0 + i * 1000);
      if (a.transport == fault::none)
        CHECK(a.latency_ms == 250);
      trace.push_back(std::to_string(a.status) + "/"
                      + std::to_string(static_cast<int>(a.transport)) + "/"
                      + a.body);
    }
    return trace;
  };
  auto a = run(7);
  auto b = run(7);
  CHECK(a == b);
  CHECK(run(8) != a);
  std::set<std::string> kinds;
  for (auto& t : a)
    kinds.insert(t.substr(0, 5));
  CHECK(kinds.size() >= 4);
}

TEST_CASE("sim faults: a failed offer fetch costs 1 and keeps the history",
          "[sim]") {
  auto o = small();
  o.rate_offers_fail = 1;
  model m{o};
  auto a = m.handle(
    get("/product",
        {{"domain", "1"}, {"asin", join(m.asins(), 10)}, {"offers", "40"}}),
    t0);
  REQUIRE(a.status == 200);
  auto d = parse(a.body);
  CHECK(d["tokensConsumed"].GetInt() == 10);
  for (auto& p : d["products"].GetArray()) {
    CHECK_FALSE(p["offersSuccessful"].GetBool());
    CHECK(p["liveOffersOrder"].Size() == 0);
    CHECK(p["csv"][2].IsArray());
  }
}
