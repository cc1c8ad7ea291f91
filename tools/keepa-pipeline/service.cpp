#include "tools/keepa-pipeline/service.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <thread>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "actors/pipeline/pipeline.hpp"
#include "config/api_key.hpp"
#include "messages/error.hpp"
#include "tools/keepa-pipeline/health.hpp"
#include "tools/keepa-pipeline/access.hpp"
#include "tools/keepa-pipeline/dashboard.hpp"
#include "tools/keepa-pipeline/owner_files.hpp"
#include "tools/keepa-pipeline/process_metrics.hpp"
#include "tools/keepa-pipeline/tls.hpp"

namespace keepa {

namespace {

constexpr const char* prometheus_type = "text/plain; version=0.0.4";

std::string endpoint(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

/// 32 bytes from the kernel's CSPRNG, as 64 hex digits.
caf::expected<std::string> random_token() {
  unsigned char bytes[32];
  std::ifstream in{"/dev/urandom", std::ios::binary};
  if (!in.read(reinterpret_cast<char*>(bytes), sizeof(bytes)))
    return caf::make_error(ec::invalid_config, "cannot read /dev/urandom");
  static constexpr const char* hex = "0123456789abcdef";
  std::string result;
  for (auto b : bytes) {
    result += hex[b >> 4];
    result += hex[b & 0x0f];
  }
  return result;
}

// -- a bound on what one peer can make the server hold ------------------------

/// What one connection may send: the request line and headers of a GET.
/// httplib 0.11.4 bounds each line to 8 KiB but keeps any number of them
/// (measured: 160 MB of header lines took the process from 34 MB to 273 MB).
constexpr size_t max_request_bytes = 16 * 1024;

/// How long one connection may take to send its request, and each write.
constexpr auto max_request_time = std::chrono::seconds{5};

std::string address_text(const sockaddr_storage& addr, int& port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &x.sin_addr, buf, sizeof(buf));
    port = ntohs(x.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto& x = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &x.sin6_addr, buf, sizeof(buf));
    port = ntohs(x.sin6_port);
  }
  return buf;
}

/// A socket that yields at most `max_request_bytes` and fails reads after
/// `max_request_time`.
class bounded_stream : public httplib::Stream {
public:
  explicit bounded_stream(socket_t sock)
    : sock_(sock),
      left_(max_request_bytes),
      deadline_(std::chrono::steady_clock::now() + max_request_time) {
    // nop
  }

  bool is_readable() const override {
    return ready(POLLIN, deadline_);
  }

  bool is_writable() const override {
    return ready(POLLOUT, std::chrono::steady_clock::now() + max_request_time);
  }

