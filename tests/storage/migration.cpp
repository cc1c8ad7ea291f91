// Schema 6 (through 5) from a version-4 database made as the previous program
// made it: its DDL written out here (not produced by this program's
// migrations), rows with raw Keepa titles (entities, tags, runs of spaces),
// rejections and tracked positions. Migrating keeps every row, makes each a
// domain 1 (US, dollars) row, decodes the titles and keeps the raw ones; the
// watermark, run counters and tracked positions become scope "us"'s (schema 6).

#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "messages/error.hpp"
#include "tests/storage/fixtures.hpp"

using namespace keepa;

namespace {

/// The schema of version 4, as migrations 1 to 4 left it.
const char* const version_4_ddl[] = {
  "CREATE TABLE schema_version ("
  " id INTEGER PRIMARY KEY CHECK (id = 1),"
  " version INTEGER NOT NULL)",
  "INSERT INTO schema_version (id, version) VALUES (1, 4)",
  "CREATE TABLE deals ("
  " asin TEXT PRIMARY KEY,"
  " title TEXT NOT NULL,"
  " buy_price INTEGER NOT NULL,"
  " est_sell_price INTEGER NOT NULL,"
  " avg365 INTEGER NOT NULL,"
  " all_in_cost INTEGER NOT NULL,"
  " profit INTEGER NOT NULL,"
  " margin_bp INTEGER NOT NULL,"
  " roi_bp INTEGER NOT NULL,"
  " min_listing_price INTEGER NOT NULL,"
  " sales_rank INTEGER NOT NULL,"
  " rank_drops90 INTEGER NOT NULL,"
  " rank_drops365 INTEGER NOT NULL,"
  " offers_used INTEGER NOT NULL,"
  " offers_new INTEGER NOT NULL,"
  " last_update INTEGER NOT NULL,"
  " first_seen_ms BIGINT NOT NULL,"
  " last_seen_ms BIGINT NOT NULL,"
  " written_by TEXT NOT NULL"
  "  CHECK (written_by IN ('commit', 'light_update', 'rescue')))",
  "CREATE TABLE rejections ("
  " asin TEXT PRIMARY KEY,"
  " stage TEXT NOT NULL,"
  " reason TEXT NOT NULL,"
  " price_seen INTEGER NOT NULL,"
  " at_ms BIGINT NOT NULL)",
  "CREATE TABLE system_state ("
  " key TEXT PRIMARY KEY,"
  " value TEXT NOT NULL)",
  "CREATE INDEX deals_last_seen ON deals (last_seen_ms, asin)",
  "CREATE INDEX rejections_at ON rejections (at_ms)",
  "CREATE TABLE pending ("
  " last_update INTEGER NOT NULL,"
  " asin TEXT NOT NULL,"
  " PRIMARY KEY (last_update, asin))",
  "ALTER TABLE rejections"
  " ADD COLUMN retry_below INTEGER NOT NULL DEFAULT -1",
};

/// Raw titles as Keepa sends them, and how people read them.
const std::vector<std::pair<std::string, std::string>> titles{
  {"The Bright Harbor &amp; Other Stories",
   "The Bright Harbor & Other Stories"},
  {"The Broken Harbor <i>Revised</i>", "The Broken Harbor Revised"},
  {"  Caf&eacute; &quot;Noir&quot;\t\n&#8211; 2nd&nbsp;ed. ",
   "Caf\u00e9 \"Noir\" \u2013 2nd ed."},
  {"Line<br>Break &#x41;&#66;C", "Line Break ABC"},
  {"Plain Title", "Plain Title"},
  {"5 &lt; 6 &gt; 4 <b>bold</b>", "5 < 6 > 4 bold"},
};

std::string asin_of(size_t i) {
  return "B00000000" + std::to_string(i);
}

void write_version_4(soci::session& s) {
  for (auto stmt : version_4_ddl)
    s << stmt;
  for (size_t i = 0; i < titles.size(); ++i) {
    auto asin = asin_of(i);
    auto title = titles[i].first;
    int n = static_cast<int>(i);
    long long seen = 1000 + n;
    s << "INSERT INTO deals VALUES (:asin, :title, 100 + :n, 2000, 1900, 500,"
         " 1500 + :n2, 7500, 30000 + :n3, 1800, 12345, 7, 30, 4, 1,"
         " 5000 + :n4, :seen, :seen2, 'commit')",
      soci::use(asin), soci::use(title), soci::use(n), soci::use(n),
      soci::use(n), soci::use(n), soci::use(seen), soci::use(seen);
    std::string rejected = "B10000000" + std::to_string(i);
    s << "INSERT INTO rejections VALUES (:asin, 'peek', 'too expensive',"
         " 900 + :n, 77, 500)",
      soci::use(rejected), soci::use(n);
    std::string tracked = "B20000000" + std::to_string(i);
    s << "INSERT INTO pending VALUES (4000 + :n, :asin)", soci::use(n),
      soci::use(tracked);
  }
  s << "INSERT INTO system_state VALUES ('watermark.last_update', '4242')";
  s << "INSERT INTO system_state VALUES ('watermark.asin', 'B000000003')";
  s << "INSERT INTO system_state VALUES ('run.peeks', '77')";
}

void check_migrated(const test::backend_fixture& fix) {
  auto db = fix.open();
  CHECK(db->schema_version() == db::current_schema_version);
  auto c = db->counts();
  REQUIRE_OK(c);
  CHECK(c->deals == titles.size());
  CHECK(c->rejections == titles.size());
  CHECK(c->watermark == feed_position{4242, "B000000003"});
  // Every deal: domain 1 in dollars, decoded title, raw title kept, every
  // figure as it was.
  for (size_t i = 0; i < titles.size(); ++i) {
    INFO("deal " << i << ": " << titles[i].first);
    auto found = db->find(asin_of(i));
    REQUIRE_OK(found);
    REQUIRE(found->has_value());
    auto& d = **found;
    int n = static_cast<int>(i);
    CHECK(d.domain == 1);
    CHECK(d.currency == "USD");
    CHECK(d.title == titles[i].second);
    CHECK(d.raw_title == titles[i].first);
    CHECK(d.buy_price == 100 + n);
    CHECK(d.profit == 1500 + n);
    CHECK(d.roi_bp == 30000 + n);
    CHECK(d.last_update == 5000 + n);
    CHECK(d.first_seen_ms == 1000 + n);
    CHECK(d.last_seen_ms == 1000 + n);
    CHECK(d.sales_rank == 12345);
    CHECK(d.written_by == write_stage::commit);
  }
  // Every rejection, with its retry price.
  std::vector<std::string> rejected;
  for (size_t i = 0; i < titles.size(); ++i)
    rejected.push_back("B10000000" + std::to_string(i));
  auto known = db->known(rejected);
  REQUIRE_OK(known);
  REQUIRE(known->size() == titles.size());
  for (size_t i = 0; i < titles.size(); ++i) {
    CHECK((*known)[i].rejected);
    CHECK((*known)[i].rejected_price == 900 + static_cast<int>(i));
    CHECK((*known)[i].rejected_retry_below == 500);
  }
  // Every tracked position.
  auto pending = db->pending();
  REQUIRE_OK(pending);
  REQUIRE(pending->size() == titles.size());
  for (size_t i = 0; i < titles.size(); ++i)
    CHECK((*pending)[i]
          == feed_position{4000 + static_cast<int>(i),
                           "B20000000" + std::to_string(i)});
  // The state is scope us's (the domain 1 pipeline's); a UK pipeline's
  // scope starts empty and its writes leave us's alone.
  using kvs = std::vector<std::pair<std::string, std::string>>;
  CHECK(*db->state("run.") == kvs{{"run.peeks", "77"}});
  auto uk_opts = fix.options();
  uk_opts.domain = 2;
  auto uk_db = db::soci_backend::open(uk_opts);
  REQUIRE_OK(uk_db);
  CHECK(*(*uk_db)->watermark() == feed_position{});
  CHECK((*uk_db)->pending()->empty());
  CHECK((*uk_db)->state("run.")->empty());
  REQUIRE_OK((*uk_db)->commit(upsert_batch{}, feed_position{99, "B9"}));
  CHECK(*db->watermark() == feed_position{4242, "B000000003"});
  // The new key: the same ASIN as a UK deal is another row.
  auto uk = test::make_deal(asin_of(0), 9);
  uk.domain = 2;
  upsert_batch b;
  b.deals = {uk};
  auto res = db->commit(b, std::nullopt);
  REQUIRE_OK(res);
  CHECK(res->new_deals == 1);
  CHECK(*db->deal_count() == titles.size() + 1);
  // Listing works on the migrated rows, best ROI first.
  db::deal_listing q;
  q.domain = 1;
  auto best = db->list_deals(q);
  REQUIRE_OK(best);
  REQUIRE(best->size() == titles.size());
  CHECK(best->front().asin == asin_of(titles.size() - 1));
}

} // namespace

TEST_CASE_METHOD(keepa::test::sqlite_fixture,
                 "a version-4 SQLite file migrates to 6 keeping every row",
                 "[storage][sqlite][migration]") {
  write_version_4(*raw());
  check_migrated(*this);
}

TEST_CASE_METHOD(keepa::test::postgresql_fixture,
                 "a version-4 PostgreSQL database migrates to 6 keeping every "
                 "row",
                 "[storage][postgresql][migration]") {
  write_version_4(*raw());
  check_migrated(*this);
}
