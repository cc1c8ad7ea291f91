// The token bucket: refill ticks, cap, 429 semantics, lockout floor, and
// the envelope's consistency under random request sequences.

#include <catch2/catch.hpp>

#include "tests/support/sim_helpers.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

struct envelope {
  int status = 0;
  int64_t timestamp = 0;
  int64_t left = 0;
  int64_t refill_in = 0;
  int64_t rate = 0;
  int64_t consumed = 0;
  std::string error;
};

envelope read(const keepa::sim::answer& a) {
  auto d = parse(a.body);
  REQUIRE_FALSE(d.HasParseError());
  REQUIRE(d.IsObject());
  for (auto f : {"timestamp", "tokensLeft", "refillIn", "refillRate",
                 "tokenFlowReduction", "tokensConsumed", "processingTimeInMs"})
    REQUIRE(d.HasMember(f));
  envelope e;
  e.status = a.status;
  e.timestamp = d["timestamp"].GetInt64();
  e.left = d["tokensLeft"].GetInt64();
  e.refill_in = d["refillIn"].GetInt64();
  e.rate = d["refillRate"].GetInt64();
  e.consumed = d["tokensConsumed"].GetInt64();
  CHECK(d["tokenFlowReduction"].GetDouble() == 0.0); // no trackings
  if (d.HasMember("error")) {
    auto& err = d["error"];
    REQUIRE(err.HasMember("type"));
    REQUIRE(err.HasMember("message"));
    REQUIRE(err.HasMember("details"));
    e.error = err["type"].GetString();
  }
  return e;
}

} // namespace

TEST_CASE("sim token: starts full at 60 x rate, refills whole steps per "
          "minute up to the cap",
          "[sim]") {
  auto o = small();
  o.refill_rate = 7;
  o.initial_tokens = 400;
  o.update_rate = 0;
  model m{o};
  auto e = read(m.handle(get("/token", {}), t0));
  CHECK(e.status == 200);
  CHECK(e.left == 400);
  CHECK(e.rate == 7);
  CHECK(e.consumed == 0);
  REQUIRE(e.refill_in > 0);
  REQUIRE(e.refill_in <= 60000);
  auto tick = t0 + e.refill_in;
  // Just before the tick nothing changes; at the tick exactly +7.
  CHECK(m.balance(tick - 1) == 400);
  CHECK(m.refill_in(tick - 1) == 1);
  CHECK(m.balance(tick) == 407);
  CHECK(m.refill_in(tick) == 60000);
  CHECK(m.balance(tick + 59999) == 407);
  CHECK(m.balance(tick + 60000) == 414);
  // Capped at 420 = 60 x 7.
  CHECK(m.balance(tick + 10 * 60000) == 420);
  auto f = read(m.handle(get("/token", {}), tick + 10 * 60000 + 5));
  CHECK(f.left == 420);
  CHECK(f.refill_in == 60000 - 5);
  CHECK(f.timestamp == tick + 10 * 60000 + 5);
}

TEST_CASE("sim token: requests run while positive and may drive the balance "
          "negative; /token stays free and 200",
          "[sim]") {
  auto o = small();
  o.initial_tokens = 3;
  o.update_rate = 0;
  model m{o};
  auto asins = m.asins();
  auto a = m.handle(
    get("/product", {{"domain", "1"}, {"asin", join(asins, 100)}}), t0);
  auto e = read(a);
  CHECK(e.status == 200);
  CHECK(e.consumed == 100);
  CHECK(e.left == -97);
  auto t = read(m.handle(get("/token", {}), t0 + 1));
  CHECK(t.status == 200);
  CHECK(t.left == -97);
  CHECK(t.consumed == 0);
}

TEST_CASE("sim token: 429 NOT_ENOUGH_TOKEN at a balance <= 0 costs nothing "
          "and carries the full envelope",
          "[sim]") {
  auto o = small();
  o.update_rate = 0;
  auto asin = model{small()}.asins().front();
  for (int64_t start : {0, -40}) {
    o.initial_tokens = start;
    model m{o};
    for (auto path : {"/product", "/deal", "/seller"}) {
      auto a = m.handle(get(path,
                            {{"domain", "1"},
                             {"asin", asin},
                             {"seller", "A1234567890123"},
                             {"selection", selection(1)}}),
                        t0);
      auto e = read(a);
      CHECK(e.status == 429);
      CHECK(e.error == "NOT_ENOUGH_TOKEN");
      CHECK(e.consumed == 0);
      CHECK(e.left == start);
      CHECK(e.rate == 5);
      CHECK(e.refill_in == m.refill_in(t0));
    }
    CHECK(m.balance(t0) == start);
  }
}

