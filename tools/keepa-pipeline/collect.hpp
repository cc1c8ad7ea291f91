// Collects a pipeline_report by asking the actors (blocking, from a
// scoped actor) inside keepa-pipeline, for its status line and HTTP
// endpoint, or a remote INTROSPECTION (keepa-status over CAF); and fetches
// the HTTP endpoint's answers for keepa-status.

#pragma once

#include <cstdint>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/pipeline/report.hpp"
#include "messages/actors.hpp"

namespace keepa {

/// What a report asks for.
enum class report_scope {
  /// TOKEN, STORAGE's counts and every actor's status (keepa-status, HTTP).
  full,
  /// Only what the status line shows: TOKEN, STORAGE's counts and status
  /// (its run counters feed the max-deals ETA), the client and the four
  /// stages.
  status_line,
};

/// Asks every actor of `d`, and STORAGE through `relay` (each request
/// bounded by `timeout`).
pipeline_report
collect_report(caf::scoped_actor& self, const pipeline_directory& d,
               const introspection_actor& relay, caf::timespan timeout,
               report_scope scope = report_scope::full);

/// The full report, every part asked through `relay` (a remote
/// INTROSPECTION, over CAF's OpenSSL module), each request bounded by
/// `timeout`.
pipeline_report collect_remote_report(caf::scoped_actor& self,
                                      const introspection_actor& relay,
                                      caf::timespan timeout);

/// GETs `path` (/status, /status.txt, /metrics) from keepa-pipeline's HTTP
/// endpoint at host:port with `token`; the body on status 200. Fails with
/// ec::transport_error when nothing answers, on a refusal (401: not this
/// run's token) and on any other status.
caf::expected<std::string>
fetch_status(const std::string& host, uint16_t port, const std::string& token,
             const std::string& path, caf::timespan timeout);

} // namespace keepa
