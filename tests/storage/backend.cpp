// The backend contract, run against SQLite files and against a real
// PostgreSQL server (SOCI's common-tests shape: one suite, one fixture per
// backend, one SECTION per case).

#include <algorithm>

#include <catch2/catch.hpp>

#include "messages/error.hpp"
#include "actors/storage/run_tally.hpp"
#include "tests/storage/fixtures.hpp"

using namespace keepa;
using keepa::test::make_deal;
using keepa::test::make_rejection;

namespace {

upsert_batch deals_batch(std::initializer_list<deal_record> xs) {
  upsert_batch result;
  result.deals = xs;
  return result;
}

feed_position pos(int32_t minute, std::string asin) {
  return feed_position{minute, std::move(asin)};
}

bool same(const deal_record& x, const deal_record& y) {
  return x.asin == y.asin && x.domain == y.domain && x.title == y.title
    && x.raw_title == y.raw_title && x.currency == y.currency
    && x.buy_price == y.buy_price && x.est_sell_price == y.est_sell_price
    && x.avg365 == y.avg365 && x.all_in_cost == y.all_in_cost
    && x.profit == y.profit && x.margin_bp == y.margin_bp
    && x.roi_bp == y.roi_bp && x.min_listing_price == y.min_listing_price
    && x.sales_rank == y.sales_rank && x.rank_drops90 == y.rank_drops90
    && x.rank_drops365 == y.rank_drops365 && x.offers_used == y.offers_used
    && x.offers_new == y.offers_new && x.last_update == y.last_update
    && x.first_seen_ms == y.first_seen_ms && x.last_seen_ms == y.last_seen_ms
    && x.written_by == y.written_by;
}

} // namespace

