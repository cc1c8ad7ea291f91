// What storage accepts as an ASIN: a short alphanumeric key. Storage refuses
// a batch or a track holding anything else, so callers check each item with
// this first and skip only the bad one.

#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace keepa::db {

/// Whether `x` is non-empty, at most 32 bytes, and ASCII letters and digits.
inline bool valid_asin(const std::string& x) {
  return !x.empty() && x.size() <= 32
    && std::all_of(x.begin(), x.end(), [](char c) {
         return std::isalnum(static_cast<unsigned char>(c)) != 0;
       });
}

/// `x` for a log line: at most 40 bytes, anything but printable ASCII as
/// \xNN (an invalid ASIN may hold any bytes).
inline std::string printable_asin(const std::string& x) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < x.size() && i < 40; ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (x.size() > 40)
    out += "...";
  return out;
}

} // namespace keepa::db
