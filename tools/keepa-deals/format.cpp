#include "tools/keepa-deals/format.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "config/locale.hpp"

namespace keepa::deals {

namespace {

/// The locale of `d`, if its domain is a known one.
std::optional<locale> locale_of_deal(const deal_record& d) {
  return locale_of(d.domain);
}

std::string amazon_url(const deal_record& d) {
  auto loc = locale_of_deal(d);
  return loc ? amazon_product_url(*loc, d.asin) : std::string{};
}

std::string keepa_url(const deal_record& d) {
  auto loc = locale_of_deal(d);
  return loc ? keepa_product_url(*loc, d.asin) : std::string{};
}

std::string locale_code(const deal_record& d) {
  auto loc = locale_of_deal(d);
  return loc ? std::string{loc->code} : std::to_string(d.domain);
}

/// The number of code points in UTF-8 `x` (a column's width on a terminal
/// for the Latin, Greek and Cyrillic titles of most books).
size_t width(const std::string& x) {
  return static_cast<size_t>(std::count_if(x.begin(), x.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

/// `x` cut to `n` code points, "…" marking a cut.
std::string cut(const std::string& x, size_t n) {
  if (width(x) <= n)
    return x;
  std::string result;
  size_t seen = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    bool starts = (static_cast<unsigned char>(x[i]) & 0xC0) != 0x80;
    if (starts && ++seen > n - 1)
      break;
    result += x[i];
  }
  return result + "\u2026";
}

} // namespace

std::string money(int64_t cents, bool unknown_if_negative) {
  if (cents < 0 && unknown_if_negative)
    return {};
  auto abs = cents < 0 ? -cents : cents;
  char buf[32];
  snprintf(buf, sizeof(buf), "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "",
           abs / 100, abs % 100);
  return buf;
}

std::string percent(int64_t bp) {
  return money(bp, false);
}

std::string iso_utc(int64_t unix_ms) {
  auto secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string csv_field(const std::string& x) {
  if (x.find_first_of(",\"\r\n") == std::string::npos)
    return x;
  std::string result = "\"";
  for (auto c : x) {
    if (c == '"')
      result += '"';
    result += c;
  }
  return result + "\"";
}

std::string csv_header() {
  return "asin,locale,domain,currency,title,buy_price,est_sell_price,"
         "all_in_cost,profit,roi_percent,margin_percent,sales_rank,"
         "offers_used,first_seen_utc,last_seen_utc,amazon_url,keepa_url,"
         "raw_title\r\n";
}

std::string csv_record(const deal_record& d) {
  std::vector<std::string> fields{
    d.asin,
    locale_code(d),
    std::to_string(d.domain),
    d.currency,
    d.title,
    money(d.buy_price),
    money(d.est_sell_price),
    money(d.all_in_cost),
    money(d.profit, false),
    percent(d.roi_bp),
    percent(d.margin_bp),
    d.sales_rank > 0 ? std::to_string(d.sales_rank) : std::string{},
    d.offers_used >= 0 ? std::to_string(d.offers_used) : std::string{},
    iso_utc(d.first_seen_ms),
    iso_utc(d.last_seen_ms),
    amazon_url(d),
    keepa_url(d),
    d.raw_title};
  std::string result;
  for (auto& f : fields) {
    if (!result.empty())
      result += ',';
    result += csv_field(f);
  }
  return result + "\r\n";
}

std::string json_line(const deal_record& d) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto str = [&](const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  };
  auto num = [&](const char* key, int64_t value) {
    w.Key(key);
    w.Int64(value);
  };
  /// Unknown figures (< 0) are null.
  auto known = [&](const char* key, int64_t value) {
    w.Key(key);
    if (value < 0)
      w.Null();
    else
      w.Int64(value);
  };
  w.StartObject();
  str("asin", d.asin);
  str("locale", locale_code(d));
  num("domain", d.domain);
  str("currency", d.currency);
  str("title", d.title);
  str("raw_title", d.raw_title);
  known("buy_price_cents", d.buy_price);
  known("est_sell_price_cents", d.est_sell_price);
  known("all_in_cost_cents", d.all_in_cost);
  num("profit_cents", d.profit);
  num("roi_bp", d.roi_bp);
  num("margin_bp", d.margin_bp);
  known("sales_rank", d.sales_rank > 0 ? d.sales_rank : -1);
  known("offers_used", d.offers_used);
  num("first_seen_ms", d.first_seen_ms);
  num("last_seen_ms", d.last_seen_ms);
  str("last_seen_utc", iso_utc(d.last_seen_ms));
  str("amazon_url", amazon_url(d));
  str("keepa_url", keepa_url(d));
  w.EndObject();
  return buf.GetString();
}

std::string table(const std::vector<deal_record>& deals, size_t title_width,
                  uint64_t first) {
  std::vector<std::vector<std::string>> rows{{"#", "ASIN", "loc", "title",
                                              "buy", "sell", "profit", "ROI %",
                                              "rank", "last seen (UTC)"}};
  for (auto& d : deals) {
    auto loc = locale_of(d.domain);
    auto sym = loc ? std::string{loc->currency_symbol} : d.currency + " ";
    auto cash = [&](int64_t cents, bool unknown_if_negative = true) {
      auto x = money(cents, unknown_if_negative);
      return x.empty() ? std::string{"-"} : sym + x;
    };
    rows.push_back({std::to_string(first++), d.asin, locale_code(d),
                    cut(d.title, std::max<size_t>(title_width, 4)),
                    cash(d.buy_price), cash(d.est_sell_price),
                    cash(d.profit, false), percent(d.roi_bp),
                    d.sales_rank > 0 ? std::to_string(d.sales_rank) : "-",
                    iso_utc(d.last_seen_ms).substr(0, 16) + "Z"});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));
  // Text columns (ASIN, locale, title, time) left, numbers right.
  auto left = [](size_t i) { return i == 1 || i == 2 || i == 3 || i == 9; };
  std::string result;
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      auto pad = std::string(widths[i] - width(row[i]), ' ');
      if (i > 0)
        line += "  ";
      line += left(i) ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    result += line + "\n";
  }
  return result;
}

} // namespace keepa::deals
