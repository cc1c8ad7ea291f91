// How keepa-deals prints deals: an aligned table for people, CSV (RFC 4180)
// and JSON lines for programs. Money in the deal's currency with two
// decimals (Keepa's prices are hundredths of the unit in every locale),
// times in ISO 8601 UTC, the Amazon and Keepa pages of the deal's locale.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/storage.hpp"

namespace keepa::deals {

/// `cents` as "12.34" ("-0.05" for negative amounts); empty when < 0 and
/// `unknown_if_negative`.
std::string money(int64_t cents, bool unknown_if_negative = true);

/// Basis points as a percent with two decimals: 12345 -> "123.45".
std::string percent(int64_t bp);

/// Unix milliseconds as "2026-12-01T10:31:26Z".
std::string iso_utc(int64_t unix_ms);

/// One CSV field, quoted when it holds a comma, a quote, CR or LF (quotes
/// doubled), as RFC 4180 asks.
std::string csv_field(const std::string& x);

/// The CSV header line, CRLF-terminated.
std::string csv_header();

/// One deal as a CSV record, CRLF-terminated.
std::string csv_record(const deal_record& d);

/// One deal as a JSON object on one line (no newline).
std::string json_line(const deal_record& d);

/// `deals` as an aligned table, titles cut to `title_width` characters;
/// `first` numbers the first row.
std::string table(const std::vector<deal_record>& deals, size_t title_width,
                  uint64_t first = 1);

} // namespace keepa::deals
