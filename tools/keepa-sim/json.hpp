// A chaining JSON writer for keepa-sim's answers. It writes straight into
// the answer's string (no intermediate buffer, no copy at the end) and
// produces the same bytes as RapidJSON's Writer: its number formatting, its
// string escapes, no whitespace.

#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <rapidjson/internal/dtoa.h>
#include <rapidjson/internal/itoa.h>

namespace keepa::sim::json {

class writer {
public:
  writer() {
    out_.reserve(4096);
    levels_.reserve(16);
  }

  writer& begin_object() {
    return open('{', false);
  }

  writer& end_object() {
    return close('}');
  }

  writer& begin_array() {
    return open('[', true);
  }

  writer& end_array() {
    return close(']');
  }

  writer& key(const char* k) {
    return text(k, std::strlen(k));
  }

  writer& key(const std::string& k) {
    return text(k.data(), k.size());
  }

  writer& num(int64_t x) {
    prefix();
    char buf[24];
    auto end = rapidjson::internal::i64toa(x, buf);
    out_.append(buf, static_cast<size_t>(end - buf));
    return *this;
  }

  writer& dbl(double x) {
    prefix();
    // Like RapidJSON's Writer without kWriteNanAndInfFlag: nothing for
    // NaN and infinities.
    if (std::isfinite(x)) {
      char buf[32];
      auto end = rapidjson::internal::dtoa(x, buf);
      out_.append(buf, static_cast<size_t>(end - buf));
    }
    return *this;
  }

  writer& str(const std::string& x) {
    return text(x.data(), x.size());
  }

  writer& str(const char* x) {
    return text(x, std::strlen(x));
  }

  writer& boolean(bool x) {
    prefix();
    out_ += x ? "true" : "false";
    return *this;
  }

  writer& null() {
    prefix();
    out_ += "null";
    return *this;
  }

  /// The text written so far; the writer is empty afterwards.
  std::string take() {
    levels_.clear();
    return std::move(out_);
  }

private:
  struct level {
    bool in_array;
    uint32_t count;
  };

  /// The separator before a value: ',' between array entries and object
  /// members, ':' between a key and its value.
  void prefix() {
    if (levels_.empty())
      return;
    auto& l = levels_.back();
    if (l.count > 0)
      out_ += l.in_array || l.count % 2 == 0 ? ',' : ':';
    ++l.count;
  }

  writer& open(char c, bool in_array) {
    prefix();
    out_ += c;
    levels_.push_back(level{in_array, 0});
    return *this;
  }

  writer& close(char c) {
    levels_.pop_back();
    out_ += c;
    return *this;
  }

  writer& text(const char* s, size_t n) {
    prefix();
    out_ += '"';
    auto plain = s;
    for (auto i = s; i != s + n; ++i) {
      auto c = static_cast<unsigned char>(*i);
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      out_.append(plain, static_cast<size_t>(i - plain));
      plain = i + 1;
      escape(c);
    }
    out_.append(plain, static_cast<size_t>(s + n - plain));
    out_ += '"';
    return *this;
  }

  void escape(unsigned char c) {
    static const char hex[] = "0123456789ABCDEF";
    out_ += '\\';
    switch (c) {
      case '"':
      case '\\':
        out_ += static_cast<char>(c);
        break;
      case '\b':
        out_ += 'b';
        break;
      case '\t':
        out_ += 't';
        break;
      case '\n':
        out_ += 'n';
        break;
      case '\f':
        out_ += 'f';
        break;
      case '\r':
        out_ += 'r';
        break;
      default:
        out_ += "u00";
        out_ += hex[c >> 4];
        out_ += hex[c & 0xF];
    }
  }

  std::string out_;
  std::vector<level> levels_;
};

} // namespace keepa::sim::json
