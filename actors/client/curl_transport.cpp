// The libcurl transport: one multi handle driven by one I/O thread.
//
// submit() queues the request under a mutex and wakes the thread with
// curl_multi_wakeup; the thread adds easy handles, runs curl_multi_poll and
// reports finished transfers through the sink. The multi handle's
// connection cache gives keep-alive across transfers; libcurl decodes gzip
// before our write callback sees the bytes, so the size limit applies to
// the decoded answer (a gzip bomb stops at the limit).

#include "actors/client/transport.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "messages/error.hpp"
#include "messages/keepa.hpp"

namespace keepa {

namespace {

std::once_flag curl_init_flag;

struct job {
  uint64_t id = 0;
  http_request req;
};

struct transfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string url;
  std::string body;
  std::string answer;
  uint64_t limit = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {0};
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto bytes = size * n;
  if (t->answer.size() + bytes > t->limit) {
    t->too_large = true;
    return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->answer.append(data, bytes);
  return bytes;
}

transfer_failure classify(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return transfer_failure::connect;
    case CURLE_OPERATION_TIMEDOUT: return transfer_failure::timeout;
    default: return transfer_failure::reset;
  }
}

/// Everything the I/O thread touches. Shared between the transport handle
/// and the thread, so the thread may outlive the handle: if the sink drops
/// the last reference to the client actor, the actor (and this transport)
/// is destroyed on the I/O thread itself, which then must not join itself.
class engine {
public:
  engine(std::string endpoint, std::string key, transport_options opts,
         transfer_sink sink)
    : endpoint_(std::move(endpoint)),
      key_(std::move(key)),
      opts_(std::move(opts)),
      sink_(std::move(sink)) {
    std::call_once(curl_init_flag, [] { curl_global_init(CURL_GLOBAL_ALL); });
    while (!endpoint_.empty() && endpoint_.back() == '/')
      endpoint_.pop_back();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS,
                      opts_.max_connections);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  }

  ~engine() {
    curl_multi_cleanup(multi_);
  }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
  }

  void submit(uint64_t transfer_id, http_request req) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      incoming_.push_back(job{transfer_id, std::move(req)});
    }
    curl_multi_wakeup(multi_);
  }

  void run() {
    for (;;) {
      std::deque<job> batch;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        if (stopping_)
          break;
        batch.swap(incoming_);
      }
      for (auto& j : batch)
        start(std::move(j));
      int still_running = 0;
      curl_multi_perform(multi_, &still_running);
      int left = 0;
      while (auto* msg = curl_multi_info_read(multi_, &left))
        if (msg->msg == CURLMSG_DONE)
          finish(msg->easy_handle, msg->data.result);
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
    // Shutting down: drop whatever is still running; nobody listens.
    for (auto& kvp : running_) {
      curl_multi_remove_handle(multi_, kvp.second->easy);
      curl_slist_free_all(kvp.second->headers);
      curl_easy_cleanup(kvp.second->easy);
    }
    running_.clear();
  }

