// The batch stages' queue: first come, first served, unless the stage
// ranks its items (the peek-filter: the feed's profit estimate).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "actors/stages/batch_stage.hpp"
#include "actors/analysis/deal_analysis.hpp"

using namespace keepa;

namespace {

deal offered(const std::string& asin, int32_t used, int32_t avg90) {
  deal d;
  d.asin = asin;
  d.current.assign(csv::count, -1);
  d.current[csv::used] = used;
  d.avg90.assign(csv::count, -1);
  d.avg90[csv::used] = avg90;
  return d;
}

/// Ranks like the peek-filter.
struct ranked : batch_state_base<deal> {
  analysis_config cfg;
  int64_t priority(const deal& d) const {
    return deal_profit_estimate(d, cfg).value_or(0);
  }
};

template<class State>
std::string order(const State& st) {
  std::string out;
  st.queue.each([&](const deal& d) { out += d.asin; });
  return out;
}

} // namespace

TEST_CASE("a batch stage's queue is first come, first served by default",
          "[pipeline]") {
  batch_state_base<deal> st;
  for (auto x : {offered("a", 2000, 2100), offered("b", 900, 9000),
                 offered("c", 1500, 6000)})
    enqueue(st, x);
  CHECK(order(st) == "abc");
}

TEST_CASE("the peek backlog is ordered by the feed's profit estimate, ties "
          "and unknowns in arrival order",
          "[pipeline]") {
  ranked st;
  // Estimates at the default fees: a -565, b 6400, c 3250, d 6400,
  // e none (0), f none (0), g -1000.
  enqueue(st, offered("a", 2000, 2100));
  enqueue(st, offered("b", 900, 9000));
  enqueue(st, offered("c", 1500, 6000));
  enqueue(st, offered("d", 900, 9000));
  enqueue(st, offered("e", -1, 9000));
  enqueue(st, offered("f", 900, -1));
  enqueue(st, offered("g", 3000, 2765));
  CHECK(st.priority(st.queue.front()) == 9000 - 1350 - 350 - 900);
  CHECK(order(st) == "bdcefag");
  // A batch sent back goes to the front whatever its rank (TOKEN said no,
  // not the book), the batch's first item first; no later offer passes it.
  st.queue.push_front(offered("s", 4000, 5100));
  st.queue.push_front(offered("r", 5000, 5100));
  enqueue(st, offered("h", 1000, 7000));
  enqueue(st, offered("i", 100, 90000));
  CHECK(order(st) == "rsibdhcefag");
  // What a batch takes: the first n, in order.
  auto lent = st.queue.lend(3, [](const std::vector<deal>& xs) {
    std::string out;
    for (auto& d : xs)
      out += d.asin;
    return out;
  });
  CHECK(lent == "rsi");
  CHECK(order(st) == "rsibdhcefag");
  st.queue.pop_front();
  CHECK(st.queue.front().asin == "s");
  CHECK(st.queue.size() == 10);
  // More asked for than queued: all of them.
  CHECK(st.queue.lend(99, [](const std::vector<deal>& xs) { return xs.size(); })
        == 10);
  CHECK(order(st) == "sibdhcefag");
}

namespace {

/// Ranks like the peek-filter and counts how often a value is computed.
struct valued : ranked {
  mutable int computed = 0;
  int64_t value(const deal& d) const {
    ++computed;
    return deal_profit_estimate(d, cfg).value_or(-1);
  }
};

} // namespace

TEST_CASE("the queue keeps each item's value beside it, computed once when "
          "it is queued",
          "[pipeline]") {
  valued st;
  enqueue(st, offered("a", 2000, 2100));
  enqueue(st, offered("b", 900, 9000));
  enqueue(st, offered("e", -1, 9000));
  CHECK(st.computed == 3);
  std::string seen;
  auto positive = [&](const deal& d, int64_t v) {
    seen += d.asin + "=" + std::to_string(v) + " ";
    return v > 0;
  };
  CHECK(st.queue.count_while(99, positive) == 1);
  CHECK(seen == "b=6400 e=-1 ");
  // A batch sent back keeps the value it is given.
  auto taken
    = st.queue.take_if([](const deal& d, int64_t) { return d.asin == "b"; });
  REQUIRE(taken.size() == 1);
  st.queue.push_front(taken[0], 6400);
  seen.clear();
  auto back = st.queue.take_back_if(1, [&](const deal& d, int64_t v) {
    return positive(d, v) || true;
  });
  CHECK(seen == "a=-565 ");
  REQUIRE(back.size() == 1);
  CHECK(back[0].asin == "a");
  seen.clear();
  CHECK(st.queue.count_while(99, positive) == 1);
  CHECK(seen == "b=6400 e=-1 ");
  // Predicates of the item alone still work.
  CHECK(st.queue.count_while(99, [](const deal&) { return true; }) == 2);
  CHECK(st.computed == 3);
}

TEST_CASE("the queue ranks its items again on request, equal ranks in their "
          "order, a batch sent back still first",
          "[pipeline]") {
  batch_queue<deal> q;
  q.push(offered("a", 0, 0), 5, 1);
  q.push(offered("b", 0, 0), 4, 2);
  q.push(offered("c", 0, 0), 3, 3);
  q.push(offered("d", 0, 0), 2, 1);
  q.push_front(offered("z", 0, 0), 9);
  auto now = [&] {
    std::string out;
    q.each(
      [&](const deal& d, int64_t v) { out += d.asin + std::to_string(v); });
    return out;
  };
  CHECK(now() == "z9a1b2c3d1");
  // The rank is the value now: highest first, a and d (equal) in order.
  q.rerank([](const deal&, int64_t v) { return v; });
  CHECK(now() == "z9c3b2a1d1");
  // Items queued later go behind the equal ones.
  q.push(offered("e", 0, 0), 2, 2);
  q.push(offered("f", 0, 0), 1, 1);
  CHECK(now() == "z9c3b2e2a1d1f1");
}
