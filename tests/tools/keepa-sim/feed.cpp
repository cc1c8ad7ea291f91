// The /deal feed: ordering per sortType, paging, the 12 h window, the
// selection filters, new deals over virtual time.

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <utility>

#include "tests/support/sim_helpers.hpp"
#include "tools/keepa-sim/detail.hpp"
#include "tools/keepa-sim/feed.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

struct deal {
  std::string asin;
  int64_t last_update = 0;
  int64_t delta = 0;
  int64_t delta_percent = 0;
  int64_t current = 0;
  int64_t rank = 0;
  int64_t avg = 0;
  int64_t rating = 0;
};

struct page {
  int status = 0;
  std::vector<deal> deals;
  int64_t category_count = 0;
};

page fetch(model& m, const std::string& sel, int64_t t, int dr = 0, int pt = 2,
           bool post = false) {
  auto req
    = get("/deal",
          post ? std::multimap<std::string, std::string>{}
               : std::multimap<std::string, std::string>{{"selection", sel}});
  if (post) {
    req.method = "POST";
    req.body = sel;
  }
  auto a = m.handle(req, t);
  page p;
  p.status = a.status;
  if (a.status != 200)
    return p;
  auto d = parse(a.body);
  REQUIRE_FALSE(d.HasParseError());
  auto& deals = d["deals"];
  for (auto& x : deals["dr"].GetArray()) {
    deal y;
    y.asin = x["asin"].GetString();
    y.last_update = x["lastUpdate"].GetInt64();
    y.delta = x["delta"][dr][pt].GetInt64();
    y.delta_percent = x["deltaPercent"][dr][pt].GetInt64();
    y.avg = x["avg"][dr][pt].GetInt64();
    y.current = x["current"][pt].GetInt64();
    y.rank = x["current"][3].GetInt64();
    y.rating = x["minRating"].GetInt64();
    REQUIRE(x["avg"].Size() == 4);
    auto n = x["avg"][0].Size();
    REQUIRE((n == 34 || n == 36));
    REQUIRE(x["current"].Size() == n);
    p.deals.push_back(y);
  }
  for (auto& c : deals["categoryCount"].GetArray())
    p.category_count += c.GetInt64();
  return p;
}

/// All pages of a query.
std::vector<deal> all_pages(model& m, int sort_type, int64_t t,
                            const std::string& extra = "") {
  std::vector<deal> out;
  for (int pg = 0;; ++pg) {
    auto p = fetch(m, selection(sort_type, pg, extra), t);
    REQUIRE(p.status == 200);
    REQUIRE(p.deals.size() <= 150);
    out.insert(out.end(), p.deals.begin(), p.deals.end());
    if (p.deals.size() < 150)
      break;
  }
  return out;
}

keepa::sim::options roomy(int products = 3000) {
  auto o = small(products);
  o.refill_rate = 1000;
  return o;
}

} // namespace

TEST_CASE("sim feed: sortType 1 is newest lastUpdate first across pages, "
          "only the last 12 h",
          "[sim]") {
  model m{roomy()};
  auto now = t0 + 30 * minute;
  auto deals = all_pages(m, 1, now);
  REQUIRE(deals.size() > 300);
  auto now_km = now / 60000 - 21564000;
  std::set<std::string> seen;
  for (size_t i = 0; i < deals.size(); ++i) {
    CHECK(deals[i].last_update >= now_km - 12 * 60);
    CHECK(deals[i].last_update <= now_km);
    if (i > 0)
      CHECK(deals[i - 1].last_update >= deals[i].last_update);
    CHECK(seen.insert(deals[i].asin).second);
  }
}

TEST_CASE("sim feed: sortType 4 orders by percentage delta and is not "
          "sorted by lastUpdate; 2, 3 and negative types",
          "[sim]") {
  model m{roomy()};
  auto now = t0 + 30 * minute;
  auto by_pct = all_pages(m, 4, now);
  REQUIRE(by_pct.size() > 300);
  bool unsorted_by_time = false;
  for (size_t i = 1; i < by_pct.size(); ++i) {
    CHECK(by_pct[i - 1].delta_percent >= by_pct[i].delta_percent);
    unsorted_by_time = unsorted_by_time
      || by_pct[i - 1].last_update < by_pct[i].last_update;
  }
  CHECK(unsorted_by_time);
  // Pitfall 1: even the first page is not in lastUpdate order.
  auto first = fetch(m, selection(4, 0), now);
  CHECK_FALSE(std::is_sorted(first.deals.begin(), first.deals.end(),
                             [](const deal& x, const deal& y) {
                               return x.last_update > y.last_update;
                             }));
  auto by_delta = all_pages(m, 2, now);
  for (size_t i = 1; i < by_delta.size(); ++i)
    CHECK(by_delta[i - 1].delta >= by_delta[i].delta);
  auto by_rank = all_pages(m, 3, now);
  for (size_t i = 1; i < by_rank.size(); ++i)
    if (by_rank[i].rank >= 0)
      CHECK(by_rank[i - 1].rank <= by_rank[i].rank);
  auto inverted = all_pages(m, -4, now);
  REQUIRE(inverted.size() == by_pct.size());
  for (size_t i = 1; i < inverted.size(); ++i)
    CHECK(inverted[i - 1].delta_percent <= inverted[i].delta_percent);
}

