// The answer parser: shapes Keepa sends, and shapes it should not.

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include <caf/deep_to_string.hpp>

#include "actors/client/parse.hpp"
#include "messages/asin.hpp"
#include "messages/error.hpp"
#include "tools/keepa-sim/model.hpp"

using namespace keepa;

namespace {

const std::string envelope_json
  = R"("timestamp":1790000000000,"tokensLeft":120,"refillIn":4000,)"
    R"("refillRate":5,"tokenFlowReduction":0.0,"tokensConsumed":3,)"
    R"("processingTimeInMs":12)";

std::string answer(const std::string& payload) {
  return "{" + envelope_json + (payload.empty() ? "" : "," + payload) + "}";
}

template<class F>
auto parse(std::string body, F f, int32_t status = 200) {
  return f(body, status, answer_limits{});
}

} // namespace

TEST_CASE("the envelope of any answer", "[client][parse]") {
  auto p = parse(answer(""), parse_envelope);
  REQUIRE_FALSE(p.err);
  REQUIRE(p.envelope_ok);
  CHECK(p.page.timestamp_ms == 1790000000000);
  CHECK(p.page.tokens_left == 120);
  CHECK(p.page.refill_in_ms == 4000);
  CHECK(p.page.refill_rate == 5);
  CHECK(p.page.tokens_consumed == 3);
  CHECK(p.page.http_status == 200);
  // A fractional balance is rounded down, never up.
  auto frac = parse(R"({"timestamp":1,"tokensLeft":54.5})", parse_envelope);
  CHECK(frac.page.tokens_left == 54);
  auto neg = parse(R"({"timestamp":1,"tokensLeft":-0.5})", parse_envelope);
  CHECK(neg.page.tokens_left == -1);
  // An error answer keeps type and message.
  auto err = parse(answer(R"("error":{"type":"NOT_ENOUGH_TOKEN",)"
                          R"("message":"no tokens"})"),
                   parse_envelope, 429);
  REQUIRE_FALSE(err.err);
  CHECK(err.page.error_type == "NOT_ENOUGH_TOKEN");
  CHECK(err.page.error_message == "no tokens");
  CHECK(err.page.http_status == 429);
  // An error page from a proxy: no envelope, but no crash either.
  auto html = parse("<html>bad gateway</html>", parse_envelope, 502);
  CHECK_FALSE(html.envelope_ok);
  CHECK(html.err == ec::malformed_answer);
}

TEST_CASE("a product with missing and short fields", "[client][parse]") {
  auto body = answer(R"("products":[{"asin":"0123456789","title":"T",)"
                     R"("csv":[null,[1,2000,5,-1],null],)"
                     R"("stats":{"current":[-1,2500,1800],"avg90":[1,2,3],)"
                     R"("min":[null,[10,2400]],"salesRankDrops365":4},)"
                     R"("fbaFees":{"pickAndPackFee":306},)"
                     R"("referralFeePercentage":15.0},)"
                     R"({"asin":"1234567890"}])");
  auto p = parse(body, parse_product_page);
  REQUIRE_FALSE(p.err);
  REQUIRE(p.page.products.size() == 2);
  auto& a = p.page.products[0];
  CHECK(a.asin == "0123456789");
  CHECK(a.has_stats);
  CHECK(a.stats.current == std::vector<int32_t>{-1, 2500, 1800});
  CHECK(a.stats.min == std::vector<int32_t>{-1, 2400});
  CHECK(a.stats.avg365.empty());
  CHECK(a.stats.sales_rank_drops365 == 4);
  CHECK(a.stats.sales_rank_drops90 == -1);
  CHECK(a.stats.total_offer_count == -2);
  CHECK(a.fba_pick_pack_fee == 306);
  CHECK(a.referral_fee_percentage == Approx(15.0));
  auto& b = p.page.products[1];
  CHECK_FALSE(b.has_stats);
  CHECK_FALSE(b.has_offers);
  CHECK(b.fba_pick_pack_fee == -1);
  CHECK(b.referral_fee_percentage == -1);
}

