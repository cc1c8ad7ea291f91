// keepa-sim figures (label `bench`): requests per second the HTTP face
// sustains on loopback for a 100-ASIN /product call, as a ratio against
// the same request answered by model::handle directly in the same run, and
// the size of such an answer with and without history (plain and gzip).

#include <atomic>
#include <chrono>
#include <cstdio>
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
  std::printf("  %s: answer %zu bytes plain, %zu bytes gzip (%.1f %%)\n", label,
              plain_size, gz_size, 100.0 * gz_size / plain_size);
  std::printf("  %s: model::handle %.1f req/s (baseline)\n", label, direct);
  std::printf("  %s: HTTP plain    %.1f req/s = %.3f x baseline\n", label, http,
              http / direct);
  std::printf("  %s: HTTP gzip     %.1f req/s = %.3f x baseline\n", label,
              http_gz, http_gz / direct);
  std::printf("  %s: HTTP plain, 4 clients %.1f req/s = %.3f x baseline\n",
              label, http4, http4 / direct);
  return failures;
}

} // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
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
  srv.stop();
  runner.join();
  if (failures > 0) {
    std::printf("sim-bench: %d failed requests\n", failures);
    return 1;
  }
  return 0;
}
