// The deal arithmetic at its boundaries, with hand-computed figures.

#include <catch2/catch.hpp>

#include <chrono>

#include <caf/config_option_set.hpp>
#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "actors/analysis/deal_analysis.hpp"
#include "config/options.hpp"
#include "messages/error.hpp"

using namespace keepa;

namespace {

/// A 36-entry stats array with -1 everywhere except the given entries.
std::vector<int32_t> arr(std::initializer_list<std::pair<size_t, int32_t>> xs,
                         size_t size = csv::count) {
  std::vector<int32_t> out(size, -1);
  for (auto& x : xs)
    out[x.first] = x.second;
  return out;
}

/// A light product: used buy price, USED avg90 / avg365, rank drops.
product light(int32_t buy, int32_t avg90, int32_t avg365, int32_t drops) {
  product p;
  p.asin = "0123456789";
  p.has_stats = true;
  p.stats.current = arr({{csv::used, buy}, {csv::sales_rank, 50000}});
  p.stats.avg90 = arr({{csv::used, avg90}});
  p.stats.avg365 = arr({{csv::used, avg365}});
  p.stats.sales_rank_drops90 = drops;
  p.stats.sales_rank_drops365 = drops;
  return p;
}

deal feed_deal(int32_t used, int32_t fresh = -1) {
  deal d;
  d.asin = "0123456789";
  d.current = arr({{csv::used, used}, {csv::new_, fresh}});
  return d;
}

constexpr int64_t day_ms = 86400000;

/// The seeds' viability rules alone: their boundaries are tested with small
/// prices at which the profit bound would reject everything.
analysis_config seeds_rules() {
  analysis_config cfg;
  cfg.peek_profit = false;
  return cfg;
}

} // namespace

TEST_CASE("peek: sell estimate boundary at $12", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  // buy 1000: ROI at sell 1200 is exactly 20 %.
  CHECK(peek(light(1000, 1200, 1300, 1), cfg).viable);
  auto v = peek(light(900, 1199, 1300, 1), cfg);
  CHECK_FALSE(v.viable);
  CHECK(v.reason == rejection_reason::sell_below_min);
  CHECK(v.est_sell_price == 1199);
  CHECK(v.buy_price == 900);
}

TEST_CASE("peek: sell is the lower used average", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  CHECK(peek(light(1000, 1500, 1250, 1), cfg).est_sell_price == 1250);
  CHECK(peek(light(1000, 1250, 1500, 1), cfg).est_sell_price == 1250);
  // Only one average exists (-1 / -2 are no data).
  CHECK(peek(light(1000, -1, 1400, 1), cfg).est_sell_price == 1400);
  CHECK(peek(light(1000, 1400, -2, 1), cfg).est_sell_price == 1400);
  auto v = peek(light(1000, -1, -1, 1), cfg);
  CHECK(v.reason == rejection_reason::no_sell_price);
  CHECK(v.est_sell_price == -1);
}

TEST_CASE("peek: condition variants stand in without a USED average",
          "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  auto p = light(1000, -1, -1, 1);
  p.stats.avg90[csv::used_good_shipping] = 1700;
  p.stats.avg365[csv::used_good_shipping] = 1600;
  p.stats.avg90[csv::used_acceptable_shipping] = 1500;
  CHECK(peek(p, cfg).est_sell_price == 1500);
  CHECK(peek(p, cfg).viable);
  // With a USED average the variants (landing prices, never cheaper on
  // Keepa's data) do not lower it.
  p.stats.avg90[csv::used] = 1800;
  CHECK(peek(p, cfg).est_sell_price == 1800);
}

TEST_CASE("peek: buy price used, else new", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  auto p = light(-1, 2000, 2000, 1);
  auto v = peek(p, cfg);
  CHECK(v.reason == rejection_reason::no_buy_price);
  CHECK(v.buy_price == -1);
  p.stats.current[csv::new_] = 1500;
  v = peek(p, cfg);
  CHECK(v.viable);
  CHECK(v.buy_price == 1500);
  // A used price wins over a cheaper new one.
  p.stats.current[csv::used] = 1600;
  p.stats.current[csv::new_] = 1000;
  CHECK(peek(p, cfg).buy_price == 1600);
}

TEST_CASE("peek: buy at most 1.1 x sell", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  cfg.min_roi = -0.5; // isolate the ratio rule
  CHECK(peek(light(1320, 1200, 1200, 1), cfg).viable);
  auto v = peek(light(1321, 1200, 1200, 1), cfg);
  CHECK(v.reason == rejection_reason::buy_above_sell);
  // Exact in odd figures too: 1.1 x 1234 = 1357.4.
  CHECK(peek(light(1357, 1234, 1234, 1), cfg).viable);
  CHECK(peek(light(1358, 1234, 1234, 1), cfg).reason
        == rejection_reason::buy_above_sell);
}