TEST_CASE("sim feed: delta = avg - current, positive when the price "
          "dropped",
          "[sim]") {
  model m{roomy()};
  auto deals = all_pages(m, 1, t0 + minute);
  int dropped = 0;
  for (auto& d : deals) {
    if (d.avg > 0 && d.current >= 0) {
      CHECK(d.delta == d.avg - d.current);
      CHECK(d.delta_percent == d.delta * 100 / d.avg);
      dropped += d.delta > 0 ? 1 : 0;
    }
  }
  CHECK(dropped > 0);
}

TEST_CASE("sim feed: pages of 150, at most 10 000 per query, past the end "
          "empty",
          "[sim]") {
  // Books without a used offer do not show up in a USED feed.
  auto o = roomy(11500);
  o.initial_update_spread_min = 11 * 60;
  model m{o};
  auto now = t0 + minute;
  auto deals = all_pages(m, 1, now);
  CHECK(deals.size() == 10000);
  CHECK(fetch(m, selection(1, 66), now).deals.size() == 10000 - 66 * 150);
  CHECK(fetch(m, selection(1, 67), now).deals.empty());
  CHECK(fetch(m, selection(1, 5000), now).deals.empty());
}

TEST_CASE("sim feed: the seeds' selection filters are honoured", "[sim]") {
  model m{roomy()};
  auto now = t0 + minute;
  // Like config/keepa_query.json: AA's query with sortType 1.
  auto aa = R"({"domainId":"1","includeCategories":[283155],)"
            R"("priceTypes":[2],"deltaRange":[0,2147483647],)"
            R"("deltaPercentRange":[10,2147483647],)"
            R"("deltaLastRange":[0,2147483647],)"
            R"("salesRankRange":[10000,10000000],)"
            R"("currentRange":[2000,45100],"minRating":10,)"
            R"("isLowest":false,"isLowest90":false,"isRangeEnabled":true,)"
            R"("isFilterEnabled":true,"singleVariation":true,)"
            R"("warehouseConditions":[2,3,4,5],"sortType":1,"dateRange":4,)"
            R"("titleSearch":"","page":0})";
  auto p = fetch(m, aa, now, 3);
  REQUIRE(p.status == 200);
  auto everything = all_pages(m, 1, now);
  REQUIRE_FALSE(p.deals.empty());
  CHECK(p.deals.size() < everything.size());
  for (auto& d : p.deals) {
    CHECK(d.current >= 2000);
    CHECK(d.current <= 45100);
    CHECK(d.delta_percent >= 10);
    CHECK(d.delta >= 0);
    CHECK(d.rank >= 10000);
    CHECK(d.rank <= 10000000);
    CHECK(d.rating >= 10);
  }
  // Ranges off: the same ranges do not filter.
  std::string off = aa;
  off.replace(off.find(R"("isRangeEnabled":true)"), 21,
              R"("isRangeEnabled":false)");
  CHECK(fetch(m, off, now, 3).deals.size() > p.deals.size());
  // Another category: nothing, but categoryCount still counts the matches.
  std::string other = aa;
  other.replace(other.find("[283155]"), 8, "[1000]");
  auto q = fetch(m, other, now, 3);
  CHECK(q.deals.empty());
  CHECK(q.category_count == p.category_count);
  CHECK(q.category_count >= static_cast<int64_t>(p.deals.size()));
  // POST with the JSON body answers the same.
  auto posted = fetch(m, aa, now, 3, 2, true);
  REQUIRE(posted.deals.size() == p.deals.size());
  CHECK(posted.deals.front().asin == p.deals.front().asin);
  // Title search: every word must match.
  auto titled = fetch(m,
                      selection(1, 0,
                                R"(,"isFilterEnabled":true,)"
                                R"("titleSearch":"the garden")"),
                      now);
  for (auto& d : titled.deals)
    CHECK(d.asin.size() == 10);
  CHECK(titled.deals.size() < everything.size());
}

