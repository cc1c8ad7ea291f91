// The request mapping of the KEEPA CLIENT: typed queries to Keepa's HTTP
// requests (paths and parameter spellings as Keepa documents them,
// ../shared/keepa-api.md), and the checks that refuse what Keepa would
// refuse before any token is spent. The key is never part of a request:
// transports add it.

#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/client/transport.hpp"
#include "messages/fwd.hpp"

namespace keepa {

/// GET /product; `offers` is omitted when 0 (Keepa refuses offers=0).
http_request to_request(const product_query& q);

/// POST /deal: the selection JSON with its `page` and `sortType` set from
/// `q`; an error when the selection is not a JSON object.
caf::expected<http_request> to_request(const deal_query& q);

/// GET /seller.
http_request to_request(const seller_query& q);

/// GET /query?domain=D&selection=JSON (Product Finder): the query JSON with
/// its `page` and `perPage` set from `q`; an error when the selection is
/// not a JSON object or `per_page` lies outside 50..10 000.
caf::expected<http_request> to_request(const finder_query& q);

/// Refuses a product query Keepa would refuse: 1 to 100 ASINs, offers 0
/// (not sent) or 20..100.
caf::error check(const product_query& q);

} // namespace keepa
