// The SCANNER's place in Product Finder results, without actors: floors,
// paging, positions and the query a pass sends.

#include "actors/stages/finder_cursor.hpp"

#include <algorithm>

#include "actors/stages/feed_cursor.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

using namespace keepa;

namespace {

std::vector<std::string> asins(const std::string& prefix, int from, int n) {
  std::vector<std::string> xs;
  for (int i = from; i < from + n; ++i)
    xs.push_back(prefix + std::to_string(i));
  return xs;
}

} // namespace

TEST_CASE("finder cursor: a pass pages until a short page, takes the minute "
          "of its first answer and moves the floor there once complete",
          "[pipeline][finder_cursor]") {
  finder_cursor c;
  c.start(feed_position{1000, "x"});
  CHECK(c.floor() == 1000);
  c.begin_pass(50);
  auto r = c.take_page(asins("A", 0, 50), 120, 1500);
  CHECK_FALSE(r.last);
  CHECK(r.fresh == 50);
  CHECK(c.page() == 1);
  // A product updated while paging moved up: seen again on the next page.
  auto second = asins("A", 50, 49);
  second.push_back("A7");
  r = c.take_page(second, 120, 1502);
  CHECK_FALSE(r.last);
  CHECK(r.duplicates == 1);
  r = c.take_page(asins("A", 99, 20), 120, 1503);
  CHECK(r.last);
  CHECK_FALSE(r.overflow);
  auto found = c.finish_pass(true);
  REQUIRE(found.size() == 119);
  for (auto& d : found) {
    CHECK(d.last_update == 1500);
    CHECK(d.current.empty());
  }
  CHECK(std::is_sorted(found.begin(), found.end(),
                       [](const deal& x, const deal& y) {
                         return position_of(x) < position_of(y);
                       }));
  CHECK(c.floor() == 1500);
}

TEST_CASE("finder cursor: all results read, the 10 000 cap, an incomplete "
          "pass, a rewind and the cap of both sources",
          "[pipeline][finder_cursor]") {
  finder_cursor c;
  CHECK(c.floor() == 0);
  c.begin_pass(100);
  // totalResults says this full page was all.
  auto r = c.take_page(asins("B", 0, 100), 100, 2000);
  CHECK(r.last);
  CHECK_FALSE(r.overflow);
  // An incomplete pass hands nothing on and keeps the floor.
  CHECK(c.finish_pass(false).empty());
  CHECK(c.floor() == 0);
  // 25 000 matches at 5 000 a page: two pages, then the cap.
  c.begin_pass(5000);
  CHECK_FALSE(c.take_page(asins("C", 0, 5000), 25000, 2100).last);
  r = c.take_page(asins("C", 5000, 5000), 25000, 2101);
  CHECK(r.last);
  CHECK(r.overflow);
  // With the deal feed handed on up to minute 2050, the positions stay
  // there; the finder's own floor moves to its minute.
  auto found = c.finish_pass(true, 2050);
  REQUIRE(found.size() == 10000);
  CHECK(found.front().last_update == 2050);
  CHECK(c.floor() == 2100);
  // Storage did not track them: the next pass lists them again.
  c.begin_pass(50);
  c.take_page({"D1"}, 1, 2200);
  CHECK(c.finish_pass(true).size() == 1);
  CHECK(c.floor() == 2200);
  c.rewind_pass();
  CHECK(c.floor() == 2100);
}

TEST_CASE("finder selection: the floor, newest first, and the pre-filter's "
          "price range unless the query sets its own",
          "[pipeline][finder_cursor]") {
  auto x
    = finder_selection(R"({"rootCategory":[283155],"current_USED_lte":3000,)"
                       R"("sort":[["current_SALES","asc"]]})",
                       1234, 500, 9000);
  REQUIRE(x);
  rapidjson::Document doc;
  doc.Parse(x->c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc["lastUpdate_gte"].GetInt() == 1234);
  REQUIRE(doc["sort"].Size() == 1);
  CHECK(std::string{doc["sort"][0][0].GetString()} == "lastUpdate");
  CHECK(std::string{doc["sort"][0][1].GetString()} == "desc");
  CHECK(doc["current_USED_gte"].GetInt64() == 500);
  CHECK(doc["current_USED_lte"].GetInt64() == 3000);
  CHECK(doc["rootCategory"][0].GetInt64() == 283155);
  auto first = finder_selection("{}", 0, 0, 0);
  REQUIRE(first);
  doc.Parse(first->c_str());
  CHECK_FALSE(doc.HasMember("lastUpdate_gte"));
  CHECK_FALSE(doc.HasMember("current_USED_gte"));
  CHECK_FALSE(finder_selection("[]", 0, 0, 0));
}
