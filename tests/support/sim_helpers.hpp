// Shared helpers for keepa-sim's tests: requests on a virtual clock and
// JSON access.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "tools/keepa-sim/model.hpp"

namespace sim_test {

/// A fixed virtual start: 2026-09-20 (no test reads the wall clock).
constexpr int64_t t0 = 1790000000000;
constexpr int64_t minute = 60000;

inline keepa::sim::request get(const std::string& path,
                               std::multimap<std::string, std::string> q,
                               const std::string& key = "sim-key") {
  keepa::sim::request r;
  r.method = "GET";
  r.path = path;
  if (!key.empty())
    q.emplace("key", key);
  r.query = std::move(q);
  return r;
}

inline std::string join(const std::vector<std::string>& xs, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < xs.size(); ++i) {
    if (i > 0)
      out += ",";
    out += xs[i];
  }
  return out;
}

/// Parses an answer body; fails the test when it is not JSON.
inline rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  return d;
}

inline bool parses(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  return !d.HasParseError();
}

/// A small, fast model for most tests.
inline keepa::sim::options small(int products = 600) {
  keepa::sim::options o;
  o.products = products;
  o.start_unix_ms = t0;
  return o;
}

inline std::string selection(int sort_type, int page = 0,
                             const std::string& extra = "") {
  return R"({"domainId":1,"priceTypes":[2],"dateRange":0,"sortType":)"
    + std::to_string(sort_type) + R"(,"page":)" + std::to_string(page) + extra
    + "}";
}

} // namespace sim_test
