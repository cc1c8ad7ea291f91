// The KEEPA CLIENT's request mapping, without an actor: typed queries to
// Keepa's paths and parameter spellings, and the checks that refuse a
// request before any token is spent.

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "actors/client/costs.hpp"
#include "actors/client/request.hpp"
#include "messages/keepa.hpp"

using namespace keepa;

namespace {

/// The value of parameter `name`, or "<absent>".
std::string param(const http_request& r, const std::string& name) {
  for (auto& kvp : r.query)
    if (kvp.first == name)
      return kvp.second;
  return "<absent>";
}

} // namespace

TEST_CASE("a product query maps to GET /product with Keepa's spellings",
          "[client][request]") {
  product_query q;
  q.domain = 3;
  q.asins = {"B000000001", "B000000002"};
  q.stats = "365";
  q.history = false;
  q.offers = 20;
  q.only_live_offers = true;
  q.update = 0;
  auto r = to_request(q);
  CHECK(r.method == "GET");
  CHECK(r.path == "/product");
  CHECK(param(r, "domain") == "3");
  CHECK(param(r, "asin") == "B000000001,B000000002");
  CHECK(param(r, "stats") == "365");
  CHECK(param(r, "history") == "0");
  CHECK(param(r, "offers") == "20");
  CHECK(param(r, "only-live-offers") == "1");
  CHECK(param(r, "update") == "0");
  CHECK(param(r, "key") == "<absent>");
  CHECK(render_target(r)
        == "/product?domain=3&asin=B000000001,B000000002&stats=365"
           "&history=0&offers=20&only-live-offers=1&update=0");
}

TEST_CASE("parameters left at their defaults are not sent",
          "[client][request]") {
  product_query q;
  q.asins = {"B000000001"};
  auto r = to_request(q);
  // offers=0 is refused by Keepa, so 0 means "omit"; history defaults on.
  CHECK(param(r, "offers") == "<absent>");
  CHECK(param(r, "history") == "<absent>");
  CHECK(param(r, "stats") == "<absent>");
  CHECK(param(r, "days") == "<absent>");
  CHECK(param(r, "update") == "<absent>");
  CHECK(param(r, "rating") == "<absent>");
}

TEST_CASE("a deal query overrides the selection's page and sortType",
          "[client][request]") {
  deal_query q;
  q.selection = R"({"domainId":1,"page":7,"priceTypes":[2]})";
  q.page = 3;
  q.sort_type = 1;
  auto r = to_request(q);
  REQUIRE(r);
  CHECK(r->method == "POST");
  CHECK(r->path == "/deal");
  rapidjson::Document doc;
  doc.Parse(r->body.c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc["page"].GetInt() == 3);
  CHECK(doc["sortType"].GetInt() == 1);
  CHECK(doc["domainId"].GetInt() == 1);
  CHECK(doc["priceTypes"][0].GetInt() == 2);
  q.selection = "[1, 2]";
  CHECK_FALSE(to_request(q));
}

TEST_CASE("a seller query maps to GET /seller", "[client][request]") {
  seller_query q;
  q.seller_ids = {"A1", "A2"};
  q.storefront = true;
  auto r = to_request(q);
  CHECK(r.path == "/seller");
  CHECK(param(r, "seller") == "A1,A2");
  CHECK(param(r, "storefront") == "1");
}

TEST_CASE("product queries Keepa would refuse are refused before spending",
          "[client][request]") {
  product_query q;
  CHECK(check(q)); // no ASIN
  q.asins.assign(101, "B000000001");
  CHECK(check(q));
  q.asins.resize(100);
  CHECK_FALSE(check(q));
  q.offers = 19;
  CHECK(check(q));
  q.offers = 101;
  CHECK(check(q));
  q.offers = 100;
  CHECK_FALSE(check(q));
}

// Issue 21: Product Finder, GET /query?domain=D&selection=JSON (Keepa's
// documented GET form), 10 tokens plus 1 per 100 ASINs a page may list.
TEST_CASE("a finder query maps to GET /query with page and perPage set",
          "[client][request][finder]") {
  finder_query q;
  q.domain = 3;
  q.selection = R"({"rootCategory":[283155],"page":9,"perPage":60})";
  q.page = 2;
  q.per_page = 250;
  auto r = to_request(q);
  REQUIRE(r);
  CHECK(r->method == "GET");
  CHECK(r->path == "/query");
  CHECK(param(*r, "domain") == "3");
  rapidjson::Document doc;
  doc.Parse(param(*r, "selection").c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc["page"].GetInt() == 2);
  CHECK(doc["perPage"].GetInt() == 250);
  CHECK(doc["rootCategory"][0].GetInt64() == 283155);
  CHECK(worst_case_cost(q) == 13);
  q.per_page = 10000;
  CHECK(worst_case_cost(q) == 110);
  q.per_page = 49;
  CHECK_FALSE(to_request(q));
  q.per_page = 50;
  q.selection = "[1]";
  CHECK_FALSE(to_request(q));
}