TEST_CASE("sim feed: products change over virtual time, new deals appear, "
          "result sets are cached 120 s",
          "[sim]") {
  auto o = roomy(2000);
  o.update_rate = 6;
  model m{o};
  auto first = all_pages(m, 1, t0 + minute);
  REQUIRE_FALSE(first.empty());
  // Within 120 s the same query answers the cached set.
  auto cached = all_pages(m, 1, t0 + minute + 100000);
  REQUIRE(cached.size() == first.size());
  CHECK(cached.front().asin == first.front().asin);
  // Two hours later: newer deals lead the feed.
  auto later = all_pages(m, 1, t0 + 121 * minute);
  REQUIRE_FALSE(later.empty());
  CHECK(later.front().last_update > first.front().last_update);
  std::set<std::string> before;
  for (auto& d : first)
    before.insert(d.asin);
  int fresh = 0;
  for (auto& d : later)
    fresh += before.count(d.asin) == 0 ? 1 : 0;
  CHECK(fresh > 0);
  // Each update took a minute slot in the last two hours: 6 per minute.
  auto now_km = (t0 + 121 * minute) / 60000 - 21564000;
  int recent = 0;
  for (auto& d : later)
    recent += d.last_update > now_km - 120 ? 1 : 0;
  CHECK(recent > 300);
}

TEST_CASE("sim feed: deltaLast is current - previous (negative = dropped); "
          "deltaLastRange matches the drop",
          "[sim]") {
  auto o = roomy(2000);
  model m{o};
  auto now = t0 + minute;
  auto sel = selection(1, 0,
                       R"(,"isRangeEnabled":true,)"
                       R"("deltaLastRange":[100,500])");
  auto a = m.handle(get("/deal", {{"selection", sel}}), now);
  REQUIRE(a.status == 200);
  auto d = parse(a.body);
  auto& dr = d["deals"]["dr"];
  REQUIRE(dr.Size() > 0);
  for (auto& x : dr.GetArray()) {
    auto last = x["deltaLast"][2].GetInt64();
    CHECK(last <= -100);
    CHECK(last >= -500);
    // Against the product's own USED history.
    auto p
      = parse(m.handle(get("/product",
                           {{"domain", "1"}, {"asin", x["asin"].GetString()}}),
                       now)
                .body);
    auto& used = p["products"][0]["csv"][2];
    auto n = used.Size();
    REQUIRE(n >= 4);
    CHECK(last == used[n - 1].GetInt64() - used[n - 3].GetInt64());
    CHECK(x["current"][2].GetInt64() == used[n - 1].GetInt64());
  }
}

