// Live introspection of a running keepa-pipeline.
//
//   keepa-status --(middleman)--> INTROSPECTION: handles
//   keepa-status --(middleman)--> TOKEN: snapshot, status; STORAGE: counts,
//                                 status; every stage and client: status
//
// The INTROSPECTION actor is the one actor keepa-pipeline publishes; it
// answers the handles of every pipeline actor, and keepa-status then asks
// each of them itself, except STORAGE: INTROSPECTION relays its `counts`
// and `status`. STORAGE runs detached, and once one of its own messages
// had crossed the network, the middleman kept a reference to it that made
// the actor system's shutdown wait for its thread forever. The report the
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
