#include "actors/analysis/deal_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>

#include <caf/config_value.hpp>
#include <caf/expected.hpp>
#include <caf/settings.hpp>

#include "messages/error.hpp"

namespace keepa {

// -- configuration ------------------------------------------------------------

namespace {

/// An integer option; out-of-range values become an error in validate()
/// by saturating to a sentinel that fails every check.
int32_t get_i32(const caf::settings& xs, const char* key, int32_t fallback) {
  auto v = caf::get_if<int64_t>(&xs, key);
  if (!v)
    return fallback;
  if (*v < std::numeric_limits<int32_t>::min()
      || *v > std::numeric_limits<int32_t>::max())
    return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(*v);
}

/// A fractional option; an integer in the config file counts too.
double get_double(const caf::settings& xs, const char* key, double fallback) {
  if (auto v = caf::get_if<double>(&xs, key))
    return *v;
  if (auto v = caf::get_if<int64_t>(&xs, key))
    return static_cast<double>(*v);
  return fallback;
}

} // namespace

caf::expected<analysis_config> analysis_config_from(const caf::settings& xs) {
  namespace filter = defaults::filter;
  namespace business = defaults::business;
  analysis_config c;
  c.min_sell_price = get_i32(xs, "keepa.filter.min-sell-price",
                             filter::min_sell_price);
  c.max_buy_to_sell = get_double(xs, "keepa.filter.max-buy-to-sell",
                                 filter::max_buy_to_sell);
  c.min_roi = get_double(xs, "keepa.filter.min-roi", filter::min_roi);
  c.min_rank_drops = get_i32(xs, "keepa.filter.min-rank-drops365",
                             filter::min_rank_drops365);
  c.min_price = get_i32(xs, "keepa.filter.min-price", filter::min_price);
  c.max_price = get_i32(xs, "keepa.filter.max-price", filter::max_price);
  c.memory = caf::get_or(xs, "keepa.filter.rejection-memory",
                         caf::timespan{filter::rejection_memory});
  c.peek_profit = !caf::get_or(xs, "keepa.filter.skip-peek-profit",
                               filter::skip_peek_profit);
  c.refresh_tolerance = get_double(xs, "keepa.filter.refresh-tolerance",
                                   filter::refresh_tolerance);
  c.prep_fee = get_i32(xs, "keepa.business.prep-fee", business::prep_fee);
  c.inbound_shipping = get_i32(xs, "keepa.business.inbound-shipping",
                               business::inbound_shipping);
  c.tax_percent = get_double(xs, "keepa.business.tax-percent",
                             business::tax_percent);
  c.markup = get_double(xs, "keepa.business.markup", business::markup);
  c.referral_percent = get_double(xs, "keepa.business.referral-percent",
                                  business::referral_percent);
  c.pick_pack_fee = get_i32(xs, "keepa.business.pick-pack-fee",
                            business::pick_pack_fee);
  c.min_profit = get_i32(xs, "keepa.business.min-profit", business::min_profit);
  if (auto err = validate(c))
    return err;
  return c;
}

caf::error validate(const analysis_config& c) {
  auto bad = [](const char* what) {
    return caf::make_error(ec::invalid_config, std::string{what});
  };
  auto finite = [](double x) { return std::isfinite(x); };
  if (c.min_sell_price < 0)
    return bad("keepa.filter.min-sell-price must be >= 0 cents");
  if (!finite(c.max_buy_to_sell) || c.max_buy_to_sell <= 0
      || c.max_buy_to_sell > 100)
    return bad("keepa.filter.max-buy-to-sell must be in (0, 100]");
  if (!finite(c.min_roi) || c.min_roi <= -1 || c.min_roi > 100)
    return bad("keepa.filter.min-roi must be in (-1, 100]");
  if (c.min_rank_drops < 0)
    return bad("keepa.filter.min-rank-drops365 must be >= 0");
  if (c.min_price < 0 || c.max_price < 0)
    return bad("keepa.filter.min-price and max-price must be >= 0 cents");
  if (c.max_price != 0 && c.max_price < c.min_price)
    return bad("keepa.filter.max-price must be >= min-price (0 = no bound)");
  if (c.memory.count() < 0)
    return bad("keepa.filter.rejection-memory must be >= 0");
  if (!finite(c.refresh_tolerance) || c.refresh_tolerance < 0
      || c.refresh_tolerance > 1)
    return bad("keepa.filter.refresh-tolerance must be in [0, 1]");
  if (c.prep_fee < 0 || c.inbound_shipping < 0 || c.pick_pack_fee < 0)
    return bad("keepa.business fees (prep-fee, inbound-shipping, "
               "pick-pack-fee) must be >= 0 cents");
  if (!finite(c.tax_percent) || c.tax_percent < 0 || c.tax_percent > 100)
    return bad("keepa.business.tax-percent must be in [0, 100]");
  if (!finite(c.markup) || c.markup < 0 || c.markup > 100)
    return bad("keepa.business.markup must be in [0, 100]");
  if (!finite(c.referral_percent) || c.referral_percent < 0
      || c.referral_percent >= 100)
    return bad("keepa.business.referral-percent must be in [0, 100)");
  if (c.min_profit == std::numeric_limits<int32_t>::min())
    return bad("keepa.business.min-profit out of range");
  return caf::none;
}

// -- rejection reasons --------------------------------------------------------

const char* to_string(rejection_reason x) {
  using r = rejection_reason;
  switch (x) {
    case r::none: return "";
    case r::no_used_price: return "no-used-price";
    case r::price_out_of_range: return "price-out-of-range";
    case r::remembered: return "remembered";
    case r::bad_product_type: return "bad-product-type";
    case r::no_stats: return "no-stats";
    case r::no_buy_price: return "no-buy-price";
    case r::no_sell_price: return "no-sell-price";
    case r::sell_below_min: return "sell-below-min";
    case r::buy_above_sell: return "buy-above-sell";
    case r::roi_below_min: return "roi-below-min";
    case r::no_rank_drops: return "no-rank-drops";
    case r::profit_below_min: return "profit-below-min";
    case r::no_profit: return "no-profit";
    case r::not_returned: return "not-returned";
    case r::peek_failed: return "peek-failed";
    case r::commit_failed: return "commit-failed";
    case r::below_value_bar: return "below-value-bar";
  }
  return "?";
}

std::string failure_text(rejection_reason x, const caf::error& err) {
  return std::string{to_string(x)} + ": " + render(err);
}

// -- Keepa data helpers -------------------------------------------------------

int32_t at(const std::vector<int32_t>& xs, size_t index) {
  return index < xs.size() ? xs[index] : -1;
}

namespace {

/// The smallest positive value, or -1.
int32_t positive_min(std::initializer_list<int32_t> xs) {
  int32_t result = -1;
  for (auto x : xs)
    if (x > 0 && (result < 0 || x < result))
      result = x;
  return result;
}

int32_t round_cents(double x) {
  return static_cast<int32_t>(std::lround(x));
}

/// The cost side of deal_math, and the profit: everything up to
/// `profit`, with the given referral percent and pick & pack fee.
deal_math profit_math(int32_t buy, int32_t sell, double referral_percent,
                      int32_t pick_pack_fee, const analysis_config& cfg) {
  deal_math m;
  m.buy_price = buy;
  m.est_sell_price = sell;
  m.tax = round_cents(buy * cfg.tax_percent / 100.0);
  m.all_in_cost = buy + cfg.prep_fee + cfg.inbound_shipping + m.tax;
  m.referral_percent = referral_percent;
  m.referral_fee
    = round_cents(static_cast<double>(sell) * referral_percent / 100.0);
  m.pick_pack_fee = pick_pack_fee;
  m.amazon_fees = m.referral_fee + m.pick_pack_fee;
  m.profit = sell - m.amazon_fees - m.all_in_cost;
  return m;
}

/// A ratio in exact 1/10000 steps, so that integer comparisons reproduce
/// e.g. "buy * 10 > sell * 11" without floating-point edge cases.
int64_t basis_points(double x) {
  return std::llround(x * 10000.0);
}

/// Whether a buy price breaks a rule that depends on it: the ratio to the
/// sell estimate, the gross ROI, or (with `profit`) the profit on `p`'s
/// fees. Each rule is monotone: a price that breaks one, so does every
/// higher price.
rejection_reason price_rule_broken(int64_t buy, int64_t sell, const product& p,
                                   const analysis_config& cfg,
                                   bool profit = true) {
  if (buy * 10000 > basis_points(cfg.max_buy_to_sell) * sell)
    return rejection_reason::buy_above_sell;
  if ((sell - buy) * 10000 < basis_points(cfg.min_roi) * buy)
    return rejection_reason::roi_below_min;
  if (!profit)
    return rejection_reason::none;
  auto cents = compute_math(static_cast<int32_t>(buy),
                            static_cast<int32_t>(sell), p, cfg)
                 .profit;
  return cents <= 0 || cents < cfg.min_profit
    ? rejection_reason::profit_below_min
    : rejection_reason::none;
}

/// The lowest buy price that breaks a price rule, given that `broken_at`
/// does (binary search: the rules are monotone). The profit rule counts
/// even when the peek skips it: the commit applies it.
int32_t lowest_broken_price(int32_t broken_at, int64_t sell, const product& p,
                            const analysis_config& cfg) {
  int64_t passes = 0;
  int64_t breaks = broken_at;
  while (breaks - passes > 1) {
    auto mid = passes + (breaks - passes) / 2;
    (price_rule_broken(mid, sell, p, cfg) != rejection_reason::none ? breaks
                                                                    : passes)
      = mid;
  }
  return static_cast<int32_t>(breaks);
}

/// rejection_record::retry_below for a rejection for `reason` at `buy`.
int32_t retry_below(rejection_reason reason, int32_t buy, int32_t sell,
                    const product& p, const analysis_config& cfg) {
  using r = rejection_reason;
  switch (reason) {
    case r::bad_product_type:
    case r::no_sell_price:
    case r::sell_below_min:
    case r::no_rank_drops:
      // Rules no buy price can change.
      return 0;
    case r::buy_above_sell:
    case r::roi_below_min:
    case r::profit_below_min:
    case r::no_profit:
      if (buy > 0 && sell > 0)
        return lowest_broken_price(buy, sell, p, cfg);
      return -1;
    default: return -1;
  }
}

} // namespace

int32_t deal_buy_price(const deal& d) {
  auto used = at(d.current, csv::used);
  if (used > 0)
    return used;
  auto fresh = at(d.current, csv::new_);
  return fresh > 0 ? fresh : -1;
}

int32_t buy_price_of(const product& p) {
  if (!p.has_stats)
    return -1;
  auto used = at(p.stats.current, csv::used);
  if (used > 0)
    return used;
  auto fresh = at(p.stats.current, csv::new_);
  return fresh > 0 ? fresh : -1;
}

int32_t est_sell_price_of(const product& p) {
  if (!p.has_stats)
    return -1;
  auto& st = p.stats;
  auto sell = positive_min({at(st.avg90, csv::used), at(st.avg365, csv::used)});
  if (sell > 0)
    return sell;
  // Condition variants (like new .. acceptable, landing prices): only with
  // offers; the cheapest one is the conservative stand-in.
  for (auto i : {csv::used_new_shipping, csv::used_very_good_shipping,
                 csv::used_good_shipping, csv::used_acceptable_shipping}) {
    auto x = positive_min({at(st.avg90, i), at(st.avg365, i)});
    if (x > 0 && (sell < 0 || x < sell))
      sell = x;
  }
  return sell;
}

int32_t cheapest_used_offer(const product& p) {
  if (!p.has_offers || !p.offers_successful)
    return -1;
  auto& xs = p.offers.lowest_by_condition;
  return positive_min({at(xs, 2), at(xs, 3), at(xs, 4), at(xs, 5)});
}

// -- free pre-filter and rejection memory ------------------------------------

rejection_reason pre_reject(const deal& d, const analysis_config& cfg) {
  auto price = at(d.current, csv::used);
  if (price <= 0)
    return rejection_reason::no_used_price;
  if (price < cfg.min_price || (cfg.max_price > 0 && price > cfg.max_price))
    return rejection_reason::price_out_of_range;
  return rejection_reason::none;
}

caf::optional<int32_t> deal_profit_estimate(const deal& d,
                                            const analysis_config& cfg) {
  auto buy = deal_buy_price(d);
  auto sell = at(d.avg90, csv::used);
  if (buy <= 0 || sell <= 0)
    return caf::none;
  return profit_math(buy, sell, cfg.referral_percent, cfg.pick_pack_fee, cfg)
    .profit;
}

bool remembered_reject(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg, int64_t now_ms) {
  if (!mem.rejected)
    return false;
  auto window
    = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.memory).count();
  if (now_ms - mem.rejected_at_ms >= window)
    return false; // forgotten
  auto bar = mem.rejected_retry_below >= 0 ? mem.rejected_retry_below
                                           : mem.rejected_price;
  // Without the old price nothing proves the price has not dropped.
  if (mem.rejected_retry_below < 0 && mem.rejected_price <= 0)
    return false;
  auto price = deal_buy_price(d);
  // No price now cannot be a drop; the pre-filter deals with it.
  return price <= 0 || price >= bar;
}

