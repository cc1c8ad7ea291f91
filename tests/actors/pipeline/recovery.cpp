// Tests 3 and 4 of issue 6: a restart loses nothing and stores nothing
// twice; every fault of keepa-sim at once leaves the grant accounting exact.

#include <catch2/catch.hpp>

#include <map>

#include <caf/config_value.hpp>

#include "tests/support/harness.hpp"

using namespace pipeline_test;
using namespace keepa;

namespace {

template<class T, class... Ts>
T ask(harness& f, const storage_actor& db, Ts&&... xs) {
  caf::scoped_actor self{f.sys};
  self->send(db, std::forward<Ts>(xs)...);
  f.sched.run();
  T result;
  bool answered = false;
  self->receive(
    [&](T& x) {
      result = std::move(x);
      answered = true;
    },
    caf::after(std::chrono::seconds{0}) >> [] {});
  REQUIRE(answered);
  return result;
}

std::map<std::string, deal_record> all_deals(harness& f,
                                             const storage_actor& db) {
  auto xs = ask<std::vector<deal_record>>(f, db, atom::stalest_v,
                                          uint32_t{1000000}, INT64_MAX);
  std::map<std::string, deal_record> result;
  for (auto& x : xs)
    result.emplace(x.asin, std::move(x));
  return result;
}

/// What the database file holds, read through a storage actor of its own.
std::map<std::string, deal_record> deals_on_disk(harness& f) {
  auto db = spawn_storage(f.sys, f.settings.storage, false);
  REQUIRE(db);
  auto result = all_deals(f, *db);
  caf::anon_send_exit(*db, caf::exit_reason::user_shutdown);
  f.sched.run();
  return result;
}

/// Runs in steps, checking that the durable watermark never goes back.
void run_watching(harness& f, caf::timespan d, feed_position& last) {
  auto step = std::chrono::minutes{10};
  for (caf::timespan done{0}; done < d; done += step) {
    f.run_for(step);
    auto wm = ask<feed_position>(f, f.h.storage, atom::watermark_v);
    CHECK_FALSE(wm < last);
    last = wm;
  }
}

/// A feed that outruns R = 60. At 100 updates a minute /deal's newest
/// 10 000 deals reach back only 100 minutes: the peek backlog a restart
/// finds is older than that, so only the durably tracked positions (not
/// the feed) can bring those candidates back.
sim::options busy_feed(double update_rate) {
  sim::options opts;
  opts.refill_rate = 60;
  opts.products = 20000;
  opts.update_rate = update_rate;
  return opts;
}

} // namespace

TEST_CASE("a restart resumes from the watermark: nothing lost, nothing "
          "stored twice",
          "[pipeline]") {
  auto graceful = GENERATE(true, false);
  INFO((graceful ? "stopped as on SIGTERM" : "every actor ended at once"));
  // Without the peek's value gate: it lets go of its least promising
  // candidates on purpose (rejected as below-value-bar), and this is about
  // what a restart loses.
  harness f{busy_feed(100), graceful ? "restart-stop" : "restart-crash",
            std::chrono::minutes{5},
            [](pipeline_settings& x) { x.peek.gate.enabled = false; }};
  feed_position wm;
  run_watching(f, std::chrono::hours{2}, wm);
  if (graceful)
    f.shut_down();
  f.exit_all();
  auto before = deals_on_disk(f);
  REQUIRE_FALSE(before.empty());
  f.spawn();
  run_watching(f, std::chrono::hours{2}, wm);
  // The second run rescanned from the durable watermark and skipped what
  // the first one had already stored.
  auto scanner = f.status(caf::actor_cast<status_client_actor>(f.h.scanner));
  WARN("restart (" << (graceful ? "graceful" : "crash") << "): stored before "
                   << before.size()
                   << ", skipped as already stored after the restart "
                   << get_int(scanner, "already-stored")
                   << ", resumed from the previous run "
                   << get_int(scanner, "resumed") << "; " << f.summary());
  f.stop_scanner();
  f.run_for(std::chrono::hours{1});
  auto after = all_deals(f, f.h.storage);
  size_t lost = 0;
  size_t stored_twice = 0;
  for (auto& [asin, x] : before) {
    auto i = after.find(asin);
    if (i == after.end()) {
      ++lost;
      continue;
    }
    // Same product version, written again: a second commit of one deal.
    if (i->second.last_update == x.last_update
        && i->second.last_seen_ms != x.last_seen_ms)
      ++stored_twice;
  }
  CHECK(lost == 0);
  CHECK(stored_twice == 0);
  auto recall = f.recall();
  CHECK(recall.good_seen > 0);
  INFO("missed: " << recall.missed_list());
  CHECK(recall.missed.empty());
}

