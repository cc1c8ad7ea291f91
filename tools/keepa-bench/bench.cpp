#include "tools/keepa-bench/bench.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "actors/analysis/deal_analysis.hpp"
#include "actors/pipeline/pipeline.hpp"
#include "actors/token/token.hpp"
#include "actors/stages/scanner.hpp"
#include "actors/stages/updater.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tools/keepa-bench/oracle.hpp"
#include "tools/virtual-run/virtual_run.hpp"

namespace keepa {

namespace {

std::function<void(pipeline_settings&)> use(token_strategy x) {
  return [x](pipeline_settings& s) { s.token.strategy = x; };
}

/// Seeds 001 and 002: never below -180 after a request's (estimated) cost,
/// peek 20 ASINs below 20 tokens/min and 50 from there, always with
/// offers=20 (offers=0 is refused); commit 5, light update 50.
void seeds_batches(pipeline_settings& s) {
  for (auto& p : s.token.profiles) {
    p.floor = -180;
    p.peek_offers = 20;
    p.peek_batch = p.min_rate < 20 ? 20 : 50;
    p.commit_batch = 5;
    p.update_batch = 50;
  }
}

/// keepa-pipeline discovering candidates through `source` (deals, finder
/// or both; keepa.scan.source) with the shipped Product Finder query.
std::function<void(pipeline_settings&)> scan_source_of(std::string source) {
  return [source](pipeline_settings& s) {
    caf::settings xs;
    caf::put(xs, "keepa.scan.source", source);
    auto cfg = scanner_config_from(xs);
    if (!cfg)
      throw std::runtime_error(render(cfg.error()));
    s.scan.source = cfg->source;
    s.scan.finder_query = cfg->finder_query;
    s.scan.finder_per_page = cfg->finder_per_page;
  };
}

} // namespace

std::vector<bench_strategy> bench_strategies() {
  using namespace std::chrono_literals;
  return {
    {"keepa-pipeline", "as configured: the profiles' floor rule",
     [](pipeline_settings&) {}},
    {"no-value-gate",
     "as configured, but the peek-filter peeks whatever it holds as soon as "
     "TOKEN grants (keepa.peek.value-gate=false)",
     [](pipeline_settings& s) { s.peek.gate.enabled = false; }},
    {"skip-hopeless",
     "as configured, but the peek-filter lets go of the candidates of bins "
     "its peeks showed hopeless (keepa.peek.skip-hopeless)",
     [](pipeline_settings& s) { s.peek.gate.skip_hopeless = true; }},
    {"source-finder",
     "as configured, but candidates from Product Finder "
     "(keepa.scan.source=finder, config/finder_query.json)",
     scan_source_of("finder")},
    {"source-both",
     "as configured, passes alternating between /deal and Product Finder "
     "(keepa.scan.source=both)",
     scan_source_of("both")},
    {"threshold-50-55",
     "seed 003: spend while the balance is >= 50, after a stop wait for 55",
     use(token_strategy::hysteresis(50, 55))},
    {"burst-40", "seeds 000/001: spend while > 0, then recharge mode until 40",
     use(token_strategy::hysteresis(1, 40))},
    {"interval-60s",
     "seed 004: at least 60 s between calls, floor rule otherwise",
     use(token_strategy::paced(60s))},
    {seeds_strategy,
     "seeds 001/002: floor -180, peek 20|50 ASINs (below|from 20/min) "
     "with offers=20, commit 5, update 50",
     seeds_batches},
    {"wait-at-0", "the Python keepa client: wait while the balance is <= 0",
     use(token_strategy::hysteresis(1, 1))},
    {"oracle",
     "knows the simulator's truth: pays the scan pages and the commit of "
     "each good deal, nothing else (the plan's limit)",
     [](pipeline_settings&) {}, true},
  };
}

namespace {

/// Runs one strategy on one plan.
caf::expected<bench_row> run_one(const bench_options& opts,
                                 const run_config& base, double pressure,
                                 int64_t rate, const bench_strategy& strategy) {
  auto wall0 = std::chrono::steady_clock::now();
  auto sim = opts.sim;
  sim.refill_rate = rate;
  sim.update_rate = pressure * double(rate);
  virtual_run run{sim,
                  "bench-p" + std::to_string(pressure) + "-r"
                    + std::to_string(rate) + "-" + strategy.name,
                  opts.scan_interval};
  run.apply(base, opts.scan_interval_given);
  strategy.apply(run.settings);
  if (strategy.oracle)
    run.settings.peek_stand_in = [model = run.model](caf::actor_system& sys,
                                                     stage_context ctx,
                                                     committer_actor c) {
      return spawn_oracle(sys, std::move(ctx), std::move(c),
                          [model](const deal& d) {
                            return model->good_now(d.asin, d.last_update);
                          });
    };
  if (auto err = validate(run.settings.token))
    return err;
  if (auto err = run.spawn())
    return err;
  bench_row r;
  r.rate = rate;
  r.pressure = pressure;
  r.strategy = strategy.name;
  r.oracle = strategy.oracle;
  // Every good deal the scanner's query could have shown: the result set
  // is looked at every step (Keepa caches it 120 s).
  auto observe = [&] {
    auto err = run.model->observe_feed(run.settings.scan.selection,
                                       run.now_ms());
    return err.empty() ? caf::error{}
                       : caf::make_error(ec::invalid_config, std::move(err));
  };
  if (auto err = observe())
    return err;
  auto minutes = [](caf::timespan d) {
    return std::chrono::duration<double, std::ratio<60>>(d).count();
  };
  auto lowest = run.model->balance(run.now_ms());
  r.balance.push_back(balance_sample{0, lowest, lowest});
  for (caf::timespan elapsed{0}; elapsed < opts.duration;) {
    auto step = std::min(opts.sample, opts.duration - elapsed);
    run.min_balance = INT64_MAX;
    run.run_for(step);
    elapsed += step;
    if (auto err = observe())
      return err;
    auto now = run.model->balance(run.now_ms());
    auto low = std::min(run.min_balance, now);
    lowest = std::min(lowest, low);
    r.balance.push_back(balance_sample{minutes(elapsed), now, low});
  }
  r.hours = minutes(opts.duration) / 60;
  auto ts = run.token_status();
  r.consumed = ts.totals.consumed;
  r.generated = run.generated_until(run.now_ms());
  r.min_balance = lowest;
  r.longest_idle = ts.totals.longest_held_back;
  r.idle_total = ts.totals.held_back;
  r.committed = get_int(run.status_of(run.h.committer), "committed");
  // A stored book is a good deal stored when the feed showed it good at
  // or before the version stored (a stored product's lastUpdate is also
  // moved by the offers fetch, so it is rarely the feed's version itself).
  std::map<std::string, int64_t> first_good;
  for (auto& d : run.model->good_in_feed())
    first_good.emplace(d.asin, d.last_update);
  r.good_in_feed = first_good.size();
  for (auto& d : run.stored_deals()) {
    ++r.stored;
    auto i = first_good.find(d.asin);
    if (i != first_good.end() && i->second <= d.last_update)
      ++r.stored_good;
  }
  auto by_stage = [&](stage x) {
    return ts.totals.consumed_by_stage.at(static_cast<size_t>(x));
  };
  r.peek_tokens = by_stage(stage::peek);
  r.scan_tokens = by_stage(stage::scan);
  r.commit_tokens = by_stage(stage::commit);
  r.update_tokens = by_stage(stage::update);
  auto peek = run.status_of(run.h.peek);
  r.peeked = get_int(peek, "peeked");
  r.value_bar = caf::get_or(peek, "value-bar", 0.0);
  if (auto bins = caf::get_if<caf::settings>(&peek, "learned"))
    for (auto& [name, x] : *bins)
      if (auto bin = caf::get_if<caf::settings>(&x)) {
        char rate[32];
        std::snprintf(rate, sizeof(rate), "%.3f",
                      caf::get_or(*bin, "pass-rate", 0.0));
        r.learned += (r.learned.empty() ? "" : " ") + name + "=" + rate + "/"
          + std::to_string(get_int(*bin, "peeked"));
      }
  r.http_429 = get_int(run.status_of(run.h.client), "http-429")
    + get_int(run.status_of(run.h.probe_client), "http-429");
  auto recall = run.recall();
  r.good_seen = recall.good_seen;
  r.good_committed = recall.committed;
  r.wall = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - wall0);
  return r;
}

} // namespace

