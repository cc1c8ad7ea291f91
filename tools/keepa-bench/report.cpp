// keepa-bench's output: the table, the CSV and the balance plots (gnuplot).

#include "tools/keepa-bench/bench.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <utility>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace keepa {

namespace {

/// printf into a string of any length.
template<class... Ts>
std::string format(const char* fmt, Ts... xs) {
  auto n = std::snprintf(nullptr, 0, fmt, xs...);
  std::string result(static_cast<size_t>(std::max(n, 0)), '\0');
  std::snprintf(result.data(), result.size() + 1, fmt, xs...);
  return result;
}

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

/// "0 s", "42.0 s", "7.5 min", "3.2 h".
std::string span_text(caf::timespan d) {
  auto s = seconds(d);
  if (s < 120)
    return format("%.1f s", s);
  if (s < 7200)
    return format("%.1f min", s / 60);
  return format("%.1f h", s / 3600);
}

/// Rows grouped by feed pressure and plan, in the order they came.
using group_key = std::pair<double, int64_t>;

std::map<group_key, std::vector<const bench_row*>>
by_plan(const std::vector<bench_row>& rows) {
  std::map<group_key, std::vector<const bench_row*>> result;
  for (auto& r : rows)
    result[{r.pressure, r.rate}].push_back(&r);
  return result;
}

/// The oracle's row among `xs`, or nullptr.
const bench_row* oracle_of(const std::vector<const bench_row*>& xs) {
  for (auto* r : xs)
    if (r->oracle)
      return r;
  return nullptr;
}

/// `r`'s distinct good deals per hour as a fraction of the oracle's; -1
/// without an oracle row (or when the oracle found none).
double of_oracle(const bench_row& r, const bench_row* oracle) {
  if (oracle == nullptr || oracle->stored_good == 0)
    return -1;
  return r.good_per_hour() / oracle->good_per_hour();
}

/// The seeds' configuration's row (deficit-180) among `xs`, or nullptr.
const bench_row* seeds_of(const std::vector<const bench_row*>& xs) {
  for (auto* r : xs)
    if (r->strategy == seeds_strategy)
      return r;
  return nullptr;
}

/// `r`'s distinct good deals per 1 000 tokens as a multiple of the seeds'
/// configuration's; -1 without its row (or when it found none).
double of_seeds(const bench_row& r, const bench_row* seeds) {
  if (seeds == nullptr || seeds->good_per_1000_tokens() <= 0)
    return -1;
  return r.good_per_1000_tokens() / seeds->good_per_1000_tokens();
}

/// The most distinct good deals per 1 000 tokens a strategy that spends at
/// least `share` of the plan can reach on the plan of `xs`: every good deal
/// the feed showed (the most any row saw) on that share of the tokens the
/// plan generated. 0 without a run.
double ceiling_per_1000(const std::vector<const bench_row*>& xs, double share) {
  uint64_t good = 0;
  int64_t generated = 0;
  for (auto* r : xs) {
    good = std::max(good, r->good_in_feed);
    generated = std::max(generated, r->generated);
  }
  return generated > 0 ? 1000.0 * double(good) / (share * double(generated))
                       : 0;
}

} // namespace