caf::optional<repriced_figures> reprice(int32_t buy, int32_t sell,
                                        int32_t profit, int32_t all_in_cost,
                                        const analysis_config& cfg) {
  if (sell <= 0 || all_in_cost <= 0)
    return caf::none;
  repriced_figures x;
  x.all_in_cost = profit_math(buy, sell, 0, 0, cfg).all_in_cost;
  x.profit = int64_t{profit} + all_in_cost - x.all_in_cost;
  x.margin_bp = round_cents(10000.0 * static_cast<double>(x.profit) / sell);
  x.roi_bp = x.all_in_cost > 0
    ? round_cents(10000.0 * static_cast<double>(x.profit) / x.all_in_cost)
    : 0;
  return x;
}

caf::optional<lapse> lapsed(int32_t buy, int32_t sell, int32_t profit,
                            int32_t all_in_cost, const analysis_config& cfg) {
  auto fails = [&](int32_t price) {
    auto x = reprice(price, sell, profit, all_in_cost, cfg);
    return x && (x->profit <= 0 || x->profit < cfg.min_profit);
  };
  if (buy <= 0 || !fails(buy))
    return caf::none;
  lapse result;
  result.reason = reprice(buy, sell, profit, all_in_cost, cfg)->profit <= 0
    ? rejection_reason::no_profit
    : rejection_reason::profit_below_min;
  // The profit falls as the price rises (the all-in cost grows with it):
  // the lowest failing price by binary search.
  int32_t passes = 0;
  int32_t breaks = buy;
  while (breaks - passes > 1) {
    auto mid = passes + (breaks - passes) / 2;
    (fails(mid) ? breaks : passes) = mid;
  }
  result.retry_below = breaks;
  return result;
}

