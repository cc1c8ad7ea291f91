// What the STORAGE actor keeps: deals, rejections and the scan watermark.
// Money is in integer cents; wall-clock times are Unix milliseconds passed in
// by the caller, so storage never reads a clock of its own.

#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/fwd.hpp"
#include "messages/token.hpp"

namespace keepa {

/// Which stage wrote a deal row.
enum class write_stage : uint8_t {
  commit = 0,
  light_update = 1,
  rescue = 2,
};

/// @relates write_stage
const char* to_string(write_stage x);

/// A place in the deal feed, ordered by (last_update, asin). The watermark is
/// the newest position below which every scanned deal is stored or rejected.
struct feed_position {
  /// Keepa minute of the deal's lastUpdate.
  int32_t last_update = 0;
  std::string asin;
};

inline bool operator<(const feed_position& x, const feed_position& y) {
  return std::tie(x.last_update, x.asin) < std::tie(y.last_update, y.asin);
}

inline bool operator==(const feed_position& x, const feed_position& y) {
  return x.last_update == y.last_update && x.asin == y.asin;
}

inline bool operator!=(const feed_position& x, const feed_position& y) {
  return !(x == y);
}

inline bool operator<=(const feed_position& x, const feed_position& y) {
  return !(y < x);
}

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_position& x) {
  return f(caf::meta::type_name("feed_position"), x.last_update, x.asin);
}

/// A stored deal: what the committer computed from a full product.
struct deal_record {
  std::string asin;
  /// Keepa's domain id of the deal's Amazon locale (config/locale.hpp).
  int32_t domain = 1;
  /// The title as read back from storage: HTML entities decoded, tags
  /// stripped, whitespace collapsed. Storage derives it from `raw_title`
  /// (or, when that is empty, from this field as Keepa sent it).
  std::string title;
  /// The title as Keepa sent it; empty until stored.
  std::string raw_title;
  /// ISO 4217 currency of the prices, the locale's; set by storage.
  std::string currency;
  int32_t buy_price = -1;
  int32_t est_sell_price = -1;
  int32_t avg365 = -1;
  int32_t all_in_cost = -1;
  int32_t profit = 0;
  /// Profit / sell price, in basis points (1 % = 100).
  int32_t margin_bp = 0;
  /// Profit / all-in cost, in basis points.
  int32_t roi_bp = 0;
  int32_t min_listing_price = -1;
  int32_t sales_rank = -1;
  int32_t rank_drops90 = -1;
  int32_t rank_drops365 = -1;
  int32_t offers_used = -1;
  int32_t offers_new = -1;
  /// Keepa minute of the product's lastUpdate.
  int32_t last_update = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  write_stage written_by = write_stage::commit;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, deal_record& x) {
  return f(caf::meta::type_name("deal_record"), x.asin, x.domain, x.title,
           x.raw_title, x.currency, x.buy_price, x.est_sell_price, x.avg365,
           x.all_in_cost, x.profit, x.margin_bp, x.roi_bp, x.min_listing_price,
           x.sales_rank, x.rank_drops90, x.rank_drops365, x.offers_used,
           x.offers_new, x.last_update, x.first_seen_ms, x.last_seen_ms,
           x.written_by);
}

/// Why a book was not bought, so it is not paid for again until its price
/// drops or the memory expires.
struct rejection_record {
  std::string asin;
  stage where = stage::peek;
  std::string reason;
  /// The buy price seen when rejecting; -1 if none.
  int32_t price_seen = -1;
  int64_t at_ms = 0;
  /// While remembered, only a buy price below this is looked at again: the
  /// lowest price at which the rules that failed still fail (0 = they fail
  /// at any price, e.g. a sell estimate below the minimum). -1 = unknown:
  /// any drop below `price_seen` is looked at.
  int32_t retry_below = -1;
  /// A verdict on the book at its current price (a rule failed on fresh
  /// figures, not a wait, a failure or the memory): a stored deal of the
  /// ASIN is no longer one, so its row goes with this record.
  bool retires = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejection_record& x) {
  return f(caf::meta::type_name("rejection_record"), x.asin, x.where, x.reason,
           x.price_seen, x.at_ms, x.retry_below, x.retires);
}

/// What storage remembers about one ASIN.
struct asin_memory {
  std::string asin;
  /// A deal row exists.
  bool stored = false;
  /// A rejection row exists.
  bool rejected = false;
  int32_t rejected_price = -1;
  int64_t rejected_at_ms = 0;
  /// The rejection's `retry_below`.
  int32_t rejected_retry_below = -1;
  /// The stored deal's lastUpdate (Keepa minutes), 0 without a deal row: a
  /// feed entry no newer than this is already handled.
  int32_t stored_last_update = 0;
  /// The stored deal's buy price and profit (cents), -1 and 0 without a
  /// deal row: whether a new feed price can change the decision.
  int32_t stored_buy_price = -1;
  int32_t stored_profit = 0;
  /// The stored deal's sell estimate and all-in cost (cents), -1 without a
  /// deal row: its profit at a new feed price.
  int32_t stored_sell_price = -1;
  int32_t stored_all_in_cost = -1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, asin_memory& x) {
  return f(caf::meta::type_name("asin_memory"), x.asin, x.stored, x.rejected,
           x.rejected_price, x.rejected_at_ms, x.rejected_retry_below,
           x.stored_last_update, x.stored_buy_price, x.stored_profit,
           x.stored_sell_price, x.stored_all_in_cost);
}

/// A stored deal seen again in the feed at a price that cannot change the
/// decision: its row takes the new lastUpdate and the time it was seen,
/// and (buy_price > 0) the feed's buy price with the figures recomputed at
/// it; -1 keeps the row's figures.
struct deal_sighting {
  std::string asin;
  /// Keepa minute of the deal's lastUpdate in the feed.
  int32_t last_update = 0;
  int64_t seen_ms = 0;
  int32_t buy_price = -1;
  int32_t all_in_cost = -1;
  int32_t profit = 0;
  int32_t margin_bp = 0;
  int32_t roi_bp = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, deal_sighting& x) {
  return f(caf::meta::type_name("deal_sighting"), x.asin, x.last_update,
           x.seen_ms, x.buy_price, x.all_in_cost, x.profit, x.margin_bp,
           x.roi_bp);
}

/// One transaction: upsert deals, record rejections, refresh sighted deals,
/// mark feed positions done; the watermark advances only as far as every
/// tracked position below it is done, and only once this batch is durable.
struct upsert_batch {
  std::vector<deal_record> deals;
  std::vector<rejection_record> rejections;
  std::vector<feed_position> done;
  std::vector<deal_sighting> seen;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, upsert_batch& x) {
  return f(caf::meta::type_name("upsert_batch"), x.deals, x.rejections, x.done,
           x.seen);
}

/// Acknowledges a durable upsert_batch.
struct upsert_ack {
  uint64_t deals = 0;
  uint64_t rejections = 0;
  /// The watermark after the transaction.
  feed_position watermark;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, upsert_ack& x) {
  return f(caf::meta::type_name("upsert_ack"), x.deals, x.rejections,
           x.watermark);
}

/// Counts for status output.
struct storage_counts {
  uint64_t deals = 0;
  uint64_t rejections = 0;
  feed_position watermark;
  int32_t schema_version = 0;
  /// Positions tracked but not yet done.
  uint64_t pending = 0;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_counts& x) {
  return f(caf::meta::type_name("storage_counts"), x.deals, x.rejections,
           x.watermark, x.schema_version, x.pending);
}

} // namespace keepa
