#include "actors/client/parse.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <rapidjson/document.h>
#include <rapidjson/encodings.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include "messages/asin.hpp"
#include "messages/error.hpp"

namespace keepa {

namespace {

using value = rapidjson::Value;

/// Where parsing failed, for the error the caller sees.
struct malformed {
  std::string what;
};

/// The row of a deal's `avg` the stages keep (day, week, month, 90 days).
constexpr size_t ninety_days = 3;

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

/// A string member that must be UTF-8 (titles): anything else is dropped
/// and counted, the item kept.
std::string utf8(const value* v, size_t& dropped) {
  auto x = str(v);
  if (std::all_of(x.begin(), x.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0x80) == 0;
      }))
    return x;
  // Validate reads up to 3 bytes past a truncated sequence: pad.
  std::string padded = x + std::string(4, '\0');
  rapidjson::StringStream in{padded.c_str()};
  struct sink {
    void Put(char) {}
  } out;
  while (in.Tell() < x.size())
    if (!rapidjson::UTF8<>::Validate(in, out)) {
      ++dropped;
      return {};
    }
  return x;
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

/// `v` if it is an array, nullptr if it is absent or null; anything else
/// is malformed.
const value* array_or_none(const value* v, const char* name) {
  if (v == nullptr || v->IsNull())
    return nullptr;
  if (!v->IsArray())
    throw malformed{std::string{name} + " is not an array"};
  return v;
}

/// Calls `f` with each entry of an array of numbers or nulls. Absent or
/// null arrays have none; anything else is malformed.
template<class F>
void each_number(const value* v, const char* name, F f) {
  auto* xs = array_or_none(v, name);
  if (xs == nullptr)
    return;
  for (auto& x : xs->GetArray()) {
    if (!x.IsNumber() && !x.IsNull())
      throw malformed{std::string{name} + " holds a non-number"};
    f(x);
  }
}

/// An array of numbers; null entries become `null_value`. Absent or null
/// arrays are empty; anything else is malformed.
template<class T>
void numbers(const value* v, std::vector<T>& out, const char* name,
             T null_value = -1) {
  out.clear();
  if (v != nullptr && v->IsArray())
    out.reserve(v->Size());
  each_number(v, name, [&](const value& x) {
    if (x.IsInt64()) // the usual case first; i64() would say the same
      out.push_back(narrow<T>(x.GetInt64()));
    else if (x.IsNull())
      out.push_back(null_value);
    else
      out.push_back(narrow<T>(i64(&x, null_value)));
  });
}

/// Checks the shape of an array of numbers the stages do not read: a
/// malformed one still leaves its item out.
void check_numbers(const value* v, const char* name) {
  each_number(v, name, [](const value&) {});
}

/// Calls `f(index, row)` for each row of an array of nullable number arrays
/// (csv, 2-D deal arrays); absent or null arrays have none.
template<class F>
void each_row(const value* v, const char* name, F f) {
  auto* rows = array_or_none(v, name);
  if (rows == nullptr)
    return;
  size_t i = 0;
  for (auto& x : rows->GetArray())
    f(i++, x);
}

/// Checks the shape of a 2-D array the stages do not read.
void check_nested(const value* v, const char* name) {
  each_row(v, name,
           [name](size_t, const value& x) { check_numbers(&x, name); });
}

/// `min`/`max` style arrays: entries null or [time, value]; keeps values.
void extremes(const value* v, std::vector<int32_t>& out, const char* name) {
  out.clear();
  auto* xs = array_or_none(v, name);
  if (xs == nullptr)
    return;
  out.reserve(xs->Size());
  for (auto& x : xs->GetArray()) {
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

/// Reads `stats` (keep shape_of's list of its fields in step).
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

/// What every item needs: an ASIN we can key by.
std::string item_asin(const value& v, const char* what) {
  if (!v.IsObject())
    throw malformed{std::string{what} + " is not an object"};
  auto* asin = member(v, "asin");
  if (asin == nullptr || !asin->IsString())
    throw malformed{std::string{what} + " without asin"};
  auto x = str(asin);
  if (!valid_asin(x))
    throw malformed{std::string{what} + " with ASIN \"" + printable_asin(x)
                    + "\" (not 1 to 32 letters and digits)"};
  return x;
}

void read_product(const value& v, product& p, size_t& titles_dropped) {
  p.asin = item_asin(v, "product");
  p.title = utf8(member(v, "title"), titles_dropped);
  p.domain_id = i32(member(v, "domainId"), 1);
  p.product_type = i32(member(v, "productType"), 0);
  p.root_category = i64(member(v, "rootCategory"), 0);
  numbers<int64_t>(member(v, "categories"), p.categories, "categories");
  p.last_update = i32(member(v, "lastUpdate"), 0);
  p.last_price_change = i32(member(v, "lastPriceChange"), 0);
  // Histories are read for their shape only: no stage uses them.
  check_nested(member(v, "csv"), "csv");
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

void read_deal(const value& v, deal& d, size_t& titles_dropped,
               int32_t max_last_update) {
  d.asin = item_asin(v, "deal");
  d.title = utf8(member(v, "title"), titles_dropped);
  d.last_update = i32(member(v, "lastUpdate"), 0);
  // The watermark follows lastUpdate: one from the future would stop the
  // feed for good.
  if (d.last_update > max_last_update)
    throw malformed{
      "deal " + d.asin + ": lastUpdate " + std::to_string(d.last_update)
      + " lies in the future (Keepa minutes; local clock "
      + "plus tolerance: " + std::to_string(max_last_update) + ")"};
  numbers<int32_t>(member(v, "current"), d.current, "current");
  // The rest is read for its shape only (an item with a malformed field is
  // left out); of `avg` the stages keep the 90-day row.
  d.avg90.clear();
  each_row(member(v, "avg"), "avg", [&d](size_t i, const value& row) {
    if (i == ninety_days)
      numbers<int32_t>(&row, d.avg90, "avg");
    else
      check_numbers(&row, "avg");
  });
  check_numbers(member(v, "categories"), "categories");
  check_nested(member(v, "delta"), "delta");
  check_nested(member(v, "deltaPercent"), "deltaPercent");
  check_numbers(member(v, "deltaLast"), "deltaLast");
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

/// The memory of a parse's document: one buffer for the process, kept from
/// one answer to the next, since a fresh document for every answer would
/// allocate (and fault in) megabytes of new pages each time. Nothing of the
/// document outlives the parse, as the answer is copied into our own
/// structs. The KEEPA CLIENT parses one answer at a time, but on whichever
/// scheduler thread runs it: a buffer per thread held one deal page's
/// document (~2 MB) for each worker. A parse that finds the buffer in use
/// (several clients in one process) takes a pool of its own.
class dom_arena {
public:
  dom_arena() : lock_(mutex(), std::try_to_lock) {
    if (lock_.owns_lock())
      pool_.emplace(buffer().data(), buffer().size());
    else
      pool_.emplace();
  }

  ~dom_arena() {
    auto used = pool_->Size();
    pool_.reset();
    // Grow for the next answer when this one did not fit (up to a cap, so
    // one huge answer does not pin its size forever).
    auto& buf = buffer();
    if (lock_.owns_lock() && used > buf.size() && used <= max_size)
      buf.resize(used + used / 4);
  }

  dom_arena(const dom_arena&) = delete;
  dom_arena& operator=(const dom_arena&) = delete;

  rapidjson::MemoryPoolAllocator<>& pool() {
    return *pool_;
  }

private:
  static constexpr size_t max_size = size_t{64} << 20;

  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }

  static std::vector<char>& buffer() {
    // Never destroyed: a scheduler thread may still parse while static
    // objects are destroyed at exit.
    static auto* buf = new std::vector<char>(size_t{1} << 20);
    return *buf;
  }

  std::unique_lock<std::mutex> lock_;
  std::optional<rapidjson::MemoryPoolAllocator<>> pool_;
};

/// Keepa's answers nest about 6 levels deep; nothing we read is deeper.
constexpr size_t max_depth = 32;

/// Where an array sits in an answer, for its limit.
enum class place : uint8_t {
  other,
  root,
  deals, // root.deals
  deal_list, // root.deals.dr
  deal, // root.deals.dr[i]
  products, // root.products
  product, // root.products[i]
  stats, // root.products[i].stats
  offers, // root.products[i].offers
};

/// How a field of a deal or product enters the document. Fields the stages
/// read are built as they are; fields read for their shape only become a
/// stand-in of a few values that passes or fails the shape check as the
/// field would, so their thousands of numbers are never built; any other
/// field becomes null.
enum class shape : uint8_t {
  keep,
  ignore,
  numbers, // check_numbers: an array of numbers or nulls
  nested, // check_nested: an array of rows, each one of those
  avg, // nested, whose 90-day row read_deal keeps
};

/// Whether `key` (`len` bytes, not terminated) is one of `names`.
template<size_t... N>
bool is_one_of(const char* key, rapidjson::SizeType len,
               const char (&... names)[N]) {
  return ((len == N - 1 && std::memcmp(key, names, N - 1) == 0) || ...);
}

/// The fields read_deal, read_product and read_stats read as values (keep
/// this in step with them), and those they check for their shape only.
shape shape_of(place item, const char* key, rapidjson::SizeType len) {
  if (item == place::stats)
    return is_one_of(key, len, "current", "avg", "avg30", "avg90", "avg180",
                     "avg365", "min", "max", "salesRankDrops30",
                     "salesRankDrops90", "salesRankDrops180",
                     "salesRankDrops365", "totalOfferCount", "offerCountFBA",
                     "offerCountFBM", "retrievedOfferCount", "buyBoxPrice",
                     "buyBoxUsedPrice")
      ? shape::keep
      : shape::ignore;
  if (item == place::deal) {
    if (is_one_of(key, len, "asin", "title", "lastUpdate", "current"))
      return shape::keep;
    if (is_one_of(key, len, "avg"))
      return shape::avg;
    if (is_one_of(key, len, "categories", "deltaLast"))
      return shape::numbers;
    if (is_one_of(key, len, "delta", "deltaPercent"))
      return shape::nested;
    return shape::ignore;
  }
  if (is_one_of(key, len, "asin", "title", "domainId", "productType",
                "rootCategory", "categories", "lastUpdate", "lastPriceChange",
                "stats", "offers", "liveOffersOrder", "offersSuccessful",
                "fbaFees", "referralFeePercentage", "monthlySold"))
    return shape::keep;
  if (is_one_of(key, len, "csv"))
    return shape::nested;
  return shape::ignore;
}

/// RapidJSON SAX events on their way into the document, counted: an array
/// holding more items than the request can return, or nesting deeper than
/// max_depth, is refused at the first item too many, before it is built.
/// After a refusal the events are no longer built (the rest of the body is
/// only read, for the envelope's numbers at the root); the parse then ends
/// without a document.
class bounded_builder {
public:
  /// `max_values`: values in the whole answer; 0 = no limit.
  bounded_builder(rapidjson::Document& doc, const answer_limits& limits,
                  size_t max_values)
    : doc_(doc), limits_(limits), max_values_(max_values) {
    root_.SetObject();
    frames_.reserve(max_depth);
  }

  /// Why the answer was refused; empty if it was not.
  const std::string& refusal() const {
    return refusal_;
  }

  /// The numbers at the root of the answer (the envelope), read also after
  /// a refusal.
  const rapidjson::Document& root_numbers() const {
    return root_;
  }

  // -- RapidJSON's handler interface ----------------------------------------

  bool Null() {
    return scalar(kind::null, [&] { return doc_.Null(); });
  }
  bool Bool(bool x) {
    return scalar(kind::other, [&] { return doc_.Bool(x); });
  }
  bool Int(int x) {
    keep_root_number(x);
    return scalar(kind::number, [&] { return doc_.Int(x); });
  }
  bool Uint(unsigned x) {
    if (std::exchange(skimmed_, false))
      return true; // the stand-in skim() left for the field it read
    keep_root_number(x);
    return scalar(kind::number, [&] { return doc_.Uint(x); });
  }
  bool Int64(int64_t x) {
    keep_root_number(x);
    return scalar(kind::number, [&] { return doc_.Int64(x); });
  }
  bool Uint64(uint64_t x) {
    keep_root_number(x);
    return scalar(kind::number, [&] { return doc_.Uint64(x); });
  }
  bool Double(double x) {
    keep_root_number(x);
    return scalar(kind::number, [&] { return doc_.Double(x); });
  }
  bool RawNumber(const char* str, rapidjson::SizeType len, bool copy) {
    return scalar(kind::number, [&] { return doc_.RawNumber(str, len, copy); });
  }
  bool String(const char* str, rapidjson::SizeType len, bool copy) {
    return scalar(kind::other, [&] { return doc_.String(str, len, copy); });
  }
  bool Key(const char* str, rapidjson::SizeType len, bool copy) {
    if (!frames_.empty() && depth_ == frames_.size()) {
      frames_.back().key = str;
      frames_.back().key_len = len;
      auto where = frames_.back().where;
      if (prune_.what == shape::keep
          && (where == place::deal || where == place::product
              || where == place::stats))
        next_ = shape_of(where, str, len);
    }
    if (!refusal_.empty() || (prune_.what != shape::keep && !prune_.pass))
      return true;
    if (!doc_.Key(str, len, copy))
      return false;
    if (next_ != shape::keep && skim_)
      skim(str + len);
    return true;
  }
  bool StartObject() {
    return open(false, [&] { return doc_.StartObject(); });
  }
  bool EndObject(rapidjson::SizeType n) {
    return close([&] { return doc_.EndObject(n); });
  }
  bool StartArray() {
    return open(true, [&] { return doc_.StartArray(); });
  }
  bool EndArray(rapidjson::SizeType n) {
    return close([&] { return doc_.EndArray(n); });
  }

  /// Lets Key() read pruned fields straight from the text being parsed in
  /// situ (see skim()).
  void skim_pruned() {
    skim_ = true;
  }

private:
  struct frame {
    place where;
    size_t items = 0;
    size_t limit;
    const char* key = nullptr;
    rapidjson::SizeType key_len = 0;

    bool key_is(const char* name) const {
      return key != nullptr && std::strlen(name) == key_len
        && std::memcmp(key, name, key_len) == 0;
    }
  };

  /// Counts one more value, and one more item of the enclosing array (once
  /// per value of the answer: kept small enough to inline, the refusals
  /// apart).
  [[gnu::always_inline]] void count_item() {
    if (max_values_ > 0 && ++values_ > max_values_ && refusal_.empty())
      refuse_values();
    if (frames_.empty() || depth_ != frames_.size())
      return;
    auto& f = frames_.back();
    if (f.where == place::other || f.limit == 0)
      return;
    if (++f.items > f.limit && refusal_.empty())
      refuse_items(f);
  }

  [[gnu::cold, gnu::noinline]] void refuse_values() {
    refusal_ = "more than " + std::to_string(max_values_)
      + " values in one answer";
  }

  [[gnu::cold, gnu::noinline]] void refuse_items(const frame& f) {
    refusal_ = "more than " + std::to_string(f.limit) + " " + name_of(f.where)
      + " in one answer";
  }

  static const char* name_of(place where) {
    switch (where) {
      case place::deal_list: return "deals";
      case place::products: return "products";
      case place::offers: return "offers of one product";
      default: return "items";
    }
  }

  enum class kind : uint8_t { number, null, other };

  /// A field of a deal or product being pruned (see `shape`).
  struct pruning {
    shape what = shape::keep;
    /// Containers open inside the field (1 = its own).
    size_t open = 0;
    /// Whether the field is an array (else it is an object).
    bool array = false;
    /// Rows emitted so far (nested, avg).
    rapidjson::SizeType rows = 0;
    /// Whether the current row is an array (nested, avg).
    bool row_array = false;
    /// Whether the flat array, or the current row, holds a non-number.
    bool bad = false;
    /// Building the kept avg row as it is.
    bool pass = false;
  };

  bool rows_kind() const {
    return prune_.what == shape::nested || prune_.what == shape::avg;
  }

  bool is_kept_row() const {
    return prune_.what == shape::avg && prune_.rows == ninety_days;
  }

  /// The stand-in of a shape-checked field that is not a container:
  /// null passes, anything else is "not an array".
  bool stand_in(shape what, bool null) {
    return what == shape::ignore || null ? doc_.Null() : doc_.Bool(true);
  }

  /// Whether the value under way is built as it is: nothing refused, no
  /// pruned field under way or starting with it.
  bool built_as_is() const {
    return refusal_.empty() && prune_.what == shape::keep
      && next_ == shape::keep;
  }

  /// An array that fails check_numbers: [true].
  bool failing_numbers() {
    doc_.StartArray();
    doc_.Bool(true);
    return doc_.EndArray(1);
  }

  template<class F>
  bool scalar(kind k, F build) {
    count_item();
    if (built_as_is())
      return build();
    if (!refusal_.empty())
      return true;
    auto& p = prune_;
    if (p.what == shape::keep) // a pruned field that is a scalar
      return stand_in(std::exchange(next_, shape::keep), k == kind::null);
    if (p.pass)
      return build();
    if (!p.array || p.what == shape::ignore)
      return true;
    if (p.what == shape::numbers) {
      if (p.open == 1 && k != kind::number && k != kind::null)
        p.bad = true;
      return true;
    }
    if (p.open == 1) {
      // A row that is a scalar.
      auto kept = is_kept_row();
      ++p.rows;
      return kept ? build() : stand_in(shape::nested, k == kind::null);
    }
    if (p.open == 2 && p.row_array && k != kind::number && k != kind::null)
      p.bad = true;
    return true;
  }

  // -- reading a pruned field straight from the text ------------------------

  /// A token of a pruned field skim() reads.
  struct token {
    enum { null, number, open } what;
    /// The number, in RapidJSON's Int range if `negative` (also for -0),
    /// else in its Uint range.
    int64_t value;
    bool negative;
  };

  static const char* skip_space(const char* p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
      ++p;
    return p;
  }

  /// Reads a null, an integer RapidJSON reports as Int or Uint, or an
  /// array's opening at `p`; nullptr for anything else (strings, booleans,
  /// objects, fractions, exponents, larger numbers, bad text).
  static const char* read_token(const char* p, token& out) {
    if (*p == '[') {
      out.what = token::open;
      return p + 1;
    }
    if (*p == 'n') {
      // Byte by byte: the text may end (NUL) within the four.
      if (p[1] != 'u' || p[2] != 'l' || p[3] != 'l')
        return nullptr;
      out.what = token::null;
      return p + 4;
    }
    out.what = token::number;
    out.negative = *p == '-';
    if (out.negative)
      ++p;
    if (*p < '0' || *p > '9')
      return nullptr;
    int64_t x = 0;
    if (*p == '0') {
      ++p;
    } else {
      // Ten digits at most: beyond, RapidJSON reports Int64 or Uint64.
      for (int digits = 0; *p >= '0' && *p <= '9'; ++p)
        if (++digits > 10)
          return nullptr;
        else
          x = 10 * x + (*p - '0');
    }
    if (*p == '.' || *p == 'e' || *p == 'E')
      return nullptr;
    if (out.negative ? x > int64_t{1} << 31 : x > int64_t{UINT32_MAX})
      return nullptr;
    out.value = out.negative ? -x : x;
    return p;
  }

  /// Past an array's item at `p`: the next item or the closing bracket;
  /// nullptr for anything else (a trailing comma too).
  static const char* after_item(const char* p) {
    p = skip_space(p);
    if (*p == ']')
      return p;
    if (*p != ',')
      return nullptr;
    p = skip_space(p + 1);
    return *p == ']' ? nullptr : p;
  }

  /// Enters `x` (a null or a number) into the document as the reader would.
  bool build(const token& x) {
    if (x.what == token::null)
      return doc_.Null();
    if (x.negative)
      return doc_.Int(static_cast<int>(x.value));
    return doc_.Uint(static_cast<unsigned>(x.value));
  }

  /// Reads the pruned field (`next_`) whose value follows the key just
  /// read (its in-situ text ends at `key_end`), when it is an array of
  /// integers and nulls, or of such arrays; enters into the document what
  /// the pruning would (see `shape`) and overwrites the value's text with
  /// spaces and a final 0, a number Uint() swallows. A deal page's values
  /// are mostly such fields, and with them skimmed a page parses in less
  /// than half the time (keepa-parse-bench). Anything else, a limit it
  /// would reach, or text the reader would refuse is left to the reader:
  /// the document, refusals and errors stay the same.
  void skim(const char* key_end) {
    // The reader's position is past the key's closing quote, which the
    // in-situ string's terminator replaced unless the key held escapes:
    // then what follows is the rest of its raw text (letters, digits,
    // backslashes and the quote: no colon, no space), and it is left to the
    // reader.
    auto* colon = skip_space(key_end + 1);
    if (*colon != ':')
      return;
    auto* p = skip_space(colon + 1);
    if (*p != '[' || depth_ + 2 > max_depth)
      return;
    auto what = next_;
    // Rows of a nested field: its number scalars stand in as true, its
    // nulls and (all-number) arrays as null; the avg's kept row is built.
    rows_.clear();
    const char* kept = nullptr;
    size_t values = 1;
    bool inner_array = false;
    token t;
    ++p;
    for (p = skip_space(p); *p != ']';) {
      if (what == shape::avg && rows_.size() == ninety_days)
        kept = p;
      p = read_token(p, t);
      if (p == nullptr)
        return;
      ++values;
      if (t.what == token::open) {
        inner_array = true;
        rows_.push_back(row::null);
        p = skip_space(p);
        while (*p != ']') {
          p = read_token(p, t);
          if (p == nullptr || t.what == token::open)
            return;
          ++values;
          if ((p = after_item(p)) == nullptr)
            return;
        }
        ++p;
      } else {
        rows_.push_back(t.what == token::null ? row::null : row::number);
      }
      if ((p = after_item(p)) == nullptr)
        return;
    }
    auto end = p + 1;
    // The stand-in 0 must end where the value did: what follows may not
    // continue a number.
    if (*end != ',' && *end != '}' && *end != ']' && *end != ' ' && *end != '\n'
        && *end != '\r' && *end != '\t')
      return;
    if (max_values_ > 0 && values_ + values > max_values_)
      return;
    values_ += values;
    next_ = shape::keep;
    switch (what) {
      case shape::ignore: doc_.Null(); break;
      case shape::numbers:
        // An array inside fails check_numbers.
        if (inner_array)
          failing_numbers();
        else
          doc_.StartArray(), doc_.EndArray(0);
        break;
      default: {
        doc_.StartArray();
        for (size_t i = 0; i < rows_.size(); ++i) {
          if (what == shape::avg && i == ninety_days)
            build_row(kept);
          else if (rows_[i] == row::number)
            doc_.Bool(true);
          else
            doc_.Null();
        }
        doc_.EndArray(static_cast<rapidjson::SizeType>(rows_.size()));
      }
    }
    // The reader goes on at a stand-in value ending where this one did (the
    // stream's position is a copy skim() cannot move).
    auto* first = const_cast<char*>(colon) + 1;
    std::memset(first, ' ', static_cast<size_t>(end - 1 - first));
    first[end - 1 - first] = '0';
    skimmed_ = true;
  }

  /// Builds the avg's kept row, the token at `p` (read by skim()).
  void build_row(const char* p) {
    token t;
    auto* q = read_token(p, t);
    if (t.what != token::open) {
      build(t);
      return;
    }
    doc_.StartArray();
    rapidjson::SizeType n = 0;
    for (q = skip_space(q); *q != ']'; ++n) {
      q = read_token(q, t);
      build(t);
      q = skip_space(q);
      if (*q == ',')
        q = skip_space(q + 1);
    }
    doc_.EndArray(n);
  }

  template<class T>
  void keep_root_number(T x) {
    if (depth_ != 1 || frames_[0].key == nullptr
        || frames_[0].where != place::root)
      return;
    auto& alloc = root_.GetAllocator();
    rapidjson::Value name{frames_[0].key, frames_[0].key_len, alloc};
    root_.RemoveMember(name);
    root_.AddMember(name, rapidjson::Value{x}, alloc);
  }

  template<class F>
  bool open(bool array, F build) {
    count_item();
    if (depth_ >= max_depth) {
      // Deeper than any answer: stop reading (the parser's own stack would
      // grow with the depth).
      if (refusal_.empty())
        refusal_ = "nesting deeper than " + std::to_string(max_depth)
          + " levels";
      return false;
    }
    auto where = place::other;
    size_t limit = 0;
    if (frames_.empty()) {
      where = array ? place::other : place::root;
    } else {
      auto& up = frames_.back();
      if (up.where == place::root && !array && up.key_is("deals"))
        where = place::deals;
      else if (up.where == place::deals && array && up.key_is("dr"))
        where = place::deal_list, limit = limits_.max_deals;
      else if (up.where == place::deal_list && !array)
        where = place::deal;
      else if (up.where == place::root && array && up.key_is("products"))
        where = place::products, limit = limits_.max_products;
      else if (up.where == place::products && !array)
        where = place::product;
      else if (up.where == place::product && array && up.key_is("offers"))
        where = place::offers, limit = limits_.max_offers;
      else if (up.where == place::product && !array && up.key_is("stats"))
        where = place::stats;
    }
    frames_.push_back(frame{where, 0, limit});
    ++depth_;
    if (built_as_is())
      return build();
    if (!refusal_.empty())
      return true;
    auto& p = prune_;
    if (p.what == shape::keep) {
      // A pruned field that is a container.
      p = pruning{};
      p.what = std::exchange(next_, shape::keep);
      p.open = 1;
      p.array = array;
      return p.array && rows_kind() ? doc_.StartArray() : true;
    }
    ++p.open;
    if (p.pass)
      return build();
    if (!p.array || p.what == shape::ignore)
      return true;
    if (p.what == shape::numbers) {
      if (p.open == 2)
        p.bad = true;
      return true;
    }
    if (p.open == 2) {
      // A row opens.
      if (is_kept_row()) {
        p.pass = true;
        return build();
      }
      p.row_array = array;
      p.bad = false;
      return true;
    }
    if (p.open == 3 && p.row_array)
      p.bad = true;
    return true;
  }

  template<class F>
  bool close(F build) {
    frames_.pop_back();
    --depth_;
    if (!refusal_.empty())
      return true;
    auto& p = prune_;
    if (p.what == shape::keep)
      return build();
    --p.open;
    if (p.pass) {
      if (p.open == 1) {
        // The kept row ends.
        p.pass = false;
        ++p.rows;
      }
      return build();
    }
    if (p.open == 0) {
      // The pruned field ends.
      auto what = std::exchange(p.what, shape::keep);
      if (what == shape::ignore)
        return doc_.Null();
      if (!p.array)
        return doc_.Bool(true);
      if (what == shape::numbers) {
        if (p.bad)
          return failing_numbers();
        doc_.StartArray();
        return doc_.EndArray(0);
      }
      return doc_.EndArray(p.rows);
    }
    if (p.open == 1 && p.array && rows_kind()) {
      // A row ends.
      ++p.rows;
      if (!p.row_array)
        return doc_.Bool(true);
      return p.bad ? failing_numbers() : doc_.Null();
    }
    return true;
  }

  rapidjson::Document& doc_;
  const answer_limits& limits_;
  size_t max_values_;
  size_t values_ = 0;
  std::vector<frame> frames_;
  size_t depth_ = 0;
  std::string refusal_;
  rapidjson::Document root_;
  /// How the next value, a field of a deal or product, enters the document.
  shape next_ = shape::keep;
  pruning prune_;
  /// Whether Key() calls skim().
  bool skim_ = false;
  /// The next Uint is skim()'s stand-in.
  bool skimmed_ = false;
  enum class row : uint8_t { null, number };
  std::vector<row> rows_;
};

/// `timestamp` against the local clock; empty if within the tolerance.
std::string clock_check(const envelope& env, const answer_limits& limits) {
  if (limits.now_unix_ms <= 0)
    return {};
  auto off = env.timestamp_ms - limits.now_unix_ms;
  if (off >= -limits.clock_tolerance_ms && off <= limits.clock_tolerance_ms)
    return {};
  auto secs = (off < 0 ? -off : off) / 1000;
  return "timestamp " + std::to_string(env.timestamp_ms) + " lies "
    + std::to_string(secs) + " s " + (off > 0 ? "ahead of" : "behind")
    + " the local clock (tolerance "
    + std::to_string(limits.clock_tolerance_ms / 1000)
    + " s): its balance is not used";
}

/// Parses `body` in place and runs `payload` on the document when the
/// answer is a 200; fills `out.page.env` (via `env_of`) in any case.
template<class Page, class EnvOf, class Payload>
parsed<Page> parse(std::string& body, int32_t http_status,
                   const answer_limits& limits, size_t max_values, EnvOf env_of,
                   Payload payload) {
  parsed<Page> out;
  dom_arena arena;
  rapidjson::Document doc{&arena.pool()};
  bounded_builder builder{doc, limits, max_values};
  rapidjson::Reader reader;
  rapidjson::InsituStringStream in{&body[0]};
  if (limits.skim_pruned)
    builder.skim_pruned();
  bool built = false;
  auto generate = [&](rapidjson::Document&) {
    // Recursive, a quarter faster than kParseIterativeFlag on a deal page:
    // the builder stops the parse at max_depth levels, so a hostile
    // nesting cannot exhaust the stack (unbounded, 1 M levels did).
    auto ok = reader.Parse<rapidjson::kParseInsituFlag>(in, builder);
    built = ok && builder.refusal().empty();
    return built;
  };
  doc.Populate(generate);
  auto refused = !builder.refusal().empty();
  if (refused || reader.HasParseError() || !doc.IsObject()) {
    std::string what = refused ? builder.refusal()
      : reader.HasParseError()
      ? rapidjson::GetParseError_En(reader.GetParseErrorCode())
      : "the answer is not a JSON object";
    if (!refused || reader.HasParseError())
      what += " (offset " + std::to_string(reader.GetErrorOffset()) + ")";
    out.err = caf::make_error(ec::malformed_answer, std::move(what));
    // A refused answer still tells the balance, if it was well-formed.
    if (refused && !reader.HasParseError())
      out.envelope_ok = read_envelope(builder.root_numbers(), env_of(out.page),
                                      http_status);
    return out;
  }
  out.envelope_ok = read_envelope(doc, env_of(out.page), http_status);
  if (out.envelope_ok) {
    out.clock_refusal = clock_check(env_of(out.page), limits);
    out.envelope_ok = out.clock_refusal.empty();
  }
  if (http_status != 200)
    return out;
  if (!out.envelope_ok && out.clock_refusal.empty()) {
    out.err = caf::make_error(ec::malformed_answer,
                              std::string{"no token fields in a 200 answer"});
    return out;
  }
  try {
    payload(doc, out);
  } catch (const malformed& x) {
    out.err = caf::make_error(ec::malformed_answer, x.what);
  }
  return out;
}

/// Reads each item of `array` into `out` with `read`; an item that throws
/// is left out and counted.
template<class T, class Out, class Read>
void read_items(const value& array, std::vector<T>& items, Out& out,
                Read read) {
  constexpr size_t max_reasons = 8;
  items.reserve(array.Size());
  size_t i = 0;
  for (auto& x : array.GetArray()) {
    items.emplace_back();
    try {
      read(x, items.back());
    } catch (const malformed& bad) {
      items.pop_back();
      ++out.skipped;
      if (out.skip_reasons.size() < max_reasons)
        out.skip_reasons.push_back("item " + std::to_string(i) + ": "
                                   + bad.what);
    }
    ++i;
  }
}

template<class Page>
envelope& env_member(Page& page) {
  return page.env;
}

/// The newest lastUpdate (Keepa minutes) taken as true.
int32_t last_update_bound(const answer_limits& limits) {
  if (limits.now_unix_ms <= 0)
    return std::numeric_limits<int32_t>::max();
  auto ms = limits.now_unix_ms + limits.clock_tolerance_ms;
  return narrow<int32_t>(ms / 60000 - 21564000);
}

} // namespace

parsed<envelope> parse_envelope(std::string& body, int32_t http_status,
                                const answer_limits& limits) {
  return parse<envelope>(
    body, http_status, limits, 0,
    [](envelope& env) -> envelope& { return env; },
    [](const value&, parsed<envelope>&) {});
}

parsed<product_page> parse_product_page(std::string& body, int32_t http_status,
                                        const answer_limits& limits) {
  return parse<product_page>(
    body, http_status, limits, 0, env_member<product_page>,
    [](const value& doc, parsed<product_page>& out) {
      auto* products = member(doc, "products");
      if (products == nullptr || !products->IsArray())
        throw malformed{"no products array"};
      read_items(*products, out.page.products, out,
                 [&](const value& v, product& p) {
                   read_product(v, p, out.titles_dropped);
                 });
    });
}

parsed<deal_page> parse_deal_page(std::string& body, int32_t http_status,
                                  const answer_limits& limits) {
  auto bound = last_update_bound(limits);
  return parse<deal_page>(
    body, http_status, limits, limits.max_deal_page_values,
    env_member<deal_page>, [bound](const value& doc, parsed<deal_page>& out) {
      auto* deals = member(doc, "deals");
      if (deals == nullptr || !deals->IsObject())
        throw malformed{"no deals object"};
      auto* dr = member(*deals, "dr");
      if (dr == nullptr || !dr->IsArray())
        throw malformed{"no deals.dr array"};
      read_items(*dr, out.page.deals, out, [&](const value& v, deal& d) {
        read_deal(v, d, out.titles_dropped, bound);
      });
    });
}

parsed<finder_page> parse_finder_page(std::string& body, int32_t http_status,
                                      const answer_limits& limits) {
  // 10 000 ASINs at most, and room for the envelope and Keepa's optional
  // summary of the result set.
  constexpr size_t max_asins = 10000;
  return parse<finder_page>(
    body, http_status, limits, max_asins + 50000, env_member<finder_page>,
    [](const value& doc, parsed<finder_page>& out) {
      auto& page = out.page;
      page.total_results = i64(member(doc, "totalResults"), -1);
      auto* xs = array_or_none(member(doc, "asinList"), "asinList");
      if (xs == nullptr)
        return; // nothing found
      if (xs->Size() > max_asins)
        throw malformed{"more than " + std::to_string(max_asins)
                        + " ASINs in asinList"};
      page.asins.reserve(xs->Size());
      size_t i = 0;
      for (auto& x : xs->GetArray()) {
        auto asin = str(&x);
        if (x.IsString() && valid_asin(asin)) {
          page.asins.push_back(std::move(asin));
        } else {
          ++out.skipped;
          if (out.skip_reasons.size() < 8)
            out.skip_reasons.push_back("item " + std::to_string(i) + ": ASIN \""
                                       + printable_asin(asin)
                                       + "\" (not 1 to 32 letters and digits)");
        }
        ++i;
      }
    });
}

parsed<seller_page> parse_seller_page(std::string& body, int32_t http_status,
                                      const answer_limits& limits) {
  return parse<seller_page>(
    body, http_status, limits, 0, env_member<seller_page>,
    [](const value& doc, parsed<seller_page>& out) {
      auto& page = out.page;
      auto* sellers = member(doc, "sellers");
      if (sellers == nullptr || sellers->IsNull())
        return; // nothing found
      if (!sellers->IsObject())
        throw malformed{"sellers is not an object"};
      for (auto& kvp : sellers->GetObject()) {
        page.sellers.emplace_back();
        read_seller(kvp.value, page.sellers.back());
        if (page.sellers.back().seller_id.empty())
          page.sellers.back().seller_id = kvp.name.GetString();
      }
    });
}

} // namespace keepa
