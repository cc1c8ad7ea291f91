// The Keepa API as typed messages: queries the stages hand to the KEEPA
// CLIENT, and the answers it parses. Prices are integers in the locale's
// smallest unit (US cents); times are Keepa minutes unless a name says `_ms`.
// Keepa's conventions survive parsing: -1 = no offer / no data,
// -2 = not determined / not requested.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/optional.hpp>

#include "messages/fwd.hpp"

namespace keepa {

/// Keepa's price types (csv indices) the pipeline reads.
namespace csv {
constexpr size_t amazon = 0;
constexpr size_t new_ = 1;
constexpr size_t used = 2;
constexpr size_t sales_rank = 3;
constexpr size_t list_price = 4;
constexpr size_t count_new = 11;
constexpr size_t count_used = 12;
constexpr size_t rating = 16;
constexpr size_t count_reviews = 17;
constexpr size_t buy_box_shipping = 18;
constexpr size_t used_new_shipping = 19;
constexpr size_t used_very_good_shipping = 20;
constexpr size_t used_good_shipping = 21;
constexpr size_t used_acceptable_shipping = 22;
constexpr size_t buy_box_used_shipping = 32;
constexpr size_t count = 36;
} // namespace csv

/// Keepa minutes: whole minutes since 2011-01-01 00:00 UTC.
constexpr int64_t keepa_epoch_minutes = 21564000;

inline int64_t keepa_minute_from_unix_ms(int64_t ms) {
  return ms / 60000 - keepa_epoch_minutes;
}

inline int64_t unix_ms_from_keepa_minute(int64_t km) {
  return (km + keepa_epoch_minutes) * 60000;
}

/// The token fields and error every Keepa answer carries.
struct envelope {
  int64_t timestamp_ms = 0;
  int64_t tokens_left = 0;
  int64_t refill_in_ms = 0;
  int64_t refill_rate = 0;
  double token_flow_reduction = 0;
  int64_t tokens_consumed = 0;
  int64_t processing_time_ms = 0;
  /// The HTTP status of the answer.
  int32_t http_status = 0;
  /// `error.type` and `error.message`, empty when absent.
  std::string error_type;
  std::string error_message;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, envelope& x) {
  return f(caf::meta::type_name("envelope"), x.timestamp_ms, x.tokens_left,
           x.refill_in_ms, x.refill_rate, x.token_flow_reduction,
           x.tokens_consumed, x.processing_time_ms, x.http_status, x.error_type,
           x.error_message);
}

/// GET /product. Parameters left at their defaults are not sent.
struct product_query {
  /// The grant this request spends; the client settles or releases it.
  uint64_t grant_id = 0;
  int32_t domain = 1;
  /// Up to 100 ASINs.
  std::vector<std::string> asins;
  /// `stats`: days ("90") or a range; empty = not sent.
  std::string stats;
  /// `history=0` drops csv histories when false.
  bool history = true;
  /// `days`: trim histories; 0 = not sent.
  int32_t days = 0;
  /// `offers` (20..100); 0 = not sent (Keepa rejects offers=0).
  int32_t offers = 0;
  bool only_live_offers = false;
  bool rating = false;
  bool buybox = false;
  bool stock = false;
  /// `update` in hours (0 = live, -1 = never); none = not sent.
  caf::optional<int32_t> update;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_query& x) {
  return f(caf::meta::type_name("product_query"), x.grant_id, x.domain, x.asins,
           x.stats, x.history, x.days, x.offers, x.only_live_offers, x.rating,
           x.buybox, x.stock, x.update);
}

/// GET/POST /deal: one page of the selection.
struct deal_query {
  uint64_t grant_id = 0;
  /// The selection JSON (like the seeds' keepa_query.json); the client
  /// overrides its `page` and `sortType` with the fields below.
  std::string selection;
  int32_t page = 0;
  /// 1 = deal age newest first, 2 = absolute delta, 3 = sales rank,
  /// 4 = percentage delta; negative inverts.
  int32_t sort_type = 1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, deal_query& x) {
  return f(caf::meta::type_name("deal_query"), x.grant_id, x.selection, x.page,
           x.sort_type);
}

/// GET /query (Product Finder): one page of the selection. Costs 10
/// tokens plus 1 per 100 ASINs listed.
struct finder_query {
  uint64_t grant_id = 0;
  int32_t domain = 1;
  /// The query JSON (config/finder_query.json); the client overrides its
  /// `page` and `perPage` with the fields below.
  std::string selection;
  int32_t page = 0;
  /// ASINs per page: 50 (Keepa's minimum) to 10 000.
  int32_t per_page = 50;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, finder_query& x) {
  return f(caf::meta::type_name("finder_query"), x.grant_id, x.domain,
           x.selection, x.page, x.per_page);
}

/// GET /seller.
struct seller_query {
  uint64_t grant_id = 0;
  int32_t domain = 1;
  /// Up to 100 seller ids.
  std::vector<std::string> seller_ids;
  bool storefront = false;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, seller_query& x) {
  return f(caf::meta::type_name("seller_query"), x.grant_id, x.domain,
           x.seller_ids, x.storefront);
}

/// The `stats` object of a product: arrays indexed by csv type.
struct product_stats {
  std::vector<int32_t> current;
  std::vector<int32_t> avg;
  std::vector<int32_t> avg30;
  std::vector<int32_t> avg90;
  std::vector<int32_t> avg180;
  std::vector<int32_t> avg365;
  /// Values of the `min`/`max` entries ([time, value]); -1 where null.
  std::vector<int32_t> min;
  std::vector<int32_t> max;
  int32_t sales_rank_drops30 = -1;
  int32_t sales_rank_drops90 = -1;
  int32_t sales_rank_drops180 = -1;
  int32_t sales_rank_drops365 = -1;
  int32_t total_offer_count = -2;
  int32_t offer_count_fba = -2;
  int32_t offer_count_fbm = -2;
  int32_t retrieved_offer_count = -2;
  int32_t buy_box_price = -2;
  int32_t buy_box_used_price = -2;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_stats& x) {
  return f(caf::meta::type_name("product_stats"), x.current, x.avg, x.avg30,
           x.avg90, x.avg180, x.avg365, x.min, x.max, x.sales_rank_drops30,
           x.sales_rank_drops90, x.sales_rank_drops180, x.sales_rank_drops365,
           x.total_offer_count, x.offer_count_fba, x.offer_count_fbm,
           x.retrieved_offer_count, x.buy_box_price, x.buy_box_used_price);
}

/// Summary of a product's live offers (only with `offers`).
struct offer_summary {
  /// Number of live offers in `liveOffersOrder`.
  int32_t live = 0;
  int32_t used = 0;
  int32_t new_ = 0;
  int32_t fba = 0;
  /// Lowest landing price (price + shipping) by offer condition
  /// (0 unknown, 1 new, 2..5 used like-new..acceptable, ...); -1 = none.
  std::vector<int32_t> lowest_by_condition;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, offer_summary& x) {
  return f(caf::meta::type_name("offer_summary"), x.live, x.used, x.new_, x.fba,
           x.lowest_by_condition);
}

/// A product object, reduced to what deal analysis reads: its `csv`
/// histories (the bulk of a full product) are checked, not kept.
struct product {
  std::string asin;
  std::string title;
  int32_t domain_id = 1;
  /// 0 standard, 1 downloadable, 2 ebook, 3 unaccessible, 4 invalid ASIN,
  /// 5 variation parent.
  int32_t product_type = 0;
  int64_t root_category = 0;
  std::vector<int64_t> categories;
  int32_t last_update = 0;
  int32_t last_price_change = 0;
  bool has_stats = false;
  product_stats stats;
  bool has_offers = false;
  bool offers_successful = false;
  offer_summary offers;
  /// `fbaFees.pickAndPackFee`; -1 = unknown.
  int32_t fba_pick_pack_fee = -1;
  /// `referralFeePercentage`; -1 = unknown.
  double referral_fee_percentage = -1;
  int32_t monthly_sold = -1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product& x) {
  return f(caf::meta::type_name("product"), x.asin, x.title, x.domain_id,
           x.product_type, x.root_category, x.categories, x.last_update,
           x.last_price_change, x.has_stats, x.stats, x.has_offers,
           x.offers_successful, x.offers, x.fba_pick_pack_fee,
           x.referral_fee_percentage, x.monthly_sold);
}

/// A deal object from /deal, reduced to what the stages read: a pass holds
/// up to 10 000 of them (the peek backlog 2 000 more), so each keeps its
/// ordering, its title and the two price rows the pre-filter and the peek
/// order use, not the 2-D avg/delta arrays of the answer (~2.5 KB a deal).
struct deal {
  std::string asin;
  std::string title;
  /// Keepa minute of the deal's last update; orders the feed.
  int32_t last_update = 0;
  /// Current values by price type; -1 = no offer.
  std::vector<int32_t> current;
  /// The 90-day averages by price type (row 3 of the answer's `avg`,
  /// [date range][price type]); empty when the answer had no such row.
  std::vector<int32_t> avg90;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, deal& x) {
  return f(caf::meta::type_name("deal"), x.asin, x.title, x.last_update,
           x.current, x.avg90);
}

/// A seller object from /seller.
struct seller {
  std::string seller_id;
  std::string name;
  int32_t domain_id = 1;
  /// Latest rating percentage (csv[0]); -1 = unknown.
  int32_t rating = -1;
  /// Latest rating count (csv[1]); -1 = unknown.
  int32_t rating_count = -1;
  bool has_fba = false;
  bool ships_from_china = false;
  int32_t total_storefront_asins = -1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, seller& x) {
  return f(caf::meta::type_name("seller"), x.seller_id, x.name, x.domain_id,
           x.rating, x.rating_count, x.has_fba, x.ships_from_china,
           x.total_storefront_asins);
}

struct product_page {
  envelope env;
  std::vector<product> products;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_page& x) {
  return f(caf::meta::type_name("product_page"), x.env, x.products);
}

struct deal_page {
  envelope env;
  int32_t page = 0;
  std::vector<deal> deals;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, deal_page& x) {
  return f(caf::meta::type_name("deal_page"), x.env, x.page, x.deals);
}

/// A Product Finder page: ASINs only, no product objects.
struct finder_page {
  envelope env;
  /// `asinList`, in the query's order.
  std::vector<std::string> asins;
  /// `totalResults`: products matching the query (all pages); -1 = absent.
  int64_t total_results = -1;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, finder_page& x) {
  return f(caf::meta::type_name("finder_page"), x.env, x.asins,
           x.total_results);
}

struct seller_page {
  envelope env;
  std::vector<seller> sellers;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, seller_page& x) {
  return f(caf::meta::type_name("seller_page"), x.env, x.sellers);
}

/// How an HTTP transfer ended below the HTTP level.
enum class transfer_failure : uint8_t {
  /// An answer arrived (any HTTP status).
  none = 0,
  /// No connection: nothing was sent, nothing can have been charged.
  connect,
  /// No complete answer in time; the request may have run.
  timeout,
  /// The connection broke after sending; the request may have run.
  reset,
  /// The answer exceeded the size limit and was dropped while reading.
  too_large,
};

/// @relates transfer_failure
const char* to_string(transfer_failure x);

/// What a transport reports back to the KEEPA CLIENT for one transfer.
struct transfer_result {
  uint64_t transfer_id = 0;
  transfer_failure failure = transfer_failure::none;
  int32_t http_status = 0;
  /// Decoded (gunzipped) body.
  std::string body;
  /// Human-readable transport error; never contains the key.
  std::string detail;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, transfer_result& x) {
  return f(caf::meta::type_name("transfer_result"), x.transfer_id, x.failure,
           x.http_status, x.body, x.detail);
}

} // namespace keepa
