// Product Finder (/query), category lookup (/category) and the locales'
// catalogues, on the model and a virtual clock. Results are checked
// against what /product says of the same books.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "tests/support/sim_helpers.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

keepa::sim::answer finder(model& m, const std::string& sel, int64_t now,
                          const std::string& domain = "1") {
  return m.handle(get("/query", {{"domain", domain}, {"selection", sel}}), now);
}

std::vector<std::string> asin_list(const rapidjson::Document& d) {
  std::vector<std::string> out;
  for (auto& a : d["asinList"].GetArray())
    out.push_back(a.GetString());
  return out;
}

/// stats.current[type], stats.salesRankDrops90 and the used avg90 of
/// books, by ASIN, from /product?stats=90 (free of the finder's code).
struct product_facts {
  int64_t rank = -1;
  int64_t used = -1;
  int64_t drops90 = -1;
};

std::map<std::string, product_facts>
facts(model& m, const std::vector<std::string>& asins, int64_t now,
      const std::string& domain = "1") {
  std::map<std::string, product_facts> out;
  for (size_t i = 0; i < asins.size(); i += 100) {
    std::vector<std::string> part(
      asins.begin() + static_cast<std::ptrdiff_t>(i),
      asins.begin()
        + static_cast<std::ptrdiff_t>(std::min(i + 100, asins.size())));
    auto a = m.handle(get("/product",
                          {{"domain", domain},
                           {"stats", "90"},
                           {"asin", join(part, part.size())}}),
                      now);
    REQUIRE(a.status == 200);
    auto d = parse(a.body);
    for (auto& p : d["products"].GetArray()) {
      auto& st = p["stats"];
      out[p["asin"].GetString()] = {st["current"][3].GetInt64(),
                                    st["current"][2].GetInt64(),
                                    st["salesRankDrops90"].GetInt64()};
    }
  }
  return out;
}

} // namespace

TEST_CASE("sim finder: /query answers asinList and totalResults, costs 10 "
          "+ 1 per 100 ASINs listed, pages with perPage (at least 50)",
          "[sim]") {
  auto o = small(900);
  o.update_rate = 0;
  model m{o};
  auto all
    = parse(finder(m, R"({"rootCategory":[283155],"perPage":10000})", t0).body);
  auto total = all["totalResults"].GetInt64();
  auto listed = asin_list(all);
  CHECK(total == static_cast<int64_t>(listed.size()));
  // Books without a sales rank may exist; every book is in the root.
  CHECK(total == 900);
  CHECK(all["tokensConsumed"].GetInt() == 10 + 9);
  // perPage below 50 is 50; pages are disjoint slices of the same order.
  std::vector<std::string> paged;
  for (int page = 0;; ++page) {
    auto a = finder(m,
                    R"({"rootCategory":"283155","perPage":20,"page":)"
                      + std::to_string(page) + "}",
                    t0 + 1 + page);
    REQUIRE(a.status == 200);
    auto d = parse(a.body);
    auto part = asin_list(d);
    CHECK(d["totalResults"].GetInt64() == total);
    CHECK(d["tokensConsumed"].GetInt() == (part.empty() ? 10 : 11));
    paged.insert(paged.end(), part.begin(), part.end());
    if (part.size() < 50)
      break;
    CHECK(part.size() == 50);
  }
  CHECK(paged == listed);
  // Another root matches nothing and still costs 10.
  auto none = parse(finder(m, R"({"rootCategory":[1000]})", t0 + 100).body);
  CHECK(none["asinList"].Size() == 0);
  CHECK(none["totalResults"].GetInt() == 0);
  CHECK(none["tokensConsumed"].GetInt() == 10);
}

