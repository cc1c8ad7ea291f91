// The scanner's feed cursor without actors: passes, floors, minutes,
// duplicates, incomplete passes and resumed positions.

#include "actors/stages/feed_cursor.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace keepa;

namespace {

deal at_minute(int32_t minute, const std::string& asin) {
  deal d;
  d.asin = asin;
  d.last_update = minute;
  return d;
}

/// `n` deals, one a minute, the newest at minute `newest`, newest first
/// (as /deal sends them); ASINs are "m<minute>".
std::vector<deal> minutes_down(int32_t newest, int32_t n) {
  std::vector<deal> xs;
  for (int32_t m = newest; m > newest - n; --m)
    xs.push_back(at_minute(m, "m" + std::to_string(m)));
  return xs;
}

std::string positions(const std::vector<deal>& xs) {
  std::string out;
  for (auto& d : xs)
    out += (out.empty() ? "" : " ") + std::to_string(d.last_update) + ":"
      + d.asin;
  return out;
}

/// Runs a whole pass over `pages`; returns what it hands on.
std::vector<deal> pass(feed_cursor& c,
                       const std::vector<std::vector<deal>>& pages) {
  c.begin_pass();
  for (auto& p : pages) {
    REQUIRE(static_cast<size_t>(c.page()) < pages.size());
    CHECK(&p == &pages[static_cast<size_t>(c.page())]);
    if (c.take_page(p).last)
      break;
  }
  return c.finish_pass(true);
}

} // namespace

TEST_CASE("feed cursor: a first pass reads every page of the feed and hands "
          "on oldest first",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{});
  CHECK_FALSE(c.has_upto());
  c.begin_pass();
  CHECK(c.page() == 0);
  auto r = c.take_page(minutes_down(1300, 150));
  CHECK(r.fresh == 150);
  CHECK_FALSE(r.reached);
  CHECK_FALSE(r.last);
  CHECK(c.page() == 1);
  // A short page is the end of the feed.
  r = c.take_page(minutes_down(1150, 30));
  CHECK(r.fresh == 30);
  CHECK(r.last);
  CHECK(c.found() == 180);
  auto out = c.finish_pass(true);
  REQUIRE(out.size() == 180);
  CHECK(out.front().last_update == 1121);
  CHECK(out.back().last_update == 1300);
  CHECK(
    std::is_sorted(out.begin(), out.end(), [](const deal& x, const deal& y) {
      return position_of(x) < position_of(y);
    }));
  CHECK(c.upto() == (feed_position{1300, "m1300"}));
}

TEST_CASE("feed cursor: a pass pages down to the watermark's minute and no "
          "further",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{1000, "m1000"});
  c.begin_pass();
  // Page 0: minutes 1200..1051, full, above the floor.
  auto r = c.take_page(minutes_down(1200, 150));
  CHECK_FALSE(r.last);
  // Page 1: minutes 1050..901, full; the floor is in it.
  r = c.take_page(minutes_down(1050, 150));
  CHECK(r.reached);
  CHECK(r.last);
  // 1050..1001 are new, and so is the watermark's own position: after a
  // start the cursor does not know what was handed on in that minute
  // (storage finds it stored). Minute 999 is below the floor.
  CHECK(r.fresh == 51);
  auto out = c.finish_pass(true);
  CHECK(out.front().last_update == 1000);
  CHECK(out.size() == 201);
  CHECK(c.upto() == (feed_position{1200, "m1200"}));
  // Nothing older than the watermark's minute was taken.
  for (auto& d : out)
    CHECK(d.last_update >= 1000);
}

TEST_CASE("feed cursor: a book updated later in the last minute handed on is "
          "new, the ones handed on are not",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{});
  auto first = pass(
    c, {{at_minute(500, "C"), at_minute(500, "A"), at_minute(499, "Z")}});
  CHECK(positions(first) == "499:Z 500:A 500:C");
  CHECK(c.upto() == (feed_position{500, "C"}));
  // B was updated in minute 500 after C was handed on: it sorts below C by
  // its ASIN, yet it is new. A and C were handed on; 499 is below the floor.
  auto second
    = pass(c,
           {{at_minute(501, "X"), at_minute(500, "C"), at_minute(500, "B"),
             at_minute(500, "A"), at_minute(499, "Z")}});
  CHECK(positions(second) == "500:B 501:X");
  CHECK(c.upto() == (feed_position{501, "X"}));
  // Minute 500 is behind now; a third pass takes only what is newer.
  auto third = pass(
    c, {{at_minute(502, "D"), at_minute(501, "X"), at_minute(500, "B")}});
  CHECK(positions(third) == "502:D");
}

