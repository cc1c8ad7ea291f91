// keepa-sim's payloads: product and seller objects, the /deal feed.

#include "tools/keepa-sim/feed.hpp"

#include <algorithm>
#include <cctype>
#include <climits>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace keepa::sim::feed {

using detail::book;
using detail::catalogue;
using detail::day_min;
using detail::last_value;
using detail::n_types;
using detail::stride_of;
using detail::window_avg;

namespace {

const char* category_name(int64_t id) {
  switch (id) {
    case detail::books_category:
      return "Books";
    case 1:
      return "Arts & Photography";
    case 2:
      return "Biographies & Memoirs";
    case 3:
      return "Business & Money";
    case 4:
      return "Children's Books";
    case 5:
      return "Computers & Technology";
    case 6:
      return "Cookbooks, Food & Wine";
    case 9:
      return "History";
    case 10:
      return "Health, Fitness & Dieting";
    case 17:
      return "Literature & Fiction";
    case 75:
      return "Science & Math";
    default:
      return "?";
  }
}

/// Factors of the used-condition types 19..22 over the lowest used price.
double condition_factor(int type) {
  switch (type) {
    case 19:
      return 1.2;
    case 20:
      return 1.1;
    case 21:
      return 1.04;
    default:
      return 1.0;
  }
}

/// The history of a used-condition type (19..22) as sent: USED with the
/// condition's factor and shipping, stride 3.
void derived_series(const book& b, int type, std::vector<int32_t>& out) {
  auto& used = b.csv[2];
  out.clear();
  out.reserve(used.size() / 2 * 3);
  for (size_t i = 0; i + 1 < used.size(); i += 2) {
    out.push_back(used[i]);
    auto v = used[i + 1];
    out.push_back(v < 0 ? -1
                        : static_cast<int32_t>(v * condition_factor(type)
                                               + 0.5));
    out.push_back(v < 0 ? -1 : 399);
  }
}

/// Array lengths vary by data age on real Keepa (2025 answers had 34
/// entries, the enum now has 36); every third book answers with 34 so
/// clients must bounds-check. Types 34 and 35 never hold data here.
int types_sent(int index) {
  return index % 3 == 0 ? 34 : n_types;
}

bool visible(int type, const product_view& v) {
  switch (type) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 11:
    case 12:
      return true;
    case 16:
    case 17:
      return v.rating || v.offers > 0;
    case 19:
    case 20:
    case 21:
    case 22:
      return v.offers > 0;
    default:
      return false;
  }
}

/// Writes a flat history with Keepa-minute times, trimmed to `from`
/// (keeping the last point before it).
void write_history(json::writer& w, const std::vector<int32_t>& h, int stride,
                   int64_t origin_km, int32_t from) {
  auto until = detail::points_until(h, stride, from);
  size_t first = until > 0 ? (until - 1) * stride : 0;
  w.begin_array();
  for (size_t i = first; i < h.size(); i += stride) {
    w.num(origin_km + h[i]);
    for (int k = 1; k < stride; ++k)
      w.num(h[i + k]);
  }
  w.end_array();
}

/// Value of a history at relative minute t (last point at or before t).
int32_t value_at(const std::vector<int32_t>& h, int stride, int32_t t) {
  auto n = detail::points_until(h, stride, t);
  if (n == 0)
    return -1;
  auto i = (n - 1) * stride;
  auto v = h[i + 1];
  if (stride == 3 && v >= 0)
    v += std::max(h[i + 2], 0);
  return v;
}

/// The valid point with the lowest (or highest) value; the earliest one on
/// ties. `best` < 0: none.
struct extreme {
  int32_t best = -1;
  int32_t when = 0;

  void add(int32_t t, int32_t v, bool want_max) {
    if (best < 0 || (want_max ? v > best : v < best)) {
      best = v;
      when = t;
    }
  }
};

/// The extremes of a history, overall and within [from, to].
struct extremes {
  extreme min;
  extreme max;
  extreme min_in;
  extreme max_in;

