// The answer parser: shapes Keepa sends, and shapes it should not.

#include <catch2/catch.hpp>

#include "actors/client/parse.hpp"
#include "messages/error.hpp"

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
  return f(body, status);
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
  REQUIRE(a.csv.size() == 3);
  CHECK(a.csv[0].empty());
  CHECK(a.csv[1] == std::vector<int32_t>{1, 2000, 5, -1});
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
  CHECK(d.creation_date == 7999000);
  CHECK(d.root_category == 283155);
  CHECK(d.avg.size() == 2);
  CHECK(d.delta.empty());
  CHECK(d.delta_last[2] == -5);
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
  for (auto* body : bodies) {
    INFO(body);
    auto p = parse(body, parse_product_page);
    CHECK(p.err == ec::malformed_answer);
  }
  // The envelope of a broken payload is still usable for settling.
  auto p = parse(R"({"timestamp":1,"tokensLeft":5,"products":[7]})",
                 parse_product_page);
  CHECK(p.envelope_ok);
  CHECK(p.page.env.tokens_left == 5);
  const char* deal_bodies[] = {
    R"({"timestamp":1,"tokensLeft":5})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":{}}})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"lastUpdate":1}]}})",
    R"({"timestamp":1,"tokensLeft":5,"deals":{"dr":[{"asin":"0123456789",)"
    R"("avg":[1,2]}]}})",
  };
  for (auto* body : deal_bodies) {
    INFO(body);
    CHECK(parse(body, parse_deal_page).err == ec::malformed_answer);
  }
  // Huge numbers are clamped, not wrapped.
  auto big = parse(R"({"timestamp":1,"tokensLeft":5,"products":[)"
                   R"({"asin":"0123456789","lastUpdate":1e30,)"
                   R"("csv":[[99999999999,-99999999999]]}]})",
                   parse_product_page);
  REQUIRE_FALSE(big.err);
  CHECK(big.page.products[0].last_update == INT32_MAX);
  CHECK(big.page.products[0].csv[0][0] == INT32_MAX);
  CHECK(big.page.products[0].csv[0][1] == INT32_MIN);
}
