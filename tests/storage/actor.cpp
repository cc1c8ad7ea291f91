// The STORAGE actor on the deterministic scheduler over a real SQLite file.

#include "actors/storage/storage.hpp"

#include <optional>

#include <catch2/catch.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/config_value.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>

#include "messages/error.hpp"
#include "messages/storage.hpp"
#include "tests/support/fixture.hpp"
#include "tests/support/stand_ins.hpp"
#include "tests/storage/fixtures.hpp"

using namespace keepa;
using namespace std::chrono_literals;
using keepa::test::make_deal;
using keepa::test::make_rejection;

namespace {

feed_position pos(int32_t minute, std::string asin) {
  return feed_position{minute, std::move(asin)};
}

template<class Db>
struct actor_fixture_t : test::deterministic_fixture {
  Db db;

  storage_config config() {
    storage_config result;
    result.url = db.url();
    result.busy_timeout = 20ms;
    result.lock_retries = 1;
    return result;
  }

  storage_actor spawn() {
    auto result = spawn_storage(sys, config(), false);
    if (!result)
      FAIL(render(result.error()));
    sched.run();
    return *result;
  }

  /// STORAGE with `p1` and `p2` tracked and a deal for `p1` stored.
  storage_actor spawn_tracking(const feed_position& p1,
                               const feed_position& p2) {
    auto a = spawn();
    ask<uint64_t>(a, atom::track_v, std::vector<feed_position>{p1, p2});
    REQUIRE_OK(
      ask<upsert_ack>(a, atom::upsert_v, batch({make_deal(p1.asin, 1)}, {p1})));
    return a;
  }

  /// Sends `xs` to `a`, runs the scheduler and returns the answer.
  template<class T, class... Ts>
  caf::expected<T> ask(const storage_actor& a, Ts... xs) {
    caf::expected<T> result{caf::make_error(ec::none)};
    caf::scoped_actor self{sys};
    auto rh = self->request(a, caf::infinite, xs...);
    sched.run();
    rh.receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }

  /// The watermark as a fresh connection sees it on disk.
  feed_position on_disk() {
    auto res = db.open()->watermark();
    REQUIRE_OK(res);
    return *res;
  }

  static upsert_batch batch(std::vector<deal_record> deals,
                            std::vector<feed_position> done) {
    upsert_batch result;
    result.deals = std::move(deals);
    result.done = std::move(done);
    return result;
  }
};

using actor_fixture = actor_fixture_t<test::sqlite_fixture>;
using pg_actor_fixture = actor_fixture_t<test::postgresql_fixture>;

} // namespace

TEST_CASE("storage_config_from reads keepa.storage.*", "[storage][actor]") {
  caf::settings opts;
  auto cfg = storage_config_from(opts);
  CHECK(cfg.url == "sqlite:keepa.db");
  CHECK(cfg.busy_timeout == caf::timespan{defaults::storage::busy_timeout});
  CHECK(cfg.lock_retries == defaults::storage::lock_retries);
  caf::put(opts, defaults::storage::url_key, "postgresql:dbname=keepa");
  caf::put(opts, defaults::storage::busy_timeout_key, caf::timespan{250ms});
  caf::put(opts, defaults::storage::lock_retries_key, int64_t{7});
  cfg = storage_config_from(opts);
  CHECK(cfg.url == "postgresql:dbname=keepa");
  CHECK(cfg.busy_timeout == caf::timespan{250ms});
  CHECK(cfg.lock_retries == 7);
  CHECK(!validate(cfg));
}

TEST_CASE("validate names the bad storage option", "[storage][actor]") {
  auto bad = [](auto change) {
    storage_config cfg;
    change(cfg);
    auto err = validate(cfg);
    CHECK(err == ec::invalid_config);
    return render(err);
  };
  CHECK_THAT(bad([](auto& c) { c.url = ""; }),
             Catch::Contains("keepa.storage.url"));
  CHECK_THAT(bad([](auto& c) { c.url = "mysql://localhost/keepa"; }),
             Catch::Contains("unsupported scheme"));
  CHECK_THAT(bad([](auto& c) { c.busy_timeout = caf::timespan{0}; }),
             Catch::Contains("keepa.storage.busy-timeout"));
  CHECK_THAT(bad([](auto& c) { c.lock_retries = -1; }),
             Catch::Contains("keepa.storage.lock-retries"));
  CHECK_THAT(bad([](auto& c) { c.lock_retries = 101; }),
             Catch::Contains("keepa.storage.lock-retries"));
}

