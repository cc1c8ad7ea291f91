// Request shapes of Keepa's public clients, replayed byte for byte over
// loopback with libcurl, and the answers checked field by field against
// what each client parses. The shapes and where they come from are listed
// in tools/keepa-sim/README.md ("Clients checked"):
//   Java  keepacom/api_backend 8a8bc62: KeepaAPI.sendRequest builds
//         "https://api.keepa.com/" + path + "?key=" + key + "&" + query,
//         POSTs postData as application/json, sends Accept-Encoding: gzip
//         and always gunzips (errors too).
//   PHP   keepacom/php_api 7770c79: KeepaAPI::sendRequest builds
//         path + "/?key=" + key + "&" + http_build_query(...), POSTs with
//         CURLOPT_POSTFIELDS (form content type), CURLOPT_ENCODING gzip.
//   PY    akaszynski/keepa 2a67d44: Keepa._request GETs
//         "https://api.keepa.com/" + type + "/?" with requests' params.

#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <string>
#include <vector>

#include "tests/support/sim_helpers.hpp"
#include "tests/tools/keepa-sim/live_server.hpp"

using namespace sim_test;

namespace {

struct reply {
  long status = 0;
  std::string body;
  std::string content_encoding;
};

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  std::string line{data, size * n};
  static const std::string name = "content-encoding:";
  if (line.size() > name.size()) {
    auto head = line.substr(0, name.size());
    for (auto& c : head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == name) {
      auto v = line.substr(name.size());
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t\r\n") + 1);
      *static_cast<std::string*>(out) = v;
    }
  }
  return size * n;
}

/// How a client asks: its headers and how it decodes the answer.
enum class client { java, php, py };

/// One request as `who` sends it: `target` is the path and query exactly
/// as the client builds them; a non-empty `post` is sent as the body.
reply send(int port, client who, const std::string& target,
           const std::string& post = "") {
  CURL* c = curl_easy_init();
  REQUIRE(c);
  reply r;
  auto url = "http://127.0.0.1:" + std::to_string(port) + target;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.content_encoding);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_slist* headers = nullptr;
  switch (who) {
    case client::java:
      // HttpsURLConnection with these request properties; the body is
      // gunzipped by the client itself.
      headers = curl_slist_append(headers, "User-Agent: KEEPA-JAVA Framework-");
      headers = curl_slist_append(headers, "Accept-Encoding: gzip");
      if (!post.empty())
        headers = curl_slist_append(
          headers, "Content-Type: application/json; charset=UTF-8");
      break;
    case client::php:
      // CURLOPT_ENCODING 'gzip'; CURLOPT_POSTFIELDS with a string posts
      // application/x-www-form-urlencoded.
      curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
      curl_easy_setopt(c, CURLOPT_USERAGENT, "KEEPA-PHP Framework-2.0.3");
      break;
    case client::py:
      // requests sends Accept-Encoding: gzip, deflate and decodes it.
      curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
      curl_easy_setopt(c, CURLOPT_USERAGENT, "python-requests/2.31.0");
      break;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!post.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(post.size()));
  }
  auto rc = curl_easy_perform(c);
  INFO(curl_easy_strerror(rc));
  REQUIRE(rc == CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (who == client::java) {
    // The Java client wraps every answer in GZIPInputStream.
    CHECK(r.content_encoding == "gzip");
    r.body = gunzip(r.body);
  }
  return r;
}

keepa::sim::options live(int products = 400) {
  keepa::sim::options o;
  o.products = products;
  return o;
}

/// The envelope fields every client maps (Java Response, PHP Response,
/// PY Keepa._request), with the types they read them as.
void check_envelope(const rapidjson::Document& d) {
  REQUIRE(d.IsObject());
  CHECK(d["timestamp"].IsInt64());
  CHECK(d["tokensLeft"].IsInt()); // Java int
  CHECK(d["refillIn"].IsInt());
  CHECK(d["refillRate"].IsInt());
  CHECK(d["tokenFlowReduction"].IsNumber()); // Java double
  CHECK(d["tokensConsumed"].IsInt());
  CHECK(d["processingTimeInMs"].IsInt());
}

} // namespace

