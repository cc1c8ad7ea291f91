// Statement texts of the write path, the updater's reads and the expiry,
// checked by what SQLite does with them (storage/queries.hpp): each must
// visit only the rows it is about, however many others are stored.

#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/queries.hpp"
#include "tests/storage/fixtures.hpp"

using namespace keepa;
// SOCI's SQLite header (through fixtures.hpp) declares the C API in here.
using namespace sqlite_api;

namespace {

std::string asin_of(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "B%09d", i);
  return buf;
}

/// What one statement did on a raw connection.
struct run_result {
  int steps = 0;
  int rows = 0;
  int changes = 0;
};

/// Runs `query` once on a raw connection to `file`, binding the integer
/// parameters of `ints` and the text ones of `texts` where it has them;
/// returns the SQLite VM steps it took, the rows it returned and changed.
run_result
run_raw(const std::string& file, const std::string& query,
        const std::vector<std::pair<const char*, int>>& ints,
        const std::vector<std::pair<const char*, std::string>>& texts = {}) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  for (auto& [name, value] : ints)
    if (auto i = sqlite3_bind_parameter_index(st, name); i > 0)
      sqlite3_bind_int(st, i, value);
  for (auto& [name, value] : texts)
    if (auto i = sqlite3_bind_parameter_index(st, name); i > 0)
      sqlite3_bind_text(st, i, value.c_str(), -1, SQLITE_TRANSIENT);
  run_result r;
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    ++r.rows;
  CHECK(rc == SQLITE_DONE);
  r.changes = sqlite3_changes(db);
  r.steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return r;
}

/// Tracks 10 positions (minutes 1 to 10) and `above` more from minute
/// 1 000 on in a new database, then deletes below the watermark (5,
/// asin_of(5)) with the backend's statement. REQUIREs that it deleted
/// exactly the five positions at or below the watermark.
int delete_steps(int above) {
  test::sqlite_fixture fix;
  {
    auto db = fix.open();
    std::vector<feed_position> xs;
    for (int i = 1; i <= 10; ++i)
      xs.push_back(feed_position{i, asin_of(i)});
    for (int i = 0; i < above; ++i)
      xs.push_back(feed_position{1000 + i, asin_of(100 + i)});
    REQUIRE_OK(db->track(xs));
  }
  auto r = run_raw(fix.file,
                   db::delete_below_watermark(db::current_schema_version),
                   {{":domain", 1}, {":lu", 5}},
                   {{":s", "us"}, {":asin", asin_of(5)}});
  CHECK(r.changes == 5);
  return r.steps;
}

/// A new database with 5 deals last seen at 1..5 ms and `fresh` more seen
/// from 1 000 000 ms on; runs `query` (binding :before = 100, :cutoff = 100
/// and :n = 3 where it has them).
run_result stale_run(int fresh, const std::string& query) {
  test::sqlite_fixture fix;
  {
    auto db = fix.open();
    upsert_batch b;
    for (int i = 1; i <= 5; ++i)
      b.deals.push_back(test::make_deal(asin_of(i), i));
    for (int i = 0; i < fresh; ++i)
      b.deals.push_back(test::make_deal(asin_of(100 + i), 1000000 + i));
    REQUIRE_OK(db->commit(b, std::nullopt));
  }
  return run_raw(fix.file, query,
                 {{":before", 100}, {":cutoff", 100}, {":n", 3}});
}

} // namespace

TEST_CASE("deleting the positions below the watermark visits only those,"
          " however many are tracked above it",
          "[storage][queries]") {
  auto few = delete_steps(10);
  auto many = delete_steps(2000);
  INFO("VM steps with 10 positions above the watermark: "
       << few << ", with 2 000: " << many);
  CHECK(many == few);
}

TEST_CASE("the stalest batch and the expiry visit only the stale deals,"
          " however many fresh ones are stored",
          "[storage][queries]") {
  auto v = db::current_schema_version;
  SECTION("stalest") {
    auto query = "SELECT asin, title, last_seen_ms FROM deals "
      + db::stalest_where(v, 1);
    auto few = stale_run(10, query);
    CHECK(few.rows == 3);
    auto many = stale_run(2000, query);
    CHECK(many.rows == 3);
    INFO("VM steps with 10 fresh deals: " << few.steps
                                          << ", with 2 000: " << many.steps);
    CHECK(many.steps == few.steps);
  }
  SECTION("expire") {
    auto query = db::expire_deals(v, 1);
    auto few = stale_run(10, query);
    CHECK(few.changes == 5);
    auto many = stale_run(2000, query);
    CHECK(many.changes == 5);
    INFO("VM steps with 10 fresh deals: " << few.steps
                                          << ", with 2 000: " << many.steps);
    CHECK(many.steps == few.steps);
  }
}