TEST_CASE_METHOD(actor_fixture, "a bad config ends the actor with the error",
                 "[storage][actor]") {
  auto cfg = config();
  cfg.lock_retries = -5;
  CHECK(spawn_storage(sys, cfg, false).error() == ec::invalid_config);
  // The behavior itself quits with the error and an empty behavior.
  auto a = sys.spawn(storage, cfg, std::shared_ptr<db::backend>{});
  caf::scoped_actor self{sys};
  self->monitor(a);
  sched.run();
  caf::error reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; });
  CHECK(reason == ec::invalid_config);
}

TEST_CASE_METHOD(actor_fixture, "an unopenable database is a clear error",
                 "[storage][actor]") {
  auto cfg = config();
  cfg.url = "sqlite:" + db.dir.path + "/no/such/dir/keepa.db";
  auto res = spawn_storage(sys, cfg, false);
  REQUIRE(!res);
  CHECK(res.error() == ec::storage_error);
  CHECK_THAT(render(res.error()), Catch::Contains("no/such/dir"));
}

template<class Fixture>
void watermark_case(Fixture& fix) {
  auto a = fix.spawn();
  auto p1 = pos(100, "B000000001"), p2 = pos(100, "B000000002"),
       p3 = pos(101, "B000000003");
  CHECK(*fix.template ask<uint64_t>(a, atom::track_v,
                                    std::vector<feed_position>{p1, p2, p3})
        == 3);
  // p2 and p3 finish first: stored, but the watermark waits for p1.
  auto ack = fix.template ask<upsert_ack>(
    a, atom::upsert_v,
    Fixture::batch({make_deal(p2.asin, 10), make_deal(p3.asin, 10)}, {p2, p3}));
  REQUIRE_OK(ack);
  CHECK(ack->deals == 2);
  CHECK(ack->watermark == feed_position{});
  CHECK(fix.on_disk() == feed_position{});
  // p1 is rejected by the peek filter: done as well, the watermark jumps.
  upsert_batch rej;
  rej.rejections = {make_rejection(p1.asin, 999, 11)};
  rej.done = {p1};
  ack = fix.template ask<upsert_ack>(a, atom::upsert_v, rej);
  REQUIRE_OK(ack);
  CHECK(ack->rejections == 1);
  CHECK(ack->watermark == p3);
  CHECK(fix.on_disk() == p3);
  CHECK(*fix.template ask<feed_position>(a, atom::watermark_v) == p3);
  auto c = fix.template ask<storage_counts>(a, atom::counts_v);
  REQUIRE_OK(c);
  CHECK(c->deals == 2);
  CHECK(c->rejections == 1);
  CHECK(c->pending == 0);
  CHECK(c->watermark == p3);
}

TEST_CASE_METHOD(actor_fixture,
                 "the watermark passes only positions that are done",
                 "[storage][actor][sqlite]") {
  watermark_case(*this);
}

TEST_CASE_METHOD(pg_actor_fixture,
                 "the watermark passes only positions that are done (pg)",
                 "[storage][actor][postgresql]") {
  watermark_case(*this);
}

