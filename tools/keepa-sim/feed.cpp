// keepa-sim's /deal feed: deal rows (a book's snapshot at its last
// update), the result sets of selections (cached 120 s like Keepa's) and
// their pages.

#include "tools/keepa-sim/feed.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <functional>
#include <iterator>

namespace keepa::sim::feed {

using detail::book;
using detail::catalogue;
using detail::day_min;
using detail::last_value;
using detail::n_types;

// -- rows ---------------------------------------------------------------------

deal_row make_row(const catalogue& cat, int index, int32_t now) {
  auto& b = cat.books[static_cast<size_t>(index)];
  deal_row r;
  r.index = index;
  r.last_update = b.last_update;
  r.creation = b.creation;
  r.rating = b.csv.last_value(16);
  r.current.fill(-1);
  r.since.fill(-1);
  r.delta_last.fill(0);
  for (auto& a : r.avg)
    a.fill(-1);
  for (auto& a : r.delta)
    a.fill(0);
  for (auto& a : r.delta_percent)
    a.fill(0);
  // The day entry averages 48 h.
  const int32_t from[n_ranges] = {now - 2 * day_min, now - 7 * day_min,
                                  now - 31 * day_min, now - 90 * day_min};
  // The histories from the point before the earliest range on.
  std::vector<int32_t> h;
  for (int t : {0, 1, 2, 3, 11, 12}) {
    b.csv.get(t, h, from[n_ranges - 1]);
    if (h.empty())
      continue;
    auto cur = last_value(h, 2);
    r.current[t] = cur;
    r.since[t] = h[h.size() - 2];
    auto prev = detail::prev_value(h, 2);
    // Q14: deltaLast is current - previous (negative = dropped, as PHP's
    // comments say); 0 when either is unknown.
    r.delta_last[t] = cur >= 0 && prev >= 0 ? cur - prev : 0;
    int32_t avgs[n_ranges];
    detail::window_avgs(h, 2, now, from, avgs, n_ranges);
    for (int k = 0; k < n_ranges; ++k) {
      auto avg = avgs[k];
      r.avg[k][t] = avg;
      // Positive delta = the price dropped below its average.
      if (avg > 0 && cur >= 0) {
        r.delta[k][t] = avg - cur;
        r.delta_percent[k][t]
          = static_cast<int32_t>((static_cast<int64_t>(avg - cur) * 100) / avg);
      }
    }
  }
  return r;
}

const row_ptr& row_cache::get(const catalogue& cat, int index) {
  auto i = static_cast<size_t>(index);
  if (rows_.size() <= i)
    rows_.resize(cat.books.size());
  auto& ptr = rows_[i];
  auto last_update = cat.books[i].last_update;
  if (!ptr || ptr->last_update != last_update) {
    ptr = std::make_shared<const deal_row>(make_row(cat, index, last_update));
    made_.emplace_back(index, last_update);
  }
  return ptr;
}

void row_cache::drop_before(int32_t oldest) {
  auto kept = made_.begin();
  for (auto& [index, last_update] : made_) {
    if (last_update >= oldest) {
      *kept++ = {index, last_update};
      continue;
    }
    // Unless a newer row replaced it.
    auto& ptr = rows_[static_cast<size_t>(index)];
    if (ptr && ptr->last_update == last_update)
      ptr.reset();
  }
  made_.erase(kept, made_.end());
}

// -- result sets --------------------------------------------------------------

namespace {

/// The books updated within the last 12 hours (and not after now), oldest
/// first.
std::vector<int> window_at(const catalogue& cat, int32_t now_rel) {
  std::vector<int> window;
  cat.updated_since(now_rel - 12 * 60, [&](int i) {
    if (cat.books[static_cast<size_t>(i)].last_update <= now_rel)
      window.push_back(i);
  });
  return window;
}

/// The range filters (isRangeEnabled) of `sel` on price type `pt` and date
/// range `dr`.
bool in_ranges(const selection& sel, const deal_row& row, int pt, int dr) {
  if (!sel.current.contains(row.current[pt])
      || !sel.delta.contains(row.delta[dr][pt])
      || !sel.delta_percent.contains(row.delta_percent[dr][pt])
      // deltaLastRange matches the decrease (DOC: [100,500] = a $1-$5
      // drop), i.e. -deltaLast.
      || !sel.delta_last.contains(-int64_t{row.delta_last[pt]}))
    return false;
  return !sel.sales_rank.on
    || (row.current[3] >= 0 && sel.sales_rank.contains(row.current[3]));
}

/// The deal filters (isFilterEnabled) of `sel` but the categories.
bool passes_filters(const selection& sel, const deal_row& row, const book& b) {
  if (sel.min_rating >= 0 && row.rating < sel.min_rating)
    return false;
  if (sel.has_reviews && b.csv.last_value(17) <= 0)
    return false;
  if (sel.must_have_amazon && row.current[0] < 0)
    return false;
  if (sel.must_not_have_amazon && row.current[0] >= 0)
    return false;
  if (sel.title_words.empty())
    return true;
  std::string title;
  for (auto c : b.title)
    title.push_back(
      static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (auto& word : sel.title_words)
    if (title.find(word) == std::string::npos)
      return false;
  return true;
}

/// The category filters (isFilterEnabled) of `sel`.
bool in_categories(const catalogue& cat, const selection& sel, const book& b) {
  auto in = [&](const std::vector<int64_t>& xs) {
    return std::find(xs.begin(), xs.end(), cat.root) != xs.end()
      || std::find(xs.begin(), xs.end(), b.sub_category) != xs.end();
  };
  return (sel.include.empty() || in(sel.include)) && !in(sel.exclude);
}

/// The order of a selection's sortType: by key, descending (ascending
/// for an inverted sortType), ties by ASIN.
struct row_order {
  const catalogue& cat;
  const selection& sel;

  const std::string& asin(const deal_row& r) const {
    return cat.books[static_cast<size_t>(r.index)].asin;
  }

  int64_t key(const deal_row& r) const {
    auto pt = sel.price_type;
    auto dr = sel.date_range;
    switch (std::abs(sel.sort_type)) {
      case 1: return r.last_update;
      case 2: return r.delta[dr][pt];
      case 3:
        // Lowest rank first; books without rank last.
        return r.current[3] < 0 ? INT64_MIN : -int64_t{r.current[3]};
      case 4: return r.delta_percent[dr][pt];
      default:
        // No defined order: scrambled, but stable for the seed.
        return static_cast<int64_t>(
          detail::rng::mix(cat.seed ^ std::hash<std::string>{}(asin(r))) >> 1);
    }
  }

  bool before(int64_t kx, const std::string& ax, int64_t ky,
              const std::string& ay) const {
    if (kx != ky)
      return sel.sort_type < -1 ? kx < ky : kx > ky;
    return ax < ay;
  }

  bool operator()(const row_ptr& x, const row_ptr& y) const {
    return before(key(*x), asin(*x), key(*y), asin(*y));
  }
};

/// Orders `rows` by the selection's sortType (ties by ASIN) and keeps the
/// first max_results.
void order_rows(const catalogue& cat, const selection& sel,
                std::vector<row_ptr>& rows) {
  row_order ord{cat, sel};
  // Sort (key, ASIN, row) entries, not the rows: a row is a few KiB, and
  // ties would otherwise reach the ASIN through the row and its book.
  struct entry {
    int64_t key;
    const std::string* asin;
    size_t row;
  };
  std::vector<entry> order;
  order.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i)
    order.push_back({ord.key(*rows[i]), &ord.asin(*rows[i]), i});
  auto before = [&](const entry& x, const entry& y) {
    return ord.before(x.key, *x.asin, y.key, *y.asin);
  };
  auto n = std::min(order.size(), static_cast<size_t>(max_results));
  auto by_key = [](const entry& x, const entry& y) { return x.key < y.key; };
  if (sel.sort_type == 1
      && std::is_sorted(order.begin(), order.end(), by_key)) {
    // Newest first, and the window comes oldest first: reversed, only the
    // rows of one minute need ordering by ASIN.
    std::reverse(order.begin(), order.end());
    for (auto i = order.begin(); i != order.end();) {
      auto j = std::find_if(i, order.end(),
                            [&](const entry& x) { return x.key != i->key; });
      std::sort(i, j, before);
      i = j;
    }
  } else if (n == order.size()) {
    std::sort(order.begin(), order.end(), before);
  } else {
    std::partial_sort(order.begin(), order.begin() + static_cast<long>(n),
                      order.end(), before);
  }
  std::vector<row_ptr> sorted;
  sorted.reserve(n);
  for (size_t i = 0; i < n; ++i)
    sorted.push_back(std::move(rows[order[i].row]));
  rows = std::move(sorted);
}

/// Where a window row goes in a result set.
enum class verdict { skip, outside, in };

verdict judge(const catalogue& cat, const selection& sel, const deal_row& row,
              const book& b) {
  auto pt = sel.price_type;
  if (row.current[pt] < 0)
    return verdict::skip;
  if (sel.range_enabled && !in_ranges(sel, row, pt, sel.date_range))
    return verdict::skip;
  if (sel.filter_enabled && !passes_filters(sel, row, b))
    return verdict::skip;
  // Category counts ignore the category filters.
  if (sel.filter_enabled && !in_categories(cat, sel, b))
    return verdict::outside;
  return verdict::in;
}

/// Sets the categories of `out` from its `count` matches.
void count_matches(const catalogue& cat, result_set& out, size_t count) {
  if (count > 0)
    out.categories[cat.root] = static_cast<int>(count);
}

} // namespace

result_set compute(const catalogue& cat, const selection& sel, int32_t now_rel,
                   row_cache* rows) {
  // `cat` is the catalogue of sel.domain (the model picks it).
  result_set out;
  out.now_rel = now_rel;
  auto window = window_at(cat, now_rel);
  row_cache scratch;
  auto& cache = rows != nullptr ? *rows : scratch;
  // Drop the rows of books that left the window (the rows of books that
  // changed since are replaced below).
  cache.drop_before(now_rel - 12 * 60);
  constexpr size_t ahead = 8;
  for (size_t k = 0; k < window.size(); ++k) {
    if (k + 2 * ahead < window.size())
      cache.prefetch_slot(window[k + 2 * ahead]);
    if (k + ahead < window.size())
      cache.prefetch_row(cat, window[k + ahead]);
    auto i = window[k];
    auto& ptr = cache.get(cat, i);
    switch (judge(cat, sel, *ptr, cat.books[static_cast<size_t>(i)])) {
      case verdict::skip: break;
      case verdict::outside: out.outside.push_back(ptr); break;
      case verdict::in: out.rows.push_back(ptr); break;
    }
  }
  count_matches(cat, out, out.rows.size() + out.outside.size());
  out.truncated = out.rows.size() > static_cast<size_t>(max_results);
  order_rows(cat, sel, out.rows);
  return out;
}

result_set recompute(const catalogue& cat, const selection& sel,
                     int32_t now_rel, result_set prev, row_cache& rows) {
  auto oldest = now_rel - 12 * 60;
  // `recent` reaches back at least the window from the latest update.
  if (prev.truncated || now_rel < prev.now_rel || prev.now_rel < oldest)
    return compute(cat, sel, now_rel, &rows);
  rows.drop_before(oldest);
  // Books updated from prev's minute on: prev holds their rows of before
  // (or the same ones, updated within that minute before it was computed).
  std::vector<int> fresh;
  cat.updated_since(prev.now_rel, [&](int i) { fresh.push_back(i); });
  auto changed = fresh;
  std::sort(changed.begin(), changed.end());
  auto kept = [&](const row_ptr& r) {
    return r->last_update >= oldest
      && !std::binary_search(changed.begin(), changed.end(), r->index);
  };
  result_set out;
  out.now_rel = now_rel;
  std::vector<row_ptr> added;
  for (auto i : fresh) {
    auto& b = cat.books[static_cast<size_t>(i)];
    if (b.last_update > now_rel)
      continue;
    auto& ptr = rows.get(cat, i);
    switch (judge(cat, sel, *ptr, b)) {
      case verdict::skip: break;
      case verdict::outside: out.outside.push_back(ptr); break;
      case verdict::in: added.push_back(ptr); break;
    }
  }
  // The rows lie anywhere in memory, and reading one's minute was two
  // thirds of this function: each is fetched 32 rows ahead.
  auto keep_from = [&](std::vector<row_ptr>& from, std::vector<row_ptr>& to) {
    constexpr size_t ahead = 32;
    for (size_t k = 0; k < from.size(); ++k) {
      if (k + ahead < from.size())
        __builtin_prefetch(from[k + ahead].get());
      if (kept(from[k]))
        to.push_back(std::move(from[k]));
    }
  };
  keep_from(prev.outside, out.outside);
  std::vector<row_ptr> old;
  old.reserve(prev.rows.size());
  keep_from(prev.rows, old);
  auto matches = old.size() + added.size();
  count_matches(cat, out, matches + out.outside.size());
  out.truncated = matches > static_cast<size_t>(max_results);
  // Both in the selection's order (prev's rows are a complete ordered set,
  // so what is kept of them is too): merged, the order of a computation.
  order_rows(cat, sel, added);
  out.rows.reserve(std::min(matches, static_cast<size_t>(max_results)));
  std::merge(std::make_move_iterator(added.begin()),
             std::make_move_iterator(added.end()),
             std::make_move_iterator(old.begin()),
             std::make_move_iterator(old.end()), std::back_inserter(out.rows),
             row_order{cat, sel});
  if (out.rows.size() > static_cast<size_t>(max_results))
    out.rows.resize(static_cast<size_t>(max_results));
  return out;
}

const result_set& cache::get(const catalogue& cat, const std::string& key,
                             const selection& sel, int64_t now_ms,
                             int32_t now_rel, int64_t origin_km) {
  // A query's result set is cached for 120 s; an expired one is the base
  // of the next computation of its query.
  auto expired = [&](const result_set& x) {
    return now_ms - x.computed_ms >= 120000;
  };
  for (auto i = sets_.begin(); i != sets_.end();)
    if (i->first != key && expired(i->second))
      i = sets_.erase(i);
    else
      ++i;
  auto i = sets_.find(key);
  if (i != sets_.end() && !expired(i->second))
    return i->second;
  auto set = i != sets_.end() && i->second.origin_km == origin_km
    ? recompute(cat, sel, now_rel, std::move(i->second), rows_)
    : compute(cat, sel, now_rel, &rows_);
  set.computed_ms = now_ms;
  set.origin_km = origin_km;
  if (i != sets_.end()) {
    i->second = std::move(set);
    return i->second;
  }
  return sets_.emplace(key, std::move(set)).first->second;
}

// -- pages --------------------------------------------------------------------

namespace {

/// Writes one deal object of a page.
void write_deal(json::writer& w, const catalogue& cat, const deal_row& r,
                int64_t origin_km) {
  auto km = [&](int64_t rel) { return origin_km + rel; };
  auto& b = cat.books[static_cast<size_t>(r.index)];
  auto n_out = detail::types_sent(r.index);
  auto arr = [&](const std::array<int32_t, n_types>& xs, bool times) {
    w.begin_array();
    for (int t = 0; t < n_out; ++t)
      w.num(times && xs[t] >= 0 ? km(xs[t]) : xs[t]);
    w.end_array();
  };
  auto arr2
    = [&](const std::array<std::array<int32_t, n_types>, n_ranges>& xs) {
        w.begin_array();
        for (auto& row : xs)
          arr(row, false);
        w.end_array();
      };
  w.begin_object();
  w.key("asin").str(b.asin);
  w.key("parentAsin").null();
  w.key("title").str(b.title);
  w.key("rootCat").num(cat.root);
  w.key("categories").begin_array().num(b.sub_category).end_array();
  w.key("image").begin_array();
  for (auto c : "51" + b.asin + ".jpg")
    w.num(static_cast<unsigned char>(c));
  w.end_array();
  w.key("creationDate").num(km(r.creation));
  w.key("lastUpdate").num(km(r.last_update));
  w.key("lightningEnd").num(0);
  w.key("warehouseCondition").num(0);
  w.key("warehouseConditionComment").null();
  w.key("minRating").num(r.rating);
  w.key("current");
  arr(r.current, false);
  w.key("currentSince");
  arr(r.since, true);
  w.key("deltaLast");
  arr(r.delta_last, false);
  w.key("avg");
  arr2(r.avg);
  w.key("delta");
  arr2(r.delta);
  w.key("deltaPercent");
  arr2(r.delta_percent);
  w.end_object();
}

} // namespace

void write_page(json::writer& w, const catalogue& cat, const result_set& set,
                const selection& sel) {
  w.key("deals").begin_object();
  w.key("dr").begin_array();
  auto total = static_cast<int64_t>(set.rows.size());
  for (auto i = sel.page * page_size;
       i < total && i < (sel.page + 1) * page_size; ++i) {
    // A row is a snapshot, so its text is written once and then reused by
    // every page showing it.
    auto& r = *set.rows[static_cast<size_t>(i)];
    if (r.text.empty() || r.text_origin_km != set.origin_km) {
      json::writer one;
      write_deal(one, cat, r, set.origin_km);
      r.text = one.take();
      r.text_origin_km = set.origin_km;
    }
    w.raw(r.text);
  }
  w.end_array();
  w.key("drDateIndex").begin_array().end_array();
  w.key("categoryIds").begin_array();
  for (auto& [id, n] : set.categories)
    w.num(id);
  w.end_array();
  w.key("categoryNames").begin_array();
  for (auto& [id, n] : set.categories)
    w.str(detail::category_name(id));
  w.end_array();
  w.key("categoryCount").begin_array();
  for (auto& [id, n] : set.categories)
    w.num(n);
  w.end_array();
  w.end_object();
}

} // namespace keepa::sim::feed
