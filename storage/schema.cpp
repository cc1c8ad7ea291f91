#include "storage/schema.hpp"

#include <string>
#include <vector>

#include "storage/soci.hpp"
#include "storage/text.hpp"

namespace keepa::db {

namespace {

/// The columns of a deal's figures, as migration 1 made them and migration
/// 5 makes them again (SQLite rebuilds the table for its new key).
#define KEEPA_DEAL_FIGURES               \
  " buy_price INTEGER NOT NULL,"         \
  " est_sell_price INTEGER NOT NULL,"    \
  " avg365 INTEGER NOT NULL,"            \
  " all_in_cost INTEGER NOT NULL,"       \
  " profit INTEGER NOT NULL,"            \
  " margin_bp INTEGER NOT NULL,"         \
  " roi_bp INTEGER NOT NULL,"            \
  " min_listing_price INTEGER NOT NULL," \
  " sales_rank INTEGER NOT NULL,"        \
  " rank_drops90 INTEGER NOT NULL,"      \
  " rank_drops365 INTEGER NOT NULL,"     \
  " offers_used INTEGER NOT NULL,"       \
  " offers_new INTEGER NOT NULL,"        \
  " last_update INTEGER NOT NULL,"       \
  " first_seen_ms BIGINT NOT NULL,"      \
  " last_seen_ms BIGINT NOT NULL,"       \
  " written_by TEXT NOT NULL"            \
  "  CHECK (written_by IN ('commit', 'light_update', 'rescue'))"

/// The statements of each migration; index 0 is version 1. Types are chosen
/// to mean the same in SQLite and PostgreSQL: INTEGER is 32 bits in
/// PostgreSQL, so times in ms are BIGINT; money is integer cents.
const std::vector<std::vector<const char*>>& migrations() {
  static const std::vector<std::vector<const char*>> result{
    // 1: the tables.
    {
      "CREATE TABLE deals ("
      " asin TEXT PRIMARY KEY,"
      " title TEXT NOT NULL," KEEPA_DEAL_FIGURES ")",
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

/// The columns of deals besides the key and the title columns, as in
/// migration 1.
constexpr const char* deal_figures
  = "buy_price, est_sell_price, avg365, all_in_cost, profit, margin_bp,"
    " roi_bp, min_listing_price, sales_rank, rank_drops90, rank_drops365,"
    " offers_used, offers_new, last_update, first_seen_ms, last_seen_ms,"
    " written_by";

/// 5: each deal has its Amazon locale (Keepa domain id), its currency and
/// its raw title beside the decoded one; deals, rejections and pending are
/// keyed by (domain, asin), so a book's US and UK copies are two deals.
/// Every existing row is domain 1 (Amazon US, dollars). Plus indexes for
/// listing the best deals by ROI, profit and rank.
void migrate_5(soci::session& sql, dialect d) {
  if (d == dialect::sqlite) {
    // SQLite cannot change a primary key: each table is rebuilt, copying
    // every row.
    sql << "CREATE TABLE deals_v5 ("
           " domain INTEGER NOT NULL,"
           " asin TEXT NOT NULL,"
           " title TEXT NOT NULL,"
           " raw_title TEXT NOT NULL,"
           " currency TEXT NOT NULL," KEEPA_DEAL_FIGURES ","
           " PRIMARY KEY (domain, asin))";
    sql << std::string{"INSERT INTO deals_v5 (domain, asin, title, raw_title,"
                       " currency, "}
        + deal_figures + ") SELECT 1, asin, title, title, 'USD', "
        + deal_figures + " FROM deals";
    sql << "DROP TABLE deals"; // and its index deals_last_seen
    sql << "ALTER TABLE deals_v5 RENAME TO deals";
    sql << "CREATE TABLE rejections_v5 ("
           " domain INTEGER NOT NULL,"
           " asin TEXT NOT NULL,"
           " stage TEXT NOT NULL,"
           " reason TEXT NOT NULL,"
           " price_seen INTEGER NOT NULL,"
           " at_ms BIGINT NOT NULL,"
           " retry_below INTEGER NOT NULL DEFAULT -1,"
           " PRIMARY KEY (domain, asin))";
    sql << "INSERT INTO rejections_v5 (domain, asin, stage, reason,"
           " price_seen, at_ms, retry_below) SELECT 1, asin, stage, reason,"
           " price_seen, at_ms, retry_below FROM rejections";
    sql << "DROP TABLE rejections"; // and its index rejections_at
    sql << "ALTER TABLE rejections_v5 RENAME TO rejections";
    sql << "CREATE INDEX rejections_at ON rejections (at_ms)";
    sql << "CREATE TABLE pending_v5 ("
           " domain INTEGER NOT NULL,"
           " last_update INTEGER NOT NULL,"
           " asin TEXT NOT NULL,"
           " PRIMARY KEY (domain, last_update, asin))";
    sql << "INSERT INTO pending_v5 (domain, last_update, asin)"
           " SELECT 1, last_update, asin FROM pending";
    sql << "DROP TABLE pending";
    sql << "ALTER TABLE pending_v5 RENAME TO pending";
  } else {
    sql << "ALTER TABLE deals ADD COLUMN domain INTEGER NOT NULL DEFAULT 1,"
           " ADD COLUMN raw_title TEXT, ADD COLUMN currency TEXT NOT NULL"
           " DEFAULT 'USD'";
    sql << "UPDATE deals SET raw_title = title";
    sql << "ALTER TABLE deals ALTER COLUMN raw_title SET NOT NULL,"
           " ALTER COLUMN domain DROP DEFAULT,"
           " ALTER COLUMN currency DROP DEFAULT";
    sql << "ALTER TABLE deals DROP CONSTRAINT deals_pkey,"
           " ADD PRIMARY KEY (domain, asin)";
    sql << "DROP INDEX deals_last_seen";
    sql << "ALTER TABLE rejections ADD COLUMN domain INTEGER NOT NULL"
           " DEFAULT 1";
    sql << "ALTER TABLE rejections ALTER COLUMN domain DROP DEFAULT,"
           " DROP CONSTRAINT rejections_pkey, ADD PRIMARY KEY (domain, asin)";
    sql << "ALTER TABLE pending ADD COLUMN domain INTEGER NOT NULL DEFAULT 1";
    sql << "ALTER TABLE pending ALTER COLUMN domain DROP DEFAULT,"
           " DROP CONSTRAINT pending_pkey,"
           " ADD PRIMARY KEY (domain, last_update, asin)";
  }
  // stalest, expire and the newest deals; the best by ROI, profit, rank.
  sql << "CREATE INDEX deals_last_seen ON deals (last_seen_ms, domain, asin)";
  sql << "CREATE INDEX deals_roi ON deals (roi_bp DESC, domain, asin)";
  sql << "CREATE INDEX deals_profit ON deals (profit DESC, domain, asin)";
  sql << "CREATE INDEX deals_rank"
         " ON deals ((sales_rank <= 0), sales_rank, domain, asin)";
  // Titles as people read them; the raw ones stay in raw_title.
  struct change {
    int domain;
    std::string asin;
    std::string title;
  };
  std::vector<change> changes;
  soci::rowset<soci::row> rows = (sql.prepare << "SELECT domain, asin,"
                                                 " raw_title FROM deals");
  for (auto& row : rows) {
    auto raw = row.get<std::string>(2);
    auto title = clean_title(raw);
    if (title != raw)
      changes.push_back(
        change{row.get<int>(0), row.get<std::string>(1), std::move(title)});
  }
  change c;
  soci::statement write = (sql.prepare << "UPDATE deals SET title = :t"
                                          " WHERE domain = :d AND asin = :a",
                           soci::use(c.title), soci::use(c.domain),
                           soci::use(c.asin));
  for (auto& x : changes) {
    c = x;
    write.execute(true);
  }
}

#undef KEEPA_DEAL_FIGURES

/// 6: the pipeline state is kept per scope (storage/scope.hpp), so several
/// pipelines store into one database: system_state is keyed by (scope, key)
/// and pending by (scope, domain, last_update, asin). Every existing row
/// belongs to scope "us", the state of the one domain 1 pipeline before.
void migrate_6(soci::session& sql, dialect d) {
  if (d == dialect::sqlite) {
    // SQLite cannot change a primary key: both tables are rebuilt.
    sql << "CREATE TABLE system_state_v6 ("
           " scope TEXT NOT NULL,"
           " key TEXT NOT NULL,"
           " value TEXT NOT NULL,"
           " PRIMARY KEY (scope, key))";
    sql << "INSERT INTO system_state_v6 (scope, key, value)"
           " SELECT 'us', key, value FROM system_state";
    sql << "DROP TABLE system_state";
    sql << "ALTER TABLE system_state_v6 RENAME TO system_state";
    sql << "CREATE TABLE pending_v6 ("
           " scope TEXT NOT NULL,"
           " domain INTEGER NOT NULL,"
           " last_update INTEGER NOT NULL,"
           " asin TEXT NOT NULL,"
           " PRIMARY KEY (scope, domain, last_update, asin))";
    sql << "INSERT INTO pending_v6 (scope, domain, last_update, asin)"
           " SELECT 'us', domain, last_update, asin FROM pending";
    sql << "DROP TABLE pending";
    sql << "ALTER TABLE pending_v6 RENAME TO pending";
  } else {
    sql << "ALTER TABLE system_state ADD COLUMN scope TEXT NOT NULL"
           " DEFAULT 'us'";
    sql << "ALTER TABLE system_state ALTER COLUMN scope DROP DEFAULT,"
           " DROP CONSTRAINT system_state_pkey, ADD PRIMARY KEY (scope, key)";
    sql << "ALTER TABLE pending ADD COLUMN scope TEXT NOT NULL DEFAULT 'us'";
    sql << "ALTER TABLE pending ALTER COLUMN scope DROP DEFAULT,"
           " DROP CONSTRAINT pending_pkey,"
           " ADD PRIMARY KEY (scope, domain, last_update, asin)";
  }
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

void migrate(soci::session& sql, dialect d, int32_t from, int32_t to) {
  if (from >= to)
    return;
  auto& all = migrations();
  for (auto v = from + 1; v <= to; ++v)
    if (v == 5)
      migrate_5(sql, d);
    else if (v == 6)
      migrate_6(sql, d);
    else
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
