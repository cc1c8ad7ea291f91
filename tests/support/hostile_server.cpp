#include "tests/support/hostile_server.hpp"

#include <stdexcept>

#include <httplib.h>

namespace keepa::test {

hostile_server::hostile_server(script answer)
  : script_(std::move(answer)), http_(std::make_unique<httplib::Server>()) {
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    seen_request r{req.method, req.path};
    int64_t n = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      n = static_cast<int64_t>(seen_.size());
      seen_.push_back(r);
    }
    auto a = script_(r, n);
    res.status = a.status;
    res.set_content(std::move(a.body), "application/json");
    ++served_;
  };
  http_->Get(".*", handle);
  http_->Post(".*", handle);
  port_ = http_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0)
    throw std::runtime_error("hostile_server: cannot bind a loopback port");
  runner_ = std::thread{[this] { http_->listen_after_bind(); }};
  // Bounded: the socket is bound already, so connections queue meanwhile.
  for (int i = 0; i < 100000 && !http_->is_running(); ++i)
    std::this_thread::yield();
}

hostile_server::~hostile_server() {
  http_->stop();
  runner_.join();
}

std::string hostile_server::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<seen_request> hostile_server::seen() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return seen_;
}

std::string envelope_json(int64_t timestamp_ms, int64_t tokens_left,
                          int64_t refill_in_ms, int64_t refill_rate,
                          int64_t tokens_consumed, double flow_reduction) {
  return R"("timestamp":)" + std::to_string(timestamp_ms) + R"(,"tokensLeft":)"
    + std::to_string(tokens_left) + R"(,"refillIn":)"
    + std::to_string(refill_in_ms) + R"(,"refillRate":)"
    + std::to_string(refill_rate) + R"(,"tokenFlowReduction":)"
    + std::to_string(flow_reduction) + R"(,"tokensConsumed":)"
    + std::to_string(tokens_consumed) + R"(,"processingTimeInMs":1)";
}

int64_t wall_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// -- pumped_curl --------------------------------------------------------------

struct pumped_curl::shared {
  std::mutex mtx;
  std::condition_variable cv;
  /// Finished transfers with their client's own delivery (CAF anon_send),
  /// which the test thread calls.
  std::deque<std::pair<std::shared_ptr<transfer_sink>, transfer_result>> done;
  int64_t submitted = 0;
  int64_t delivered = 0;
};

namespace {

/// Counts submissions, then hands them to the real transport.
class counting_transport : public transport {
public:
  counting_transport(std::unique_ptr<transport> inner,
                     std::function<void()> on_submit)
    : inner_(std::move(inner)), on_submit_(std::move(on_submit)) {}

  void submit(uint64_t transfer_id, http_request req) override {
    on_submit_();
    inner_->submit(transfer_id, std::move(req));
  }

  int64_t unix_ms() const override {
    return inner_->unix_ms();
  }

private:
  std::unique_ptr<transport> inner_;
  std::function<void()> on_submit_;
};

} // namespace

pumped_curl::pumped_curl() : state_(std::make_shared<shared>()) {}

transport_factory pumped_curl::factory(std::string endpoint) {
  return [st{state_}, endpoint](transport_env env) {
    auto deliver = std::make_shared<transfer_sink>(std::move(env.deliver));
    auto sink = [st, deliver](transfer_result res) {
      std::lock_guard<std::mutex> guard{st->mtx};
      st->done.emplace_back(deliver, std::move(res));
      st->cv.notify_all();
    };
    auto curl = make_curl_transport(endpoint, std::move(env.key),
                                    std::move(env.opts), std::move(sink));
    return std::make_unique<counting_transport>(std::move(curl), [st] {
      std::lock_guard<std::mutex> guard{st->mtx};
      ++st->submitted;
    });
  };
}

int64_t pumped_curl::pending() const {
  std::lock_guard<std::mutex> guard{state_->mtx};
  return state_->submitted - state_->delivered;
}

bool pumped_curl::pump_one(std::chrono::milliseconds limit) {
  std::pair<std::shared_ptr<transfer_sink>, transfer_result> next;
  {
    std::unique_lock<std::mutex> guard{state_->mtx};
    if (!state_->cv.wait_for(guard, limit,
                             [&] { return !state_->done.empty(); }))
      return false;
    next = std::move(state_->done.front());
    state_->done.pop_front();
    ++state_->delivered;
  }
  (*next.first)(std::move(next.second));
  return true;
}

} // namespace keepa::test
