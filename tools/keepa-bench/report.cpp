// keepa-bench's output: the table, the CSV and the balance plots (gnuplot).

#include "tools/keepa-bench/bench.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
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

/// Rows grouped by plan, in the order they came.
std::map<int64_t, std::vector<const bench_row*>>
by_rate(const std::vector<bench_row>& rows) {
  std::map<int64_t, std::vector<const bench_row*>> result;
  for (auto& r : rows)
    result[r.rate].push_back(&r);
  return result;
}

} // namespace

std::string render_table(const bench_options& opts,
                         const std::vector<bench_row>& rows) {
  std::string out;
  out += format(
    "keepa-bench: %.1f h of virtual time per run; catalogue "
    "seed %llu, %d books, %.2f book updates/min per token/min, "
    "%.1f %% good\n",
    std::chrono::duration<double, std::ratio<3600>>(opts.duration).count(),
    static_cast<unsigned long long>(opts.sim.seed), opts.sim.products,
    opts.updates_per_token, 100 * opts.sim.good_fraction);
  for (auto& [rate, xs] : by_rate(rows)) {
    out += format("\nR = %lld tokens/min (cap %lld)\n",
                  static_cast<long long>(rate),
                  static_cast<long long>(60 * rate));
    out += format("%-16s %8s %11s %8s %5s %5s %7s %8s %5s %12s %7s %9s "
                  "%7s\n",
                  "strategy", "deals/h", "good/1k tok", "recall", "good",
                  "seen", "util", "min bal", "429", "longest idle", "idle",
                  "peek/ASIN", "wall");
    for (auto* r : xs)
      out += format(
        "%-16s %8.2f %11.2f %6.1f %% %5llu %5llu %5.1f %% %8lld "
        "%5llu %12s %5.1f %% %9.2f %5.1f s\n",
        r->strategy.c_str(), r->deals_per_hour(), r->good_per_1000_tokens(),
        100 * r->recall(), static_cast<unsigned long long>(r->good_committed),
        static_cast<unsigned long long>(r->good_seen), 100 * r->utilisation(),
        static_cast<long long>(r->min_balance),
        static_cast<unsigned long long>(r->http_429),
        span_text(r->longest_idle).c_str(),
        r->hours > 0 ? 100 * seconds(r->idle_total) / (3600 * r->hours) : 0.0,
        r->peek_tokens_per_asin(), double(r->wall.count()) / 1000);
  }
  return out;
}

std::string render_csv(const std::vector<bench_row>& rows) {
  std::string out = "rate,strategy,hours,committed,deals_per_hour,"
                    "good_seen,good_committed,good_per_1000_tokens,recall,"
                    "consumed,generated,utilisation,min_balance,http_429,"
                    "longest_idle_s,idle_total_s,peek_tokens,peeked,wall_s\n";
  for (auto& r : rows)
    out += format(
      "%lld,%s,%.3f,%llu,%.4f,%llu,%llu,%.4f,%.4f,%lld,%lld,"
      "%.4f,%lld,%llu,%.3f,%.3f,%lld,%llu,%.3f\n",
      static_cast<long long>(r.rate), r.strategy.c_str(), r.hours,
      static_cast<unsigned long long>(r.committed), r.deals_per_hour(),
      static_cast<unsigned long long>(r.good_seen),
      static_cast<unsigned long long>(r.good_committed),
      r.good_per_1000_tokens(), r.recall(), static_cast<long long>(r.consumed),
      static_cast<long long>(r.generated), r.utilisation(),
      static_cast<long long>(r.min_balance),
      static_cast<unsigned long long>(r.http_429), seconds(r.longest_idle),
      seconds(r.idle_total), static_cast<long long>(r.peek_tokens),
      static_cast<unsigned long long>(r.peeked), double(r.wall.count()) / 1000);
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
  for (auto& [rate, xs] : by_rate(rows)) {
    auto base = prefix + "-R" + std::to_string(rate);
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
