// keepa-sim's product and seller objects. A product is written in the
// order Keepa sends it: the header fields, the csv histories, the stats,
// then the offers.

#include "tools/keepa-sim/product_json.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <vector>

namespace keepa::sim::objects {

using detail::book;
using detail::catalogue;
using detail::day_min;
using detail::flat_histories;
using detail::last_value;
using detail::n_types;
using detail::stride_of;
using detail::window_avg;

namespace {

// -- histories ----------------------------------------------------------------

/// Factors of the used-condition types 19..22 over the lowest used price.
double condition_factor(int type) {
  switch (type) {
    case 19: return 1.2;
    case 20: return 1.1;
    case 21: return 1.04;
    default: return 1.0;
  }
}

/// The history of a used-condition type (19..22) as sent: USED with the
/// condition's factor and shipping, stride 3.
void derived_series(const std::vector<int32_t>& used, int type,
                    std::vector<int32_t>& out) {
  out.clear();
  out.reserve(used.size() / 2 * 3);
  for (size_t i = 0; i + 1 < used.size(); i += 2) {
    out.push_back(used[i]);
    auto v = used[i + 1];
    out.push_back(
      v < 0 ? -1 : static_cast<int32_t>(v * condition_factor(type) + 0.5));
    out.push_back(v < 0 ? -1 : 399);
  }
}

bool visible(int type, const product_view& v) {
  switch (type) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 11:
    case 12: return true;
    case 16:
    case 17: return v.rating || v.offers > 0;
    case 19:
    case 20:
    case 21:
    case 22: return v.offers > 0;
    default: return false;
  }
}

/// The histories of one product as sent: the book's own, or derived for
/// the used-condition types 19..22; none where the request hides a type.
class sent_histories {
public:
  sent_histories(const book& b, const product_view& v) {
    // USED and SALES are always sent; the types 19..22 derive from USED.
    b.csv.get(2, of_[2]);
    b.csv.get(3, of_[3]);
    for (int t = 0; t < n_types; ++t) {
      auto& h = of_[static_cast<size_t>(t)];
      sent_[static_cast<size_t>(t)] = visible(t, v);
      if (!sent_[static_cast<size_t>(t)] || t == 2 || t == 3)
        continue;
      if (t >= 19 && t <= 22)
        derived_series(of_[2], t, h);
      else
        b.csv.get(t, h);
    }
  }

  /// Whether type `t` is sent and holds data.
  bool has(int t) const {
    return sent_[static_cast<size_t>(t)]
      && !of_[static_cast<size_t>(t)].empty();
  }

  /// The history of type `t`; empty unless has(t), USED and SALES always.
  const std::vector<int32_t>& operator[](int t) const {
    return of_[static_cast<size_t>(t)];
  }

private:
  std::array<bool, n_types> sent_{};
  flat_histories of_;
};

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

/// Writes `csv` (one entry per type sent) and `salesRanks`.
void write_histories(json::writer& w, const sent_histories& sent, int n_out,
                     const product_view& v) {
  int32_t from = v.days > 0 ? v.now_rel - v.days * day_min : INT32_MIN;
  w.key("csv").begin_array();
  for (int t = 0; t < n_out; ++t) {
    if (!sent.has(t))
      w.null();
    else
      write_history(w, sent[t], stride_of(t), v.origin_km, from);
  }
  w.end_array();
  w.key("salesRanks").begin_object();
  w.key(std::to_string(v.root));
  write_history(w, sent[3], 2, v.origin_km, from);
  w.end_object();
}

// -- stats --------------------------------------------------------------------

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

/// Per type sent, the averages (30, 90, 180 and 365 days, the interval)
/// and the extremes: one pass for the averages ending now (plus the
/// interval's when it ends elsewhere) and one for the extremes.
struct type_stats {
  std::array<std::array<int32_t, 5>, n_types> avgs;
  std::array<extremes, n_types> ext;