TEST_CASE("every fault of keepa-sim at once: the run completes and the grant "
          "accounting balances exactly",
          "[pipeline]") {
  auto opts = busy_feed(100);
  opts.rate_5xx = 0.03;
  opts.rate_timeout = 0.02;
  // Held past the client's 120 s timeout: a real timeout, not a reset.
  opts.timeout_hold_ms = 180000;
  opts.rate_reset = 0.02;
  opts.rate_malformed = 0.02;
  opts.rate_truncated = 0.02;
  opts.rate_offers_fail = 0.05;
  opts.rate_429_storm = 0.01;
  harness f{opts, "faults", std::chrono::minutes{5}};
  f.run_for(std::chrono::hours{3});
  auto half = f.status(caf::actor_cast<status_client_actor>(f.h.committer));
  f.run_for(std::chrono::hours{3});
  auto commit = f.status(caf::actor_cast<status_client_actor>(f.h.committer));
  auto client = f.status(caf::actor_cast<status_client_actor>(f.h.client));
  // Still committing in the second half: no stage is stuck.
  CHECK(get_int(commit, "committed") > get_int(half, "committed"));
  f.shut_down();
  auto ts = f.token_status();
  WARN("faults: " << f.summary() << "; client " << caf::deep_to_string(client)
                  << "; settled " << ts.totals.settled_grants << " released "
                  << ts.totals.released_grants << " expired "
                  << ts.totals.expired_grants << " unconfirmed "
                  << ts.totals.unconfirmed);
  // Every kind of fault happened.
  for (auto key : {"http-5xx", "http-429", "timeouts", "resets", "malformed",
                   "retries", "unconfirmed"})
    CHECK(get_int(client, key) > 0);
  CHECK(f.min_balance >= ts.floor);
  CHECK(ts.totals.grants > 0);
  CHECK(ts.totals.grants
        == ts.totals.settled_grants + ts.totals.released_grants);
  CHECK(ts.totals.expired_grants == 0);
}

TEST_CASE("faults on 17 % of requests: a failed page costs that page, not "
          "the pass; the first pass completes and deals are stored within "
          "180 s",
          "[pipeline][faults]") {
  auto opts = busy_feed(100);
  // 17 % of all requests fail; malformed and truncated answers (10 %)
  // reach the scanner, the others the client retries under the same grant.
  opts.rate_5xx = 0.03;
  opts.rate_timeout = 0.02;
  opts.rate_reset = 0.02;
  opts.rate_malformed = 0.05;
  opts.rate_truncated = 0.05;
  harness f{opts, "faults-17", std::chrono::minutes{5}};
  f.run_for(std::chrono::seconds{180});
  auto scanner = f.status_of(f.h.scanner);
  auto stored = f.deal_count();
  WARN("faults 17 %, 180 s: stored " << stored << " deals; " << f.summary()
                                     << "; scanner "
                                     << caf::deep_to_string(scanner));
  // Pages failed, and still the first pass read the whole feed and handed
  // every deal of it on.
  CHECK(get_int(scanner, "errors") > 0);
  CHECK(get_int(scanner, "pages") > 20);
  CHECK(get_int(scanner, "seen") > 3000);
  CHECK(get_int(scanner, "candidates") == get_int(scanner, "seen"));
  CHECK(stored > 0);
}