TEST_CASE("feed cursor: pages that overlap as the feed moves give each deal "
          "once",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{});
  c.begin_pass();
  c.take_page(minutes_down(1300, 150));
  // While page 0 was read, ten deals were updated: page 1 begins with the
  // last ten of page 0 again. Keepa may send a page in any order.
  auto page1 = minutes_down(1160, 40);
  std::reverse(page1.begin(), page1.end());
  auto r = c.take_page(page1);
  CHECK(r.seen == 40);
  CHECK(r.duplicates == 10);
  CHECK(r.fresh == 30);
  CHECK(r.last);
  auto out = c.finish_pass(true);
  CHECK(out.size() == 180);
  for (size_t i = 1; i < out.size(); ++i)
    CHECK(position_of(out[i - 1]) < position_of(out[i]));
}

TEST_CASE("feed cursor: an incomplete pass hands on nothing and the next "
          "pass reads its pages again",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{1000, "m1000"});
  c.begin_pass();
  CHECK_FALSE(c.take_page(minutes_down(1200, 150)).last);
  CHECK(c.page() == 1);
  // Page 1 failed (or a stop came): the pass ends incomplete.
  CHECK(c.finish_pass(false).empty());
  CHECK(c.upto() == (feed_position{1000, "m1000"}));
  // The next pass starts at page 0 again, from the same floor, and finds
  // page 0's deals new again.
  c.begin_pass();
  CHECK(c.page() == 0);
  CHECK(c.take_page(minutes_down(1200, 150)).fresh == 150);
  auto r = c.take_page(minutes_down(1050, 60));
  CHECK(r.reached);
  auto out = c.finish_pass(true);
  CHECK(out.size() == 201);
  CHECK(c.upto() == (feed_position{1200, "m1200"}));
}

TEST_CASE("feed cursor: a pass reads at most the page limit",
          "[pipeline][feed_cursor]") {
  feed_cursor c{2};
  c.start(feed_position{});
  c.begin_pass();
  CHECK_FALSE(c.take_page(minutes_down(1300, 150)).last);
  auto r = c.take_page(minutes_down(1150, 150));
  CHECK_FALSE(r.reached);
  CHECK(r.last);
  CHECK(c.finish_pass(true).size() == 300);
}

TEST_CASE("feed cursor: positions resumed from the previous run are not "
          "handed on twice",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{1000, "m1000"});
  auto again = c.resume({{1001, "R1"}, {1003, "R3"}});
  CHECK(positions(again) == "1001:R1 1003:R3");
  // The feed still lists R3 (unchanged) and R1 updated since (a new
  // position: handed on again, it changed).
  c.begin_pass();
  auto r = c.take_page({at_minute(1004, "N"), at_minute(1003, "R3"),
                        at_minute(1002, "R1"), at_minute(999, "old")});
  CHECK(r.duplicates == 1);
  CHECK(r.fresh == 2);
  CHECK(positions(c.finish_pass(true)) == "1002:R1 1004:N");
  // Once the floor passed a resumed position, it is forgotten.
  c.begin_pass();
  CHECK(c.take_page({at_minute(1005, "R3")}).fresh == 1);
}

TEST_CASE("feed cursor: a deal with an invalid ASIN is left out of the pass "
          "alone; its full page still leads to the next one",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{});
  c.begin_pass();
  auto page0 = minutes_down(1300, 150);
  page0[10].asin = "bad asin";
  page0[20].asin = "";
  auto r = c.take_page(page0);
  CHECK(r.invalid == std::vector<std::string>{"bad asin", ""});
  CHECK(r.seen == 148);
  CHECK(r.fresh == 148);
  CHECK_FALSE(r.last);
  CHECK(c.page() == 1);
  r = c.take_page(minutes_down(1150, 5));
  CHECK(r.last);
  CHECK(r.invalid.empty());
  auto found = c.finish_pass(true);
  CHECK(found.size() == 153);
  CHECK(std::none_of(found.begin(), found.end(), [](const deal& d) {
    return d.asin == "bad asin" || d.asin.empty();
  }));
  CHECK(c.upto() == (feed_position{1300, "m1300"}));
}

