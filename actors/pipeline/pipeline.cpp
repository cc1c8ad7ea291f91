#include "actors/pipeline/pipeline.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/introspection.hpp"

namespace keepa {

void bound_held_candidates(pipeline_settings& s) {
  s.peek.gate.max_queue = s.scan.max_backlog / 2;
}

caf::expected<pipeline_settings>
pipeline_settings_from(const pipeline_config& cfg) {
  pipeline_settings s;
  s.token = token_config_from(cfg);
  if (auto err = validate(s.token))
    return err;
  auto& content = cfg.content;
  s.token_remote = caf::get_or(content, "keepa.token.remote",
                               std::string{defaults::token::server_remote});
  if (!s.token_remote.empty()) {
    std::string host;
    uint16_t port = 0;
    if (auto err = parse_endpoint(s.token_remote, host, port))
      return err;
  }
  auto client = client_config_from(content);
  if (!client)
    return client.error();
  s.client = std::move(*client);
  s.storage = storage_config_from(content);
  if (auto err = validate(s.storage))
    return err;
  auto scan = scanner_config_from(content);
  if (!scan)
    return scan.error();
  s.scan = std::move(*scan);
  // The locale the queries agreed on is STORAGE's too (issue 22).
  s.storage.domain = s.scan.domain;
  auto peek = peek_filter_config_from(content);
  if (!peek)
    return peek.error();
  s.peek = std::move(*peek);
  bound_held_candidates(s);
  auto update = updater_config_from(content);
  if (!update)
    return update.error();
  s.update = *update;
  auto analysis = analysis_config_from(content);
  if (!analysis)
    return analysis.error();
  s.analysis = *analysis;
  return s;
}

caf::expected<pipeline_handles> spawn_pipeline(caf::actor_system& sys,
                                               pipeline_settings s) {
  pipeline_handles h;
  auto storage_cfg = s.storage;
  storage_cfg.log = s.log;
  auto storage = spawn_storage(sys, storage_cfg, s.detached_storage);
  if (!storage)
    return storage.error();
  h.storage = *storage;
  // TOKEN probes /token through a client that settles nothing, so TOKEN
  // and the main client do not hold each other alive.
  auto probe_cfg = s.client;
  probe_cfg.log = s.log;
  h.probe_client = spawn_keepa_client(sys, probe_cfg);
  if (!s.token_remote.empty()) {
    // The budget is shared (issue 22): a link to the budget server.
    token_link_config link;
    if (auto err = parse_endpoint(s.token_remote, link.host, link.port))
      return err;
    if (!s.token_connector)
      return caf::make_error(ec::invalid_config,
                             "keepa.token.remote needs a connector (CAF's "
                             "OpenSSL module)");
    link.connector = s.token_connector;
    link.probe = h.probe_client;
    link.retry = s.token.probe_retry;
    link.weight = s.token.weight;
    h.token = caf::actor_cast<token_actor>(sys.spawn(token_link, link));
  } else {
    auto token_cfg = s.token;
    token_cfg.probe = h.probe_client;
    h.token = sys.spawn(keepa::token, token_cfg);
  }
  // STORAGE holds TOKEN while it cannot write: no grants, no spending.
  caf::anon_send(h.storage, atom::hold_v, h.token);
  auto client_cfg = s.client;
  client_cfg.token = h.token;
  client_cfg.log = s.log;
  h.client = spawn_keepa_client(sys, client_cfg);
  stage_context ctx;
  ctx.token = h.token;
  ctx.client = h.client;
  ctx.storage = h.storage;
  ctx.profiles = s.token.profiles;
  ctx.profile_name = s.token.profile_name;
  ctx.analysis = std::make_shared<const analysis_config>(s.analysis);
  ctx.log = s.log;
  ctx.t0 = sys.clock().now();
  ctx.unix0_ms = s.unix0_ms;
  ctx.domain = s.scan.domain;
  h.committer = spawn_committer(sys, ctx, s.commit);
  h.peek = s.peek_stand_in ? s.peek_stand_in(sys, ctx, h.committer)
                           : spawn_peek_filter(sys, ctx, s.peek, h.committer);
  h.scanner = spawn_scanner(sys, ctx, s.scan, h.peek);
  // The scanner needs the peek-filter at spawn; the peek-filter learns its
  // upstream (told `drained` when its queue runs dry) right after.
  caf::anon_send(h.peek, atom::upstream_v, h.scanner);
  h.updater = spawn_updater(sys, ctx, s.update);
  return h;
}

pipeline_directory directory_of(const pipeline_handles& h) {
  pipeline_directory d;
  d.token = h.token;
  d.client = h.client;
  d.probe_client = h.probe_client;
  d.scanner = h.scanner;
  d.peek = h.peek;
  d.committer = h.committer;
  d.updater = h.updater;
  return d;
}

std::vector<std::pair<std::string, stoppable_actor>>
stop_order(const pipeline_handles& h) {
  using caf::actor_cast;
  return {
    {"scanner", actor_cast<stoppable_actor>(h.scanner)},
    {"updater", actor_cast<stoppable_actor>(h.updater)},
    {"peek-filter", actor_cast<stoppable_actor>(h.peek)},
    {"committer", actor_cast<stoppable_actor>(h.committer)},
  };
}

std::vector<std::pair<std::string, status_client_actor>>
status_actors(const pipeline_handles& h) {
  using caf::actor_cast;
  return {
    {"token", actor_cast<status_client_actor>(h.token)},
    {"client", actor_cast<status_client_actor>(h.client)},
    {"storage", actor_cast<status_client_actor>(h.storage)},
    {"scanner", actor_cast<status_client_actor>(h.scanner)},
    {"peek-filter", actor_cast<status_client_actor>(h.peek)},
    {"committer", actor_cast<status_client_actor>(h.committer)},
    {"updater", actor_cast<status_client_actor>(h.updater)},
  };
}

} // namespace keepa
