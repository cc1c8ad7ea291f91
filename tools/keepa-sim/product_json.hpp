// keepa-sim's catalogue objects as JSON: products (histories, stats,
// offers) for /product, and sellers (with their storefront's products) for
// /seller.

#pragma once

#include <cstdint>
#include <string>

#include "tools/keepa-sim/detail.hpp"
#include "tools/keepa-sim/json.hpp"

namespace keepa::sim::objects {

/// What a /product request asked for, and the clock.
struct product_view {
  int64_t origin_km = 0;
  int32_t now_rel = 0;
  int64_t now_ms = 0;
  bool stats = false;
  int32_t stats_from = 0;
  int32_t stats_to = 0;
  bool history = true;
  /// Trim histories to the last N days; 0 = all.
  int32_t days = 0;
  /// `offers=N`; 0 = not asked.
  int offers = 0;
  bool live_only = false;
  bool rating = false;
  bool buybox = false;
  bool stock = false;
  /// The Books root category of the catalogue's locale.
  int64_t root = detail::books_category;
};

/// Writes one product object; `index` < 0 writes an unknown product
/// (productType 4, no data). `offers_failed`: the offer fetch failed, so
/// no live offers and `offersSuccessful: false`.
void write_product(json::writer& w, const detail::catalogue& cat, int index,
                   const std::string& asin, int domain,
                   const product_view& view, bool offers_failed = false);

/// Writes `"<sellerId>": {...}` for seller `index`.
void write_seller(json::writer& w, const detail::catalogue& cat, int index,
                  int domain, bool storefront, int32_t now_rel,
                  int64_t origin_km);

} // namespace keepa::sim::objects