TEST_CASE("peek: gross ROI at least 20 %", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  CHECK(peek(light(1500, 1800, 1800, 1), cfg).viable); // 20 % exactly
  CHECK(peek(light(1501, 1800, 1800, 1), cfg).reason
        == rejection_reason::roi_below_min);
  CHECK(peek(light(1800, 1800, 1800, 1), cfg).reason
        == rejection_reason::roi_below_min);
  cfg.min_roi = 0.5;
  CHECK(peek(light(1200, 1800, 1800, 1), cfg).viable);
  CHECK(peek(light(1201, 1800, 1800, 1), cfg).reason
        == rejection_reason::roi_below_min);
}

TEST_CASE("peek: rank drops in 365 days", "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  CHECK(peek(light(1000, 1500, 1500, 1), cfg).viable);
  CHECK(peek(light(1000, 1500, 1500, 0), cfg).reason
        == rejection_reason::no_rank_drops);
  // -1: Keepa had no data; counts as none.
  CHECK(peek(light(1000, 1500, 1500, -1), cfg).reason
        == rejection_reason::no_rank_drops);
  cfg.min_rank_drops = 3;
  CHECK(peek(light(1000, 1500, 1500, 2), cfg).reason
        == rejection_reason::no_rank_drops);
  CHECK(peek(light(1000, 1500, 1500, 3), cfg).viable);
  cfg.min_rank_drops = 0;
  CHECK(peek(light(1000, 1500, 1500, -1), cfg).viable);
}

TEST_CASE("peek: the profit at the used price bounds the commit's",
          "[pipeline][analysis]") {
  analysis_config cfg;
  // Sell 3000, referral 15 % = 450, pick&pack 300: profit 2250 - buy.
  auto p = light(1750, 3000, 3200, 1);
  p.referral_fee_percentage = 15;
  p.fba_pick_pack_fee = 300;
  CHECK(peek(p, cfg).viable); // profit 500
  p.stats.current[csv::used] = 1751;
  auto v = peek(p, cfg);
  // 499: ratio and ROI still pass
  CHECK(v.reason == rejection_reason::profit_below_min);
  CHECK(v.retry_below == 1751);
  cfg.peek_profit = false;
  CHECK(peek(p, cfg).viable);
  // The other rules are checked first.
  cfg.peek_profit = true;
  p.stats.sales_rank_drops365 = 0;
  CHECK(peek(p, cfg).reason == rejection_reason::no_rank_drops);
}

TEST_CASE("peek: the price below which a rejection is looked at again",
          "[pipeline][analysis]") {
  auto cfg = seeds_rules();
  // ROI: sell 1800 passes up to 1500; but the commit's profit (default fees
  // 270 + 350, at least 500) breaks from 681 on, and it counts too.
  auto v = peek(light(1501, 1800, 1800, 1), cfg);
  CHECK(v.reason == rejection_reason::roi_below_min);
  CHECK(v.retry_below == 681);
  cfg.min_profit = 1; // 1800 - 620 - buy >= 1: up to 1179
  CHECK(peek(light(1501, 1800, 1800, 1), cfg).retry_below == 1180);
  cfg.min_roi = 2; // up to 600
  CHECK(peek(light(1501, 1800, 1800, 1), cfg).retry_below == 601);
  cfg = seeds_rules();
  cfg.min_roi = -0.5;
  cfg.min_profit = 1;
  cfg.pick_pack_fee = 0;
  cfg.referral_percent = 0; // profit up to 1199, ratio up to 1320
  CHECK(peek(light(1321, 1200, 1200, 1), cfg).retry_below == 1200);
  // No price changes these.
  cfg = seeds_rules();
  CHECK(peek(light(900, 1199, 1300, 1), cfg).retry_below == 0);
  CHECK(peek(light(1000, 1500, 1500, 0), cfg).retry_below == 0);
  CHECK(peek(light(1000, -1, -1, 1), cfg).retry_below == 0);
  auto p = light(1000, 1500, 1500, 1);
  p.product_type = 4;
  CHECK(peek(p, cfg).retry_below == 0);
  // Nothing known: any drop counts.
  CHECK(peek(light(-1, 2000, 2000, 1), cfg).retry_below == -1);
  CHECK(peek(product{}, cfg).retry_below == -1);
  CHECK(peek(light(1000, 1500, 1500, 1), cfg).retry_below == -1); // viable
}

