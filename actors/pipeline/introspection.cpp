#include "actors/pipeline/introspection.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/status.hpp"
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

struct introspection_state {
  static constexpr const char* name = "introspection";
  pipeline_directory dir;
  storage_actor storage;
  int64_t started_ms = 0;
  uint64_t requests = 0;
};

/// Answers `rp` with what `hdl` answers `xs`, or with its error.
template<class T, class Self, class Handle, class... Ts>
caf::typed_response_promise<T> relay_to(Self self, caf::timespan timeout,
                                        caf::typed_response_promise<T> rp,
                                        const Handle& hdl, Ts... xs) {
  self->request(hdl, timeout, xs...)
    .then([rp](T& x) mutable { rp.deliver(std::move(x)); },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

introspection_actor::behavior_type
introspection(introspection_actor::stateful_pointer<introspection_state> self,
              pipeline_directory d, storage_actor storage) {
  self->state.dir = std::move(d);
  self->state.storage = std::move(storage);
  self->state.started_ms = wall_ms();
  // Relayed answers come from INTROSPECTION, never from STORAGE itself.
  auto relay_timeout = caf::timespan{std::chrono::seconds{5}};
  auto relay = [self, relay_timeout](auto rp, const auto& hdl, auto... xs) {
    return relay_to(self, relay_timeout, rp, hdl, xs...);
  };
  return {
    [self, relay](atom::snapshot) -> caf::result<token_status> {
      ++self->state.requests;
      return relay(self->make_response_promise<token_status>(),
                   self->state.dir.token, atom::snapshot_v);
    },
    [self, relay](atom::counts) -> caf::result<storage_counts> {
      ++self->state.requests;
      return relay(self->make_response_promise<storage_counts>(),
                   self->state.storage, atom::counts_v);
    },
    [self, relay](atom::status,
                  const std::string& name) -> caf::result<caf::settings> {
      ++self->state.requests;
      auto rp = self->make_response_promise<caf::settings>();
      if (name == "storage")
        return relay(rp, self->state.storage, atom::status_v);
      for (auto& kvp : named_actors(self->state.dir))
        if (kvp.first == name && kvp.second)
          return relay(rp, kvp.second, atom::status_v);
      return caf::make_error(caf::sec::unexpected_message,
                             "no relay for " + name);
    },
    [self](atom::status) {
      auto& st = self->state;
      caf::settings xs;
      xs.emplace("uptime-ms", wall_ms() - st.started_ms);
      xs.emplace("requests", static_cast<int64_t>(st.requests));
      // Actor IDs, the `id` column of CAF's profiler output.
      caf::settings ids;
      for (auto& kvp : named_actors(st.dir))
        ids.emplace(kvp.first, static_cast<int64_t>(kvp.second.id()));
      ids.emplace("storage", static_cast<int64_t>(st.storage.id()));
      ids.emplace("introspection", static_cast<int64_t>(self->id()));
      xs.emplace("actor-ids", std::move(ids));
      put_mailbox(self, xs);
      return xs;
    },
  };
}

} // namespace

std::vector<std::pair<std::string, status_client_actor>>
named_actors(const pipeline_directory& d) {
  using caf::actor_cast;
  return {
    {"token", actor_cast<status_client_actor>(d.token)},
    {"client", actor_cast<status_client_actor>(d.client)},
    {"probe-client", actor_cast<status_client_actor>(d.probe_client)},
    {"scanner", actor_cast<status_client_actor>(d.scanner)},
    {"peek-filter", actor_cast<status_client_actor>(d.peek)},
    {"committer", actor_cast<status_client_actor>(d.committer)},
    {"updater", actor_cast<status_client_actor>(d.updater)},
  };
}

introspection_actor spawn_introspection(caf::actor_system& sys,
                                        pipeline_directory d,
                                        storage_actor storage) {
  return sys.spawn(introspection, std::move(d), std::move(storage));
}

} // namespace keepa
