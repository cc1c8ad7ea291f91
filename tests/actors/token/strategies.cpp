// The seeds' token strategies as scheduler policies (keepa-bench runs the
// pipeline under each): consumers that always want tokens against a model
// of Keepa's bucket, in virtual time.

#include "actors/token/token_scheduler.hpp"

#include <catch2/catch.hpp>

#include "tests/support/bucket_model.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

time_point t0() {
  return time_point{} + 24h;
}

scheduler_policy policy_of(token_strategy x) {
  scheduler_policy p;
  p.strategy = x;
  return p;
}

/// One grant as the scheduler saw it.
struct grant_seen {
  time_point at;
  /// Projected balance right before and right after the grant.
  int64_t before;
  int64_t after;
};

struct outcome {
  std::vector<grant_seen> grants;
  int64_t rejections = 0;
  int64_t spent = 0;
  int64_t generated = 0;
  token_totals totals;
};

/// A peek and a commit consumer that always want tokens and return exactly
/// when told, under strategy `x`; every grant is sent to the model at once
/// and settled. Keepa must never answer 429.
outcome drive(token_strategy x, int64_t rate, int64_t initial,
              duration length) {
  token_scheduler s{policy_of(x)};
  auto t = t0();
  test::keepa_model keepa{rate, initial, t};
  s.settle(keepa.observe(t), t);
  struct consumer {
    stage what;
    int64_t cost;
    uint64_t ticket;
    time_point next;
  };
  std::array<consumer, 2> cs{
    {{stage::commit, 30, 0, t}, {stage::peek, 20, 0, t}}};
  outcome out;
  while (t < t0() + length) {
    for (auto& c : cs) {
      if (c.next > t)
        continue;
      auto d = s.acquire(token_request{"c", c.what, c.cost, c.ticket}, t);
      REQUIRE(d.error == ec::none);
      if (!d.granted) {
        c.ticket = d.wait.ticket;
        c.next = t + d.wait.retry_after;
        continue;
      }
      out.grants.push_back(grant_seen{t, d.grant.projected_after + c.cost,
                                      d.grant.projected_after});
      bool rejected = false;
      s.settle(keepa.request(d.grant.grant_id, c.cost, t, rejected), t);
      out.rejections += rejected ? 1 : 0;
      c.ticket = 0;
    }
    t = std::max(t, std::min(cs[0].next, cs[1].next));
  }
  out.spent = keepa.spent();
  out.generated = keepa.generated();
  out.totals = s.status(t).totals;
  CHECK(out.rejections == 0);
  REQUIRE(out.grants.size() > 100);
  return out;
}

/// Checks every grant against a hysteresis rule: never below `stop_below`,
/// and after a grant left the balance below it, the next at `resume_at` or
/// more. Returns how often spending resumed.
size_t check_hysteresis(const outcome& out, int64_t stop_below,
                        int64_t resume_at) {
  size_t resumes = 0;
  for (size_t i = 0; i < out.grants.size(); ++i) {
    INFO("grant " << i << " at balance " << out.grants[i].before);
    CHECK(out.grants[i].before >= stop_below);
    if (i > 0 && out.grants[i - 1].after < stop_below) {
      ++resumes;
      CHECK(out.grants[i].before >= resume_at);
    }
  }
  return resumes;
}

} // namespace

TEST_CASE("threshold 50/55 never spends below 50 and resumes at 55",
          "[token_strategy]") {
  auto out = drive(token_strategy::hysteresis(50, 55), 5, 300, 12h);
  CHECK(check_hysteresis(out, 50, 55) > 50);
  // The seeds' rule wastes nothing either: all but what it keeps is spent.
  CHECK(out.spent >= out.generated - 55 - 30);
  // Between a stop (at 20..49 after a grant) and the resume at 55 the
  // positive balance sat idle for up to seven refill steps.
  CHECK(out.totals.longest_held_back > 5min);
  CHECK(out.totals.longest_held_back <= 7min);
  CHECK(out.totals.held_back > 6h);
}