bool is_verdict(rejection_reason x) {
  using r = rejection_reason;
  switch (x) {
    case r::bad_product_type:
    case r::sell_below_min:
    case r::buy_above_sell:
    case r::roi_below_min:
    case r::no_rank_drops:
    case r::profit_below_min:
    case r::no_profit: return true;
    default: return false;
  }
}

caf::optional<deal_sighting>
sighting_from_feed(const deal& d, const asin_memory& mem,
                   const analysis_config& cfg, int64_t now_ms) {
  if (!mem.stored || mem.stored_buy_price <= 0)
    return caf::none;
  auto price = int64_t{deal_buy_price(d)};
  if (price <= 0)
    return caf::none;
  auto stored = int64_t{mem.stored_buy_price};
  auto move = price - stored;
  auto within = static_cast<double>(std::abs(move))
    <= cfg.refresh_tolerance * static_cast<double>(stored);
  deal_sighting x{d.asin, d.last_update, now_ms};
  auto at = reprice(static_cast<int32_t>(price), mem.stored_sell_price,
                    mem.stored_profit, mem.stored_all_in_cost, cfg);
  if (!at) {
    // The row's figures cannot be recomputed: only a small move keeps them.
    if (within
        && int64_t{mem.stored_profit} - std::max<int64_t>(move, 0)
          >= cfg.min_profit)
      return x;
    return caf::none;
  }
  // A rise of any size is refreshed while the profit at the new price still
  // reaches the minimum: the decision stands, and a full commit would only
  // store the same deal again (at R = 20 a third of the plan went so).
  if (at->profit <= 0 || at->profit < cfg.min_profit)
    return caf::none;
  x.buy_price = static_cast<int32_t>(price);
  x.all_in_cost = at->all_in_cost;
  x.profit = static_cast<int32_t>(at->profit);
  x.margin_bp = at->margin_bp;
  x.roi_bp = at->roi_bp;
  return x;
}

