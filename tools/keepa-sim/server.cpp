#include "tools/keepa-sim/server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include <httplib.h>
#include <zlib.h>

#include "tools/keepa-sim/json.hpp"

namespace keepa::sim {

namespace {

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Whether an Accept-Encoding value accepts gzip: `gzip`, `x-gzip` or `*`
/// (any case) without `q=0`.
bool accepts_gzip(const std::string& accept) {
  for (size_t pos = 0; pos <= accept.size();) {
    auto end = std::min(accept.find(',', pos), accept.size());
    auto item = accept.substr(pos, end - pos);
    pos = end + 1;
    for (auto& ch : item)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto semi = item.find(';');
    auto name = item.substr(0, semi);
    auto strip = [](std::string& x) {
      x.erase(0, x.find_first_not_of(" \t"));
      x.erase(x.find_last_not_of(" \t") + 1);
    };
    strip(name);
    if (name != "gzip" && name != "x-gzip" && name != "*")
      continue;
    if (semi == std::string::npos)
      return true;
    auto q = item.find("q=", semi);
    if (q == std::string::npos
        || std::strtod(item.c_str() + q + 2, nullptr) > 0)
      return true;
  }
  return false;
}

/// Sends `body` as it is. cpp-httplib compresses a body given by
/// set_content itself whenever Accept-Encoding names "br" (brotli at
/// quality 11: 370 ms for a 268 KB answer) or "gzip" (even with q=0), but
/// never one from a provider of known length.
void send_as_is(httplib::Response& res, std::string body) {
  if (body.empty()) {
    // A provider of length 0 would be sent without a length.
    res.set_content(body, "application/json");
    return;
  }
  auto shared = std::make_shared<const std::string>(std::move(body));
  res.set_content_provider(shared->size(), "application/json",
                           [shared](size_t offset, size_t length,
                                    httplib::DataSink& sink) {
                             return sink.write(shared->data() + offset, length);
                           });
}

/// /sim/stats: the bucket's figures (model::bucket_stats).
std::string stats_json(const model::bucket_stats& x) {
  json::writer w;
  w.begin_object();
  w.key("balance").num(x.balance);
  w.key("refill_in_ms").num(x.refill_in_ms);
  w.key("initial").num(x.initial);
  w.key("charged").num(x.charged);
  w.key("charged_by_domain").begin_object();
  for (auto& [domain, tokens] : x.charged_by_domain)
    w.key(std::to_string(domain)).num(tokens);
  w.end_object();
  w.key("refilled").num(x.refilled);
  w.key("lost_at_cap").num(x.lost_at_cap);
  w.key("ticks").num(static_cast<int64_t>(x.ticks));
  w.key("min_balance").num(x.min_balance);
  w.key("min_balance_unix_ms").num(x.min_balance_unix_ms);
  w.key("refused").num(static_cast<int64_t>(x.refused));
  w.key("first_refused_unix_ms").num(x.first_refused_unix_ms);
  w.key("last_refused_unix_ms").num(x.last_refused_unix_ms);
  w.end_object();
  return w.take();
}

/// /sim/served: what /deal served of one locale's books (model::served_deal).
std::string served_json(const std::vector<model::served_deal>& xs) {
  json::writer w;
  w.begin_object();
  w.key("deals").begin_array();
  for (auto& x : xs) {
    w.begin_object();
    w.key("asin").str(x.asin);
    w.key("last_update").num(x.last_update);
    w.key("good").boolean(x.good);
    w.key("unchanged").boolean(x.unchanged);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

} // namespace

std::string gzip(const std::string& in, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY)
      != Z_OK)
    throw std::runtime_error{"keepa-sim: deflateInit2 failed"};
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  auto rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    throw std::runtime_error{"keepa-sim: deflate failed"};
  return out;
}

server::server(model& m, server_options opts)
  : model_(m), opts_(opts), http_(std::make_unique<httplib::Server>()) {
  auto threads = opts_.threads;
  http_->new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http_->set_payload_max_length(opts_.max_payload);
  http_->set_keep_alive_max_count(100);
  // Headers and body go out as two writes; with Nagle's algorithm the
  // body's last segment would wait for the client's delayed ACK (~40 ms).
  // Accepted sockets inherit the listener's TCP_NODELAY.
  http_->set_tcp_nodelay(true);
  // The simulator's own figures for tests (not Keepa's API): with the key,
  // /sim/stats and /sim/served?domain=N (default 1).
  auto figures = [this](const httplib::Request& hreq, httplib::Response& res) {
    if (hreq.get_param_value("key") != model_.opts().key) {
      res.status = 402;
      return;
    }
    std::lock_guard<std::mutex> guard{model_mtx_};
    if (hreq.path == "/sim/stats") {
      send_as_is(res, stats_json(model_.stats(wall_ms())));
      return;
    }
    auto domain = hreq.has_param("domain")
      ? std::strtoll(hreq.get_param_value("domain").c_str(), nullptr, 10)
      : 1;
    send_as_is(res, served_json(model_.served_deals(domain)));
  };
  http_->Get("/sim/stats", figures);
  http_->Get("/sim/served", figures);
  auto handler = [this](const httplib::Request& hreq, httplib::Response& res) {
    ++served_;
    request req;
    req.method = hreq.method;
    req.path = hreq.path;
    // The URL's parameters only: cpp-httplib also reads a form-encoded body
    // into `params`, and the PHP client POSTs its JSON selection with
    // curl's default form content type.
    auto q = hreq.target.find('?');
    if (q != std::string::npos)
      httplib::detail::parse_query_text(hreq.target.substr(q + 1), req.query);
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
    res.set_header("Vary", "Accept-Encoding");
    // Keepa answers gzip (shared/keepa-api.md), so the simulator does, at
    // a fast level, and never brotli.
    if (accepts_gzip(hreq.get_header_value("Accept-Encoding"))) {
      res.set_header("Content-Encoding", "gzip");
      a.body = gzip(a.body, opts_.gzip_level);
    }
    send_as_is(res, std::move(a.body));
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
