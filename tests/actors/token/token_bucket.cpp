#include "actors/token/token_bucket.hpp"

#include <limits>

#include <catch2/catch.hpp>

using namespace keepa;
using namespace std::chrono_literals;

namespace {

time_point t0() {
  return time_point{} + 24h;
}

} // namespace

TEST_CASE("a bucket without observation projects nothing", "[token_bucket]") {
  token_bucket b;
  CHECK_FALSE(b.has_observation());
  CHECK(b.earliest(1, 0, t0()) == time_point::max());
}

TEST_CASE("refills arrive in whole steps at the observed phase",
          "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(-8, 20'000, 25, 1000, t0()));
  CHECK(b.cap() == 1500);
  CHECK(b.projected(t0()) == -8);
  CHECK(b.projected(t0() + 19'999ms) == -8);
  CHECK(b.projected(t0() + 20s) == 17);
  CHECK(b.projected(t0() + 80s - 1ms) == 17);
  CHECK(b.projected(t0() + 80s) == 42); // AA saw -8 -> +42 on 25/min
  CHECK(b.next_refill_after(t0()) == t0() + 20s);
  CHECK(b.next_refill_after(t0() + 20s) == t0() + 80s);
}

TEST_CASE("the balance caps at 60 x R", "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(290, 1'000, 5, 1000, t0()));
  CHECK(b.projected(t0() + 1s) == 295);
  CHECK(b.projected(t0() + 61s) == 300);
  CHECK(b.projected(t0() + 10h) == 300);
  // Steps at 1 s, 61 s, 121 s: 290 + 15 = 305, capped at 300, 5 lost.
  CHECK(b.lost_at_cap(t0(), t0() + 121s) == 5);
  CHECK(b.lost_at_cap(t0(), t0() + 1s) == 0);
}

TEST_CASE("earliest finds the exact step a target is reached",
          "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(-100, 30'000, 5, 1000, t0()));
  // Need -100 + 5k >= 1 -> k = 21 steps -> first step + 20 minutes.
  auto at = b.earliest(1, 0, t0());
  CHECK(at == t0() + 30s + 20min);
  CHECK(b.projected(at) == 5);
  CHECK(b.projected(at - 1ns) == 0);
  // With 50 tokens spent since the observation: 10 more steps.
  CHECK(b.earliest(1, 50, t0()) == t0() + 30s + 30min);
  // Already affordable: now.
  CHECK(b.earliest(-200, 0, t0() + 5s) == t0() + 5s);
  // Above the cap: never.
  CHECK(b.earliest(301, 0, t0()) == time_point::max());
}

TEST_CASE("older observations never replace newer ones", "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(100, 10'000, 5, 2000, t0()));
  CHECK_FALSE(b.observe(50, 10'000, 5, 1000, t0() + 1s));
  CHECK(b.projected(t0() + 1s) == 100);
  CHECK(b.observe(40, 10'000, 5, 3000, t0() + 2s));
  CHECK(b.projected(t0() + 2s) == 40);
}

TEST_CASE("the projection never overestimates Keepa's balance",
          "[token_bucket]") {
  // Keepa steps at server time; the answer arrives `delay` later, so the
  // local model steps `delay` late and is never ahead of Keepa.
  for (auto delay : {0ms, 5ms, 250ms, 2000ms}) {
    token_bucket b;
    auto server_step = t0() + 10s;
    // Observation taken by Keepa at t0(): refillIn = 10 s.
    REQUIRE(b.observe(0, 10'000, 20, 1000, t0() + delay));
    for (auto t = t0(); t < t0() + 10min; t += 100ms) {
      int64_t keepa = t < server_step
        ? 0
        : std::min<int64_t>(1200, 20 * (1 + (t - server_step) / 1min));
      INFO("delay " << delay.count() << " ms");
      REQUIRE(b.projected(t) <= keepa);
    }
  }
}

// Issue 16, item 6: absurd rates made cap = 60 x R overflow (and balances of
// 1e300 clamp to INT64_MAX); such observations are refused, whatever came
// before stays.
TEST_CASE("absurd rates and balances are refused", "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(100, 10'000, 20, 1000, t0()));
  CHECK_FALSE(b.observe(100, 10'000, INT64_MAX, 2000, t0()));
  CHECK_FALSE(b.observe(100, 10'000, -5, 2000, t0()));
  CHECK_FALSE(b.observe(INT64_MAX, 10'000, 20, 2000, t0()));
  CHECK_FALSE(b.observe(INT64_MIN, 10'000, 20, 2000, t0()));
  CHECK(b.rate() == 20);
  CHECK(b.cap() == 1200);
  CHECK(b.projected(t0() + 1h) == 1200);
  // The largest accepted rate projects far ahead without overflowing.
  REQUIRE(b.observe(-100, 10'000, max_refill_rate, 3000, t0()));
  CHECK(b.cap() == 60 * max_refill_rate);
  CHECK(b.projected(time_point::max()) == b.cap());
}

// Issue 21: refillRate is taken as gross (Q9); the bucket refills and caps
// with refillRate - tokenFlowReduction, rounded down.
TEST_CASE("the bucket refills at the net rate", "[token_bucket]") {
  token_bucket b;
  REQUIRE(b.observe(-100, 30'000, 20, 1000, t0(), 15.5));
  CHECK(b.rate() == 4);
  CHECK(b.gross_rate() == 20);
  CHECK(b.flow_reduction() == 15.5);
  CHECK(b.cap() == 240);
  // -100 + 4k >= 1 -> 26 steps: first step at 30 s, then 25 minutes.
  CHECK(b.earliest(1, 0, t0()) == t0() + 30s + 25min);
  CHECK(b.projected(t0() + 30s) == -96);
  // A reduction of the whole rate or more: nothing refills.
  REQUIRE(b.observe(50, 30'000, 20, 2000, t0(), 20.0));
  CHECK(b.rate() == 0);
  CHECK(b.projected(t0() + 1h) == 50);
  CHECK(net_refill_rate(20, 25.0) == 0);
  CHECK(net_refill_rate(20, 0.9) == 19);
  // A negative or non-finite reduction is no observation.
  CHECK_FALSE(b.observe(50, 30'000, 20, 3000, t0(), -1.0));
  CHECK_FALSE(b.observe(50, 30'000, 20, 3000, t0(),
                        std::numeric_limits<double>::infinity()));
  CHECK(b.rate() == 0);
}
