// keepa-sim's /deal feed: a deal row per book and update, the ordered
// result set of a selection (cached 120 s like Keepa's) and its pages.

#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

#include "tools/keepa-sim/detail.hpp"
#include "tools/keepa-sim/json.hpp"
#include "tools/keepa-sim/selection.hpp"

namespace keepa::sim::feed {

/// Date ranges of a deal: day, week, month, 90 days.
constexpr int n_ranges = 4;

/// One deal: arrays by price type, 2-D ones as [dateRange][priceType].
struct deal_row {
  int index = 0;
  int32_t last_update = 0;
  int32_t creation = 0;
  int32_t rating = -1;
  std::array<int32_t, detail::n_types> current;
  std::array<int32_t, detail::n_types> since;
  std::array<int32_t, detail::n_types> delta_last;
  std::array<std::array<int32_t, detail::n_types>, n_ranges> avg;
  std::array<std::array<int32_t, detail::n_types>, n_ranges> delta;
  std::array<std::array<int32_t, detail::n_types>, n_ranges> delta_percent;
  /// The row's JSON object as write_page writes it for `text_origin_km`;
  /// empty until a page first shows the row.
  mutable std::string text;
  mutable int64_t text_origin_km = 0;
};

/// Computes a book's deal values at relative minute `now`.
deal_row make_row(const detail::catalogue& cat, int index, int32_t now);

/// A deal is a snapshot of its book at the book's last update (`current`
/// holds the values at the last update, `avg` and `delta` the averages up to
/// it): one row per book and update, shared by every result set showing it.
using row_ptr = std::shared_ptr<const deal_row>;

/// The rows of the books in the feed window by book index, kept from one
/// computation to the next.
class row_cache {
public:
  /// The row of book `index` at its last update; made when missing or
  /// when the book changed since.
  const row_ptr& get(const detail::catalogue& cat, int index);

  /// Forgets the rows of updates before `oldest`.
  void drop_before(int32_t oldest);

  /// Asks the memory for what get(cat, index) reads, in two steps a few
  /// books apart: first the slot of book `index`, then (once the slot is
  /// cached) its row and book, so the misses of the window's scattered
  /// books overlap.
  void prefetch_slot(int index) const {
    auto i = static_cast<size_t>(index);
    if (i < rows_.size())
      __builtin_prefetch(&rows_[i]);
  }
  void prefetch_row(const detail::catalogue& cat, int index) const {
    auto i = static_cast<size_t>(index);
    __builtin_prefetch(&cat.books[i].last_update);
    if (i < rows_.size() && rows_[i])
      __builtin_prefetch(rows_[i].get());
  }

private:
  /// By book index; null = none.
  std::vector<row_ptr> rows_;
  /// (book index, last update) of every row made and not yet dropped;
  /// an entry is stale once its book has a newer row.
  std::vector<std::pair<int, int32_t>> made_;
};

/// The whole ordered match set of one query (at most 10 000 deals).
struct result_set {
  int64_t computed_ms = 0;
  int64_t origin_km = 0;
  std::vector<row_ptr> rows;
  /// Root category -> matches, ignoring the category filters.
  std::map<int64_t, int> categories;
  /// The relative minute it was computed for.
  int32_t now_rel = 0;
  /// More than max_results matched (rows holds the first of them).
  bool truncated = false;
  /// The rows that pass every filter but the categories, window order
  /// (counted in `categories`, not shown).
  std::vector<row_ptr> outside;
};

/// Result sets by query, each kept for 120 s like Keepa's.
class cache {
public:
  const result_set& get(const detail::catalogue& cat, const std::string& key,
                        const selection& sel, int64_t now_ms, int32_t now_rel,
                        int64_t origin_km);

private:
  std::map<std::string, result_set> sets_;
  row_cache rows_;
};

/// Computes a query's ordered match set; `rows` (optional) keeps the deal
/// rows from one computation to the next and is left holding the rows of
/// the window.
result_set compute(const detail::catalogue& cat, const selection& sel,
                   int32_t now_rel, row_cache* rows = nullptr);

/// compute(cat, sel, now_rel, rows) from `prev`, the result set of the same
/// selection at an earlier minute: keeps its rows whose books did not change
/// and are still in the window, and adds the books updated since, so only
/// those are visited (the same set, in the same order). Falls back to
/// compute when `prev` was cut at max_results. The rows kept move over from
/// `prev` (a cache passes its old set in; thousands of rows a /deal request
/// then cost no reference counting).
result_set recompute(const detail::catalogue& cat, const selection& sel,
                     int32_t now_rel, result_set prev, row_cache& rows);

/// Writes the `deals` payload of page `sel.page`.
void write_page(json::writer& w, const detail::catalogue& cat,
                const result_set& set, const selection& sel);

/// Deals per page and per query.
constexpr int64_t page_size = 150;
constexpr int64_t max_results = 10000;

} // namespace keepa::sim::feed