  type_stats(const sent_histories& sent, int n_out, const product_view& v) {
    auto now = v.now_rel;
    const int32_t window_from[] = {now - 30 * day_min, now - 90 * day_min,
                                   now - 180 * day_min, now - 365 * day_min,
                                   v.stats_from};
    auto n_now = v.stats_to == now ? 5 : 4;
    for (int t = 0; t < n_out; ++t) {
      avgs[t].fill(-1);
      if (!sent.has(t))
        continue;
      auto& h = sent[t];
      auto stride = stride_of(t);
      detail::window_avgs(h, stride, now, window_from, avgs[t].data(), n_now);
      if (n_now == 4)
        avgs[t][4] = window_avg(h, stride, v.stats_from, v.stats_to);
      ext[t].scan(h, stride, v.stats_from, v.stats_to);
    }
  }
};

/// Writes the per-type arrays of `stats`: current, the averages, the value
/// at the interval's start and the extremes.
void write_stat_arrays(json::writer& w, const sent_histories& sent, int n_out,
                       const product_view& v) {
  type_stats s{sent, n_out, v};
  auto arr = [&](const char* name, auto f) {
    w.key(name).begin_array();
    for (int t = 0; t < n_out; ++t)
      f(t);
    w.end_array();
  };
  arr("current", [&](int t) {
    w.num(sent.has(t) ? last_value(sent[t], stride_of(t)) : -1);
  });
  auto avg_over = [&](const char* name, size_t k) {
    arr(name, [&](int t) { w.num(s.avgs[t][k]); });
  };
  avg_over("avg", 4);
  avg_over("avg30", 0);
  avg_over("avg90", 1);
  avg_over("avg180", 2);
  avg_over("avg365", 3);
  arr("atIntervalStart", [&](int t) {
    w.num(sent.has(t) ? value_at(sent[t], stride_of(t), v.stats_from) : -1);
  });
  auto extreme_arr = [&](const char* name, extreme extremes::*which) {
    arr(name, [&](int t) {
      if (!sent.has(t))
        w.null();
      else
        write_extreme(w, s.ext[t].*which, v.origin_km);
    });
  };
  extreme_arr("min", &extremes::min);
  extreme_arr("max", &extremes::max);
  extreme_arr("minInInterval", &extremes::min_in);
  extreme_arr("maxInInterval", &extremes::max_in);
}

/// Writes salesRankDrops30 .. salesRankDrops365 from the SALES history.
void write_rank_drops(json::writer& w, const std::vector<int32_t>& rank,
                      int32_t now) {
  w.key("salesRankDrops30")
    .num(detail::rank_drops(rank, now - 30 * day_min, now));
  w.key("salesRankDrops90")
    .num(detail::rank_drops(rank, now - 90 * day_min, now));
  w.key("salesRankDrops180")
    .num(detail::rank_drops(rank, now - 180 * day_min, now));
  w.key("salesRankDrops365")
    .num(detail::rank_drops(rank, now - 365 * day_min, now));
}

/// Writes the offer counts and buy boxes of `stats` from the live offers
/// found (cheapest first).
void write_offer_stats(json::writer& w, const book& b,
                       const std::vector<detail::offer>& offers,
                       int64_t now_km) {
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
  auto found = static_cast<int64_t>(offers.size());
  w.key("totalOfferCount")
    .num(static_cast<int64_t>(b.n_used_offers + b.n_new_offers));
  w.key("retrievedOfferCount").num(found);
  w.key("offerCountFBA").num(fba);
  w.key("offerCountFBM").num(found - fba);
  w.key("lastOffersUpdate").num(now_km);
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
}

/// Writes the `stats` object.
void write_stats(json::writer& w, const book& b, const sent_histories& sent,
                 int n_out, const product_view& v,
                 const std::vector<detail::offer>& offers) {
  w.key("stats").begin_object();
  write_stat_arrays(w, sent, n_out, v);
  write_rank_drops(w, sent[3], v.now_rel);
  if (v.offers > 0) {
    write_offer_stats(w, b, offers, v.origin_km + v.now_rel);
  } else {
    // Without offers Keepa marks the offer fields as not collected (-2).
    for (auto name : {"totalOfferCount", "retrievedOfferCount", "offerCountFBA",
                      "offerCountFBM", "buyBoxPrice", "buyBoxShipping",
                      "buyBoxUsedPrice", "buyBoxUsedShipping"})
      w.key(name).num(-2);
  }
  w.end_object();
}

// -- offers -------------------------------------------------------------------

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
    w.key("stockCSV")
      .begin_array()
      .num(seen_km)
      .num(1 + o.offer_id % 7)
      .end_array();
  w.end_object();
}

