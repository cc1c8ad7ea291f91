// The catalogue: determinism, valid ASINs, the product object's shape, and
// the truth (peek-passing and good deals) recomputed from what the answers
// carry.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <set>

#include "tests/support/sim_helpers.hpp"
#include "tools/keepa-sim/detail.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

bool valid_isbn10(const std::string& s) {
  if (s.size() != 10)
    return false;
  int sum = 0;
  for (int i = 0; i < 9; ++i) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    sum += (i + 1) * (s[i] - '0');
  }
  auto check = sum % 11;
  return s[9] == (check == 10 ? 'X' : static_cast<char>('0' + check));
}

keepa::sim::answer full(model& m, const std::string& asins, int64_t t) {
  return m.handle(get("/product",
                      {{"domain", "1"},
                       {"asin", asins},
                       {"stats", "365"},
                       {"offers", "100"},
                       {"only-live-offers", "1"}}),
                  t);
}

} // namespace

TEST_CASE("sim catalogue: deterministic from the seed", "[sim]") {
  auto o = small(400);
  model a{o};
  model b{o};
  CHECK(a.asins() == b.asins());
  CHECK(a.good_deal_asins() == b.good_deal_asins());
  auto req = get("/product",
                 {{"domain", "1"},
                  {"asin", join(a.asins(), 50)},
                  {"stats", "90"},
                  {"offers", "40"},
                  {"rating", "1"}});
  CHECK(a.handle(req, t0).body == b.handle(req, t0).body);
  auto deals = get("/deal", {{"selection", selection(4)}});
  CHECK(a.handle(deals, t0 + 5 * minute).body
        == b.handle(deals, t0 + 5 * minute).body);
  o.seed = 2;
  model c{o};
  CHECK(c.asins() != a.asins());
}

TEST_CASE("sim catalogue: books with valid, unique ISBN-10 ASINs in "
          "category 283155",
          "[sim]") {
  model m{small(2000)};
  auto asins = m.asins();
  REQUIRE(asins.size() == 2000);
  std::set<std::string> unique(asins.begin(), asins.end());
  CHECK(unique.size() == asins.size());
  for (auto& a : asins)
    CHECK(valid_isbn10(a));
  auto d = parse(
    m.handle(
       get("/product",
           {{"domain", "1"}, {"asin", join(asins, 100)}, {"stats", "180"}}),
       t0)
      .body);
  REQUIRE(d["products"].Size() == 100);
  auto now_km = t0 / 60000 - 21564000;
  std::set<rapidjson::SizeType> lengths;
  for (auto& p : d["products"].GetArray()) {
    CHECK(p["rootCategory"].GetInt64() == 283155);
    CHECK(p["productType"].GetInt() == 0);
    CHECK(p["title"].GetStringLength() > 0);
    CHECK(p["fbaFees"]["pickAndPackFee"].GetInt() > 0);
    CHECK(p["referralFeePercentage"].GetDouble() == 15.0);
    auto& csv = p["csv"];
    // Lengths vary by data age, as on Keepa: 34 or 36.
    auto n = csv.Size();
    REQUIRE((n == 34 || n == 36));
    lengths.insert(n);
    for (int t : {0, 1, 2, 3, 11, 12}) {
      REQUIRE(csv[t].IsArray());
      auto& h = csv[t];
      REQUIRE(h.Size() % 2 == 0);
      int64_t last = 0;
      for (rapidjson::SizeType i = 0; i < h.Size(); i += 2) {
        auto km = h[i].GetInt64();
        CHECK(km > last);
        CHECK(km <= now_km);
        CHECK(km >= p["trackingSince"].GetInt64());
        CHECK(h[i + 1].GetInt64() >= -1);
        last = km;
      }
    }
    // Offer-only types need offers; rating needs rating=1.
    for (int t : {16, 17, 19, 20, 21, 22})
      CHECK(csv[t].IsNull());
    auto& s = p["stats"];
    for (auto f :
         {"current", "avg", "avg30", "avg90", "avg180", "avg365", "min", "max"})
      CHECK(s[f].Size() == n);
    CHECK(s["salesRankDrops365"].GetInt() >= s["salesRankDrops30"].GetInt());
    CHECK(s["totalOfferCount"].GetInt() == -2);
    // current = the last csv value.
    CHECK(s["current"][2].GetInt() == csv[2][csv[2].Size() - 1].GetInt());
    CHECK(s["min"][3].IsArray());
    CHECK(s["min"][3][1].GetInt() <= s["max"][3][1].GetInt());
  }
  CHECK(lengths.size() == 2);
}

