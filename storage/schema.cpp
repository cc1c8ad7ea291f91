#include "storage/schema.hpp"

#include <string>
#include <vector>

#include "storage/soci.hpp"

namespace keepa::db {

namespace {

/// The statements of each migration; index 0 is version 1. Types are chosen
/// to mean the same in SQLite and PostgreSQL: INTEGER is 32 bits in
/// PostgreSQL, so times in ms are BIGINT; money is integer cents.
const std::vector<std::vector<const char*>>& migrations() {
  static const std::vector<std::vector<const char*>> result{
    // 1: the tables.
    {
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
    },
    // 2: indexes for stalest/expire and for expiring rejection memory.
    {
      "CREATE INDEX deals_last_seen ON deals (last_seen_ms, asin)",
      "CREATE INDEX rejections_at ON rejections (at_ms)",
    },
    // 3: feed positions handed on but not yet stored or rejected, so a
    // restart finishes them even after they left /deal's reach.
    {
      "CREATE TABLE pending ("
      " last_update INTEGER NOT NULL,"
      " asin TEXT NOT NULL,"
      " PRIMARY KEY (last_update, asin))",
    },
    // 4: the price below which a remembered rejection is looked at again.
    {
      "ALTER TABLE rejections"
      " ADD COLUMN retry_below INTEGER NOT NULL DEFAULT -1",
    },
  };
  return result;
}

} // namespace

int32_t read_schema_version(soci::session& sql) {
  sql << "CREATE TABLE IF NOT EXISTS schema_version ("
         " id INTEGER PRIMARY KEY CHECK (id = 1),"
         " version INTEGER NOT NULL)";
  int version = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT version FROM schema_version WHERE id = 1",
    soci::into(version, ind);
  return sql.got_data() && ind == soci::i_ok ? version : 0;
}

void migrate(soci::session& sql, dialect, int32_t from, int32_t to) {
  if (from >= to)
    return;
  auto& all = migrations();
  for (auto v = from + 1; v <= to; ++v)
    for (auto stmt : all.at(static_cast<size_t>(v - 1)))
      sql << stmt;
  int version = to;
  if (from == 0)
    sql << "INSERT INTO schema_version (id, version) VALUES (1, :v)",
      soci::use(version);
  else
    sql << "UPDATE schema_version SET version = :v WHERE id = 1",
      soci::use(version);
}

const char* least(dialect d) {
  return d == dialect::sqlite ? "MIN" : "LEAST";
}

const char* greatest(dialect d) {
  return d == dialect::sqlite ? "MAX" : "GREATEST";
}

} // namespace keepa::db
