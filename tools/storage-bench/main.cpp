// keepa-storage-bench [deals=1000000] [dir=/tmp]
// keepa-storage-bench fill FILE DEALS [SPREAD_H=25]
//
// Figures for the STORAGE actor (label `bench`):
//  1. Batched upserts per second through the actor (batches of 10, 100 and
//     1000 deals, one transaction each) against the raw SQLite C API doing
//     the same work with one prepared statement: the same rows, schema,
//     indexes and pragmas (WAL, synchronous=FULL), one transaction per batch
//     of the same size, every column updated as STORAGE updates it. Each
//     round measures both side by side, first with new rows, then with the
//     same rows again (updates); the medians and the range of the per-round
//     ratios are reported, and the raw C API in one transaction for scale.
//     A third line puts the committer's batches (the same deals, their feed
//     positions finished with a scanner's backlog still tracked, the
//     watermark and the run counters written) beside the raw C API's new
//     rows.
//  2. Latency of known(100 ASINs), stalest(50), counts and status through
//     the actor with `deals` deals stored, and the process's peak RSS
//     (skipped when `deals` is 0).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/settings.hpp>

#include "actors/storage/storage.hpp"
#include "config/cli.hpp"
#include "config/defaults.hpp"
#include "messages/error.hpp"
#include "storage/soci_backend.hpp"

using namespace keepa;
using clk = std::chrono::steady_clock;

namespace {

/// The pipeline's scheduler (config/defaults.hpp): CAF's default polls
/// while idle, which would slow the raw C API beside it.
struct config : caf::actor_system_config {
  config() {
    keepa::add_message_types(*this);
    set("scheduler.policy", caf::atom(defaults::scheduler::policy));
    set("scheduler.max-threads", defaults::scheduler::max_threads);
  }
};

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "keepa-storage-bench: %s\n", what.c_str());
  exit(1);
}

std::string asin_of(int64_t i) {
  char buf[24];
  snprintf(buf, sizeof(buf), "B%09lld", static_cast<long long>(i));
  return buf;
}

/// The `i`th benchmark deal; `pass` > 0 gives the same deal seen again
/// later at another price (an update).
deal_record deal_of(int64_t i, int pass = 0) {
  deal_record d;
  d.asin = asin_of(i);
  d.title = "Benchmark book number " + std::to_string(i);
  d.buy_price = 100 + static_cast<int32_t>((i + pass) % 900);
  d.est_sell_price = 2500;
  d.avg365 = 2400;
  d.all_in_cost = 900;
  d.profit = 1600;
  d.margin_bp = 6400;
  d.roi_bp = 17700;
  d.min_listing_price = 2300;
  d.sales_rank = 10000 + static_cast<int32_t>(i % 50000);
  d.rank_drops90 = 5;
  d.rank_drops365 = 20;
  d.offers_used = 3;
  d.offers_new = 1;
  d.last_update = 7000000 + static_cast<int32_t>(i / 100);
  d.first_seen_ms = 1'700'000'000'000 + i * 1000 + pass * 60'000;
  d.last_seen_ms = d.first_seen_ms;
  return d;
}

/// Creates an empty database with the current schema.
void create(const std::string& file) {
  std::filesystem::remove(file);
  std::filesystem::remove(file + "-wal");
  std::filesystem::remove(file + "-shm");
  db::open_options opts;
  opts.url = "sqlite:" + file;
  if (auto db = db::soci_backend::open(opts); !db)
    die(render(db.error()));
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    die(std::string{what} + ": " + sqlite3_errmsg(db));
}