TEST_CASE("sim feed: the recency index and the row cache give the same set "
          "as a walk of the whole catalogue; rows are snapshots at the last "
          "update",
          "[sim]") {
  using namespace keepa::sim;
  detail::catalogue cat{7, 3000, 0.15, 0.03};
  feed::selection sel;
  std::string key;
  REQUIRE(feed::parse_selection(selection(1), false, sel, key).empty());
  feed::row_cache cache;
  uint64_t k = 0;
  for (int32_t now = 0; now <= 3 * detail::day_min; now += 47) {
    // 6 updates a minute up to `now`.
    for (; static_cast<int32_t>(k / 6) <= now; ++k)
      cat.update(k, static_cast<int32_t>(k / 6));
    auto cached = feed::compute(cat, sel, now, &cache);
    auto fresh = feed::compute(cat, sel, now);
    std::vector<std::pair<std::string, int32_t>> walk;
    for (int i = 0; i < static_cast<int>(cat.books.size()); ++i) {
      auto& b = cat.books[static_cast<size_t>(i)];
      if (b.last_update >= now - 12 * 60 && b.last_update <= now
          && b.csv.last_value(2) >= 0)
        walk.emplace_back(b.asin, b.last_update);
    }
    std::sort(walk.begin(), walk.end(), [](auto& x, auto& y) {
      return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    REQUIRE(cached.rows.size() == walk.size());
    REQUIRE(fresh.rows.size() == walk.size());
    for (size_t i = 0; i < walk.size(); ++i) {
      auto& row = *cached.rows[i];
      auto& b = cat.books[static_cast<size_t>(row.index)];
      CHECK(b.asin == walk[i].first);
      CHECK(row.last_update == walk[i].second);
      CHECK(fresh.rows[i]->index == row.index);
      // The 48 h average of USED up to the update, not up to `now`.
      std::vector<int32_t> used;
      b.csv.get(2, used);
      CHECK(row.avg[0][2]
            == detail::window_avg(used, 2, row.last_update - 2880,
                                  row.last_update));
      CHECK(row.avg[3][2] == fresh.rows[i]->avg[3][2]);
    }
  }
}

// keepa-bench's truth: what the feed showed as a good deal, and the
// oracle's question "is this deal good now".
TEST_CASE("sim feed: observe_feed learns the good deals of a query's result "
          "set without charging or serving them",
          "[sim]") {
  model m{roomy()};
  auto sel = selection(1);
  auto now = t0 + 30 * minute;
  auto before = m.balance(now);
  CHECK(m.observe_feed(sel, now).empty());
  CHECK(m.balance(now) == before);
  CHECK(m.served_deals().empty());
  auto observed = m.good_in_feed();
  REQUIRE_FALSE(observed.empty());
  CHECK(
    std::is_sorted(observed.begin(), observed.end(),
                   [](const model::feed_deal& x, const model::feed_deal& y) {
                     return x.asin < y.asin;
                   }));
  // Every good deal a client's pages show, the observation saw too, and
  // nothing else: the two agree on what is good.
  all_pages(m, 1, now);
  std::set<std::pair<std::string, int64_t>> good_served;
  for (auto& d : m.served_deals())
    if (d.good) {
      good_served.emplace(d.asin, d.last_update);
      CHECK(m.good_now(d.asin, d.last_update));
      CHECK_FALSE(m.good_now(d.asin, d.last_update - 1));
    }
  REQUIRE_FALSE(good_served.empty());
  std::set<std::pair<std::string, int64_t>> seen;
  for (auto& d : m.good_in_feed())
    seen.emplace(d.asin, d.last_update);
  CHECK(seen == good_served);
  for (auto& d : m.served_deals())
    if (!d.good)
      CHECK_FALSE(m.good_now(d.asin, d.last_update));
  CHECK_FALSE(m.good_now("0000000000", 0));
  CHECK_FALSE(m.observe_feed("{", now).empty());
}

TEST_CASE("sim feed: a result set recomputed from the previous one of its "
          "query equals one computed afresh",
          "[sim]") {
  using namespace keepa::sim;
  // Every book updated within the first 12 h: the window holds more than
  // 10 000 books at first (cut sets), then fewer.
  detail::catalogue cat{11, 12000, 0.15, 0.03, 12 * 60};
  auto sub = std::to_string(detail::sub_category_ids().at(0));
  std::vector<std::string> texts{
    selection(1),
    selection(1, 0,
              R"(,"isFilterEnabled":true,"excludeCategories":[)" + sub + "]"),
    selection(1, 0, R"(,"isRangeEnabled":true,"deltaLastRange":[100,500])"),
    selection(2),
    selection(-2),
    selection(0)};
  std::vector<feed::selection> sels;
  for (auto& text : texts) {
    feed::selection sel;
    std::string key;
    REQUIRE(feed::parse_selection(text, false, sel, key).empty());
    sels.push_back(sel);
  }
  feed::row_cache cache;
  std::vector<feed::result_set> prev;
  for (auto& sel : sels)
    prev.push_back(feed::compute(cat, sel, 0, &cache));
  uint64_t k = 0;
  size_t cut = 0, outside = 0;
  // Steps of a few minutes, and one of 13 h (nothing of before is kept).
  bool jumped = false;
  for (int32_t now = 3; now <= detail::day_min + 12 * 60;
       now += now > 1000 && !std::exchange(jumped, true) ? 13 * 60 : 131) {
    // 6 updates a minute up to `now`.
    for (; static_cast<int32_t>(k / 6) <= now; ++k)
      cat.update(k, static_cast<int32_t>(k / 6));
    for (size_t s = 0; s < sels.size(); ++s) {
      INFO("selection " << texts[s] << " at minute " << now);
      auto again = feed::recompute(cat, sels[s], now, prev[s], cache);
      auto fresh = feed::compute(cat, sels[s], now);
      auto shown = [](const feed::result_set& x) {
        std::vector<std::pair<int, int32_t>> out;
        for (auto& r : x.rows)
          out.emplace_back(r->index, r->last_update);
        return out;
      };
      REQUIRE(shown(again) == shown(fresh));
      CHECK(again.categories == fresh.categories);
      CHECK(again.truncated == fresh.truncated);
      CHECK(again.outside.size() == fresh.outside.size());
      cut += fresh.truncated ? 1 : 0;
      outside += fresh.outside.size();
      prev[s] = std::move(again);
    }
  }
  // Both kinds of set were met.
  CHECK(cut > 0);
  CHECK(outside > 0);
  CHECK(jumped);
}
