// keepa-web-bench-fill FILE DEALS: a SQLite file of DEALS stored deals for
// the dashboard's figures (web-bench.sh), written through the storage
// backend as the committer's would be: ROI, profit and sales rank spread
// (so each order has its own index walk), a tenth in the UK and a tenth in
// Germany, last seen over the past 72 h, every fourth title with an HTML
// entity (stored decoded).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/cli.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "storage/soci_backend.hpp"

using namespace keepa;

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "keepa-web-bench-fill: %s\n", why.c_str());
  std::exit(1);
}

deal_record deal_of(int64_t i, int64_t now_ms) {
  deal_record d;
  char asin[24];
  std::snprintf(asin, sizeof(asin), "W%09lld", static_cast<long long>(i));
  d.asin = asin;
  d.domain = i % 10 == 0 ? 2 : i % 10 == 1 ? 3 : 1;
  d.title = "Benchmark book " + std::to_string(i)
    + (i % 4 == 0 ? " &amp; Other Stories" : "");
  d.buy_price = 500 + static_cast<int32_t>((i * 7919) % 4000);
  d.est_sell_price = d.buy_price * 2 + 300;
  d.avg365 = d.est_sell_price - 100;
  d.all_in_cost = d.buy_price + 400;
  d.profit = static_cast<int32_t>((i * 104729) % 8000) - 500;
  d.roi_bp = d.profit * 10000 / d.all_in_cost;
  d.margin_bp = d.profit * 10000 / d.est_sell_price;
  d.min_listing_price = d.est_sell_price - 200;
  d.sales_rank = i % 50 == 0 ? -1
                             : 1 + static_cast<int32_t>((i * 31337) % 3000000);
  d.rank_drops90 = static_cast<int32_t>(i % 40);
  d.rank_drops365 = static_cast<int32_t>(i % 120);
  d.offers_used = static_cast<int32_t>(i % 12);
  d.offers_new = static_cast<int32_t>(i % 5);
  d.last_seen_ms = now_ms - (i * 6151) % (72 * 3'600'000);
  d.first_seen_ms = d.last_seen_ms - 3'600'000;
  d.last_update
    = static_cast<int32_t>(keepa_minute_from_unix_ms(d.last_seen_ms));
  return d;
}

} // namespace

int main(int argc, char** argv) {
  if (auto code = keepa::positional_cli(
        argc, argv,
        "keepa-web-bench-fill FILE DEALS\n"
        "Fills a SQLite FILE with DEALS stored deals for web-bench."))
    return *code;
  if (argc != 3)
    die("usage: keepa-web-bench-fill FILE DEALS");
  std::string file = argv[1];
  int64_t n = std::atoll(argv[2]);
  if (n <= 0)
    die("DEALS must be positive");
  for (auto suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(file + suffix);
  db::open_options opts;
  opts.url = "sqlite:" + file;
  auto db = db::soci_backend::open(opts);
  if (!db)
    die(render(db.error()));
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto t0 = std::chrono::steady_clock::now();
  constexpr int64_t batch = 1000;
  for (int64_t i = 0; i < n; i += batch) {
    upsert_batch b;
    for (int64_t j = i; j < std::min(n, i + batch); ++j)
      b.deals.push_back(deal_of(j, now_ms));
    if (auto res = (*db)->commit(b, std::nullopt); !res)
      die(render(res.error()));
  }
  if (auto res = (*db)->flush(); !res)
    die(render(res.error()));
  std::printf(
    "filled %s with %lld deals in %.1f s\n", file.c_str(),
    static_cast<long long>(n),
    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count());
  return 0;
}