TEST_CASE("live offers are summarized through liveOffersOrder",
          "[client][parse]") {
  auto body = answer(
    R"("products":[{"asin":"0123456789","offersSuccessful":true,)"
    R"("offers":[{"condition":2,"offerCSV":[1,900,399]},)"
    R"({"condition":3,"isFBA":true,"offerCSV":[1,700,0,2,650,0]},)"
    R"({"condition":1,"offerCSV":[1,1500,-1]},)"
    R"({"condition":3,"offerCSV":[1,100,0]}],)"
    R"("liveOffersOrder":[1,0,2]}])");
  auto p = parse(body, parse_product_page);
  REQUIRE_FALSE(p.err);
  auto& o = p.page.products[0].offers;
  CHECK(p.page.products[0].offers_successful);
  CHECK(o.live == 3);
  CHECK(o.used == 2);
  CHECK(o.new_ == 1);
  CHECK(o.fba == 1);
  // The historical offer at index 3 (100) is not live.
  CHECK(o.lowest_by_condition[3] == 650);
  CHECK(o.lowest_by_condition[2] == 1299);
  CHECK(o.lowest_by_condition[1] == 1500);
  CHECK(o.lowest_by_condition[4] == -1);
}

TEST_CASE("deals and sellers", "[client][parse]") {
  auto deals = parse(answer(R"("deals":{"dr":[{"asin":"0123456789",)"
                            R"("lastUpdate":8000000,"creationDate":7999000,)"
                            R"("rootCat":283155,"current":[-1,2000,1500],)"
                            R"("avg":[[1,2,3],[4,5,6]],"deltaLast":[0,0,-5]}],)"
                            R"("categoryIds":[283155]})"),
                     parse_deal_page);
  REQUIRE_FALSE(deals.err);
  REQUIRE(deals.page.deals.size() == 1);
  auto& d = deals.page.deals[0];
  CHECK(d.last_update == 8000000);
  CHECK(d.current == std::vector<int32_t>{-1, 2000, 1500});
  // Two date ranges only: no 90-day row.
  CHECK(d.avg90.empty());
  // Of the four date ranges (day, week, month, 90 days) the 90-day row is
  // kept.
  auto four
    = parse(answer(R"("deals":{"dr":[{"asin":"0123456789",)"
                   R"("lastUpdate":8000000,"current":[1,2,3],)"
                   R"("avg":[[1,2,3],[4,5,6],[7,8,9],[10,null,12]]}]})"),
            parse_deal_page);
  REQUIRE(four.page.deals.size() == 1);
  CHECK(four.page.deals[0].avg90 == std::vector<int32_t>{10, -1, 12});
  auto sellers = parse(answer(R"("sellers":{"AX1":{"sellerName":"S",)"
                              R"("csv":[[1,90,2,95],[1,10,2,12]],)"
                              R"("hasFBA":true}})"),
                       parse_seller_page);
  REQUIRE_FALSE(sellers.err);
  REQUIRE(sellers.page.sellers.size() == 1);
  auto& s = sellers.page.sellers[0];
  CHECK(s.seller_id == "AX1");
  CHECK(s.rating == 95);
  CHECK(s.rating_count == 12);
  CHECK(s.has_fba);
  CHECK(s.total_storefront_asins == -1);
}

// Issue 16, item 7: 1 M nesting levels in a 2 MB body crashed the process
// (SIGSEGV in RapidJSON's recursive parser).
TEST_CASE("deeply nested answers are errors, never crashes",
          "[client][parse]") {
  constexpr size_t depth = 1000000;
  auto nested = [](const std::string& open, const std::string& close) {
    std::string body;
    body.reserve(depth * (open.size() + close.size()) + 64);
    for (size_t i = 0; i < depth; ++i)
      body += open;
    for (size_t i = 0; i < depth; ++i)
      body += close;
    return body;
  };
  auto arrays = nested("[", "]");
  CHECK(parse(arrays, parse_product_page).err == ec::malformed_answer);
  CHECK(parse(arrays, parse_deal_page).err == ec::malformed_answer);
  // Deep inside an otherwise well-formed answer, and cut off half-way.
  auto inner = R"({"timestamp":1,"tokensLeft":5,"products":)" + nested("[", "]")
    + "}";
  CHECK(parse(inner, parse_product_page).err == ec::malformed_answer);
  auto cut = R"({"timestamp":1,"tokensLeft":5,"deals":)"
    + nested("{\"a\":", "}");
  cut.resize(cut.size() / 2);
  CHECK(parse(cut, parse_deal_page).err == ec::malformed_answer);
}

