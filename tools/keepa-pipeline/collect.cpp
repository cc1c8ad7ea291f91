#include "tools/keepa-pipeline/collect.hpp"

#include <chrono>

#include <httplib.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/pipeline/introspection.hpp"
#include "messages/error.hpp"
#include "messages/introspection.hpp"

namespace keepa {

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace

pipeline_report collect_report(caf::scoped_actor& self,
                               const pipeline_directory& d,
                               const introspection_actor& relay,
                               caf::timespan timeout, report_scope scope) {
  pipeline_report r;
  r.unix_ms = wall_ms();
  if (d.token)
    self->request(d.token, timeout, atom::snapshot_v)
      .receive(
        [&](token_status& st) {
          r.token = std::move(st);
          r.token_ok = true;
        },
        [](caf::error&) {});
  if (relay)
    self->request(relay, timeout, atom::counts_v)
      .receive(
        [&](storage_counts& c) {
          r.counts = c;
          r.counts_ok = true;
        },
        [](caf::error&) {});
  // Asks `hdl` for its status (with `xs` after the status atom).
  auto ask = [&](std::string name, const auto& hdl, auto... xs) {
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
  };
  auto full = scope == report_scope::full;
  for (auto& kvp : named_actors(d))
    if (full || (kvp.first != "token" && kvp.first != "probe-client"))
      ask(kvp.first, kvp.second);
  if (full) {
    ask("storage", relay, std::string{"storage"});
    ask("introspection", relay);
  }
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