TEST_CASE("sim token: lockout floor refuses and locks until a tick leaves "
          "the balance positive",
          "[sim]") {
  auto o = small();
  o.update_rate = 0;
  o.initial_tokens = 10;
  auto asins = model{small()}.asins();
  auto big = get("/product", {{"domain", "1"}, {"asin", join(asins, 100)}});
  auto one = get("/product", {{"domain", "1"}, {"asin", asins[0]}});
  SECTION("off by default: the balance goes to -90") {
    model m{o};
    CHECK(m.handle(big, t0).status == 200);
    CHECK(m.balance(t0) == -90);
  }
  SECTION("on: refused, locked, unlocked by the next tick") {
    o.lockout_floor = -50;
    model m{o};
    auto e = read(m.handle(big, t0));
    auto tick = t0 + m.refill_in(t0);
    CHECK(e.status == 429);
    CHECK(e.consumed == 0);
    CHECK(e.left == 10);
    CHECK(m.locked());
    // Positive balance, but locked.
    CHECK(m.handle(one, t0 + 1).status == 429);
    // /token stays free and 200 while locked.
    CHECK(m.handle(get("/token", {}), t0 + 2).status == 200);
    CHECK(m.locked());
    CHECK(m.handle(one, tick - 1).status == 429);
    auto ok = read(m.handle(one, tick));
    CHECK(ok.status == 200);
    CHECK(ok.left == 14);
    CHECK_FALSE(m.locked());
    // Within the floor is fine: 14 - 60 = -46 >= -50.
    auto sixty = get("/product", {{"domain", "1"}, {"asin", join(asins, 60)}});
    CHECK(m.handle(sixty, tick + 1).status == 200);
    CHECK(m.balance(tick + 1) == -46);
  }
}

TEST_CASE("sim token: envelope stays consistent with an independent bucket "
          "under random request sequences",
          "[sim]") {
  auto asins = model{small(300)}.asins();
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    CAPTURE(seed);
    auto o = small(300);
    o.seed = 1; // the catalogue stays; the sequence varies with `seed`
    o.update_rate = 0;
    o.refill_rate = static_cast<int64_t>(1 + seed % 7);
    o.initial_tokens = static_cast<int64_t>(seed * 13 % 50) - 10;
    model m{o};
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL;
    auto next = [&](uint64_t n) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x % n;
    };
    // The reference bucket, fed only from the first answer's refillIn.
    int64_t now = t0;
    auto first = read(m.handle(get("/token", {}), now));
    int64_t balance = o.initial_tokens;
    int64_t next_tick = now + first.refill_in;
    int64_t cap = 60 * o.refill_rate;
    CHECK(first.left == balance);
    for (int step = 0; step < 300; ++step) {
      now += static_cast<int64_t>(next(4) == 0 ? next(600000) : next(20000));
      while (next_tick <= now) {
        balance = std::min(balance + o.refill_rate, cap);
        next_tick += 60000;
      }
      keepa::sim::request req;
      int64_t cost = 0;
      switch (next(4)) {
        case 0: req = get("/token", {}); break;
        case 1: {
          auto n = 1 + next(100);
          req = get(
            "/product",
            {{"domain", "1"}, {"history", "0"}, {"asin", join(asins, n)}});
          cost = static_cast<int64_t>(n);
          break;
        }
        case 2:
          req = get("/deal", {{"selection", selection(1)}});
          cost = 5;
          break;
        default:
          req = get("/product",
                    {{"domain", "1"},
                     {"asin", asins[next(asins.size())]},
                     {"buybox", "1"}});
          cost = 3;
      }
      auto e = read(m.handle(req, now));
      CHECK(e.timestamp == now);
      CHECK(e.refill_in == next_tick - now);
      CHECK(e.left <= cap);
      if (req.path != "/token" && balance <= 0) {
        CHECK(e.status == 429);
        CHECK(e.consumed == 0);
      } else {
        CHECK(e.status == 200);
        CHECK(e.consumed == (req.path == "/token" ? 0 : cost));
        balance -= e.consumed;
      }
      CHECK(e.left == balance);
    }
  }
}