  ssize_t read(char* ptr, size_t size) override {
    if (left_ == 0 || !is_readable())
      return -1;
    auto n = ::recv(sock_, ptr, std::min(size, left_), 0);
    if (n > 0)
      left_ -= static_cast<size_t>(n);
    return n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable())
      return -1;
    return ::send(sock_, ptr, size, MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      ip = address_text(addr, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      ip = address_text(addr, port);
  }

  socket_t socket() const override {
    return sock_;
  }

private:
  bool ready(short events, std::chrono::steady_clock::time_point until) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd pfd{sock_, events, 0};
    int rc;
    do {
      rc = ::poll(&pfd, 1, static_cast<int>(left.count()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0 && (pfd.revents & events) != 0;
  }

  socket_t sock_;
  size_t left_;
  std::chrono::steady_clock::time_point deadline_;
};

/// httplib's server with one request per connection over a bounded_stream.
class bounded_server : public httplib::Server {
private:
  bool process_and_close_socket(socket_t sock) override {
    bounded_stream strm{sock};
    bool closed = false;
    auto ok = process_request(strm, true, closed, [](httplib::Request&) {});
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
};

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
  o.token_file = caf::get_or(content, "keepa.http.token-file",
                             std::string{defaults::http::token_file});
  o.health = health_options_from(content);
  o.access_token_file
    = caf::get_or(content, "keepa.http.access-token-file",
                  std::string{defaults::http::access_token_file});
  o.storage_url = caf::get_or(content, defaults::storage::url_key,
                              std::string{defaults::storage::url});
  o.max_deals = caf::get_or(content, "keepa.max-deals", defaults::max_deals);
  return o;
}

std::string default_token_file(uint16_t port) {
  return owner_dir() + "/http-" + std::to_string(port) + ".token";
}

caf::error prepare_publication(caf::actor_system_config& cfg,
                               introspection_options& opts, const log_sink& log,
                               const std::string& tls_dir) {
  if (!opts.publish)
    return caf::none;
  if (!tls_configured(cfg)) {
    auto files = owner_tls_files(tls_dir, tls_role::server);
    if (!files) {
      if (log)
        log(log_level::warning,
            "keepa-pipeline: introspection: " + render(files.error())
              + "; INTROSPECTION is not published, the pipeline runs on "
                "(openssl.* options name other credentials)");
      opts.publish = false;
      return caf::none;
    }
    use_tls_files(cfg, *files);
  }
  if (auto err = check_tls(cfg))
    return err;
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  return caf::none;
}

caf::expected<std::string> read_token_file(const std::string& path) {
  return read_secret_file(path, "token file", ec::invalid_config);
}

caf::error prepare_http(introspection_options& opts) {
  if (!opts.serve_http)
    return caf::none;
  if (!opts.access_token_file.empty()) {
    auto token = read_access_token(opts.access_token_file);
    if (!token)
      return std::move(token.error());
    opts.access_token = std::move(*token);
  }
  if (!private_http_host(opts.http_host) && opts.access_token.empty())
    return caf::make_error(
      ec::invalid_config,
      "keepa.http.host " + opts.http_host
        + " lets others reach the dashboard, /status and /metrics: it "
          "needs keepa.http.access-token-file (a file of mode 0600 with a "
          "token of at least 16 characters); 127.0.0.1 needs none");
  return caf::none;
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
  std::string token;
  std::string token_file;
  std::unique_ptr<http_access> access;
  dashboard dash;
  bounded_server http;
  std::thread http_thread;
  bool stopped = false;

  impl(caf::actor_system& sys, pipeline_directory d, storage_actor st,
       introspection_options o, log_sink l)
    : sys(sys),
      dir(std::move(d)),
      storage(std::move(st)),
      opts(std::move(o)),
      log(std::move(l)),
      dash([this] { return report(); }, dashboard_options{opts.storage_url}) {
    // nop
  }

  void say(log_level level, const std::string& line) {
    if (log)
      log(level, line);
  }

  pipeline_report report(report_scope scope = report_scope::full) {
    caf::scoped_actor self{sys};
    auto r = collect_report(self, dir, actor, opts.ask_timeout, scope);
    r.max_deals = opts.max_deals;
    dash.observe(r);
    return r;
  }

  /// Writes a fresh token for the bound port; false (logged) on failure.
  bool issue_token() {
    auto fresh = random_token();
    if (!fresh) {
      say(log_level::error, "keepa-pipeline: http: " + render(fresh.error()));
      return false;
    }
    auto path = opts.token_file;
    if (path.empty()) {
      path = default_token_file(http_port);
      auto parent = path.substr(0, path.rfind('/'));
      if (auto err = private_directory(parent)) {
        say(log_level::error, "keepa-pipeline: http: " + render(err));
        return false;
      }
    }
    if (auto err = write_private_file(path, *fresh + "\n")) {
      say(log_level::error, "keepa-pipeline: http: " + render(err));
      return false;
    }
    auto session = random_token();
    if (!session) {
      say(log_level::error, "keepa-pipeline: http: " + render(session.error()));
      return false;
    }
    token = std::move(*fresh);
    token_file = std::move(path);
    access = std::make_unique<http_access>(
      opts.http_host, http_port,
      std::vector<std::string>{token, opts.access_token}, std::move(*session));
    return true;
  }

  /// Publishes INTROSPECTION over CAF's OpenSSL module, only with client
  /// certificates required.
  void publish() {
    auto& cfg = sys.config();
    if (!sys.has_openssl_manager()
        || !sys.openssl_manager().authentication_enabled() || check_tls(cfg)) {
      say(log_level::warning,
          "keepa-pipeline: introspection: not published: it needs CAF's "
          "OpenSSL module with openssl.certificate, openssl.key and "
          "openssl.cafile (prepare_publication)");
      return;
    }
    auto bound = caf::openssl::publish(actor, opts.port, opts.host.c_str(),
                                       true);
    if (!bound) {
      say(log_level::error,
          "keepa-pipeline: introspection: cannot listen on "
            + endpoint(opts.host, opts.port) + " (" + render(bound.error())
            + "); INTROSPECTION is not published, the pipeline runs on "
              "(--keepa.introspection.port=N picks another port, 0 turns it "
              "off)");
      return;
    }
    port = *bound;
    say(log_level::info,
        "keepa-pipeline: introspection on " + endpoint(opts.host, port)
          + " (CAF, mutual TLS: certificate " + cfg.openssl_certificate
          + ", peers of CA " + cfg.openssl_cafile + cfg.openssl_capath
          + "; keepa-status --caf-port=" + std::to_string(port) + ")");
  }

  void serve() {
    actor = spawn_introspection(sys, dir, storage);
    if (opts.publish)
      publish();
    if (!opts.serve_http)
      return;
    if (auto err = prepare_http(opts)) {
      say(log_level::error,
          "keepa-pipeline: http: " + render(err) + "; HTTP is off");
      return;
    }
    // Read-only and behind the token: anything but GET or HEAD is 405,
    // a request without this run's token 401, before any handler runs.
    http.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (req.method != "GET" && req.method != "HEAD") {
          res.status = 405;
          res.set_header("Allow", "GET, HEAD");
          res.set_content("read-only: GET only\n", "text/plain");
          return httplib::Server::HandlerResponse::Handled;
        }
        return access->admit(req, res)
          ? httplib::Server::HandlerResponse::Unhandled
          : httplib::Server::HandlerResponse::Handled;
      });
    http.set_payload_max_length(0);
    http.Get("/status",
             [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(to_json(report()) + "\n", "application/json");
             });
    http.Get("/status.txt",
             [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(to_text(report()), "text/plain");
             });
    http.Get(
      "/metrics", [this](const httplib::Request&, httplib::Response& res) {
        prometheus::Registry reg;
        add_metrics(reg, report());
        add_process_metrics(reg);
        res.set_content(prometheus::TextSerializer{}.Serialize(reg.Collect()),
                        prometheus_type);
      });
    http.Get("/healthz",
             [this](const httplib::Request&, httplib::Response& res) {
               auto v = liveness(report());
               res.status = v.http_status();
               res.set_content(v.to_json("down"), "application/json");
             });
    http.Get("/readyz",
             [this](const httplib::Request&, httplib::Response& res) {
               auto v = readiness(report(), opts.health);
               res.status = v.http_status();
               res.set_content(v.to_json("not ready"), "application/json");
             });
    dash.mount(http);
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
      say(log_level::error,
          "keepa-pipeline: http: cannot listen on "
            + endpoint(opts.http_host, opts.http_port)
            + " (address in use or not available); /status and /metrics are "
              "off, the pipeline runs on (--keepa.http.port=N picks another "
              "port, 0 turns it off)");
      return;
    }
    http_port = static_cast<uint16_t>(bound);
    if (!issue_token()) {
      say(log_level::error,
          "keepa-pipeline: http: no token, so /status and /metrics are off; "
          "the pipeline runs on (--keepa.http.token-file=F picks another "
          "file)");
      http_port = 0;
      return;
    }
    http_thread = std::thread{[this] { http.listen_after_bind(); }};
    // stop() only ends a server that runs; wait (bounded) until it does.
    for (int i = 0; i < 500 && !http.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    say(log_level::info,
        "keepa-pipeline: http on " + endpoint(opts.http_host, http_port)
          + " (/status, /status.txt, /metrics, /healthz, /readyz; token in "
          + token_file + "; keepa-status --port=" + std::to_string(http_port)
          + ")");
    say(log_level::info,
        "keepa-pipeline: dashboard: " + access->login_url(token));
  }

  void stop() {
    if (stopped)
      return;
    stopped = true;
    // caf::openssl::unpublish does not compile in CAF 0.17.6; both
    // middleman actors share one BASP broker, which closes the port.
    if (port != 0)
      sys.middleman().unpublish(actor, port);
    if (http_thread.joinable()) {
      http.stop();
      http_thread.join();
    }
    if (!token_file.empty())
      ::unlink(token_file.c_str());
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  }
};

introspection_service::introspection_service(caf::actor_system& sys,
                                             const pipeline_handles& h,
                                             introspection_options opts,
                                             log_sink log)
  : impl_(std::make_unique<impl>(sys, directory_of(h), h.storage,
                                 std::move(opts), std::move(log))) {
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

const std::string& introspection_service::token_file() const {
  return impl_->token_file;
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
