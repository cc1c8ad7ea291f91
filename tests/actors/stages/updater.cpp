// The UPDATER on virtual time against stand-ins: the stalest deals first,
// light requests under the update stage's share, expiry after the grace.

#include "actors/stages/updater.hpp"

#include <catch2/catch.hpp>

#include "tests/support/stand_ins.hpp"

using namespace keepa;
using namespace keepa::test;
using namespace std::chrono_literals;

namespace {

constexpr int64_t hour_ms = 3600000;

struct updater_fixture : stage_fixture {
  updater_config cfg;

  updater_fixture() {
    cfg.interval = 10min;
    cfg.refresh_after = 24h;
    cfg.grace = 72h;
  }

  /// An updater whose first tick is `interval` from now.
  updater_actor spawn() {
    auto u = keep(spawn_updater(sys, ctx, cfg));
    sched.run();
    return u;
  }

  deal_record stale(const std::string& asin) {
    deal_record r;
    r.asin = asin;
    r.buy_price = 1500;
    r.last_update = 900;
    r.last_seen_ms = unix0 - 30 * hour_ms;
    return r;
  }

  /// Light products for every ASIN asked, except `missing`.
  void answer_all_but(std::string missing = "") {
    keepa().products = [missing](const product_query& q) {
      product_page page;
      for (auto& x : q.asins) {
        if (x == missing)
          continue;
        auto p = viable_product(x, 1200);
        p.last_update = 1100;
        page.products.push_back(std::move(p));
      }
      return caf::expected<product_page>{std::move(page)};
    };
  }
};

} // namespace

// A light update set the new buy price but kept the old one's profit,
// margin and ROI, so a refreshed row's figures did not add up.
TEST_CASE_METHOD(updater_fixture,
                 "updater: a refresh at a new price stores the all-in cost, "
                 "profit, margin and ROI at it",
                 "[pipeline][updater]") {
  // Bought at 15.00 (no prep, shipping or tax: all-in 15.00), sells at
  // 40.00 with 10.00 of Amazon fees: profit 15.00, margin 37.5 %, ROI 100 %.
  auto r = stale("a");
  r.est_sell_price = 4000;
  r.all_in_cost = 1500;
  r.profit = 1500;
  r.margin_bp = 3750;
  r.roi_bp = 10000;
  auto same_price = r;
  same_price.asin = "b";
  db().stalest = {{r, same_price}};
  keepa().products = [](const product_query& q) {
    product_page page;
    for (auto& x : q.asins) {
      auto p = viable_product(x, x == "a" ? 1200 : 1500);
      p.last_update = 1100;
      page.products.push_back(std::move(p));
    }
    return caf::expected<product_page>{std::move(page)};
  };
  spawn();
  advance(10min);
  REQUIRE(!db().upserts.empty());
  auto& xs = db().upserts[0].deals;
  REQUIRE(xs.size() == 2);
  // Now at 12.00: the fees follow the sell estimate, so the profit gains
  // the 3.00 the all-in cost lost.
  CHECK(xs[0].buy_price == 1200);
  CHECK(xs[0].all_in_cost == 1200);
  CHECK(xs[0].profit == 1800);
  CHECK(xs[0].margin_bp == 4500);
  CHECK(xs[0].roi_bp == 15000);
  CHECK(xs[0].est_sell_price == 4000);
  // At the same price nothing moves.
  CHECK(xs[1].buy_price == 1500);
  CHECK(xs[1].profit == 1500);
  CHECK(xs[1].roi_bp == 10000);
}

TEST_CASE_METHOD(updater_fixture,
                 "updater: refreshes the stalest deals batch by batch under "
                 "the update stage, then expires what is past the grace",
                 "[pipeline][updater]") {
  db().stalest = {{stale("a"), stale("b")}, {stale("c")}};
  db().expire_count = 4;
  answer_all_but();
  auto u = spawn();
  CHECK(db().stalest_asked.empty());
  advance(10min);
  auto now = unix_now();
  // Asked by the profile's update batch, for deals unseen for a day, until
  // none is stale.
  REQUIRE(db().stalest_asked.size() == 3);
  for (auto& x : db().stalest_asked) {
    CHECK(x.first == 2);
    CHECK(x.second == now - 24 * hour_ms);
  }
  REQUIRE(keepa().product_queries.size() == 2);
  CHECK(joined(keepa().product_queries[0].asins) == "a b");
  CHECK(joined(keepa().product_queries[1].asins) == "c");
  CHECK(keepa().product_queries[0].stats == "90");
  CHECK_FALSE(keepa().product_queries[0].history);
  CHECK(keepa().product_queries[0].offers == 0);
  // Light requests of the update stage: TOKEN applies its share.
  REQUIRE(tokens().acquires.size() == 2);
  CHECK(tokens().acquires[0].what == stage::update);
  CHECK(tokens().acquires[0].cost == 2);
  // Refreshed records: seen now, at the product's price and version.
  REQUIRE(db().upserts.size() == 2);
  auto& r = db().upserts[0].deals.at(0);
  CHECK(r.asin == "a");
  CHECK(r.last_seen_ms == now);
  CHECK(r.buy_price == 1200);
  CHECK(r.last_update == 1100);
  CHECK(r.written_by == write_stage::light_update);
  // Then deals unseen beyond the grace period go.
  REQUIRE(db().expire_asked.size() == 1);
  CHECK(db().expire_asked[0] == now - 72 * hour_ms);
  auto& st = state_of<updater_state>(u);
  CHECK(st.refreshed == 3);
  CHECK(st.expired == 4);
  CHECK(st.rounds == 1);
  CHECK(st.phase == update_phase::idle);
  CHECK(tokens().snapshots == 1);
  // The next round asks the storage again; the profile comes from the
  // grants now.
  advance(10min);
  CHECK(db().stalest_asked.size() == 4);
  CHECK(db().expire_asked.size() == 2);
  CHECK(tokens().snapshots == 1);
}