TEST_CASE("malformed answers are errors, never crashes", "[client][parse]") {
  const char* bodies[] = {
    "",
    "{",
    "[1,2,3]",
    "null",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"asin":"0123456789")",
    R"({"tokensLeft":5,"products":[]})",
    R"({"timestamp":1,"tokensLeft":5})",
    R"({"timestamp":1,"tokensLeft":5,"products":{}})",
  };
  for (auto* body : bodies) {
    INFO(body);
    auto p = parse(body, parse_product_page);
    CHECK(p.err == ec::malformed_answer);
  }
  // The envelope of a broken payload is still usable for settling.
  auto p = parse(R"({"timestamp":1,"tokensLeft":5,"products":{}})",
                 parse_product_page);
  CHECK(p.envelope_ok);
  CHECK(p.page.env.tokens_left == 5);
  // A malformed product is left out, the answer stays.
  const char* bad_products[] = {
    R"({"timestamp":1,"tokensLeft":5,"products":[7]})",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"title":"no asin"}]})",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"asin":"0123456789",)"
    R"("csv":{"a":1}}]})",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"asin":"0123456789",)"
    R"("csv":[["x"]]}]})",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"asin":"0123456789",)"
    R"("offers":[],"liveOffersOrder":[3]}]})",
    R"({"timestamp":1,"tokensLeft":5,"products":[{"asin":"0123456789",)"
    R"("stats":[1]}]})",
  };
  for (auto* body : bad_products) {
    INFO(body);
    auto q = parse(body, parse_product_page);
    CHECK_FALSE(q.err);
    CHECK(q.page.products.empty());
    CHECK(q.skipped == 1);
  }
  const char* deal_bodies[] = {
    R"({"timestamp":1,"tokensLeft":5})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":{}}})",
  };
  for (auto* body : deal_bodies) {
    INFO(body);
    CHECK(parse(body, parse_deal_page).err == ec::malformed_answer);
  }
  const char* bad_deals[] = {
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"lastUpdate":1}]}})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"asin":"0123456789",)"
    R"("avg":[1,2]}]}})",
    // Fields no stage keeps are still checked.
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"asin":"0123456789",)"
    R"("delta":[[1],["x"]]}]}})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"asin":"0123456789",)"
    R"("categories":{}}]}})",
  };
  for (auto* body : bad_deals) {
    INFO(body);
    auto q = parse(body, parse_deal_page);
    CHECK_FALSE(q.err);
    CHECK(q.page.deals.empty());
    CHECK(q.skipped == 1);
  }
  // Huge numbers are clamped, not wrapped.
  auto big = parse(R"({"timestamp":1,"tokensLeft":5,"products":[)"
                   R"({"asin":"0123456789","lastUpdate":1e30,)"
                   R"("csv":[[99999999999,-99999999999]]}]})",
                   parse_product_page);
  REQUIRE_FALSE(big.err);
  CHECK(big.page.products[0].last_update == INT32_MAX);
}

