// Text as the databases accept it. PostgreSQL refuses a text value that is
// not valid UTF-8 or holds a NUL byte, and fails the whole transaction; Keepa
// titles may carry both (a JSON \u0000, a lone surrogate escape).

#pragma once

#include <string>

namespace keepa::db {

/// `x` as valid UTF-8: each byte that starts no valid sequence (overlong
/// forms and surrogates included) becomes U+FFFD, NUL bytes are dropped.
/// Valid text comes back unchanged. Returns whether anything changed.
bool repair_utf8(std::string& x);

/// A Keepa title as people read it: HTML character references decoded
/// (named, decimal and hexadecimal), tags stripped (block-level ones and
/// <br> leave a space), whitespace (including no-break spaces) collapsed
/// to one space and trimmed. Uses libxml2's HTML parser; `raw` must be
/// valid UTF-8 (see repair_utf8).
std::string clean_title(const std::string& raw);

/// The currency of a deal whose domain is no known locale (ISO 4217's
/// "no currency").
constexpr const char* unknown_currency = "XXX";

} // namespace keepa::db
