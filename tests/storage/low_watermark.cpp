// The low watermark over tracked feed positions, without actors.

#include "storage/low_watermark.hpp"

#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

using keepa::feed_position;
using keepa::db::low_watermark;

namespace {

feed_position p(int32_t minute, const char* asin = "B000000000") {
  return {minute, asin};
}

/// Applies `done` the way the STORAGE actor does after a durable commit.
feed_position finish(low_watermark& w, std::vector<feed_position> done) {
  auto next = w.preview(done);
  w.apply(done, next);
  return w.value();
}

} // namespace

TEST_CASE("the watermark waits for the oldest pending position",
          "[storage][low_watermark]") {
  low_watermark w{p(10)};
  CHECK(w.track({p(11), p(12), p(13)}) == 3);
  CHECK(finish(w, {p(12)}) == p(10));
  CHECK(w.held() == 1);
  CHECK(finish(w, {p(13)}) == p(10));
  CHECK(w.pending() == 1);
  CHECK(finish(w, {p(11)}) == p(13));
  CHECK(w.pending() == 0);
  CHECK(w.held() == 0);
}

TEST_CASE("positions order by last_update, then ASIN",
          "[storage][low_watermark]") {
  low_watermark w;
  w.track({p(5, "B2"), p(5, "B1"), p(4, "B9")});
  CHECK(finish(w, {p(5, "B1"), p(4, "B9")}) == p(5, "B1"));
  CHECK(finish(w, {p(5, "B2")}) == p(5, "B2"));
}

TEST_CASE("the watermark never moves back", "[storage][low_watermark]") {
  low_watermark w{p(100)};
  // Old positions are already below the watermark: ignored.
  CHECK(w.track({p(50), p(99)}) == 0);
  CHECK(finish(w, {p(50)}) == p(100));
  CHECK(w.preview({}) == p(100));
}

TEST_CASE("untracked done positions advance only below the pending ones",
          "[storage][low_watermark]") {
  low_watermark w;
  w.track({p(3)});
  CHECK(finish(w, {p(2), p(4)}) == p(2));
  CHECK(finish(w, {p(3)}) == p(4));
  // Tracking a position after it was done does not hold the watermark.
  w.track({p(8)});
  CHECK(finish(w, {p(7)}) == p(7));
}

TEST_CASE("untracked names what track would add, oldest first, once",
          "[storage][low_watermark]") {
  low_watermark w{p(10)};
  w.track({p(12)});
  finish(w, {p(13)});
  using v = std::vector<feed_position>;
  // Older than the watermark's minute, pending, done or repeated: left out.
  CHECK(w.untracked({p(15), p(9), p(12), p(13), p(14), p(15), p(10, "B")})
        == v{p(10, "B"), p(14), p(15)});
  CHECK(w.pending_positions() == v{p(12)});
  CHECK(w.track(w.untracked({p(14), p(15)})) == 3);
  CHECK(w.pending_positions() == v{p(12), p(14), p(15)});
}

TEST_CASE("the watermark's minute stays open: a book updated later in it "
          "that sorts below the watermark is tracked and holds it",
          "[storage][low_watermark]") {
  using v = std::vector<feed_position>;
  low_watermark w{p(10, "B5")};
  // B1 was updated later in minute 10 than B5 but sorts below it.
  CHECK(w.untracked({p(10, "B1"), p(9, "B9")}) == v{p(10, "B1")});
  CHECK(w.track({p(10, "B1"), p(11)}) == 2);
  CHECK(w.pending_positions() == v{p(10, "B1"), p(11)});
  // A newer position finishing first does not move the watermark past
  // the pending one in its minute.
  CHECK(finish(w, {p(11)}) == p(10, "B5"));
  CHECK(w.pending_positions() == v{p(10, "B1")});
  CHECK(finish(w, {p(10, "B1")}) == p(11));
  CHECK(w.pending() == 0);
  CHECK(w.held() == 0);
  // Finished in the same batch as a newer one: the watermark moves at once.
  w.track({p(11, "A"), p(12)});
  CHECK(finish(w, {p(11, "A"), p(12)}) == p(12));
}

TEST_CASE("preview changes nothing until apply", "[storage][low_watermark]") {
  low_watermark w;
  w.track({p(1), p(2)});
  CHECK(w.preview({p(1), p(2)}) == p(2));
  CHECK(w.value() == p(0, ""));
  CHECK(w.pending() == 2);
}

TEST_CASE("random completion orders agree with a brute-force model",
          "[storage][low_watermark]") {
  std::mt19937 rng{42};
  for (int round = 0; round < 200; ++round) {
    std::vector<feed_position> xs;
    for (int i = 1; i <= 30; ++i)
      xs.push_back(p(i / 3, ("B" + std::to_string(i % 3)).c_str()));
    std::sort(xs.begin(), xs.end());
    low_watermark w;
    w.track(xs);
    auto order = xs;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<bool> done(xs.size());
    for (size_t i = 0; i < order.size();) {
      auto n = std::min<size_t>(order.size() - i, 1 + rng() % 4);
      std::vector<feed_position> batch(order.begin() + i,
                                       order.begin() + i + n);
      i += n;
      for (auto& x : batch)
        done[std::find(xs.begin(), xs.end(), x) - xs.begin()] = true;
      feed_position expected;
      for (size_t k = 0; k < xs.size() && done[k]; ++k)
        expected = xs[k];
      REQUIRE(finish(w, batch) == expected);
    }
    CHECK(w.value() == xs.back());
  }
}
