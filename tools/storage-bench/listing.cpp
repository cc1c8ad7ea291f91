// keepa-listing-bench [deals=100000] [url=sqlite:<tmp file>]
//
// Figure (label `bench`): how long list_deals and count_deals take with
// `deals` deals stored, through a read-only backend as keepa-deals and the
// dashboard open it. Fills the database through the backend (batches of
// 1000, spread ROI, profit, rank and last-seen times, 10 % in domain 2),
// then times, per order (roi, profit, rank, newest), the first page of 50,
// a page at offset 5 000, a filtered page (min ROI, min profit, max rank,
// seen within 6 h) and its count: median and worst of 20 runs each.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "config/cli.hpp"
#include "messages/error.hpp"
#include "storage/soci_backend.hpp"

using namespace keepa;
using clk = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "keepa-listing-bench: %s\n", what.c_str());
  exit(1);
}

deal_record deal_of(int64_t i, int64_t now_ms) {
  deal_record d;
  char asin[24];
  snprintf(asin, sizeof(asin), "B%09lld", static_cast<long long>(i));
  d.asin = asin;
  d.domain = i % 10 == 0 ? 2 : 1;
  d.title = "Benchmark book &amp; number <i>" + std::to_string(i) + "</i>";
  auto h = static_cast<int32_t>((i * 7919) % 100000);
  d.buy_price = 100 + h % 900;
  d.est_sell_price = 2500;
  d.avg365 = 2400;
  d.all_in_cost = 900;
  d.profit = 300 + h % 4000;
  d.margin_bp = 6400;
  d.roi_bp = 1000 + (h * 31) % 40000;
  d.min_listing_price = 2300;
  d.sales_rank = h % 50 == 0 ? -1 : 1000 + (h * 17) % 2'000'000;
  d.rank_drops90 = 5;
  d.rank_drops365 = 20;
  d.offers_used = 3;
  d.offers_new = 1;
  d.last_update = 7000000 + static_cast<int32_t>(i / 100);
  d.first_seen_ms = now_ms - (h * 997) % (48 * 3'600'000);
  d.last_seen_ms = d.first_seen_ms;
  return d;
}

template<class F>
std::pair<double, double> time_ms(F f) {
  std::vector<double> xs;
  for (int i = 0; i < 20; ++i) {
    auto t0 = clk::now();
    f();
    xs.push_back(
      std::chrono::duration<double, std::milli>(clk::now() - t0).count());
  }
  std::sort(xs.begin(), xs.end());
  return {xs[xs.size() / 2], xs.back()};
}

} // namespace

int main(int argc, char** argv) {
  if (auto code = keepa::positional_cli(
        argc, argv,
        "keepa-listing-bench [DEALS=100000] [STORAGE_URL=sqlite:TMP]\n"
        "list_deals and count_deals over DEALS stored deals, read-only."))
    return *code;
  int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000;
  std::string file;
  std::string url;
  if (argc > 2) {
    url = argv[2];
  } else {
    file = std::filesystem::temp_directory_path().string()
      + "/keepa-listing-bench-" + std::to_string(getpid()) + ".db";
    url = "sqlite:" + file;
  }
  if (n <= 0)
    die("deals must be positive");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  {
    db::open_options opts;
    opts.url = url;
    auto db = db::soci_backend::open(opts);
    if (!db)
      die(render(db.error()));
    auto t0 = clk::now();
    for (int64_t i = 0; i < n; i += 1000) {
      upsert_batch b;
      for (int64_t j = i; j < std::min(n, i + 1000); ++j)
        b.deals.push_back(deal_of(j, now_ms));
      if (auto res = (*db)->commit(b, std::nullopt); !res)
        die(render(res.error()));
    }
    (*db)->flush();
    printf("stored %lld deals in %.1f s (%s)\n", static_cast<long long>(n),
           std::chrono::duration<double>(clk::now() - t0).count(),
           (*db)->kind());
  }
  db::open_options opts;
  opts.url = url;
  opts.read_only = true;
  auto ro = db::soci_backend::open(opts);
  if (!ro)
    die(render(ro.error()));
  auto& db = **ro;
  auto total = db.count_deals({});
  if (!total || *total < static_cast<uint64_t>(n))
    die("not every deal is stored");
  printf("%-7s %-34s %9s %9s %6s\n", "order", "query", "median", "worst",
         "rows");
  for (auto by :
       {db::deal_listing::order::roi, db::deal_listing::order::profit,
        db::deal_listing::order::rank, db::deal_listing::order::newest}) {
    auto run = [&](const char* what, db::deal_listing q, bool count) {
      size_t rows = 0;
      auto [median, worst] = time_ms([&] {
        if (count) {
          auto c = db.count_deals(q);
          if (!c)
            die(render(c.error()));
          rows = *c;
        } else {
          auto xs = db.list_deals(q);
          if (!xs)
            die(render(xs.error()));
          rows = xs->size();
        }
      });
      printf("%-7s %-34s %6.2f ms %6.2f ms %6zu\n", db::to_string(by), what,
             median, worst, rows);
    };
    db::deal_listing q;
    q.by = by;
    run("first 50", q, false);
    q.offset = 5000;
    run("50 at offset 5000", q, false);
    db::deal_listing f;
    f.by = by;
    f.min_roi_bp = 20000;
    f.min_profit = 2000;
    f.max_rank = 500000;
    f.seen_since_ms = now_ms - 6 * 3'600'000;
    run("first 50 filtered", f, false);
    run("count filtered", f, true);
    f.domain = 2;
    run("first 50 filtered, domain 2", f, false);
  }
  auto [median, worst] = time_ms([&] { db.count_deals({}); });
  printf("%-7s %-34s %6.2f ms %6.2f ms %6llu\n", "-", "count all", median,
         worst, static_cast<unsigned long long>(*total));
  if (!file.empty())
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(file + suffix);
  return 0;
}