caf::expected<std::vector<bench_row>> run_bench(const bench_options& opts,
                                                const pipeline_config& cfg) {
  std::vector<bench_strategy> strategies;
  for (auto& s : bench_strategies())
    if (opts.only.empty()
        || std::find(opts.only.begin(), opts.only.end(), s.name)
          != opts.only.end())
      strategies.push_back(std::move(s));
  if (strategies.empty())
    return caf::make_error(ec::invalid_config,
                           "bench.strategies names no known strategy");
  auto base = run_config_from(cfg);
  if (!base)
    return std::move(base.error());
  struct job {
    double pressure;
    int64_t rate;
    const bench_strategy* strategy;
    std::optional<bench_row> row;
    caf::error err;
  };
  std::vector<job> jobs;
  for (auto pressure : opts.pressures)
    for (auto rate : opts.rates)
      for (auto& s : strategies)
        jobs.push_back(job{pressure, rate, &s, std::nullopt, caf::error{}});
  // Each run owns its actor system, simulator and database; runs share
  // nothing but the (read-only) configuration.
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (auto i = next++; i < jobs.size(); i = next++) {
      auto& j = jobs[i];
      auto r = run_one(opts, *base, j.pressure, j.rate, *j.strategy);
      if (r)
        j.row = std::move(*r);
      else
        j.err = std::move(r.error());
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < std::min(opts.jobs, jobs.size()); ++i)
    threads.emplace_back(work);
  work();
  for (auto& t : threads)
    t.join();
  std::vector<bench_row> rows;
  for (auto& j : jobs) {
    if (!j.row)
      return caf::make_error(
        ec::invalid_config,
        j.strategy->name + " at R = " + std::to_string(j.rate) + ", pressure "
          + std::to_string(j.pressure) + ": " + render(j.err));
    rows.push_back(std::move(*j.row));
  }
  return rows;
}

} // namespace keepa
