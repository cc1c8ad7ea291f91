// keepa-sim figures (label `bench`): requests per second the HTTP face
// sustains on loopback for a 100-ASIN /product call, as a ratio against
// the same request answered by model::handle directly in the same run, and
// the size of such an answer with and without history (plain and gzip);
// then the same /product request driven by a standard load tool, wrk
// (Debian's `wrk`, installed by tools/setup.sh; skipped when absent), on
// kept-alive connections, plain and gzip, with gzip as a ratio of plain.
//
//   keepa-sim-bench [ROUNDS=200] [WRK_SECONDS=3]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "tools/keepa-sim/model.hpp"
#include "tools/keepa-sim/server.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The 100-ASIN /product request of the figures, for model::handle and
/// as an HTTP target.
struct product_request {
  std::string key;
  std::string asins;
  bool history;

  keepa::sim::request direct() const {
    std::multimap<std::string, std::string> q{
      {"key", key}, {"domain", "1"}, {"stats", "365"}, {"asin", asins}};
    if (!history)
      q.emplace("history", "0");
    return {"GET", "/product", q, ""};
  }

  std::string target() const {
    return "/product?key=" + key + "&domain=1&stats=365"
      + (history ? "" : "&history=0") + "&asin=" + asins;
  }
};

/// Requests per second of `clients` HTTP clients at once, `rounds` in all
/// (the model serializes; I/O overlaps); counts the failures.
double http_rate(int port, const std::string& target, int rounds, int clients,
                 bool gzip, size_t& body_size, int& failures) {
  std::atomic<int> failed{0};
  std::atomic<size_t> size{0};
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < clients; ++k)
    threads.emplace_back([&] {
      httplib::Client c{"127.0.0.1", port};
      c.set_read_timeout(30);
      c.set_keep_alive(true);
      c.set_decompress(false);
      httplib::Headers headers;
      if (gzip)
        headers.emplace("Accept-Encoding", "gzip");
      for (int i = 0; i < rounds / clients; ++i) {
        auto r = c.Get(target.c_str(), headers);
        if (!r || r->status != 200)
          ++failed;
        else
          size = r->body.size();
      }
    });
  for (auto& t : threads)
    t.join();
  failures += failed;
  body_size = size;
  return (rounds / clients * clients) / seconds_since(start);
}

/// Prints the figures of one request; returns the failed requests.
int measure(keepa::sim::model& m, int port, const product_request& pr,
            int rounds) {
  auto req = pr.direct();
  auto target = pr.target();
  // Warm up both paths.
  m.handle(req, wall_ms());
  httplib::Client{"127.0.0.1", port}.Get(target.c_str());
  size_t plain_size = 0;
  auto start = clock_type::now();
  for (int i = 0; i < rounds; ++i)
    plain_size = m.handle(req, wall_ms()).body.size();
  auto direct = rounds / seconds_since(start);
  int failures = 0;
  size_t size = 0;
  size_t gz_size = 0;
  auto http = http_rate(port, target, rounds, 1, false, size, failures);
  auto http_gz = http_rate(port, target, rounds, 1, true, gz_size, failures);
  auto http4 = http_rate(port, target, rounds, 4, false, size, failures);
  auto label = pr.history ? "history=1" : "history=0";
  auto body = m.handle(req, wall_ms()).body;
  start = clock_type::now();
  for (int i = 0; i < rounds; ++i)
    gz_size
      = keepa::sim::gzip(body, keepa::sim::server_options{}.gzip_level).size();
  auto gzip_ms = 1000 * seconds_since(start) / rounds;
  std::printf("  %s: answer %zu bytes plain, %zu bytes gzip (%.1f %%)\n", label,
              plain_size, gz_size, 100.0 * gz_size / plain_size);
  std::printf("  %s: gzip (level %d) %.2f ms per answer\n", label,
              keepa::sim::server_options{}.gzip_level, gzip_ms);
  std::printf("  %s: model::handle %.1f req/s (baseline)\n", label, direct);
  std::printf("  %s: HTTP plain    %.1f req/s = %.3f x baseline\n", label, http,
              http / direct);
  std::printf("  %s: HTTP gzip     %.1f req/s = %.3f x baseline\n", label,
              http_gz, http_gz / direct);
  std::printf("  %s: HTTP plain, 4 clients %.1f req/s = %.3f x baseline\n",
              label, http4, http4 / direct);
  return failures;
}

/// What one wrk run measured.
struct wrk_figures {
  double rate = 0;
  double latency_ms = 0;
  /// Socket errors and answers other than 2xx/3xx.
  long failures = 0;
};

