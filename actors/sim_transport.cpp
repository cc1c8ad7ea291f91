// The in-process transport: keepa-sim's model on the actor clock. It
// realizes what the HTTP server would: latency, timeouts (the server holds
// the request, the client gives up at its own timeout or sees the close),
// resets, and the size limit.

#include "actors/keepa_transport.hpp"

#include <cctype>

#include "messages/keepa.hpp"
#include "tools/keepa-sim/model.hpp"

namespace keepa {

transport::~transport() = default;

namespace {

const char hex_digits[] = "0123456789ABCDEF";

void percent_encode(std::string& out, const std::string& in) {
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'
        || c == ',') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xF];
    }
  }
}

class sim_transport final : public transport {
public:
  sim_transport(std::shared_ptr<sim::model> m,
                std::function<int64_t()> now_unix_ms, std::string key,
                transport_options opts, delayed_sink sink)
    : model_(std::move(m)),
      now_(std::move(now_unix_ms)),
      key_(std::move(key)),
      opts_(std::move(opts)),
      sink_(std::move(sink)) {
    // nop
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
        caf::timespan hold = std::chrono::milliseconds{
          model_->opts().timeout_hold_ms};
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
  delayed_sink sink_;
};

} // namespace

std::string render_target(const http_request& req) {
  std::string result = req.path;
  char sep = '?';
  for (auto& kvp : req.query) {
    result += sep;
    sep = '&';
    percent_encode(result, kvp.first);
    result += '=';
    percent_encode(result, kvp.second);
  }
  return result;
}

std::unique_ptr<transport>
make_sim_transport(std::shared_ptr<sim::model> m,
                   std::function<int64_t()> now_unix_ms, std::string key,
                   transport_options opts, delayed_sink sink) {
  return std::make_unique<sim_transport>(std::move(m), std::move(now_unix_ms),
                                         std::move(key), std::move(opts),
                                         std::move(sink));
}

} // namespace keepa
