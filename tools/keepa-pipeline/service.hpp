// The introspection endpoints of keepa-pipeline: the INTROSPECTION actor
// published through CAF's middleman (for keepa-status) and an HTTP server
// (/status as JSON, /metrics for Prometheus) on its own thread.
//
// Options (CAF, group keepa.introspection and keepa.http, registered with
// every keepa.* option by config/options.hpp; defaults in config/defaults.hpp):
//   keepa.introspection.host  default 127.0.0.1
//   keepa.introspection.port  default 4270, 0 = off
//   keepa.http.host           default 127.0.0.1
//   keepa.http.port           default 4271, 0 = off
// A port that cannot be bound is logged; the pipeline runs on without it.

#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/client/keepa_client.hpp"
#include "actors/pipeline/introspection.hpp"
#include "config/defaults.hpp"
#include "tools/keepa-pipeline/collect.hpp"

namespace keepa {

struct pipeline_handles;

struct introspection_options {
  /// Publish INTROSPECTION at host:port.
  bool publish = defaults::introspection::port != 0;
  std::string host = defaults::introspection::host;
  /// With `publish`, 0 picks a free port (tests); the CLI's 0 means off.
  uint16_t port = defaults::introspection::port;
  /// Serve HTTP at http_host:http_port.
  bool serve_http = defaults::http::port != 0;
  std::string http_host = defaults::http::host;
  /// With `serve_http`, 0 picks a free port (tests); the CLI's 0 means off.
  uint16_t http_port = defaults::http::port;
  /// Bound for each status request an endpoint sends to an actor.
  caf::timespan ask_timeout = defaults::introspection::ask_timeout;
};

/// Reads the options (defaults in config/defaults.hpp); a port of 0 turns
/// its endpoint off.
introspection_options introspection_options_from(const caf::settings& content);

/// Publishes INTROSPECTION and runs the HTTP server until `stop()` or
/// destruction. Needs the middleman loaded when `opts.port != 0`.
class introspection_service {
public:
  introspection_service(caf::actor_system& sys, const pipeline_handles& h,
                        introspection_options opts, log_sink log);

  ~introspection_service();

  introspection_service(const introspection_service&) = delete;
  introspection_service& operator=(const introspection_service&) = delete;

  /// The bound middleman port; 0 when off or not bound.
  uint16_t port() const;

  /// The bound HTTP port; 0 when off or not bound.
  uint16_t http_port() const;

  const introspection_actor& actor() const;

  /// The same report /status renders, asked locally.
  pipeline_report report(report_scope scope = report_scope::full) const;

  /// Stops the HTTP server (joins its thread), unpublishes and ends
  /// INTROSPECTION. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace keepa