TEST_CASE("peek: missing data and short arrays", "[pipeline][analysis]") {
  analysis_config cfg;
  product none;
  CHECK(peek(none, cfg).reason == rejection_reason::no_stats);
  auto p = light(1000, 1500, 1500, 1);
  p.product_type = 4; // invalid ASIN shell
  CHECK(peek(p, cfg).reason == rejection_reason::bad_product_type);
  // Arrays that end before USED: no data, no crash.
  auto q = light(1000, 1500, 1500, 1);
  q.stats.current = {-1, 1100};
  q.stats.avg90 = {-1};
  q.stats.avg365.clear();
  auto v = peek(q, cfg);
  CHECK(v.buy_price == 1100); // new price, index 1
  CHECK(v.reason == rejection_reason::no_sell_price);
  // 34-entry arrays (older Keepa answers) still reach the variants.
  auto r = light(1000, -1, -1, 1);
  r.stats.avg90.resize(34);
  r.stats.avg90[csv::used_new_shipping] = 1900;
  CHECK(peek(r, cfg).est_sell_price == 1900);
  r.stats.avg90.resize(20); // ends before used-good / acceptable
  r.stats.avg365.resize(3);
  CHECK(peek(r, cfg).est_sell_price == 1900);
}

TEST_CASE("rejection reasons keep the text storage stores and status counts "
          "by",
          "[pipeline][analysis]") {
  using r = rejection_reason;
  std::vector<std::pair<r, std::string>> xs{
    {r::none, ""},
    {r::no_used_price, "no-used-price"},
    {r::price_out_of_range, "price-out-of-range"},
    {r::remembered, "remembered"},
    {r::bad_product_type, "bad-product-type"},
    {r::no_stats, "no-stats"},
    {r::no_buy_price, "no-buy-price"},
    {r::no_sell_price, "no-sell-price"},
    {r::sell_below_min, "sell-below-min"},
    {r::buy_above_sell, "buy-above-sell"},
    {r::roi_below_min, "roi-below-min"},
    {r::no_rank_drops, "no-rank-drops"},
    {r::profit_below_min, "profit-below-min"},
    {r::no_profit, "no-profit"},
    {r::not_returned, "not-returned"},
    {r::peek_failed, "peek-failed"},
    {r::commit_failed, "commit-failed"},
  };
  for (auto& x : xs)
    CHECK(to_string(x.first) == x.second);
  CHECK(failure_text(r::peek_failed, caf::make_error(ec::server_error))
        == "peek-failed: " + render(caf::make_error(ec::server_error)));
}

TEST_CASE("pre-filter on the deal's own feed data", "[pipeline][analysis]") {
  analysis_config cfg;
  CHECK(pre_reject(feed_deal(-1, 900), cfg) == rejection_reason::no_used_price);
  CHECK(pre_reject(feed_deal(-2), cfg) == rejection_reason::no_used_price);
  CHECK(pre_reject(feed_deal(0), cfg) == rejection_reason::no_used_price);
  deal short_deal;
  short_deal.current = {-1, 500}; // ends before USED
  CHECK(pre_reject(short_deal, cfg) == rejection_reason::no_used_price);
  // Default range: unbounded.
  CHECK(pre_reject(feed_deal(1), cfg) == rejection_reason::none);
  CHECK(pre_reject(feed_deal(1000000), cfg) == rejection_reason::none);
  cfg.min_price = 2000;
  cfg.max_price = 45100;
  CHECK(pre_reject(feed_deal(1999), cfg)
        == rejection_reason::price_out_of_range);
  CHECK(pre_reject(feed_deal(2000), cfg) == rejection_reason::none);
  CHECK(pre_reject(feed_deal(45100), cfg) == rejection_reason::none);
  CHECK(pre_reject(feed_deal(45101), cfg)
        == rejection_reason::price_out_of_range);
}

TEST_CASE("the feed's profit estimate orders the peek backlog",
          "[pipeline][analysis]") {
  analysis_config cfg;
  auto with_avg90 = [](deal d, int32_t avg90) {
    d.avg90 = arr({{csv::used, avg90}});
    return d;
  };
  // Sell at the 90-day used average 3000: referral 450, pick&pack 350.
  CHECK(deal_profit_estimate(with_avg90(feed_deal(1200), 3000), cfg)
        == 3000 - 450 - 350 - 1200);
  // The new price stands in for a missing used price, as for the buy price.
  CHECK(deal_profit_estimate(with_avg90(feed_deal(-1, 1000), 3000), cfg)
        == 3000 - 450 - 350 - 1000);
  // The same figure compute_math gives a product without fee data, with
  // business costs too.
  cfg.prep_fee = 55;
  cfg.inbound_shipping = 80;
  cfg.tax_percent = 7.5;
  cfg.referral_percent = 8;
  cfg.pick_pack_fee = 299;
  for (int32_t buy : {1, 999, 1234, 5001}) {
    INFO(buy);
    CHECK(deal_profit_estimate(with_avg90(feed_deal(buy), 4321), cfg)
          == compute_math(buy, 4321, product{}, cfg).profit);
  }
  // Without either price there is no estimate.
  CHECK_FALSE(deal_profit_estimate(feed_deal(1200), cfg));
  CHECK_FALSE(deal_profit_estimate(with_avg90(feed_deal(-1), 3000), cfg));
  CHECK_FALSE(deal_profit_estimate(with_avg90(feed_deal(1200), -1), cfg));
  auto short_avg = feed_deal(1200);
  short_avg.avg90 = arr({{csv::new_, 3000}});
  CHECK_FALSE(deal_profit_estimate(short_avg, cfg));
}