bool refresh_from_feed(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg) {
  return static_cast<bool>(sighting_from_feed(d, mem, cfg, 0));
}

// -- peek ---------------------------------------------------------------------

peek_verdict peek(const product& p, const analysis_config& cfg) {
  peek_verdict v;
  v.buy_price = buy_price_of(p);
  v.est_sell_price = est_sell_price_of(p);
  auto buy = static_cast<int64_t>(v.buy_price);
  auto sell = static_cast<int64_t>(v.est_sell_price);
  using r = rejection_reason;
  if (p.product_type != 0)
    v.reason = r::bad_product_type;
  else if (!p.has_stats)
    v.reason = r::no_stats;
  else if (buy <= 0)
    v.reason = r::no_buy_price;
  else if (sell <= 0)
    v.reason = r::no_sell_price;
  else if (sell < cfg.min_sell_price)
    v.reason = r::sell_below_min;
  else if (auto why = price_rule_broken(buy, sell, p, cfg, cfg.peek_profit);
           why != r::none && why != r::profit_below_min)
    v.reason = why;
  else if (std::max(p.stats.sales_rank_drops365, 0) < cfg.min_rank_drops)
    v.reason = r::no_rank_drops;
  else if (why != r::none)
    v.reason = why;
  else
    v.viable = true;
  if (!v.viable)
    v.retry_below = retry_below(v.reason, v.buy_price, v.est_sell_price, p,
                                cfg);
  return v;
}

