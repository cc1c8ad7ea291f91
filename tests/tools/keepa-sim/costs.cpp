// Request costs per endpoint and parameter, and Keepa's errors for bad
// requests.

#include <catch2/catch.hpp>

#include "tests/support/sim_helpers.hpp"
#include "tools/keepa-sim/detail.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

int64_t consumed(const keepa::sim::answer& a) {
  auto d = parse(a.body);
  REQUIRE_FALSE(d.HasParseError());
  return d["tokensConsumed"].GetInt64();
}

keepa::sim::options quiet() {
  auto o = small();
  o.update_rate = 0;
  o.refill_rate = 100;
  return o;
}

} // namespace

TEST_CASE("sim cost: 1 per product, unknown ASINs 1 unless update=-1",
          "[sim]") {
  model m{quiet()};
  auto asins = m.asins();
  CHECK(consumed(m.handle(
          get("/product", {{"domain", "1"}, {"asin", join(asins, 37)}}), t0))
        == 37);
  auto unknown = get("/product",
                     {{"domain", "1"}, {"asin", "B000000000," + asins[0]}});
  auto a = m.handle(unknown, t0);
  CHECK(consumed(a) == 2);
  auto d = parse(a.body);
  CHECK(d["products"][0]["productType"].GetInt() == 4);
  CHECK(d["products"][1]["productType"].GetInt() == 0);
  unknown.query.emplace("update", "-1");
  CHECK(consumed(m.handle(unknown, t0 + 1)) == 1);
  // Another domain: nothing known there.
  CHECK(
    consumed(m.handle(
      get("/product", {{"domain", "3"}, {"asin", asins[0]}, {"update", "-1"}}),
      t0 + 2))
    == 0);
}

TEST_CASE("sim cost: offers cost 6 per page of up to 10 offers found "
          "instead of the 1",
          "[sim]") {
  model m{quiet()};
  auto asins = m.asins();
  int64_t t = t0;
  int checked = 0;
  for (size_t i = 0; i < 40; ++i) {
    auto a = m.handle(
      get("/product", {{"domain", "1"}, {"asin", asins[i]}, {"offers", "20"}}),
      ++t);
    REQUIRE(a.status == 200);
    auto d = parse(a.body);
    auto& p = d["products"][0];
    auto found = static_cast<int64_t>(p["liveOffersOrder"].Size());
    CHECK(found <= 20);
    // Q8: no offers found still costs one page.
    auto pages = std::max<int64_t>(1, (found + 9) / 10);
    CHECK(consumed(a) == 6 * pages);
    checked += found > 10 ? 1 : 0;
  }
  CHECK(checked > 0); // some products needed two pages
  // offers=100 on a product with many offers: ceil(found / 10) pages.
  auto a = m.handle(get("/product",
                        {{"domain", "1"},
                         {"asin", asins[0]},
                         {"offers", "100"},
                         {"only-live-offers", "1"}}),
                    ++t);
  auto d = parse(a.body);
  auto found = static_cast<int64_t>(d["products"][0]["offers"].Size());
  CHECK(found == d["products"][0]["liveOffersOrder"].Size());
  CHECK(consumed(a) == 6 * std::max<int64_t>(1, (found + 9) / 10));
}

TEST_CASE("sim cost: update=0 adds 1 only when the data is fresh; fresh "
          "offers with update=N cost 5",
          "[sim]") {
  model m{quiet()};
  auto asin = m.asins()[3];
  // The default update (1 h) refreshes stale data for free.
  CHECK(
    consumed(m.handle(get("/product", {{"domain", "1"}, {"asin", asin}}), t0))
    == 1);
  // Now the data is < 1 h old: update=0 costs the extra token.
  CHECK(consumed(m.handle(
          get("/product", {{"domain", "1"}, {"asin", asin}, {"update", "0"}}),
          t0 + minute))
        == 2);
  // Two hours later the data is stale again: no extra.
  CHECK(consumed(m.handle(
          get("/product", {{"domain", "1"}, {"asin", asin}, {"update", "0"}}),
          t0 + 130 * minute))
        == 1);
  auto offers
    = get("/product",
          {{"domain", "1"}, {"asin", asin}, {"offers", "40"}, {"update", "2"}});
  auto first = consumed(m.handle(offers, t0 + 200 * minute));
  CHECK(first % 6 == 0);
  CHECK(consumed(m.handle(offers, t0 + 210 * minute)) == 5);
  // Past the 2 h the offers are fetched again.
  CHECK(consumed(m.handle(offers, t0 + 330 * minute)) == first);
}