  void scan(const std::vector<int32_t>& h, int stride, int32_t from,
            int32_t to) {
    for (size_t i = 0; i < h.size(); i += stride) {
      auto v = h[i + 1];
      if (v < 0)
        continue;
      if (stride == 3)
        v += std::max(h[i + 2], 0);
      auto t = h[i];
      min.add(t, v, false);
      max.add(t, v, true);
      if (t >= from && t <= to) {
        min_in.add(t, v, false);
        max_in.add(t, v, true);
      }
    }
  }
};

/// [time, value] of an extreme, or null.
void write_extreme(json::writer& w, const extreme& x, int64_t origin_km) {
  if (x.best < 0) {
    w.null();
    return;
  }
  w.begin_array().num(origin_km + x.when).num(x.best).end_array();
}

void write_offer(json::writer& w, const detail::offer& o, int64_t seen_km,
                 int64_t since_km, bool stock) {
  w.begin_object();
  w.key("offerId").num(o.offer_id);
  w.key("lastSeen").num(seen_km);
  w.key("sellerId").str(o.seller_id);
  w.key("offerCSV").begin_array().num(since_km).num(o.price).num(o.ship);
  w.end_array();
  w.key("condition").num(o.condition);
  w.key("isPrime").boolean(o.prime);
  w.key("isMAP").boolean(false);
  w.key("isShippable").boolean(true);
  w.key("isAddonItem").boolean(false);
  w.key("isPreorder").boolean(false);
  w.key("isWarehouseDeal").boolean(false);
  w.key("isScam").boolean(false);
  w.key("isAmazon").boolean(false);
  w.key("isPrimeExcl").boolean(false);
  w.key("isFBA").boolean(o.fba);
  w.key("shipsFromChina").boolean(false);
  w.key("minOrderQty").num(1);
  if (stock)
    w.key("stockCSV").begin_array().num(seen_km).num(1 + o.offer_id % 7)
      .end_array();
  w.end_object();
}

} // namespace

// -- products -----------------------------------------------------------------

