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
// the actor system's shutdown wait for its thread forever. `collect_report` does the asking (locally for the
// HTTP endpoint, over the network for keepa-status), and `to_json`,
// `to_metrics` and `to_text` render one report; /status and
// `keepa-status --json` are the same `to_json`.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/settings.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

CAF_ADD_ATOM(keepa_atoms, keepa::atom, handles, "handles")

namespace keepa {

/// Handles of the actors of one pipeline that keepa-status asks directly.
struct pipeline_directory {
  token_actor token;
  keepa_client_actor client;
  keepa_client_actor probe_client;
  scanner_actor scanner;
  peek_filter_actor peek;
  committer_actor committer;
  updater_actor updater;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipeline_directory& x) {
  return f(caf::meta::type_name("pipeline_directory"), x.token, x.client,
           x.probe_client, x.scanner, x.peek, x.committer,
           x.updater);
}

/// The actors of `d` with their status names, in report order.
std::vector<std::pair<std::string, status_client_actor>>
named_actors(const pipeline_directory& d);

/// The INTROSPECTION actor: published on `keepa.introspection.port`.
using introspection_actor = typed_actor_fwd<
  // Handles of the pipeline actors keepa-status asks directly.
  caf::replies_to<atom::handles>::with<pipeline_directory>>
  // STORAGE's counts, relayed.
  ::extend<caf::replies_to<atom::counts>::with<storage_counts>>
  // The status of the named actor ("storage"), relayed.
  ::extend<caf::replies_to<atom::status, std::string>::with<caf::settings>>
  ::extend_with<sig::status_client>::unwrap;

/// Registers the introspection types (call on every config that talks to
/// an introspection actor, before the actor system starts).
void add_introspection_types(caf::actor_system_config& cfg);

/// Spawns the INTROSPECTION actor for `d` and `storage`.
introspection_actor spawn_introspection(caf::actor_system& sys,
                                        pipeline_directory d,
                                        storage_actor storage);

/// One actor's `status` answer, or why there is none.
struct actor_report {
  std::string name;
  bool ok = false;
  std::string error;
  caf::settings status;
};

/// Everything keepa-status prints, asked from the actors at `unix_ms`.
struct pipeline_report {
  int64_t unix_ms = 0;
  bool token_ok = false;
  token_status token;
  bool counts_ok = false;
  storage_counts counts;
  std::vector<actor_report> actors;

  /// The status of actor `name`, or nullptr.
  const caf::settings* status_of(const std::string& name) const;

  /// Integer `key` of actor `name`'s status (0 when absent).
  int64_t num(const std::string& name, const std::string& key) const;
};

/// Asks every actor of `d`, and STORAGE through `relay` (each request
/// bounded by `timeout`).
pipeline_report collect_report(caf::scoped_actor& self,
                               const pipeline_directory& d,
                               const introspection_actor& relay,
                               caf::timespan timeout);

/// Connects to the INTROSPECTION actor at host:port and collects a report
/// over the network. Needs the middleman loaded and the introspection types
/// registered.
caf::expected<pipeline_report> fetch_remote_report(caf::actor_system& sys,
                                                   const std::string& host,
                                                   uint16_t port,
                                                   caf::timespan timeout);

/// One JSON object (keepa-status --json, HTTP /status).
std::string to_json(const pipeline_report& r);

/// Prometheus text exposition format, version 0.0.4 (HTTP /metrics).
std::string to_metrics(const pipeline_report& r);

/// Human-readable, one block per actor (keepa-status).
std::string to_text(const pipeline_report& r);

} // namespace keepa

CAF_BEGIN_TYPE_ID_BLOCK(keepa_introspection, caf::id_block::keepa_actors::end)

  CAF_ADD_TYPE_ID(keepa_introspection, (keepa::pipeline_directory))
  CAF_ADD_TYPE_ID(keepa_introspection, (keepa::introspection_actor))

CAF_END_TYPE_ID_BLOCK(keepa_introspection)
