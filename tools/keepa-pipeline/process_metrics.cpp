#include "tools/keepa-pipeline/process_metrics.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "config/version.hpp"

namespace keepa {

namespace {

/// The fields of /proc/self/stat after the command name, numbered as in
/// proc(5) (field 3, the state, at index 0).
std::vector<std::string> stat_fields() {
  std::ifstream in{"/proc/self/stat"};
  std::string line;
  std::getline(in, line);
  std::vector<std::string> result;
  // The command name (field 2) may hold spaces and parentheses; it ends at
  // the last ')'.
  auto end = line.rfind(')');
  if (end == std::string::npos)
    return result;
  std::istringstream rest{line.substr(end + 1)};
  for (std::string x; rest >> x;)
    result.push_back(x);
  return result;
}

/// Field `n` (proc(5) numbering) of `xs` as a number, or -1.
double field(const std::vector<std::string>& xs, size_t n) {
  if (n < 3 || n - 3 >= xs.size())
    return -1;
  return std::stod(xs[n - 3]);
}

/// The boot time in Unix seconds (btime of /proc/stat), or -1.
double boot_time() {
  std::ifstream in{"/proc/stat"};
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double x = -1;
      in >> x;
      return x;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return -1;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator i{"/proc/self/fd", ec}, end;
       !ec && i != end; i.increment(ec))
    ++n;
  // The directory iterator holds one descriptor of its own.
  return ec ? -1 : n - 1;
}

void gauge(prometheus::Registry& reg, const char* name, const char* help,
           double x) {
  if (x >= 0)
    prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({}).Set(x);
}

} // namespace

void add_process_metrics(prometheus::Registry& reg) {
  auto xs = stat_fields();
  auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  auto utime = field(xs, 14);
  auto stime = field(xs, 15);
  if (utime >= 0 && stime >= 0 && ticks > 0)
    prometheus::BuildCounter()
      .Name("process_cpu_seconds_total")
      .Help("Total user and system CPU time spent in seconds.")
      .Register(reg)
      .Add({})
      .Increment((utime + stime) / ticks);
  auto vsize = field(xs, 23);
  gauge(reg, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
        vsize);
  auto rss = field(xs, 24);
  gauge(reg, "process_resident_memory_bytes", "Resident memory size in bytes.",
        rss >= 0 ? rss * page : -1);
  auto start = field(xs, 22);
  auto boot = boot_time();
  gauge(reg, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        start >= 0 && boot >= 0 && ticks > 0 ? boot + start / ticks : -1);
  gauge(reg, "process_open_fds", "Number of open file descriptors.",
        open_fds());
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    gauge(reg, "process_max_fds", "Maximum number of open file descriptors.",
          static_cast<double>(lim.rlim_cur));
  prometheus::BuildGauge()
    .Name("keepa_build_info")
    .Help("Always 1; the labels name the version and git commit this "
          "keepa-pipeline was built from.")
    .Register(reg)
    .Add({{"version", version::number},
          {"commit", *version::commit ? version::commit : "unknown"}})
    .Set(1);
}

} // namespace keepa
