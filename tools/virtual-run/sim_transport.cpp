#include "tools/virtual-run/sim_transport.hpp"

#include <chrono>

#include "messages/keepa.hpp"

namespace keepa {

namespace {

class sim_transport final : public transport {
public:
  sim_transport(std::shared_ptr<sim::model> m,
                std::function<int64_t()> now_unix_ms, std::string key,
                transport_options opts,
                std::function<void(caf::timespan, transfer_result)> sink)
    : model_(std::move(m)),
      now_(std::move(now_unix_ms)),
      key_(std::move(key)),
      opts_(std::move(opts)),
      sink_(std::move(sink)) {
    // nop
  }

  /// The model's clock: its answers' times are judged against it.
  int64_t unix_ms() const override {
    return now_();
  }

  void submit(uint64_t transfer_id, http_request req) override {
    sim::request sreq;
    sreq.method = req.method;
    sreq.path = req.path;
    for (auto& kvp : req.query)
      sreq.query.emplace(kvp.first, kvp.second);
    sreq.query.emplace("key", key_);
    sreq.body = std::move(req.body);
    auto ans = model_->handle(sreq, now_());
    transfer_result res;
    res.transfer_id = transfer_id;
    auto timeout = opts_.timeout;
    caf::timespan delay = std::chrono::milliseconds{ans.latency_ms};
    switch (ans.transport) {
      case sim::fault::timeout: {
        // The server holds the request, then closes the connection.
        caf::timespan hold
          = std::chrono::milliseconds{model_->opts().timeout_hold_ms};
        if (hold < timeout) {
          res.failure = transfer_failure::reset;
          res.detail = "Server returned nothing (no headers, no data)";
          delay = hold;
        } else {
          res.failure = transfer_failure::timeout;
          res.detail = "Timeout was reached";
          delay = timeout;
        }
        break;
      }
      case sim::fault::reset:
        res.failure = transfer_failure::reset;
        res.detail = "Server returned nothing (no headers, no data)";
        break;
      case sim::fault::none:
        if (delay > timeout) {
          res.failure = transfer_failure::timeout;
          res.detail = "Timeout was reached";
          delay = timeout;
        } else if (ans.body.size() > opts_.max_answer_bytes) {
          res.failure = transfer_failure::too_large;
          res.detail = "answer larger than "
            + std::to_string(opts_.max_answer_bytes) + " bytes";
        } else {
          res.http_status = ans.status;
          res.body = std::move(ans.body);
        }
        break;
    }
    sink_(delay, std::move(res));
  }

private:
  std::shared_ptr<sim::model> model_;
  std::function<int64_t()> now_;
  std::string key_;
  transport_options opts_;
  std::function<void(caf::timespan, transfer_result)> sink_;
};

} // namespace

transport_factory sim_transport_factory(std::shared_ptr<sim::model> m,
                                        int64_t start_unix_ms) {
  return [m{std::move(m)}, start_unix_ms](transport_env env) {
    // The model's clock: `start_unix_ms` when the client starts, then the
    // client's actor clock.
    auto t0 = env.now();
    auto now = env.now;
    auto now_unix_ms = [now, t0, start_unix_ms] {
      return start_unix_ms
        + std::chrono::duration_cast<std::chrono::milliseconds>(now() - t0)
            .count();
    };
    return std::unique_ptr<transport>{
      new sim_transport(m, now_unix_ms, std::move(env.key), std::move(env.opts),
                        std::move(env.deliver_after))};
  };
}

} // namespace keepa
