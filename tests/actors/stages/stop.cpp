// The stop protocol of every stage: a stop while a recharge-wait is pending
// answers at once and the grant the retry brings is released unused; a
// stop with a request in flight answers once the request ended.

#include "actors/stages/committer.hpp"
#include "actors/stages/peek_filter.hpp"
#include "actors/stages/scanner.hpp"
#include "actors/stages/updater.hpp"

#include <catch2/catch.hpp>

#include "tests/support/stand_ins.hpp"

using namespace keepa;
using namespace keepa::test;
using namespace std::chrono_literals;

namespace {

struct stop_fixture : stage_fixture {
  /// Spawns the stage named `name` and gives it work that needs tokens:
  /// the scanner and the updater find it themselves, the batch stages get
  /// an offer.
  caf::actor start(const std::string& name) {
    if (name == "scanner") {
      keepa().deals = [](const deal_query&) {
        deal_page p;
        p.deals.push_back(feed_deal(1000, "a"));
        return caf::expected<deal_page>{std::move(p)};
      };
      scanner_config cfg;
      cfg.selection = "{}";
      auto peek = keep(spawn_peek_stand_in(sys));
      return run(keep(spawn_scanner(sys, ctx, cfg, peek)));
    }
    if (name == "updater") {
      deal_record r;
      r.asin = "a";
      db().stalest = {{r}};
      updater_config cfg;
      cfg.interval = 1min;
      auto u = keep(spawn_updater(sys, ctx, cfg));
      sched.run();
      // Its first round starts at the first tick.
      return run(u, 1min);
    }
    if (name == "peek-filter") {
      auto committer = keep(spawn_committer_stand_in(sys));
      auto peek
        = keep(spawn_peek_filter(sys, ctx, peek_filter_config{}, committer));
      caf::anon_send(peek, atom::offer_v,
                     std::vector<deal>{feed_deal(1000, "a")});
      return run(peek);
    }
    auto c = keep(spawn_committer(sys, ctx, committer_config{}));
    survivor s;
    s.candidate = feed_deal(1000, "a");
    caf::anon_send(c, atom::offer_v, std::vector<survivor>{s});
    return run(c);
  }

  template<class Handle>
  caf::actor run(Handle hdl, caf::timespan d = caf::timespan{0}) {
    advance(d);
    return caf::actor_cast<caf::actor>(hdl);
  }

  /// Requests Keepa got (pages or products).
  size_t requests() {
    return keepa().deal_queries.size() + keepa().product_queries.size();
  }
};

} // namespace

TEST_CASE_METHOD(stop_fixture,
                 "stop while a recharge-wait is pending answers at once; the "
                 "grant the retry brings is released",
                 "[pipeline][stop]") {
  auto name = GENERATE(as<std::string>{}, "scanner", "peek-filter", "committer",
                       "updater");
  INFO(name);
  tokens().script = {wait_for(1min)};
  auto stage = start(name);
  REQUIRE(tokens().acquires.size() == 1);
  send_stop(stage);
  CHECK(stop_answered());
  // The retry presents the ticket again (so TOKEN's queue keeps no dead
  // ticket); the grant goes back unused and nothing is sent to Keepa.
  advance(1min);
  REQUIRE(tokens().grants.size() == 1);
  CHECK(tokens().releases
        == std::vector<uint64_t>{tokens().grants[0].grant_id});
  CHECK(requests() == 0);
  // A stopped stage asks for nothing more.
  advance(10min);
  CHECK(tokens().acquires.size() == 2);
  caf::anon_send_exit(stage, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(stop_fixture,
                 "stop with a request in flight answers after it ended",
                 "[pipeline][stop]") {
  auto name = GENERATE(as<std::string>{}, "scanner", "peek-filter", "committer",
                       "updater");
  INFO(name);
  keepa().latency = 2s;
  auto stage = start(name);
  REQUIRE(requests() == 1);
  send_stop(stage);
  CHECK_FALSE(stop_answered());
  advance(1s);
  CHECK_FALSE(stop_answered());
  advance(1s);
  CHECK(keepa().answered == 1);
  CHECK(stop_answered());
  // Nothing new after the stop: no second request, no second acquire.
  advance(10min);
  CHECK(requests() == 1);
  CHECK(tokens().acquires.size() == 1);
  CHECK(tokens().releases.empty());
  caf::anon_send_exit(stage, caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(stop_fixture,
                 "stop while TOKEN's answer is outstanding answers once it "
                 "came; a grant is released",
                 "[pipeline][stop]") {
  auto name = GENERATE(as<std::string>{}, "scanner", "peek-filter", "committer",
                       "updater");
  INFO(name);
  tokens().latency = 10s;
  auto stage = start(name);
  REQUIRE(tokens().acquires.size() == 1);
  send_stop(stage);
  CHECK_FALSE(stop_answered());
  advance(10s);
  CHECK(stop_answered());
  REQUIRE(tokens().grants.size() == 1);
  CHECK(tokens().releases
        == std::vector<uint64_t>{tokens().grants[0].grant_id});
  CHECK(requests() == 0);
  caf::anon_send_exit(stage, caf::exit_reason::user_shutdown);
}