private:
  std::string url_for(const http_request& req) const {
    auto target = render_target(req);
    std::string url = endpoint_ + target;
    url += target.find('?') == std::string::npos ? '?' : '&';
    url += "key=";
    char* escaped = curl_easy_escape(nullptr, key_.data(),
                                     static_cast<int>(key_.size()));
    url += escaped;
    curl_free(escaped);
    return url;
  }

  void start(job j) {
    auto t = std::make_unique<transfer>();
    t->id = j.id;
    t->limit = opts_.max_answer_bytes;
    t->url = url_for(j.req);
    t->easy = curl_easy_init();
    auto* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(opts_.timeout.count() / 1000000));
    curl_easy_setopt(
      e, CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(opts_.connect_timeout.count() / 1000000));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts_.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, opts_.ca_file.c_str());
    if (opts_.gzip)
      curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "keepa-pipeline/1");
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(opts_.max_answer_bytes));
    if (j.req.method == "POST") {
      t->body = std::move(j.req.body);
      t->headers = curl_slist_append(nullptr, "Content-Type: application/json");
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                       static_cast<long>(t->body.size()));
    }
    curl_multi_add_handle(multi_, e);
    auto id = t->id;
    running_.emplace(id, std::move(t));
  }

  void finish(CURL* easy, CURLcode rc) {
    transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
    auto i = running_.find(raw->id);
    auto t = std::move(i->second);
    running_.erase(i);
    curl_multi_remove_handle(multi_, easy);
    transfer_result res;
    res.transfer_id = t->id;
    if (rc == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      res.http_status = static_cast<int32_t>(status);
      res.body = std::move(t->answer);
    } else if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      res.failure = transfer_failure::too_large;
      res.detail = "answer larger than "
        + std::to_string(opts_.max_answer_bytes) + " bytes";
    } else {
      res.failure = classify(rc);
      // The error buffer may quote the URL; keep only libcurl's own text.
      res.detail = curl_easy_strerror(rc);
    }
    curl_slist_free_all(t->headers);
    curl_easy_cleanup(easy);
    sink_(std::move(res));
  }

  std::string endpoint_;
  std::string key_;
  transport_options opts_;
  transfer_sink sink_;
  CURLM* multi_ = nullptr;
  std::mutex mtx_;
  std::deque<job> incoming_;
  bool stopping_ = false;
  /// Owned by the I/O thread.
  std::unordered_map<uint64_t, std::unique_ptr<transfer>> running_;
};

class curl_transport final : public transport {
public:
  explicit curl_transport(std::shared_ptr<engine> eng) : engine_(eng) {
    io_ = std::thread{[eng] { eng->run(); }};
  }

  ~curl_transport() override {
    engine_->stop();
    if (io_.get_id() == std::this_thread::get_id())
      io_.detach();
    else
      io_.join();
  }

  void submit(uint64_t transfer_id, http_request req) override {
    engine_->submit(transfer_id, std::move(req));
  }

private:
  std::shared_ptr<engine> engine_;
  std::thread io_;
};

/// Whether `host` (as libcurl returns it: IPv6 in brackets) is loopback.
bool is_loopback(std::string host) {
  if (host == "localhost")
    return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

} // namespace

caf::expected<endpoint_info> check_endpoint(const std::string& endpoint) {
  auto bad = [](std::string why) {
    return caf::make_error(ec::invalid_config,
                           "keepa.client.endpoint: " + std::move(why));
  };
  std::unique_ptr<CURLU, void (*)(CURLU*)> url{curl_url(), curl_url_cleanup};
  if (!url)
    return bad("out of memory");
  if (auto rc = curl_url_set(url.get(), CURLUPART_URL, endpoint.c_str(), 0))
    return bad(std::string{"not a URL: "} + curl_url_strerror(rc)
               + " (expected https://HOST[:PORT])");
  auto part = [&](CURLUPart what) {
    char* x = nullptr;
    std::string result;
    if (curl_url_get(url.get(), what, &x, 0) == CURLUE_OK && x != nullptr)
      result = x;
    curl_free(x);
    return result;
  };
  auto scheme = part(CURLUPART_SCHEME);
  if (scheme != "https" && scheme != "http")
    return bad("must start with https:// or http://");
  endpoint_info info;
  info.host = part(CURLUPART_HOST);
  if (info.host.empty())
    return bad("no host");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_QUERY).empty()
      || !part(CURLUPART_FRAGMENT).empty())
    return bad("no user, query or fragment allowed");
  if (part(CURLUPART_PORT) == "0")
    return bad("port 0");
  info.cleartext = scheme == "http" && !is_loopback(info.host);
  return info;
}

std::unique_ptr<transport>
make_curl_transport(std::string endpoint, std::string key,
                    transport_options opts, transfer_sink sink) {
  auto eng = std::make_shared<engine>(std::move(endpoint), std::move(key),
                                      std::move(opts), std::move(sink));
  return std::make_unique<curl_transport>(std::move(eng));
}

} // namespace keepa
