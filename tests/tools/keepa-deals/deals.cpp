// keepa-deals as a real process against databases with known rows (SQLite
// files and the test PostgreSQL server): the table, CSV parsed back by
// Python's csv module, JSON lines, filters and orders, bad options, and that
// it never changes the database, also while another connection writes.

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "storage/soci_backend.hpp"
#include "tests/storage/fixtures.hpp"
#include "tests/support/run_program.hpp"
#include "tools/keepa-deals/format.hpp"

using namespace keepa;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Four deals: HTML in titles, a comma and quotes, a UK deal, one without
/// a sales rank, one seen two days ago.
std::vector<deal_record> known_deals(int64_t now) {
  auto deal = [&](const char* asin, const char* title, int32_t roi,
                  int32_t profit, int32_t rank, int64_t seen,
                  int32_t domain = 1) {
    auto x = test::make_deal(asin, seen);
    x.title = title;
    x.roi_bp = roi;
    x.profit = profit;
    x.sales_rank = rank;
    x.domain = domain;
    x.buy_price = 1234;
    x.est_sell_price = 4999;
    return x;
  };
  return {
    deal("B00000000A", "The Bright Harbor &amp; Other Stories", 15000, 2500,
         40000, now - 60'000),
    deal("B00000000B", "The Broken Harbor <i>Revised</i>", 25000, 905, 120000,
         now - 120'000),
    deal("B00000000C", "Tea, \"Cakes\" &amp; Scones&#8212;a <b>UK</b> book",
         9000, 3100, 5000, now - 30'000, 2),
    deal("B00000000D", "Old  News", 30000, 700, -1, now - 48 * 3'600'000),
  };
}

void store(const test::backend_fixture& fix, int64_t now) {
  auto db = fix.open();
  upsert_batch b;
  b.deals = known_deals(now);
  REQUIRE_OK(db->commit(b, std::nullopt));
}

/// keepa-deals with `args`, bounded in time.
test::program_outcome deals(const test::backend_fixture& fix,
                            const std::string& args) {
  return test::run_program("timeout -s KILL 30 " KEEPA_DEALS_EXE
                           " '--keepa.storage.url="
                           + fix.url() + "' " + args);
}

/// The rows Python's csv module reads from `text`, as a JSON array of
/// objects (csv.DictReader).
rapidjson::Document parse_csv(const std::string& text, const std::string& dir) {
  auto file = dir + "/deals.csv";
  std::ofstream{file, std::ios::binary} << text;
  auto out = test::run_program(
    "timeout -s KILL 30 python3 -c 'import csv, json, sys\n"
    "with open(sys.argv[1], newline=\"\") as f:\n"
    "    print(json.dumps(list(csv.DictReader(f, strict=True))))' "
    + file);
  REQUIRE(out.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(out.output.c_str());
  REQUIRE(!doc.HasParseError());
  REQUIRE(doc.IsArray());
  return doc;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    result.push_back(line);
  return result;
}

void run_deals_contract(const test::backend_fixture& fix,
                        const std::string& dir) {
  auto now = now_ms();
  store(fix, now);
  auto before = fix.fingerprint();
  SECTION("the table: best ROI first, decoded titles, money in the "
          "locale's currency") {
    auto out = deals(fix, "");
    REQUIRE(out.exit_code == 0);
    auto lines = lines_of(out.output);
    REQUIRE(lines.size() == 6);
    CHECK_THAT(lines[0], Catch::StartsWith("#  ASIN        loc  title"));
    CHECK_THAT(lines[1], Catch::StartsWith("1  B00000000D  us   Old News"));
    CHECK_THAT(lines[2],
               Catch::StartsWith("2  B00000000B  us   The Broken Harbor "
                                 "Revised"));
    CHECK_THAT(lines[3], Catch::Contains("The Bright Harbor & Other Stories"));
    CHECK_THAT(lines[4],
               Catch::Contains("uk   Tea, \"Cakes\" & Scones\u2014a UK book"));
    CHECK_THAT(lines[4], Catch::Contains("\u00a312.34"));
    CHECK_THAT(lines[4], Catch::Contains("\u00a331.00"));
    CHECK_THAT(lines[2], Catch::Contains("$9.05"));
    CHECK_THAT(lines[2], Catch::Contains("250.00"));
    CHECK(lines[5] == "deals 1-4 of 4 matching, best roi first");
    // Columns line up: every row's price column ends where the header's does.
    auto end_of = [](const std::string& line, const std::string& what) {
      return line.find(what) + what.size();
    };
    CHECK(end_of(lines[0], "  buy") == end_of(lines[2], "$12.34"));
  }
  SECTION("orders, filters and pages") {
    auto asins = [&](const std::string& args) {
      auto out = deals(fix, "--json " + args);
      REQUIRE(out.exit_code == 0);
      std::string result;
      for (auto& line : lines_of(out.output)) {
        rapidjson::Document doc;
        doc.Parse(line.c_str());
        REQUIRE(doc.IsObject());
        result += doc["asin"].GetString()[9];
      }
      return result;
    };
    CHECK(asins("") == "DBAC");
    CHECK(asins("--by=profit") == "CABD");
    CHECK(asins("--by=rank") == "CABD");
    CHECK(asins("--by=newest") == "CABD");
    CHECK(asins("--min-roi=150") == "DBA");
    CHECK(asins("--min-profit=9.05") == "BAC");
    CHECK(asins("--min-profit=9.06") == "AC");
    CHECK(asins("--max-rank=40000") == "AC");
    CHECK(asins("--seen-within=1h") == "BAC");
    CHECK(asins("--seen-within=1h --locale=us") == "BA");
    CHECK(asins("--locale=uk") == "C");
    CHECK(asins("--locale=2 --by=newest") == "C");
    CHECK(asins("--limit=2") == "DB");
    CHECK(asins("--limit=2 --offset=2") == "AC");
    CHECK(asins("--limit=0") == "DBAC");
    CHECK(asins("--locale=de").empty());
    auto out = deals(fix, "--locale=de");
    CHECK(out.exit_code == 0);
    CHECK(out.output == "no deals of 0 matching, best roi first\n");
  }
  SECTION("CSV, parsed back by Python's csv module") {
    auto out = deals(fix, "--csv --by=profit");
    REQUIRE(out.exit_code == 0);
    CHECK(out.output.find("\r\n") != std::string::npos);
    auto rows = parse_csv(out.output, dir);
    REQUIRE(rows.Size() == 4);
    auto& uk = rows[0];
    CHECK(std::string{uk["asin"].GetString()} == "B00000000C");
    CHECK(std::string{uk["title"].GetString()}
          == "Tea, \"Cakes\" & Scones\u2014a UK book");
    CHECK(std::string{uk["raw_title"].GetString()}
          == "Tea, \"Cakes\" &amp; Scones&#8212;a <b>UK</b> book");
    CHECK(std::string{uk["locale"].GetString()} == "uk");
    CHECK(std::string{uk["domain"].GetString()} == "2");
    CHECK(std::string{uk["currency"].GetString()} == "GBP");
    CHECK(std::string{uk["buy_price"].GetString()} == "12.34");
    CHECK(std::string{uk["est_sell_price"].GetString()} == "49.99");
    CHECK(std::string{uk["profit"].GetString()} == "31.00");
    CHECK(std::string{uk["roi_percent"].GetString()} == "90.00");
    CHECK(std::string{uk["sales_rank"].GetString()} == "5000");
    CHECK(std::string{uk["amazon_url"].GetString()}
          == "https://www.amazon.co.uk/dp/B00000000C");
    CHECK(std::string{uk["keepa_url"].GetString()}
          == "https://keepa.com/#!product/2-B00000000C");
    CHECK(std::string{uk["last_seen_utc"].GetString()}
          == deals::iso_utc(now - 30'000));
    CHECK_THAT(std::string{uk["last_seen_utc"].GetString()},
               Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
    auto& a = rows[1];
    CHECK(std::string{a["title"].GetString()}
          == "The Bright Harbor & Other Stories");
    CHECK(std::string{a["currency"].GetString()} == "USD");
    CHECK(std::string{a["amazon_url"].GetString()}
          == "https://www.amazon.com/dp/B00000000A");
    auto& d = rows[3];
    CHECK(std::string{d["title"].GetString()} == "Old News");
    CHECK(std::string{d["sales_rank"].GetString()}.empty());
    CHECK(std::string{d["profit"].GetString()} == "7.00");
  }
  SECTION("JSON lines with units in the field names") {
    auto out = deals(fix, "--json --locale=uk");
    REQUIRE(out.exit_code == 0);
    auto lines = lines_of(out.output);
    REQUIRE(lines.size() == 1);
    rapidjson::Document doc;
    doc.Parse(lines[0].c_str());
    REQUIRE(doc.IsObject());
    CHECK(std::string{doc["title"].GetString()}
          == "Tea, \"Cakes\" & Scones\u2014a UK book");
    CHECK(doc["buy_price_cents"].GetInt() == 1234);
    CHECK(doc["profit_cents"].GetInt() == 3100);
    CHECK(doc["roi_bp"].GetInt() == 9000);
    CHECK(doc["domain"].GetInt() == 2);
    CHECK(std::string{doc["currency"].GetString()} == "GBP");
    CHECK(std::string{doc["keepa_url"].GetString()}
          == "https://keepa.com/#!product/2-B00000000C");
    CHECK(doc["last_seen_ms"].GetInt64() == now - 30'000);
    out = deals(fix, "--json --by=rank --limit=0");
    REQUIRE(out.exit_code == 0);
    lines = lines_of(out.output);
    REQUIRE(lines.size() == 4);
    doc.Parse(lines[3].c_str());
    CHECK(doc["sales_rank"].IsNull());
  }
  SECTION("bad options: a clear error, exit code 2, nothing read") {
    for (auto args : {"--by=cheapest", "--locale=xx", "--csv --json",
                      "--min-roi=-5", "--no-such-option"}) {
      auto out = deals(fix, args);
      INFO(args << ": " << out.output);
      CHECK(out.exit_code == 2);
      CHECK_THAT(out.output, Catch::StartsWith("keepa-deals: "));
    }
  }
  // Whatever it printed, the database is as it was.
  CHECK(fix.fingerprint() == before);
}

} // namespace

TEST_CASE_METHOD(keepa::test::sqlite_fixture, "keepa-deals on SQLite",
                 "[keepa-deals][sqlite]") {
  run_deals_contract(*this, dir.path);
}

TEST_CASE_METHOD(keepa::test::postgresql_fixture, "keepa-deals on PostgreSQL",
                 "[keepa-deals][postgresql]") {
  keepa::test::temp_dir dir;
  run_deals_contract(*this, dir.path);
}

TEST_CASE_METHOD(keepa::test::sqlite_fixture,
                 "keepa-deals reads while another connection writes and "
                 "never writes itself",
                 "[keepa-deals][sqlite]") {
  auto now = now_ms();
  store(*this, now);
  // A writer in the middle of a transaction (keepa-pipeline's BEGIN
  // IMMEDIATE): keepa-deals reads the committed deals at once.
  auto writer = raw();
  *writer << "BEGIN IMMEDIATE";
  *writer << "UPDATE deals SET roi_bp = 1 WHERE asin = 'B00000000D'";
  auto before = fingerprint();
  auto out = deals(*this, "--json --limit=1");
  REQUIRE(out.exit_code == 0);
  CHECK_THAT(out.output, Catch::StartsWith("{\"asin\":\"B00000000D\""));
  CHECK(fingerprint() == before);
  *writer << "COMMIT";
  out = deals(*this, "--json --limit=1");
  REQUIRE(out.exit_code == 0);
  CHECK_THAT(out.output, Catch::StartsWith("{\"asin\":\"B00000000B\""));
  // A missing file is an error, and stays missing.
  auto missing = dir.path + "/nothing.db";
  auto res = test::run_program("timeout -s KILL 30 " KEEPA_DEALS_EXE
                               " --keepa.storage.url=sqlite:"
                               + missing);
  CHECK(res.exit_code == 1);
  CHECK_THAT(res.output, Catch::StartsWith("keepa-deals: "));
  CHECK(!std::ifstream{missing});
}
