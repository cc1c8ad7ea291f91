// Keepa answers into the typed structs of messages/keepa.hpp (RapidJSON,
// parsed in place). Missing fields keep Keepa's conventions (-1 no data,
// -2 not determined); anything that is not the documented shape is the
// error keepa::ec::malformed_answer, never a crash.
//
// One unusable item (a deal or product without a plain alphanumeric ASIN,
// with a malformed field, or a deal whose lastUpdate lies in the future) is
// left out and counted, never the whole answer. An answer holding more items
// than its request can return is refused while it is read, before anything
// is built from it, so a hostile answer costs no more memory than its body.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "config/defaults.hpp"
#include "messages/keepa.hpp"

namespace keepa {

/// What one answer may hold, and the local clock its times are judged
/// against.
struct answer_limits {
  /// Deals per /deal page: Keepa returns at most 150.
  size_t max_deals = 150;
  /// Products per /product answer: at most 100 ASINs per request.
  size_t max_products = 100;
  /// JSON values (numbers, strings, arrays, ...) in a /deal answer: a deal
  /// holds about 600 (a few arrays over 36 price types), so 4000 a deal and
  /// room for the category lists; bounds the memory of a page. /product
  /// answers are bounded by their body only (histories are long).
  size_t max_deal_page_values = 150 * 4000 + 100000;
  /// Entries of one product's `offers`: live and historical offers, so more
  /// than the 100 a request may ask for; Keepa collapses near-duplicates.
  size_t max_offers = 1000;
  /// Whether a pruned field of a deal or product (one the stages do not
  /// read as values) that holds only integers and nulls, or arrays of them,
  /// is read straight from the text instead of through RapidJSON's reader:
  /// the same page, errors and refusals, in less time. Off only for the
  /// tests that compare the two.
  bool skim_pruned = true;
  /// Local time, Unix milliseconds; 0 = times are not checked.
  int64_t now_unix_ms = 0;
  /// How far the envelope's `timestamp` may lie from `now_unix_ms`, either
  /// way, and a deal's `lastUpdate` ahead of it.
  int64_t clock_tolerance_ms
    = std::chrono::duration_cast<std::chrono::milliseconds>(
        defaults::client::clock_tolerance)
        .count();
};

/// The outcome of parsing one answer body. `envelope_ok` says whether the
/// token fields were readable (and `page.env` holds them), even when the
/// payload was not.
template<class Page>
struct parsed {
  Page page;
  bool envelope_ok = false;
  /// Empty on success; otherwise keepa::ec::malformed_answer with detail.
  caf::error err;
  /// Items left out because they were unusable.
  size_t skipped = 0;
  /// Why, for the first few of them.
  std::vector<std::string> skip_reasons;
  /// Titles dropped because they were not valid UTF-8 (the item is kept).
  size_t titles_dropped = 0;
  /// Non-empty when the envelope's timestamp lies outside the tolerance:
  /// then `envelope_ok` is false and the payload is still read.
  std::string clock_refusal;
};

/// Parses an answer of /token or any error answer: the envelope only.
/// `body` is modified (in-situ parsing).
parsed<envelope> parse_envelope(std::string& body, int32_t http_status,
                                const answer_limits& limits = {});

/// Parses a /product answer; `body` is modified.
parsed<product_page> parse_product_page(std::string& body, int32_t http_status,
                                        const answer_limits& limits = {});

/// Parses a /deal answer; `body` is modified.
parsed<deal_page> parse_deal_page(std::string& body, int32_t http_status,
                                  const answer_limits& limits = {});

/// Parses a /query (Product Finder) answer: `asinList` (an ASIN that is
/// not 1 to 32 letters and digits is left out alone) and `totalResults`;
/// `body` is modified. An answer of more than 10 000 ASINs (Keepa's most
/// per query) is refused.
parsed<finder_page> parse_finder_page(std::string& body, int32_t http_status,
                                      const answer_limits& limits = {});

/// Parses a /seller answer; `body` is modified.
parsed<seller_page> parse_seller_page(std::string& body, int32_t http_status,
                                      const answer_limits& limits = {});

} // namespace keepa
