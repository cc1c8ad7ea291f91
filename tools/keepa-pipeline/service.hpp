// The status endpoint of keepa-pipeline: an HTTP server (/status as JSON,
// /status.txt as keepa-status prints it, /metrics for Prometheus) on its own
// thread, read-only and behind a per-run token.
//
// Options (CAF, group keepa.http, registered with every keepa.* option by
// config/options.hpp; defaults in config/defaults.hpp):
//   keepa.http.host        default 127.0.0.1
//   keepa.http.port        default 4271, 0 = off
//   keepa.http.token-file  default http-PORT.token in
//                          $XDG_RUNTIME_DIR/keepa-pipeline or ~/.keepa-pipeline
// A port that cannot be bound is logged; the pipeline runs on without it.
//
// Access (issue 16 item 9): every start writes a fresh random token to the
// token file (mode 0600, in a directory of mode 0700 by default), and every
// request must carry it (`Authorization: Bearer TOKEN`); others get 401.
// Only GET and HEAD are served (405 otherwise) and no endpoint acts: none
// spends a token, stops an actor or hands out a handle. A request body is
// refused (413) and httplib bounds a request line and each header line to
// 8 KiB. Nothing is published through CAF's middleman: BASP lets a peer
// make the process allocate whatever payload length its 32-byte header
// announces (measured: 28 MB -> 4.2 GB), before any access check.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/client/keepa_client.hpp"
#include "actors/pipeline/introspection.hpp"
#include "config/defaults.hpp"
#include "tools/keepa-pipeline/collect.hpp"

namespace keepa {

struct pipeline_handles;

struct introspection_options {
  /// Serve HTTP at http_host:http_port.
  bool serve_http = defaults::http::port != 0;
  std::string http_host = defaults::http::host;
  /// With `serve_http`, 0 picks a free port (tests); the CLI's 0 means off.
  uint16_t http_port = defaults::http::port;
  /// Where the token goes; empty = default_token_file(bound port).
  std::string token_file = defaults::http::token_file;
  /// Bound for each status request an endpoint sends to an actor.
  caf::timespan ask_timeout = defaults::introspection::ask_timeout;
};

/// Reads the options (defaults in config/defaults.hpp); a port of 0 turns
/// the endpoint off.
introspection_options introspection_options_from(const caf::settings& content);

/// http-PORT.token in $XDG_RUNTIME_DIR/keepa-pipeline, else in
/// $HOME/.keepa-pipeline.
std::string default_token_file(uint16_t port);

/// The token in `path`: one word, surrounding whitespace trimmed.
caf::expected<std::string> read_token_file(const std::string& path);

/// Runs the HTTP server until `stop()` or destruction.
class introspection_service {
public:
  introspection_service(caf::actor_system& sys, const pipeline_handles& h,
                        introspection_options opts, log_sink log);

  ~introspection_service();

  introspection_service(const introspection_service&) = delete;
  introspection_service& operator=(const introspection_service&) = delete;

  /// The bound HTTP port; 0 when off or not bound.
  uint16_t http_port() const;

  /// The file holding this run's token; empty when HTTP is off.
  const std::string& token_file() const;

  /// INTROSPECTION, which stays inside this process.
  const introspection_actor& actor() const;

  /// The same report /status renders, asked locally.
  pipeline_report report(report_scope scope = report_scope::full) const;

  /// Stops the HTTP server (joins its thread), removes the token file and
  /// ends INTROSPECTION. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace keepa
