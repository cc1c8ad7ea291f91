// Live introspection of a running keepa-pipeline, inside its process:
//
//   status report --> TOKEN: snapshot, status; every stage and client:
//                     status; INTROSPECTION: STORAGE's counts and status
//
// INTROSPECTION is read-only: it relays STORAGE's `counts` and `status`
// and reports its own; it hands out no handle and is never published
// (issue 16 item 9: a published actor that handed out handles let any
// local user spend the owner's tokens and stop the scanner, and CAF 0.17's
// middleman allocates whatever a peer's BASP header announces). Other
// processes read the report over keepa-pipeline's HTTP /status, which asks
// for a token (tools/keepa-pipeline/service.hpp). The report the answers
// make is actors/pipeline/report.hpp.

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
