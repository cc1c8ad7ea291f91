// Keepa answers into the typed structs of messages/keepa.hpp (RapidJSON,
// parsed in place). Missing fields keep Keepa's conventions (-1 no data,
// -2 not determined); anything that is not the documented shape is the
// error keepa::ec::malformed_answer, never a crash.

#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "messages/keepa.hpp"

namespace keepa {

/// The outcome of parsing one answer body. `envelope_ok` says whether the
/// token fields were readable (and `page.env` holds them), even when the
/// payload was not.
template<class Page>
struct parsed {
  Page page;
  bool envelope_ok = false;
  /// Empty on success; otherwise keepa::ec::malformed_answer with detail.
  caf::error err;
};

/// Parses an answer of /token or any error answer: the envelope only.
/// `body` is modified (in-situ parsing).
parsed<envelope> parse_envelope(std::string& body, int32_t http_status);

/// Parses a /product answer; `body` is modified.
parsed<product_page> parse_product_page(std::string& body, int32_t http_status);

/// Parses a /deal answer; `body` is modified.
parsed<deal_page> parse_deal_page(std::string& body, int32_t http_status);

/// Parses a /seller answer; `body` is modified.
parsed<seller_page> parse_seller_page(std::string& body, int32_t http_status);

} // namespace keepa