void write_product(json::writer& w, const catalogue& cat, int index,
                   const std::string& asin, int domain,
                   const product_view& v, bool offers_failed) {
  auto km = [&](int64_t rel) { return v.origin_km + rel; };
  w.begin_object();
  w.key("asin").str(asin);
  w.key("domainId").num(domain);
  if (index < 0) {
    // Unknown to Keepa: an invalid-ASIN shell without data.
    w.key("productType").num(4);
    w.end_object();
    return;
  }
  auto& b = cat.books[static_cast<size_t>(index)];
  auto now = v.now_rel;
  w.key("productType").num(0);
  w.key("title").str(b.title);
  w.key("rootCategory").num(detail::books_category);
  w.key("categories").begin_array().num(b.sub_category).end_array();
  w.key("categoryTree").begin_array();
  for (auto c : {detail::books_category, b.sub_category}) {
    w.begin_object().key("catId").num(c).key("name").str(category_name(c));
    w.end_object();
  }
  w.end_array();
  w.key("binding").str("Paperback");
  w.key("productGroup").str("Book");
  w.key("author").str("Author " + std::to_string(index % 997));
  w.key("manufacturer").str("Press " + std::to_string(index % 61));
  w.key("trackingSince").num(km(b.tracking_since));
  w.key("listedSince").num(km(b.tracking_since));
  auto refreshed = b.refreshed_ms > 0
                     ? b.refreshed_ms / 60000 - 21564000 - v.origin_km
                     : int64_t{b.last_update};
  w.key("lastUpdate").num(km(std::max<int64_t>(b.last_update, refreshed)));
  w.key("lastPriceChange").num(km(b.last_price_change));
  w.key("availabilityAmazon").num(last_value(b.csv[0], 2) >= 0 ? 0 : -1);
  w.key("salesRankReference").num(detail::books_category);
  w.key("packageWeight").num(200 + index % 900);
  w.key("fbaFees").begin_object().key("pickAndPackFee").num(b.pick_pack);
  w.end_object();
  w.key("referralFeePercent").num(b.referral_pct);
  w.key("referralFeePercentage").dbl(b.referral_pct);
  // The histories as sent: the book's own, or derived for 19..22.
  std::array<const std::vector<int32_t>*, n_types> sent{};
  std::array<std::vector<int32_t>, 4> derived;
  for (int t = 0; t < n_types; ++t) {
    if (!visible(t, v))
      continue;
    if (t >= 19 && t <= 22) {
      derived_series(b, t, derived[static_cast<size_t>(t - 19)]);
      sent[t] = &derived[static_cast<size_t>(t - 19)];
    } else {
      sent[t] = &b.csv[static_cast<size_t>(t)];
    }
  }
  auto has = [&](int t) { return sent[t] != nullptr && !sent[t]->empty(); };
  int32_t from = v.days > 0 ? now - v.days * day_min : INT32_MIN;
  auto n_out = types_sent(index);
  if (v.history) {
    w.key("csv").begin_array();
    for (int t = 0; t < n_out; ++t) {
      if (!has(t))
        w.null();
      else
        write_history(w, *sent[t], stride_of(t), v.origin_km, from);
    }
    w.end_array();
    w.key("salesRanks").begin_object();
    w.key(std::to_string(detail::books_category));
    write_history(w, b.csv[3], 2, v.origin_km, from);
    w.end_object();
  }
  std::vector<detail::offer> offers;
  int found = 0;
  if (v.offers > 0 && !offers_failed) {
    offers = cat.offers_of(index);
    found = std::min(static_cast<int>(offers.size()), v.offers);
    offers.resize(static_cast<size_t>(found));
  }
  if (v.stats) {
    // Per type, one pass for the averages ending now (plus the interval's
    // when it ends elsewhere) and one for the extremes.
    const int32_t window_from[] = {now - 30 * day_min, now - 90 * day_min,
                                now - 180 * day_min, now - 365 * day_min,
                                v.stats_from};
    auto n_now = v.stats_to == now ? 5 : 4;
    std::array<std::array<int32_t, 5>, n_types> avgs;
    std::array<extremes, n_types> ext;
    for (int t = 0; t < n_out; ++t) {
      avgs[t].fill(-1);
      if (!has(t))
        continue;
      auto& h = *sent[t];
      auto stride = stride_of(t);
      detail::window_avgs(h, stride, now, window_from, avgs[t].data(), n_now);
      if (n_now == 4)
        avgs[t][4] = window_avg(h, stride, v.stats_from, v.stats_to);
      ext[t].scan(h, stride, v.stats_from, v.stats_to);
    }
    w.key("stats").begin_object();
    auto arr = [&](const char* name, auto f) {
      w.key(name).begin_array();
      for (int t = 0; t < n_out; ++t)
        f(t);
      w.end_array();
    };
    arr("current", [&](int t) {
      w.num(has(t) ? last_value(*sent[t], stride_of(t)) : -1);
    });
    auto avg_over = [&](const char* name, size_t k) {
      arr(name, [&](int t) { w.num(avgs[t][k]); });
    };
    avg_over("avg", 4);
    avg_over("avg30", 0);
    avg_over("avg90", 1);
    avg_over("avg180", 2);
    avg_over("avg365", 3);
    arr("atIntervalStart", [&](int t) {
      w.num(has(t) ? value_at(*sent[t], stride_of(t), v.stats_from) : -1);
    });
    auto extreme_arr = [&](const char* name, extreme extremes::*which) {
      arr(name, [&](int t) {
        if (!has(t))
          w.null();
        else
          write_extreme(w, ext[t].*which, v.origin_km);
      });
    };
    extreme_arr("min", &extremes::min);
    extreme_arr("max", &extremes::max);
    extreme_arr("minInInterval", &extremes::min_in);
    extreme_arr("maxInInterval", &extremes::max_in);
    auto& rank = b.csv[3];
    w.key("salesRankDrops30").num(detail::rank_drops(rank, now - 30 * day_min,
                                                      now));
    w.key("salesRankDrops90").num(detail::rank_drops(rank, now - 90 * day_min,
                                                      now));
    w.key("salesRankDrops180").num(
      detail::rank_drops(rank, now - 180 * day_min, now));
    w.key("salesRankDrops365").num(
      detail::rank_drops(rank, now - 365 * day_min, now));
    if (v.offers > 0) {
      int fba = 0;
      const detail::offer* bb_new = nullptr;
      const detail::offer* bb_used = nullptr;
      for (auto& o : offers) {
        fba += o.fba ? 1 : 0;
        if (o.condition == 1 && !bb_new)
          bb_new = &o;
        if (o.condition >= 2 && o.condition <= 5 && !bb_used)
          bb_used = &o;
      }
      w.key("totalOfferCount").num(static_cast<int64_t>(
        b.n_used_offers + b.n_new_offers));
      w.key("retrievedOfferCount").num(found);
      w.key("offerCountFBA").num(fba);
      w.key("offerCountFBM").num(found - fba);
      w.key("lastOffersUpdate").num(km(now));
      w.key("buyBoxPrice").num(bb_new ? bb_new->price : -1);
      w.key("buyBoxShipping").num(bb_new ? bb_new->ship : -2);
      w.key("buyBoxIsFBA").boolean(bb_new && bb_new->fba);
      w.key("buyBoxIsAmazon").boolean(false);
      w.key("buyBoxIsUsed").boolean(false);
      w.key("buyBoxSellerId").str(bb_new ? bb_new->seller_id : "-1");
      w.key("buyBoxUsedPrice").num(bb_used ? bb_used->price : -1);
      w.key("buyBoxUsedShipping").num(bb_used ? bb_used->ship : -2);
      w.key("buyBoxUsedCondition").num(bb_used ? bb_used->condition : -1);
      w.key("buyBoxUsedIsFBA").boolean(bb_used && bb_used->fba);
      w.key("buyBoxUsedSellerId").str(bb_used ? bb_used->seller_id : "-1");
      w.key("stockAmazon").num(-2);
      w.key("stockBuyBox").num(-2);
    } else {
      w.key("totalOfferCount").num(-2);
      w.key("retrievedOfferCount").num(-2);
      w.key("offerCountFBA").num(-2);
      w.key("offerCountFBM").num(-2);
      w.key("buyBoxPrice").num(-2);
      w.key("buyBoxShipping").num(-2);
      w.key("buyBoxUsedPrice").num(-2);
      w.key("buyBoxUsedShipping").num(-2);
    }
    w.end_object();
  }
  if (v.offers > 0) {
    // Historical offers come first, so only liveOffersOrder finds the live
    // ones (they are dropped with only-live-offers=1).
    int historical = 0;
    w.key("offers").begin_array();
    if (!v.live_only) {
      detail::rng r{cat.seed, static_cast<uint64_t>(index), 0x415};
      historical = static_cast<int>(r.range(0, 3));
      for (int i = 0; i < historical; ++i) {
        detail::offer o;
        o.offer_id = 1000 + i;
        o.seller_id = cat.sellers[static_cast<size_t>(
          r.range(0, static_cast<int64_t>(cat.sellers.size()) - 1))];
        o.price = static_cast<int32_t>(b.sell_ref * r.between(0.2, 0.9));
        o.condition = static_cast<int32_t>(r.range(2, 5));
        auto seen = now - static_cast<int32_t>(r.range(3, 200)) * day_min;
        write_offer(w, o, km(seen), km(seen - 5 * day_min), false);
      }
    }
    for (auto& o : offers)
      write_offer(w, o, km(now), km(b.last_price_change), v.stock);
    w.end_array();
    w.key("liveOffersOrder").begin_array();
    for (int i = 0; i < found; ++i)
      w.num(historical + i);
    w.end_array();
    w.key("offersSuccessful").boolean(!offers_failed);
  }
  w.end_object();
}