TEST_CASE("sim cost: buybox +2 without offers, stock +2 with fresh offers, "
          "rating +1 with fresh rating data",
          "[sim]") {
  model m{quiet()};
  auto asins = m.asins();
  CHECK(consumed(m.handle(
          get("/product",
              {{"domain", "1"}, {"asin", join(asins, 4)}, {"buybox", "1"}}),
          t0))
        == 12);
  // buybox is ignored with offers.
  auto with = consumed(m.handle(
    get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"offers", "20"}}),
    t0 + 1));
  CHECK(consumed(m.handle(get("/product",
                              {{"domain", "1"},
                               {"asin", asins[0]},
                               {"offers", "20"},
                               {"buybox", "1"}}),
                          t0 + 2))
        == with);
  // stock: every catalogue book was updated within 72 h (< 7 days).
  CHECK(consumed(m.handle(get("/product",
                              {{"domain", "1"},
                               {"asin", asins[0]},
                               {"offers", "20"},
                               {"stock", "1"}}),
                          t0 + 3))
        == with + 2);
  // rating: +1 exactly for the books whose RATING and COUNT_REVIEWS were
  // both updated within 14 days (read from the csv the answer carries).
  int fresh = 0;
  int stale = 0;
  for (size_t i = 0; i < 60; ++i) {
    auto a = m.handle(
      get("/product", {{"domain", "1"}, {"asin", asins[i]}, {"rating", "1"}}),
      t0 + 10 + static_cast<int64_t>(i));
    auto d = parse(a.body);
    auto& csv = d["products"][0]["csv"];
    auto now_km = (t0 + 10 + static_cast<int64_t>(i)) / 60000 - 21564000;
    auto recent = [&](int type) {
      if (csv[type].IsNull())
        return false;
      auto& h = csv[type];
      return h[h.Size() - 2].GetInt64() >= now_km - 14 * 1440;
    };
    bool both = recent(16) && recent(17);
    CHECK(consumed(a) == (both ? 2 : 1));
    (both ? fresh : stale) += 1;
  }
  CHECK(fresh > 0);
  CHECK(stale > 0);
}

TEST_CASE("sim cost: /deal 5 per page, /seller 1 per seller found, /token 0",
          "[sim]") {
  model m{quiet()};
  CHECK(consumed(m.handle(get("/deal", {{"selection", selection(1)}}), t0))
        == 5);
  // Even a page past the end costs 5.
  CHECK(
    consumed(m.handle(get("/deal", {{"selection", selection(1, 60)}}), t0 + 1))
    == 5);
  // Sellers: take two ids from offers, plus one unknown.
  auto a
    = m.handle(get("/product",
                   {{"domain", "1"}, {"asin", m.asins()[0]}, {"offers", "20"}}),
               t0 + 2);
  auto d = parse(a.body);
  std::vector<std::string> ids;
  for (auto& o : d["products"][0]["offers"].GetArray())
    if (ids.size() < 2
        && std::find(ids.begin(), ids.end(), o["sellerId"].GetString())
          == ids.end())
      ids.push_back(o["sellerId"].GetString());
  REQUIRE(ids.size() == 2);
  auto s
    = m.handle(get("/seller",
                   {{"domain", "1"},
                    {"seller", ids[0] + "," + ids[1] + ",AZZZZZZZZZZZZZ"}}),
               t0 + 3);
  CHECK(s.status == 200);
  CHECK(consumed(s) == 2);
  auto sd = parse(s.body);
  CHECK(sd["sellers"].MemberCount() == 2);
  CHECK(sd["sellers"][ids[0].c_str()]["sellerId"].GetString() == ids[0]);
  // A malformed id is reported in `error` of a 200.
  auto bad = m.handle(
    get("/seller", {{"domain", "1"}, {"seller", ids[0] + ",bad id"}}), t0 + 4);
  CHECK(bad.status == 200);
  CHECK(consumed(bad) == 1);
  CHECK(parse(bad.body).HasMember("error"));
  CHECK(consumed(m.handle(get("/token", {}), t0 + 5)) == 0);
}