TEST_CASE("rejection memory", "[pipeline][analysis]") {
  analysis_config cfg; // 7 days
  asin_memory m;
  m.asin = "0123456789";
  m.rejected = true;
  m.rejected_price = 1500;
  m.rejected_at_ms = 1000;
  auto now = m.rejected_at_ms + day_ms;
  CHECK(remembered_reject(feed_deal(1500), m, cfg, now)); // same price
  CHECK(remembered_reject(feed_deal(1600), m, cfg, now)); // rose
  CHECK_FALSE(remembered_reject(feed_deal(1499), m, cfg, now)); // dropped
  // The window: remembered just before 7 days, forgotten at 7 days.
  CHECK(remembered_reject(feed_deal(1500), m, cfg,
                          m.rejected_at_ms + 7 * day_ms - 1));
  CHECK_FALSE(
    remembered_reject(feed_deal(1500), m, cfg, m.rejected_at_ms + 7 * day_ms));
  cfg.memory = std::chrono::hours{1};
  CHECK_FALSE(remembered_reject(feed_deal(1500), m, cfg, now));
  cfg = analysis_config{};
  // The buy price is used, else new (as the peek's).
  CHECK_FALSE(remembered_reject(feed_deal(-1, 1400), m, cfg, now));
  CHECK(remembered_reject(feed_deal(-1, 1500), m, cfg, now));
  // Nothing to compare with: no drop can be proven either way.
  CHECK(remembered_reject(feed_deal(-1), m, cfg, now));
  m.rejected_price = -1;
  CHECK_FALSE(remembered_reject(feed_deal(1500), m, cfg, now));
  // A known retry price replaces the price seen: only a price below it can
  // change the verdict.
  m.rejected_price = 1500;
  m.rejected_retry_below = 1200;
  CHECK(remembered_reject(feed_deal(1499), m, cfg, now));
  CHECK(remembered_reject(feed_deal(1200), m, cfg, now));
  CHECK_FALSE(remembered_reject(feed_deal(1199), m, cfg, now));
  m.rejected_price = -1;
  CHECK(remembered_reject(feed_deal(1200), m, cfg, now));
  // 0: no price helps, until the memory expires.
  m.rejected_retry_below = 0;
  CHECK(remembered_reject(feed_deal(1), m, cfg, now));
  CHECK_FALSE(
    remembered_reject(feed_deal(1), m, cfg, m.rejected_at_ms + 7 * day_ms));
  m.rejected_retry_below = -1;
  m.rejected_price = 1500;
  m.rejected = false;
  CHECK_FALSE(remembered_reject(feed_deal(1500), m, cfg, now));
}

namespace {

/// A full product: sell estimate 3000, referral 15 %, pick&pack 300,
/// live used offers from 1200 (cond 3) and 1100 + 399 (cond 5).
product full_product() {
  auto p = light(1300, 3000, 3200, 4);
  p.title = "A Book";
  p.last_update = 7000000;
  p.stats.current[csv::count_used] = 9;
  p.stats.current[csv::count_new] = 2;
  p.stats.sales_rank_drops90 = 2;
  p.referral_fee_percentage = 15;
  p.fba_pick_pack_fee = 300;
  p.has_offers = true;
  p.offers_successful = true;
  p.offers.live = 3;
  p.offers.used = 2;
  p.offers.new_ = 1;
  p.offers.lowest_by_condition = {-1, 1000, -1, 1200, -1, 1499};
  return p;
}

survivor survivor_of(const product& p) {
  survivor s;
  s.candidate.asin = p.asin;
  s.candidate.title = "feed title";
  s.candidate.last_update = 6999990;
  s.light = p;
  s.buy_price = 1300;
  s.est_sell_price = 3000;
  return s;
}

} // namespace

