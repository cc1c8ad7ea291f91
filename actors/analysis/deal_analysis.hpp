// The deal arithmetic as plain functions, no actors: the free pre-filter on
// /deal entries, the rejection memory, the peek's viability rules and the
// committer's business math. Money is integer US cents; Keepa's -1 / -2
// ("no data" / "not requested") and stats arrays shorter than 36 entries
// count as "no value".
//
// Settings: keepa.filter.* (the filters: sell price, buy-to-sell ratio,
// ROI, rank drops, the free pre-filter's price range, the rejection memory,
// the peek's profit bound) and keepa.business.* (prep fee, inbound shipping,
// tax, markup, referral and pick & pack fallbacks, minimum profit). The
// options are registered with every keepa.* option by config/options.hpp;
// their defaults, and why they are what they are, live in
// config/defaults.hpp (`--help` shows them). With the defaults the commit
// rule is exactly keepa-sim's "good deal" (sell - referral - pick&pack -
// cheapest used landing price >= $5).

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/optional.hpp>
#include <caf/timespan.hpp>

#include "config/defaults.hpp"
#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"

namespace keepa {

// -- configuration ------------------------------------------------------------

/// Thresholds of the filters and the business settings of the deal math.
struct analysis_config {
  // -- keepa.filter.* --
  /// Lowest estimated sell price, cents.
  int32_t min_sell_price = defaults::filter::min_sell_price;
  /// Highest buy price as a multiple of the estimated sell price.
  double max_buy_to_sell = defaults::filter::max_buy_to_sell;
  /// Lowest gross ROI (sell - buy) / buy as a fraction.
  double min_roi = defaults::filter::min_roi;
  /// Fewest sales-rank drops in 365 days.
  int32_t min_rank_drops = defaults::filter::min_rank_drops365;
  /// Free pre-filter: the deal's buy price range in cents; max 0 = none.
  int32_t min_price = defaults::filter::min_price;
  int32_t max_price = defaults::filter::max_price;
  /// How long a rejection keeps a book out unless its price drops.
  caf::timespan memory = defaults::filter::rejection_memory;
  /// The peek rejects books whose profit at the used price (a bound of the
  /// commit's, which buys at a landing price) is below min_profit.
  bool peek_profit = !defaults::filter::skip_peek_profit;
  /// A stored deal seen again is refreshed from the feed while its price
  /// moved by at most this fraction of the stored buy price (and the
  /// profit still reaches min_profit).
  double refresh_tolerance = defaults::filter::refresh_tolerance;
  // -- keepa.business.* --
  int32_t prep_fee = defaults::business::prep_fee;
  int32_t inbound_shipping = defaults::business::inbound_shipping;
  /// Sales tax on the buy price, percent.
  double tax_percent = defaults::business::tax_percent;
  /// Minimum listing price keeps markup x all-in cost as profit.
  double markup = defaults::business::markup;
  /// Referral fee percent when the product has no referralFeePercentage.
  double referral_percent = defaults::business::referral_percent;
  /// FBA pick & pack fee (cents) when the product has no fbaFees.
  int32_t pick_pack_fee = defaults::business::pick_pack_fee;
  /// Commit only deals with at least this profit, cents.
  int32_t min_profit = defaults::business::min_profit;
};

/// Reads the options (defaults where unset) and validates them.
caf::expected<analysis_config> analysis_config_from(const caf::settings& xs);

/// `ec::invalid_config` for values that make no sense (negative fees,
/// ratios <= 0, a price range with max < min, ...).
caf::error validate(const analysis_config& cfg);

// -- rejection reasons --------------------------------------------------------

/// Why a deal is not committed. Its text (to_string) is what storage keeps
/// in rejection_record::reason and what stage status counts by.
enum class rejection_reason : uint8_t {
  /// Not rejected.
  none = 0,
  // -- the free pre-filter and the rejection memory (scanner) --
  no_used_price,
  price_out_of_range,
  /// Rejected before at no lower price (storage keeps the first record).
  remembered,
  // -- the viability rules (peek; the commit checks them again) --
  bad_product_type,
  no_stats,
  no_buy_price,
  no_sell_price,
  sell_below_min,
  buy_above_sell,
  roi_below_min,
  no_rank_drops,
  profit_below_min,
  // -- the commit's math --
  no_profit,
  // -- the stages --
  /// Keepa did not return the product.
  not_returned,
  /// The product request failed every attempt; stored with the error
  /// ("peek-failed: ...", see failure_text).
  peek_failed,
  commit_failed,
  /// Waited below the peek-filter's value bar until its deal was too old
  /// (a later version of the book comes again).
  below_value_bar,
};

/// "no-used-price", "price-out-of-range", "remembered", "bad-product-type",
/// "no-stats", "no-buy-price", "no-sell-price", "sell-below-min",
/// "buy-above-sell", "roi-below-min", "no-rank-drops", "profit-below-min",
/// "no-profit", "not-returned", "peek-failed", "commit-failed",
/// "below-value-bar"; "" for none.
const char* to_string(rejection_reason x);

/// The stored text of a failure: "peek-failed: <error>".
std::string failure_text(rejection_reason x, const caf::error& err);

// -- Keepa data helpers -------------------------------------------------------

/// The value at `index` of a Keepa array, or -1 when the array is shorter.
int32_t at(const std::vector<int32_t>& xs, size_t index);

/// The deal's buy price: its used price, else its new price; -1 if none.
int32_t deal_buy_price(const deal& d);

/// The light product's buy price (stats.current): used, else new; or -1.
int32_t buy_price_of(const product& p);

/// The estimated sell price: min of the USED 90- and 365-day averages (the
/// one that exists when only one does). Without any USED average, the
/// cheapest used-condition variant (csv 19..22, landing prices) stands in.
/// -1 when there is nothing to estimate from.
int32_t est_sell_price_of(const product& p);

/// The cheapest live used offer's landing price (conditions 2..5) from a
/// product fetched with offers, or -1.
int32_t cheapest_used_offer(const product& p);

// -- free pre-filter and rejection memory ------------------------------------

/// Why a deal is worthless on its feed data alone (no_used_price,
/// price_out_of_range), or none.
rejection_reason pre_reject(const deal& d, const analysis_config& cfg);

/// The profit (cents) the feed alone promises: buying at the deal's price
/// and selling at its 90-day USED average, on the configured fees (what
/// compute_math gives a product without fee data). None without either
/// price. Orders the peek backlog; it decides nothing.
caf::optional<int32_t> deal_profit_estimate(const deal& d,
                                            const analysis_config& cfg);

/// Whether storage remembers rejecting this ASIN less than `cfg.memory` ago,
/// and the deal's buy price now cannot change the verdict: it is not below
/// the rejection's `retry_below` (or, when that is unknown, not below the
/// price seen then).
bool remembered_reject(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg, int64_t now_ms);

/// A stored deal's figures at another buy price.
struct repriced_figures {
  int32_t all_in_cost = 0;
  int64_t profit = 0;
  int32_t margin_bp = 0;
  int32_t roi_bp = 0;
};

/// The figures of a stored deal (sell estimate `sell`, `profit` at an
/// all-in cost of `all_in_cost`) at the buy price `buy`: the all-in cost
/// at `buy`, the profit moved by the change in all-in cost (the Amazon fees
/// follow the sell estimate, which the buy price does not change), and the
/// margin and ROI at that profit. None when the sell estimate or the
/// all-in cost is unknown (not positive).
caf::optional<repriced_figures> reprice(int32_t buy, int32_t sell,
                                        int32_t profit, int32_t all_in_cost,
                                        const analysis_config& cfg);

/// Why a stored deal is no longer one at a new buy price.
struct lapse {
  /// no_profit or profit_below_min.
  rejection_reason reason = rejection_reason::none;
  /// The lowest buy price at which it fails (rejection_record::retry_below).
  int32_t retry_below = -1;
};

/// Whether a stored deal (as for reprice) is no longer one at buy price
/// `buy`: its profit there falls below `cfg.min_profit` (or to 0), the rule
/// by which sighting_from_feed sends it to be judged again. None while it
/// still is one, or when its figures cannot be recomputed.
caf::optional<lapse> lapsed(int32_t buy, int32_t sell, int32_t profit,
                            int32_t all_in_cost, const analysis_config& cfg);

/// Whether a rejection for `x` is a verdict on the book at its current
/// price (a viability rule or the commit's math failed on fresh figures),
/// which retires a stored deal of it (rejection_record::retires), rather
/// than a wait, a failure, a missing answer, missing figures (no stats, no
/// buy price, no sell estimate: often for a while only) or the memory.
bool is_verdict(rejection_reason x);

/// What a stored deal seen again in the feed (`mem.stored`, a newer
/// lastUpdate) is refreshed with instead of being peeked and committed
/// again, seen at `now_ms`; none when it is bought again. The feed must have
/// a buy price. When the row's sell estimate and all-in cost are known, the
/// sighting carries the feed's buy price with the all-in cost, profit,
/// margin and ROI recomputed at it (the fees follow the sell estimate), so
/// the record stays true: a move of any size is refreshed while the profit
/// at the new price still reaches `cfg.min_profit` (the decision stands).
/// Otherwise the row keeps its figures, and only a move by at most the
/// tolerance (either way) whose profit less the rise reaches the minimum is
/// refreshed.
caf::optional<deal_sighting>
sighting_from_feed(const deal& d, const asin_memory& mem,
                   const analysis_config& cfg, int64_t now_ms);

/// Whether sighting_from_feed refreshes `d`.
bool refresh_from_feed(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg);

// -- peek ---------------------------------------------------------------------

struct peek_verdict {
  bool viable = false;
  /// Why not viable: bad_product_type, no_stats, no_buy_price,
  /// no_sell_price, sell_below_min, buy_above_sell, roi_below_min,
  /// no_rank_drops or profit_below_min; none when viable.
  rejection_reason reason = rejection_reason::none;
  int32_t buy_price = -1;
  int32_t est_sell_price = -1;
  /// For the rejection memory (rejection_record::retry_below).
  int32_t retry_below = -1;
};

/// The viability rules on a light product (stats, no history), in order:
/// standard product with stats; a buy price; a sell estimate; est. sell >=
/// min; buy <= ratio x sell; gross ROI >= min; rank drops in 365 days >=
/// min; and (with cfg.peek_profit) the profit at the buy price on the
/// product's fees >= the commit's minimum. That profit bounds the commit's,
/// which buys at the cheapest used landing price, not below the used price.
/// Ratio and ROI compare exactly in 1/10000 steps.
peek_verdict peek(const product& p, const analysis_config& cfg);

// -- commit -------------------------------------------------------------------

/// The business figures of one deal, in cents unless named otherwise.
struct deal_math {
  int32_t buy_price = -1;
  int32_t est_sell_price = -1;
  int32_t tax = 0;
  /// buy + prep fee + inbound shipping + tax.
  int32_t all_in_cost = -1;
  double referral_percent = 0;
  int32_t referral_fee = 0;
  int32_t pick_pack_fee = 0;
  /// referral fee + pick & pack.
  int32_t amazon_fees = 0;
  /// sell - Amazon fees - all-in cost.
  int32_t profit = 0;
  /// profit / sell and profit / all-in, basis points.
  int32_t margin_bp = 0;
  int32_t roi_bp = 0;
  /// Lowest listing price P with P - fees(P) - all-in >= markup x all-in.
  int32_t min_listing_price = -1;
};

/// The math for a buy and sell price (both > 0) on a product's fees.
deal_math compute_math(int32_t buy, int32_t sell, const product& full,
                       const analysis_config& cfg);

struct commit_verdict {
  /// Set when the deal is worth storing.
  caf::optional<deal_record> record;
  /// Otherwise why not: a peek reason (the full product no longer passes),
  /// no_profit (profit <= 0) or profit_below_min.
  rejection_reason reason = rejection_reason::none;
  /// The buy price used and the resulting profit, also when rejected.
  int32_t buy_price = -1;
  int32_t profit = 0;
  deal_math math;
  /// For the rejection memory (rejection_record::retry_below).
  int32_t retry_below = -1;
};

/// The business math on the full product (offers, 365-day stats). Buys at
/// the cheapest live used offer when offers came back, else at the peek's
/// price; re-checks the peek rules when the full product has stats.
commit_verdict commit(const survivor& s, const product& full,
                      const analysis_config& cfg, int64_t now_ms);

} // namespace keepa