TEST_CASE("sim token: tokenFlowReduction lowers the refill (rounded up), "
          "refillRate stays the plan's, every envelope reports it, and it "
          "changes on schedule and on demand",
          "[sim]") {
  auto o = small();
  o.refill_rate = 20;
  o.initial_tokens = 0;
  o.update_rate = 0;
  o.flow_reduction = 4.5;
  // 3 minutes after the start the reduction rises to 12.
  o.flow_schedule = {{3 * minute, 12.0}};
  model m{o};
  auto first = m.handle(get("/token", {}), t0);
  auto d = parse(first.body);
  CHECK(d["refillRate"].GetInt() == 20);
  CHECK(d["tokenFlowReduction"].GetDouble() == 4.5);
  auto tick = t0 + d["refillIn"].GetInt64();
  // 20 - ceil(4.5) = 15 a tick, whatever the phase, until minute 3.
  CHECK(m.balance(tick) == 15);
  auto change = t0 + 3 * minute;
  auto before = (change - 1 - tick) / minute + 1;
  CHECK(m.balance(change - 1) == 15 * before);
  // From the change on: 20 - 12 = 8 a tick; the 429 envelope says so too.
  auto after = (change + 2 * minute - (tick + before * minute)) / minute + 1;
  CHECK(m.balance(change + 2 * minute) == 15 * before + 8 * after);
  auto a = m.handle(get("/token", {}), change + 2 * minute);
  CHECK(parse(a.body)["tokenFlowReduction"].GetDouble() == 12.0);
  CHECK(m.flow_reduction() == 12.0);
  // The cap follows the net rate: 60 x 8.
  CHECK(m.balance(change + 200 * minute) == 480);
  // A reduction of the whole rate stops the refill; a 429 reports it.
  m.set_flow_reduction(25, change + 200 * minute);
  auto spend = m.handle(get("/product",
                            {{"domain", "1"}, {"asin", join(m.asins(), 100)}}),
                        change + 200 * minute);
  REQUIRE(spend.status == 200);
  for (int k = 0; k < 5; ++k)
    m.handle(get("/product", {{"domain", "1"}, {"asin", join(m.asins(), 100)}}),
             change + 200 * minute + k);
  auto left = m.balance(change + 200 * minute + 10);
  REQUIRE(left <= 0);
  CHECK(m.balance(change + 300 * minute) == left);
  auto refused = m.handle(get("/token", {}), change + 300 * minute);
  CHECK(parse(refused.body)["tokenFlowReduction"].GetDouble() == 25.0);
  auto e = m.handle(get("/deal", {{"selection", selection(1)}}),
                    change + 300 * minute);
  CHECK(e.status == 429);
  CHECK(parse(e.body)["tokenFlowReduction"].GetDouble() == 25.0);
}

TEST_CASE("sim token: stats count what the bucket charged, refilled and "
          "refused, its lowest balance and the charge per locale",
          "[sim]") {
  auto o = small();
  o.refill_rate = 100;
  o.initial_tokens = 0;
  o.update_rate = 0;
  model m{o};
  auto e = read(m.handle(get("/token", {}), t0));
  auto tick = t0 + e.refill_in;
  auto s = m.stats(t0);
  CHECK(s.initial == 0);
  CHECK(s.balance == 0);
  CHECK(s.charged == 0);
  CHECK(s.refused == 0);
  auto asins = m.asins();
  auto product = [&](const char* domain, size_t n) {
    return get("/product", {{"domain", domain}, {"asin", join(asins, n)}});
  };
  // Balance 0: refused, nothing charged.
  CHECK(read(m.handle(product("1", 3), t0 + 1)).status == 429);
  s = m.stats(t0 + 1);
  CHECK(s.refused == 1);
  CHECK(s.first_refused_unix_ms == t0 + 1);
  CHECK(s.last_refused_unix_ms == t0 + 1);
  // One tick: +100; 60 ASINs take it to 40, a /deal page (5) to 35, then
  // 80 unknown-to-amazon.co.uk ASINs (1 each) to -45.
  CHECK(read(m.handle(product("1", 60), tick)).status == 200);
  auto deal = get("/deal", {{"selection", selection(1)}});
  CHECK(read(m.handle(deal, tick + 1)).status == 200);
  CHECK(read(m.handle(product("2", 80), tick + 2)).status == 200);
  s = m.stats(tick + 3);
  CHECK(s.ticks == 1);
  CHECK(s.refilled == 100);
  CHECK(s.charged == 145);
  CHECK(s.balance == -45);
  CHECK(s.min_balance == -45);
  CHECK(s.min_balance_unix_ms == tick + 2);
  CHECK(s.charged_by_domain == std::map<int64_t, int64_t>{{1, 65}, {2, 80}});
  CHECK(s.refill_in_ms == 60000 - 3);
  CHECK(read(m.handle(product("1", 1), tick + 3)).status == 429);
  CHECK(m.stats(tick + 3).refused == 2);
  // 70 ticks later the bucket is full at 6000: 45 + 6000 added, the rest
  // of 7000 lost at the cap; charged = initial + refilled - balance.
  s = m.stats(tick + 70 * 60000);
  CHECK(s.ticks == 71);
  CHECK(s.balance == 6000);
  CHECK(s.refilled == 100 + 6045);
  CHECK(s.lost_at_cap == 71 * 100 - s.refilled);
  CHECK(s.charged == s.initial + s.refilled - s.balance);
  CHECK(s.min_balance == -45);
}
