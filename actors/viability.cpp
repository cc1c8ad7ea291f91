#include "actors/viability.hpp"

#include <algorithm>
#include <cmath>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "messages/error.hpp"

namespace keepa {

caf::expected<analysis_config> analysis_config_from(const caf::settings& xs) {
  analysis_config c;
  auto i32 = [&](const char* key, int32_t fallback) {
    return static_cast<int32_t>(caf::get_or(xs, key, int64_t{fallback}));
  };
  c.min_sell_price = i32("keepa.filter.min-sell-price", c.min_sell_price);
  c.max_buy_to_sell = caf::get_or(xs, "keepa.filter.max-buy-to-sell",
                                  c.max_buy_to_sell);
  c.min_roi = caf::get_or(xs, "keepa.filter.min-roi", c.min_roi);
  c.min_rank_drops = i32("keepa.filter.min-rank-drops", c.min_rank_drops);
  c.min_price = i32("keepa.filter.min-price", c.min_price);
  c.max_price = i32("keepa.filter.max-price", c.max_price);
  c.memory = caf::get_or(xs, "keepa.filter.memory", c.memory);
  c.prep_fee = i32("keepa.business.prep-fee", c.prep_fee);
  c.inbound_shipping = i32("keepa.business.inbound-shipping",
                           c.inbound_shipping);
  c.tax_percent = caf::get_or(xs, "keepa.business.tax-percent",
                              c.tax_percent);
  c.markup = caf::get_or(xs, "keepa.business.markup", c.markup);
  c.min_profit = i32("keepa.business.min-profit", c.min_profit);
  c.referral_percent = caf::get_or(xs, "keepa.business.referral-percent",
                                   c.referral_percent);
  if (auto err = validate(c))
    return err;
  return c;
}

caf::error validate(const analysis_config& c) {
  auto bad = [](const char* what) {
    return caf::make_error(ec::invalid_config, std::string{what});
  };
  if (c.min_sell_price < 0 || c.min_price < 0 || c.max_price < 0)
    return bad("keepa.filter prices must not be negative");
  if (c.max_price != 0 && c.max_price < c.min_price)
    return bad("keepa.filter.max-price must be >= min-price (0 = none)");
  if (!(c.max_buy_to_sell > 0) || !(c.min_roi > -1) || c.min_rank_drops < 0)
    return bad("keepa.filter: max-buy-to-sell > 0, min-roi > -1, "
               "min-rank-drops >= 0");
  if (c.memory.count() < 0)
    return bad("keepa.filter.memory must not be negative");
  if (c.prep_fee < 0 || c.inbound_shipping < 0 || c.tax_percent < 0
      || c.tax_percent > 100 || c.markup < 0)
    return bad("keepa.business fees, tax (0..100) and markup must not be "
               "negative");
  if (c.referral_percent < 0 || c.referral_percent >= 100)
    return bad("keepa.business.referral-percent must be in [0, 100)");
  return caf::none;
}

int32_t at(const std::vector<int32_t>& xs, size_t index) {
  return index < xs.size() ? xs[index] : -1;
}

namespace {

int32_t positive_min(std::initializer_list<int32_t> xs) {
  int32_t result = -1;
  for (auto x : xs)
    if (x > 0 && (result < 0 || x < result))
      result = x;
  return result;
}

/// The used price a deal shows, or -1.
int32_t deal_used_price(const deal& d) {
  return at(d.current, csv::used);
}

} // namespace

caf::optional<std::string> pre_reject(const deal& d,
                                      const analysis_config& cfg) {
  auto price = deal_used_price(d);
  if (price <= 0)
    return std::string{"no-used-price"};
  if (price < cfg.min_price || (cfg.max_price > 0 && price > cfg.max_price))
    return std::string{"price-out-of-range"};
  return caf::none;
}

bool remembered_reject(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg, int64_t now_ms) {
  if (!mem.rejected)
    return false;
  auto window = std::chrono::duration_cast<std::chrono::milliseconds>(
                  cfg.memory)
                  .count();
  if (now_ms - mem.rejected_at_ms > window)
    return false;
  auto price = deal_used_price(d);
  // Re-check when the price dropped (or when the old one is unknown).
  return mem.rejected_price > 0 && price >= mem.rejected_price;
}

peek_verdict peek(const product& p, const analysis_config& cfg) {
  peek_verdict v;
  auto& st = p.stats;
  auto used = at(st.current, csv::used);
  auto buy = used > 0 ? used : at(st.current, csv::new_);
  v.buy_price = buy;
  // Sell estimate: the lower of the used 90- and 365-day averages; where
  // the plain USED series has no average, the cheapest used condition
  // variant (like new .. acceptable, with shipping) stands in.
  auto sell = positive_min({at(st.avg90, csv::used), at(st.avg365, csv::used)});
  if (sell < 0) {
    for (auto i : {csv::used_new_shipping, csv::used_very_good_shipping,
                   csv::used_good_shipping, csv::used_acceptable_shipping}) {
      auto x = positive_min({at(st.avg90, i), at(st.avg365, i)});
      if (x > 0 && (sell < 0 || x < sell))
        sell = x;
    }
  }
  v.est_sell_price = sell;
  if (!p.has_stats)
    v.reason = "no-stats";
  else if (buy <= 0)
    v.reason = "no-buy-price";
  else if (sell <= 0)
    v.reason = "no-sell-estimate";
  else if (st.sales_rank_drops365 < cfg.min_rank_drops)
    v.reason = "no-rank-drops";
  else if (sell < cfg.min_sell_price)
    v.reason = "sell-below-min";
  else if (buy > cfg.max_buy_to_sell * sell)
    v.reason = "buy-above-sell";
  else if (static_cast<double>(sell - buy) < cfg.min_roi * buy)
    v.reason = "roi-below-min";
  else
    v.viable = true;
  return v;
}

commit_verdict commit(const survivor& s, const product& full,
                      const analysis_config& cfg, int64_t now_ms) {
  commit_verdict v;
  // Buy at the cheapest live used offer (landing price) when offers were
  // fetched; otherwise at the peek's price.
  int32_t buy = -1;
  if (full.has_offers)
    for (size_t cond = 2; cond <= 5; ++cond) {
      auto x = at(full.offers.lowest_by_condition, cond);
      if (x > 0 && (buy < 0 || x < buy))
        buy = x;
    }
  if (buy < 0)
    buy = s.buy_price;
  v.buy_price = buy;
  auto peeked = peek(full, cfg);
  auto sell = peeked.est_sell_price > 0 ? peeked.est_sell_price
                                        : s.est_sell_price;
  if (buy <= 0 || sell <= 0) {
    v.reason = buy <= 0 ? "no-buy-price" : "no-sell-estimate";
    return v;
  }
  auto referral = full.referral_fee_percentage >= 0
                    ? full.referral_fee_percentage
                    : cfg.referral_percent;
  auto pick_pack = std::max(full.fba_pick_pack_fee, 0);
  auto all_in = buy + cfg.prep_fee + cfg.inbound_shipping
                + static_cast<int32_t>(std::lround(buy * cfg.tax_percent
                                                   / 100.0));
  auto fees = static_cast<int32_t>(std::lround(sell * referral / 100.0))
              + pick_pack;
  auto profit = sell - fees - all_in;
  v.profit = profit;
  if (profit < cfg.min_profit) {
    v.reason = "profit-below-min";
    return v;
  }
  deal_record r;
  r.asin = full.asin;
  r.title = full.title.empty() ? s.candidate.title : full.title;
  r.buy_price = buy;
  r.est_sell_price = sell;
  r.avg365 = at(full.stats.avg365, csv::used);
  r.all_in_cost = all_in;
  r.profit = profit;
  r.margin_bp = static_cast<int32_t>(
    std::lround(10000.0 * profit / static_cast<double>(sell)));
  r.roi_bp = static_cast<int32_t>(
    std::lround(10000.0 * profit / static_cast<double>(all_in)));
  // The lowest price P with P - fees(P) >= all-in x (1 + markup).
  auto needed = all_in * (1.0 + cfg.markup) + pick_pack;
  r.min_listing_price = static_cast<int32_t>(
    std::ceil(needed / (1.0 - referral / 100.0)));
  r.sales_rank = at(full.stats.current, csv::sales_rank);
  r.rank_drops90 = full.stats.sales_rank_drops90;
  r.rank_drops365 = full.stats.sales_rank_drops365;
  r.offers_used = full.has_offers ? full.offers.used : -1;
  r.offers_new = full.has_offers ? full.offers.new_ : -1;
  r.last_update = full.last_update;
  r.first_seen_ms = now_ms;
  r.last_seen_ms = now_ms;
  r.written_by = write_stage::commit;
  v.record = std::move(r);
  return v;
}

} // namespace keepa
