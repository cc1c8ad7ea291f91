#include "tools/keepa-pipeline/collect.hpp"

#include <chrono>

#include <httplib.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/pipeline/introspection.hpp"
#include "messages/error.hpp"
#include "messages/introspection.hpp"
#include "messages/storage.hpp"
#include "messages/token.hpp"

namespace keepa {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Puts TOKEN's snapshot, as `hdl` answers it, into `r`.
template<class Handle>
void ask_token(caf::scoped_actor& self, caf::timespan timeout,
               pipeline_report& r, const Handle& hdl) {
  if (hdl)
    self->request(hdl, timeout, atom::snapshot_v)
      .receive(
        [&](token_status& st) {
          r.token = std::move(st);
          r.token_ok = true;
        },
        [](caf::error&) {});
}

/// Puts STORAGE's counts, as `relay` answers them, into `r`.
void ask_counts(caf::scoped_actor& self, caf::timespan timeout,
                pipeline_report& r, const introspection_actor& relay) {
  if (relay)
    self->request(relay, timeout, atom::counts_v)
      .receive(
        [&](storage_counts& c) {
          r.counts = c;
          r.counts_ok = true;
        },
        [](caf::error&) {});
}

/// Adds the status `hdl` answers (with `xs` after the status atom) as the
/// actor `name` of `r`.
template<class Handle, class... Ts>
void ask_status(caf::scoped_actor& self, caf::timespan timeout,
                pipeline_report& r, std::string name, const Handle& hdl,
                Ts... xs) {
  actor_report a;
  a.name = std::move(name);
  if (!hdl) {
    a.error = "no such actor";
  } else {
    self->request(hdl, timeout, atom::status_v, xs...)
      .receive(
        [&](caf::settings& status) {
          a.status = std::move(status);
          a.ok = true;
        },
        [&](caf::error& err) { a.error = self->system().render(err); });
  }
  r.actors.push_back(std::move(a));
}

/// Whether the actor `name` belongs in a report of `scope` (the status
/// line counts the probe client's authentication failures too).
bool in_scope(const std::string& name, report_scope scope) {
  return scope == report_scope::full || name != "token";
}

} // namespace

pipeline_report collect_report(caf::scoped_actor& self,
                               const pipeline_directory& d,
                               const introspection_actor& relay,
                               caf::timespan timeout, report_scope scope) {
  pipeline_report r;
  r.unix_ms = wall_ms();
  ask_token(self, timeout, r, d.token);
  ask_counts(self, timeout, r, relay);
  for (auto& kvp : named_actors(d))
    if (in_scope(kvp.first, scope))
      ask_status(self, timeout, r, kvp.first, kvp.second);
  // STORAGE's status (from memory) carries the run counters of the ETA.
  ask_status(self, timeout, r, "storage", relay, std::string{"storage"});
  if (scope == report_scope::full)
    ask_status(self, timeout, r, "introspection", relay);
  return r;
}

pipeline_report collect_remote_report(caf::scoped_actor& self,
                                      const introspection_actor& relay,
                                      caf::timespan timeout) {
  pipeline_report r;
  r.unix_ms = wall_ms();
  ask_token(self, timeout, r, relay);
  ask_counts(self, timeout, r, relay);
  for (auto& kvp : named_actors(pipeline_directory{}))
    ask_status(self, timeout, r, kvp.first, relay, kvp.first);
  ask_status(self, timeout, r, "storage", relay, std::string{"storage"});
  ask_status(self, timeout, r, "introspection", relay);
  return r;
}

caf::expected<std::string>
fetch_status(const std::string& host, uint16_t port, const std::string& token,
             const std::string& path, caf::timespan timeout) {
  httplib::Client cli{host, port};
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout);
  cli.set_connection_timeout(us);
  cli.set_read_timeout(us);
  cli.set_write_timeout(us);
  auto res = cli.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
  if (!res)
    return caf::make_error(ec::transport_error,
                           "no answer: " + httplib::to_string(res.error()));
  if (res->status == 401)
    return caf::make_error(ec::transport_error,
                           "refused: the token does not match this "
                           "keepa-pipeline's (HTTP 401)");
  if (res->status != 200)
    return caf::make_error(ec::transport_error,
                           "HTTP " + std::to_string(res->status));
  return res->body;
}

} // namespace keepa
