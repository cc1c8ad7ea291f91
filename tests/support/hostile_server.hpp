// A hostile Keepa for the KEEPA CLIENT tests: a tiny HTTP server on
// 127.0.0.1 (cpp-httplib) that answers every request with whatever its
// script says (status and body), and counts what it served. With
// `pumped_curl`, the client's real libcurl transport talks to it while the
// actors run on the test coordinator's virtual time.

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/client/transport.hpp"
#include "messages/keepa.hpp"

namespace httplib {
class Server;
} // namespace httplib

namespace keepa::test {

/// One scripted answer.
struct scripted_answer {
  int status = 200;
  std::string body;
};

/// What the server saw of one request.
struct seen_request {
  std::string method;
  /// The path without the query ("/deal", "/token", ...).
  std::string path;
};

class hostile_server {
public:
  /// Called on the server's threads for the n-th request (from 0).
  using script = std::function<scripted_answer(const seen_request&, int64_t n)>;

  /// Binds a free loopback port and serves `answer` until destroyed.
  explicit hostile_server(script answer);

  ~hostile_server();

  hostile_server(const hostile_server&) = delete;
  hostile_server& operator=(const hostile_server&) = delete;

  /// "http://127.0.0.1:PORT".
  std::string endpoint() const;

  /// Requests answered so far.
  int64_t served() const {
    return served_;
  }

  /// The requests answered so far, in order.
  std::vector<seen_request> seen() const;

private:
  script script_;
  std::unique_ptr<httplib::Server> http_;
  std::thread runner_;
  int port_ = -1;
  std::atomic<int64_t> served_{0};
  mutable std::mutex mtx_;
  std::vector<seen_request> seen_;
};

/// The envelope fields of an answer, as JSON members without braces.
std::string envelope_json(int64_t timestamp_ms, int64_t tokens_left,
                          int64_t refill_in_ms, int64_t refill_rate,
                          int64_t tokens_consumed, double flow_reduction = 0);

/// The wall clock in Unix milliseconds (what Keepa's timestamps follow).
int64_t wall_unix_ms();

/// The real libcurl transport for a KEEPA CLIENT on the test coordinator:
/// finished transfers wait here until the test thread hands them to the
/// client (`pump`), so the bytes go over loopback while the actors stay on
/// virtual time and single-threaded.
class pumped_curl {
public:
  pumped_curl();

  /// The factory for client_config::make_transport.
  transport_factory factory(std::string endpoint);

  /// Transfers submitted and not yet handed to the client.
  int64_t pending() const;

  /// Waits up to `limit` of wall time for one finished transfer and hands
  /// it to the client (call sched.run() afterwards). False on timeout.
  bool pump_one(std::chrono::milliseconds limit = std::chrono::seconds{30});

private:
  struct shared;
  std::shared_ptr<shared> state_;
};

} // namespace keepa::test
