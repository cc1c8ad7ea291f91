// keepa-sim: a faithful Keepa API simulator on 127.0.0.1.
//
// Prints `listening on 127.0.0.1:PORT` as its first stdout line, serves
// until SIGINT/SIGTERM, then exits 0. The key (--key, --key-file or
// KEEPA_SIM_KEY) is never printed.

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <string>
#include <thread>

#include "tools/keepa-sim/model.hpp"
#include "tools/keepa-sim/server.hpp"

namespace {

const char* usage = R"(usage: keepa-sim [options]
  --port P              listen on 127.0.0.1:P (0 = a free port, printed)
  --key KEY             the one accepted key (else --key-file, else env
  --key-file FILE       KEEPA_SIM_KEY, else "sim-key")
  --refill-rate R       tokens per minute (5)
  --initial-tokens N    starting balance (-1 = full, 60 x R)
  --lockout-floor N     refuse requests that would go below N (off)
  --seed S              catalogue, feed and fault seed (1)
  --products N          catalogue size (5000)
  --peek-fraction F     share passing a peek-style filter (0.15)
  --good-fraction F     share of good deals (0.03)
  --update-rate U       product updates per minute (4)
  --latency-ms MS       answer latency (0)
  --rate-5xx F  --rate-timeout F  --rate-reset F  --rate-malformed F
  --rate-truncated F  --rate-429-storm F  --storm-length N
  --rate-offers-fail F  share of products whose offer fetch fails
  --timeout-hold-ms MS  how long a timed-out request is held (30000)
  --threads N           HTTP worker threads (16)
  --export-truth FILE   write the good-deal ASINs (at start and at exit)
  --strict              reject numeric strings and unknown parameters
)";

bool read_key_file(const std::string& path, std::string& key) {
  std::ifstream in{path};
  if (!in || !std::getline(in, key))
    return false;
  while (!key.empty() && (key.back() == '\r' || key.back() == ' '))
    key.pop_back();
  return !key.empty();
}

} // namespace

int main(int argc, char** argv) {
  keepa::sim::options opts;
  keepa::sim::server_options sopts;
  std::string truth;
  std::string key;
  std::string key_file;
  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      std::string value;
      auto eq = arg.find('=');
      bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      auto next = [&]() -> std::string {
        if (inline_value)
          return value;
        if (i + 1 >= argc)
          throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      auto num = [&]() { return std::stoll(next()); };
      auto real = [&]() { return std::stod(next()); };
      if (arg == "--help" || arg == "-h") {
        std::cout << usage;
        return 0;
      } else if (arg == "--port") {
        sopts.port = static_cast<int>(num());
      } else if (arg == "--key") {
        key = next();
      } else if (arg == "--key-file") {
        key_file = next();
      } else if (arg == "--refill-rate") {
        opts.refill_rate = num();
      } else if (arg == "--initial-tokens") {
        opts.initial_tokens = num();
      } else if (arg == "--lockout-floor") {
        opts.lockout_floor = num();
      } else if (arg == "--seed") {
        opts.seed = static_cast<uint64_t>(num());
      } else if (arg == "--products") {
        opts.products = static_cast<int>(num());
      } else if (arg == "--peek-fraction") {
        opts.peek_pass_fraction = real();
      } else if (arg == "--good-fraction") {
        opts.good_fraction = real();
      } else if (arg == "--update-rate") {
        opts.update_rate = real();
      } else if (arg == "--latency-ms") {
        opts.latency_ms = num();
      } else if (arg == "--rate-5xx") {
        opts.rate_5xx = real();
      } else if (arg == "--rate-timeout") {
        opts.rate_timeout = real();
      } else if (arg == "--rate-reset") {
        opts.rate_reset = real();
      } else if (arg == "--rate-malformed") {
        opts.rate_malformed = real();
      } else if (arg == "--rate-truncated") {
        opts.rate_truncated = real();
      } else if (arg == "--rate-offers-fail") {
        opts.rate_offers_fail = real();
      } else if (arg == "--rate-429-storm") {
        opts.rate_429_storm = real();
      } else if (arg == "--storm-length") {
        opts.storm_length = static_cast<int>(num());
      } else if (arg == "--timeout-hold-ms") {
        opts.timeout_hold_ms = num();
      } else if (arg == "--threads") {
        sopts.threads = static_cast<int>(num());
      } else if (arg == "--export-truth") {
        truth = next();
      } else if (arg == "--strict") {
        opts.strict = true;
      } else {
        throw std::invalid_argument("unknown option " + arg);
      }
    }
    if (sopts.port < 0 || sopts.port > 65535 || opts.refill_rate < 0
        || opts.products < 0 || sopts.threads < 1 || opts.latency_ms < 0
        || opts.timeout_hold_ms < 0 || opts.update_rate < 0)
      throw std::invalid_argument("option out of range");
  } catch (const std::exception& e) {
    std::cerr << "keepa-sim: " << e.what() << "\n" << usage;
    return 2;
  }
  if (!key.empty()) {
    opts.key = key;
  } else if (!key_file.empty()) {
    if (!read_key_file(key_file, opts.key)) {
      std::cerr << "keepa-sim: cannot read a key from " << key_file << "\n";
      return 2;
    }
  } else if (auto env = std::getenv("KEEPA_SIM_KEY"); env && *env) {
    opts.key = env;
  }
  try {
    keepa::sim::model m{opts};
    if (!truth.empty())
      m.export_truth(truth);
    keepa::sim::server srv{m, sopts};
    auto port = srv.bind();
    if (port <= 0) {
      std::cerr << "keepa-sim: cannot bind 127.0.0.1:" << sopts.port << "\n";
      return 1;
    }
    std::cout << "listening on 127.0.0.1:" << port << std::endl;
    std::thread waiter{[&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      srv.stop();
    }};
    bool ok = srv.run();
    // If the listener ended on its own, release the waiter.
    if (!ok)
      kill(getpid(), SIGTERM);
    waiter.join();
    if (!truth.empty())
      m.export_truth(truth);
    std::cerr << "keepa-sim: stopped after " << srv.served()
              << " requests\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "keepa-sim: " << e.what() << "\n";
    return 1;
  }
}
