// keepa-sim's HTTP face: serves a model over cpp-httplib on 127.0.0.1 and
// realizes the model's latency, timeouts, resets and gzip.

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include "tools/keepa-sim/model.hpp"

namespace httplib {
class Server;
} // namespace httplib

namespace keepa::sim {

struct server_options {
  /// 0 picks a free port.
  int port = 0;
  /// Worker threads (held timeouts occupy one each).
  int threads = 16;
  /// Largest request body accepted (bigger ones get 413).
  size_t max_payload = 1 << 20;
  /// zlib level of gzip answers (1 fastest .. 9 smallest).
  int gzip_level = 1;
};

/// `in` as one gzip member at zlib `level` (1 fastest .. 9 smallest).
std::string gzip(const std::string& in, int level);

class server {
public:
  server(model& m, server_options opts);
  ~server();

  /// Binds 127.0.0.1; returns the port or -1.
  int bind();

  /// Serves until stop(); returns false if the listener failed.
  bool run();

  /// Stops serving; wakes held requests. Safe from any thread.
  void stop();

  /// Whether the listener runs (tests poll this before stopping).
  bool running() const;

  /// Requests served so far (answered or not).
  uint64_t served() const {
    return served_;
  }

private:
  /// Waits up to `ms`; returns false when stopping.
  bool hold(int64_t ms);

  model& model_;
  server_options opts_;
  std::unique_ptr<httplib::Server> http_;
  std::mutex model_mtx_;
  std::mutex stop_mtx_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> served_{0};
};

} // namespace keepa::sim