TEST_CASE("sim finder: sales rank, used price and rank-drop filters and the "
          "sort agree with /product's stats of the same books",
          "[sim]") {
  auto o = small(1500);
  o.refill_rate = 500;
  model m{o};
  auto now = t0 + 30 * minute;
  auto sel = R"({"rootCategory":[283155],"current_SALES_gte":20000,)"
             R"("current_SALES_lte":900000,"current_USED_gte":1500,)"
             R"("current_USED_lte":6000,"salesRankDrops90_gte":2,)"
             R"("perPage":1000,"sort":[["current_SALES","desc"]]})";
  auto d = parse(finder(m, sel, now).body);
  auto found = asin_list(d);
  REQUIRE(found.size() > 10);
  auto f = facts(m, m.asins(), now);
  // Every match passes every filter, in descending rank order.
  int64_t last = INT64_MAX;
  for (auto& a : found) {
    auto& x = f.at(a);
    CHECK(x.rank >= 20000);
    CHECK(x.rank <= 900000);
    CHECK(x.used >= 1500);
    CHECK(x.used <= 6000);
    CHECK(x.drops90 >= 2);
    CHECK(x.rank <= last);
    last = x.rank;
  }
  // And no book that passes them is left out.
  size_t expected = 0;
  for (auto& [asin, x] : f)
    expected += x.rank >= 20000 && x.rank <= 900000 && x.used >= 1500
      && x.used <= 6000 && x.drops90 >= 2;
  CHECK(found.size() == expected);
  // POST with the selection as the body, on the trailing-slash path, and
  // the default order (current_SALES ascending).
  keepa::sim::request post;
  post.method = "POST";
  post.path = "/query/";
  post.query = {{"key", "sim-key"}, {"domain", "1"}};
  post.body = R"({"rootCategory":[283155],"current_USED_gte":1500,)"
              R"("current_USED_lte":6000,"perPage":60})";
  auto p = m.handle(post, now + 1);
  REQUIRE(p.status == 200);
  auto asc = asin_list(parse(p.body));
  REQUIRE(asc.size() == 60);
  for (size_t i = 1; i < asc.size(); ++i) {
    auto a = f.at(asc[i - 1]).rank;
    auto b = f.at(asc[i]).rank;
    CHECK((b < 0 || (a >= 0 && a <= b)));
  }
}

TEST_CASE("sim finder: bad queries get 400 and cost nothing", "[sim]") {
  model m{small()};
  auto left = m.balance(t0);
  for (auto sel :
       {R"({"perPage":100})",
        R"({"rootCategory":[283155],)"
        R"("page":1,"perPage":5001})",
        R"({"rootCategory":[283155],"perPage":10001})",
        R"({"rootCategory":[283155],"page":-1})",
        R"({"rootCategory":[283155],"sort":[["current_SALES","up"]]})",
        R"({"current_USED_gte":"cheap"})", "{", "[]"}) {
    INFO(sel);
    auto a = finder(m, sel, t0);
    CHECK(a.status == 400);
    CHECK(parse(a.body)["error"]["type"].GetString()
          == std::string{"REQUEST_REJECTED"});
  }
  CHECK(m.handle(get("/query", {{"domain", "1"}}), t0).status == 400);
  CHECK(
    m.handle(get("/query", {{"selection", R"({"title":"the"})"}}), t0).status
    == 400);
  CHECK(m.balance(t0) == left);
  // Strict mode rejects a field keepa-sim does not filter on; the default
  // ignores it.
  auto o = small();
  o.strict = true;
  model strict{o};
  CHECK(finder(strict, R"({"rootCategory":[283155],"brand":["x"]})", t0).status
        == 400);
  CHECK(finder(m, R"({"rootCategory":[283155],"brand":["x"]})", t0).status
        == 200);
}