TEST_CASE("commit math, hand-computed", "[pipeline][analysis]") {
  analysis_config cfg;
  auto full = full_product();
  auto v = commit(survivor_of(full), full, cfg, 42);
  REQUIRE(v.record);
  auto& r = *v.record;
  // Buy at the cheapest used offer (1200; the new one at 1000 does not
  // count), sell 3000, referral 450, pick&pack 300: profit 1050.
  CHECK(r.buy_price == 1200);
  CHECK(r.est_sell_price == 3000);
  CHECK(r.all_in_cost == 1200);
  CHECK(v.math.referral_fee == 450);
  CHECK(v.math.amazon_fees == 750);
  CHECK(r.profit == 1050);
  CHECK(v.profit == 1050);
  CHECK(r.margin_bp == 3500); // 1050 / 3000
  CHECK(r.roi_bp == 8750); // 1050 / 1200
  // P - round(0.15 P) - 300 - 1200 >= 0: P = 1765 (0.85 x 1765 = 1500.25).
  CHECK(r.min_listing_price == 1765);
  CHECK(r.avg365 == 3200);
  CHECK(r.sales_rank == 50000);
  CHECK(r.rank_drops90 == 2);
  CHECK(r.rank_drops365 == 4);
  CHECK(r.offers_used == 2);
  CHECK(r.offers_new == 1);
  CHECK(r.title == "A Book");
  CHECK(r.last_update == 7000000);
  CHECK(r.first_seen_ms == 42);
  CHECK(r.last_seen_ms == 42);
  CHECK(r.written_by == write_stage::commit);
}

TEST_CASE("commit math with business costs", "[pipeline][analysis]") {
  analysis_config cfg;
  cfg.prep_fee = 50;
  cfg.inbound_shipping = 80;
  cfg.tax_percent = 8.25;
  cfg.markup = 0.1;
  auto full = full_product();
  full.referral_fee_percentage = -1; // fallback to the config's 15 %
  full.fba_pick_pack_fee = -1; // fallback to 350
  cfg.referral_percent = 12;
  auto v = commit(survivor_of(full), full, cfg, 42);
  REQUIRE(v.record);
  // tax 1200 x 8.25 % = 99; all-in 1200 + 50 + 80 + 99 = 1429.
  CHECK(v.math.tax == 99);
  CHECK(v.record->all_in_cost == 1429);
  // fees 3000 x 12 % = 360 + 350 = 710; profit 3000 - 710 - 1429 = 861.
  CHECK(v.math.amazon_fees == 710);
  CHECK(v.record->profit == 861);
  CHECK(v.record->roi_bp == 6025); // 861 / 1429 = 60.25 %
  CHECK(v.record->margin_bp == 2870);
  // P - round(0.12 P) - 350 - 1429 >= 142.9: 0.88 P >= 1921.9, P = 2184
  // (round(262.08) = 262: 2184 - 262 - 1779 = 143 >= 142.9; 2183 - 262 -
  // 1779 = 142 < 142.9).
  CHECK(v.record->min_listing_price == 2184);
}

TEST_CASE("commit: profit boundaries", "[pipeline][analysis]") {
  analysis_config cfg;
  auto full = full_product();
  // Cheapest used landing price L: profit = 3000 - 750 - L.
  full.offers.lowest_by_condition = {-1, -1, 1750, -1, -1, -1};
  auto v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.profit == 500);
  CHECK(v.record);
  full.offers.lowest_by_condition[2] = 1751;
  v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.profit == 499);
  CHECK_FALSE(v.record);
  CHECK(v.reason == rejection_reason::profit_below_min);
  CHECK(v.buy_price == 1751);
  CHECK(v.retry_below == 1751); // the feed's used price <= landing price
  full.offers.lowest_by_condition[2] = 2250;
  v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.profit == 0);
  CHECK(v.reason == rejection_reason::no_profit);
  CHECK(v.retry_below == 1751);
  // The sell side: fees rounded half up like the simulator's.
  cfg.min_profit = 1;
  full.stats.avg90[csv::used] = 1230; // referral 184.5 -> 185
  full.stats.current[csv::used] = 1000; // still passes the peek
  full.offers.lowest_by_condition[2] = 700;
  v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.math.referral_fee == 185);
  CHECK(v.profit == 1230 - 185 - 300 - 700);
}