// -- commit -------------------------------------------------------------------

deal_math compute_math(int32_t buy, int32_t sell, const product& full,
                       const analysis_config& cfg) {
  auto m = profit_math(
    buy, sell,
    full.referral_fee_percentage >= 0 ? full.referral_fee_percentage
                                      : cfg.referral_percent,
    full.fba_pick_pack_fee >= 0 ? full.fba_pick_pack_fee : cfg.pick_pack_fee,
    cfg);
  auto referral = [&](int64_t price) {
    return round_cents(static_cast<double>(price) * m.referral_percent / 100.0);
  };
  m.margin_bp = sell > 0 ? round_cents(10000.0 * m.profit / sell) : 0;
  m.roi_bp = m.all_in_cost > 0 ? round_cents(10000.0 * m.profit / m.all_in_cost)
                               : 0;
  // Lowest P with P - referral(P) - pick&pack - all-in >= markup x all-in:
  // solve without rounding, then step to the exact integer boundary.
  auto wanted = cfg.markup * m.all_in_cost;
  auto pays = [&](int64_t price) {
    return static_cast<double>(price - referral(price) - m.pick_pack_fee
                               - m.all_in_cost)
      >= wanted - 1e-9;
  };
  auto keep = 1.0 - m.referral_percent / 100.0;
  auto guess = static_cast<int64_t>(
    std::ceil((m.all_in_cost + wanted + m.pick_pack_fee) / keep));
  guess = std::max<int64_t>(guess, 1);
  while (!pays(guess))
    ++guess;
  while (guess > 1 && pays(guess - 1))
    --guess;
  m.min_listing_price = static_cast<int32_t>(
    std::min<int64_t>(guess, std::numeric_limits<int32_t>::max()));
  return m;
}

