// keepa-sim's Product Finder (/query) and category lookup (/category) over
// the catalogue: the query JSON parsed, matched, ordered and paged as the
// Keepa docs describe them (../shared/keepa-api.md, DOC "Product Finder",
// "Category Lookup"), and the category objects of the Books tree.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/keepa-sim/detail.hpp"
#include "tools/keepa-sim/json.hpp"

namespace keepa::sim::finder {

/// What a filter or sort field reads of a book.
enum class metric {
  /// current_<TYPE>: the last value.
  current,
  /// avg<N>_<TYPE>: the time-weighted average of the last N days.
  avg,
  /// delta<N>_<TYPE>: avg<N> - current (positive = dropped).
  delta,
  /// deltaPercent<N>_<TYPE>: delta<N> in percent of avg<N>.
  delta_percent,
  /// deltaLast_<TYPE>: previous - current (positive = dropped).
  delta_last,
  /// salesRankDrops<N>: sales-rank drops in the last N days.
  rank_drops,
  /// lastUpdate, lastPriceChange, trackingSince: Keepa minutes.
  last_update,
  last_price_change,
  tracking_since,
};

/// A field of the query JSON without its _gte/_lte suffix.
struct field {
  metric what = metric::current;
  /// csv type (-1 for the fields without one).
  int type = -1;
  /// N of avg<N>, delta<N>, deltaPercent<N>, salesRankDrops<N>.
  int days = 0;
};

/// A `<field>_gte` / `<field>_lte` pair; a book without a value fails it.
struct bound {
  field f;
  std::optional<int64_t> gte;
  std::optional<int64_t> lte;
};

struct sort_key {
  field f;
  bool descending = false;
};

/// The parts of a Product Finder query keepa-sim honours.
struct query {
  int64_t page = 0;
  /// Default and minimum 50.
  int64_t per_page = 50;
  std::vector<bound> bounds;
  /// Default: current_SALES ascending.
  std::vector<sort_key> sort;
  /// rootCategory, categories_include, categories_exclude (empty = off).
  std::vector<int64_t> roots;
  std::vector<int64_t> include;
  std::vector<int64_t> exclude;
  /// title keywords, lowercase; a leading '-' excludes the word.
  std::vector<std::string> title;
  std::vector<int64_t> product_types;
  std::optional<bool> has_reviews;
};

/// Parses a query JSON; returns an error text or "". Fields Keepa knows
/// that keepa-sim does not filter on are ignored, unless `strict`.
std::string parse(const std::string& text, bool strict, query& out);

/// The matching books in the query's order (ties by ASIN).
std::vector<int> run(const detail::catalogue& cat, const query& q,
                     int32_t now_rel, int64_t origin_km);

/// Writes the category objects of `ids` (0 = the roots) as `categories`
/// and, with `parents`, their ancestors as `categoryParents`.
void write_categories(json::writer& w, const detail::catalogue& cat, int domain,
                      const std::vector<int64_t>& ids, bool parents);

/// Whether `id` is a category of the catalogue's tree (0 = the roots).
bool known_category(int64_t id);

} // namespace keepa::sim::finder