// -- sellers ------------------------------------------------------------------

void write_seller(json::writer& w, const catalogue& cat, int index,
                  int domain, bool storefront, int32_t now_rel,
                  int64_t origin_km) {
  detail::rng r{cat.seed, static_cast<uint64_t>(index), 0x5e11};
  auto& id = cat.sellers[static_cast<size_t>(index)];
  auto since = origin_km - r.range(100, 3000) * day_min;
  auto count = r.range(10, 50000);
  w.key(id).begin_object();
  w.key("sellerId").str(id);
  w.key("sellerName").str("Seller " + std::to_string(index));
  w.key("domainId").num(domain);
  w.key("trackedSince").num(since);
  w.key("lastUpdate").num(origin_km + now_rel);
  w.key("hasFBA").boolean(r.uniform() < 0.4);
  w.key("shipsFromChina").boolean(r.uniform() < 0.05);
  w.key("csv").begin_array();
  w.begin_array().num(since).num(r.range(70, 100)).end_array();
  w.begin_array().num(since).num(r.range(5, 20000)).end_array();
  w.end_array();
  w.key("totalStorefrontAsins").begin_array().num(origin_km + now_rel);
  w.num(count).end_array();
  if (storefront) {
    w.key("asinList").begin_array();
    for (size_t i = static_cast<size_t>(index); i < cat.books.size();
         i += cat.sellers.size())
      w.str(cat.books[i].asin);
    w.end_array();
  }
  w.end_object();
}

