#include "tools/keepa-sim/server.hpp"

#include <chrono>

#include <httplib.h>

namespace keepa::sim {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace

server::server(model& m, server_options opts)
  : model_(m), opts_(opts), http_(std::make_unique<httplib::Server>()) {
  auto threads = opts_.threads;
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http_->set_payload_max_length(opts_.max_payload);
  http_->set_keep_alive_max_count(100);
  auto handler = [this](const httplib::Request& hreq, httplib::Response& res) {
    ++served_;
    request req;
    req.method = hreq.method;
    req.path = hreq.path;
    for (auto& [k, v] : hreq.params)
      req.query.emplace(k, v);
    req.body = hreq.body;
    answer a;
    {
      std::lock_guard<std::mutex> guard{model_mtx_};
      a = model_.handle(req, wall_ms());
    }
    if (a.latency_ms > 0 && !hold(a.latency_ms))
      a.transport = fault::reset;
    if (a.transport != fault::none) {
      // Headers promise a body that never comes: the client sees the
      // connection close mid-answer.
      res.set_content_provider(1024, "application/json",
                               [](size_t, size_t, httplib::DataSink&) {
                                 return false;
                               });
      return;
    }
    res.status = a.status;
    res.set_content(a.body, "application/json");
  };
  http_->Get(".*", handler);
  http_->Post(".*", handler);
  http_->Put(".*", handler);
  http_->Delete(".*", handler);
  http_->Patch(".*", handler);
}

server::~server() {
  stop();
}

int server::bind() {
  if (opts_.port == 0)
    return http_->bind_to_any_port("127.0.0.1");
  return http_->bind_to_port("127.0.0.1", opts_.port) ? opts_.port : -1;
}

bool server::run() {
  if (stopping_)
    return true;
  return http_->listen_after_bind();
}

bool server::running() const {
  return http_->is_running();
}

void server::stop() {
  {
    std::lock_guard<std::mutex> guard{stop_mtx_};
    stopping_ = true;
  }
  stop_cv_.notify_all();
  http_->stop();
}

bool server::hold(int64_t ms) {
  std::unique_lock<std::mutex> guard{stop_mtx_};
  return !stop_cv_.wait_for(guard, std::chrono::milliseconds{ms},
                            [this] { return stopping_.load(); });
}

} // namespace keepa::sim
