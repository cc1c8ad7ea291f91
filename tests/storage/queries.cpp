// Statement texts of the write path, checked by what SQLite does with them
// (storage/queries.hpp).

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

/// Tracks 10 positions (minutes 1 to 10) and `above` more from minute
/// 1 000 on in a new database, then deletes below the watermark (5,
/// asin_of(5)) with the backend's statement on a raw connection. Returns
/// the SQLite VM steps the delete took; REQUIREs that it deleted exactly
/// the five positions at or below the watermark.
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
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(fix.file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  auto query = db::delete_below_watermark(db::current_schema_version);
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr) == SQLITE_OK);
  auto bind_int = [&](const char* name, int value) {
    if (auto i = sqlite3_bind_parameter_index(st, name); i > 0)
      sqlite3_bind_int(st, i, value);
  };
  bind_int(":domain", 1);
  sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":s"), "us", -1,
                    SQLITE_STATIC);
  bind_int(":lu", 5);
  bind_int(":lu2", 5);
  auto asin = asin_of(5);
  sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":asin"), asin.c_str(),
                    -1, SQLITE_TRANSIENT);
  CHECK(sqlite3_step(st) == SQLITE_DONE);
  CHECK(sqlite3_changes(db) == 5);
  auto steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return steps;
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