TEST_CASE_METHOD(actor_fixture, "a restarted actor resumes at the watermark",
                 "[storage][actor]") {
  auto p1 = pos(100, "B000000001"), p2 = pos(101, "B000000002");
  {
    auto a = spawn();
    ask<uint64_t>(a, atom::track_v, std::vector<feed_position>{p1, p2});
    REQUIRE_OK(
      ask<upsert_ack>(a, atom::upsert_v, batch({make_deal(p1.asin, 1)}, {p1})));
    REQUIRE_OK(ask<caf::ok_atom>(a, atom::flush_v));
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }
  auto a = spawn();
  CHECK(*ask<feed_position>(a, atom::watermark_v) == p1);
  // p2 was handed on but not finished: it is pending again and still holds
  // the watermark, even when a newer position finishes first.
  CHECK(ask<storage_counts>(a, atom::counts_v)->pending == 1);
  auto pending = ask<std::vector<feed_position>>(a, atom::pending_v);
  REQUIRE_OK(pending);
  CHECK(*pending == std::vector<feed_position>{p2});
  auto p3 = pos(102, "B000000003");
  ask<uint64_t>(a, atom::track_v, std::vector<feed_position>{p3});
  auto ack = ask<upsert_ack>(a, atom::upsert_v,
                             batch({make_deal(p3.asin, 1)}, {p3}));
  REQUIRE_OK(ack);
  CHECK(ack->watermark == p1);
  ack = ask<upsert_ack>(a, atom::upsert_v, batch({}, {p2}));
  REQUIRE_OK(ack);
  CHECK(ack->watermark == p3);
  CHECK(ask<std::vector<feed_position>>(a, atom::pending_v)->empty());
}

TEST_CASE_METHOD(actor_fixture, "known, stalest and expire via the actor",
                 "[storage][actor]") {
  auto a = spawn();
  upsert_batch b
    = batch({make_deal("B000000001", 100), make_deal("B000000002", 200),
             make_deal("B000000003", 300)},
            {});
  b.rejections = {make_rejection("B000000009", 1234, 50)};
  REQUIRE_OK(ask<upsert_ack>(a, atom::upsert_v, b));
  auto mem = ask<std::vector<asin_memory>>(
    a, atom::known_v,
    std::vector<std::string>{"B000000009", "B000000002", "B000000077"});
  REQUIRE_OK(mem);
  REQUIRE(mem->size() == 2);
  CHECK((*mem)[0].rejected);
  CHECK((*mem)[0].rejected_price == 1234);
  CHECK((*mem)[1].stored);
  auto old = ask<std::vector<deal_record>>(a, atom::stalest_v, uint32_t{2},
                                           int64_t{1000});
  REQUIRE_OK(old);
  REQUIRE(old->size() == 2);
  CHECK((*old)[0].asin == "B000000001");
  CHECK((*old)[1].asin == "B000000002");
  CHECK(*ask<uint64_t>(a, atom::expire_v, int64_t{250}) == 2);
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 1);
  auto st = ask<caf::settings>(a, atom::status_v);
  REQUIRE_OK(st);
  CHECK(caf::get_or(*st, "name", std::string{}) == "storage");
  CHECK(caf::get_or(*st, "backend", std::string{}) == "sqlite");
  CHECK(caf::get_or(*st, "batches", int64_t{0}) == 1);
  CHECK(caf::get_or(*st, "deals-written", int64_t{0}) == 3);
  // A rejection that retires the last deal: the count follows, from memory.
  upsert_batch retire;
  retire.rejections = {make_rejection("B000000003", 2600, 400)};
  retire.rejections[0].retires = true;
  REQUIRE_OK(ask<upsert_ack>(a, atom::upsert_v, retire));
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 0);
  CHECK(ask<storage_counts>(a, atom::counts_v)->rejections == 2);
  st = ask<caf::settings>(a, atom::status_v);
  REQUIRE_OK(st);
  CHECK(caf::get_or(*st, "retired", int64_t{0}) == 1);
}

TEST_CASE_METHOD(actor_fixture,
                 "a hostile batch is refused whole and the actor goes on",
                 "[storage][actor]") {
  auto a = spawn();
  auto p1 = pos(100, "B000000001");
  ask<uint64_t>(a, atom::track_v, std::vector<feed_position>{p1});
  auto res = ask<upsert_ack>(
    a, atom::upsert_v,
    batch({make_deal("B000000001", 1), make_deal("x'); DROP TABLE deals;", 1)},
          {p1}));
  REQUIRE(!res);
  CHECK(res.error() == ec::storage_error);
  CHECK_THAT(render(res.error()), Catch::Contains("invalid batch"));
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 0);
  CHECK(on_disk() == feed_position{});
  auto bad_track = ask<uint64_t>(a, atom::track_v,
                                 std::vector<feed_position>{pos(1, "")});
  CHECK(bad_track.error() == ec::storage_error);
  REQUIRE_OK(ask<upsert_ack>(a, atom::upsert_v,
                             batch({make_deal("B000000001", 1)}, {p1})));
  CHECK(on_disk() == p1);
}