/// The baseline: raw C API, one prepared statement, one transaction per
/// `batch` rows. A row that exists is updated as STORAGE updates it (every
/// column; the first sighting kept, the last one advanced).
/// `seen_from_ms` > 0 places the rows' first/last seen times between it
/// and `seen_from_ms + seen_spread_ms` (as the deal's index spreads).
void raw_insert(const std::string& file, int64_t first, int64_t n,
                int64_t batch, int64_t seen_from_ms = 0,
                int64_t seen_spread_ms = 1, int pass = 0) {
  sqlite3* db = nullptr;
  check(sqlite3_open(file.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
                     nullptr, nullptr, nullptr),
        db, "pragmas");
  sqlite3_stmt* st = nullptr;
  check(sqlite3_prepare_v2(
          db,
          "INSERT INTO deals (asin, title, buy_price, est_sell_price, avg365,"
          " all_in_cost, profit, margin_bp, roi_bp, min_listing_price,"
          " sales_rank, rank_drops90, rank_drops365, offers_used, offers_new,"
          " last_update, first_seen_ms, last_seen_ms, written_by, domain,"
          " raw_title, currency) VALUES"
          " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?2,'USD')"
          " ON CONFLICT (domain, asin) DO UPDATE SET title = excluded.title,"
          " raw_title = excluded.raw_title, currency = excluded.currency,"
          " buy_price = excluded.buy_price,"
          " est_sell_price = excluded.est_sell_price,"
          " avg365 = excluded.avg365, all_in_cost = excluded.all_in_cost,"
          " profit = excluded.profit, margin_bp = excluded.margin_bp,"
          " roi_bp = excluded.roi_bp,"
          " min_listing_price = excluded.min_listing_price,"
          " sales_rank = excluded.sales_rank,"
          " rank_drops90 = excluded.rank_drops90,"
          " rank_drops365 = excluded.rank_drops365,"
          " offers_used = excluded.offers_used,"
          " offers_new = excluded.offers_new,"
          " last_update = excluded.last_update,"
          " first_seen_ms = MIN(deals.first_seen_ms, excluded.first_seen_ms),"
          " last_seen_ms = MAX(deals.last_seen_ms, excluded.last_seen_ms),"
          " written_by = excluded.written_by",
          -1, &st, nullptr),
        db, "prepare");
  for (int64_t i = first; i < first + n; ++i) {
    if ((i - first) % batch == 0)
      check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db,
            "begin");
    auto d = deal_of(i, pass);
    if (seen_from_ms > 0)
      d.first_seen_ms = d.last_seen_ms = seen_from_ms
        + (i * 7919) % seen_spread_ms;
    sqlite3_bind_text(st, 1, d.asin.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, d.title.c_str(), -1, SQLITE_TRANSIENT);
    int col = 3;
    for (auto v : {d.buy_price, d.est_sell_price, d.avg365, d.all_in_cost,
                   d.profit, d.margin_bp, d.roi_bp, d.min_listing_price,
                   d.sales_rank, d.rank_drops90, d.rank_drops365, d.offers_used,
                   d.offers_new, d.last_update})
      sqlite3_bind_int(st, col++, v);
    sqlite3_bind_int64(st, col++, d.first_seen_ms);
    sqlite3_bind_int64(st, col++, d.last_seen_ms);
    sqlite3_bind_text(st, col, "commit", -1, SQLITE_STATIC);
    check(sqlite3_step(st), db, "insert");
    sqlite3_reset(st);
    if ((i - first) % batch == batch - 1 || i + 1 == first + n)
      check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db,
            "commit");
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

double seconds_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

/// CPU time of the whole process (every thread), user plus system.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec * 1e-6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

storage_actor spawn(caf::actor_system& sys, const std::string& file) {
  storage_config cfg;
  cfg.url = "sqlite:" + file;
  auto st = spawn_storage(sys, cfg, true);
  if (!st)
    die(render(st.error()));
  return *st;
}

/// Deals per second and CPU microseconds per deal (the whole process).
struct rate {
  double per_second;
  double cpu_us;
};

