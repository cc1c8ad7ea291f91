// Spawns and wires the whole pipeline: TOKEN, the KEEPA CLIENT (plus a
// second client that answers TOKEN's /token probes, so no two actors hold
// each other), STORAGE and the four stages.

#pragma once

#include <functional>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/stages/committer.hpp"
#include "actors/client/keepa_client.hpp"
#include "actors/stages/peek_filter.hpp"
#include "actors/stages/scanner.hpp"
#include "actors/storage/storage.hpp"
#include "actors/token/token.hpp"
#include "actors/token/token_link.hpp"
#include "actors/stages/updater.hpp"

namespace keepa {

class pipeline_config;

struct pipeline_settings {
  token_config token;
  /// `keepa.token.remote`: spend from the budget server at this HOST:PORT
  /// (issue 22) through a TOKEN LINK instead of an own TOKEN; empty = own.
  std::string token_remote;
  /// Connects to the budget server (the caller sets it when `token_remote`
  /// is set: caf::openssl's middleman actor, for mutual TLS).
  caf::io::middleman_actor token_connector;
  client_config client;
  storage_config storage;
  /// Detached storage in production, attached on the test scheduler.
  bool detached_storage = true;
  scanner_config scan;
  peek_filter_config peek;
  committer_config commit;
  updater_config update;
  analysis_config analysis;
  log_sink log;
  /// Unix ms at the moment of spawning (virtual in tests).
  int64_t unix0_ms = 0;
  /// Spawns what takes the PEEK-FILTER's place (keepa-bench's oracle);
  /// empty = the PEEK-FILTER with `peek`.
  std::function<peek_filter_actor(caf::actor_system&, stage_context,
                                  committer_actor)>
    peek_stand_in;
};

/// Sets the PEEK-FILTER's bound on candidates held below the bar from the
/// scanner's backlog bound (not a keepa.peek.* option): beyond half of it
/// they are let go, so the scanner, which pauses above it, reads on.
void bound_held_candidates(pipeline_settings& s);

/// Reads every setting from `cfg` (including the API key).
caf::expected<pipeline_settings>
pipeline_settings_from(const pipeline_config& cfg);

struct pipeline_handles {
  token_actor token;
  keepa_client_actor client;
  keepa_client_actor probe_client;
  storage_actor storage;
  committer_actor committer;
  peek_filter_actor peek;
  scanner_actor scanner;
  updater_actor updater;
};

caf::expected<pipeline_handles> spawn_pipeline(caf::actor_system& sys,
                                               pipeline_settings s);

/// The directory of `h` (what INTROSPECTION hands out).
pipeline_directory directory_of(const pipeline_handles& h);

/// The stages in the order a shutdown stops them: the SCANNER and UPDATER
/// take no new work first, then the PEEK-FILTER and COMMITTER finish what
/// they hold; STORAGE is flushed after the last of them. keepa-pipeline
/// (on SIGTERM, run-for, max-deals) and virtual-run follow it.
std::vector<std::pair<std::string, stoppable_actor>>
stop_order(const pipeline_handles& h);

/// Every actor of the pipeline, for shutdown and status.
std::vector<std::pair<std::string, status_client_actor>>
status_actors(const pipeline_handles& h);

} // namespace keepa