// -- selection ----------------------------------------------------------------

std::string parse_selection(const std::string& text, bool strict,
                            selection& out, std::string& cache_key) {
  rapidjson::Document d;
  // Iterative parsing: a deeply nested body cannot exhaust the stack.
  d.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (d.HasParseError())
    return "not valid JSON (offset " + std::to_string(d.GetErrorOffset())
           + ")";
  if (!d.IsObject())
    return "not a JSON object";
  static const char* const honoured[] = {
    "page", "domainId", "priceTypes", "dateRange", "sortType",
    "isFilterEnabled", "isRangeEnabled", "includeCategories",
    "excludeCategories", "currentRange", "deltaRange", "deltaPercentRange",
    "deltaLastRange", "salesRankRange", "minRating", "titleSearch",
    "hasReviews", "mustHaveAmazonOffer", "mustNotHaveAmazonOffer"};
  // Known to Keepa; keepa-sim accepts them but does not filter on them
  // (books have no variations, no lightning or warehouse deals here).
  static const char* const accepted[] = {
    "isLowest", "isLowest90", "isLowestOffer", "isHighest", "isOutOfStock",
    "isBackInStock", "filterErotic", "singleVariation", "isRisers",
    "isPrimeExclusive", "warehouseConditions", "brand", "binding",
    "productGroup", "author", "format", "manufacturer", "languages",
    "material", "type", "color", "size", "partNumber"};
  for (auto& m : d.GetObject()) {
    std::string name = m.name.GetString();
    bool known = std::find(std::begin(honoured), std::end(honoured), name)
                   != std::end(honoured)
                 || std::find(std::begin(accepted), std::end(accepted), name)
                      != std::end(accepted);
    if (!known && strict)
      return "unknown field " + name;
  }
  // Q12: numbers only in strict mode; numeric strings ("domainId":"1", as
  // the seeds sent) are accepted otherwise.
  auto as_int = [&](const rapidjson::Value& v, int64_t& x) {
    if (v.IsInt64()) {
      x = v.GetInt64();
      return true;
    }
    if (!strict && v.IsString()) {
      std::string s = v.GetString();
      if (s.empty() || s.size() > 18)
        return false;
      size_t i = s[0] == '-' ? 1 : 0;
      if (i == s.size())
        return false;
      for (size_t k = i; k < s.size(); ++k)
        if (!std::isdigit(static_cast<unsigned char>(s[k])))
          return false;
      x = std::stoll(s);
      return true;
    }
    return false;
  };
  std::string err;
  auto get_int = [&](const char* name, int64_t& x, bool required) {
    auto i = d.FindMember(name);
    if (i == d.MemberEnd() || (i->value.IsNull() && !required)) {
      if (required && err.empty())
        err = std::string{"missing "} + name;
      return false;
    }
    if (!as_int(i->value, x) && err.empty())
      err = std::string{"invalid "} + name;
    return err.empty();
  };
  auto get_bool = [&](const char* name, bool& x) {
    auto i = d.FindMember(name);
    if (i == d.MemberEnd() || i->value.IsNull())
      return;
    if (i->value.IsBool()) {
      x = i->value.GetBool();
      return;
    }
    if (!strict && i->value.IsString()) {
      std::string s = i->value.GetString();
      if (s == "true" || s == "false") {
        x = s == "true";
        return;
      }
    }
    if (err.empty())
      err = std::string{"invalid "} + name;
  };
  auto get_list = [&](const char* name, std::vector<int64_t>& xs) {
    auto i = d.FindMember(name);
    if (i == d.MemberEnd() || i->value.IsNull())
      return;
    if (!i->value.IsArray()) {
      if (err.empty())
        err = std::string{"invalid "} + name;
      return;
    }
    for (auto& e : i->value.GetArray()) {
      int64_t x;
      if (!as_int(e, x)) {
        if (err.empty())
          err = std::string{"invalid "} + name;
        return;
      }
      xs.push_back(x);
    }
  };
  auto get_range = [&](const char* name, range& r) {
    std::vector<int64_t> xs;
    get_list(name, xs);
    if (!err.empty() || d.FindMember(name) == d.MemberEnd()
        || d[name].IsNull())
      return;
    if (xs.size() != 2) {
      err = std::string{"invalid "} + name + " (need [min, max])";
      return;
    }
    r.on = true;
    r.lo = xs[0];
    r.hi = xs[1] < 0 ? INT64_MAX : xs[1];
  };
  int64_t x = 0;
  get_int("domainId", out.domain, true);
  if (err.empty() && !(out.domain >= 1 && out.domain <= 12
                       && out.domain != 7))
    err = "invalid domainId";
  std::vector<int64_t> types;
  get_list("priceTypes", types);
  if (err.empty()) {
    static const int allowed[] = {0,  1,  2,  3,  5,  6,  7,  8, 9,
                                  10, 18, 19, 20, 21, 22, 32, 33};
    if (types.size() != 1
        || std::find(std::begin(allowed), std::end(allowed), types[0])
             == std::end(allowed))
      err = "priceTypes must hold exactly one deal price type";
    else
      out.price_type = static_cast<int>(types[0]);
  }
  if (get_int("page", x, false)) {
    if (x < 0)
      err = "invalid page";
    out.page = x;
  }
  if (get_int("dateRange", x, false)) {
    // dateRange 4 is undocumented (the seeds called it "all combined");
    // it is accepted and reads the widest range, 90 days.
    if (x < 0 || x > 4)
      err = "invalid dateRange";
    out.date_range = static_cast<int>(std::min<int64_t>(x, 3));
  }
  if (get_int("sortType", x, false)) {
    if (x < -4 || x > 4)
      err = "invalid sortType";
    // sortType 1 (deal age) is not invertible.
    out.sort_type = static_cast<int>(x == -1 ? 1 : x);
  }
  get_bool("isFilterEnabled", out.filter_enabled);
  get_bool("isRangeEnabled", out.range_enabled);
  get_list("includeCategories", out.include);
  get_list("excludeCategories", out.exclude);
  if (out.include.size() > 500 || out.exclude.size() > 500)
    err = "at most 500 categories";
  get_range("currentRange", out.current);
  get_range("deltaRange", out.delta);
  get_range("deltaPercentRange", out.delta_percent);
  get_range("deltaLastRange", out.delta_last);
  get_range("salesRankRange", out.sales_rank);
  // Keepa's minimum percentage change is 10 (80 for sales rank).
  if (out.delta_percent.on)
    out.delta_percent.lo = std::max<int64_t>(out.delta_percent.lo,
                                             out.price_type == 3 ? 80 : 10);
  if (get_int("minRating", x, false)) {
    if (x < -1 || x > 50)
      err = "invalid minRating";
    out.min_rating = x;
  }
  get_bool("hasReviews", out.has_reviews);
  get_bool("mustHaveAmazonOffer", out.must_have_amazon);
  get_bool("mustNotHaveAmazonOffer", out.must_not_have_amazon);
  bool ignored = false;
  for (auto name : accepted) {
    auto i = d.FindMember(name);
    if (i != d.MemberEnd() && i->value.IsBool())
      get_bool(name, ignored);
  }
  if (auto i = d.FindMember("titleSearch"); i != d.MemberEnd()
                                            && !i->value.IsNull()) {
    if (!i->value.IsString()) {
      err = "invalid titleSearch";
    } else {
      std::string word;
      for (auto c : std::string{i->value.GetString()} + " ") {
        if (std::isspace(static_cast<unsigned char>(c))) {
          if (!word.empty())
            out.title_words.push_back(word);
          word.clear();
        } else {
          word.push_back(static_cast<char>(
            std::tolower(static_cast<unsigned char>(c))));
        }
      }
      if (out.title_words.size() > 50)
        err = "titleSearch: at most 50 keywords";
    }
  }
  if (!err.empty())
    return err;
  d.RemoveMember("page");
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  d.Accept(w);
  cache_key = buf.GetString();
  return {};
}

