#include "actors/client/parse.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "messages/error.hpp"

namespace keepa {

namespace {

using value = rapidjson::Value;

/// Where parsing failed, for the error the caller sees.
struct malformed {
  std::string what;
};

const value* member(const value& obj, const char* name) {
  if (!obj.IsObject())
    return nullptr;
  auto i = obj.FindMember(name);
  return i == obj.MemberEnd() ? nullptr : &i->value;
}

/// Any JSON number as int64 (fractions rounded, as Keepa's integer fields
/// must be tolerated as doubles); `fallback` for null, absent or other.
int64_t i64(const value* v, int64_t fallback) {
  if (v == nullptr)
    return fallback;
  if (v->IsInt64())
    return v->GetInt64();
  if (v->IsUint64())
    return std::numeric_limits<int64_t>::max();
  if (v->IsDouble()) {
    auto d = v->GetDouble();
    if (!std::isfinite(d))
      return fallback;
    if (d >= 9.2e18)
      return std::numeric_limits<int64_t>::max();
    if (d <= -9.2e18)
      return std::numeric_limits<int64_t>::min();
    return std::llround(d);
  }
  return fallback;
}

template<class T>
T narrow(int64_t x);

int32_t i32(const value* v, int32_t fallback) {
  return narrow<int32_t>(i64(v, fallback));
}

double dbl(const value* v, double fallback) {
  return v != nullptr && v->IsNumber() ? v->GetDouble() : fallback;
}

bool boolean(const value* v, bool fallback) {
  return v != nullptr && v->IsBool() ? v->GetBool() : fallback;
}

std::string str(const value* v) {
  if (v == nullptr || !v->IsString())
    return {};
  return std::string{v->GetString(), v->GetStringLength()};
}

/// Clamps to T's range (int32 fields must not wrap).
template<class T>
T narrow(int64_t x) {
  if (x > std::numeric_limits<T>::max())
    return std::numeric_limits<T>::max();
  if (x < std::numeric_limits<T>::min())
    return std::numeric_limits<T>::min();
  return static_cast<T>(x);
}

/// An array of numbers; null entries become `null_value`. Absent or null
/// arrays are empty; anything else is malformed.
template<class T>
void numbers(const value* v, std::vector<T>& out, const char* name,
             T null_value = -1) {
  out.clear();
  if (v == nullptr || v->IsNull())
    return;
  if (!v->IsArray())
    throw malformed{std::string{name} + " is not an array"};
  out.reserve(v->Size());
  for (auto& x : v->GetArray()) {
    if (x.IsInt64()) // the usual case first; i64() would say the same
      out.push_back(narrow<T>(x.GetInt64()));
    else if (x.IsNull())
      out.push_back(null_value);
    else if (x.IsNumber())
      out.push_back(narrow<T>(i64(&x, null_value)));
    else
      throw malformed{std::string{name} + " holds a non-number"};
  }
}

/// An array of nullable number arrays (csv, 2-D deal arrays).
void nested(const value* v, std::vector<std::vector<int32_t>>& out,
            const char* name) {
  out.clear();
  if (v == nullptr || v->IsNull())
    return;
  if (!v->IsArray())
    throw malformed{std::string{name} + " is not an array"};
  out.resize(v->Size());
  size_t i = 0;
  for (auto& x : v->GetArray())
    numbers<int32_t>(&x, out[i++], name);
}

/// `min`/`max` style arrays: entries null or [time, value]; keeps values.
void extremes(const value* v, std::vector<int32_t>& out, const char* name) {
  out.clear();
  if (v == nullptr || v->IsNull())
    return;
  if (!v->IsArray())
    throw malformed{std::string{name} + " is not an array"};
  out.reserve(v->Size());
  for (auto& x : v->GetArray()) {
    if (x.IsArray() && x.Size() >= 2)
      out.push_back(i32(&x[1], -1));
    else if (x.IsNull())
      out.push_back(-1);
    else
      throw malformed{std::string{name} + " entry is not [time, value]"};
  }
}

bool read_envelope(const value& doc, envelope& env, int32_t http_status) {
  env.http_status = http_status;
  if (auto* err = member(doc, "error"); err != nullptr && err->IsObject()) {
    env.error_type = str(member(*err, "type"));
    env.error_message = str(member(*err, "message"));
  }
  auto* ts = member(doc, "timestamp");
  auto* left = member(doc, "tokensLeft");
  if (ts == nullptr || !ts->IsNumber() || left == nullptr || !left->IsNumber())
    return false;
  env.timestamp_ms = i64(ts, 0);
  // tokensLeft is an integer in every official client; should a fraction
  // arrive, round down so the balance is never overstated.
  env.tokens_left = left->IsDouble() && std::isfinite(left->GetDouble())
    ? static_cast<int64_t>(std::floor(left->GetDouble()))
    : i64(left, 0);
  env.refill_in_ms = i64(member(doc, "refillIn"), 0);
  env.refill_rate = i64(member(doc, "refillRate"), 0);
  env.token_flow_reduction = dbl(member(doc, "tokenFlowReduction"), 0);
  env.tokens_consumed = i64(member(doc, "tokensConsumed"), 0);
  env.processing_time_ms = i64(member(doc, "processingTimeInMs"), 0);
  return env.timestamp_ms > 0;
}

void read_stats(const value& v, product_stats& st) {
  numbers<int32_t>(member(v, "current"), st.current, "stats.current");
  numbers<int32_t>(member(v, "avg"), st.avg, "stats.avg");
  numbers<int32_t>(member(v, "avg30"), st.avg30, "stats.avg30");
  numbers<int32_t>(member(v, "avg90"), st.avg90, "stats.avg90");
  numbers<int32_t>(member(v, "avg180"), st.avg180, "stats.avg180");
  numbers<int32_t>(member(v, "avg365"), st.avg365, "stats.avg365");
  extremes(member(v, "min"), st.min, "stats.min");
  extremes(member(v, "max"), st.max, "stats.max");
  st.sales_rank_drops30 = i32(member(v, "salesRankDrops30"), -1);
  st.sales_rank_drops90 = i32(member(v, "salesRankDrops90"), -1);
  st.sales_rank_drops180 = i32(member(v, "salesRankDrops180"), -1);
  st.sales_rank_drops365 = i32(member(v, "salesRankDrops365"), -1);
  st.total_offer_count = i32(member(v, "totalOfferCount"), -2);
  st.offer_count_fba = i32(member(v, "offerCountFBA"), -2);
  st.offer_count_fbm = i32(member(v, "offerCountFBM"), -2);
  st.retrieved_offer_count = i32(member(v, "retrievedOfferCount"), -2);
  st.buy_box_price = i32(member(v, "buyBoxPrice"), -2);
  st.buy_box_used_price = i32(member(v, "buyBoxUsedPrice"), -2);
}

/// Summarizes the live offers (liveOffersOrder indexes `offers`).
void read_offers(const value& offers, const value* order, offer_summary& sum) {
  if (!offers.IsArray())
    throw malformed{"offers is not an array"};
  sum.lowest_by_condition.assign(11, -1);
  if (order == nullptr || order->IsNull())
    return;
  if (!order->IsArray())
    throw malformed{"liveOffersOrder is not an array"};
  for (auto& idx : order->GetArray()) {
    auto i = i64(&idx, -1);
    if (i < 0 || static_cast<size_t>(i) >= offers.Size())
      throw malformed{"liveOffersOrder points outside offers"};
    auto& o = offers[static_cast<rapidjson::SizeType>(i)];
    if (!o.IsObject())
      throw malformed{"offer is not an object"};
    ++sum.live;
    auto cond = i32(member(o, "condition"), 0);
    if (cond == 1)
      ++sum.new_;
    else if (cond >= 2 && cond <= 5)
      ++sum.used;
    if (boolean(member(o, "isFBA"), false))
      ++sum.fba;
    auto* csv = member(o, "offerCSV");
    if (csv == nullptr || !csv->IsArray() || csv->Size() < 3)
      continue;
    auto n = csv->Size();
    auto price = i32(&(*csv)[n - 2], -1);
    auto ship = i32(&(*csv)[n - 1], -1);
    if (price < 0 || cond < 0 || cond > 10)
      continue;
    auto landing = price + std::max(ship, 0);
    auto& lowest = sum.lowest_by_condition[static_cast<size_t>(cond)];
    if (lowest < 0 || landing < lowest)
      lowest = landing;
  }
}

void read_product(const value& v, product& p) {
  if (!v.IsObject())
    throw malformed{"product is not an object"};
  auto* asin = member(v, "asin");
  if (asin == nullptr || !asin->IsString())
    throw malformed{"product without asin"};
  p.asin = str(asin);
  p.title = str(member(v, "title"));
  p.domain_id = i32(member(v, "domainId"), 1);
  p.product_type = i32(member(v, "productType"), 0);
  p.root_category = i64(member(v, "rootCategory"), 0);
  numbers<int64_t>(member(v, "categories"), p.categories, "categories");
  p.last_update = i32(member(v, "lastUpdate"), 0);
  p.last_price_change = i32(member(v, "lastPriceChange"), 0);
  nested(member(v, "csv"), p.csv, "csv");
  if (auto* st = member(v, "stats"); st != nullptr && !st->IsNull()) {
    if (!st->IsObject())
      throw malformed{"stats is not an object"};
    p.has_stats = true;
    read_stats(*st, p.stats);
  }
  if (auto* offers = member(v, "offers");
      offers != nullptr && !offers->IsNull()) {
    p.has_offers = true;
    read_offers(*offers, member(v, "liveOffersOrder"), p.offers);
  }
  p.offers_successful = boolean(member(v, "offersSuccessful"), false);
  if (auto* fees = member(v, "fbaFees"); fees != nullptr && fees->IsObject())
    p.fba_pick_pack_fee = i32(member(*fees, "pickAndPackFee"), -1);
  p.referral_fee_percentage = dbl(member(v, "referralFeePercentage"), -1);
  p.monthly_sold = i32(member(v, "monthlySold"), -1);
}

void read_deal(const value& v, deal& d) {
  if (!v.IsObject())
    throw malformed{"deal is not an object"};
  auto* asin = member(v, "asin");
  if (asin == nullptr || !asin->IsString())
    throw malformed{"deal without asin"};
  d.asin = str(asin);
  d.title = str(member(v, "title"));
  d.root_category = i64(member(v, "rootCat"), 0);
  numbers<int64_t>(member(v, "categories"), d.categories, "categories");
  d.creation_date = i32(member(v, "creationDate"), 0);
  d.last_update = i32(member(v, "lastUpdate"), 0);
  numbers<int32_t>(member(v, "current"), d.current, "current");
  nested(member(v, "avg"), d.avg, "avg");
  nested(member(v, "delta"), d.delta, "delta");
  nested(member(v, "deltaPercent"), d.delta_percent, "deltaPercent");
  numbers<int32_t>(member(v, "deltaLast"), d.delta_last, "deltaLast");
}

/// The last value of a flat [t, v, t, v, ...] csv history, or -1.
int32_t last_value(const value* csv) {
  if (csv == nullptr || !csv->IsArray() || csv->Size() < 2)
    return -1;
  return i32(&(*csv)[csv->Size() - 1], -1);
}

void read_seller(const value& v, seller& s) {
  if (!v.IsObject())
    throw malformed{"seller is not an object"};
  s.seller_id = str(member(v, "sellerId"));
  s.name = str(member(v, "sellerName"));
  s.domain_id = i32(member(v, "domainId"), 1);
  if (auto* csv = member(v, "csv"); csv != nullptr && csv->IsArray()) {
    if (csv->Size() > 0)
      s.rating = last_value(&(*csv)[0]);
    if (csv->Size() > 1)
      s.rating_count = last_value(&(*csv)[1]);
  }
  s.has_fba = boolean(member(v, "hasFBA"), false);
  s.ships_from_china = boolean(member(v, "shipsFromChina"), false);
  s.total_storefront_asins = last_value(member(v, "totalStorefrontAsins"));
}

/// The memory of a parse's document, kept per thread from one answer to
/// the next: a fresh document for every answer would allocate (and fault
/// in) megabytes of new pages each time. Nothing of the document outlives
/// the parse, since the answer is copied into our own structs.
class dom_arena {
public:
  dom_arena() {
    pool_.emplace(buffer().data(), buffer().size());
  }