TEST_CASE("burst mode spends down to zero, then recharges to 40",
          "[token_strategy]") {
  auto out = drive(token_strategy::hysteresis(1, 40), 5, 300, 12h);
  CHECK(check_hysteresis(out, 1, 40) > 50);
}

TEST_CASE("waiting at a balance <= 0 never sends at <= 0", "[token_strategy]") {
  auto out = drive(token_strategy::hysteresis(1, 1), 5, 300, 12h);
  int64_t lowest = INT64_MAX;
  for (auto& g : out.grants) {
    CHECK(g.before > 0);
    lowest = std::min(lowest, g.after);
  }
  // No floor: it overdraws, but never by more than one request.
  CHECK(lowest < 0);
  CHECK(lowest >= 1 - 30);
  // Whenever the balance is positive something is sent.
  CHECK(out.totals.longest_held_back == duration::zero());
}

TEST_CASE("a 60 s minimum interval spaces every grant", "[token_strategy]") {
  // 100 tokens a minute, cheap requests: only the pacing holds them back.
  auto out = drive(token_strategy::paced(60s), 100, 6000, 3h);
  for (size_t i = 1; i < out.grants.size(); ++i)
    CHECK(out.grants[i].at - out.grants[i - 1].at >= 60s);
  CHECK(out.grants.size() >= 3 * 60);
  CHECK(out.grants.size() <= 3 * 60 + 1);
  CHECK(out.totals.longest_held_back >= 59s);
  CHECK(out.totals.longest_held_back <= 60s);
}

TEST_CASE("the held-back span runs from an affordable balance to the grant",
          "[token_strategy]") {
  auto t = t0();
  SECTION("threshold: from 30 until 55") {
    token_scheduler s{policy_of(token_strategy::hysteresis(50, 55))};
    // Refill steps at 17 s, 77 s, ...: 30 -> 55 takes five steps.
    test::keepa_model keepa{5, 30, t};
    s.settle(keepa.observe(t), t);
    auto w = s.acquire(token_request{"c", stage::peek, 20, 0}, t);
    REQUIRE_FALSE(w.granted);
    CHECK(w.wait.retry_after == 17s + 4min);
    auto at = t + w.wait.retry_after;
    CHECK(s.status(at).totals.held_back == 17s + 4min);
    REQUIRE(s.acquire(token_request{"c", stage::peek, 20, w.wait.ticket}, at)
              .granted);
    CHECK(s.status(at + 1h).totals.longest_held_back == 17s + 4min);
  }
  SECTION("floor: a request above the balance waits for the floor") {
    token_scheduler s; // floor -180
    test::keepa_model keepa{5, 100, t, 0s};
    s.settle(keepa.observe(t), t);
    // 100 - 300 < -180: held back for three steps although Keepa would run
    // it now.
    auto w = s.acquire(token_request{"c", stage::commit, 300, 0}, t);
    REQUIRE_FALSE(w.granted);
    auto at = t + w.wait.retry_after;
    REQUIRE(s.acquire(token_request{"c", stage::commit, 300, w.wait.ticket}, at)
              .granted);
    CHECK(s.status(at).totals.longest_held_back == 3min);
  }
  SECTION("nothing is held back while the balance is not positive") {
    token_scheduler s;
    test::keepa_model keepa{5, -40, t};
    s.settle(keepa.observe(t), t);
    auto w = s.acquire(token_request{"c", stage::peek, 20, 0}, t);
    REQUIRE_FALSE(w.granted);
    auto at = t + w.wait.retry_after;
    CHECK(s.acquire(token_request{"c", stage::peek, 20, w.wait.ticket}, at)
            .granted);
    CHECK(s.status(at).totals.held_back == duration::zero());
  }
}

TEST_CASE("the default strategy is the floor rule", "[token_strategy]") {
  scheduler_policy p;
  CHECK(p.strategy.rule == token_strategy::admission::floor);
  CHECK(p.strategy.min_interval == duration::zero());
}