/// The live offers a /product request returns for book `index`, cheapest
/// first: up to `offers=N`, none when not asked or when the fetch failed.
std::vector<detail::offer> live_offers(const catalogue& cat, int index,
                                       const product_view& v, bool failed) {
  std::vector<detail::offer> offers;
  if (v.offers > 0 && !failed) {
    offers = cat.offers_of(index);
    auto found = std::min(static_cast<int>(offers.size()), v.offers);
    offers.resize(static_cast<size_t>(found));
  }
  return offers;
}

/// Writes `offers`, `liveOffersOrder` and `offersSuccessful`. Historical
/// offers come first, so only liveOffersOrder finds the live ones (they
/// are dropped with only-live-offers=1).
void write_offers(json::writer& w, const catalogue& cat, int index,
                  const product_view& v,
                  const std::vector<detail::offer>& offers, bool failed) {
  auto& b = cat.books[static_cast<size_t>(index)];
  auto km = [&](int64_t rel) { return v.origin_km + rel; };
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
      auto seen = v.now_rel - static_cast<int32_t>(r.range(3, 200)) * day_min;
      write_offer(w, o, km(seen), km(seen - 5 * day_min), false);
    }
  }
  for (auto& o : offers)
    write_offer(w, o, km(v.now_rel), km(b.last_price_change), v.stock);
  w.end_array();
  w.key("liveOffersOrder").begin_array();
  for (size_t i = 0; i < offers.size(); ++i)
    w.num(historical + static_cast<int64_t>(i));
  w.end_array();
  w.key("offersSuccessful").boolean(!failed);
}

// -- the product --------------------------------------------------------------

/// Writes the fields before the histories: identity, categories, dates,
/// fees.
void write_header(json::writer& w, const book& b, int index,
                  const product_view& v) {
  auto km = [&](int64_t rel) { return v.origin_km + rel; };
  w.key("productType").num(0);
  w.key("title").str(b.title);
  w.key("rootCategory").num(v.root);
  w.key("categories").begin_array().num(b.sub_category).end_array();
  w.key("categoryTree").begin_array();
  for (auto c : {v.root, b.sub_category}) {
    w.begin_object().key("catId").num(c).key("name");
    w.str(detail::category_name(c)).end_object();
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
  w.key("availabilityAmazon").num(b.csv.last_value(0) >= 0 ? 0 : -1);
  w.key("salesRankReference").num(v.root);
  w.key("packageWeight").num(200 + index % 900);
  w.key("fbaFees").begin_object().key("pickAndPackFee").num(b.pick_pack);
  w.end_object();
  w.key("referralFeePercent").num(b.referral_pct);
  w.key("referralFeePercentage").dbl(b.referral_pct);
}

} // namespace

void write_product(json::writer& w, const catalogue& cat, int index,
                   const std::string& asin, int domain, const product_view& v,
                   bool offers_failed) {
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
  write_header(w, b, index, v);
  sent_histories sent{b, v};
  auto n_out = detail::types_sent(index);
  if (v.history)
    write_histories(w, sent, n_out, v);
  auto offers = live_offers(cat, index, v, offers_failed);
  if (v.stats)
    write_stats(w, b, sent, n_out, v, offers);
  if (v.offers > 0)
    write_offers(w, cat, index, v, offers, offers_failed);
  w.end_object();
}

// -- sellers ------------------------------------------------------------------

void write_seller(json::writer& w, const catalogue& cat, int index, int domain,
                  bool storefront, int32_t now_rel, int64_t origin_km) {
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

} // namespace keepa::sim::objects