// Fields the stages check for their shape only are not built (issue 17,
// item 4): each must still leave its item out with the error the whole
// field gave, the first in field order, and pass whatever shape passed.
TEST_CASE("fields read for their shape only are judged as when built",
          "[client][parse]") {
  auto deal = [](const std::string& fields) {
    return parse(
      answer(R"("deals":{"dr":[{"asin":"0123456789",)" + fields + "}]}"),
      parse_deal_page);
  };
  auto product = [](const std::string& fields) {
    return parse(answer(R"("products":[{"asin":"0123456789",)" + fields + "}]"),
                 parse_product_page);
  };
  struct bad_case {
    std::string fields;
    std::string reason;
  };
  std::vector<bad_case> bad_deals = {
    {R"("avg":7)", "avg is not an array"},
    {R"("avg":{"a":[1]})", "avg is not an array"},
    {R"("avg":[[1],"x"])", "avg is not an array"},
    {R"("avg":[[1],[true]])", "avg holds a non-number"},
    {R"("avg":[[1],[[1]]])", "avg holds a non-number"},
    {R"("avg":[[1],[{}],{}])", "avg holds a non-number"},
    {R"("avg":[[1],{},[true]])", "avg is not an array"},
    {R"("avg":[null,null,null,{"a":1}])", "avg is not an array"},
    {R"("avg":[null,null,null,["x"]])", "avg holds a non-number"},
    {R"("avg":[null,null,null,[1,[2]]])", "avg holds a non-number"},
    {R"("categories":"x")", "categories is not an array"},
    {R"("categories":[1,null,[]])", "categories holds a non-number"},
    {R"("categories":[1,{"a":[1]}])", "categories holds a non-number"},
    {R"("deltaLast":[false])", "deltaLast holds a non-number"},
    {R"("delta":{"a":1})", "delta is not an array"},
    {R"("delta":[null,3])", "delta is not an array"},
    {R"("deltaPercent":[[1],[2,"x"]])", "deltaPercent holds a non-number"},
    // The first malformed field in read order decides.
    {R"("deltaLast":["x"],"avg":[["x"]],"delta":7)", "avg holds a non-number"},
    {R"("delta":[["x"]],"categories":7)", "categories is not an array"},
    // Of a field given twice, the first counts.
    {R"("delta":[["x"]],"delta":[])", "delta holds a non-number"},
  };
  // The one item is left out, for `reason`.
  auto left_out = [](const auto& q, size_t kept, const std::string& reason) {
    REQUIRE_FALSE(q.err);
    CHECK(kept == 0);
    REQUIRE(q.skip_reasons.size() == 1);
    CHECK(q.skip_reasons[0] == "item 0: " + reason);
  };
  for (auto& x : bad_deals) {
    INFO(x.fields);
    auto q = deal(x.fields);
    left_out(q, q.page.deals.size(), x.reason);
  }
  const char* good_deals[] = {
    R"("avg":null,"categories":null,"delta":null,"deltaLast":null)",
    R"("avg":[],"categories":[],"delta":[],"deltaPercent":[])",
    R"("avg":[null,[1,null,2.5],[]],"delta":[[1],null,[-1e300]])",
    R"("delta":[],"delta":7)",
    // Fields no stage reads are not judged at all.
    R"("extra":{"a":[["x",{"b":[1,true]}]]},"more":[[[[]]]],"x":"y")",
  };
  for (auto* fields : good_deals) {
    INFO(fields);
    auto q = deal(fields);
    REQUIRE_FALSE(q.err);
    CHECK(q.page.deals.size() == 1);
  }
  // The 90-day row is kept among rows that are only checked, wherever the
  // other rows nest.
  auto ninety = deal(R"("avg":[[1,2],null,[],[4,null,6.4],[7,"x"]],)"
                     R"("current":[1,2],"lastUpdate":9,"title":"t",)"
                     R"("extra":[1,[2,[3]]])");
  REQUIRE(ninety.page.deals.empty());
  CHECK(ninety.skip_reasons.at(0) == "item 0: avg holds a non-number");
  auto good = deal(R"("avg":[[1,2],null,[],[4,null,6.4],[7]],)"
                   R"("current":[1,2],"lastUpdate":9,"title":"t",)"
                   R"("extra":[1,[2,[3]]])");
  REQUIRE(good.page.deals.size() == 1);
  auto& d = good.page.deals[0];
  CHECK(d.avg90 == std::vector<int32_t>{4, -1, 6});
  CHECK(d.current == std::vector<int32_t>{1, 2});
  CHECK(d.last_update == 9);
  CHECK(d.title == "t");
  // Products: the csv histories are checked, not built.
  std::vector<bad_case> bad_products = {
    {R"("csv":5)", "csv is not an array"},
    {R"("csv":[null,[1,2],"x"])", "csv is not an array"},
    {R"("csv":[null,[1,2],[3,{}]])", "csv holds a non-number"},
    {R"("categories":["x"],"csv":[["x"]])", "categories holds a non-number"},
  };
  for (auto& x : bad_products) {
    INFO(x.fields);
    auto q = product(x.fields);
    left_out(q, q.page.products.size(), x.reason);
  }
  auto p = product(R"("csv":[null,[1,2,3,4],[]],"unknown":[{"a":["x"]}],)"
                   R"("monthlySold":40,"categories":[5,6],)"
                   R"("stats":{"current":[1,2],"min":[null,[1,3]]})");
  REQUIRE(p.page.products.size() == 1);
  CHECK(p.page.products[0].monthly_sold == 40);
  CHECK(p.page.products[0].categories == std::vector<int64_t>{5, 6});
  CHECK(p.page.products[0].stats.current == std::vector<int32_t>{1, 2});
  CHECK(p.page.products[0].stats.min == std::vector<int32_t>{-1, 3});
}

