// The endpoints of keepa-pipeline, both read-only:
//  - the INTROSPECTION actor, published over CAF's OpenSSL module with
//    mutual TLS (caf::openssl::remote_actor<introspection_actor> with a
//    certificate of the owner's CA reaches it; tls.hpp);
//  - an HTTP server (/status as JSON, /status.txt as keepa-status prints
//    it, /metrics for Prometheus, /healthz and /readyz for a monitor,
//    health.hpp, the dashboard at / with its /api/*, dashboard.hpp) on its
//    own thread, behind a per-run token (access.hpp).
//
// Options (CAF, groups keepa.introspection and keepa.http, registered with
// every keepa.* option by config/options.hpp; defaults in
// config/defaults.hpp):
//   keepa.introspection.host  default 127.0.0.1
//   keepa.introspection.port  default 4270, 0 = off
//   openssl.certificate, .key, .passphrase, .cafile, .capath  (CAF's own;
//                          none = the owner's own CA, created once, tls.hpp)
//   keepa.http.host        default 127.0.0.1
//   keepa.http.port        default 4271, 0 = off
//   keepa.http.token-file  default http-PORT.token in
//                          $XDG_RUNTIME_DIR/keepa-pipeline or ~/.keepa-pipeline
//   keepa.http.ready-max-age  default 10min (/readyz, health.hpp)
//   keepa.http.access-token-file  a token of the user's (read, never
//                          written), required for a host other than
//                          127.0.0.1, ::1 or localhost
// A port that cannot be bound is logged; the pipeline runs on without it.
//
// Access (issue 16 item 9): CAF's OpenSSL module, once any openssl.*
// option is set, requires a peer certificate that its CA file verifies
// (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); a peer without one
// fails the TLS handshake, before the middleman reads a BASP header (CAF
// 0.17's BASP allocates whatever payload length a header announces:
// 28 MB -> 4.2 GB over a plain middleman port). Without openssl.* the
// module would accept anyone, so INTROSPECTION is then not published.
// Every HTTP start writes a fresh random token to the token file (mode
// 0600, in a directory of mode 0700 by default), and every request must
// carry it (`Authorization: Bearer TOKEN`, Basic, or the dashboard's
// session cookie; access.hpp); others get 401. Only GET and HEAD are served
// (405 otherwise) and no endpoint acts: none spends a token, stops an actor or
// hands out a handle. A request body is refused (413) and a connection may send
// 16 KiB in 5 s.

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
#include "tools/keepa-pipeline/health.hpp"
#include "tools/keepa-pipeline/tls.hpp"

namespace keepa {

struct pipeline_handles;

struct introspection_options {
  /// Publish INTROSPECTION at host:port over CAF's OpenSSL module (the
  /// actor system must have loaded it, with openssl.* set).
  bool publish = defaults::introspection::port != 0;
  std::string host = defaults::introspection::host;
  /// With `publish`, 0 picks a free port (tests); the CLI's 0 means off.
  uint16_t port = defaults::introspection::port;
  /// Serve HTTP at http_host:http_port.
  bool serve_http = defaults::http::port != 0;
  std::string http_host = defaults::http::host;
  /// With `serve_http`, 0 picks a free port (tests); the CLI's 0 means off.
  uint16_t http_port = defaults::http::port;
  /// Where the token goes; empty = default_token_file(bound port).
  std::string token_file = defaults::http::token_file;
  /// What /readyz requires (keepa.http.ready-max-age, ...).
  health_options health;
  /// The user's own token file (never written) and its token, read by
  /// prepare_http; required for an http_host other than 127.0.0.1, ::1 or
  /// localhost (access.hpp).
  std::string access_token_file = defaults::http::access_token_file;
  std::string access_token;
  /// The database the pipeline writes, which the dashboard reads.
  std::string storage_url = defaults::storage::url;
  /// keepa.max-deals: reports carry the ETA to it (0 = none).
  uint64_t max_deals = defaults::max_deals;
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

/// Prepares `cfg` for `opts.publish` before its actor system starts: loads
/// CAF's middleman and OpenSSL module and, when no openssl.* option is set,
/// points them at the owner's own credentials in `tls_dir` (created once,
/// tls.hpp).
/// Credentials the user named that do not load are an error; when the
/// owner's own cannot be made (a directory others may enter), it logs why
/// and turns `opts.publish` off.
caf::error prepare_publication(caf::actor_system_config& cfg,
                               introspection_options& opts, const log_sink& log,
                               const std::string& tls_dir = default_tls_dir());

/// Reads the configured access token (opts.access_token_file) and refuses
/// an HTTP host other than 127.0.0.1, ::1 or localhost without one.
caf::error prepare_http(introspection_options& opts);

/// Publishes INTROSPECTION and runs the HTTP server until `stop()` or
/// destruction.
class introspection_service {
public:
  introspection_service(caf::actor_system& sys, const pipeline_handles& h,
                        introspection_options opts, log_sink log);

  ~introspection_service();

  introspection_service(const introspection_service&) = delete;
  introspection_service& operator=(const introspection_service&) = delete;

  /// The port INTROSPECTION is published at; 0 when off or not bound.
  uint16_t port() const;

  /// The bound HTTP port; 0 when off or not bound.
  uint16_t http_port() const;

  /// The file holding this run's token; empty when HTTP is off.
  const std::string& token_file() const;

  /// INTROSPECTION.
  const introspection_actor& actor() const;

  /// The same report /status renders, asked locally.
  pipeline_report report(report_scope scope = report_scope::full) const;

  /// Unpublishes INTROSPECTION, stops the HTTP server (joins its thread),
  /// removes the token file and ends INTROSPECTION. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace keepa