TEST_CASE("commit: buy price fallbacks and fresh data",
          "[pipeline][analysis]") {
  analysis_config cfg;
  auto full = full_product();
  // Offers came back without any used offer: the peek's buy price.
  full.offers.lowest_by_condition = {-1, 900, -1, -1, -1, -1};
  auto v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.buy_price == 1300);
  // The offer fetch failed: likewise.
  full = full_product();
  full.offers_successful = false;
  v = commit(survivor_of(full), full, cfg, 0);
  CHECK(v.buy_price == 1300);
  REQUIRE(v.record);
  CHECK(v.record->offers_used == 9); // from stats.current COUNT_USED
  // No stats in the full product: the survivor's figures carry on.
  full = full_product();
  full.has_stats = false;
  full.stats = product_stats{};
  v = commit(survivor_of(full), full, cfg, 0);
  REQUIRE(v.record);
  CHECK(v.record->est_sell_price == 3000);
  CHECK(v.record->sales_rank == -1);
  CHECK(v.record->last_update == 7000000);
  // The full product no longer passes the peek: rejected with its reason.
  full = full_product();
  full.stats.avg90[csv::used] = 1100;
  full.stats.avg365[csv::used] = 1100;
  v = commit(survivor_of(full), full, cfg, 0);
  CHECK_FALSE(v.record);
  CHECK(v.reason == rejection_reason::sell_below_min);
  full = full_product();
  full.product_type = 4;
  CHECK(commit(survivor_of(full), full, cfg, 0).reason
        == rejection_reason::bad_product_type);
}

TEST_CASE("validate rejects nonsense", "[pipeline][analysis]") {
  analysis_config ok;
  CHECK_FALSE(validate(ok));
  auto bad = [&](auto f) {
    auto c = ok;
    f(c);
    auto err = validate(c);
    return err == ec::invalid_config;
  };
  CHECK(bad([](auto& c) { c.min_sell_price = -1; }));
  CHECK(bad([](auto& c) { c.max_buy_to_sell = 0; }));
  CHECK(bad([](auto& c) { c.max_buy_to_sell = std::nan(""); }));
  CHECK(bad([](auto& c) { c.min_roi = -1; }));
  CHECK(bad([](auto& c) { c.min_rank_drops = -1; }));
  CHECK(bad([](auto& c) { c.min_price = -5; }));
  CHECK(bad([](auto& c) {
    c.min_price = 3000;
    c.max_price = 2000;
  }));
  CHECK(bad([](auto& c) { c.memory = std::chrono::seconds{-1}; }));
  CHECK(bad([](auto& c) { c.prep_fee = -1; }));
  CHECK(bad([](auto& c) { c.inbound_shipping = -1; }));
  CHECK(bad([](auto& c) { c.pick_pack_fee = -1; }));
  CHECK(bad([](auto& c) { c.tax_percent = -0.5; }));
  CHECK(bad([](auto& c) { c.tax_percent = 101; }));
  CHECK(bad([](auto& c) { c.markup = -0.1; }));
  CHECK(bad([](auto& c) { c.referral_percent = 100; }));
  // Edges that are fine.
  CHECK_FALSE(bad([](auto& c) {
    c.min_price = 2000;
    c.max_price = 2000;
  }));
  CHECK_FALSE(bad([](auto& c) { c.min_roi = 0; }));
  CHECK_FALSE(bad([](auto& c) { c.memory = caf::timespan{0}; }));
}

TEST_CASE("analysis_config_from reads keepa.filter and keepa.business",
          "[pipeline][analysis]") {
  caf::settings xs;
  auto defaults = analysis_config_from(xs);
  REQUIRE(defaults);
  CHECK(defaults->min_sell_price == 1200);
  CHECK(defaults->max_buy_to_sell == 1.1);
  CHECK(defaults->min_roi == 0.2);
  CHECK(defaults->min_profit == 500);
  caf::put(xs, "keepa.filter.min-sell-price", int64_t{1500});
  caf::put(xs, "keepa.filter.max-buy-to-sell", 1.25);
  caf::put(xs, "keepa.filter.min-roi", int64_t{1}); // integer for a double
  caf::put(xs, "keepa.filter.min-rank-drops365", int64_t{2});
  caf::put(xs, "keepa.filter.min-price", int64_t{2000});
  caf::put(xs, "keepa.filter.max-price", int64_t{45100});
  caf::put(xs, "keepa.filter.rejection-memory",
           caf::timespan{std::chrono::hours{48}});
  caf::put(xs, "keepa.business.prep-fee", int64_t{50});
  caf::put(xs, "keepa.business.inbound-shipping", int64_t{80});
  caf::put(xs, "keepa.business.tax-percent", 8.25);
  caf::put(xs, "keepa.business.markup", 0.1);
  caf::put(xs, "keepa.business.referral-percent", int64_t{12});
  caf::put(xs, "keepa.business.pick-pack-fee", int64_t{400});
  caf::put(xs, "keepa.business.min-profit", int64_t{300});
  auto c = analysis_config_from(xs);
  REQUIRE(c);
  CHECK(c->min_sell_price == 1500);
  CHECK(c->max_buy_to_sell == 1.25);
  CHECK(c->min_roi == 1.0);
  CHECK(c->min_rank_drops == 2);
  CHECK(c->min_price == 2000);
  CHECK(c->max_price == 45100);
  CHECK(c->memory == std::chrono::hours{48});
  CHECK(c->prep_fee == 50);
  CHECK(c->inbound_shipping == 80);
  CHECK(c->tax_percent == 8.25);
  CHECK(c->markup == 0.1);
  CHECK(c->referral_percent == 12);
  CHECK(c->pick_pack_fee == 400);
  CHECK(c->min_profit == 300);
  caf::put(xs, "keepa.filter.max-price", int64_t{1000});
  CHECK(analysis_config_from(xs).error() == ec::invalid_config);
  caf::put(xs, "keepa.filter.max-price", int64_t{1} << 40);
  CHECK(analysis_config_from(xs).error() == ec::invalid_config);
}