/// Where an answer arrives that is asked for now and may come much later.
template<class T>
using answer_box = std::shared_ptr<std::optional<caf::expected<T>>>;

/// Asks `a` from an event-based actor on the test scheduler; the answer
/// lands in the box (requests go out in the order of these calls).
template<class T, class Fixture, class... Ts>
answer_box<T> ask_later(Fixture& fix, const storage_actor& a, Ts... xs) {
  auto box = std::make_shared<std::optional<caf::expected<T>>>();
  fix.sys.spawn([=](caf::event_based_actor* self) {
    self->request(a, caf::infinite, xs...)
      .then([=](T& x) { *box = std::move(x); },
            [=](caf::error& err) { *box = std::move(err); });
  });
  return box;
}

template<class T>
std::string show(const answer_box<T>& x) {
  if (!*x)
    return "no answer yet";
  if (!**x)
    return "error: " + render((*x)->error());
  return "answered";
}

/// STORAGE with `p1` stored and the batch finishing `p2` asked for while
/// another connection holds the write lock (BEGIN IMMEDIATE/EXCLUSIVE).
struct stalled_upsert {
  storage_actor a;
  std::unique_ptr<soci::session> other;
  answer_box<upsert_ack> up;
};

template<class Fixture>
stalled_upsert
stall_upsert(Fixture& fix, const feed_position& p1, const feed_position& p2) {
  stalled_upsert result;
  result.a = fix.spawn_tracking(p1, p2);
  result.other = fix.db.raw();
  fix.db.lock_all(*result.other);
  result.up
    = ask_later<upsert_ack>(fix, result.a, atom::upsert_v,
                            Fixture::batch({make_deal(p2.asin, 2)}, {p2}));
  return result;
}

TEST_CASE_METHOD(actor_fixture,
                 "a locked database delays the answer instead of ending "
                 "STORAGE",
                 "[storage][actor][sqlite][outage]") {
  auto p1 = pos(100, "B000000001"), p2 = pos(101, "B000000002");
  auto [a, other, up] = stall_upsert(*this, p1, p2);
  // A read sent later is answered after the batch, not before.
  auto rd = ask_later<std::vector<asin_memory>>(
    *this, a, atom::known_v, std::vector<std::string>{p2.asin});
  sched.run();
  CHECK(show(up) == "no answer yet");
  // Minutes of virtual time: STORAGE keeps trying, nothing is answered.
  for (int i = 0; i < 20; ++i)
    advance(std::chrono::seconds(10));
  CHECK(show(up) == "no answer yet");
  CHECK(show(rd) == "no answer yet");
  *other << "ROLLBACK";
  advance(defaults::storage::retry_max);
  REQUIRE(show(up) == "answered");
  CHECK((**up)->deals == 1);
  CHECK((**up)->watermark == p2);
  REQUIRE(show(rd) == "answered");
  REQUIRE((**rd)->size() == 1);
  CHECK((***rd)[0].stored);
  CHECK(on_disk() == p2);
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 2);
}

TEST_CASE_METHOD(actor_fixture,
                 "counts and status answer from memory while STORAGE cannot "
                 "write",
                 "[storage][actor][sqlite][outage]") {
  auto p1 = pos(100, "B000000001"), p2 = pos(101, "B000000002");
  auto [a, other, up] = stall_upsert(*this, p1, p2);
  sched.run();
  REQUIRE(show(up) == "no answer yet");
  // A status scrape during the outage: answered at once, from memory.
  auto counts = ask_later<storage_counts>(*this, a, atom::counts_v);
  auto deals = ask_later<uint64_t>(*this, a, atom::counts_v, atom::deal_v);
  sched.run();
  REQUIRE(show(counts) == "answered");
  CHECK((**counts)->deals == 1);
  CHECK((**counts)->pending == 1);
  CHECK((**counts)->watermark == p1);
  REQUIRE(show(deals) == "answered");
  CHECK(***deals == 1);
  *other << "ROLLBACK";
  advance(defaults::storage::retry_max);
  REQUIRE(show(up) == "answered");
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 2);
}

