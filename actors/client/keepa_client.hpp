// The KEEPA CLIENT actor: every Keepa request of the pipeline goes through
// it. It sends the request over a transport (libcurl, or whatever
// `client_config::make_transport` builds), parses the answer into typed
// structs, settles the grant with TOKEN after every answer that carries token
// fields (429 and other errors included), releases grants of requests that
// never left, and retries 5xx, timeouts and resets with exponential backoff and
// jitter.
//
// Configuration keys (registered by config/options.hpp, defaults in
// config/defaults.hpp): keepa.client.endpoint, key-file (read when
// KEEPA_API_KEY is unset), ca-file (TLS verification stays on), timeout,
// connect-timeout, max-answer-size (decoded bytes), max-connections,
// attempts (1 + retries), backoff (first retry; doubles, jittered),
// backoff-max, gzip and max-auth-failures.
//
// Its status counts every transfer by endpoint and HTTP status code
// (`answers`, "none" when no status came: connect failure, timeout, reset,
// too large) and times it (`latency`: the bounds in `latency_bounds`, the
// count per bucket and the sum in seconds), and tells when Keepa last
// answered well (`last-success-unix-ms`) and what failed last. Answers 401,
// 402 and 403 count as authentication failures (`auth-failures`, and
// `auth-failures-in-row` since the last successful answer); after
// `max_auth_failures` in a row the client ends with ec::key_refused.
//
// The API key is read from the environment or a file only, never from the
// command line (keepa::load_api_key, config/api_key.hpp), and never appears
// in a log line, error or status.

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/client/transport.hpp"
#include "config/defaults.hpp"
#include "config/log_sink.hpp"
#include "messages/actors.hpp"

namespace keepa {

struct client_config {
  std::string endpoint = defaults::client::endpoint;
  /// The API key (never logged).
  std::string key;
  /// Set to the endpoint's host when the key goes there in cleartext
  /// (http:// to a host that is not loopback, keepa.client.allow-insecure).
  std::string cleartext_host;
  transport_options transport;
  /// Attempts per request for 5xx, timeouts and resets (>= 1).
  int32_t attempts = defaults::client::attempts;
  caf::timespan backoff = defaults::client::backoff;
  caf::timespan backoff_max = defaults::client::backoff_max;
  /// How far an answer's timestamp may lie from the local clock, and a
  /// deal's lastUpdate ahead of it, before it is refused.
  caf::timespan clock_tolerance = defaults::client::clock_tolerance;
  /// Authentication failures in a row after which the client ends with
  /// ec::key_refused; 0 = never.
  size_t max_auth_failures = defaults::client::max_auth_failures;
  /// Seeds the backoff jitter; 0 = from std::random_device.
  uint64_t seed = 0;
  /// Where settlements and releases go; may be invalid (nothing settled).
  token_actor token;
  log_sink log;
  /// Builds the transport when the client starts; empty: libcurl to
  /// `endpoint`. Tests and virtual-time tools pass the in-process
  /// simulator's (tools/virtual-run/sim_transport.hpp).
  transport_factory make_transport;
};

/// Upper bounds (seconds) of the request-latency buckets in the status.
inline constexpr double latency_bounds[]
  = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

/// Reads keepa.client.* from `opts` and loads the key; validates ranges.
caf::expected<client_config> client_config_from(const caf::settings& opts);

/// Replaces every occurrence of `key` (raw or URL-encoded) in `text`.
std::string redact(std::string text, const std::string& key);

keepa_client_actor spawn_keepa_client(caf::actor_system& sys,
                                      client_config cfg);

} // namespace keepa