TEST_CASE("the option registry has every analysis key",
          "[pipeline][analysis]") {
  caf::config_option_set opts;
  add_keepa_options(opts);
  for (auto key :
       {"min-sell-price", "max-buy-to-sell", "min-roi", "min-rank-drops365",
        "min-price", "max-price", "rejection-memory", "skip-peek-profit"})
    CHECK(opts.qualified_name_lookup("keepa.filter", std::string{key})
          != nullptr);
  for (auto key : {"prep-fee", "inbound-shipping", "tax-percent", "markup",
                   "referral-percent", "pick-pack-fee", "min-profit"})
    CHECK(opts.qualified_name_lookup("keepa.business", std::string{key})
          != nullptr);
  // The CLI parses into settings analysis_config_from understands.
  caf::settings xs;
  std::vector<std::string> args{"--keepa.filter.min-roi=0.3",
                                "--keepa.business.prep-fee=25",
                                "--keepa.filter.rejection-memory=2h",
                                "--keepa.filter.skip-peek-profit"};
  auto res = opts.parse(xs, args);
  REQUIRE(res.first == caf::pec::success);
  auto c = analysis_config_from(xs);
  REQUIRE(c);
  CHECK(c->min_roi == 0.3);
  CHECK(c->prep_fee == 25);
  CHECK(c->memory == std::chrono::hours{2});
  CHECK_FALSE(c->peek_profit);
  CHECK(analysis_config{}.peek_profit);
}

TEST_CASE("refresh_from_feed: a stored deal is refreshed from the feed while "
          "its price moved within the tolerance and the profit that leaves "
          "reaches the minimum",
          "[pipeline][analysis][reappear]") {
  analysis_config cfg; // tolerance 10 %, min profit $5.00
  asin_memory m;
  m.asin = "0123456789";
  m.stored = true;
  m.stored_buy_price = 1000;
  m.stored_profit = 560;
  CHECK(refresh_from_feed(feed_deal(1000), m, cfg));
  // Down by the tolerance exactly, and one cent more.
  CHECK(refresh_from_feed(feed_deal(900), m, cfg));
  CHECK_FALSE(refresh_from_feed(feed_deal(899), m, cfg));
  // Up: the profit left decides first ($5.60 - $0.60 = $5.00).
  CHECK(refresh_from_feed(feed_deal(1060), m, cfg));
  CHECK_FALSE(refresh_from_feed(feed_deal(1061), m, cfg));
  m.stored_profit = 5000;
  CHECK(refresh_from_feed(feed_deal(1100), m, cfg));
  CHECK_FALSE(refresh_from_feed(feed_deal(1101), m, cfg));
  // No price in the feed, no stored price, not stored: bought as usual.
  CHECK_FALSE(refresh_from_feed(feed_deal(-1), m, cfg));
  m.stored_buy_price = -1;
  CHECK_FALSE(refresh_from_feed(feed_deal(1000), m, cfg));
  m.stored_buy_price = 1000;
  m.stored = false;
  CHECK_FALSE(refresh_from_feed(feed_deal(1000), m, cfg));
  // A tolerance of 0 refreshes only an unchanged price.
  m.stored = true;
  cfg.refresh_tolerance = 0;
  CHECK(refresh_from_feed(feed_deal(1000), m, cfg));
  CHECK_FALSE(refresh_from_feed(feed_deal(999), m, cfg));
}

