// The /deal selection: the query JSON a client sends (in the `selection`
// parameter or as a POST body), parsed and validated the way keepa-sim
// honours it.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <rapidjson/document.h>

namespace keepa::sim::feed {

/// An inclusive [lo, hi] range of a selection; off when absent or null.
struct range {
  bool on = false;
  int64_t lo = 0;
  int64_t hi = 0;

  bool contains(int64_t x) const {
    return !on || (x >= lo && x <= hi);
  }
};

/// The fields of a /deal selection keepa-sim honours.
struct selection {
  int64_t page = 0;
  int64_t domain = 1;
  int price_type = 2;
  /// 0 day, 1 week, 2 month, 3 90 days (4, undocumented, maps to 3).
  int date_range = 0;
  /// 0 or absent = no defined order.
  int sort_type = 0;
  bool filter_enabled = false;
  bool range_enabled = false;
  std::vector<int64_t> include;
  std::vector<int64_t> exclude;
  range current;
  range delta;
  range delta_percent;
  range delta_last;
  range sales_rank;
  int64_t min_rating = -1;
  bool has_reviews = false;
  bool must_have_amazon = false;
  bool must_not_have_amazon = false;
  std::vector<std::string> title_words;
};

/// Parses the JSON object of a selection into `d`; returns an error text
/// or "".
std::string parse_object(const std::string& text, rapidjson::Document& d);

/// Reads an integer of a selection: a JSON number, or (Q12, unless
/// `strict`) a string of decimal digits such as the seeds' "domainId":"1".
bool as_int(const rapidjson::Value& v, bool strict, int64_t& x);

/// Parses and validates a selection; returns an error text or "" and the
/// key of its result set (the selection without `page`). `strict` (Q12)
/// rejects numeric strings and fields Keepa does not know.
std::string parse_selection(const std::string& text, bool strict,
                            selection& out, std::string& cache_key);

} // namespace keepa::sim::feed