/// `n` deals in batches of `size`, seen for the `pass`th time; with
/// `positions`, each batch also finishes its deals' feed positions.
std::vector<upsert_batch> batches_of(int64_t n, int64_t size, int pass,
                                     bool positions) {
  std::vector<upsert_batch> result;
  for (int64_t i = 0; i < n; i += size) {
    upsert_batch b;
    for (int64_t j = i; j < std::min(n, i + size); ++j) {
      b.deals.push_back(deal_of(j, pass));
      if (positions)
        b.done.push_back(
          feed_position{b.deals.back().last_update, b.deals.back().asin});
    }
    result.push_back(std::move(b));
  }
  return result;
}

/// Sends `batches` (`n` deals) to `st` one after the other, each after the
/// previous one's answer; moved, as the committer sends its batches.
rate send_all(caf::scoped_actor& self, const storage_actor& st,
              std::vector<upsert_batch> batches, int64_t n) {
  auto t0 = clk::now();
  auto c0 = cpu_seconds();
  for (auto& b : batches)
    self->request(st, caf::infinite, atom::upsert_v, std::move(b))
      .receive([](const upsert_ack&) {},
               [](const caf::error& err) { die(render(err)); });
  auto secs = seconds_since(t0);
  auto cpu = cpu_seconds() - c0;
  return rate{static_cast<double>(n) / secs,
              cpu * 1e6 / static_cast<double>(n)};
}

/// Upserts `n` deals through the actor in batches of `size` into a new
/// database, then the same deals again (updates).
std::pair<rate, rate> actor_rate(caf::actor_system& sys,
                                 const std::string& file, int64_t n,
                                 int64_t size) {
  create(file);
  auto st = spawn(sys, file);
  caf::scoped_actor self{sys};
  auto fresh = send_all(self, st, batches_of(n, size, 0, false), n);
  auto again = send_all(self, st, batches_of(n, size, 1, false), n);
  self->send_exit(st, caf::exit_reason::user_shutdown);
  return {fresh, again};
}

/// Upserts `n` new deals through the actor in committer-like batches of
/// `size`: each batch also finishes its deals' feed positions (tracked
/// beforehand, untimed), so the watermark advances and the run counters are
/// written with it, as the committer's batches do. A scanner's backlog of
/// positions (keepa.scan.max-backlog) stays tracked above them.
rate committer_rate(caf::actor_system& sys, const std::string& file, int64_t n,
                    int64_t size) {
  create(file);
  auto st = spawn(sys, file);
  caf::scoped_actor self{sys};
  auto batches = batches_of(n, size, 0, true);
  std::vector<feed_position> all;
  for (auto& b : batches)
    all.insert(all.end(), b.done.begin(), b.done.end());
  auto backlog = static_cast<int64_t>(defaults::scan::max_backlog);
  for (auto& b : batches_of(n + backlog, n + backlog, 0, true))
    all.insert(all.end(), b.done.begin() + n, b.done.end());
  self->request(st, caf::infinite, atom::track_v, all)
    .receive([](uint64_t) {}, [](const caf::error& err) { die(render(err)); });
  auto result = send_all(self, st, std::move(batches), n);
  self->send_exit(st, caf::exit_reason::user_shutdown);
  return result;
}

/// The raw C API's rate for new rows and then for the same rows again.
std::pair<rate, rate> raw_rate(const std::string& file, int64_t n,
                               int64_t size) {
  create(file);
  auto run = [&](int pass) {
    auto t0 = clk::now();
    auto c0 = cpu_seconds();
    raw_insert(file, 0, n, size, 0, 1, pass);
    return rate{static_cast<double>(n) / seconds_since(t0),
                (cpu_seconds() - c0) * 1e6 / static_cast<double>(n)};
  };
  auto fresh = run(0);
  auto again = run(1);
  return {fresh, again};
}

struct stats {
  double median_us, p99_us, mean_us;
};

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

/// Side-by-side measurements of one kind of write over the rounds.
struct paired {
  std::vector<double> raw, actor, raw_cpu, actor_cpu, ratio, cpu_ratio;