// Issue 16, item 3: one deal with a non-UTF-8 or punctuated ASIN made
// storage refuse the whole batch, so the valid deals of that pass were
// never peeked. The client now leaves out only the bad item.
TEST_CASE("one unusable deal or product is left out instead of the answer",
          "[client][parse]") {
  auto deals = parse(answer(R"("deals":{"dr":[)"
                            R"({"asin":"0123456789","title":"good",)"
                            R"("lastUpdate":7000000},)"
                            "{\"asin\":\"B00\xff\xfe"
                            "ABCDE\",\"lastUpdate\":7000000},"
                            R"({"asin":"B00;DROP--","lastUpdate":7000000},)"
                            R"({"asin":"","lastUpdate":7000000},)"
                            R"({"asin":"B000000002","current":"oops"},)"
                            "{\"asin\":\"B000000003\",\"title\":\"caf\xc3("
                            "\",\"lastUpdate\":7000001}"
                            "]}"),
                     parse_deal_page);
  REQUIRE_FALSE(deals.err);
  REQUIRE(deals.page.deals.size() == 2);
  CHECK(deals.page.deals[0].asin == "0123456789");
  CHECK(deals.page.deals[0].title == "good");
  CHECK(deals.page.deals[1].asin == "B000000003");
  // A title that is not UTF-8 is dropped, the deal kept.
  CHECK(deals.page.deals[1].title.empty());
  CHECK(deals.titles_dropped == 1);
  CHECK(deals.skipped == 4);
  CHECK(deals.skip_reasons.size() == 4);
  for (auto& deal : deals.page.deals)
    CHECK(valid_asin(deal.asin));
  auto products = parse(answer(R"("products":[{"asin":"0123456789"},)"
                               "{\"asin\":\"\xe2\x82\xac"
                               "123456789\"},"
                               R"({"asin":"B000000001"}])"),
                        parse_product_page);
  REQUIRE_FALSE(products.err);
  REQUIRE(products.page.products.size() == 2);
  CHECK(products.page.products[1].asin == "B000000001");
  CHECK(products.skipped == 1);
  CHECK_FALSE(valid_asin("B00\xff\xfe"));
  CHECK_FALSE(valid_asin(std::string(33, 'A')));
  CHECK(valid_asin("B00ABCDEFG"));
}

// Issue 16, item 8: nothing bounded a page; a /deal answer of a million
// deals peaked at 1.45 GB. More items than the request can return are
// refused while reading, before any of them is built.
TEST_CASE("answers with more items than a request can return are refused",
          "[client][parse]") {
  auto deals = [](size_t n) {
    std::string dr;
    for (size_t i = 0; i < n; ++i)
      dr += std::string{i == 0 ? "" : ","} + R"({"asin":"B)"
        + std::to_string(100000000 + i) + R"(","lastUpdate":7000000})";
    return answer(R"("deals":{"dr":[)" + dr + "]}");
  };
  auto full = parse(deals(150), parse_deal_page);
  REQUIRE_FALSE(full.err);
  CHECK(full.page.deals.size() == 150);
  auto over = parse(deals(151), parse_deal_page);
  CHECK(over.err == ec::malformed_answer);
  CHECK(over.page.deals.empty());
  // The envelope still settles the grant.
  CHECK(over.envelope_ok);
  auto products = [](size_t n, size_t offers) {
    std::string ps;
    std::string os;
    for (size_t i = 0; i < offers; ++i)
      os += std::string{i == 0 ? "" : ","} + R"({"condition":2})";
    for (size_t i = 0; i < n; ++i)
      ps += std::string{i == 0 ? "" : ","} + R"({"asin":"B)"
        + std::to_string(100000000 + i) + R"(","offers":[)" + os + "]}";
    return answer(R"("products":[)" + ps + "]");
  };
  CHECK_FALSE(parse(products(100, 3), parse_product_page).err);
  CHECK(parse(products(101, 0), parse_product_page).err
        == ec::malformed_answer);
  answer_limits limits;
  limits.max_offers = 20;
  auto many_offers = products(1, 21);
  CHECK(parse_product_page(many_offers, 200, limits).err
        == ec::malformed_answer);
  // So is a page of 150 deals too big to be deals: 150 x 5000 categories.
  std::string wide;
  for (size_t i = 0; i < 150; ++i) {
    wide += std::string{i == 0 ? "" : ","} + R"({"asin":"B)"
      + std::to_string(100000000 + i) + R"(","categories":[1)";
    for (size_t k = 1; k < 5000; ++k)
      wide += ",1";
    wide += "]}";
  }
  auto too_wide = parse(answer(R"("deals":{"dr":[)" + wide + "]}"),
                        parse_deal_page);
  CHECK(too_wide.err == ec::malformed_answer);
  CHECK(too_wide.envelope_ok);
  // Nesting deeper than any Keepa answer is refused as well.
  auto deep = answer(R"("products":[{"asin":"B000000001","csv":)"
                     + std::string(100, '[') + std::string(100, ']') + "}]");
  CHECK(parse(deep, parse_product_page).err == ec::malformed_answer);
}

