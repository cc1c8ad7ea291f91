// Collects a pipeline_report by asking the actors (blocking, from a
// scoped actor): locally for keepa-pipeline's status line and HTTP
// endpoint, over the middleman for keepa-status.

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
  /// Only what the status line shows: TOKEN, STORAGE's counts, the client
  /// and the four stages.
  status_line,
};

/// Asks every actor of `d`, and STORAGE through `relay` (each request
/// bounded by `timeout`).
pipeline_report
collect_report(caf::scoped_actor& self, const pipeline_directory& d,
               const introspection_actor& relay, caf::timespan timeout,
               report_scope scope = report_scope::full);

/// Connects to the INTROSPECTION actor at host:port and collects a report
/// over the network. Needs the middleman loaded and the introspection types
/// registered.
caf::expected<pipeline_report>
fetch_remote_report(caf::actor_system& sys, const std::string& host,
                    uint16_t port, caf::timespan timeout);

} // namespace keepa