TEST_CASE("sim conformance: /token as each client asks for it, with and "
          "without a trailing slash",
          "[sim]") {
  // Keepa ignores what it does not know; --sim.strict rejects it, and
  // the clients' shapes pass both.
  auto o = live();
  o.strict = GENERATE(false, true);
  live_server s{o};
  struct shape {
    client who;
    std::string target;
  };
  // Java: "token?key=K&" (an empty query leaves the '&'); PHP: "token/?key=
  // K&"; PY: "token/?" with params {key}.
  std::vector<shape> shapes{{client::java, "/token?key=sim-key&"},
                            {client::php, "/token/?key=sim-key&"},
                            {client::py, "/token/?key=sim-key"}};
  for (auto& sh : shapes) {
    INFO(sh.target);
    auto r = send(s.port, sh.who, sh.target);
    CHECK(r.status == 200);
    auto d = parse(r.body);
    check_envelope(d);
    CHECK(d["tokensConsumed"].GetInt() == 0);
  }
}

namespace {

/// Percent-encodes a query value as `who` does: Java's URLEncoder and
/// PHP's urlencode keep letters, digits and ".-_" (Java also '*'),
/// Python's requests also '~'; all write a space as '+'.
std::string enc(client who, const std::string& s) {
  std::string out;
  char hex[4];
  for (unsigned char c : s) {
    bool keep = std::isalnum(c) || c == '.' || c == '-' || c == '_'
      || (who == client::java && c == '*') || (who == client::py && c == '~');
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      std::snprintf(hex, sizeof(hex), "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

/// The path as `who` builds it: Java "path?key=K&" + query, PHP "path/?key=
/// K&" + query, Python "path/?" + its params (key among them, in dict
/// order).
std::string target(client who, const std::string& path,
                   const std::vector<std::pair<std::string, std::string>>& q) {
  std::string query;
  for (auto& [k, v] : q)
    query += (query.empty() ? "" : "&") + k + "=" + enc(who, v);
  switch (who) {
    case client::java: return "/" + path + "?key=sim-key&" + query;
    case client::php: return "/" + path + "/?key=sim-key&" + query;
    default: return "/" + path + "/?" + query;
  }
}

bool is_int_array(const rapidjson::Value& v) {
  if (!v.IsArray())
    return false;
  for (auto& x : v.GetArray())
    if (!x.IsInt())
      return false;
  return true;
}

/// A product as Java's Product / Stats / Offer and PHP's objects map it:
/// csv int[][] (null or [time, value, ...], triples for the shipping
/// types), stats arrays of int, offers with offerCSV.
void check_product(const rapidjson::Value& p, bool stats, bool offers) {
  REQUIRE(p.IsObject());
  CHECK(p["asin"].IsString());
  CHECK(p["domainId"].IsInt());
  CHECK(p["productType"].IsInt());
  CHECK(p["title"].IsString());
  CHECK(p["rootCategory"].IsInt64());
  CHECK(p["lastUpdate"].IsInt());
  REQUIRE(p["csv"].IsArray());
  int type = 0;
  for (auto& h : p["csv"].GetArray()) {
    bool triple = (type >= 18 && type <= 29) || type == 32 || type == 7;
    if (!h.IsNull()) {
      CHECK(is_int_array(h));
      CHECK(h.Size() % (triple ? 3 : 2) == 0);
      auto a = h.GetArray();
      for (rapidjson::SizeType i = triple ? 3 : 2; i < a.Size();
           i += triple ? 3 : 2)
        CHECK(a[i].GetInt() >= a[i - (triple ? 3 : 2)].GetInt());
    }
    ++type;
  }
  if (stats) {
    auto& s = p["stats"];
    REQUIRE(s.IsObject());
    for (auto f : {"current", "avg", "avg30", "avg90", "avg180"})
      CHECK(is_int_array(s[f]));
    CHECK(s["salesRankDrops90"].IsInt());
    CHECK(s["min"].IsArray());
  }
  if (offers) {
    REQUIRE(p["offers"].IsArray());
    CHECK(is_int_array(p["liveOffersOrder"]));
    for (auto& o : p["offers"].GetArray()) {
      CHECK(o["sellerId"].IsString());
      CHECK(o["condition"].IsInt());
      CHECK(o["isFBA"].IsBool());
      CHECK(is_int_array(o["offerCSV"]));
    }
  }
}

/// A /deal page as Java's DealResponse / Deal map it (deltaPercent short,
/// image byte, warehouseCondition byte; the category arrays parallel).
void check_deals(const rapidjson::Value& deals) {
  REQUIRE(deals.IsObject());
  REQUIRE(deals["dr"].IsArray());
  for (auto& d : deals["dr"].GetArray()) {
    CHECK(d["asin"].IsString());
    CHECK(d["rootCat"].IsInt64());
    CHECK(d["creationDate"].IsInt());
    CHECK(d["lastUpdate"].IsInt());
    CHECK(d["minRating"].IsInt());
    CHECK(d["warehouseCondition"].IsInt());
    for (auto& b : d["image"].GetArray())
      CHECK((b.IsInt() && b.GetInt() >= -128 && b.GetInt() <= 127));
    CHECK(is_int_array(d["current"]));
    CHECK(is_int_array(d["currentSince"]));
    CHECK(is_int_array(d["deltaLast"]));
    for (auto f : {"avg", "delta", "deltaPercent"}) {
      REQUIRE(d[f].IsArray());
      CHECK(d[f].Size() == 4);
      for (auto& row : d[f].GetArray())
        CHECK(is_int_array(row));
    }
    for (auto& row : d["deltaPercent"].GetArray())
      for (auto& x : row.GetArray())
        CHECK((x.GetInt() >= -32768 && x.GetInt() <= 32767));
  }
  auto n = deals["categoryIds"].Size();
  CHECK(deals["categoryNames"].Size() == n);
  CHECK(deals["categoryCount"].Size() == n);
}

} // namespace

TEST_CASE("sim conformance: /product as each client asks for it", "[sim]") {
  auto o = live();
  o.refill_rate = 100;
  o.strict = GENERATE(false, true);
  live_server s{o};
  auto asins = s.model.asins();
  auto two = asins[1] + "," + asins[2];
  auto isbn13 = "978" + asins[3].substr(0, 9) + "0"; // check digit unchecked
  struct shape {
    client who;
    std::string target;
    bool stats;
    bool offers;
  };
  std::vector<shape> shapes{
    // Java Request.getProductRequest(domain, stats, offers, asins...).
    {client::java,
     target(
       client::java, "product",
       {{"asin", two}, {"domain", "1"}, {"stats", "90"}, {"offers", "20"}}),
     true, true},
    // Java getProductRequest(..., buybox, update, history, placeholder,
    // rating, videos, aplus, stock, onlyLiveOffers, days, asins): days=0.
    {client::java,
     target(client::java, "product",
            {{"asin", two},
             {"domain", "1"},
             {"update", "-1"},
             {"history", "1"},
             {"rating", "1"},
             {"buybox", "0"},
             {"videos", "0"},
             {"aplus", "0"},
             {"stock", "0"},
             {"only-live-offers", "1"},
             {"days", "0"},
             {"stats", "1790000000000,1790600000000"},
             {"offers", "20"}}),
     true, true},
    // Java getProductByCodeRequest(domain, stats, offers, codes...).
    {client::java,
     target(client::java, "product",
            {{"code", isbn13}, {"domain", "1"}, {"stats", "30"}}),
     true, false},
    // PHP Request::getProductRequest(1, 0, null, null, 0, false, asins).
    {client::php,
     target(
       client::php, "product",
       {{"asin", two}, {"domain", "1"}, {"update", "0"}, {"history", "0"}}),
     false, false},
    // PHP getDetailedProductRequest(1, 20, "2025-12-31", "2026-09-01",
    // false, 1, true, false, true, false, true, 0, asins).
    {client::php,
     target(client::php, "product",
            {{"asin", two},
             {"domain", "1"},
             {"buybox", "0"},
             {"update", "1"},
             {"rating", "1"},
             {"fbafees", "0"},
             {"only-live-offers", "1"},
             {"history", "1"},
             {"days", "0"},
             {"stats", "2025-12-31,2026-09-01"},
             {"offers", "20"}}),
     true, true},
    // PY Keepa.query(items, stats=90, offers=20): the kwargs in order,
    // None dropped, booleans as 0/1, then asin and key.
    {client::py,
     target(client::py, "product",
            {{"stats", "90"},
             {"domain", "1"},
             {"stock", "0"},
             {"offers", "20"},
             {"history", "1"},
             {"rating", "0"},
             {"buybox", "0"},
             {"videos", "0"},
             {"aplus", "0"},
             {"asin", two},
             {"key", "sim-key"}}),
     true, true},
    // PY Keepa.query(items, history=False, only_live_offers=True, days=7).
    {client::py,
     target(client::py, "product",
            {{"domain", "1"},
             {"stock", "0"},
             {"history", "0"},
             {"rating", "0"},
             {"buybox", "0"},
             {"days", "7"},
             {"videos", "0"},
             {"aplus", "0"},
             {"only-live-offers", "1"},
             {"asin", two},
             {"key", "sim-key"}}),
     false, false},
  };
  for (auto& sh : shapes) {
    INFO(sh.target);
    auto r = send(s.port, sh.who, sh.target);
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    check_envelope(d);
    REQUIRE(d["products"].IsArray());
    for (auto& p : d["products"].GetArray())
      if (p.HasMember("csv"))
        check_product(p, sh.stats, sh.offers);
  }
}

TEST_CASE("sim conformance: /deal, /query, /category and /seller as each "
          "client asks for them",
          "[sim]") {
  auto o = live(600);
  o.refill_rate = 100;
  o.strict = GENERATE(false, true);
  live_server s{o};
  // Java DealRequest through gson: every primitive field, no null ones.
  auto java_deal = R"({"page":0,"domainId":1,"priceTypes":[2],)"
                   R"("isLowest":false,"isLowest90":false,"isLowestOffer":)"
                   R"(false,"dateRange":3,"isBackInStock":false,)"
                   R"("isOutOfStock":false,"isRangeEnabled":false,)"
                   R"("filterErotic":false,"sortType":1,"isFilterEnabled":)"
                   R"(false,"hasReviews":false,"isPrimeExclusive":false,)"
                   R"("mustHaveAmazonOffer":false,"mustNotHaveAmazonOffer":)"
                   R"(false})";
  // PHP DealRequest through json_encode: every property, nulls included
  // (the shape of php_api's DealRequestTest).
  auto php_deal = R"({"page":0,"domainId":1,"priceTypes":[2],"dateRange":3,)"
                  R"("deltaRange":[0,10000],"excludeCategories":[1064954,)"
                  R"(11091801],"includeCategories":[283155],)"
                  R"("deltaPercentRange":[20,100],"currentRange":[500,40000],)"
                  R"("isLowest":false,"titleSearch":null,"isLowestOffer":)"
                  R"(false,"isBackInStock":false,"isOutOfStock":false,)"
                  R"("isRangeEnabled":true,"filterErotic":true,"sortType":4,)"
                  R"("salesRankRange":[0,4000000],"isFilterEnabled":false,)"
                  R"("deltaLastRange":null,"hasReviews":true,)"
                  R"("isPrimeExclusive":null,"mustHaveAmazonOffer":null,)"
                  R"("mustNotHaveAmazonOffer":null,"minRating":null,)"
                  R"("warehouseConditions":null,"singleVariation":null,)"
                  R"("material":null,"brand":null,"author":null,)"
                  R"("binding":null,"isHighest":false,"isRisers":false})";
  // PY Keepa.deals({"page": 0, "domainId": 1, "dateRange": 3,
  // "sortType": 1}) through json.dumps, with the default "priceTypes": 0.
  auto py_deal = R"({"page": 0, "domainId": 1, "dateRange": 3, )"
                 R"("sortType": 1, "priceTypes": 0})";
  // Product Finder: Java gson of ProductFinderRequest (rootCategory
  // String[], perPage and page last), PHP json_encode of the non-null
  // properties (rootCategory a long), PY json.dumps of ProductParams
  // (perPage and page by default).
  auto java_query = R"({"rootCategory":["283155"],"current_SALES_gte":1000,)"
                    R"("current_SALES_lte":5000000,"sort":[["current_SALES",)"
                    R"("asc"]],"perPage":100,"page":0})";
  auto php_query = R"({"rootCategory":283155,"current_USED_gte":500,)"
                   R"("sort":[["current_USED","desc"]],"perPage":50,)"
                   R"("page":0})";
  auto py_query = R"({"rootCategory": ["283155"], "current_SALES_lte": )"
                  R"(5000000, "sort": [["current_SALES", "asc"]], )"
                  R"("perPage": 50, "page": 0})";
  struct shape {
    client who;
    std::string target;
    std::string post;
    std::string payload;
  };
  std::vector<shape> shapes{
    {client::java, "/deal?key=sim-key&", java_deal, "deals"},
    {client::php, "/deal/?key=sim-key&", php_deal, "deals"},
    {client::py,
     target(client::py, "deal",
            {{"key", "sim-key"}, {"domain", "1"}, {"selection", py_deal}}),
     "", "deals"},
    {client::java,
     target(client::java, "query",
            {{"domain", "1"}, {"selection", java_query}}),
     "", "asinList"},
    {client::php,
     target(client::php, "query", {{"domain", "1"}, {"selection", php_query}}),
     "", "asinList"},
    {client::py,
     target(client::py, "query",
            {{"key", "sim-key"}, {"domain", "1"}, {"selection", py_query}}),
     "", "asinList"},
    {client::java,
     target(client::java, "category",
            {{"category", "283155"}, {"domain", "1"}, {"parents", "1"}}),
     "", "categories"},
    {client::php,
     target(client::php, "category",
            {{"category", "17"}, {"domain", "1"}, {"parents", "1"}}),
     "", "categories"},
    {client::py,
     target(client::py, "category",
            {{"key", "sim-key"},
             {"domain", "1"},
             {"category", "0"},
             {"parents", "0"}}),
     "", "categories"},
  };
  for (auto& sh : shapes) {
    INFO(sh.target << " " << sh.post);
    auto r = send(s.port, sh.who, sh.target, sh.post);
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    check_envelope(d);
    if (sh.payload == "deals") {
      check_deals(d["deals"]);
      CHECK(d["deals"]["dr"].Size() > 0);
    } else if (sh.payload == "asinList") {
      // Java String[] asinList, Integer totalResults.
      REQUIRE(d["asinList"].IsArray());
      CHECK(d["asinList"].Size() > 0);
      for (auto& a : d["asinList"].GetArray())
        CHECK(a.IsString());
      CHECK(d["totalResults"].IsInt());
    } else {
      // Java HashMap<Long, Category>: keys are numbers as text.
      REQUIRE(d["categories"].IsObject());
      CHECK(d["categories"].MemberCount() > 0);
      for (auto& m : d["categories"].GetObject()) {
        CHECK(std::all_of(m.name.GetString(),
                          m.name.GetString() + m.name.GetStringLength(),
                          [](char c) { return std::isdigit(c) != 0; }));
        CHECK(m.value["catId"].IsInt64());
        CHECK(m.value["domainId"].IsInt());
        CHECK(m.value["parent"].IsInt64());
        CHECK(m.value["productCount"].IsInt());
        CHECK(m.value["isBrowseNode"].IsBool());
        for (auto& c : m.value["children"].GetArray())
          CHECK(c.IsInt64());
      }
    }
  }
  // /seller: the ids a /product with offers names.
  auto p = parse(
    send(
      s.port, client::java,
      target(client::java, "product",
             {{"asin", s.model.asins()[0]}, {"domain", "1"}, {"offers", "20"}}))
      .body);
  std::string id = p["products"][0]["offers"][0]["sellerId"].GetString();
  std::string id2 = p["products"][0]["offers"].Size() > 1
    ? p["products"][0]["offers"][1]["sellerId"].GetString()
    : id;
  std::vector<std::pair<client, std::string>> sellers{
    {client::java,
     target(client::java, "seller",
            {{"domain", "1"}, {"seller", id + "," + id2}})},
    {client::java,
     target(client::java, "seller",
            {{"domain", "1"}, {"seller", id}, {"storefront", "1"}})},
    {client::php,
     target(client::php, "seller", {{"domain", "1"}, {"seller", id}})},
    {client::py,
     target(client::py, "seller",
            {{"key", "sim-key"}, {"domain", "1"}, {"seller", id}})},
  };
  for (auto& [who, t] : sellers) {
    INFO(t);
    auto r = send(s.port, who, t);
    REQUIRE(r.status == 200);
    auto d = parse(r.body);
    check_envelope(d);
    // Java HashMap<String, Seller>.
    REQUIRE(d["sellers"].IsObject());
    REQUIRE(d["sellers"].HasMember(id.c_str()));
    auto& sv = d["sellers"][id.c_str()];
    CHECK(sv["sellerId"].GetString() == id);
    CHECK(sv["sellerName"].IsString());
    CHECK(sv["domainId"].IsInt());
    CHECK(sv["csv"].IsArray());
  }
}
