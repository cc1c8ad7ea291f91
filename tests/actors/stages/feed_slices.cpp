// The scanner's slices of the deal query without actors: bands, the
// selection each sends, splitting at the median.

#include "actors/stages/feed_slices.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

using namespace keepa;

namespace {

const std::string query
  = R"({"domainId":1,"priceTypes":[2],"isRangeEnabled":false,)"
    R"("deltaRange":[0,100],"titleSearch":""})";

/// currentRange and isRangeEnabled of slice `i`, and whether the selection
/// still holds deltaRange.
std::string range_of(const feed_slices& xs, size_t i) {
  rapidjson::Document doc;
  auto text = xs.selection(i);
  doc.Parse(text.c_str());
  REQUIRE(doc.IsObject());
  std::string out = doc["isRangeEnabled"].GetBool() ? "on " : "off ";
  out += std::to_string(doc["currentRange"][0].GetInt64()) + ".."
    + std::to_string(doc["currentRange"][1].GetInt64());
  if (doc.HasMember("deltaRange"))
    out += " delta";
  return out;
}

} // namespace

TEST_CASE("feed slices: without bands the query goes as written",
          "[pipeline][feed_slices]") {
  auto xs = feed_slices::make(query, {});
  REQUIRE(xs);
  CHECK(xs->size() == 1);
  CHECK(xs->selection(0) == query);
  CHECK(xs->price_type() == 2);
  CHECK(xs->to_string() == "0-");
}

TEST_CASE("feed slices: bands partition the prices; ranges the query did "
          "not enable stay off",
          "[pipeline][feed_slices]") {
  auto xs = feed_slices::make(query, {1000, 2500});
  REQUIRE(xs);
  REQUIRE(xs->size() == 3);
  CHECK(xs->to_string() == "0-999,1000-2499,2500-");
  CHECK(range_of(*xs, 0) == "on 0..999");
  CHECK(range_of(*xs, 1) == "on 1000..2499");
  CHECK(range_of(*xs, 2) == "on 2500..2147483647");
  // An enabled currentRange bounds the bands; its other ranges stay.
  auto own = feed_slices::make(
    R"({"priceTypes":[2],"isRangeEnabled":true,"currentRange":[2000,45100],)"
    R"("deltaRange":[0,100]})",
    {1000, 3000, 50000});
  REQUIRE(own);
  CHECK(own->to_string() == "2000-2999,3000-45100");
  CHECK(range_of(*own, 0) == "on 2000..2999 delta");
  // Bad bands are refused.
  CHECK_FALSE(feed_slices::make(query, {1000, 1000}));
  CHECK_FALSE(feed_slices::make(query, {0}));
  CHECK_FALSE(feed_slices::make(R"({"domainId":1})", {1000}));
  CHECK_FALSE(feed_slices::make("[]", {}));
}

TEST_CASE("feed slices: an overflowing slice splits at the median of its "
          "prices, up to the most slices",
          "[pipeline][feed_slices]") {
  auto xs = feed_slices::make(query, {});
  REQUIRE(xs);
  CHECK(xs->split(0, {500, 100, 900, 700, 300}, 4));
  CHECK(xs->to_string() == "0-499,500-");
  CHECK(range_of(*xs, 1) == "on 500..2147483647");
  CHECK(xs->split(1, {500, 600, 800, 900}, 4));
  CHECK(xs->to_string() == "0-499,500-799,800-");
  // All at the band's lowest price: split just above it.
  CHECK(xs->split(1, {500, 500, 500}, 4));
  CHECK(xs->to_string() == "0-499,500-500,501-799,800-");
  // No more than 4; a one-price band cannot split; no prices, no split.
  CHECK_FALSE(xs->split(0, {1, 2, 3}, 4));
  CHECK_FALSE(xs->split(1, {500, 500}, 8));
  CHECK_FALSE(xs->split(3, {}, 8));
  // Into as many parts as asked, at the quantiles, within the most.
  auto ys = feed_slices::make(query, {});
  REQUIRE(ys);
  std::vector<int64_t> prices;
  for (int64_t p = 1; p <= 100; ++p)
    prices.push_back(p);
  CHECK(ys->split(0, prices, 8, 4));
  CHECK(ys->to_string() == "0-25,26-50,51-75,76-");
  CHECK(ys->split(3, prices, 6, 5));
  CHECK(ys->size() == 6);
}