TEST_CASE("sim errors: bad requests get Keepa's status, an error object "
          "and cost nothing",
          "[sim]") {
  model m{quiet()};
  auto asins = m.asins();
  std::vector<std::string> many;
  for (int i = 0; i < 101; ++i)
    many.push_back(asins[static_cast<size_t>(i)]);
  struct bad_case {
    keepa::sim::request req;
    int status;
    const char* type;
  };
  auto with_method = [](keepa::sim::request r, const char* method) {
    r.method = method;
    return r;
  };
  std::vector<bad_case> cases = {
    {get("/token", {}, ""), 402, "PAYMENT_REQUIRED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}}, "wrong"), 402,
     "PAYMENT_REQUIRED"},
    {get("/product", {{"domain", "1"}, {"asin", join(many, 101)}}), 400,
     "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"offers", "0"}}),
     400, "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"offers", "19"}}),
     400, "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"offers", "101"}}),
     400, "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"offers", "x"}}),
     400, "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", "12345"}}), 400,
     "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", "b00abcdefg"}}), 400,
     "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0] + ","}}), 400,
     "REQUEST_REJECTED"},
    {get("/product", {{"domain", "7"}, {"asin", asins[0]}}), 400,
     "REQUEST_REJECTED"},
    {get("/product", {{"asin", asins[0]}}), 400, "REQUEST_REJECTED"},
    {get("/product", {{"domain", "1"}, {"asin", asins[0]}, {"stats", "x"}}),
     400, "REQUEST_REJECTED"},
    {get("/product",
         {{"domain", "1"},
          {"asin", asins[0]},
          {"stats", "2026-13-01,2026-09-01"}}),
     400, "REQUEST_REJECTED"},
    {get("/product",
         {{"domain", "1"},
          {"asin", asins[0]},
          {"stats", "2026-09-01,2026-01-01"}}),
     400, "REQUEST_REJECTED"},
    {get("/deal", {{"selection", "{not json"}}), 400, "REQUEST_REJECTED"},
    {get("/deal", {{"selection", "[1,2]"}}), 400, "REQUEST_REJECTED"},
    {get("/deal", {{"selection", R"({"domainId":1})"}}), 400,
     "REQUEST_REJECTED"},
    {get("/deal", {{"selection", R"({"domainId":1,"priceTypes":[2,1]})"}}), 400,
     "REQUEST_REJECTED"},
    {get("/deal", {{"selection", selection(9)}}), 400, "REQUEST_REJECTED"},
    {get("/deal", {}), 400, "REQUEST_REJECTED"},
    {get("/deal", {{"selection", std::string(300000, '[')}}), 400,
     "REQUEST_REJECTED"},
    {get("/seller", {{"domain", "1"}, {"seller", join(many, 101)}}), 400,
     "REQUEST_REJECTED"},
    {get("/seller",
         {{"domain", "1"},
          {"seller", "A1234567890123,A1234567890124"},
          {"storefront", "1"}}),
     400, "REQUEST_REJECTED"},
    {get("/nope", {}), 404, "NOT_FOUND"},
    {with_method(get("/product", {{"domain", "1"}, {"asin", asins[0]}}),
                 "POST"),
     405, "METHOD_NOT_ALLOWED"},
  };
  int64_t t = t0;
  for (auto& c : cases) {
    CAPTURE(c.req.path, c.status);
    auto before = m.balance(t);
    auto a = m.handle(c.req, ++t);
    CHECK(a.status == c.status);
    auto d = parse(a.body);
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.HasMember("error"));
    CHECK(std::string{d["error"]["type"].GetString()} == c.type);
    CHECK(d["tokensConsumed"].GetInt64() == 0);
    CHECK(m.balance(t) == before);
  }
}

TEST_CASE("sim errors: strict mode rejects unknown parameters and numeric "
          "strings that the lenient default accepts",
          "[sim]") {
  auto o = quiet();
  auto asin = model{o}.asins()[0];
  auto odd = get("/product",
                 {{"domain", "1"},
                  {"asin", asin},
                  {"offers", "20"},
                  {"only_live_offers", "1"}});
  auto stringly = get("/deal",
                      {{"selection",
                        R"({"domainId":"1","priceTypes":[2],)"
                        R"("sortType":"1","dateRange":4})"}});
  model lenient{o};
  CHECK(lenient.handle(odd, t0).status == 200);
  CHECK(lenient.handle(stringly, t0 + 1).status == 200);
  o.strict = true;
  model strict{o};
  CHECK(strict.handle(odd, t0).status == 400);
  CHECK(strict.handle(stringly, t0 + 1).status == 400);
  CHECK(
    strict.handle(get("/deal", {{"selection", selection(1)}}), t0 + 2).status
    == 200);
}