/// A duration as wrk prints it ("812.00us", "5.67ms", "1.02s") in ms.
double wrk_ms(const char* text) {
  char* end = nullptr;
  auto x = std::strtod(text, &end);
  std::string unit{end};
  if (unit.rfind("us", 0) == 0)
    return x / 1000;
  if (unit.rfind("ms", 0) == 0)
    return x;
  if (unit.rfind("s", 0) == 0)
    return x * 1000;
  if (unit.rfind("m", 0) == 0)
    return x * 60000;
  return -1;
}

/// Runs wrk on `url` with `connections` kept-alive connections for
/// `seconds`; nothing when wrk did not run or printed no rate.
std::optional<wrk_figures> run_wrk(const std::string& url, bool gzip,
                                   int connections, int seconds) {
  auto threads = std::min(connections, 2);
  auto cmd = "wrk -t" + std::to_string(threads) + " -c"
    + std::to_string(connections) + " -d" + std::to_string(seconds)
    + "s -H 'Accept-Encoding: " + (gzip ? "gzip" : "identity") + "' '" + url
    + "' 2>&1";
  auto pipe = popen(cmd.c_str(), "r");
  if (!pipe)
    return std::nullopt;
  wrk_figures f;
  bool rate_seen = false;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe)) {
    char word[64];
    long a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(line, " Requests/sec: %lf", &f.rate) == 1)
      rate_seen = true;
    else if (std::sscanf(line, " Latency %63s", word) == 1)
      f.latency_ms = wrk_ms(word);
    else if (std::sscanf(line, " Non-2xx or 3xx responses: %ld", &a) == 1)
      f.failures += a;
    else if (std::sscanf(line,
                         " Socket errors: connect %ld, read %ld, write %ld, "
                         "timeout %ld",
                         &a, &b, &c, &d)
             == 4)
      f.failures += a + b + c + d;
  }
  if (pclose(pipe) != 0 || !rate_seen)
    return std::nullopt;
  return f;
}

/// Prints wrk's figures for one request (plain and gzip on one kept-alive
/// connection, gzip on 4); returns the failed requests.
int measure_wrk(int port, const product_request& pr, int seconds) {
  auto url = "http://127.0.0.1:" + std::to_string(port) + pr.target();
  auto label = pr.history ? "history=1" : "history=0";
  auto plain = run_wrk(url, false, 1, seconds);
  auto gz = run_wrk(url, true, 1, seconds);
  auto gz4 = run_wrk(url, true, 4, seconds);
  if (!plain || !gz || !gz4) {
    std::printf("  %s: wrk failed (run: wrk -c1 -d1s '%s')\n", label,
                url.c_str());
    return 1;
  }
  std::printf("  %s: wrk plain, 1 connection  %8.1f req/s, mean latency "
              "%.2f ms (baseline)\n",
              label, plain->rate, plain->latency_ms);
  std::printf("  %s: wrk gzip,  1 connection  %8.1f req/s, mean latency "
              "%.2f ms = %.3f x plain\n",
              label, gz->rate, gz->latency_ms, gz->rate / plain->rate);
  std::printf("  %s: wrk gzip,  4 connections %8.1f req/s, mean latency "
              "%.2f ms = %.3f x plain\n",
              label, gz4->rate, gz4->latency_ms, gz4->rate / plain->rate);
  return static_cast<int>(plain->failures + gz->failures + gz4->failures);
}

} // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  int wrk_seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  keepa::sim::options o;
  o.products = 5000;
  o.refill_rate = 10000000; // never the bottleneck here
  o.update_rate = 0;
  keepa::sim::model m{o};
  std::string asins;
  auto all = m.asins();
  for (size_t i = 0; i < 100; ++i)
    asins += (i ? "," : "") + all[i * 37];
  keepa::sim::server srv{m, keepa::sim::server_options{}};
  auto port = srv.bind();
  if (port <= 0) {
    std::fprintf(stderr, "sim-bench: cannot bind\n");
    return 1;
  }
  std::thread runner{[&] { srv.run(); }};
  std::printf("sim-bench: 100-ASIN /product?stats=365, %d rounds each\n",
              rounds);
  int failures = 0;
  for (bool history : {true, false})
    failures += measure(m, port, product_request{o.key, asins, history},
                        rounds);
  if (std::system("command -v wrk > /dev/null 2>&1") != 0) {
    std::printf("sim-bench: wrk not found (tools/setup.sh installs it): "
                "skipping the wrk figures\n");
  } else {
    std::printf("sim-bench: wrk, the same /product request, kept-alive, "
                "%d s each\n",
                wrk_seconds);
    for (bool history : {false, true})
      failures += measure_wrk(port, product_request{o.key, asins, history},
                              wrk_seconds);
  }
  srv.stop();
  runner.join();
  if (failures > 0) {
    std::printf("sim-bench: %d failed requests\n", failures);
    return 1;
  }
  return 0;
}
