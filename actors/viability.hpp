// The deal arithmetic as plain functions (no actors): the free pre-filter
// on /deal entries, the rejection memory, the peek's viability rules and
// the committer's business math. All money in integer cents.
//
// Settings (keepa.filter.* and keepa.business.*, registered by
// keepa::pipeline_config):
//   filter.min-sell-price 1200   estimated sell price at least $12
//   filter.max-buy-to-sell 1.1   buy price at most 1.1 x estimated sell
//   filter.min-roi 0.20          gross ROI (sell - buy) / buy
//   filter.min-rank-drops 1      sales-rank drops in 365 days
//   filter.min-price 0           free pre-filter: used price range in the
//   filter.max-price 0           feed (0 = no bound)
//   filter.memory 7d             how long a rejection is remembered
//   business.prep-fee 0          per unit, cents
//   business.inbound-shipping 0  per unit, cents
//   business.tax-percent 0       on the buy price
//   business.markup 0            minimum listing price: profit >= markup x
//                                all-in cost
//   business.min-profit 500      committed only above this profit
//   business.referral-percent 15 when Keepa reports none

#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/optional.hpp>
#include <caf/timespan.hpp>

#include "messages/keepa.hpp"
#include "messages/pipeline.hpp"
#include "messages/storage.hpp"

namespace keepa {

struct analysis_config {
  int32_t min_sell_price = 1200;
  double max_buy_to_sell = 1.1;
  double min_roi = 0.20;
  int32_t min_rank_drops = 1;
  int32_t min_price = 0;
  int32_t max_price = 0;
  caf::timespan memory = std::chrono::hours{7 * 24};
  int32_t prep_fee = 0;
  int32_t inbound_shipping = 0;
  double tax_percent = 0;
  double markup = 0;
  int32_t min_profit = 500;
  double referral_percent = 15;
};

caf::expected<analysis_config> analysis_config_from(const caf::settings& xs);

caf::error validate(const analysis_config& cfg);

/// Why a deal is worthless on its feed data alone, or none.
caf::optional<std::string> pre_reject(const deal& d,
                                      const analysis_config& cfg);

/// Whether storage remembers rejecting this ASIN within the memory window
/// at a used price no higher than the deal's current one.
bool remembered_reject(const deal& d, const asin_memory& mem,
                       const analysis_config& cfg, int64_t now_ms);

struct peek_verdict {
  bool viable = false;
  /// Stable identifier when not viable ("no-buy-price", ...).
  std::string reason;
  int32_t buy_price = -1;
  int32_t est_sell_price = -1;
};

/// The viability rules on a light product (stats=365, no history).
peek_verdict peek(const product& p, const analysis_config& cfg);

struct commit_verdict {
  /// Set when the deal is worth storing.
  caf::optional<deal_record> record;
  /// Otherwise why not.
  std::string reason;
  /// The figures, also for rejected ones.
  int32_t buy_price = -1;
  int32_t profit = 0;
};

/// The business math on the full product (offers, 365-day stats).
commit_verdict commit(const survivor& s, const product& full,
                      const analysis_config& cfg, int64_t now_ms);

/// The value at `index` of a Keepa stats array, or -1.
int32_t at(const std::vector<int32_t>& xs, size_t index);

} // namespace keepa