TEST_CASE("sighting_from_feed: with the row's sell estimate and all-in cost "
          "known, a stored deal is refreshed at the feed's price with its "
          "figures recomputed; a drop of any size is refreshed",
          "[pipeline][analysis][reappear]") {
  analysis_config cfg; // tolerance 10 %, min profit $5.00
  cfg.tax_percent = 10;
  cfg.prep_fee = 50;
  cfg.inbound_shipping = 30;
  asin_memory m;
  m.asin = "0123456789";
  m.stored = true;
  m.stored_buy_price = 1000;
  // All-in: 1000 + 100 tax + 50 + 30; Amazon fees 1200 of the $30.00.
  m.stored_sell_price = 3000;
  m.stored_all_in_cost = 1180;
  m.stored_profit = 620;
  auto d = feed_deal(400);
  d.last_update = 1234;
  auto x = sighting_from_feed(d, m, cfg, 99);
  REQUIRE(x);
  CHECK(x->asin == d.asin);
  CHECK(x->last_update == 1234);
  CHECK(x->seen_ms == 99);
  CHECK(x->buy_price == 400);
  // 400 + 40 + 50 + 30; the fees stay: 3000 - 1200 - 520.
  CHECK(x->all_in_cost == 520);
  CHECK(x->profit == 1280);
  CHECK(x->margin_bp == 4267);
  CHECK(x->roi_bp == 24615);
  // The same price keeps the same figures.
  auto same = sighting_from_feed(feed_deal(1000), m, cfg, 0);
  REQUIRE(same);
  CHECK(same->all_in_cost == 1180);
  CHECK(same->profit == 620);
  // A rise within the tolerance while the profit reaches the minimum
  // ($6.20 - $1.10 at $11.00 is $5.10; at $11.01 it is $5.09)...
  auto rise = sighting_from_feed(feed_deal(1100), m, cfg, 0);
  REQUIRE(rise);
  CHECK(rise->profit == 510);
  // ... but not when the profit falls below it.
  m.stored_profit = 560;
  CHECK_FALSE(sighting_from_feed(feed_deal(1100), m, cfg, 0));
  // Issue 18: a rise beyond the tolerance that leaves the profit above the
  // minimum does not change the decision: refreshed, not bought again (at
  // R = 20 re-commits of stored deals took a third of the plan).
  m.stored_profit = 5000;
  auto big = sighting_from_feed(feed_deal(2000), m, cfg, 0);
  REQUIRE(big);
  // 2000 + 200 + 50 + 30: the profit falls by 1100.
  CHECK(big->all_in_cost == 2280);
  CHECK(big->profit == 3900);
  // A rise to where the profit misses the minimum is bought again.
  CHECK_FALSE(sighting_from_feed(feed_deal(6000), m, cfg, 0));
  // Without the figures the row keeps its own and a big drop is bought.
  m.stored_sell_price = -1;
  auto kept = sighting_from_feed(feed_deal(950), m, cfg, 0);
  REQUIRE(kept);
  CHECK(kept->buy_price == -1);
  CHECK_FALSE(sighting_from_feed(feed_deal(400), m, cfg, 0));
}

TEST_CASE("lapsed: a stored deal stops being one where its profit at the "
          "new price falls below the minimum, and is looked at again below "
          "the lowest such price",
          "[pipeline][analysis][retire]") {
  analysis_config cfg; // min profit $5.00
  cfg.tax_percent = 10;
  cfg.prep_fee = 50;
  cfg.inbound_shipping = 30;
  // As above: bought at $10.00, all-in $11.80, profit $6.20 on $30.00.
  auto at = [&](int32_t buy) { return lapsed(buy, 3000, 620, 1180, cfg); };
  // Profit 620 + 1180 - (buy + tax + 80), tax 10 % to the cent: $5.10 at
  // $11.00, $5.00 at $11.09, $4.99 at $11.10.
  CHECK_FALSE(at(1000));
  CHECK_FALSE(at(1100));
  CHECK_FALSE(at(1109));
  auto x = at(1110);
  REQUIRE(x);
  CHECK(x->reason == rejection_reason::profit_below_min);
  CHECK(x->retry_below == 1110);
  // Nothing left from $15.64 on (1564 + 156 + 80 = 1800).
  CHECK(at(1563)->reason == rejection_reason::profit_below_min);
  auto none = at(1564);
  REQUIRE(none);
  CHECK(none->reason == rejection_reason::no_profit);
  CHECK(none->retry_below == 1110);
  // Unknown figures or no price: no verdict.
  CHECK_FALSE(lapsed(5000, -1, 620, 1180, cfg));
  CHECK_FALSE(lapsed(5000, 3000, 620, -1, cfg));
  CHECK_FALSE(lapsed(-1, 3000, 620, 1180, cfg));
  // Which rejections retire a stored deal.
  using r = rejection_reason;
  for (auto x :
       {r::bad_product_type, r::sell_below_min, r::buy_above_sell,
        r::roi_below_min, r::no_rank_drops, r::profit_below_min, r::no_profit})
    CHECK(is_verdict(x));
  for (auto x :
       {r::none, r::no_used_price, r::price_out_of_range, r::remembered,
        r::no_stats, r::no_buy_price, r::no_sell_price, r::not_returned,
        r::peek_failed, r::commit_failed, r::below_value_bar})
    CHECK_FALSE(is_verdict(x));
}