TEST_CASE("feed cursor: a pass that was not handed on is rewound and read "
          "again by the next one",
          "[pipeline][feed_cursor]") {
  feed_cursor c{67};
  c.start(feed_position{1000, "m1000"});
  auto feed = minutes_down(1010, 20);
  // m1001..m1010, and m1000 again: after a start the cursor does not know
  // what went on in the watermark's minute.
  CHECK(pass(c, {feed}).size() == 11);
  CHECK(c.upto() == (feed_position{1010, "m1010"}));
  // One more book in minute 1010 and a newer one; storage refuses them.
  feed.insert(feed.begin(), at_minute(1010, "a"));
  feed.insert(feed.begin(), at_minute(1011, "m1011"));
  CHECK(positions(pass(c, {feed})) == "1010:a 1011:m1011");
  c.rewind_pass();
  CHECK(c.upto() == (feed_position{1010, "m1010"}));
  // The next pass finds them again, and only them.
  CHECK(positions(pass(c, {feed})) == "1010:a 1011:m1011");
  CHECK(c.upto() == (feed_position{1011, "m1011"}));
  CHECK(pass(c, {feed}).empty());
}

TEST_CASE("feed cursor: a pass over slices reads each from page 0 down to the "
          "floor and hands on only up to its horizon; the rest comes again",
          "[pipeline][feed_cursor][slices]") {
  feed_cursor c{67};
  c.start(feed_position{1000, "m1000"});
  c.begin_pass(2);
  CHECK(c.slice() == 0);
  // Slice 0, asked for in minute 1100: its newest deal is from 1090.
  std::vector<deal> low;
  for (int32_t m = 1090; m > 995; m -= 10)
    low.push_back(at_minute(m, "low" + std::to_string(m)));
  auto r = c.take_page(low, 1100);
  CHECK(r.slice_done);
  CHECK_FALSE(r.overflow);
  CHECK_FALSE(r.last);
  CHECK(c.slice() == 1);
  CHECK(c.page() == 0);
  // Slice 1, asked for a few minutes later: it lists deals up to 1104.
  std::vector<deal> high;
  for (int32_t m = 1104; m > 995; m -= 2)
    high.push_back(at_minute(m, "high" + std::to_string(m)));
  r = c.take_page(high, 1104);
  CHECK(r.slice_done);
  CHECK(r.last);
  auto out = c.finish_pass(true);
  // Slice 0 was read up to the end of minute 1100: high1102 and high1104
  // wait for the next pass.
  CHECK(c.held_back() == 2);
  CHECK(out.back().asin == "high1100");
  CHECK(
    std::is_sorted(out.begin(), out.end(), [](const deal& x, const deal& y) {
      return position_of(x) < position_of(y);
    }));
  CHECK(c.upto() == (feed_position{1100, "high1100"}));
  // The next pass finds them and what arrived since in either slice, also
  // books updated later in minute 1100 (the floor's minute stays open).
  c.begin_pass(2);
  low.insert(low.begin(), at_minute(1100, "alate"));
  low.insert(low.begin(), at_minute(1100, "latelow"));
  c.take_page(low, 1106);
  high.insert(high.begin(), at_minute(1106, "high1106"));
  c.take_page(high, 1106);
  out = c.finish_pass(true);
  CHECK(positions(out)
        == "1100:alate 1100:latelow 1102:high1102 1104:high1104 "
           "1106:high1106");
  CHECK(c.held_back() == 0);
}

TEST_CASE("feed cursor: a slice that lists the whole result cap without "
          "reaching the floor overflows",
          "[pipeline][feed_cursor][slices]") {
  feed_cursor c{3};
  c.start(feed_position{100, "m100"});
  c.begin_pass(2);
  auto r = c.take_page(minutes_down(1000, 150), 1000);
  CHECK_FALSE(r.slice_done);
  r = c.take_page(minutes_down(850, 150), 1000);
  CHECK_FALSE(r.slice_done);
  // The page limit ends the slice above the floor.
  r = c.take_page(minutes_down(700, 150), 1000);
  CHECK(r.slice_done);
  CHECK(r.overflow);
  CHECK_FALSE(r.last);
  // A slice that reaches its floor does not, however full its pages.
  r = c.take_page(minutes_down(1000, 150), 1000);
  r = c.take_page(minutes_down(850, 150), 1000);
  r = c.take_page(minutes_down(150, 150), 1000);
  CHECK(r.reached);
  CHECK_FALSE(r.overflow);
  CHECK(r.last);
}