/// Row counts as a fresh `SELECT COUNT(*)` on another connection sees them.
template<class Fixture>
std::pair<uint64_t, uint64_t> counted(Fixture& fix) {
  auto raw = fix.db.raw();
  long long deals = 0, rejections = 0;
  *raw << "SELECT COUNT(*) FROM deals", soci::into(deals);
  *raw << "SELECT COUNT(*) FROM rejections", soci::into(rejections);
  return {static_cast<uint64_t>(deals), static_cast<uint64_t>(rejections)};
}

template<class Fixture>
void kept_counts_case(Fixture& fix) {
  // Rows stored before STORAGE starts are counted once at start.
  {
    auto db = fix.db.open();
    upsert_batch b;
    b.deals = {make_deal("B000000001", 100), make_deal("B000000002", 100)};
    b.rejections = {make_rejection("B000000009", 500, 1)};
    REQUIRE_OK(db->commit(b, std::nullopt));
  }
  auto a = fix.spawn();
  auto same = [&] {
    auto c = fix.template ask<storage_counts>(a, atom::counts_v);
    REQUIRE_OK(c);
    auto [deals, rejections] = counted(fix);
    CHECK(c->deals == deals);
    CHECK(c->rejections == rejections);
    CHECK(*fix.template ask<uint64_t>(a, atom::counts_v, atom::deal_v)
          == deals);
    return std::pair{c->deals, c->rejections};
  };
  CHECK(same() == std::pair<uint64_t, uint64_t>{2, 1});
  // New deals, updates of stored ones, one ASIN twice in a batch, new and
  // updated rejections.
  upsert_batch b;
  b.deals = {make_deal("B000000001", 200), make_deal("B000000003", 200),
             make_deal("B000000004", 200), make_deal("B000000004", 250)};
  b.rejections = {make_rejection("B000000009", 400, 2),
                  make_rejection("B000000010", 400, 2),
                  make_rejection("B000000011", 400, 2),
                  make_rejection("B000000011", 300, 3)};
  REQUIRE_OK(fix.template ask<upsert_ack>(a, atom::upsert_v, b));
  CHECK(same() == std::pair<uint64_t, uint64_t>{4, 3});
  // Only updates: nothing new.
  b.deals = {make_deal("B000000002", 300), make_deal("B000000003", 300)};
  b.rejections = {make_rejection("B000000010", 200, 4)};
  REQUIRE_OK(fix.template ask<upsert_ack>(a, atom::upsert_v, b));
  CHECK(same() == std::pair<uint64_t, uint64_t>{4, 3});
  // Last seen: B000000001 200, B000000002 300, B000000003 300,
  // B000000004 250; expiry at 260 deletes the first and the last.
  CHECK(*fix.template ask<uint64_t>(a, atom::expire_v, int64_t{150}) == 0);
  CHECK(*fix.template ask<uint64_t>(a, atom::expire_v, int64_t{260}) == 2);
  CHECK(same() == std::pair<uint64_t, uint64_t>{2, 3});
  REQUIRE_OK(fix.template ask<upsert_ack>(
    a, atom::upsert_v, Fixture::batch({make_deal("B000000001", 400)}, {})));
  CHECK(same() == std::pair<uint64_t, uint64_t>{3, 3});
}

TEST_CASE_METHOD(actor_fixture,
                 "the counts STORAGE keeps equal a fresh COUNT(*)",
                 "[storage][actor][sqlite]") {
  kept_counts_case(*this);
}

TEST_CASE_METHOD(pg_actor_fixture,
                 "the counts STORAGE keeps equal a fresh COUNT(*) (pg)",
                 "[storage][actor][postgresql]") {
  kept_counts_case(*this);
}