std::string render_table(const bench_options& opts,
                         const std::vector<bench_row>& rows) {
  std::string out;
  out += format(
    "keepa-bench: %.1f h of virtual time per run; catalogue "
    "seed %llu, %d books, %.1f %% good\n"
    "good/h: distinct good deals stored per hour; of oracle: that against "
    "the oracle's; deals/h: distinct deals stored per hour; commits/h: "
    "commit events per hour (a book stored again counts again); recall: "
    "distinct good deals stored of those the feed showed over the run; "
    "x seeds: good/1k tok against deficit-180's (the seeds' configuration)\n",
    std::chrono::duration<double, std::ratio<3600>>(opts.duration).count(),
    static_cast<unsigned long long>(opts.sim.seed), opts.sim.products,
    100 * opts.sim.good_fraction);
  for (auto& [key, xs] : by_plan(rows)) {
    auto [pressure, rate] = key;
    auto* oracle = oracle_of(xs);
    auto* seeds = seeds_of(xs);
    out += format("\nR = %lld tokens/min (cap %lld), feed pressure %.1f "
                  "(%.0f book updates/min)\n",
                  static_cast<long long>(rate),
                  static_cast<long long>(60 * rate), pressure,
                  pressure * double(rate));
    out += format("%-16s %7s %9s %8s %9s %8s %11s %8s %8s %5s %5s %7s %8s "
                  "%5s %12s %7s\n",
                  "strategy", "good/h", "of oracle", "deals/h", "commits/h",
                  "tok/good", "good/1k tok", "x seeds", "recall", "good",
                  "feed", "util", "min bal", "429", "longest idle", "wall");
    for (auto* r : xs) {
      auto f = of_oracle(*r, oracle);
      auto x = of_seeds(*r, seeds);
      out += format(
        "%-16s %7.2f %9s %8.2f %9.2f %8.1f %11.2f %8s %6.1f %% %5llu %5llu "
        "%5.1f %% %8lld %5llu %12s %5.1f s\n",
        r->strategy.c_str(), r->good_per_hour(),
        f < 0 ? "-" : format("%.1f %%", 100 * f).c_str(),
        r->per_hour(r->stored), r->commits_per_hour(), r->tokens_per_good(),
        r->good_per_1000_tokens(), x < 0 ? "-" : format("%.2f x", x).c_str(),
        100 * r->recall(), static_cast<unsigned long long>(r->stored_good),
        static_cast<unsigned long long>(r->good_in_feed),
        100 * r->utilisation(), static_cast<long long>(r->min_balance),
        static_cast<unsigned long long>(r->http_429),
        span_text(r->longest_idle).c_str(), double(r->wall.count()) / 1000);
    }
    // Spending the whole plan caps good deals per token: no strategy that
    // keeps the plan busy (issue 6: >= 99 % of the tokens spent while the
    // feed offers work) can beat every good deal of the feed on 99 % of
    // the plan's tokens.
    auto ceiling = ceiling_per_1000(xs, 0.99);
    if (ceiling > 0 && seeds != nullptr && seeds->good_per_1000_tokens() > 0)
      out += format("spending 99 %% of the plan, at most %.2f good/1k tok "
                    "(every good deal the feed showed): %.2f x seeds\n",
                    ceiling, ceiling / seeds->good_per_1000_tokens());
  }
  return out;
}

std::string render_csv(const std::vector<bench_row>& rows) {
  std::string out = "pressure,rate,strategy,hours,committed,commits_per_hour,"
                    "stored,stored_good,good_per_hour,of_oracle,good_in_feed,"
                    "recall,tokens_per_good,good_seen,good_committed,"
                    "recall_seen,good_per_1000_tokens,consumed,generated,"
                    "utilisation,min_balance,http_429,longest_idle_s,"
                    "idle_total_s,peek_tokens,peeked,value_bar,learned,"
                    "wall_s,scan_tokens,commit_tokens,update_tokens,"
                    "of_seeds\n";
  auto groups = by_plan(rows);
  for (auto& r : rows) {
    auto& group = groups[{r.pressure, r.rate}];
    auto* oracle = oracle_of(group);
    out += format(
      "%.3f,%lld,%s,%.3f,%llu,%.4f,%llu,%llu,%.4f,%.4f,%llu,%.4f,%.2f,%llu,"
      "%llu,%.4f,%.4f,%lld,%lld,%.4f,%lld,%llu,%.3f,%.3f,%lld,%llu,%.4f,%s,"
      "%.3f,%lld,%lld,%lld,%.4f\n",
      r.pressure, static_cast<long long>(r.rate), r.strategy.c_str(), r.hours,
      static_cast<unsigned long long>(r.committed), r.commits_per_hour(),
      static_cast<unsigned long long>(r.stored),
      static_cast<unsigned long long>(r.stored_good), r.good_per_hour(),
      of_oracle(r, oracle), static_cast<unsigned long long>(r.good_in_feed),
      r.recall(), r.tokens_per_good(),
      static_cast<unsigned long long>(r.good_seen),
      static_cast<unsigned long long>(r.good_committed), r.recall_seen(),
      r.good_per_1000_tokens(), static_cast<long long>(r.consumed),
      static_cast<long long>(r.generated), r.utilisation(),
      static_cast<long long>(r.min_balance),
      static_cast<unsigned long long>(r.http_429), seconds(r.longest_idle),
      seconds(r.idle_total), static_cast<long long>(r.peek_tokens),
      static_cast<unsigned long long>(r.peeked), r.value_bar, r.learned.c_str(),
      double(r.wall.count()) / 1000, static_cast<long long>(r.scan_tokens),
      static_cast<long long>(r.commit_tokens),
      static_cast<long long>(r.update_tokens), of_seeds(r, seeds_of(group)));
  }
  return out;
}

