// keepa-eta's core: the real pipeline in virtual time until N deals are
// stored, with the token breakdown.

#include <catch2/catch.hpp>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/token.hpp"
#include "tools/keepa-eta/eta.hpp"

using namespace keepa;

namespace {

eta_options small_plan(int64_t rate, uint64_t target) {
  eta_options o;
  o.sim.refill_rate = rate;
  o.sim.products = 4000;
  o.sim.update_rate = 20;
  o.target = target;
  o.limit = std::chrono::hours{24 * 30};
  return o;
}

eta_result run(const eta_options& o) {
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  auto r = run_eta(o, cfg);
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("keepa-eta reaches the target and accounts for every token",
          "[eta]") {
  auto o = small_plan(20, 60);
  auto r = run(o);
  INFO(render(o, r));
  CHECK(r.reached);
  CHECK(r.deals >= o.target);
  // The run checks every minute near the target, so the ETA is a whole
  // minute and the deals at most a minute's worth beyond the target.
  auto minute = caf::timespan{std::chrono::minutes{1}};
  CHECK(r.elapsed.count() % minute.count() == 0);
  CHECK(r.deals <= o.target + 5);
  CHECK(r.elapsed > caf::timespan::zero());
  int64_t by_stage = 0;
  for (auto x : r.by_stage)
    by_stage += x;
  CHECK(by_stage == r.consumed);
  CHECK(r.by_stage[static_cast<size_t>(stage::peek)] > 0);
  CHECK(r.by_stage[static_cast<size_t>(stage::commit)] > 0);
  // Never more than the plan gave plus the floor the pipeline may dip to.
  CHECK(r.consumed + r.lost_at_cap <= r.generated + 180);
  CHECK(r.min_balance > -180);
  auto text = render(o, r);
  CHECK(text.find("ETA for 60 deals:") != std::string::npos);
  CHECK(text.find("lost at cap") != std::string::npos);
}

TEST_CASE("a bigger plan reaches the same target sooner", "[eta]") {
  // Beyond what the starting balance buys (the best books go first, so the
  // first ten deals take a minute on either plan).
  auto slow = run(small_plan(5, 30));
  auto fast = run(small_plan(60, 30));
  REQUIRE(slow.reached);
  REQUIRE(fast.reached);
  CHECK(fast.elapsed < slow.elapsed);
}

TEST_CASE("keepa-eta says when the target is out of reach", "[eta]") {
  auto o = small_plan(5, 100000);
  o.limit = std::chrono::hours{6};
  auto r = run(o);
  CHECK_FALSE(r.reached);
  CHECK(r.elapsed == o.limit);
  auto text = render(o, r);
  CHECK(text.find("not reached") != std::string::npos);
  // 5 tokens/min, refreshed daily: at most about 7200 deals.
  CHECK(text.find("at most about 7200 deals") != std::string::npos);
  // 4000 books hold far fewer good deals than 100000.
  CHECK(text.find("deals need more than ") != std::string::npos);
}

TEST_CASE("keepa-eta stops early once the recent growth cannot reach the "
          "target",
          "[eta]") {
  // 4000 books hold about 120 good deals: 1000 is out of reach.
  auto o = small_plan(5, 1000);
  o.limit = std::chrono::hours{24 * 365};
  o.window = std::chrono::hours{24 * 2};
  auto r = run(o);
  INFO(render(o, r));
  CHECK_FALSE(r.reached);
  CHECK(r.out_of_reach);
  CHECK(r.elapsed >= o.window);
  CHECK(r.elapsed < o.limit);
  CHECK(double(r.deals) + r.recent_per_day * 363 < 1000.0);
  CHECK(render(o, r).find("out of reach: ") != std::string::npos);
  // And it says why: the catalogue has too few good deals.
  CHECK(r.catalogue_good > 0);
  CHECK(r.catalogue_good < 1000);
  CHECK(r.deals <= r.catalogue_good);
  CHECK_THAT(render(o, r),
             Catch::Contains("catalogue holds only "
                             + std::to_string(r.catalogue_good)
                             + " good deals"));
  // Without the window it runs to the limit.
  o.window = caf::timespan::zero();
  o.limit = std::chrono::hours{24 * 3};
  auto full = run(o);
  CHECK_FALSE(full.out_of_reach);
  CHECK(full.elapsed == o.limit);
}

TEST_CASE("keepa-eta rejects bad options with a readable error", "[eta]") {
  auto err_of = [](caf::settings xs) {
    auto r = eta_options_from(xs);
    REQUIRE_FALSE(r);
    return render(r.error());
  };
  caf::settings xs;
  caf::put(xs, "eta.products", int64_t{0});
  CHECK_THAT(err_of(xs), Catch::Contains("eta.products"));
  xs.clear();
  caf::put(xs, "eta.good-fraction", 0.5);
  CHECK_THAT(err_of(xs), Catch::Contains("good-fraction"));
  xs.clear();
  caf::put(xs, "eta.update-rate", -1.0);
  CHECK_THAT(err_of(xs), Catch::Contains("update-rate"));
  xs.clear();
  caf::put(xs, "eta.window", caf::timespan{-1});
  CHECK_THAT(err_of(xs), Catch::Contains("eta.window"));
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  auto o = small_plan(5, 0);
  auto r = run_eta(o, cfg);
  REQUIRE_FALSE(r);
  CHECK_THAT(render(r.error()), Catch::Contains("eta.deals"));
  auto defaults = eta_options_from(caf::settings{});
  REQUIRE(defaults);
  CHECK(defaults->target == 10000);
  CHECK(defaults->sim.refill_rate == 5);
}