  ~dom_arena() {
    auto used = pool_->Size();
    pool_.reset();
    // Grow for the next answer when this one did not fit (up to a cap, so
    // one huge answer does not pin its size forever).
    auto& buf = buffer();
    if (used > buf.size() && used <= max_size)
      buf.resize(used + used / 4);
  }

  dom_arena(const dom_arena&) = delete;
  dom_arena& operator=(const dom_arena&) = delete;

  rapidjson::MemoryPoolAllocator<>& pool() {
    return *pool_;
  }

private:
  static constexpr size_t max_size = size_t{64} << 20;

  static std::vector<char>& buffer() {
    thread_local std::vector<char> buf(size_t{1} << 20);
    return buf;
  }

  std::optional<rapidjson::MemoryPoolAllocator<>> pool_;
};

/// Parses `body` in place and runs `payload` on the document when the
/// answer is a 200; fills `out.page.env` (via `env_of`) in any case.
template<class Page, class EnvOf, class Payload>
parsed<Page>
parse(std::string& body, int32_t http_status, EnvOf env_of, Payload payload) {
  parsed<Page> out;
  dom_arena arena;
  rapidjson::Document doc{&arena.pool()};
  // Iterative: the nesting depth of a hostile answer costs heap, not stack
  // (the recursive parser overflowed the stack on 1 M levels).
  doc.ParseInsitu<rapidjson::kParseIterativeFlag>(&body[0]);
  if (doc.HasParseError() || !doc.IsObject()) {
    std::string what = doc.HasParseError()
      ? rapidjson::GetParseError_En(doc.GetParseError())
      : "the answer is not a JSON object";
    out.err = caf::make_error(ec::malformed_answer,
                              std::move(what) + " (offset "
                                + std::to_string(doc.GetErrorOffset()) + ")");
    return out;
  }
  out.envelope_ok = read_envelope(doc, env_of(out.page), http_status);
  if (http_status != 200)
    return out;
  if (!out.envelope_ok) {
    out.err = caf::make_error(ec::malformed_answer,
                              std::string{"no token fields in a 200 answer"});
    return out;
  }
  try {
    payload(doc, out.page);
  } catch (const malformed& x) {
    out.err = caf::make_error(ec::malformed_answer, x.what);
  }
  return out;
}

template<class Page>
envelope& env_member(Page& page) {
  return page.env;
}

} // namespace

parsed<envelope> parse_envelope(std::string& body, int32_t http_status) {
  return parse<envelope>(
    body, http_status, [](envelope& env) -> envelope& { return env; },
    [](const value&, envelope&) {});
}

parsed<product_page> parse_product_page(std::string& body,
                                        int32_t http_status) {
  return parse<product_page>(body, http_status, env_member<product_page>,
                             [](const value& doc, product_page& page) {
                               auto* products = member(doc, "products");
                               if (products == nullptr || !products->IsArray())
                                 throw malformed{"no products array"};
                               page.products.resize(products->Size());
                               size_t i = 0;
                               for (auto& p : products->GetArray())
                                 read_product(p, page.products[i++]);
                             });
}

parsed<deal_page> parse_deal_page(std::string& body, int32_t http_status) {
  return parse<deal_page>(body, http_status, env_member<deal_page>,
                          [](const value& doc, deal_page& page) {
                            auto* deals = member(doc, "deals");
                            if (deals == nullptr || !deals->IsObject())
                              throw malformed{"no deals object"};
                            auto* dr = member(*deals, "dr");
                            if (dr == nullptr || !dr->IsArray())
                              throw malformed{"no deals.dr array"};
                            page.deals.resize(dr->Size());
                            size_t i = 0;
                            for (auto& d : dr->GetArray())
                              read_deal(d, page.deals[i++]);
                          });
}

parsed<seller_page> parse_seller_page(std::string& body, int32_t http_status) {
  return parse<seller_page>(body, http_status, env_member<seller_page>,
                            [](const value& doc, seller_page& page) {
                              auto* sellers = member(doc, "sellers");
                              if (sellers == nullptr || sellers->IsNull())
                                return; // nothing found
                              if (!sellers->IsObject())
                                throw malformed{"sellers is not an object"};
                              for (auto& kvp : sellers->GetObject()) {
                                page.sellers.emplace_back();
                                read_seller(kvp.value, page.sellers.back());
                                if (page.sellers.back().seller_id.empty())
                                  page.sellers.back().seller_id
                                    = kvp.name.GetString();
                              }
                            });
}

} // namespace keepa
