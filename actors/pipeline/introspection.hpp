// Live introspection of a running keepa-pipeline:
//
//   status report --> TOKEN: snapshot, status; every stage and client:
//                     status; INTROSPECTION: STORAGE's counts and status
//   CAF client (mutual TLS) --> INTROSPECTION: TOKEN's snapshot, STORAGE's
//                     counts, every actor's status, relayed
//
// INTROSPECTION is read-only: it relays snapshots, counts and status and
// reports its own; it hands out no handle (issue 16 item 9: a published
// actor that handed out handles let any local user spend the owner's
// tokens and stop the scanner). keepa-pipeline publishes it only over
// CAF's OpenSSL module with client certificates required, so a stranger's
// connection ends in the TLS handshake before the middleman parses any
// BASP header (tools/keepa-pipeline/service.hpp, tls.hpp). The report the
// answers make is actors/pipeline/report.hpp.

#pragma once

#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/actors.hpp"
#include "messages/introspection.hpp"

namespace keepa {

/// The actors of `d` with their status names, in report order.
std::vector<std::pair<std::string, status_client_actor>>
named_actors(const pipeline_directory& d);

/// Spawns the INTROSPECTION actor for `d` and `storage`.
introspection_actor spawn_introspection(caf::actor_system& sys,
                                        pipeline_directory d,
                                        storage_actor storage);

} // namespace keepa
