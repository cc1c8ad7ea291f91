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
  auto query = [&](bool history) {
    std::multimap<std::string, std::string> q{{"key", o.key},
                                               {"domain", "1"},
                                               {"stats", "365"},
                                               {"asin", asins}};
    if (!history)
      q.emplace("history", "0");
    return q;
  };
  auto path = [&](bool history) {
    return "/product?key=" + o.key + "&domain=1&stats=365"
           + (history ? "" : "&history=0") + "&asin=" + asins;
  };
  keepa::sim::server srv{m, keepa::sim::server_options{}};
  auto port = srv.bind();
  if (port <= 0) {
    std::fprintf(stderr, "sim-bench: cannot bind\n");
    return 1;
  }
  std::thread runner{[&] { srv.run(); }};
  httplib::Client c{"127.0.0.1", port};
  c.set_read_timeout(30);
  c.set_keep_alive(true);
  std::printf("sim-bench: 100-ASIN /product?stats=365, %d rounds each\n",
              rounds);
  int failures = 0;
  for (bool history : {true, false}) {
    keepa::sim::request req{"GET", "/product", query(history), ""};
    // Warm up both paths.
    m.handle(req, wall_ms());
    c.Get(path(history).c_str());
    size_t plain_size = 0;
    auto start = clock_type::now();
    for (int i = 0; i < rounds; ++i)
      plain_size = m.handle(req, wall_ms()).body.size();
    auto direct = rounds / seconds_since(start);
    c.set_decompress(false);
    start = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
      auto r = c.Get(path(history).c_str());
      failures += r && r->status == 200 ? 0 : 1;
    }
    auto http = rounds / seconds_since(start);
    size_t gz_size = 0;
    start = clock_type::now();
    for (int i = 0; i < rounds; ++i) {
      auto r = c.Get(path(history).c_str(), {{"Accept-Encoding", "gzip"}});
      failures += r && r->status == 200 ? 0 : 1;
      if (r)
        gz_size = r->body.size();
    }
    auto http_gz = rounds / seconds_since(start);
    // Four clients at once (the model serializes; I/O overlaps).
    std::atomic<int> parallel_failures{0};
    start = clock_type::now();
    std::vector<std::thread> clients;
    for (int k = 0; k < 4; ++k)
      clients.emplace_back([&] {
        httplib::Client ck{"127.0.0.1", port};
        ck.set_read_timeout(30);
        ck.set_keep_alive(true);
        ck.set_decompress(false);
        for (int i = 0; i < rounds / 4; ++i) {
          auto r = ck.Get(path(history).c_str());
          if (!r || r->status != 200)
            ++parallel_failures;
        }
      });
    for (auto& t : clients)
      t.join();
    auto http4 = (rounds / 4 * 4) / seconds_since(start);
    failures += parallel_failures;
    auto label = history ? "history=1" : "history=0";
    std::printf("  %s: answer %zu bytes plain, %zu bytes gzip (%.1f %%)\n",
                label, plain_size, gz_size, 100.0 * gz_size / plain_size);
    std::printf("  %s: model::handle %.1f req/s (baseline)\n", label, direct);
    std::printf("  %s: HTTP plain    %.1f req/s = %.3f x baseline\n", label,
                http, http / direct);
    std::printf("  %s: HTTP gzip     %.1f req/s = %.3f x baseline\n", label,
                http_gz, http_gz / direct);
    std::printf("  %s: HTTP plain, 4 clients %.1f req/s = %.3f x baseline\n",
                label, http4, http4 / direct);
  }
  srv.stop();
  runner.join();
  if (failures > 0) {
    std::printf("sim-bench: %d failed requests\n", failures);
    return 1;
  }
  return 0;
}