  void add(const rate& r, const rate& a) {
    raw.push_back(r.per_second);
    actor.push_back(a.per_second);
    raw_cpu.push_back(r.cpu_us);
    actor_cpu.push_back(a.cpu_us);
    ratio.push_back(a.per_second / r.per_second);
    cpu_ratio.push_back(r.cpu_us / a.cpu_us);
  }

  /// The rates, the ratio actor/raw (median and range over the rounds), and
  /// the same ratio by CPU time (raw CPU per deal / actor's), which the
  /// machine's load disturbs less.
  void print(int64_t size, const char* rows) const {
    auto [lo, hi] = std::minmax_element(ratio.begin(), ratio.end());
    auto [clo, chi] = std::minmax_element(cpu_ratio.begin(), cpu_ratio.end());
    printf("batches of %lld, %s: raw C API %.0f deals/s, STORAGE actor %.0f"
           " deals/s, ratio actor/raw = %.3f (rounds %.3f-%.3f); CPU per deal"
           " raw %.1f us, actor %.1f us, ratio by CPU = %.3f (rounds"
           " %.3f-%.3f)\n",
           static_cast<long long>(size), rows, median(raw), median(actor),
           median(ratio), *lo, *hi, median(raw_cpu), median(actor_cpu),
           median(cpu_ratio), *clo, *chi);
  }
};

stats summarize(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  double sum = 0;
  for (auto x : xs)
    sum += x;
  return {xs[xs.size() / 2], xs[xs.size() * 99 / 100], sum / xs.size()};
}

} // namespace

/// `fill FILE DEALS [SPREAD_H]`.
int fill(int argc, char** argv) {
  if (argc < 4)
    die("usage: keepa-storage-bench fill FILE DEALS [SPREAD_H=25]");
  std::string file = argv[2];
  int64_t n = std::atoll(argv[3]);
  int64_t spread_ms = (argc > 4 ? std::atoll(argv[4]) : 25) * 3'600'000;
  if (n <= 0 || spread_ms <= 0)
    die("fill: DEALS and SPREAD_H must be positive");
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  create(file);
  auto t0 = clk::now();
  raw_insert(file, 0, n, n, now_ms - spread_ms, spread_ms);
  printf("filled %s with %lld deals in %.1f s\n", file.c_str(),
         static_cast<long long>(n), seconds_since(t0));
  return 0;
}

