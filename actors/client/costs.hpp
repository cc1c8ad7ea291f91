// Worst-case token costs of Keepa requests (../shared/keepa-api.md §2.1).
// Stages acquire this much before sending; the settlement then reports what
// Keepa actually charged.

#pragma once

#include <cstdint>

#include "messages/keepa.hpp"

namespace keepa {

/// `/product`: 1 per ASIN, or 6 per page of up to 10 offers with `offers`
/// (the base 1 does not apply), plus the optional extras.
inline int64_t worst_case_cost(const product_query& q) {
  int64_t per = q.offers > 0 ? 6 * ((q.offers + 9) / 10) : 1;
  if (q.offers > 0 && q.stock)
    per += 2;
  if (q.offers <= 0 && q.buybox)
    per += 2;
  if (q.rating)
    per += 1;
  if (q.update && *q.update == 0)
    per += 1;
  return per * static_cast<int64_t>(q.asins.size());
}

/// `/deal`: 5 per page.
inline int64_t worst_case_cost(const deal_query&) {
  return 5;
}

/// `/query` (Product Finder): 10 per request plus 1 per 100 ASINs listed
/// (../shared/keepa-api.md, DOC Product Finder); a page lists at most
/// `per_page`.
inline int64_t worst_case_cost(const finder_query& q) {
  return 10 + (static_cast<int64_t>(q.per_page) + 99) / 100;
}

/// `/seller`: 1 per seller found; storefront adds up to 9 (or 50 with
/// update, which this client never sends).
inline int64_t worst_case_cost(const seller_query& q) {
  return static_cast<int64_t>(q.seller_ids.size()) * (q.storefront ? 10 : 1);
}

} // namespace keepa