TEST_CASE("sim catalogue: history=0 drops csv, days trims it, offers add "
          "the used-condition triples",
          "[sim]") {
  model m{small()};
  auto asin = m.asins()[1];
  auto p = [&](std::multimap<std::string, std::string> q, int64_t t) {
    q.emplace("domain", "1");
    q.emplace("asin", asin);
    auto d = parse(m.handle(get("/product", q), t).body);
    rapidjson::Document out;
    out.CopyFrom(d["products"][0], out.GetAllocator());
    return out;
  };
  auto none = p({{"history", "0"}, {"stats", "30"}}, t0);
  CHECK_FALSE(none.HasMember("csv"));
  CHECK(none.HasMember("stats"));
  auto all = p({}, t0 + 1);
  auto trimmed = p({{"days", "30"}}, t0 + 2);
  CHECK(trimmed["csv"][3].Size() < all["csv"][3].Size());
  auto now_km = t0 / 60000 - 21564000;
  // Only the oldest point may predate the window.
  CHECK(trimmed["csv"][3][2].GetInt64() >= now_km - 30 * 1440);
  // stats as a date range: `avg` covers it, avg30 the last 30 days.
  auto ranged = p({{"stats", "2025-09-01,2026-09-01"}}, t0 + 3);
  CHECK(ranged["stats"]["avg"][3].GetInt() > 0);
  CHECK(ranged["stats"]["minInInterval"][3].IsArray());
  auto yearly = p({{"stats", "365"}}, t0 + 3);
  // The same window in epoch ms: t0 - 365 days .. t0.
  auto by_ms = p({{"stats", "1758464000000,1790000000000"}}, t0 + 3);
  CHECK(by_ms["stats"]["avg"] == yearly["stats"]["avg"]);
  CHECK(by_ms["stats"]["avg"] == yearly["stats"]["avg365"]);
  auto offers = p({{"offers", "20"}}, t0 + 3);
  for (int t : {19, 20, 21, 22}) {
    REQUIRE(offers["csv"][t].IsArray());
    CHECK(offers["csv"][t].Size() % 3 == 0);
  }
  CHECK(offers.HasMember("offers"));
  CHECK(offers["offersSuccessful"].GetBool());
}

TEST_CASE("sim catalogue: the mixture and the truth agree with a peek and a "
          "full analysis of the answers",
          "[sim]") {
  auto o = small(5000);
  o.refill_rate = 1000;
  model m{o};
  auto asins = m.asins();
  auto good = m.good_deal_asins();
  auto peek = m.peek_pass_asins();
  std::set<std::string> good_set(good.begin(), good.end());
  std::set<std::string> peek_set(peek.begin(), peek.end());
  // Tunable fractions: 15 % peek (incl. good), 3 % good.
  CHECK(peek.size() >= 600);
  CHECK(peek.size() <= 900);
  CHECK(good.size() >= 100);
  CHECK(good.size() <= 200);
  for (auto& a : good)
    CHECK(peek_set.count(a) == 1);
  // Recompute both from the JSON of full product answers.
  int64_t t = t0;
  for (size_t off = 0; off < 1000; off += 100) {
    std::vector<std::string> batch(asins.begin() + off,
                                   asins.begin() + off + 100);
    auto a = full(m, join(batch, 100), ++t);
    REQUIRE(a.status == 200);
    auto d = parse(a.body);
    for (auto& p : d["products"].GetArray()) {
      std::string asin = p["asin"].GetString();
      CAPTURE(asin);
      auto& s = p["stats"];
      auto buy = s["current"][2].GetInt();
      if (buy <= 0)
        buy = s["current"][1].GetInt();
      auto a90 = s["avg90"][2].GetInt();
      auto a365 = s["avg365"][2].GetInt();
      auto sell = a90 < 0 ? a365 : a365 < 0 ? a90 : std::min(a90, a365);
      bool passes = buy > 0 && sell >= 1200 && buy * 10 <= sell * 11
        && (sell - buy) * 5 >= buy && s["salesRankDrops365"].GetInt() >= 1;
      CHECK(passes == (peek_set.count(asin) == 1));
      int best = INT32_MAX;
      auto& offers = p["offers"];
      for (auto& i : p["liveOffersOrder"].GetArray()) {
        auto& o = offers[i.GetUint()];
        auto c = o["condition"].GetInt();
        auto& csv = o["offerCSV"];
        auto n = csv.Size();
        if (c >= 2 && c <= 5)
          best = std::min(
            best, csv[n - 2].GetInt() + std::max(csv[n - 1].GetInt(), 0));
      }
      bool is_good = false;
      if (passes && best != INT32_MAX) {
        auto referral = (sell * p["referralFeePercent"].GetInt() + 50) / 100;
        auto profit = sell - referral - p["fbaFees"]["pickAndPackFee"].GetInt()
          - best;
        is_good = profit >= 500;
      }
      CHECK(is_good == (good_set.count(asin) == 1));
    }
  }
}