namespace keepa::test {

void run_backend_contract(const backend_fixture& fix) {
  SECTION("a fresh database is empty and at the current schema version") {
    auto db = fix.open();
    CHECK(db->kind() == fix.kind());
    auto c = db->counts();
    REQUIRE(c);
    CHECK(c->deals == 0);
    CHECK(c->rejections == 0);
    CHECK(c->watermark == feed_position{});
    CHECK(c->schema_version == db::current_schema_version);
    CHECK(*db->deal_count() == 0);
  }
  SECTION("upsert stores every field and updates by ASIN") {
    auto db = fix.open();
    auto a = make_deal("B000000001", 5000);
    a.written_by = write_stage::rescue;
    a.title = "It's a \"quoted\" title'); DROP TABLE deals; --";
    REQUIRE_OK(db->commit(deals_batch({a, make_deal("B000000002", 6000)}),
                          std::nullopt));
    // Storage keeps the raw title and sets the locale's currency.
    a.raw_title = a.title;
    a.currency = "USD";
    auto found = db->find("B000000001");
    REQUIRE_OK(found);
    REQUIRE(*found);
    CHECK(same(**found, a));
    // A light update later: what a light product tells (buy price with
    // the figures that follow it, sales rank, lastUpdate) and when it was
    // seen. The rest of the row stays as the commit wrote it, even where
    // the updater's record differs: a commit may have written the row
    // since the updater read it.
    auto b = make_deal("B000000001", 9000, 1200);
    b.buy_price = 42;
    b.all_in_cost = 442;
    b.profit = a.profit + 7;
    b.margin_bp = a.margin_bp + 1;
    b.roi_bp = a.roi_bp + 2;
    b.sales_rank = 777;
    b.first_seen_ms = 9000;
    b.est_sell_price = a.est_sell_price + 1;
    b.rank_drops90 = a.rank_drops90 + 1;
    b.written_by = write_stage::light_update;
    b.raw_title = b.title;
    b.currency = "USD";
    REQUIRE(b.title != a.title);
    REQUIRE_OK(db->commit(deals_batch({b}), std::nullopt));
    found = db->find("B000000001");
    REQUIRE_OK(found);
    REQUIRE(*found);
    CHECK((*found)->buy_price == 42);
    CHECK((*found)->sales_rank == 777);
    CHECK((*found)->last_update == 1200);
    CHECK((*found)->first_seen_ms == 5000);
    CHECK((*found)->last_seen_ms == 9000);
    CHECK((*found)->written_by == write_stage::light_update);
    auto expected = a;
    expected.buy_price = 42;
    expected.all_in_cost = 442;
    expected.profit = b.profit;
    expected.margin_bp = b.margin_bp;
    expected.roi_bp = b.roi_bp;
    expected.sales_rank = 777;
    expected.last_update = 1200;
    expected.last_seen_ms = 9000;
    expected.written_by = write_stage::light_update;
    CHECK(same(**found, expected));
    // An older sighting does not move last_seen back; at the price stored
    // the stored figures stay.
    auto late = b;
    late.last_seen_ms = 8000;
    late.profit = b.profit + 100;
    REQUIRE_OK(db->commit(deals_batch({late}), std::nullopt));
    found = db->find("B000000001");
    REQUIRE_OK(found);
    REQUIRE(*found);
    CHECK((*found)->last_seen_ms == 9000);
    CHECK((*found)->profit == b.profit);
    CHECK(db->counts()->deals == 2);
    CHECK(*db->deal_count() == 2);
    // A light update of a row that went meanwhile (expired) stores it
    // again, as a new row.
    REQUIRE_OK(db->expire(10000));
    CHECK(*db->deal_count() == 0);
    auto again = db->commit(deals_batch({b}), std::nullopt);
    REQUIRE_OK(again);
    CHECK(again->new_deals == 1);
    found = db->find("B000000001");
    REQUIRE_OK(found);
    REQUIRE(*found);
    CHECK(same(**found, b));
    auto none = db->find("B00NOTHERE");
    REQUIRE(none);
    CHECK(!*none);
  }
  SECTION("commit tells how many deal and rejection rows are new") {
    auto db = fix.open();
    upsert_batch b;
    b.deals = {make_deal("B000000001", 10), make_deal("B000000002", 10),
               make_deal("B000000002", 20)};
    b.rejections = {make_rejection("B000000003", 100, 1)};
    auto res = db->commit(b, std::nullopt);
    REQUIRE_OK(res);
    CHECK(res->new_deals == 2);
    CHECK(res->new_rejections == 1);
    CHECK(db->find("B000000002")->value().last_seen_ms == 20);
    // Updates of stored rows are not new; one unknown ASIN of each is.
    b.deals = {make_deal("B000000001", 30), make_deal("B000000004", 30)};
    b.rejections = {make_rejection("B000000003", 90, 2),
                    make_rejection("B000000005", 90, 2)};
    res = db->commit(b, std::nullopt);
    REQUIRE_OK(res);
    CHECK(res->new_deals == 1);
    CHECK(res->new_rejections == 1);
    auto c = db->counts();
    REQUIRE_OK(c);
    CHECK(c->deals == 3);
    CHECK(c->rejections == 2);
    auto known = db->known({"B000000003"});
    REQUIRE_OK(known);
    REQUIRE(known->size() == 1);
    CHECK((*known)[0].rejected_price == 90);
    CHECK((*known)[0].rejected_at_ms == 2);
    // A real time in Unix ms (beyond 32 bits) comes back whole, beside a
    // stored deal in the same answer and alone (issue 21: SQLite answered
    // it cut to 32 bits, so every remembered rejection was forgotten).
    b.deals = {};
    b.rejections = {make_rejection("B000000006", 90, 1790000000000)};
    REQUIRE_OK(db->commit(b, std::nullopt));
    for (auto asins : {std::vector<std::string>{"B000000006"},
                       std::vector<std::string>{"B000000001", "B000000006"}}) {
      known = db->known(asins);
      REQUIRE_OK(known);
      REQUIRE(known->back().asin == "B000000006");
      CHECK(known->back().rejected_at_ms == 1790000000000);
    }
  }
  SECTION("a rejection that retires its ASIN removes the deal row, in "
          "its locale only; one that does not keeps it") {
    // A stored deal judged no longer one (its profit at a new price below
    // the minimum) stayed a deal row beside its rejection.
    auto db = fix.open();
    auto us2 = make_deal("B000000002", 1);
    auto uk2 = us2;
    uk2.domain = 2;
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1), us2, uk2,
                                       make_deal("B000000003", 1)}),
                          std::nullopt));
    upsert_batch b;
    b.rejections = {make_rejection("B000000001", 2600, 5),
                    make_rejection("B000000002", 2600, 5),
                    make_rejection("B000000004", 2600, 5)};
    b.rejections[1].retires = true;
    b.rejections[2].retires = true; // no deal row: nothing to remove
    auto res = db->commit(b, std::nullopt);
    REQUIRE_OK(res);
    CHECK(res->retired_deals == 1);
    CHECK(res->new_rejections == 3);
    CHECK(*db->find("B000000001"));
    CHECK(!*db->find("B000000002"));
    CHECK(*db->find("B000000003"));
    CHECK(*db->deal_count() == 3);
    db::deal_listing q;
    q.domain = 2;
    CHECK(db->list_deals(q)->size() == 1);
    auto known = db->known({"B000000002"});
    REQUIRE_OK(known);
    REQUIRE(known->size() == 1);
    CHECK(!(*known)[0].stored);
    CHECK((*known)[0].rejected);
    CHECK((*known)[0].rejected_price == 2600);
  }
  SECTION("known answers stored and rejected ASINs in input order") {
    auto db = fix.open();
    upsert_batch batch;
    batch.deals = {make_deal("B000000001", 1), make_deal("B000000003", 1)};
    batch.rejections = {make_rejection("B000000002", 1999, 77),
                        make_rejection("B000000003", 500, 78)};
    batch.rejections[0].retry_below = 1200;
    REQUIRE_OK(db->commit(batch, std::nullopt));
    // The newest rejection of an ASIN wins.
    upsert_batch again;
    again.rejections = {make_rejection("B000000002", 1499, 99)};
    again.rejections[0].retry_below = 0;
    REQUIRE_OK(db->commit(again, std::nullopt));
    auto xs = db->known(
      {"B000000003", "B00UNKNOWN", "B000000002", "B000000001", "B000000002"});
    REQUIRE(xs);
    REQUIRE(xs->size() == 3);
    CHECK((*xs)[0].asin == "B000000003");
    CHECK((*xs)[0].stored);
    CHECK((*xs)[0].rejected);
    CHECK((*xs)[0].rejected_price == 500);
    CHECK((*xs)[1].asin == "B000000002");
    CHECK(!(*xs)[1].stored);
    CHECK((*xs)[1].rejected);
    CHECK((*xs)[1].rejected_price == 1499);
    CHECK((*xs)[1].rejected_at_ms == 99);
    CHECK((*xs)[1].rejected_retry_below == 0);
    CHECK((*xs)[0].rejected_retry_below == -1);
    CHECK((*xs)[1].stored_last_update == 0);
    CHECK((*xs)[0].stored_last_update == batch.deals[1].last_update);
    CHECK((*xs)[2].asin == "B000000001");
    CHECK((*xs)[2].stored);
    CHECK(!(*xs)[2].rejected);
    CHECK(db->counts()->rejections == 2);
    CHECK(*db->deal_count() == db->counts()->deals);
    auto empty = db->known({});
    REQUIRE(empty);
    CHECK(empty->empty());
  }
  SECTION("known answers a stored deal's buy price and profit; a sighting "
          "moves its lastUpdate and last seen time and keeps its figures") {
    auto db = fix.open();
    upsert_batch batch;
    batch.deals = {make_deal("B000000001", 10, 1000)};
    batch.deals[0].buy_price = 1234;
    batch.deals[0].profit = 567;
    REQUIRE_OK(db->commit(batch, std::nullopt));
    auto xs = db->known({"B000000001"});
    REQUIRE_OK(xs);
    REQUIRE(xs->size() == 1);
    CHECK((*xs)[0].stored_buy_price == 1234);
    CHECK((*xs)[0].stored_profit == 567);
    upsert_batch seen;
    seen.seen = {deal_sighting{"B000000001", 1005, 50},
                 deal_sighting{"B00UNKNOWN", 1005, 50}};
    REQUIRE_OK(db->commit(seen, std::nullopt));
    auto d = db->find("B000000001");
    REQUIRE_OK(d);
    REQUIRE(d->has_value());
    CHECK(d->value().last_update == 1005);
    CHECK(d->value().last_seen_ms == 50);
    CHECK(d->value().buy_price == 1234);
    CHECK(d->value().profit == 567);
    CHECK(d->value().written_by == write_stage::commit);
    // A sighting never moves a row back, and creates none.
    seen.seen = {deal_sighting{"B000000001", 1001, 20}};
    REQUIRE_OK(db->commit(seen, std::nullopt));
    CHECK(db->find("B000000001")->value().last_update == 1005);
    CHECK(db->find("B000000001")->value().last_seen_ms == 50);
    CHECK(db->counts()->deals == 1);
  }
  SECTION("known answers a stored deal's sell estimate and all-in cost; a "
          "sighting with a buy price stores it with the figures at it, "
          "unless the row is newer") {
    auto db = fix.open();
    upsert_batch batch;
    batch.deals = {make_deal("B000000001", 10, 1000)};
    auto& r = batch.deals[0];
    r.buy_price = 1000;
    r.est_sell_price = 3000;
    r.all_in_cost = 1100;
    r.profit = 700;
    r.margin_bp = 2333;
    r.roi_bp = 6364;
    REQUIRE_OK(db->commit(batch, std::nullopt));
    auto xs = db->known({"B000000001"});
    REQUIRE_OK(xs);
    REQUIRE(xs->size() == 1);
    CHECK((*xs)[0].stored_sell_price == 3000);
    CHECK((*xs)[0].stored_all_in_cost == 1100);
    upsert_batch seen;
    seen.seen
      = {deal_sighting{"B000000001", 1005, 50, 500, 600, 1200, 4000, 20000}};
    REQUIRE_OK(db->commit(seen, std::nullopt));
    auto d = db->find("B000000001");
    REQUIRE_OK(d);
    REQUIRE(d->has_value());
    auto& x = d->value();
    CHECK(x.last_update == 1005);
    CHECK(x.last_seen_ms == 50);
    CHECK(x.buy_price == 500);
    CHECK(x.all_in_cost == 600);
    CHECK(x.profit == 1200);
    CHECK(x.margin_bp == 4000);
    CHECK(x.roi_bp == 20000);
    CHECK(x.est_sell_price == 3000);
    CHECK(x.written_by == write_stage::commit);
    // An older sighting's price never overwrites a newer row's.
    seen.seen
      = {deal_sighting{"B000000001", 1003, 60, 400, 500, 1300, 4333, 26000}};
    REQUIRE_OK(db->commit(seen, std::nullopt));
    auto y = db->find("B000000001")->value();
    CHECK(y.last_update == 1005);
    CHECK(y.last_seen_ms == 60);
    CHECK(y.buy_price == 500);
    CHECK(y.profit == 1200);
  }
  SECTION("known handles batches larger than one statement") {
    auto db = fix.open();
    upsert_batch batch;
    std::vector<std::string> asins;
    for (int i = 0; i < 1200; ++i) {
      auto asin = "B" + std::to_string(100000000 + i);
      asins.push_back(asin);
      if (i % 3 == 0)
        batch.deals.push_back(make_deal(asin, i));
    }
    REQUIRE_OK(db->commit(batch, std::nullopt));
    auto xs = db->known(asins);
    REQUIRE(xs);
    CHECK(xs->size() == 400);
    CHECK(std::all_of(xs->begin(), xs->end(), [](auto& m) {
      return m.stored && (std::stoi(m.asin.substr(1)) - 100000000) % 3 == 0;
    }));
  }
  SECTION("stalest returns the oldest last_seen first, bounded") {
    auto db = fix.open();
    REQUIRE_OK(db->commit(
      deals_batch({make_deal("B000000005", 500), make_deal("B000000001", 100),
                   make_deal("B000000004", 400), make_deal("B000000002", 100),
                   make_deal("B000000003", 300)}),
      std::nullopt));
    auto xs = db->stalest(3, 1000);
    REQUIRE(xs);
    REQUIRE(xs->size() == 3);
    CHECK((*xs)[0].asin == "B000000001");
    CHECK((*xs)[1].asin == "B000000002");
    CHECK((*xs)[2].asin == "B000000003");
    xs = db->stalest(10, 400);
    REQUIRE(xs);
    CHECK(xs->size() == 3);
    xs = db->stalest(0, 1000);
    REQUIRE(xs);
    CHECK(xs->empty());
  }
  SECTION("expire deletes exactly the deals unseen since the cutoff") {
    auto db = fix.open();
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 100),
                                       make_deal("B000000002", 200),
                                       make_deal("B000000003", 300)}),
                          std::nullopt));
    auto n = db->expire(300);
    REQUIRE(n);
    CHECK(*n == 2);
    CHECK(db->counts()->deals == 1);
    n = db->expire(300);
    REQUIRE(n);
    CHECK(*n == 0);
    CHECK(*db->find("B000000003"));
  }
  SECTION("the watermark is stored with its batch and survives reopening") {
    {
      auto db = fix.open();
      REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                            pos(700, "B000000001")));
      REQUIRE_OK(
        db->commit(deals_batch({make_deal("B000000002", 1)}), std::nullopt));
      CHECK(*db->watermark() == pos(700, "B000000001"));
      REQUIRE_OK(db->flush());
    }
    auto db = fix.open();
    CHECK(*db->watermark() == pos(700, "B000000001"));
    CHECK(db->counts()->deals == 2);
  }
  SECTION("kept state goes with the next watermark or flush, not before") {
    {
      auto db = fix.open();
      db->keep_state({{"run.peeks", "12"}, {"run.ms", "60000"}});
      // No watermark: not written yet.
      REQUIRE_OK(
        db->commit(deals_batch({make_deal("B000000001", 1)}), std::nullopt));
      CHECK(db->state("run.")->empty());
      REQUIRE_OK(db->commit(deals_batch({make_deal("B000000002", 1)}),
                            pos(700, "B000000002")));
      using kvs = std::vector<std::pair<std::string, std::string>>;
      CHECK(*db->state("run.")
            == kvs{{"run.ms", "60000"}, {"run.peeks", "12"}});
      // The prefix selects; the watermark's keys are not run.*.
      CHECK(db->state("watermark.")->size() == 2);
      // A flush writes what was kept since, replacing older values.
      db->keep_state({{"run.peeks", "30"}});
      REQUIRE_OK(db->flush());
    }
    auto db = fix.open();
    using kvs = std::vector<std::pair<std::string, std::string>>;
    CHECK(*db->state("run.") == kvs{{"run.ms", "60000"}, {"run.peeks", "30"}});
  }
  SECTION("a kept value is written again after a transaction that wrote it "
          "failed, also when it did not change since") {
    // The backend skips a value it committed last time (most batches
    // change two or three of the run counters); what a failed transaction
    // wrote is not committed. A trigger refuses run.peeks = 13 after
    // run.ms = 2 was written in the same transaction.
    auto db = fix.open();
    using kvs = std::vector<std::pair<std::string, std::string>>;
    db->keep_state({{"run.ms", "1"}, {"run.peeks", "12"}});
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                          pos(700, "B000000001")));
    if (fix.kind() == "sqlite") {
      *fix.raw() << "CREATE TRIGGER refuse BEFORE UPDATE ON system_state"
                    " WHEN NEW.value = '13' BEGIN SELECT RAISE(ABORT, "
                    "'refused'); END";
    } else {
      auto s = fix.raw();
      *s << "CREATE FUNCTION refuse() RETURNS trigger AS"
            " $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql";
      *s << "CREATE TRIGGER refuse BEFORE UPDATE ON system_state"
            " FOR EACH ROW WHEN (NEW.value = '13') EXECUTE FUNCTION refuse()";
    }
    db->keep_state({{"run.ms", "2"}, {"run.peeks", "13"}});
    CHECK_FALSE(db->commit(deals_batch({make_deal("B000000002", 1)}),
                           pos(700, "B000000002")));
    CHECK(*db->state("run.") == kvs{{"run.ms", "1"}, {"run.peeks", "12"}});
    *fix.raw() << "DROP TRIGGER refuse"
        + std::string{fix.kind() == "sqlite" ? "" : " ON system_state"};
    db->keep_state({{"run.ms", "2"}, {"run.peeks", "14"}});
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000002", 1)}),
                          pos(700, "B000000002")));
    CHECK(*db->state("run.") == kvs{{"run.ms", "2"}, {"run.peeks", "14"}});
    // A value committed once and kept again unchanged stays as it is.
    db->keep_state({{"run.ms", "2"}, {"run.peeks", "15"}});
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000003", 1)}),
                          pos(700, "B000000003")));
    CHECK(*db->state("run.") == kvs{{"run.ms", "2"}, {"run.peeks", "15"}});
  }
  SECTION("run counters kept with the watermark fit the same after "
          "reopening") {
    run_sample x;
    x.run_time = std::chrono::minutes{90};
    x.feed_items = 900;
    x.feed_first = 8000000;
    x.feed_last = 8000089;
    x.peeks = 400;
    x.passes = 40;
    x.commits = 2;
    x.tokens = {300, 400, 20, 7};
    x.refill_rate = 20;
    {
      auto db = fix.open();
      db->keep_state(to_state(x));
      REQUIRE_OK(db->commit(
        deals_batch({make_deal("B000000001", 1), make_deal("B000000002", 1)}),
        pos(700, "B000000002")));
    }
    auto db = fix.open();
    auto y = read_run_sample(*db);
    REQUIRE_OK(y);
    CHECK(to_state(*y) == to_state(x));
    CHECK(y->stored == 2);
    // Two deals are too few to fit; the third makes it.
    auto m = fit(*y);
    REQUIRE_FALSE(m);
    CHECK_THAT(render(m.error()), Catch::Contains("needs 3 committed deals"));
    x.commits = 3;
    db->keep_state(to_state(x));
    REQUIRE_OK(db->flush());
    auto z = read_run_sample(*db);
    REQUIRE_OK(z);
    auto fitted = fit(*z);
    REQUIRE_OK(fitted);
    CHECK(fitted->feed_per_hour == Approx(600));
    CHECK(fitted->tokens_per_deal == Approx(240));
    // A malformed counter is refused with its key.
    *fix.raw() << "UPDATE system_state SET value = 'x' WHERE key = 'run.peeks'";
    auto bad = read_run_sample(*db);
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == ec::invalid_config);
    CHECK_THAT(render(bad.error()), Catch::Contains("run.peeks"));
  }
  SECTION("tracked positions survive reopening until they are done") {
    auto a = pos(10, "B000000001"), b = pos(20, "B000000002"),
         c = pos(20, "B000000003"), d = pos(30, "B000000004");
    {
      auto db = fix.open();
      REQUIRE_OK(db->track({c, a, b}));
      REQUIRE_OK(db->track({b, d})); // b again: recorded once
    }
    auto db = fix.open();
    auto xs = db->pending();
    REQUIRE(xs);
    CHECK(*xs == std::vector<feed_position>{a, b, c, d});
    // Done in a batch: forgotten in the same transaction.
    upsert_batch done_b = deals_batch({make_deal("B000000002", 1)});
    done_b.done = {b};
    REQUIRE_OK(db->commit(done_b, std::nullopt));
    CHECK(*db->pending() == std::vector<feed_position>{a, c, d});
    // A rolled-back batch forgets nothing.
    fix.plant_failing_trigger();
    upsert_batch failing;
    failing.rejections = {make_rejection("B000000004", 100, 2)};
    failing.done = {d};
    REQUIRE(!db->commit(failing, pos(30, "B000000004")));
    CHECK(*db->pending() == std::vector<feed_position>{a, c, d});
    // A stored watermark also forgets every position at or below it.
    upsert_batch done_a;
    done_a.done = {a};
    REQUIRE_OK(db->commit(done_a, c));
    CHECK(*db->pending() == std::vector<feed_position>{d});
    REQUIRE_OK(db->track({}));
  }
  SECTION("a failing statement rolls back the whole batch") {
    auto db = fix.open();
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                          pos(10, "B000000001")));
    fix.plant_failing_trigger();
    upsert_batch batch;
    batch.deals = {make_deal("B000000002", 2)};
    batch.rejections = {make_rejection("B000000003", 100, 2)};
    auto res = db->commit(batch, pos(20, "B000000003"));
    REQUIRE(!res);
    CHECK(res.error() == ec::storage_error);
    CHECK_THAT(render(res.error()), Catch::Contains("boom"));
    CHECK(*db->watermark() == pos(10, "B000000001"));
    CHECK(db->counts()->deals == 1);
    CHECK(!*db->find("B000000002"));
  }
  SECTION("a locked database gives storage_busy after bounded retries") {
    auto db = fix.open();
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                          pos(10, "B000000001")));
    auto other = fix.raw();
    fix.lock_all(*other);
    auto res = db->commit(deals_batch({make_deal("B000000002", 2)}),
                          pos(20, "B000000002"));
    REQUIRE(!res);
    CHECK(res.error() == ec::storage_busy);
    CHECK_THAT(render(res.error()), Catch::Contains("after 3 tries"));
    *other << "ROLLBACK";
    CHECK(*db->watermark() == pos(10, "B000000001"));
    CHECK(!*db->find("B000000002"));
    // Once the lock is gone the same batch goes through.
    REQUIRE_OK(db->commit(deals_batch({make_deal("B000000002", 2)}),
                          pos(20, "B000000002")));
    CHECK(*db->watermark() == pos(20, "B000000002"));
  }
  SECTION("text that is not valid UTF-8 is stored repaired") {
    // A raw byte, a lone surrogate (as a JSON \ud800 decodes) and a NUL:
    // PostgreSQL refuses each, and failed the whole batch.
    auto db = fix.open();
    auto deal = make_deal("B000000001", 1);
    const char raw_title[] = "Caf\xE9 \xED\xA0\x80 a\0b \xF0\x9F\x93\x9A";
    deal.title = std::string(raw_title, sizeof(raw_title) - 1);
    auto rejection = make_rejection("B000000002", 100, 2);
    rejection.reason = "commit_failed: \xFF";
    upsert_batch batch = deals_batch({deal});
    batch.rejections = {rejection};
    REQUIRE_OK(db->commit(batch, pos(10, "B000000002")));
    auto found = db->find("B000000001");
    REQUIRE_OK(found);
    REQUIRE(*found);
    CHECK((*found)->title
          == "Caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ab"
             " \xF0\x9F\x93\x9A");
    std::string reason;
    *fix.raw() << "SELECT reason FROM rejections", soci::into(reason);
    CHECK(reason == "commit_failed: \xEF\xBF\xBD");
    CHECK(*db->watermark() == pos(10, "B000000002"));
  }
  SECTION("an older schema is upgraded, keeping its data") {
    {
      auto old = fix.open(1);
      CHECK(old->schema_version() == 1);
      REQUIRE_OK(old->commit(deals_batch({make_deal("B000000001", 1)}),
                             pos(10, "B000000001")));
    }
    auto db = fix.open();
    CHECK(db->schema_version() == db::current_schema_version);
    CHECK(db->counts()->schema_version == db::current_schema_version);
    CHECK(*db->find("B000000001"));
    CHECK(*db->watermark() == pos(10, "B000000001"));
    REQUIRE_OK(db->track({pos(20, "B000000002")}));
    CHECK(db->pending()->size() == 1);
    int version = 0;
    *fix.raw() << "SELECT version FROM schema_version", soci::into(version);
    CHECK(version == db::current_schema_version);
  }
  SECTION("schema 3's rejections keep their price; later ones a retry price") {
    {
      auto old = fix.open(3);
      upsert_batch batch;
      batch.rejections = {make_rejection("B000000001", 900, 5)};
      batch.rejections[0].retry_below = 700; // no column to hold it yet
      REQUIRE_OK(old->commit(batch, std::nullopt));
      CHECK((*old->known({"B000000001"}))[0].rejected_retry_below == -1);
    }
    auto db = fix.open();
    auto xs = db->known({"B000000001"});
    REQUIRE(xs->size() == 1);
    CHECK((*xs)[0].rejected_price == 900);
    CHECK((*xs)[0].rejected_retry_below == -1);
    upsert_batch batch;
    batch.rejections = {make_rejection("B000000001", 950, 6)};
    batch.rejections[0].retry_below = 700;
    REQUIRE_OK(db->commit(batch, std::nullopt));
    CHECK((*db->known({"B000000001"}))[0].rejected_retry_below == 700);
    int version = 0;
    *fix.raw() << "SELECT version FROM schema_version", soci::into(version);
    CHECK(version == db::current_schema_version);
  }
  SECTION("list_deals pages the best deals by ROI, profit, rank, newest") {
    auto db = fix.open();
    // Five deals with distinct figures; C is a UK deal, E has no rank.
    auto deal = [](const char* asin, int32_t roi, int32_t profit, int32_t rank,
                   int64_t seen, int32_t domain = 1) {
      auto x = make_deal(asin, seen);
      x.roi_bp = roi;
      x.profit = profit;
      x.sales_rank = rank;
      x.domain = domain;
      return x;
    };
    REQUIRE_OK(
      db->commit(deals_batch({deal("B00000000A", 5000, 900, 300, 10),
                              deal("B00000000B", 9000, 400, 100, 40),
                              deal("B00000000C", 7000, 1200, 200, 30, 2),
                              deal("B00000000D", 7000, 700, 5000, 20),
                              deal("B00000000E", 1000, 1500, -1, 50)}),
                 std::nullopt));
    auto asins = [&](const db::deal_listing& q) {
      auto xs = db->list_deals(q);
      REQUIRE_OK(xs);
      std::string result;
      for (auto& x : *xs)
        result += x.asin.back();
      return result;
    };
    auto count = [&](const db::deal_listing& q) {
      auto n = db->count_deals(q);
      REQUIRE_OK(n);
      return *n;
    };
    db::deal_listing q;
    CHECK(asins(q) == "BDCAE"); // ties by domain, then ASIN
    CHECK(count(q) == 5);
    q.by = db::deal_listing::order::profit;
    CHECK(asins(q) == "ECADB");
    q.by = db::deal_listing::order::rank;
    CHECK(asins(q) == "BCADE"); // unknown rank last
    q.by = db::deal_listing::order::newest;
    CHECK(asins(q) == "EBCDA");
    // Pages.
    q.limit = 2;
    CHECK(asins(q) == "EB");
    q.offset = 2;
    CHECK(asins(q) == "CD");
    q.offset = 4;
    CHECK(asins(q) == "A");
    q.offset = 5;
    CHECK(asins(q).empty());
    CHECK(count(q) == 5); // no paging in counts
    q.limit = 0;
    CHECK(asins(q).empty());
    // Filters, alone and together; counts follow them.
    db::deal_listing f;
    f.min_roi_bp = 7000;
    CHECK(asins(f) == "BDC");
    CHECK(count(f) == 3);
    f.min_profit = 700;
    CHECK(asins(f) == "DC");
    f.max_rank = 1000;
    CHECK(asins(f) == "C");
    CHECK(count(f) == 1);
    f = db::deal_listing{};
    f.max_rank = 250; // a deal without a rank never passes a rank limit
    CHECK(asins(f) == "BC");
    f = db::deal_listing{};
    f.seen_since_ms = 30;
    CHECK(asins(f) == "BCE");
    f.domain = 1;
    CHECK(asins(f) == "BE");
    CHECK(count(f) == 2);
    f = db::deal_listing{};
    f.domain = 2;
    CHECK(asins(f) == "C");
    f.domain = 3;
    CHECK(asins(f).empty());
    CHECK(count(f) == 0);
    // Each deal comes back whole, with its locale's currency.
    f = db::deal_listing{};
    f.domain = 2;
    auto xs = db->list_deals(f);
    REQUIRE_OK(xs);
    REQUIRE(xs->size() == 1);
    auto expected = deal("B00000000C", 7000, 1200, 200, 30, 2);
    expected.raw_title = expected.title;
    expected.currency = "GBP";
    CHECK(same(xs->front(), expected));
    CHECK(xs->front().currency == "GBP");
    CHECK(xs->front().domain == 2);
    f.domain = 1;
    f.limit = 1;
    CHECK(db->list_deals(f)->front().currency == "USD");
  }
  SECTION("the same ASIN in two locales is two deals") {
    auto db = fix.open();
    auto us = make_deal("B000000001", 10);
    auto uk = make_deal("B000000001", 20);
    uk.domain = 2;
    uk.buy_price = 777;
    auto res = db->commit(deals_batch({us, uk}), std::nullopt);
    REQUIRE_OK(res);
    CHECK(res->new_deals == 2);
    CHECK(*db->deal_count() == 2);
    // find and known answer the backend's own locale (domain 1 here).
    CHECK(db->find("B000000001")->value().buy_price == us.buy_price);
    CHECK(db->find("B000000001")->value().domain == 1);
    db::deal_listing q;
    q.domain = 2;
    auto xs = db->list_deals(q);
    REQUIRE_OK(xs);
    REQUIRE(xs->size() == 1);
    CHECK(xs->front().buy_price == 777);
    // Updating one leaves the other alone.
    uk.buy_price = 555;
    res = db->commit(deals_batch({uk}), std::nullopt);
    REQUIRE_OK(res);
    CHECK(res->new_deals == 0);
    CHECK(db->list_deals(q)->front().buy_price == 555);
    CHECK(db->find("B000000001")->value().buy_price == us.buy_price);
    // A backend for domain 2 sees its own deal, rejections and positions.
    auto opts = fix.options();
    opts.domain = 2;
    auto db2 = db::soci_backend::open(opts);
    REQUIRE_OK(db2);
    CHECK((*db2)->find("B000000001")->value().buy_price == 555);
    upsert_batch b;
    b.rejections = {make_rejection("B000000009", 100, 1)};
    REQUIRE_OK((*db2)->commit(b, std::nullopt));
    REQUIRE_OK((*db2)->track({pos(5, "B000000008")}));
    CHECK((*db2)->known({"B000000009"})->size() == 1);
    CHECK(db->known({"B000000009"})->empty());
    CHECK((*db2)->pending()->size() == 1);
    CHECK(db->pending()->empty());
    CHECK((*db2)->stalest(10, 100)->size() == 1);
    CHECK(db->stalest(10, 100)->size() == 1);
  }
  SECTION("two pipelines' scopes on one database keep their own watermark, "
          "positions and run counters") {
    // A US and a UK pipeline (issue 22): each backend keeps the state of
    // its scope, by default the locale's code.
    auto us = fix.open();
    auto opts = fix.options();
    opts.domain = 2;
    auto uk_db = db::soci_backend::open(opts);
    REQUIRE_OK(uk_db);
    auto& uk = **uk_db;
    us->keep_state({{"run.peeks", "10"}});
    uk.keep_state({{"run.peeks", "20"}});
    REQUIRE_OK(us->track({pos(100, "B000000001"), pos(300, "B000000003")}));
    REQUIRE_OK(uk.track({pos(200, "B000000002")}));
    REQUIRE_OK(
      us->commit(deals_batch({make_deal("B000000001", 1)}), pos(100, "B1")));
    auto uk_deal = make_deal("B000000002", 1);
    uk_deal.domain = 2;
    REQUIRE_OK(uk.commit(deals_batch({uk_deal}), pos(250, "B2")));
    CHECK(*us->watermark() == pos(100, "B1"));
    CHECK(*uk.watermark() == pos(250, "B2"));
    CHECK(*us->pending() == std::vector<feed_position>{pos(300, "B000000003")});
    CHECK(uk.pending()->empty());
    using kvs = std::vector<std::pair<std::string, std::string>>;
    CHECK(*us->state("run.") == kvs{{"run.peeks", "10"}});
    CHECK(*uk.state("run.") == kvs{{"run.peeks", "20"}});
    CHECK(us->counts()->watermark == pos(100, "B1"));
    // Two pipelines of one locale with different queries name their scopes.
    auto other = fix.options();
    other.scope = "us-textbooks";
    auto tb_db = db::soci_backend::open(other);
    REQUIRE_OK(tb_db);
    auto& tb = **tb_db;
    CHECK(*tb.watermark() == feed_position{});
    CHECK(tb.pending()->empty());
    CHECK(tb.state("run.")->empty());
    REQUIRE_OK(tb.commit(upsert_batch{}, pos(900, "B9")));
    CHECK(*us->watermark() == pos(100, "B1"));
    CHECK(*tb.watermark() == pos(900, "B9"));
    // Each expires and refreshes its own locale's deals only.
    CHECK(*uk.expire(1000) == 1);
    CHECK(*us->deal_count() == 1);
    // A scope is a short name.
    auto bad = fix.options();
    bad.scope = "us uk";
    auto refused = db::soci_backend::open(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == ec::invalid_config);
  }
  SECTION("titles are stored decoded, the raw title beside them") {
    auto db = fix.open();
    auto a = make_deal("B000000001", 1);
    a.title = "The Bright Harbor &amp; Other  Stories";
    auto b = make_deal("B000000002", 1);
    b.title = "The Broken Harbor <i>Revised</i>&#8212;&#x263A;&nbsp;2nd";
    REQUIRE_OK(db->commit(deals_batch({a, b}), std::nullopt));
    auto x = db->find("B000000001");
    REQUIRE_OK(x);
    CHECK(x->value().title == "The Bright Harbor & Other Stories");
    CHECK(x->value().raw_title == a.title);
    auto y = db->find("B000000002");
    REQUIRE_OK(y);
    CHECK(y->value().title == "The Broken Harbor Revised\u2014\u263A 2nd");
    CHECK(y->value().raw_title == b.title);
    // Written back (as the updater does): decoded from the raw title again,
    // never twice.
    auto again = x->value();
    again.raw_title = "AT&amp;amp;T";
    REQUIRE_OK(db->commit(deals_batch({again}), std::nullopt));
    CHECK(db->find("B000000001")->value().title == "AT&amp;T");
  }
  SECTION("a read-only open reads beside a writer and never writes") {
    {
      auto db = fix.open();
      REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                            pos(10, "B000000001")));
    }
    auto before = fix.fingerprint();
    auto opts = fix.options();
    opts.read_only = true;
    auto ro = db::soci_backend::open(opts);
    REQUIRE_OK(ro);
    auto& r = **ro;
    CHECK(*r.count_deals({}) == 1);
    CHECK(r.list_deals({})->front().asin == "B000000001");
    // Every modifier fails; the database stays as it was.
    auto res = r.commit(deals_batch({make_deal("B000000002", 2)}),
                        std::nullopt);
    REQUIRE(!res);
    CHECK(res.error() == ec::storage_error);
    CHECK_THAT(render(res.error()), Catch::Contains("read-only"));
    CHECK(!r.track({pos(20, "B000000002")}));
    CHECK(!r.expire(100));
    REQUIRE_OK(r.flush());
    CHECK(fix.fingerprint() == before);
    // A writer commits meanwhile: the reader sees it at once.
    auto db = fix.open();
    REQUIRE_OK(
      db->commit(deals_batch({make_deal("B000000002", 2)}), std::nullopt));
    CHECK(*r.count_deals({}) == 2);
  }
  SECTION("a read-only open refuses what it cannot read without writing") {
    auto opts = fix.options();
    opts.read_only = true;
    // No database yet: an error, and nothing created.
    auto none = db::soci_backend::open(opts);
    REQUIRE(!none);
    CHECK(none.error() == ec::storage_error);
    CHECK(fix.fingerprint() == fix.fingerprint_of_nothing());
    // An older schema: an error; the database is left as it was.
    {
      auto old = fix.open(4);
      REQUIRE_OK(
        old->commit(deals_batch({make_deal("B000000001", 1)}), std::nullopt));
    }
    auto before = fix.fingerprint();
    auto ro = db::soci_backend::open(opts);
    REQUIRE(!ro);
    CHECK_THAT(render(ro.error()), Catch::Contains("version 4"));
    CHECK(fix.fingerprint() == before);
  }
  SECTION("a newer schema is refused and left alone") {
    {
      auto db = fix.open();
      REQUIRE_OK(db->commit(deals_batch({make_deal("B000000001", 1)}),
                            pos(10, "B000000001")));
    }
    *fix.raw() << "UPDATE schema_version SET version = 99";
    auto db = db::soci_backend::open(fix.options());
    REQUIRE(!db);
    CHECK(db.error() == ec::schema_too_new);
    CHECK_THAT(render(db.error()), Catch::Contains("version 99"));
    int version = 0;
    long long deals = 0;
    auto raw = fix.raw();
    *raw << "SELECT version FROM schema_version", soci::into(version);
    *raw << "SELECT COUNT(*) FROM deals", soci::into(deals);
    CHECK(version == 99);
    CHECK(deals == 1);
  }
}

} // namespace keepa::test

TEST_CASE_METHOD(keepa::test::sqlite_fixture, "backend contract on SQLite",
                 "[storage][sqlite]") {
  keepa::test::run_backend_contract(*this);
}

TEST_CASE_METHOD(keepa::test::postgresql_fixture,
                 "backend contract on PostgreSQL", "[storage][postgresql]") {
  keepa::test::run_backend_contract(*this);
}

TEST_CASE_METHOD(keepa::test::sqlite_fixture,
                 "a wait for another connection's lock is told at once",
                 "[storage][sqlite]") {
  using namespace keepa;
  auto db = open();
  auto other = raw();
  lock_all(*other);
  int waits = 0;
  // The lock goes away as soon as the wait is told: the commit then goes
  // through within the busy timeout.
  db->on_lock_wait([&] {
    ++waits;
    *other << "ROLLBACK";
  });
  upsert_batch batch;
  batch.deals = {test::make_deal("B000000001", 1)};
  REQUIRE_OK(db->commit(batch, std::nullopt));
  CHECK(waits == 1);
  CHECK(*db->find("B000000001"));
  // No lock, no wait.
  REQUIRE_OK(db->commit(batch, std::nullopt));
  CHECK(waits == 1);
}
