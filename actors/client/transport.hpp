// How the KEEPA CLIENT moves bytes: a transport takes HTTP requests and
// reports each finished transfer exactly once. The client builds its
// transport through a `transport_factory` given from outside; without one
// it uses curl:
//
// - curl (here): libcurl's multi interface on one I/O thread owned by the
//   transport. We chose this over blocking transfers in detached actors:
//   one thread serves any number of transfers, the multi handle keeps a
//   connection cache (keep-alive, HTTP/2 multiplexing with Keepa), and no
//   CAF scheduler thread ever waits on the network. Results reach the
//   client actor as ordinary messages.
// - in-process keepa-sim (tools/virtual-run/sim_transport.hpp): the
//   simulator's model on the actor system's clock, for virtual time.
//
// The key never appears in a request: transports add it when they build
// the URL, so everything else can log requests freely.

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "config/defaults.hpp"
#include "messages/fwd.hpp"

namespace keepa {

/// One request to the Keepa API, without the key.
struct http_request {
  /// "GET" or "POST".
  std::string method = "GET";
  /// "/token", "/product", "/deal", "/seller".
  std::string path;
  /// Decoded parameters in order; the transport encodes them.
  std::vector<std::pair<std::string, std::string>> query;
  /// POST body (JSON); sent with Content-Type: application/json.
  std::string body;
};

/// `path?a=1&b=2` with values URL-encoded, for logs and URLs.
std::string render_target(const http_request& req);

/// Settings every transport honors.
struct transport_options {
  /// Whole-transfer timeout.
  caf::timespan timeout = defaults::client::timeout;
  caf::timespan connect_timeout = defaults::client::connect_timeout;
  /// Bodies (after decompression) larger than this are dropped while
  /// reading and reported as transfer_failure::too_large.
  uint64_t max_answer_bytes = defaults::client::max_answer_size;
  /// Parallel connections to the endpoint.
  long max_connections = defaults::client::max_connections;
  /// Ask for gzip (Accept-Encoding) and decode it.
  bool gzip = defaults::client::gzip;
  /// CA bundle for TLS verification; empty = the system's default.
  /// Verification itself is never turned off.
  std::string ca_file = defaults::client::ca_file;
};

class transport {
public:
  virtual ~transport();

  /// Starts a transfer; its result is reported exactly once (unless the
  /// transport is destroyed first).
  virtual void submit(uint64_t transfer_id, http_request req) = 0;

  /// The local clock, Unix milliseconds, that answers' times are judged
  /// against: the wall clock (default), or a simulator's own clock.
  virtual int64_t unix_ms() const;
};

/// Receives results on the transport's I/O thread.
using transfer_sink = std::function<void(transfer_result)>;

/// What check_endpoint found out about an endpoint.
struct endpoint_info {
  std::string host;
  /// http:// to a host that is not loopback: the key would travel in
  /// cleartext.
  bool cleartext = false;
};

/// Parses `endpoint` with libcurl's URL parser: http or https, a host, a
/// port in 1..65535, nothing after the path. Errors name the option.
caf::expected<endpoint_info> check_endpoint(const std::string& endpoint);

/// HTTPS (or HTTP for loopback) to `endpoint` (e.g. "https://api.keepa.com"
/// or "http://127.0.0.1:8080").
std::unique_ptr<transport>
make_curl_transport(std::string endpoint, std::string key,
                    transport_options opts, transfer_sink sink);

/// What a transport factory gets from the KEEPA CLIENT it serves.
struct transport_env {
  /// The API key; a transport adds it to the URL and never logs it.
  std::string key;
  transport_options opts;
  /// Delivers a result to the client; callable from any thread.
  transfer_sink deliver;
  /// Delivers a result after `delay` of actor-clock time; callable only
  /// from the client's own thread (inside `submit`).
  std::function<void(caf::timespan, transfer_result)> deliver_after;
  /// The client's actor clock (virtual under the test coordinator).
  std::function<caf::actor_clock::time_point()> now;
};

/// Builds the transport of one KEEPA CLIENT when it starts.
using transport_factory
  = std::function<std::unique_ptr<transport>(transport_env)>;

} // namespace keepa
