#include "actors/client/transport.hpp"

#include <cctype>
#include <chrono>

namespace keepa {

transport::~transport() = default;

int64_t transport::unix_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

namespace {

const char hex_digits[] = "0123456789ABCDEF";

void percent_encode(std::string& out, const std::string& in) {
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
        || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xF];
    }
  }
}

} // namespace

std::string render_target(const http_request& req) {
  std::string result = req.path;
  char sep = '?';
  for (auto& kvp : req.query) {
    result += sep;
    sep = '&';
    percent_encode(result, kvp.first);
    result += '=';
    percent_encode(result, kvp.second);
  }
  return result;
}

} // namespace keepa
