// The COMMITTER on virtual time against stand-ins: a 429 sends the batch
// back to the front, other errors retry a bounded number of times.

#include "actors/stages/committer.hpp"

#include <catch2/catch.hpp>

#include "tests/support/stand_ins.hpp"

using namespace keepa;
using namespace keepa::test;
using namespace std::chrono_literals;

namespace {

struct committer_fixture : stage_fixture {
  committer_config cfg{1, 3};

  committer_actor spawn() {
    return keep(spawn_committer(sys, ctx, cfg));
  }

  void offer(const committer_actor& c, const std::vector<std::string>& xs,
             int32_t minute = 1000) {
    std::vector<survivor> ss;
    for (auto& x : xs) {
      survivor s;
      s.candidate = feed_deal(minute++, x);
      s.light = viable_product(x);
      s.buy_price = 1000;
      s.est_sell_price = 4000;
      ss.push_back(std::move(s));
    }
    caf::anon_send(c, atom::offer_v, std::move(ss));
    sched.run();
  }

  std::string queried(size_t i) {
    return joined(keepa().product_queries.at(i).asins);
  }
};

} // namespace

TEST_CASE_METHOD(committer_fixture,
                 "committer: a 429 puts the batch back at the front and asks "
                 "TOKEN again",
                 "[pipeline][committer]") {
  int refusals = 1;
  keepa().products = [&](const product_query&) -> caf::expected<product_page> {
    if (refusals-- > 0)
      return caf::make_error(ec::not_enough_tokens);
    return product_page{};
  };
  auto c = spawn();
  offer(c, {"s1", "s2", "s3", "s4"});
  // "small" commits 2 at a time, full products with 20 offers.
  REQUIRE(keepa().product_queries.size() == 3);
  CHECK(queried(0) == "s1 s2");
  CHECK(queried(1) == "s1 s2");
  CHECK(queried(2) == "s3 s4");
  CHECK_FALSE(keepa().product_queries[0].history);
  CHECK(keepa().product_queries[0].offers == 20);
  // Each attempt under a grant of its own.
  REQUIRE(tokens().acquires.size() == 3);
  CHECK(tokens().acquires[1].what == stage::commit);
  CHECK(tokens().acquires[1].cost == 24);
  CHECK(tokens().acquires[1].ticket == 0);
  CHECK(keepa().product_queries[1].grant_id == tokens().grants[1].grant_id);
  // The refused batch is no error, and nothing of it was recorded.
  auto& st = state_of<committer_state>(c);
  CHECK(st.errors == 0);
  REQUIRE(db().upserts.size() == 2);
  CHECK(db().upserts[0].done
        == std::vector<feed_position>{{1000, "s1"}, {1001, "s2"}});
  CHECK(db().upserts[0].rejections.at(0).reason == "not-returned");
  CHECK(!db().upserts[0].rejections.at(0).retires);
}

TEST_CASE_METHOD(committer_fixture,
                 "committer: a failing batch is retried, then its survivors "
                 "are recorded as failed",
                 "[pipeline][committer]") {
  cfg.attempts = 2;
  keepa().products = [](const product_query&) -> caf::expected<product_page> {
    return caf::make_error(ec::server_error, "boom");
  };
  auto c = spawn();
  offer(c, {"s1", "s2"});
  REQUIRE(keepa().product_queries.size() == 2);
  CHECK(queried(1) == "s1 s2");
  REQUIRE(db().upserts.size() == 1);
  auto& b = db().upserts[0];
  REQUIRE(b.rejections.size() == 2);
  for (auto& r : b.rejections) {
    CHECK(r.reason.rfind("commit-failed: ", 0) == 0);
    CHECK(r.price_seen == INT32_MAX);
    CHECK(r.where == stage::commit);
    CHECK(!r.retires);
  }
  CHECK(b.done.size() == 2);
  CHECK(state_of<committer_state>(c).errors == 2);
}

// A stored deal sent to be judged again (its feed price rose) and now
// failing the rules stayed a deal row beside its rejection.
TEST_CASE_METHOD(committer_fixture,
                 "committer: a book failing the rules on its full product "
                 "retires a stored deal of it; one without a buy price does "
                 "not",
                 "[pipeline][committer]") {
  keepa().products = [](const product_query& q) -> caf::expected<product_page> {
    product_page page;
    for (auto& x : q.asins) {
      // "dear" now costs as much as it sells for; "bare" has no offer.
      auto p = viable_product(x, x == "dear" ? 4000 : -1);
      p.has_offers = true;
      p.offers_successful = true;
      page.products.push_back(std::move(p));
    }
    return page;
  };
  auto c = spawn();
  offer(c, {"dear"});
  offer(c, {"bare"});
  REQUIRE(db().upserts.size() == 2);
  auto& dear = db().upserts[0].rejections.at(0);
  CHECK(dear.asin == "dear");
  CHECK(dear.reason == "roi-below-min");
  CHECK(dear.retires);
  auto& bare = db().upserts[1].rejections.at(0);
  CHECK(bare.asin == "bare");
  CHECK(bare.reason == "no-buy-price");
  CHECK(!bare.retires);
}