TEST_CASE_METHOD(updater_fixture,
                 "updater: a deal Keepa did not return stays stale; the round "
                 "ends with expiry instead of asking for it again",
                 "[pipeline][updater]") {
  db().stalest = {{stale("a"), stale("gone")}, {stale("gone")}};
  answer_all_but("gone");
  auto u = spawn();
  advance(10min);
  CHECK(keepa().product_queries.size() == 1);
  CHECK(db().stalest_asked.size() == 1);
  REQUIRE(db().upserts.size() == 1);
  CHECK(db().upserts[0].deals.size() == 1);
  CHECK(db().expire_asked.size() == 1);
  CHECK(state_of<updater_state>(u).refreshed == 1);
}

TEST_CASE_METHOD(updater_fixture,
                 "updater: a tick during a round starts no second round",
                 "[pipeline][updater]") {
  db().stalest = {{stale("a")}};
  tokens().script = {wait_for(12min)};
  auto u = spawn();
  advance(10min);
  CHECK(state_of<updater_state>(u).phase == update_phase::acquiring);
  advance(10min);
  auto& st = state_of<updater_state>(u);
  CHECK(st.rounds == 1);
  CHECK(db().stalest_asked.size() == 1);
  // Granted at 22 min (the round ends); the tick at 30 min begins round 2.
  run_until(now() + 10min);
  CHECK(keepa().product_queries.size() == 1);
  CHECK(st.rounds == 2);
  CHECK(db().stalest_asked.size() == 2);
}

// A refresh at a price where the profit fell below the minimum stored the
// deal with that price and the shrunken profit: the row stayed a deal.
TEST_CASE_METHOD(updater_fixture,
                 "updater: a deal whose profit at the new price falls below "
                 "the minimum is retired with the price it fails from",
                 "[pipeline][updater]") {
  // Bought at 15.00 (all-in 15.00), sells at 40.00 with 10.00 of fees:
  // profit 15.00, so 30.00 - price at another price; the minimum is 5.00.
  std::vector<deal_record> xs;
  for (auto asin : {"a", "b", "c"}) {
    auto r = stale(asin);
    r.est_sell_price = 4000;
    r.all_in_cost = 1500;
    r.profit = 1500;
    xs.push_back(r);
  }
  db().stalest = {xs};
  keepa().products = [](const product_query& q) {
    product_page page;
    for (auto& x : q.asins) {
      auto price = x == "a" ? 2600 : x == "b" ? 3200 : 2500;
      auto p = viable_product(x, price);
      p.last_update = 1100;
      page.products.push_back(std::move(p));
    }
    return caf::expected<product_page>{std::move(page)};
  };
  auto u = spawn();
  advance(10min);
  REQUIRE(db().upserts.size() == 1);
  auto& b = db().upserts[0];
  // At 25.00 the profit is 5.00: still a deal, refreshed.
  REQUIRE(b.deals.size() == 1);
  CHECK(b.deals[0].asin == "c");
  CHECK(b.deals[0].profit == 500);
  // At 26.00 (4.00) and 32.00 (-2.00) not: both retired, looked at again
  // below 25.01.
  REQUIRE(b.rejections.size() == 2);
  auto& a = b.rejections[0];
  CHECK(a.asin == "a");
  CHECK(a.where == stage::update);
  CHECK(a.reason == "profit-below-min");
  CHECK(a.price_seen == 2600);
  CHECK(a.retry_below == 2501);
  CHECK(a.retires);
  CHECK(a.at_ms == unix_now());
  CHECK(b.rejections[1].asin == "b");
  CHECK(b.rejections[1].reason == "no-profit");
  CHECK(b.rejections[1].retry_below == 2501);
  CHECK(b.rejections[1].retires);
  auto& st = state_of<updater_state>(u);
  CHECK(st.refreshed == 1);
  CHECK(st.retired == 2);
  // Every deal of the batch was answered: the round goes on.
  CHECK(db().stalest_asked.size() == 2);
}
