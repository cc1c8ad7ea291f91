#include "tests/storage/fixtures.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "messages/error.hpp"
#include "tests/support/pg_server.hpp"

namespace keepa::test {

deal_record make_deal(const std::string& asin, int64_t seen_ms,
                      int32_t last_update) {
  deal_record x;
  x.asin = asin;
  x.title = "Title of " + asin;
  auto h = static_cast<int32_t>(std::hash<std::string>{}(asin) % 10000);
  x.buy_price = 100 + h;
  x.est_sell_price = 2000 + h;
  x.avg365 = 1900 + h;
  x.all_in_cost = 500 + h;
  x.profit = 1500;
  x.margin_bp = 7500;
  x.roi_bp = 30000;
  x.min_listing_price = 1800 + h;
  x.sales_rank = 12345 + h;
  x.rank_drops90 = 7;
  x.rank_drops365 = 30;
  x.offers_used = 4;
  x.offers_new = 1;
  x.last_update = last_update;
  x.first_seen_ms = seen_ms;
  x.last_seen_ms = seen_ms;
  x.written_by = write_stage::commit;
  return x;
}

rejection_record make_rejection(const std::string& asin, int32_t price,
                                int64_t at_ms) {
  rejection_record x;
  x.asin = asin;
  x.where = stage::peek;
  x.reason = "too expensive";
  x.price_seen = price;
  x.at_ms = at_ms;
  return x;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/keepa-storage-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  path = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

db::open_options backend_fixture::options(int32_t version) const {
  db::open_options result;
  result.url = url();
  result.busy_timeout = std::chrono::milliseconds(50);
  result.lock_retries = 2;
  result.schema_version = version;
  return result;
}

std::unique_ptr<db::soci_backend> backend_fixture::open(int32_t version) const {
  auto result = db::soci_backend::open(options(version));
  if (!result)
    FAIL(render(result.error()));
  return std::move(*result);
}

// -- SQLite -------------------------------------------------------------------

std::string sqlite_fixture::url() const {
  return "sqlite:" + file;
}

std::string sqlite_fixture::kind() const {
  return "sqlite";
}

std::unique_ptr<soci::session> sqlite_fixture::raw() const {
  return std::make_unique<soci::session>(soci::sqlite3, file);
}

void sqlite_fixture::lock_all(soci::session& s) const {
  s << "BEGIN IMMEDIATE";
}

void sqlite_fixture::plant_failing_trigger() const {
  *raw() << "CREATE TRIGGER boom BEFORE INSERT ON rejections"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END";
}

namespace {

/// A file's modification time (ns) and bytes; empty if it does not exist.
std::string file_fingerprint(const std::string& path) {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(path, ec);
  if (ec)
    return {};
  std::ifstream in{path, std::ios::binary};
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto content = bytes.str();
  return std::to_string(mtime.time_since_epoch().count()) + " "
    + std::to_string(content.size()) + " bytes, hash "
    + std::to_string(std::hash<std::string>{}(content));
}

} // namespace

std::string sqlite_fixture::fingerprint() const {
  // A reader of a WAL database creates an empty WAL (and the shared-memory
  // index) if there is none: that holds no content.
  std::error_code ec;
  auto wal = file + "-wal";
  auto empty_wal = std::filesystem::exists(wal, ec)
    && std::filesystem::file_size(wal, ec) == 0;
  return file_fingerprint(file) + "|"
    + (empty_wal ? std::string{} : file_fingerprint(wal));
}

std::string sqlite_fixture::fingerprint_of_nothing() const {
  return "|";
}

// -- PostgreSQL ---------------------------------------------------------------

std::string postgresql_fixture::fingerprint() const {
  auto s = raw();
  std::string result;
  soci::rowset<std::string> tables
    = (s->prepare << "SELECT table_name::text FROM information_schema.tables"
                     " WHERE table_schema = 'public' ORDER BY table_name");
  std::vector<std::string> names{tables.begin(), tables.end()};
  for (auto& name : names) {
    std::string digest;
    soci::indicator ind = soci::i_null;
    *s << "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM " + name
        + " t",
      soci::into(digest, ind);
    result += name + "=" + (ind == soci::i_ok ? digest : "empty") + ";";
  }
  return result;
}

std::string postgresql_fixture::fingerprint_of_nothing() const {
  return "";
}

postgresql_fixture::postgresql_fixture() {
  // RAII schema: every section starts from an empty database.
  *raw() << "DROP TABLE IF EXISTS deals, rejections, system_state,"
            " pending, schema_version CASCADE";
  *raw() << "DROP FUNCTION IF EXISTS boom() CASCADE";
}

std::string postgresql_fixture::url() const {
  return pg_server::instance().url();
}

std::string postgresql_fixture::kind() const {
  return "postgresql";
}

std::unique_ptr<soci::session> postgresql_fixture::raw() const {
  auto result = std::make_unique<soci::session>(
    soci::postgresql, pg_server::instance().conninfo());
  *result << "SET client_min_messages = warning";
  return result;
}

void postgresql_fixture::lock_all(soci::session& s) const {
  s << "BEGIN";
  s << "LOCK TABLE deals, rejections, system_state IN ACCESS EXCLUSIVE MODE";
}

void postgresql_fixture::plant_failing_trigger() const {
  auto s = raw();
  *s << "CREATE FUNCTION boom() RETURNS trigger AS"
        " $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql";
  *s << "CREATE TRIGGER boom BEFORE INSERT ON rejections"
        " FOR EACH ROW EXECUTE FUNCTION boom()";
}

} // namespace keepa::test
