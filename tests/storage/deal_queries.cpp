// The updater's stalest batch and the expiry, checked by what SQLite does
// with the backend's statement texts (storage/deal_queries.hpp).

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/deal_queries.hpp"
#include "tests/storage/fixtures.hpp"

using namespace keepa;
// SOCI's SQLite header (through fixtures.hpp) declares the C API in here.
using namespace sqlite_api;

namespace {

std::string asin_n(int i) {
  auto s = std::to_string(i);
  return "B" + std::string(9 - s.size(), '0') + s;
}

/// A new database with 5 deals last seen at 1..5 ms and `fresh` more seen
/// from 1 000 000 ms on. Runs `query` (binding :before = 100, :cutoff = 100
/// and :n = 3 where it has them) on a raw connection and returns the SQLite
/// VM steps it took; `rows` and `changes` get what it returned and changed.
int steps_of(int fresh, const std::string& query, int& rows, int& changes) {
  test::sqlite_fixture fix;
  {
    auto db = fix.open();
    upsert_batch b;
    for (int i = 1; i <= 5; ++i)
      b.deals.push_back(test::make_deal(asin_n(i), i));
    for (int i = 0; i < fresh; ++i)
      b.deals.push_back(test::make_deal(asin_n(100 + i), 1000000 + i));
    REQUIRE_OK(db->commit(b, std::nullopt));
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(fix.file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  auto bind = [&](const char* name, int value) {
    if (auto i = sqlite3_bind_parameter_index(st, name); i > 0)
      sqlite3_bind_int(st, i, value);
  };
  bind(":before", 100);
  bind(":cutoff", 100);
  bind(":n", 3);
  rows = 0;
  int rc = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    ++rows;
  CHECK(rc == SQLITE_DONE);
  changes = sqlite3_changes(db);
  auto steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return steps;
}

} // namespace

TEST_CASE("the stalest batch and the expiry visit only the stale deals,"
          " however many fresh ones are stored",
          "[storage][queries]") {
  auto v = db::current_schema_version;
  int rows = 0, changes = 0;
  SECTION("stalest") {
    auto query = "SELECT asin, title, last_seen_ms FROM deals "
      + db::stalest_where(v, 1);
    auto few = steps_of(10, query, rows, changes);
    CHECK(rows == 3);
    auto many = steps_of(2000, query, rows, changes);
    CHECK(rows == 3);
    INFO("VM steps with 10 fresh deals: " << few << ", with 2 000: " << many);
    CHECK(many == few);
  }
  SECTION("expire") {
    auto query = db::expire_deals(v, 1);
    auto few = steps_of(10, query, rows, changes);
    CHECK(changes == 5);
    auto many = steps_of(2000, query, rows, changes);
    CHECK(changes == 5);
    INFO("VM steps with 10 fresh deals: " << few << ", with 2 000: " << many);
    CHECK(many == few);
  }
}