// -- the feed -----------------------------------------------------------------

deal_row make_row(const catalogue& cat, int index, int32_t now) {
  auto& b = cat.books[static_cast<size_t>(index)];
  deal_row r;
  r.index = index;
  r.last_update = b.last_update;
  r.creation = b.creation;
  r.rating = last_value(b.csv[16], 2);
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
  for (int t : {0, 1, 2, 3, 11, 12}) {
    auto& h = b.csv[static_cast<size_t>(t)];
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
        r.delta_percent[k][t] = static_cast<int32_t>(
          (static_cast<int64_t>(avg - cur) * 100) / avg);
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

result_set compute(const catalogue& cat, const selection& sel,
                   int32_t now_rel, row_cache* rows) {
  result_set out;
  if (sel.domain != 1)
    return out;
  auto pt = sel.price_type;
  auto dr = sel.date_range;
  // Only products updated within the last 12 hours (and not after now).
  std::vector<int> window;
  cat.updated_since(now_rel - 12 * 60, [&](int i) {
    if (cat.books[static_cast<size_t>(i)].last_update <= now_rel)
      window.push_back(i);
  });
  row_cache scratch;
  auto& cache = rows != nullptr ? *rows : scratch;
  // Drop the rows of books that left the window (the rows of books that
  // changed since are replaced below).
  cache.drop_before(now_rel - 12 * 60);
  for (auto i : window) {
    auto& b = cat.books[static_cast<size_t>(i)];
    auto& ptr = cache.get(cat, i);
    auto& row = *ptr;
    if (row.current[pt] < 0)
      continue;
    if (sel.range_enabled) {
      if (!sel.current.contains(row.current[pt])
          || !sel.delta.contains(row.delta[dr][pt])
          || !sel.delta_percent.contains(row.delta_percent[dr][pt])
          // deltaLastRange matches the decrease (DOC: [100,500] = a $1-$5
          // drop), i.e. -deltaLast.
          || !sel.delta_last.contains(-int64_t{row.delta_last[pt]}))
        continue;
      if (sel.sales_rank.on
          && (row.current[3] < 0 || !sel.sales_rank.contains(row.current[3])))
        continue;
    }
    if (sel.filter_enabled) {
      if (sel.min_rating >= 0 && row.rating < sel.min_rating)
        continue;
      if (sel.has_reviews && last_value(b.csv[17], 2) <= 0)
        continue;
      if (sel.must_have_amazon && row.current[0] < 0)
        continue;
      if (sel.must_not_have_amazon && row.current[0] >= 0)
        continue;
      if (!sel.title_words.empty()) {
        std::string title;
        for (auto c : b.title)
          title.push_back(static_cast<char>(
            std::tolower(static_cast<unsigned char>(c))));
        bool all = true;
        for (auto& word : sel.title_words)
          all = all && title.find(word) != std::string::npos;
        if (!all)
          continue;
      }
    }
    // Category counts ignore the category filters.
    out.categories[detail::books_category] += 1;
    if (sel.filter_enabled) {
      auto in = [&](const std::vector<int64_t>& xs) {
        return std::find(xs.begin(), xs.end(), detail::books_category)
                 != xs.end()
               || std::find(xs.begin(), xs.end(), b.sub_category) != xs.end();
      };
      if (!sel.include.empty() && !in(sel.include))
        continue;
      if (in(sel.exclude))
        continue;
    }
    out.rows.push_back(ptr);
  }
  auto asin = [&](const deal_row& r) -> const std::string& {
    return cat.books[static_cast<size_t>(r.index)].asin;
  };
  auto key = [&](const deal_row& r) -> int64_t {
    switch (std::abs(sel.sort_type)) {
      case 1:
        return r.last_update;
      case 2:
        return r.delta[dr][pt];
      case 3:
        // Lowest rank first; books without rank last.
        return r.current[3] < 0 ? INT64_MIN : -int64_t{r.current[3]};
      case 4:
        return r.delta_percent[dr][pt];
      default:
        // No defined order: scrambled, but stable for the seed.
        return static_cast<int64_t>(
          detail::rng::mix(cat.seed ^ std::hash<std::string>{}(asin(r)))
          >> 1);
    }
  };
  bool invert = sel.sort_type < -1;
  // Sort (key, ASIN, row) entries, not the rows: a row is a few KiB, and
  // ties would otherwise reach the ASIN through the row and its book.
  struct entry {
    int64_t key;
    const std::string* asin;
    size_t row;
  };
  std::vector<entry> order;
  order.reserve(out.rows.size());
  for (size_t i = 0; i < out.rows.size(); ++i)
    order.push_back({key(*out.rows[i]), &asin(*out.rows[i]), i});
  auto before = [&](const entry& x, const entry& y) {
    if (x.key != y.key)
      return invert ? x.key < y.key : x.key > y.key;
    return *x.asin < *y.asin;
  };
  auto n = std::min(order.size(), static_cast<size_t>(max_results));
  if (n == order.size())
    std::sort(order.begin(), order.end(), before);
  else
    std::partial_sort(order.begin(), order.begin() + static_cast<long>(n),
                      order.end(), before);
  std::vector<row_ptr> sorted;
  sorted.reserve(n);
  for (size_t i = 0; i < n; ++i)
    sorted.push_back(std::move(out.rows[order[i].row]));
  out.rows = std::move(sorted);
  return out;
}

const result_set& cache::get(const catalogue& cat, const std::string& key,
                             const selection& sel, int64_t now_ms,
                             int32_t now_rel, int64_t origin_km) {
  // A query's result set is cached for 120 s.
  for (auto i = sets_.begin(); i != sets_.end();)
    if (now_ms - i->second.computed_ms >= 120000)
      i = sets_.erase(i);
    else
      ++i;
  auto i = sets_.find(key);
  if (i != sets_.end())
    return i->second;
  auto set = compute(cat, sel, now_rel, &rows_);
  set.computed_ms = now_ms;
  set.origin_km = origin_km;
  return sets_.emplace(key, std::move(set)).first->second;
}

namespace {

/// Writes one deal object of a page.
void write_deal(json::writer& w, const catalogue& cat, const deal_row& r,
                int64_t origin_km) {
  auto km = [&](int64_t rel) { return origin_km + rel; };
  auto& b = cat.books[static_cast<size_t>(r.index)];
  auto n_out = types_sent(r.index);
  auto arr = [&](const std::array<int32_t, n_types>& xs, bool times) {
    w.begin_array();
    for (int t = 0; t < n_out; ++t)
      w.num(times && xs[t] >= 0 ? km(xs[t]) : xs[t]);
    w.end_array();
  };
  auto arr2 = [&](const std::array<std::array<int32_t, n_types>, n_ranges>&
                    xs) {
    w.begin_array();
    for (auto& row : xs)
      arr(row, false);
    w.end_array();
  };
  w.begin_object();
  w.key("asin").str(b.asin);
  w.key("parentAsin").null();
  w.key("title").str(b.title);
  w.key("rootCat").num(detail::books_category);
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
    w.str(category_name(id));
  w.end_array();
  w.key("categoryCount").begin_array();
  for (auto& [id, n] : set.categories)
    w.num(n);
  w.end_array();
  w.end_object();
}

} // namespace keepa::sim::feed
