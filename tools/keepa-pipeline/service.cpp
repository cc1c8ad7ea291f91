#include "tools/keepa-pipeline/service.hpp"

#include <chrono>
#include <thread>

#include <httplib.h>
#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include "actors/pipeline/pipeline.hpp"

namespace keepa {

namespace {

constexpr const char* prometheus_type = "text/plain; version=0.0.4";

std::string endpoint(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

} // namespace

introspection_options introspection_options_from(const caf::settings& content) {
  introspection_options o;
  o.host = caf::get_or(content, "keepa.introspection.host",
                       std::string{defaults::introspection::host});
  o.port = caf::get_or(content, "keepa.introspection.port",
                       defaults::introspection::port);
  o.publish = o.port != 0;
  o.http_host = caf::get_or(content, "keepa.http.host",
                            std::string{defaults::http::host});
  o.http_port = caf::get_or(content, "keepa.http.port", defaults::http::port);
  o.serve_http = o.http_port != 0;
  return o;
}

struct introspection_service::impl {
  caf::actor_system& sys;
  pipeline_directory dir;
  storage_actor storage;
  introspection_options opts;
  log_sink log;
  introspection_actor actor;
  uint16_t port = 0;
  uint16_t http_port = 0;
  httplib::Server http;
  std::thread http_thread;
  bool stopped = false;

  impl(caf::actor_system& sys, pipeline_directory d, storage_actor st,
       introspection_options o, log_sink l)
    : sys(sys),
      dir(std::move(d)),
      storage(std::move(st)),
      opts(std::move(o)),
      log(std::move(l)) {
    // nop
  }

  void say(const std::string& line) {
    if (log)
      log(line);
  }

  pipeline_report report(report_scope scope = report_scope::full) {
    caf::scoped_actor self{sys};
    return collect_report(self, dir, actor, opts.ask_timeout, scope);
  }

  void publish() {
    actor = spawn_introspection(sys, dir, storage);
    if (!opts.publish)
      return;
    auto bound = sys.middleman().publish(actor, opts.port, opts.host.c_str());
    if (!bound) {
      say("keepa-pipeline: introspection: cannot listen on "
          + endpoint(opts.host, opts.port) + " (" + sys.render(bound.error())
          + "); keepa-status will not reach this process, the pipeline "
            "runs on (--keepa.introspection.port=N picks another port, 0 "
            "turns it off)");
      return;
    }
    port = *bound;
    say("keepa-pipeline: introspection on " + endpoint(opts.host, port)
        + " (keepa-status --host=" + opts.host
        + " --port=" + std::to_string(port) + ")");
  }

  void serve() {
    if (!opts.serve_http)
      return;
    http.Get("/status",
             [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(to_json(report()) + "\n", "application/json");
             });
    http.Get("/metrics",
             [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(to_metrics(report()), prometheus_type);
             });
    // httplib's default sets SO_REUSEPORT: a second keepa-pipeline would
    // then share the port silently. SO_REUSEADDR alone still allows a quick
    // restart (TIME_WAIT) but refuses a port someone listens on.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR,
                   reinterpret_cast<const void*>(&yes), sizeof(yes));
    });
    int bound = -1;
    if (opts.http_port == 0)
      bound = http.bind_to_any_port(opts.http_host);
    else if (http.bind_to_port(opts.http_host, opts.http_port))
      bound = opts.http_port;
    if (bound <= 0) {
      say("keepa-pipeline: http: cannot listen on "
          + endpoint(opts.http_host, opts.http_port)
          + " (address in use or not available); /status and /metrics are "
            "off, the pipeline runs on (--keepa.http.port=N picks another "
            "port, 0 turns it off)");
      return;
    }
    http_port = static_cast<uint16_t>(bound);
    http_thread = std::thread{[this] { http.listen_after_bind(); }};
    // stop() only ends a server that runs; wait (bounded) until it does.
    for (int i = 0; i < 500 && !http.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    say("keepa-pipeline: http on " + endpoint(opts.http_host, http_port)
        + " (/status, /metrics)");
  }

  void stop() {
    if (stopped)
      return;
    stopped = true;
    if (http_thread.joinable()) {
      http.stop();
      http_thread.join();
    }
    if (port != 0)
      sys.middleman().unpublish(actor, port);
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
};

introspection_service::introspection_service(caf::actor_system& sys,
                                             const pipeline_handles& h,
                                             introspection_options opts,
                                             log_sink log)
  : impl_(std::make_unique<impl>(sys, directory_of(h), h.storage,
                                 std::move(opts), std::move(log))) {
  impl_->publish();
  impl_->serve();
}

introspection_service::~introspection_service() {
  impl_->stop();
}

uint16_t introspection_service::port() const {
  return impl_->port;
}

uint16_t introspection_service::http_port() const {
  return impl_->http_port;
}

const introspection_actor& introspection_service::actor() const {
  return impl_->actor;
}

pipeline_report introspection_service::report(report_scope scope) const {
  return impl_->report(scope);
}

void introspection_service::stop() {
  impl_->stop();
}

} // namespace keepa
