// The deal arithmetic at its boundaries.

#include <catch2/catch.hpp>

#include "actors/viability.hpp"
#include "messages/error.hpp"

using namespace keepa;

namespace {

product light(int32_t used, int32_t avg90, int32_t avg365, int32_t drops) {
  product p;
  p.asin = "0123456789";
  p.has_stats = true;
  p.stats.current.assign(36, -1);
  p.stats.avg90.assign(36, -1);
  p.stats.avg365.assign(36, -1);
  p.stats.current[csv::used] = used;
  p.stats.avg90[csv::used] = avg90;
  p.stats.avg365[csv::used] = avg365;
  p.stats.sales_rank_drops365 = drops;
  return p;
}

} // namespace

TEST_CASE("peek rules at their boundaries", "[pipeline][viability]") {
  analysis_config cfg;
  // Sell = min(avg90, avg365) = 1200 exactly passes; 1199 does not.
  CHECK(peek(light(1000, 1200, 1500, 1), cfg).viable);
  CHECK(peek(light(900, 1199, 1500, 1), cfg).reason == "sell-below-min");
  // ROI: (1200 - 1000) / 1000 = 20 % passes; buy 1001 does not.
  CHECK(peek(light(1001, 1200, 1200, 1), cfg).reason == "roi-below-min");
  CHECK(peek(light(1000, 1200, 1200, 0), cfg).reason == "no-rank-drops");
  CHECK(peek(light(-1, 1200, 1200, 3), cfg).reason == "no-buy-price");
  auto p = light(-1, 1500, 1500, 3);
  p.stats.current[csv::new_] = 1000;
  auto v = peek(p, cfg);
  CHECK(v.viable);
  CHECK(v.buy_price == 1000);
  // Short arrays (34 entries) and no averages of USED: condition variants.
  auto q = light(1000, -1, -1, 2);
  q.stats.avg90[csv::used_good_shipping] = 1400;
  q.stats.avg365[csv::used_very_good_shipping] = 1300;
  CHECK(peek(q, cfg).est_sell_price == 1300);
  q.stats.current.resize(2); // no USED entry at all
  q.stats.current[csv::new_] = -1;
  CHECK(peek(q, cfg).buy_price == -1);
}

TEST_CASE("the free pre-filter and the rejection memory",
          "[pipeline][viability]") {
  analysis_config cfg;
  deal d;
  d.asin = "0123456789";
  d.current.assign(36, -1);
  CHECK(pre_reject(d, cfg) == std::string{"no-used-price"});
  d.current[csv::used] = 1500;
  CHECK_FALSE(pre_reject(d, cfg));
  cfg.max_price = 1499;
  CHECK(pre_reject(d, cfg) == std::string{"price-out-of-range"});
  cfg.max_price = 0;
  asin_memory m{"0123456789", false, true, 1500, 1000};
  auto day = int64_t{86400000};
  CHECK(remembered_reject(d, m, cfg, 1000 + day));
  d.current[csv::used] = 1499; // dropped: peek again
  CHECK_FALSE(remembered_reject(d, m, cfg, 1000 + day));
  d.current[csv::used] = 1500;
  CHECK_FALSE(remembered_reject(d, m, cfg, 1000 + 8 * day)); // forgotten
}

TEST_CASE("commit math", "[pipeline][viability]") {
  analysis_config cfg;
  cfg.prep_fee = 100;
  cfg.inbound_shipping = 50;
  cfg.tax_percent = 10;
  cfg.markup = 0.5;
  survivor s;
  s.candidate.asin = "0123456789";
  s.buy_price = 1000;
  s.est_sell_price = 3000;
  auto full = light(1000, 3000, 3200, 4);
  full.has_offers = true;
  full.offers.lowest_by_condition.assign(11, -1);
  full.offers.lowest_by_condition[3] = 900;
  full.offers.lowest_by_condition[5] = 950;
  full.referral_fee_percentage = 15;
  full.fba_pick_pack_fee = 300;
  auto v = commit(s, full, cfg, 42);
  REQUIRE(v.record);
  auto& r = *v.record;
  CHECK(r.buy_price == 900);
  CHECK(r.all_in_cost == 900 + 100 + 50 + 90);         // 1140
  CHECK(r.profit == 3000 - (450 + 300) - 1140);         // 1110
  CHECK(r.margin_bp == 3700);                           // 1110 / 3000
  CHECK(r.roi_bp == 9737);                              // 1110 / 1140
  CHECK(r.min_listing_price == 2365); // (1140 x 1.5 + 300) / 0.85
  CHECK(r.first_seen_ms == 42);
  cfg.min_profit = 1111;
  auto no = commit(s, full, cfg, 42);
  CHECK_FALSE(no.record);
  CHECK(no.reason == "profit-below-min");
}

TEST_CASE("bad analysis settings are refused", "[pipeline][viability]") {
  analysis_config cfg;
  cfg.tax_percent = 120;
  CHECK(validate(cfg) == ec::invalid_config);
  cfg = analysis_config{};
  cfg.min_price = 2000;
  cfg.max_price = 1000;
  CHECK(validate(cfg) == ec::invalid_config);
  cfg = analysis_config{};
  cfg.referral_percent = 100;
  CHECK(validate(cfg) == ec::invalid_config);
  CHECK_FALSE(validate(analysis_config{}));
}
