// keepa-deals: the stored deals from the command line, best first. Opens
// the storage read-only (SQLite beside a running keepa-pipeline in WAL
// mode, PostgreSQL in read-only transactions): it never changes the
// database.
//
//   keepa-deals [--keepa.storage.url=sqlite:keepa.db] [--by=roi|profit|rank|
//               newest] [--min-roi=PERCENT] [--min-profit=AMOUNT]
//               [--max-rank=N] [--seen-within=DURATION] [--locale=us|uk|..]
//               [--limit=20] [--offset=0] [--csv | --json]
//               [--title-width=40]
//
// Prints an aligned table and a line saying which deals it shows; --csv
// prints CSV (RFC 4180: a header, CRLF lines, quoted fields), --json one
// JSON object per line. --limit=0 prints every matching deal.
//
// Exit codes: 0 printed (also when no deal matches), 1 the database cannot
// be read, 2 bad options.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>

#include <caf/actor_system_config.hpp>

#include "config/cli.hpp"
#include "config/defaults.hpp"
#include "config/locale.hpp"
#include "config/option_adder.hpp"
#include "messages/error.hpp"
#include "storage/soci_backend.hpp"
#include "tools/keepa-deals/format.hpp"

namespace {

class deals_config : public caf::actor_system_config {
public:
  std::string url = keepa::defaults::storage::url;
  std::string by = "roi";
  double min_roi = -1;
  double min_profit = -1;
  int64_t max_rank = 0;
  caf::timespan seen_within{0};
  std::string locale;
  uint32_t limit = 20;
  uint32_t offset = 0;
  bool csv = false;
  bool json = false;
  size_t title_width = 40;

  deals_config() {
    keepa::add_cli_options(custom_options_);
    program.summary = "Lists the deals keepa-pipeline stored, best first, as "
                      "a table, CSV or JSON lines; never changes the "
                      "database.";
    program.groups = {"keepa.storage"};
    program.secrets = {"keepa.storage.url"};
    keepa::option_adder{custom_options_, "keepa.storage", &program.defaults}
      .add(url, "url",
           "the database keepa-pipeline writes: sqlite:FILE or "
           "postgresql://...");
    keepa::option_adder{custom_options_, "global", &program.defaults}
      .add(by, "by",
           "order, best first: roi, profit, rank (best sales rank) or newest "
           "(last seen)")
      .add(min_roi, "min-roi", "only deals with at least this ROI, in percent")
      .add(min_profit, "min-profit",
           "only deals with at least this profit, in the deal's currency "
           "(e.g. 5.50)")
      .add(max_rank, "max-rank", "only deals with a sales rank of at most N")
      .add(seen_within, "seen-within",
           "only deals seen within this time (e.g. 30min, 6h)")
      .add(locale, "locale",
           "only deals of this Amazon locale: us, uk, de, ... or a Keepa "
           "domain id")
      .add(limit, "limit", "print at most N deals (0: all)")
      .add(offset, "offset", "skip the first N deals")
      .add(csv, "csv", "print CSV (RFC 4180)")
      .add(json, "json", "print one JSON object per line")
      .add(title_width, "title-width",
           "cut titles in the table to N characters");
  }

  /// Parses the command line (config/cli.hpp).
  caf::error read_command_line(int argc, char** argv) {
    return keepa::parse_command_line(*this, custom_options_, argc, argv,
                                     program);
  }

private:
  keepa::cli_program program;
};

int bad_option(const std::string& what) {
  std::cerr << "keepa-deals: " << what << "\n";
  return 2;
}

/// How the table's last line names `x`.
const char* order_text(keepa::db::deal_listing::order x) {
  using order = keepa::db::deal_listing::order;
  switch (x) {
    case order::roi: return "best ROI";
    case order::profit: return "best profit";
    case order::rank: return "best sales rank";
    case order::newest:
    default: return "newest";
  }
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

int main(int argc, char** argv) {
  using namespace keepa;
  deals_config cfg;
  if (auto err = cfg.read_command_line(argc, argv))
    return bad_option(plain_words(err));
  if (cfg.cli_helptext_printed)
    return 0;
  db::deal_listing q;
  auto order = db::parse_order(cfg.by);
  if (!order)
    return bad_option("--by must be roi, profit, rank or newest");
  q.by = *order;
  if (cfg.csv && cfg.json)
    return bad_option("--csv and --json exclude each other");
  if (cfg.min_roi >= 0)
    q.min_roi_bp = std::llround(cfg.min_roi * 100);
  else if (cfg.min_roi != -1)
    return bad_option("--min-roi must not be negative");
  if (cfg.min_profit >= 0)
    q.min_profit = std::llround(cfg.min_profit * 100);
  else if (cfg.min_profit != -1)
    return bad_option("--min-profit must not be negative");
  if (cfg.max_rank < 0)
    return bad_option("--max-rank must not be negative");
  if (cfg.max_rank > 0)
    q.max_rank = cfg.max_rank;
  if (cfg.seen_within.count() < 0)
    return bad_option("--seen-within must not be negative");
  if (cfg.seen_within.count() > 0)
    q.seen_since_ms = now_ms()
      - std::chrono::duration_cast<std::chrono::milliseconds>(cfg.seen_within)
          .count();
  if (!cfg.locale.empty()) {
    auto loc = parse_locale(cfg.locale);
    if (!loc)
      return bad_option("--locale: unknown Amazon locale " + cfg.locale);
    q.domain = loc->domain;
  }
  db::open_options opts;
  opts.url = cfg.url;
  opts.read_only = true;
  auto db = db::soci_backend::open(opts);
  if (!db) {
    std::cerr << "keepa-deals: " << render(db.error()) << "\n";
    return db.error() == ec::invalid_config ? 2 : 1;
  }
  // Pages of at most 1 000 deals until `limit` (or every deal) is printed.
  constexpr uint32_t page = 1000;
  uint64_t wanted = cfg.limit == 0 ? UINT64_MAX : cfg.limit;
  uint64_t printed = 0;
  std::vector<deal_record> all;
  if (cfg.csv)
    std::cout << deals::csv_header();
  for (q.offset = cfg.offset; printed < wanted;) {
    q.limit = static_cast<uint32_t>(std::min<uint64_t>(page, wanted - printed));
    auto xs = (*db)->list_deals(q);
    if (!xs) {
      std::cerr << "keepa-deals: " << render(xs.error()) << "\n";
      return 1;
    }
    for (auto& d : *xs) {
      if (cfg.csv)
        std::cout << deals::csv_record(d);
      else if (cfg.json)
        std::cout << deals::json_line(d) << "\n";
      else
        all.push_back(d);
    }
    printed += xs->size();
    q.offset += static_cast<uint32_t>(xs->size());
    if (xs->size() < q.limit)
      break;
  }
  if (cfg.csv || cfg.json)
    return std::cout.good() ? 0 : 1;
  auto total = (*db)->count_deals(q);
  if (!total) {
    std::cerr << "keepa-deals: " << render(total.error()) << "\n";
    return 1;
  }
  if (*total == 0) {
    std::cout << "no deals match\n";
    return 0;
  }
  if (all.empty()) {
    std::cout << "no deals after the first " << cfg.offset << " of " << *total
              << " matching\n";
    return 0;
  }
  std::cout << deals::table(all, cfg.title_width, cfg.offset + 1) << "deals "
            << cfg.offset + 1 << "-" << cfg.offset + all.size() << " of "
            << *total << " matching, " << order_text(q.by) << " first\n";
  return 0;
}