// Issue 21: a Product Finder answer is ASINs only.
TEST_CASE("a finder answer: asinList and totalResults",
          "[client][parse][finder]") {
  auto p
    = parse(answer(R"("asinList":["0000000001","B0BAD-ASIN","0000000002",7],)"
                   R"("totalResults":1234)"),
            parse_finder_page);
  REQUIRE_FALSE(p.err);
  REQUIRE(p.envelope_ok);
  CHECK(p.page.env.tokens_left == 120);
  CHECK(p.page.asins == std::vector<std::string>{"0000000001", "0000000002"});
  CHECK(p.page.total_results == 1234);
  CHECK(p.skipped == 2);
  // Nothing found: no list, or an empty one.
  auto none = parse(answer(R"("totalResults":0)"), parse_finder_page);
  REQUIRE_FALSE(none.err);
  CHECK(none.page.asins.empty());
  CHECK(none.page.total_results == 0);
  auto bad = parse(answer(R"("asinList":{"a":1})"), parse_finder_page);
  CHECK(bad.err == ec::malformed_answer);
  // More than a query can list is refused.
  std::string many = R"("asinList":[)";
  for (int i = 0; i < 10001; ++i)
    many += (i > 0 ? "," : "") + std::string{"\"A"} + std::to_string(i) + "\"";
  auto flood = parse(answer(many + "]"), parse_finder_page);
  CHECK(flood.err == ec::malformed_answer);
}

namespace {

/// keepa-sim's answer to `path` with `query` (its key added).
std::string sim_answer(sim::model& m, const std::string& path,
                       std::multimap<std::string, std::string> query) {
  sim::request r;
  r.method = "GET";
  r.path = path;
  r.query = std::move(query);
  r.query.emplace("key", m.opts().key);
  return m.handle(r, m.opts().start_unix_ms).body;
}

/// Everything a parse tells its caller, as text.
template<class Parsed>
std::string outcome(const Parsed& p) {
  std::string reasons;
  for (auto& x : p.skip_reasons)
    reasons += x + "; ";
  return caf::deep_to_string(p.page) + " ok=" + std::to_string(p.envelope_ok)
    + " err=" + render(p.err) + " skipped=" + std::to_string(p.skipped) + " ("
    + reasons + ") titles_dropped=" + std::to_string(p.titles_dropped)
    + " clock=" + p.clock_refusal;
}

} // namespace

