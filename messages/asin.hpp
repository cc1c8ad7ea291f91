// What an ASIN may be: a short key of ASCII letters and digits. The client
// leaves out an item whose ASIN is anything else, the scanner skips it, and
// storage refuses a batch or a track holding one; all use this one rule.

#pragma once

#include <algorithm>
#include <string>

namespace keepa {

/// Whether `x` is non-empty, at most 32 bytes, and ASCII letters and digits.
inline bool valid_asin(const std::string& x) {
  return !x.empty() && x.size() <= 32
    && std::all_of(x.begin(), x.end(), [](char c) {
         return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
           || (c >= 'a' && c <= 'z');
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

} // namespace keepa