TEST_CASE_METHOD(pg_actor_fixture,
                 "a lost PostgreSQL connection is reconnected and the batch "
                 "stored",
                 "[storage][actor][postgresql][outage]") {
  auto p1 = pos(100, "B000000001"), p2 = pos(101, "B000000002");
  auto a = spawn_tracking(p1, p2);
  // What a server restart does to STORAGE's session: terminated (57P01).
  *db.raw() << "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE pid <> pg_backend_pid() AND backend_type = 'client "
               "backend'";
  auto up = ask_later<upsert_ack>(*this, a, atom::upsert_v,
                                  batch({make_deal(p2.asin, 2)}, {p2}));
  sched.run();
  advance(defaults::storage::retry_max);
  REQUIRE(show(up) == "answered");
  CHECK((**up)->watermark == p2);
  CHECK(on_disk() == p2);
  CHECK(ask<storage_counts>(a, atom::counts_v)->deals == 2);
}

TEST_CASE_METHOD(actor_fixture,
                 "STORAGE holds TOKEN while it cannot write, resumes it after",
                 "[storage][actor][sqlite][outage]") {
  auto a = spawn();
  auto tok = test::spawn_token_stand_in(sys, "small");
  caf::anon_send(a, atom::hold_v, tok);
  sched.run();
  auto& holds = test::state_of<test::token_stand_in_state>(tok).holds;
  auto other = db.raw();
  db.lock_all(*other);
  auto up = ask_later<upsert_ack>(*this, a, atom::upsert_v,
                                  batch({make_deal("B000000001", 1)}, {}));
  sched.run();
  // At the first wait for the lock, then with the error once the busy
  // timeout ran out.
  REQUIRE(holds.size() == 2);
  CHECK(holds[0] == "storage waits for a lock");
  CHECK_THAT(holds[1], Catch::StartsWith("storage cannot write: storage_busy"));
  auto st = ask<caf::settings>(a, atom::status_v);
  REQUIRE_OK(st);
  CHECK(!caf::get_or(*st, "writable", true));
  CHECK(caf::get_or(*st, "stalled", std::string{}) == "upsert");
  // Retries with backoff: 250 ms, 500 ms, 1 s, ... (virtual time).
  advance(defaults::storage::retry_min);
  advance(defaults::storage::retry_min * 2);
  CHECK(
    caf::get_or(*ask<caf::settings>(a, atom::status_v), "retries", int64_t{0})
    == 2);
  CHECK(holds.size() == 2);
  CHECK(show(up) == "no answer yet");
  *other << "ROLLBACK";
  advance(defaults::storage::retry_min * 4);
  CHECK(show(up) == "answered");
  REQUIRE(holds.size() == 3);
  CHECK(holds[2].empty()); // resume
  st = ask<caf::settings>(a, atom::status_v);
  CHECK(caf::get_or(*st, "writable", false));
  CHECK(caf::get_or(*st, "outages", int64_t{0}) == 1);
}

template<class Fixture>
void failed_upsert_case(Fixture& fix) {
  auto p1 = pos(100, "B000000001"), p2 = pos(101, "B000000002");
  auto a = fix.spawn_tracking(p1, p2);
  auto tok = test::spawn_token_stand_in(fix.sys, "small");
  caf::anon_send(a, atom::hold_v, tok);
  // A permanent error: a statement the database refuses.
  fix.db.plant_failing_trigger();
  caf::scoped_actor self{fix.sys};
  self->monitor(a);
  auto b = Fixture::batch({make_deal(p2.asin, 1)}, {p2});
  b.rejections = {make_rejection("B000000003", 100, 1)};
  auto res = fix.template ask<upsert_ack>(a, atom::upsert_v, b);
  REQUIRE(!res);
  CHECK(res.error() == ec::storage_error);
  caf::error reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; });
  CHECK(reason == ec::storage_error);
  CHECK_THAT(render(reason), Catch::Contains("boom"));
  // TOKEN grants nothing more: nothing could be stored.
  auto& holds = test::state_of<test::token_stand_in_state>(tok).holds;
  REQUIRE(holds.size() == 1);
  CHECK_THAT(holds[0], Catch::StartsWith("storage failed: storage_error"));
  CHECK(fix.on_disk() == p1);
  CHECK(!*fix.db.open()->find(p2.asin));
}