// Issue 17: keepa-eta spent a fifth of its time in RapidJSON's reader on
// /deal pages, most of whose values are fields read for their shape only.
// skim() reads those that hold integers and nulls straight from the text;
// anything else is the reader's. Both ways give the same outcome, for
// keepa-sim's pages and for every way they can be broken near those fields.
TEST_CASE("fields skimmed from the text parse as read through the reader",
          "[client][parse][skim]") {
  sim::options opts;
  opts.products = 2000;
  opts.start_unix_ms = 1790000000000;
  sim::model m{opts};
  auto deals = sim_answer(
    m, "/deal", {{"selection", R"({"page":0,"domainId":1,"priceTypes":[0]})"}});
  std::string asins;
  for (auto& x : m.asins())
    if (asins.size() < 10 * 11)
      asins += (asins.empty() ? "" : ",") + x;
  auto products = sim_answer(m, "/product",
                             {{"domain", "1"},
                              {"asin", asins},
                              {"stats", "90"},
                              {"history", "1"},
                              {"offers", "20"}});
  auto parse_both = [](const std::string& body, auto f, size_t max_values,
                       size_t* blanked) {
    answer_limits limits;
    limits.max_deal_page_values = max_values;
    limits.skim_pruned = false;
    auto read_text = body;
    auto read = outcome(f(read_text, 200, limits));
    limits.skim_pruned = true;
    auto skim_text = body;
    auto skimmed = outcome(f(skim_text, 200, limits));
    // What skim() read it blanked out.
    if (blanked != nullptr)
      *blanked = static_cast<size_t>(
        std::count(skim_text.begin(), skim_text.end(), ' ')
        - std::count(read_text.begin(), read_text.end(), ' '));
    return std::make_pair(read, skimmed);
  };
  SECTION("keepa-sim's pages, most of them skimmed") {
    size_t blanked = 0;
    auto [read, skimmed] = parse_both(
      deals, parse_deal_page, answer_limits{}.max_deal_page_values, &blanked);
    CHECK(read.find("deal_page") == 0);
    CHECK(read == skimmed);
    CHECK(blanked > deals.size() / 2);
    std::tie(read, skimmed) = parse_both(products, parse_product_page, 0,
                                         &blanked);
    CHECK(read == skimmed);
    CHECK(blanked > products.size() / 4);
  }
  SECTION("fields of every shape, and a value count ending anywhere") {
    // Each with whether it is valid JSON (the others are errors both ways).
    std::vector<std::pair<std::string, bool>> fields = {
      {R"("avg":[[1],[2],[3],[-2147483648,-0,0,4294967295,null,7]])", true},
      {R"("avg":[[1],[2],[3],[-2147483649,1]])", true},
      {R"("avg":[[1],[2],[3],[4294967296,1]])", true},
      {R"("avg":[[1],[2],[3],[12345678901]])", true},
      {R"("avg":[[1],[2],[3],5])", true},
      {R"("avg":[[1],[2],[3],null,[4]])", true},
      {R"("avg":[[1],[2],[3],-7])", true},
      {"\"avg\":[ [ 1 , 2 ] ,\t[3]\n,[4],[ -5,6 ]  ]", true},
      {R"("avg":[[1],[2],[3],[1.5]])", true},
      {R"("avg":[[1],[2],[3],[1e3]])", true},
      {R"("delta":[null,3,[1,2],[]])", true},
      {R"("delta":[[1,[2]]])", true},
      {R"("deltaPercent":[[1,2],[3,]])", false},
      {R"("deltaPercent":[[1,2],,[3]])", false},
      {R"("categories":[1,null,[2,3]])", true},
      {R"("categories":[1,2,3])", true},
      {R"("categories":[])", true},
      {R"("deltaLast":[1,-0,01])", false},
      {R"("image":[[1,2],[3]])", true},
      {R"("image":[1,2].5)", false},
      {R"("image":[1,2]5)", false},
      {R"("image":[1,2]e5)", false},
      {R"("image":[1,2])", true},
      {R"("image":[nul])", false},
      {R"("currentSince":[1,2]  )", true},
    };
    for (auto& [x, json] : fields) {
      auto body = answer(R"("deals":{"dr":[{"asin":"0123456789",)" + x
                         + R"(,"current":[1,2,3]}]})");
      auto tail = answer(R"("deals":{"dr":[{"asin":"0123456789",)" + x + "}]}");
      for (auto& b : {body, tail}) {
        auto whole = parse_both(b, parse_deal_page, 0, nullptr);
        INFO(b);
        CHECK((whole.first.find(" err=no error") != std::string::npos) == json);
        // Every value count, from one that ends in the envelope to none.
        for (size_t max_values = 1; max_values < 80; ++max_values) {
          INFO(b << " at most " << max_values << " values");
          auto [read, skimmed] = parse_both(b, parse_deal_page, max_values,
                                            nullptr);
          REQUIRE(read == skimmed);
        }
      }
    }
  }
  SECTION("broken near the skimmed fields, and refused at any count") {
    // Where skim() may start: the fields read for their shape only.
    std::vector<size_t> starts;
    for (auto* key :
         {"\"avg\"", "\"delta\"", "\"deltaPercent\"", "\"categories\"",
          "\"deltaLast\"", "\"image\"", "\"currentSince\"", "\"csv\""})
      for (auto at = deals.find(key); at != std::string::npos;
           at = deals.find(key, at + 1))
        starts.push_back(at);
    std::vector<std::string> pieces
      = {" ",          "\n",          "1",
         "-",          ".",           "e",
         "E",          "[",           "]",
         ",",          "n",           "\"",
         "{",          "}",           "0",
         "x",          "1.5",         "1e3",
         "[[1]]",      "99999999999", "4294967295",
         "4294967296", "-2147483648", "-2147483649",
         "-0",         "01",          "true",
         "{}",         "null",        "nul",
         "\"s\"",      "[1,]",        "[,1]",
         ",]",         "[]",          "[null]",
         "-]",         "1]",          std::string(1, '\0')};
    std::mt19937_64 rng{17};
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    size_t same = 0;
    const size_t rounds = 400;
    for (size_t round = 0; round < rounds; ++round) {
      bool product = round % 4 == 3;
      auto body = product ? products : deals;
      auto at = product ? body.find("\"csv\"", pick(body.size() / 2))
                        : starts[pick(starts.size())];
      if (at == std::string::npos)
        at = body.find("\"csv\"");
      // Somewhere in the field's first 300 bytes: its key, colon, rows.
      at += pick(300);
      auto piece = pieces[pick(pieces.size())];
      switch (pick(4)) {
        case 0: body.insert(at, piece); break;
        case 1: body.replace(at, 1, piece); break;
        case 2: body.erase(at, 1 + pick(8)); break;
        default: body.resize(at); break;
      }
      // Now and then a value count that ends within the page.
      size_t max_values = answer_limits{}.max_deal_page_values;
      if (round % 5 == 0)
        max_values = 80000 + pick(20000);
      auto [read, skimmed] = product
        ? parse_both(body, parse_product_page, 0, nullptr)
        : parse_both(body, parse_deal_page, max_values, nullptr);
      INFO("round " << round << ": "
                    << body.substr(at - std::min(at, size_t{40}), 80));
      REQUIRE(read == skimmed);
      same += read == skimmed;
    }
    CHECK(same == rounds);
  }
}