commit_verdict commit(const survivor& s, const product& full,
                      const analysis_config& cfg, int64_t now_ms) {
  commit_verdict v;
  auto sell = s.est_sell_price;
  if (full.product_type != 0) {
    v.reason = rejection_reason::bad_product_type;
    v.retry_below = 0;
    return v;
  }
  // The full product is fresher than the peek: it must still pass. Its
  // profit is computed below at the live offers' price, not bounded.
  if (full.has_stats) {
    auto rules = cfg;
    rules.peek_profit = false;
    auto pv = peek(full, rules);
    if (!pv.viable) {
      v.reason = pv.reason;
      v.buy_price = pv.buy_price;
      v.retry_below = pv.retry_below;
      return v;
    }
    sell = pv.est_sell_price;
  }
  auto buy = cheapest_used_offer(full);
  if (buy <= 0)
    buy = s.buy_price;
  if (buy <= 0)
    buy = buy_price_of(full);
  v.buy_price = buy;
  if (buy <= 0) {
    v.reason = rejection_reason::no_buy_price;
    return v;
  }
  if (sell <= 0) {
    v.reason = rejection_reason::no_sell_price;
    return v;
  }
  v.math = compute_math(buy, sell, full, cfg);
  v.profit = v.math.profit;
  if (v.profit <= 0 || v.profit < cfg.min_profit) {
    v.reason = v.profit <= 0 ? rejection_reason::no_profit
                             : rejection_reason::profit_below_min;
    // The feed's used price never exceeds the landing price paid here.
    v.retry_below = retry_below(v.reason, buy, sell, full, cfg);
    return v;
  }
  auto& st = full.stats;
  bool offers = full.has_offers && full.offers_successful;
  deal_record r;
  r.asin = full.asin.empty() ? s.candidate.asin : full.asin;
  r.title = full.title.empty() ? s.candidate.title : full.title;
  r.domain = full.domain_id;
  r.buy_price = buy;
  r.est_sell_price = sell;
  r.avg365 = full.has_stats ? at(st.avg365, csv::used) : -1;
  r.all_in_cost = v.math.all_in_cost;
  r.profit = v.math.profit;
  r.margin_bp = v.math.margin_bp;
  r.roi_bp = v.math.roi_bp;
  r.min_listing_price = v.math.min_listing_price;
  r.sales_rank = full.has_stats ? at(st.current, csv::sales_rank) : -1;
  r.rank_drops90 = full.has_stats ? st.sales_rank_drops90 : -1;
  r.rank_drops365 = full.has_stats ? st.sales_rank_drops365 : -1;
  r.offers_used = offers ? full.offers.used : at(st.current, csv::count_used);
  r.offers_new = offers ? full.offers.new_ : at(st.current, csv::count_new);
  r.last_update = full.last_update > 0 ? full.last_update
                                       : s.candidate.last_update;
  r.first_seen_ms = now_ms;
  r.last_seen_ms = now_ms;
  r.written_by = write_stage::commit;
  v.record = std::move(r);
  return v;
}

} // namespace keepa
