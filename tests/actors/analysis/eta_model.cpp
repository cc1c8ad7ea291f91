// The ETA model keepa-eta --eta.from and keepa-pipeline's max-deals ETA
// share: fitting a run's counters, refusing too little, and the time to N
// more deals as the feed or the plan limits it.

#include <catch2/catch.hpp>

#include "actors/analysis/eta_model.hpp"
#include "messages/error.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

/// An hour: 600 feed items, 300 peeks, 60 pass, 30 deals, 30 tokens a deal.
run_sample hour_of_run() {
  run_sample x;
  x.run_time = 1h;
  x.feed_items = 600;
  x.peeks = 300;
  x.passes = 60;
  x.commits = 30;
  x.tokens[static_cast<size_t>(stage::scan)] = 100;
  x.tokens[static_cast<size_t>(stage::peek)] = 500;
  x.tokens[static_cast<size_t>(stage::commit)] = 300;
  x.refill_rate = 20;
  x.stored = 30;
  return x;
}

double hours(caf::timespan x) {
  return std::chrono::duration<double, std::ratio<3600>>(x).count();
}

} // namespace

TEST_CASE("fit turns a run's counters into rates", "[eta_model]") {
  auto m = fit(hour_of_run());
  REQUIRE(m);
  CHECK(m->feed_per_hour == Approx(600));
  CHECK(m->pass_rate == Approx(0.2));
  CHECK(m->good_rate == Approx(0.1));
  CHECK(m->good_per_feed == Approx(0.05));
  CHECK(m->tokens_per_deal == Approx(30));
  CHECK(m->refresh_per_deal_hour == 0);
  CHECK_THAT(describe(*m),
             Catch::Contains(
               "fitted from 300 peeks, 30 deals and 600 feed "
               "items over 1 h 0 min of running: 20 % pass a peek, "
               "10 % good, "
               "30.0 tokens/deal"));
}

TEST_CASE("fit refuses a sample too small to say anything", "[eta_model]") {
  auto refused = [](run_sample x) {
    auto m = fit(x);
    REQUIRE_FALSE(m);
    CHECK(m.error() == ec::invalid_config);
    return render(m.error());
  };
  auto x = hour_of_run();
  x.run_time = 10s;
  CHECK_THAT(refused(x),
             Catch::Contains("too little data to fit: needs 30 s "
                             "of running time"));
  x = hour_of_run();
  x.peeks = 29;
  CHECK_THAT(refused(x), Catch::Contains("needs 30 peeks (have 29 peeks"));
  x = hour_of_run();
  x.commits = 2;
  CHECK_THAT(refused(x), Catch::Contains("needs 3 committed deals"));
  x = hour_of_run();
  x.tokens = {};
  CHECK_THAT(refused(x), Catch::Contains("no tokens counted"));
  CHECK_THAT(refused(run_sample{}), Catch::Contains("too little data"));
}

TEST_CASE("the ETA follows the limit: the feed or the plan", "[eta_model]") {
  auto m = *fit(hour_of_run());
  // Feed-limited: 30 deals/h from the feed; 20 tokens/min pay for 40/h.
  auto a = estimate(m, eta_plan{20, 0}, 30, 60);
  REQUIRE(a.reachable);
  CHECK_FALSE(a.plan_limited);
  CHECK(a.deals_per_hour == Approx(30));
  CHECK(hours(a.time) == Approx(2));
  // Plan-limited: 5 tokens/min pay for 10 deals/h.
  auto b = estimate(m, eta_plan{5, 0}, 30, 60);
  REQUIRE(b.reachable);
  CHECK(b.plan_limited);
  CHECK(hours(b.time) == Approx(6));
  // A balance pays for deals ahead of the refill: 300 tokens = 1 h of 5/min.
  CHECK(hours(estimate(m, eta_plan{5, 300}, 30, 60).time) == Approx(5));
  // The answer changes with the data: dearer deals take longer.
  auto dear = hour_of_run();
  dear.tokens[static_cast<size_t>(stage::commit)] += 900;
  CHECK(hours(estimate(*fit(dear), eta_plan{5, 0}, 30, 60).time) == Approx(12));
  CHECK(estimate(m, eta_plan{5, 0}, 30, 0).time == caf::timespan{0});
}

TEST_CASE("refreshes cap the deals a plan keeps", "[eta_model]") {
  auto x = hour_of_run();
  // 0.5 refresh tokens per stored deal and hour.
  x.tokens[static_cast<size_t>(stage::update)] = 15;
  auto m = *fit(x);
  CHECK(m.refresh_per_deal_hour == Approx(0.5));
  // 20 tokens/min = 1200/h keep at most 2400 deals.
  auto a = estimate(m, eta_plan{20, 0}, 30, 3000);
  CHECK_FALSE(a.reachable);
  CHECK(a.ceiling == 2400);
  // Below the ceiling: the feed limits up to (1200 - 30 * 30) / 0.5 = 600
  // deals, the plan after it, ever slower.
  auto b = estimate(m, eta_plan{20, 0}, 30, 1000);
  REQUIRE(b.reachable);
  auto feed_part = (600.0 - 30) / 30;
  auto plan_part = 30 / 0.5
    * std::log((1200 - 0.5 * 600) / (1200 - 0.5 * 1030));
  CHECK(hours(b.time) == Approx(feed_part + plan_part));
}

TEST_CASE("a sample round-trips through system_state values", "[eta_model]") {
  auto x = hour_of_run();
  x.stored = 0;
  auto back = sample_from_state(to_state(x));
  REQUIRE(back);
  CHECK(to_state(*back) == to_state(x));
  CHECK(back->run_time == x.run_time);
  CHECK(back->tokens == x.tokens);
  auto bad = to_state(x);
  bad.emplace_back("run.peeks", "12x");
  auto err = sample_from_state(bad);
  REQUIRE_FALSE(err);
  CHECK_THAT(render(err.error()),
             Catch::Contains("run.peeks: expected a whole number >= 0, got "
                             "\"12x\""));
  // Adding samples adds counters; the newer plan wins.
  auto sum = x;
  auto more = hour_of_run();
  more.refill_rate = 60;
  sum += more;
  CHECK(sum.run_time == 2h);
  CHECK(sum.peeks == 600);
  CHECK(sum.refill_rate == 60);
}

TEST_CASE("durations read as people say them", "[eta_model]") {
  CHECK(human_duration(40s) == "40 s");
  CHECK(human_duration(711s) == "11 min 51 s");
  CHECK(human_duration(5h + 12min) == "5 h 12 min");
  CHECK(human_duration(27h) == "1 d 3 h");
}

TEST_CASE("the feed rate is over the feed's own time, not the reading's",
          "[eta_model]") {
  // A first pass reads two hours of backlog within a minute of running.
  auto x = hour_of_run();
  x.run_time = 1min;
  x.feed_first = 8000000;
  x.feed_last = 8000000 + 119;
  auto m = fit(x);
  REQUIRE(m);
  CHECK(m->feed_per_hour == Approx(300));
  CHECK_THAT(describe(*m),
             Catch::Contains("600 feed items (2 h 0 min of feed) over "
                             "1 min 0 s of running"));
  // Another run widens the span.
  auto y = x;
  y.feed_first = 8000000 + 100;
  y.feed_last = 8000000 + 239;
  x += y;
  CHECK(x.feed_span() == std::chrono::minutes{240});
  CHECK(x.feed_items == 1200);
}