TEST_CASE("sim finder: /category answers the Books tree and its parents for "
          "1 token",
          "[sim]") {
  model m{small()};
  auto ask = [&](const std::string& ids, const std::string& parents) {
    return m.handle(
      get("/category/",
          {{"domain", "1"}, {"category", ids}, {"parents", parents}}),
      t0);
  };
  auto root = ask("283155", "0");
  REQUIRE(root.status == 200);
  auto d = parse(root.body);
  CHECK(d["tokensConsumed"].GetInt() == 1);
  auto& books = d["categories"]["283155"];
  CHECK(books["catId"].GetInt64() == 283155);
  CHECK(books["name"].GetString() == std::string{"Books"});
  CHECK(books["parent"].GetInt64() == 0);
  CHECK(books["productCount"].GetInt() == 600);
  CHECK(books["children"].Size() == 10);
  CHECK(books["lowestRank"].GetInt64() <= books["highestRank"].GetInt64());
  CHECK_FALSE(d.HasMember("categoryParents"));
  // 0 = the roots; a sub-category with its parents; ids it does not know
  // are left out.
  CHECK(parse(ask("0", "0").body)["categories"].HasMember("283155"));
  auto sub = parse(ask("17,999999", "1").body);
  CHECK(sub["categories"].MemberCount() == 1);
  CHECK(sub["categories"]["17"]["parent"].GetInt64() == 283155);
  CHECK(sub["categoryParents"].HasMember("283155"));
  int counted = 0;
  for (auto& c : books["children"].GetArray()) {
    auto child = parse(ask(std::to_string(c.GetInt64()), "0").body);
    counted += child["categories"][std::to_string(c.GetInt64()).c_str()]
                    ["productCount"]
                      .GetInt();
  }
  CHECK(counted == 600);
  CHECK(ask("1,2,3,4,5,6,9,10,17,75,283155", "0").status == 400);
  CHECK(ask("books", "0").status == 400);
}

TEST_CASE("sim locales: domain and domainId select catalogues of their own "
          "with their own price levels, charged to one bucket",
          "[sim]") {
  auto o = small(800);
  o.update_rate = 0;
  o.refill_rate = 200;
  model m{o};
  auto us = m.asins();
  std::set<std::string> us_set(us.begin(), us.end());
  auto sel = R"({"rootCategory":[283155],"perPage":800})";
  std::map<std::string, std::vector<std::string>> by_domain;
  for (auto dom : {"2", "3"}) {
    auto d = parse(finder(m, sel, t0, dom).body);
    by_domain[dom] = asin_list(d);
    CHECK(by_domain[dom].size() == 800);
    for (auto& a : by_domain[dom])
      CHECK(us_set.count(a) == 0);
  }
  CHECK(by_domain["2"] != by_domain["3"]);
  // A book of the UK catalogue is unknown to amazon.com and the reverse.
  auto uk = by_domain["2"][0];
  auto ask = [&](const std::string& dom, const std::string& asin) {
    return parse(
      m.handle(get("/product", {{"domain", dom}, {"asin", asin}}), t0).body);
  };
  CHECK(ask("2", uk)["products"][0].HasMember("csv"));
  CHECK_FALSE(ask("1", uk)["products"][0].HasMember("csv"));
  CHECK_FALSE(ask("2", us[0])["products"][0].HasMember("csv"));
  // Price levels: the median used prices stand to amazon.com's as the
  // currencies' levels (GBP 0.79, EUR 0.92 per USD).
  auto median_used = [&](const std::string& dom,
                         const std::vector<std::string>& asins) {
    auto f = facts(m, asins, t0, dom);
    std::vector<int64_t> used;
    for (auto& [a, x] : f)
      if (x.used > 0)
        used.push_back(x.used);
    std::sort(used.begin(), used.end());
    return static_cast<double>(used[used.size() / 2]);
  };
  auto usd = median_used("1", us);
  auto gbp = median_used("2", by_domain["2"]);
  auto eur = median_used("3", by_domain["3"]);
  CHECK(gbp / usd == Approx(0.79).epsilon(0.15));
  CHECK(eur / usd == Approx(0.92).epsilon(0.15));
  // /deal with domainId 3 lists DE books; /seller knows DE's sellers.
  auto deals = parse(m.handle(get("/deal",
                                  {{"selection",
                                    R"({"domainId":3,"priceTypes":[2],)"
                                    R"("dateRange":3,"sortType":1})"}}),
                              t0)
                       .body);
  REQUIRE(deals["deals"]["dr"].Size() > 0);
  std::set<std::string> de(by_domain["3"].begin(), by_domain["3"].end());
  for (auto& r : deals["deals"]["dr"].GetArray())
    CHECK(de.count(r["asin"].GetString()) == 1);
  // All of it came out of the one bucket (no tick yet at t0): two finder
  // lists of 800 (18 each), three single products, 3 x 800 products with
  // stats, one deal page.
  auto spent = m.handle(get("/token", {}), t0);
  CHECK(parse(spent.body)["tokensLeft"].GetInt64()
        == 12000 - 2 * 18 - 3 - 3 * 800 - 5);
}