TEST_CASE_METHOD(actor_fixture,
                 "a permanent error stores nothing and stops the actor",
                 "[storage][actor][sqlite]") {
  failed_upsert_case(*this);
}

TEST_CASE_METHOD(pg_actor_fixture,
                 "a permanent error stores nothing and stops the actor (pg)",
                 "[storage][actor][postgresql]") {
  failed_upsert_case(*this);
}

/// The deals table dropped under a running STORAGE: the updater's read of
/// the stalest deals fails for good. Before, only a write's permanent error
/// ended STORAGE; a read's was answered and asked again every second, and a
/// pipeline with nothing to write (feed-limited) ran on, logging it.
template<class Fixture>
void failed_read_case(Fixture& fix) {
  auto a = fix.spawn_tracking(pos(100, "B000000001"), pos(101, "B000000002"));
  auto tok = test::spawn_token_stand_in(fix.sys, "small");
  caf::anon_send(a, atom::hold_v, tok);
  *fix.db.raw() << "DROP TABLE deals";
  caf::scoped_actor self{fix.sys};
  self->monitor(a);
  auto res = fix.template ask<std::vector<deal_record>>(
    a, atom::stalest_v, uint32_t{10}, int64_t{1000});
  REQUIRE(!res);
  CHECK(res.error() == ec::storage_error);
  caf::error reason;
  self->receive([&](caf::down_msg& msg) { reason = msg.reason; },
                caf::after(std::chrono::seconds{0}) >> [] {});
  CHECK(reason == ec::storage_error);
  CHECK_THAT(render(reason), Catch::Contains("deals"));
  auto& holds = test::state_of<test::token_stand_in_state>(tok).holds;
  REQUIRE(holds.size() == 1);
  CHECK_THAT(holds[0], Catch::StartsWith("storage failed: storage_error"));
}

TEST_CASE_METHOD(actor_fixture,
                 "a read that fails for good stops the actor too",
                 "[storage][actor][sqlite]") {
  failed_read_case(*this);
}

TEST_CASE_METHOD(pg_actor_fixture,
                 "a read that fails for good stops the actor too (pg)",
                 "[storage][actor][postgresql]") {
  failed_read_case(*this);
}

TEST_CASE_METHOD(actor_fixture,
                 "STORAGE of a keepa.locale=uk pipeline refreshes and expires "
                 "only UK deals, beside a US pipeline's",
                 "[storage][actor]") {
  // Issue 22: a US and a UK pipeline store into one database; the UK
  // updater asks its STORAGE for stale deals and expires the dead ones.
  caf::settings opts;
  caf::put(opts, defaults::storage::url_key, db.url());
  caf::put(opts, "keepa.locale", "uk");
  auto uk = spawn_storage(sys, storage_config_from(opts), false);
  REQUIRE_OK(uk);
  auto us = spawn();
  sched.run();
  auto uk_deal = make_deal("B000000002", 100);
  uk_deal.domain = 2;
  REQUIRE_OK(ask<upsert_ack>(us, atom::upsert_v,
                             batch({make_deal("B000000001", 100)}, {})));
  REQUIRE_OK(ask<upsert_ack>(*uk, atom::upsert_v, batch({uk_deal}, {})));
  auto stale = ask<std::vector<deal_record>>(*uk, atom::stalest_v, uint32_t{10},
                                             int64_t{1000});
  REQUIRE_OK(stale);
  REQUIRE(stale->size() == 1);
  CHECK(stale->front().domain == 2);
  CHECK(stale->front().currency == "GBP");
  CHECK(*ask<uint64_t>(*uk, atom::expire_v, int64_t{1000}) == 1);
  auto left = db.open()->list_deals(db::deal_listing{});
  REQUIRE_OK(left);
  REQUIRE(left->size() == 1);
  CHECK(left->front().domain == 1);
}
