// keepa-bench: keepa-pipeline's token strategy against the seeds' and the
// Python client's, each running the real pipeline actors in virtual time
// against the in-process simulator, same catalogue, plan and duration.
//
//   keepa-bench                                  # R = 5, 20, 60, 250; 24 h
//   keepa-bench --bench.rates=[5,250] --bench.duration=48h
//               --bench.csv=out.csv --bench.plot=out/bench

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <iostream>
#include <thread>

#include <caf/config_value.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tools/keepa-bench/bench.hpp"

using namespace keepa;

namespace {

class bench_config : public pipeline_config {
public:
  bench_config() {
    add_group("bench", "plans, strategies, catalogue and output")
      .add<std::vector<int64_t>>("rates",
                                 "plans in tokens/min (default "
                                 "[5, 20, 60, 250])")
      .add<std::vector<std::string>>("strategies",
                                     "strategies to run (default all)")
      .add<caf::timespan>("duration", "virtual time per run (default 24h)")
      .add<caf::timespan>("sample", "balance plot resolution (default 1min)")
      .add<int64_t>("products", "books in the catalogue (default 30000)")
      .add<std::string>("updates-per-token",
                        "feed pressures: book updates/min per "
                        "token/min of the plan, each plan runs at "
                        "each (default [1.2])")
      .add<double>("good-fraction", "share of good deals (default 0.03)")
      .add<double>("peek-pass-fraction", "share passing a peek (default 0.15)")
      .add<size_t>("seed", "catalogue seed (default 1)")
      .add<caf::timespan>("scan-interval",
                          "scanner interval (default keepa.scan.interval, "
                          "5min)")
      .add<size_t>("jobs", "runs in parallel (default the cores)")
      .add<std::string>("csv", "CSV file (default keepa-bench.csv)")
      .add<std::string>("plot",
                        "plot files prefix, \"\" = no plot "
                        "(default keepa-bench)");
    // "As configured" reads keepa.update.*, keepa.filter.* and
    // keepa.business.*, which come with pipeline_config.
  }
};

caf::expected<bench_options> bench_options_from(const caf::settings& xs) {
  bench_options o;
  o.rates = caf::get_or(xs, "bench.rates", o.rates);
  o.only = caf::get_or(xs, "bench.strategies", o.only);
  o.duration = caf::get_or(xs, "bench.duration", o.duration);
  o.sample = caf::get_or(xs, "bench.sample", o.sample);
  o.scan_interval = caf::get_or(xs, "bench.scan-interval", o.scan_interval);
  o.scan_interval_given = caf::get_if(&xs, "bench.scan-interval") != nullptr;
  auto& s = o.sim;
  s.products
    = static_cast<int>(caf::get_or(xs, "bench.products", int64_t{30000}));
  // A list of numbers, whole ones too: "[1, 10, 50]" or "1,10,50" (CAF's
  // list-of-double parser refuses whole numbers).
  if (auto text = caf::get_if<std::string>(&xs, "bench.updates-per-token")) {
    auto list = *text;
    for (auto& c : list)
      if (c == '[' || c == ']' || c == ',')
        c = ' ';
    std::istringstream in{list};
    o.pressures.clear();
    for (std::string word; in >> word;) {
      char* end = nullptr;
      auto p = std::strtod(word.c_str(), &end);
      if (end == word.c_str() || *end != '\0')
        return caf::make_error(
          ec::invalid_config, "bench.updates-per-token: not a number: " + word);
      o.pressures.push_back(p);
    }
  }
  s.good_fraction = caf::get_or(xs, "bench.good-fraction", s.good_fraction);
  s.peek_pass_fraction = caf::get_or(xs, "bench.peek-pass-fraction",
                                     s.peek_pass_fraction);
  s.seed = caf::get_or(xs, "bench.seed", size_t{1});
  o.jobs
    = caf::get_or(xs, "bench.jobs",
                  size_t{std::max(1u, std::thread::hardware_concurrency())});
  auto bad = [](const char* what) {
    return caf::make_error(ec::invalid_config, what);
  };
  if (o.rates.empty())
    return bad("bench.rates must not be empty");
  for (auto r : o.rates)
    if (r <= 0)
      return bad("bench.rates must be positive");
  if (o.duration <= caf::timespan::zero() || o.sample <= caf::timespan::zero())
    return bad("bench.duration and bench.sample must be positive");
  if (s.products < 1 || s.products > 1000000)
    return bad("bench.products must be in [1, 1000000]");
  if (o.pressures.empty())
    return bad("bench.updates-per-token must not be empty");
  for (auto p : o.pressures)
    if (!(p > 0))
      return bad("bench.updates-per-token must be positive");
  if (s.good_fraction < 0 || s.good_fraction > s.peek_pass_fraction
      || s.peek_pass_fraction > 1)
    return bad("need 0 <= bench.good-fraction <= bench.peek-pass-fraction "
               "<= 1");
  if (o.scan_interval <= caf::timespan::zero())
    return bad("bench.scan-interval must be positive");
  if (o.jobs == 0)
    return bad("bench.jobs must be positive");
  return o;
}

} // namespace

int main(int argc, char** argv) {
  bench_config cfg;
  if (auto err = cfg.load(argc, argv)) {
    std::cerr << "keepa-bench: " << render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto opts = bench_options_from(cfg.content);
  if (!opts) {
    std::cerr << "keepa-bench: " << render(opts.error()) << "\n";
    return 2;
  }
  auto wall0 = std::chrono::steady_clock::now();
  auto rows = run_bench(*opts, cfg);
  if (!rows) {
    std::cerr << "keepa-bench: " << render(rows.error()) << "\n";
    return 1;
  }
  std::cout << render_table(*opts, *rows);
  std::cout << "\nstrategies:\n";
  for (auto& s : bench_strategies())
    std::cout << "  " << s.name << ": " << s.origin << "\n";
  auto csv = caf::get_or(cfg.content, "bench.csv",
                         std::string{"keepa-bench.csv"});
  std::ofstream out{csv};
  out << render_csv(*rows);
  if (!out) {
    std::cerr << "keepa-bench: cannot write " << csv << "\n";
    return 1;
  }
  std::cout << "\nwrote " << csv << "\n";
  auto prefix = caf::get_or(cfg.content, "bench.plot",
                            std::string{"keepa-bench"});
  if (!prefix.empty())
    std::cout << plot(prefix, *rows);
  auto wall
    = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0);
  std::cout << "ran in " << wall.count() << " s of wall time (" << opts->jobs
            << " jobs)\n";
  return 0;
}