// Issue 17: the stats fields the client does not read (Keepa sends more of
// them than keepa-sim) are not built; every field it reads still arrives,
// wherever the others sit and whatever they hold.
TEST_CASE("every stats field the client reads arrives, among any it does not",
          "[client][parse][skim]") {
  const std::string unread
    = R"("atIntervalStart":[1,2,3],"minInInterval":[[1,2],null],)"
      R"("outOfStockPercentage30":[5,-1],"buyBoxSellerId":"A1",)"
      R"("lightningDealInfo":{"a":[1]},"isAddonItem":true,)";
  auto stats = "{" + unread + R"("current":[1,2],)" + unread
    + R"("avg":[3,4],"avg30":[5,6],"avg90":[7,8],"avg180":[9,10],)" + unread
    + R"("avg365":[11,12],"min":[[100,13],null],)"
    + R"("max":[null,[101,14]],"salesRankDrops30":15,)"
    + R"("salesRankDrops90":16,"salesRankDrops180":17,)" + unread
    + R"("salesRankDrops365":18,"totalOfferCount":19,)"
    + R"("offerCountFBA":20,"offerCountFBM":21,)"
    + R"("retrievedOfferCount":22,"buyBoxPrice":23,)" + unread
    + R"("buyBoxUsedPrice":24})";
  auto p = parse(
    answer(R"("products":[{"asin":"0123456789","stats":)" + stats + "}]"),
    parse_product_page);
  REQUIRE_FALSE(p.err);
  REQUIRE(p.page.products.size() == 1);
  auto& st = p.page.products[0].stats;
  using v = std::vector<int32_t>;
  CHECK(st.current == v{1, 2});
  CHECK(st.avg == v{3, 4});
  CHECK(st.avg30 == v{5, 6});
  CHECK(st.avg90 == v{7, 8});
  CHECK(st.avg180 == v{9, 10});
  CHECK(st.avg365 == v{11, 12});
  CHECK(st.min == v{13, -1});
  CHECK(st.max == v{-1, 14});
  CHECK(st.sales_rank_drops30 == 15);
  CHECK(st.sales_rank_drops90 == 16);
  CHECK(st.sales_rank_drops180 == 17);
  CHECK(st.sales_rank_drops365 == 18);
  CHECK(st.total_offer_count == 19);
  CHECK(st.offer_count_fba == 20);
  CHECK(st.offer_count_fbm == 21);
  CHECK(st.retrieved_offer_count == 22);
  CHECK(st.buy_box_price == 23);
  CHECK(st.buy_box_used_price == 24);
  // A read field that is malformed is still an error, beside unread ones.
  auto bad = parse(answer(R"("products":[{"asin":"0123456789","stats":{)"
                          + unread + R"("min":[7]}}])"),
                   parse_product_page);
  REQUIRE_FALSE(bad.err);
  CHECK(bad.page.products.empty());
  REQUIRE(bad.skip_reasons.size() == 1);
  CHECK(bad.skip_reasons[0] == "item 0: stats.min entry is not [time, value]");
}
