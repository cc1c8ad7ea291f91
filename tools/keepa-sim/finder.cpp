// Product Finder and category lookup. Field names follow the docs' query
// JSON (and keepacom/api_backend's ProductFinderRequest): <metric>_<TYPE>
// with _gte/_lte suffixes, `sort` as [[field, "asc"|"desc"], ...].

#include "tools/keepa-sim/finder.hpp"

#include "tools/keepa-sim/selection.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>

#include <rapidjson/document.h>

namespace keepa::sim::finder {

using detail::day_min;

namespace {

/// csv type names by index (Java's Product.CsvType).
const char* const type_names[detail::n_types]
  = {"AMAZON",
     "NEW",
     "USED",
     "SALES",
     "LISTPRICE",
     "COLLECTIBLE",
     "REFURBISHED",
     "NEW_FBM_SHIPPING",
     "LIGHTNING_DEAL",
     "WAREHOUSE",
     "NEW_FBA",
     "COUNT_NEW",
     "COUNT_USED",
     "COUNT_REFURBISHED",
     "COUNT_COLLECTIBLE",
     "EXTRA_INFO_UPDATES",
     "RATING",
     "COUNT_REVIEWS",
     "BUY_BOX_SHIPPING",
     "USED_NEW_SHIPPING",
     "USED_VERY_GOOD_SHIPPING",
     "USED_GOOD_SHIPPING",
     "USED_ACCEPTABLE_SHIPPING",
     "COLLECTIBLE_NEW_SHIPPING",
     "COLLECTIBLE_VERY_GOOD_SHIPPING",
     "COLLECTIBLE_GOOD_SHIPPING",
     "COLLECTIBLE_ACCEPTABLE_SHIPPING",
     "REFURBISHED_SHIPPING",
     "EBAY_NEW_SHIPPING",
     "EBAY_USED_SHIPPING",
     "TRADE_IN",
     "RENT",
     "BUY_BOX_USED_SHIPPING",
     "PRIME_EXCL",
     "COUNT_NEW_FBA",
     "COUNT_NEW_FBM"};

int type_of(const std::string& name) {
  for (int t = 0; t < detail::n_types; ++t)
    if (name == type_names[t])
      return t;
  return -1;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

/// Reads `<prefix><N>_<TYPE>` with N one of `days`.
bool windowed(const std::string& name, const char* prefix,
              std::initializer_list<int> days, metric what, field& f) {
  if (!starts_with(name, prefix))
    return false;
  auto rest = name.substr(std::strlen(prefix));
  auto us = rest.find('_');
  if (us == std::string::npos || us == 0)
    return false;
  auto n = rest.substr(0, us);
  if (!std::all_of(n.begin(), n.end(),
                   [](char c) {
                     return std::isdigit(static_cast<unsigned char>(c));
                   })
      || n.size() > 3)
    return false;
  auto d = std::stoi(n);
  if (std::find(days.begin(), days.end(), d) == days.end())
    return false;
  auto type = type_of(rest.substr(us + 1));
  if (type < 0)
    return false;
  f = field{what, type, d};
  return true;
}

/// A field name without its suffix, as a filter or a sort key reads it.
bool parse_field(const std::string& name, field& f) {
  if (name == "lastUpdate") {
    f = field{metric::last_update, -1, 0};
    return true;
  }
  if (name == "lastPriceChange") {
    f = field{metric::last_price_change, -1, 0};
    return true;
  }
  if (name == "trackingSince") {
    f = field{metric::tracking_since, -1, 0};
    return true;
  }
  for (int d : {30, 90, 180, 365})
    if (name == "salesRankDrops" + std::to_string(d)) {
      f = field{metric::rank_drops, 3, d};
      return true;
    }
  if (starts_with(name, "current_") || starts_with(name, "deltaLast_")) {
    auto us = name.find('_');
    auto type = type_of(name.substr(us + 1));
    if (type < 0)
      return false;
    f = field{name[0] == 'c' ? metric::current : metric::delta_last, type, 0};
    return true;
  }
  // deltaPercent before delta: both start with "delta".
  return windowed(name, "deltaPercent", {1, 7, 30, 90}, metric::delta_percent,
                  f)
    || windowed(name, "delta", {1, 7, 30, 90}, metric::delta, f)
    || windowed(name, "avg", {1, 7, 30, 90, 180, 365}, metric::avg, f);
}

using feed::as_int;

/// A number or an array of numbers (the docs' rootCategory is a Long
/// array, their example a single number, the Java and Python clients send
/// strings).
bool as_ints(const rapidjson::Value& v, std::vector<int64_t>& xs) {
  int64_t x = 0;
  if (!v.IsArray()) {
    if (!as_int(v, false, x))
      return false;
    xs.push_back(x);
    return true;
  }
  if (v.Size() > 50)
    return false;
  for (auto& e : v.GetArray()) {
    if (!as_int(e, false, x))
      return false;
    xs.push_back(x);
  }
  return true;
}

/// Lowercase words of letters and digits.
std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (auto c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      word.push_back(
        static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      out.push_back(word);
      word.clear();
    }
  }
  return out;
}

std::string parse_sort(const rapidjson::Value& v, bool strict, query& out) {
  if (!v.IsArray() || v.Size() > 3)
    return "invalid sort: up to three [field, \"asc\"|\"desc\"] pairs";
  for (auto& e : v.GetArray()) {
    if (!e.IsArray() || e.Size() != 2 || !e[0].IsString() || !e[1].IsString())
      return "invalid sort: up to three [field, \"asc\"|\"desc\"] pairs";
    std::string dir = e[1].GetString();
    if (dir != "asc" && dir != "desc")
      return "invalid sort direction " + dir;
    sort_key k;
    k.descending = dir == "desc";
    if (!parse_field(e[0].GetString(), k.f)) {
      if (strict)
        return std::string{"unsupported sort field "} + e[0].GetString();
      continue;
    }
    out.sort.push_back(k);
  }
  return {};
}

/// One filter field (a field keepa-sim does not filter on still counts as
/// the query's filter, as it does for Keepa).
std::string parse_filter(const std::string& name, const rapidjson::Value& v,
                         bool strict, query& out) {
  auto invalid = [&] { return "invalid " + name; };
  if (name == "rootCategory")
    return as_ints(v, out.roots) ? "" : invalid();
  if (name == "categories_include")
    return as_ints(v, out.include) ? "" : invalid();
  if (name == "categories_exclude")
    return as_ints(v, out.exclude) ? "" : invalid();
  if (name == "productType")
    return as_ints(v, out.product_types) ? "" : invalid();
  if (name == "hasReviews") {
    if (!v.IsBool())
      return invalid();
    out.has_reviews = v.GetBool();
    return {};
  }
  if (name == "title") {
    if (!v.IsString())
      return invalid();
    out.title = words_of(v.GetString());
    if (out.title.size() > 50)
      return "title: at most 50 keywords";
    return {};
  }
  if (name == "singleVariation") // books here have no variations
    return v.IsBool() ? "" : invalid();
  auto suffix = name.size() > 4 ? name.substr(name.size() - 4) : "";
  field f;
  if ((suffix == "_gte" || suffix == "_lte")
      && parse_field(name.substr(0, name.size() - 4), f)) {
    int64_t x = 0;
    if (!as_int(v, strict, x))
      return invalid();
    auto i
      = std::find_if(out.bounds.begin(), out.bounds.end(), [&](const bound& b) {
          return b.f.what == f.what && b.f.type == f.type && b.f.days == f.days;
        });
    if (i == out.bounds.end())
      i = out.bounds.insert(out.bounds.end(), bound{f, {}, {}});
    (suffix == "_gte" ? i->gte : i->lte) = x;
    return {};
  }
  // Known to Keepa (or not): keepa-sim does not filter on it.
  if (strict)
    return "unsupported field " + name;
  return {};
}

/// A book's value of field `f` at relative minute `now`; none when the
/// book has no such value (no offer, no history).
std::optional<int64_t> value_of(const detail::book& b, const field& f,
                                int32_t now, int64_t origin_km,
                                std::vector<int32_t>& h) {
  auto km = [&](int32_t rel) {
    return std::optional<int64_t>{origin_km + rel};
  };
  switch (f.what) {
    case metric::last_update: return km(b.last_update);
    case metric::last_price_change: return km(b.last_price_change);
    case metric::tracking_since: return km(b.tracking_since);
    case metric::current: {
      auto v = b.csv.last_value(f.type);
      return v < 0 ? std::nullopt : std::optional<int64_t>{v};
    }
    case metric::delta_last: {
      b.csv.get(f.type, h, now);
      auto cur = detail::last_value(h, 2);
      auto prev = detail::prev_value(h, 2);
      if (cur < 0 || prev < 0)
        return std::nullopt;
      return prev - cur;
    }
    case metric::rank_drops: {
      auto from = now - f.days * day_min;
      b.csv.get(3, h, from);
      return detail::rank_drops(h, from, now);
    }
    default: break;
  }
  auto from = now - f.days * day_min;
  b.csv.get(f.type, h, from);
  auto avg = detail::window_avg(h, 2, from, now);
  if (avg < 0)
    return std::nullopt;
  if (f.what == metric::avg)
    return avg;
  auto cur = detail::last_value(h, 2);
  if (cur < 0 || (f.what == metric::delta_percent && avg == 0))
    return std::nullopt;
  if (f.what == metric::delta)
    return avg - cur;
  return (static_cast<int64_t>(avg) - cur) * 100 / avg;
}

bool title_matches(const detail::book& b, const std::vector<std::string>& kw) {
  if (kw.empty())
    return true;
  auto words = words_of(b.title);
  auto has = [&](const std::string& w) {
    return std::find(words.begin(), words.end(), w) != words.end();
  };
  for (auto& k : kw) {
    bool exclude = k.size() > 1 && k[0] == '-';
    if (exclude ? has(k.substr(1)) : !has(k))
      return false;
  }
  return true;
}

bool contains(const std::vector<int64_t>& xs, int64_t x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

/// The filters that need no history, checked first.
bool cheap_match(const detail::book& b, const query& q) {
  if (!q.roots.empty() && !contains(q.roots, detail::books_category))
    return false;
  if (!q.include.empty() && !contains(q.include, b.sub_category))
    return false;
  if (contains(q.exclude, b.sub_category))
    return false;
  if (!q.product_types.empty() && !contains(q.product_types, 0))
    return false;
  if (q.has_reviews && (b.csv.last_value(17) > 0) != *q.has_reviews)
    return false;
  return title_matches(b, q.title);
}

} // namespace

std::string parse(const std::string& text, bool strict, query& out) {
  rapidjson::Document d;
  if (auto err = feed::parse_object(text, d); !err.empty())
    return err;
  int filters = 0;
  for (auto& m : d.GetObject()) {
    std::string name = m.name.GetString();
    auto& v = m.value;
    if (v.IsNull())
      continue;
    if (name == "page" || name == "perPage") {
      int64_t x = 0;
      if (!as_int(v, strict, x))
        return "invalid " + name;
      (name == "page" ? out.page : out.per_page) = x;
      continue;
    }
    if (name == "sort") {
      if (auto err = parse_sort(v, strict, out); !err.empty())
        return err;
      continue;
    }
    if (auto err = parse_filter(name, v, strict, out); !err.empty())
      return err;
    filters += 1;
  }
  if (filters == 0)
    return "at least one filter is required";
  if (out.page < 0)
    return "invalid page";
  // The docs: perPage defaults to and is at least 50; page 0 takes up to
  // 10 000, later pages only while (page + 1) x perPage <= 10 000.
  out.per_page = std::max<int64_t>(out.per_page, 50);
  if (out.per_page > 10000
      || (out.page > 0 && (out.page + 1) * out.per_page > 10000))
    return "page and perPage must not exceed 10000 results";
  if (out.sort.empty())
    out.sort.push_back(sort_key{field{metric::current, 3, 0}, false});
  return {};
}

std::vector<int> run(const detail::catalogue& cat, const query& q,
                     int32_t now_rel, int64_t origin_km) {
  std::vector<int32_t> h;
  struct match {
    int index;
    std::vector<std::optional<int64_t>> keys;
  };
  std::vector<match> found;
  auto n = static_cast<int>(cat.books.size());
  for (int i = 0; i < n; ++i) {
    auto& b = cat.books[static_cast<size_t>(i)];
    if (!cheap_match(b, q))
      continue;
    bool ok = true;
    for (auto& bd : q.bounds) {
      auto v = value_of(b, bd.f, now_rel, origin_km, h);
      if (!v || (bd.gte && *v < *bd.gte) || (bd.lte && *v > *bd.lte)) {
        ok = false;
        break;
      }
    }
    if (!ok)
      continue;
    match m{i, {}};
    for (auto& k : q.sort)
      m.keys.push_back(value_of(b, k.f, now_rel, origin_km, h));
    found.push_back(std::move(m));
  }
  // Books without a value of a sort field come last, either direction.
  std::sort(found.begin(), found.end(), [&](const match& x, const match& y) {
    for (size_t k = 0; k < q.sort.size(); ++k) {
      auto& a = x.keys[k];
      auto& c = y.keys[k];
      if (a.has_value() != c.has_value())
        return a.has_value();
      if (a && *a != *c)
        return q.sort[k].descending ? *a > *c : *a < *c;
    }
    return cat.books[static_cast<size_t>(x.index)].asin
      < cat.books[static_cast<size_t>(y.index)].asin;
  });
  std::vector<int> out;
  out.reserve(found.size());
  for (auto& m : found)
    out.push_back(m.index);
  return out;
}

// -- categories ---------------------------------------------------------------

bool known_category(int64_t id) {
  if (id == 0 || id == detail::books_category)
    return true;
  auto subs = detail::sub_category_ids();
  return std::find(subs.begin(), subs.end(), id) != subs.end();
}

namespace {

void write_category(json::writer& w, const detail::catalogue& cat, int domain,
                    int64_t id) {
  bool root = id == detail::books_category;
  int count = 0;
  int64_t best = INT64_MAX;
  int64_t worst = 0;
  for (auto& b : cat.books) {
    if (!root && b.sub_category != id)
      continue;
    ++count;
    auto rank = b.csv.last_value(3);
    if (rank > 0) {
      best = std::min<int64_t>(best, rank);
      worst = std::max<int64_t>(worst, rank);
    }
  }
  w.key(std::to_string(id)).begin_object();
  w.key("domainId").num(domain);
  w.key("catId").num(id);
  w.key("name").str(detail::category_name(id));
  w.key("contextFreeName").str(detail::category_name(id));
  w.key("websiteDisplayGroup").str("book_display_on_website");
  w.key("children").begin_array();
  if (root)
    for (auto c : detail::sub_category_ids())
      w.num(c);
  w.end_array();
  w.key("parent").num(root ? 0 : detail::books_category);
  w.key("highestRank").num(worst);
  w.key("lowestRank").num(best == INT64_MAX ? 0 : best);
  w.key("productCount").num(count);
  w.key("isBrowseNode").boolean(true);
  w.end_object();
}

} // namespace

void write_categories(json::writer& w, const detail::catalogue& cat, int domain,
                      const std::vector<int64_t>& ids, bool parents) {
  std::vector<int64_t> shown;
  for (auto id : ids) {
    auto c = id == 0 ? detail::books_category : id;
    if (known_category(id) && !contains(shown, c))
      shown.push_back(c);
  }
  w.key("categories").begin_object();
  for (auto c : shown)
    write_category(w, cat, domain, c);
  w.end_object();
  if (!parents)
    return;
  w.key("categoryParents").begin_object();
  bool root_parent = std::any_of(shown.begin(), shown.end(), [](int64_t c) {
    return c != detail::books_category;
  });
  if (root_parent)
    write_category(w, cat, domain, detail::books_category);
  w.end_object();
}

} // namespace keepa::sim::finder
