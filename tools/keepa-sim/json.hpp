// A chaining JSON writer for keepa-sim's answers. It writes straight into
// the answer's string (no intermediate buffer, no copy at the end) and
// produces the same bytes as RapidJSON's Writer: its number formatting, its
// string escapes, no whitespace.

#pragma once

#include <algorithm>
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
    out_.resize(4096);
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
    auto first = room(24);
    size_ += static_cast<size_t>(rapidjson::internal::i64toa(x, first)
                                 - first);
    return *this;
  }

  writer& dbl(double x) {
    prefix();
    // Like RapidJSON's Writer without kWriteNanAndInfFlag: nothing for
    // NaN and infinities.
    if (std::isfinite(x)) {
      auto first = room(32);
      size_ += static_cast<size_t>(rapidjson::internal::dtoa(x, first)
                                   - first);
    }
    return *this;
  }

  writer& str(const std::string& x) {
    return text(x.data(), x.size());
  }

  writer& str(const char* x) {
    return text(x, std::strlen(x));
  }

  /// Writes `x`, a complete JSON value, as it is.
  writer& raw(const std::string& x) {
    prefix();
    put(x.data(), x.size());
    return *this;
  }

  writer& boolean(bool x) {
    prefix();
    if (x)
      put("true", 4);
    else
      put("false", 5);
    return *this;
  }

  writer& null() {
    prefix();
    put("null", 4);
    return *this;
  }

  /// The text written so far; the writer is empty afterwards.
  std::string take() {
    levels_.clear();
    out_.resize(size_);
    size_ = 0;
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
      put(l.in_array || l.count % 2 == 0 ? ',' : ':');
    ++l.count;
  }

  writer& open(char c, bool in_array) {
    prefix();
    put(c);
    levels_.push_back(level{in_array, 0});
    return *this;
  }

  writer& close(char c) {
    levels_.pop_back();
    put(c);
    return *this;
  }

  writer& text(const char* s, size_t n) {
    prefix();
    put('"');
    auto plain = s;
    for (auto i = s; i != s + n; ++i) {
      auto c = static_cast<unsigned char>(*i);
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      put(plain, static_cast<size_t>(i - plain));
      plain = i + 1;
      escape(c);
    }
    put(plain, static_cast<size_t>(s + n - plain));
    put('"');
    return *this;
  }

  void escape(unsigned char c) {
    static const char hex[] = "0123456789ABCDEF";
    put('\\');
    switch (c) {
      case '"':
      case '\\':
        put(static_cast<char>(c));
        break;
      case '\b':
        put('b');
        break;
      case '\t':
        put('t');
        break;
      case '\n':
        put('n');
        break;
      case '\f':
        put('f');
        break;
      case '\r':
        put('r');
        break;
      default:
        put("u00", 3);
        put(hex[c >> 4]);
        put(hex[c & 0xF]);
    }
  }

  /// At least `n` writable bytes after the text so far.
  char* room(size_t n) {
    if (out_.size() - size_ < n)
      out_.resize(std::max(2 * out_.size(), size_ + n));
    return &out_[size_];
  }

  void put(char c) {
    *room(1) = c;
    ++size_;
  }

  void put(const char* s, size_t n) {
    std::memcpy(room(n), s, n);
    size_ += n;
  }

  /// The text is out_[0, size_); the rest is room to grow.
  std::string out_;
  size_t size_ = 0;
  std::vector<level> levels_;
};

} // namespace keepa::sim::json