int main(int argc, char** argv) {
  if (auto code = keepa::positional_cli(
        argc, argv,
        "keepa-storage-bench [DEALS=1000000] [DIR=/tmp]\n"
        "       keepa-storage-bench fill FILE DEALS [SPREAD_H=25]\n"
        "STORAGE's write throughput and latency against SQLite's C API."))
    return *code;
  if (argc > 1 && std::string{argv[1]} == "fill")
    return fill(argc, argv);
  // DEALS = 0 measures the throughput only.
  int64_t total = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  auto file = dir + "/keepa-storage-bench-" + std::to_string(getpid()) + ".db";
  config cfg;
  caf::actor_system sys{cfg};

  // -- 1. throughput against the raw C API ----------------------------------
  // Five interleaved rounds per batch size; the medians are reported. Small
  // batches pay one fsync each (synchronous=FULL), so they get fewer deals.
  constexpr int rounds = 5;
  for (int64_t size : {10, 100, 1000}) {
    int64_t n = size == 10 ? 2000 : 20000;
    std::vector<double> one_tx;
    paired fresh, again, committer;
    for (int round = 0; round < rounds; ++round) {
      create(file);
      auto t0 = clk::now();
      raw_insert(file, 0, n, n);
      one_tx.push_back(static_cast<double>(n) / seconds_since(t0));
      auto [raw_new, raw_again] = raw_rate(file, n, size);
      auto [actor_new, actor_again] = actor_rate(sys, file, n, size);
      fresh.add(raw_new, actor_new);
      again.add(raw_again, actor_again);
      committer.add(raw_new, committer_rate(sys, file, n, size));
    }
    fresh.print(size, "new rows");
    again.print(size, "updated rows");
    // More work on STORAGE's side than the raw C API's (pending rows,
    // watermark, run counters): what the committer costs per deal.
    committer.print(size, "new rows + positions, watermark, run counters");
    printf("batches of %lld: raw C API in 1 transaction %.0f deals/s, ratio"
           " actor (new rows)/that = %.3f\n",
           static_cast<long long>(size), median(one_tx),
           median(fresh.actor) / median(one_tx));
    fflush(stdout);
  }
  auto remove_files = [&file] {
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(file + suffix);
  };
  if (total <= 0) {
    remove_files();
    return 0;
  }

  // -- 2. latency with `total` deals stored ----------------------------------
  create(file);
  auto t0 = clk::now();
  raw_insert(file, 0, total, total);
  printf("filled %lld deals in %.1f s (raw C API); peak RSS %ld KiB\n",
         static_cast<long long>(total), seconds_since(t0), peak_rss_kib());
  auto st = spawn(sys, file);
  caf::scoped_actor self{sys};
  std::mt19937_64 rng{7};
  std::vector<double> known_us, stalest_us;
  size_t found = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> asins;
    for (int i = 0; i < 100; ++i)
      asins.push_back(asin_of(static_cast<int64_t>(rng() % (2 * total))));
    auto t = clk::now();
    self->request(st, caf::infinite, atom::known_v, asins)
      .receive([&](const std::vector<asin_memory>& xs) { found += xs.size(); },
               [](const caf::error& err) { die(render(err)); });
    known_us.push_back(seconds_since(t) * 1e6);
    auto before = deal_of(static_cast<int64_t>(rng() % total)).last_seen_ms;
    t = clk::now();
    self->request(st, caf::infinite, atom::stalest_v, uint32_t{50}, before)
      .receive([](const std::vector<deal_record>&) {},
               [](const caf::error& err) { die(render(err)); });
    stalest_us.push_back(seconds_since(t) * 1e6);
  }
  // counts and status: what every status tick and /status scrape asks.
  std::vector<double> counts_us, status_us;
  for (int round = 0; round < 300; ++round) {
    auto t = clk::now();
    self->request(st, caf::infinite, atom::counts_v)
      .receive([](const storage_counts&) {},
               [](const caf::error& err) { die(render(err)); });
    counts_us.push_back(seconds_since(t) * 1e6);
    t = clk::now();
    self->request(st, caf::infinite, atom::status_v)
      .receive([](const caf::settings&) {},
               [](const caf::error& err) { die(render(err)); });
    status_us.push_back(seconds_since(t) * 1e6);
  }
  auto c = summarize(counts_us);
  auto u = summarize(status_us);
  printf("counts with %lld deals: median %.0f us, p99 %.0f us, mean %.0f us\n",
         static_cast<long long>(total), c.median_us, c.p99_us, c.mean_us);
  printf("status with %lld deals: median %.0f us, p99 %.0f us, mean %.0f us\n",
         static_cast<long long>(total), u.median_us, u.p99_us, u.mean_us);
  auto k = summarize(known_us);
  auto s = summarize(stalest_us);
  printf("known(100 ASINs, ~half stored) with %lld deals: median %.0f us,"
         " p99 %.0f us, mean %.0f us (%zu of %d found)\n",
         static_cast<long long>(total), k.median_us, k.p99_us, k.mean_us, found,
         300 * 100);
  printf("stalest(50) with %lld deals: median %.0f us, p99 %.0f us,"
         " mean %.0f us\n",
         static_cast<long long>(total), s.median_us, s.p99_us, s.mean_us);
  printf("peak RSS of the process: %ld KiB\n", peak_rss_kib());
  self->send_exit(st, caf::exit_reason::user_shutdown);
  remove_files();
  return 0;
}
