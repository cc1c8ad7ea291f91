// A chaining JSON writer over RapidJSON for keepa-sim's answers.

#pragma once

#include <cstdint>
#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace keepa::sim::json {

class writer {
public:
  writer() : w_(buf_) {
    // nop
  }

  writer& begin_object() {
    w_.StartObject();
    return *this;
  }

  writer& end_object() {
    w_.EndObject();
    return *this;
  }

  writer& begin_array() {
    w_.StartArray();
    return *this;
  }

  writer& end_array() {
    w_.EndArray();
    return *this;
  }

  writer& key(const char* k) {
    w_.Key(k);
    return *this;
  }

  writer& key(const std::string& k) {
    w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    return *this;
  }

  writer& num(int64_t x) {
    w_.Int64(x);
    return *this;
  }

  writer& dbl(double x) {
    w_.Double(x);
    return *this;
  }

  writer& str(const std::string& x) {
    w_.String(x.data(), static_cast<rapidjson::SizeType>(x.size()));
    return *this;
  }

  writer& boolean(bool x) {
    w_.Bool(x);
    return *this;
  }

  writer& null() {
    w_.Null();
    return *this;
  }

  std::string take() {
    return std::string{buf_.GetString(), buf_.GetSize()};
  }

private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

} // namespace keepa::sim::json