namespace {

/// One data block per strategy (gnuplot `index`): hours, balance, lowest.
bool write_data(const std::string& path,
                const std::vector<const bench_row*>& xs) {
  std::ofstream out{path};
  for (auto* r : xs) {
    out << "# " << r->strategy << "\n# hours balance lowest\n";
    for (auto& s : r->balance)
      out << format("%.4f %lld %lld\n", s.minutes / 60,
                    static_cast<long long>(s.balance),
                    static_cast<long long>(s.lowest));
    out << "\n\n";
  }
  return static_cast<bool>(out);
}

/// A panel's y range: from the lowest balance to the highest once the
/// first tenth of the run is over (the full starting bucket draining would
/// flatten everything else), padded.
std::pair<int64_t, int64_t> y_range(const bench_row& r) {
  int64_t lo = 0;
  int64_t hi = 1;
  auto settled = r.balance.empty() ? 0.0 : r.balance.back().minutes / 10;
  for (auto& s : r.balance) {
    lo = std::min(lo, s.lowest);
    if (s.minutes >= settled)
      hi = std::max(hi, s.balance);
  }
  auto pad = std::max<int64_t>(1, (hi - lo) / 20);
  return {lo - pad, hi + pad};
}

/// One panel per strategy.
bool write_script(const std::string& path, const std::string& data,
                  const std::string& png, int64_t rate,
                  const std::vector<const bench_row*>& xs) {
  auto cols = xs.size() > 1 ? 2 : 1;
  auto rows = (xs.size() + cols - 1) / cols;
  std::ofstream out{path};
  out << "set terminal pngcairo size 1400," << 280 * rows + 60 << " font ',9'\n"
      << "set output '" << png << "'\n"
      << format("set multiplot layout %zu,%d title \"Keepa balance "
                "(simulator), R = %lld tokens/min, cap %lld; y axis per "
                "panel, the starting bucket may leave it\"\n",
                rows, cols, static_cast<long long>(rate),
                static_cast<long long>(60 * rate))
      << "set xlabel 'virtual hours'\nset ylabel 'tokens'\nset grid\n"
      << "set key below horizontal\n";
  for (size_t i = 0; i < xs.size(); ++i) {
    auto [lo, hi] = y_range(*xs[i]);
    out << "set title '" << xs[i]->strategy << "'\n"
        << format("set yrange [%lld:%lld]\n", static_cast<long long>(lo),
                  static_cast<long long>(hi))
        << "plot '" << data << "' index " << i
        << " using 1:3 with lines lc rgb '#f0a0a0' title 'lowest since "
           "previous sample', '' index "
        << i
        << " using 1:2 with lines lc rgb '#1f5fa0' title 'balance', "
           "0 with lines dt 2 lc rgb 'black' notitle\n";
  }
  out << "unset multiplot\n";
  return static_cast<bool>(out);
}

/// Runs `gnuplot script`; returns "" or what went wrong.
std::string run_gnuplot(const std::string& script) {
  std::string prog = "gnuplot";
  std::vector<char*> argv{prog.data(), const_cast<char*>(script.c_str()),
                          nullptr};
  pid_t pid;
  auto err = posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv.data(),
                          environ);
  if (err == ENOENT)
    return "gnuplot not found (install the Debian package gnuplot-nox)";
  if (err != 0)
    return std::string{"cannot start gnuplot: "} + std::strerror(err);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return std::string{"waiting for gnuplot: "} + std::strerror(errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return "gnuplot failed on " + script;
  return "";
}

} // namespace

std::string plot(const std::string& prefix,
                 const std::vector<bench_row>& rows) {
  std::string out;
  auto groups = by_plan(rows);
  std::set<double> pressures;
  for (auto& kvp : groups)
    pressures.insert(kvp.first.first);
  for (auto& [key, xs] : groups) {
    auto [pressure, rate] = key;
    // Named by the plan alone while every run had the same pressure.
    auto base = prefix
      + (pressures.size() > 1 ? format("-P%g", pressure) : std::string{}) + "-R"
      + std::to_string(rate);
    auto data = base + ".dat";
    auto script = base + ".gp";
    auto png = base + ".png";
    if (!write_data(data, xs) || !write_script(script, data, png, rate, xs)) {
      out += "cannot write " + data + " or " + script + "\n";
      continue;
    }
    auto problem = run_gnuplot(script);
    if (problem.empty())
      out += "wrote " + png + " (data " + data + ")\n";
    else
      out += problem + ": no " + png + "; the data is in " + data
        + ", the script in " + script + "\n";
  }
  return out;
}

} // namespace keepa