TEST_CASE("sim catalogue: export_truth writes the good deals", "[sim]") {
  model m{small(1500)};
  auto path = std::string{"keepa_sim_truth_test.txt"};
  m.export_truth(path);
  std::ifstream in{path};
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::remove(path.c_str());
  CHECK(lines == m.good_deal_asins());
  CHECK_FALSE(lines.empty());
}

TEST_CASE("sim catalogue: a book's histories take a few bytes a point, and "
          "updates add only what they add",
          "[sim]") {
  // keepa-eta with 400 000 books peaked at 5 GB (3.8 GB growing histories
  // by an eighth): the histories, 760 points a book on average, were kept
  // as int32 pairs (6.1 KB) in 36 vectors of 24 bytes each, and the first
  // point an update appended copied a whole history. Heap in use from
  // glibc (small blocks and mapped ones); below 4096 books the catalogue is
  // generated on this thread, so the main arena sees every allocation.
  auto heap = [] {
    auto x = mallinfo2();
    return x.uordblks + x.hblkhd;
  };
  constexpr int books = 3000;
  auto at_start = heap();
  keepa::sim::detail::catalogue cat{1, books, 0.15, 0.03};
  auto generated = heap();
  // Three updates a book, each adding a point to three histories.
  for (uint64_t k = 0; k < 3 * books; ++k)
    cat.update(k, static_cast<int32_t>(k / 4 + 1));
  auto updated = heap();
  auto per_book = [&](size_t from, size_t to) {
    return static_cast<double>(to - from) / books;
  };
  INFO("generated: " << per_book(at_start, generated) << " bytes a book");
  INFO("updated: " << per_book(generated, updated) << " bytes a book more");
  CHECK(per_book(at_start, generated) < 4500);
  // Nine points (12 bytes each before a compaction) and a little to keep
  // them in.
  CHECK(per_book(generated, updated) < 250);
}

TEST_CASE("sim histories: what was assigned and pushed reads back as the flat "
          "history, whole or from a minute on",
          "[sim]") {
  using keepa::sim::detail::flat_histories;
  using keepa::sim::detail::histories;
  keepa::sim::detail::rng r{42};
  // Any int32 times and values, including the extremes.
  auto any = [&] {
    switch (r.range(0, 3)) {
      case 0: return INT32_MIN + static_cast<int32_t>(r.range(0, 2));
      case 1: return INT32_MAX - static_cast<int32_t>(r.range(0, 2));
      default: return static_cast<int32_t>(r.range(-100000, 100000));
    }
  };
  for (int round = 0; round < 200; ++round) {
    flat_histories want;
    for (auto& h : want) {
      auto n = r.range(0, 3) == 0 ? 0 : r.range(1, 40);
      auto t = any();
      for (int64_t i = 0; i < n && t < INT32_MAX - 50000; ++i) {
        keepa::sim::detail::push(h, t, any());
        t += static_cast<int32_t>(r.range(1, 50000));
      }
    }
    histories got;
    got.assign(want);
    // Pushes, some in the last point's minute or before it (they replace
    // its value), enough to fold a few times.
    for (int i = 0; i < 300; ++i) {
      auto type = static_cast<int>(r.range(0, 35));
      auto& h = want[static_cast<size_t>(type)];
      auto t = h.empty() ? any() : h[h.size() - 2] + r.range(-3, 3);
      auto v = any();
      keepa::sim::detail::push(h, static_cast<int32_t>(t), v);
      got.push(type, static_cast<int32_t>(t), v);
    }
    std::vector<int32_t> out;
    for (int type = 0; type < keepa::sim::detail::n_types; ++type) {
      auto& h = want[static_cast<size_t>(type)];
      INFO("round " << round << ", type " << type << ", " << h.size() / 2
                    << " points");
      got.get(type, out);
      CHECK(out == h);
      CHECK(got.empty(type) == h.empty());
      CHECK(got.last_value(type) == (h.empty() ? -1 : h.back()));
      CHECK(got.last_time(type) == (h.empty() ? INT32_MIN : h[h.size() - 2]));
      if (h.empty())
        continue;
      // From `since` on: at least the points at or after it, the one
      // before, and the last two; the whole history's last points.
      auto since = h[2 * static_cast<size_t>(r.range(0, h.size() / 2 - 1))]
        + static_cast<int32_t>(r.range(-1, 1));
      size_t first = h.size() / 2;
      while (first > 0 && h[2 * (first - 1)] >= since)
        --first;
      first = std::min(first > 0 ? first - 1 : 0,
                       h.size() / 2 >= 2 ? h.size() / 2 - 2 : 0);
      got.get(type, out, since);
      REQUIRE(out.size() >= h.size() - 2 * first);
      CHECK(out == std::vector<int32_t>(h.end() - out.size(), h.end()));
    }
  }
}
