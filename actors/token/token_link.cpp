#include "actors/token/token_link.hpp"

#include <algorithm>

#include <caf/config_value.hpp>
#include <caf/node_id.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>

#include "actors/status.hpp"
#include "actors/token/token.hpp"
#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "messages/token.hpp"

namespace keepa {

namespace {

std::string where(const token_link_config& cfg) {
  return cfg.host + ":" + std::to_string(cfg.port);
}

/// The answer to an acquire that cannot go to the server now.
recharge_wait local_wait(token_link_pointer self, std::string reason) {
  recharge_wait w;
  // Never 0 (a stage may reserve it, as the SCANNER does), never one the
  // server hands out; unknown to the server, so presented as new.
  w.ticket = ++self->state.local_tickets;
  w.retry_after = self->state.cfg.retry;
  w.reason = std::move(reason);
  return w;
}

std::string unreachable_reason(token_link_pointer self) {
  return "budget server unreachable (" + where(self->state.cfg)
    + "): " + self->state.unreachable;
}

void connect(token_link_pointer self);

/// Schedules the next connection attempt with the doubled backoff.
void reconnect_later(token_link_pointer self) {
  auto& st = self->state;
  st.backoff = st.backoff == duration::zero()
    ? st.cfg.backoff_min
    : std::min(st.backoff * 2, st.cfg.backoff_max);
  self->delayed_send(self, st.backoff, atom::tick_v);
}

/// Asks /token (free) and settles the observation with the server.
void probe(token_link_pointer self) {
  auto& st = self->state;
  if (!st.cfg.probe)
    return;
  ++st.probes;
  self->request(st.cfg.probe, st.cfg.timeout, atom::probe_v)
    .then(
      [self](const envelope& env) {
        settlement s;
        s.tokens_left = env.tokens_left;
        s.refill_in_ms = env.refill_in_ms;
        s.refill_rate = env.refill_rate;
        s.server_timestamp_ms = env.timestamp_ms;
        if (auto& r = self->state.remote)
          self->send(r, atom::settle_v, s);
      },
      [](const caf::error&) {
        // The next settlement of any process carries an observation too.
      });
}

void connected(token_link_pointer self, token_actor remote) {
  auto& st = self->state;
  st.connecting = false;
  st.remote = std::move(remote);
  st.unreachable.clear();
  st.backoff = duration::zero();
  ++st.connects;
  self->monitor(st.remote);
  // Grants of earlier connections ended when the server saw them go: what
  // is said of them now is a plain observation.
  for (auto& s : st.pending) {
    s.grant_id = 0;
    self->send(st.remote, atom::settle_v, s);
  }
  st.pending.clear();
  probe(self);
}

void connect(token_link_pointer self) {
  auto& st = self->state;
  if (st.remote || st.connecting)
    return;
  st.connecting = true;
  self
    ->request(st.cfg.connector, st.cfg.timeout, caf::connect_atom::value,
              st.cfg.host, st.cfg.port)
    .then(
      [self](const caf::node_id&, caf::strong_actor_ptr& ptr,
             const std::set<std::string>&) {
        auto& st = self->state;
        if (!ptr) {
          st.connecting = false;
          ++st.failed_attempts;
          st.unreachable = "no actor published there";
          reconnect_later(self);
          return;
        }
        connected(self, caf::actor_cast<token_actor>(std::move(ptr)));
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.connecting = false;
        ++st.failed_attempts;
        st.unreachable = render(err);
        reconnect_later(self);
      });
}

/// The server's TOKEN went down or its connection broke.
void lost(token_link_pointer self, const caf::error& reason) {
  auto& st = self->state;
  st.remote = nullptr;
  st.grants.clear();
  st.tickets.clear();
  ++st.disconnects;
  st.unreachable = "connection lost (" + render(reason) + ")";
  reconnect_later(self);
}

token_status unreachable_status(token_link_pointer self) {
  token_status result;
  result.mode = self->state.held.empty() ? unreachable_reason(self)
                                         : "held: " + self->state.held;
  return result;
}

void keep_pending(token_link_pointer self, settlement s) {
  auto& st = self->state;
  st.pending.push_back(std::move(s));
  while (st.pending.size() > st.cfg.max_pending)
    st.pending.pop_front();
}

} // namespace

token_link_actor::behavior_type token_link(token_link_pointer self,
                                           token_link_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (self->state.remote && msg.source == self->state.remote.address())
      lost(self, msg.reason);
  });
  connect(self);
  return {
    [self](atom::acquire, token_request req) -> caf::result<token_reply> {
      auto& st = self->state;
      if (!st.held.empty())
        return token_reply{local_wait(self, "held: " + st.held)};
      if (!st.remote) {
        ++st.refused_acquires;
        return token_reply{local_wait(self, unreachable_reason(self))};
      }
      auto stage = caf::actor_cast<caf::actor_addr>(self->current_sender());
      // A ticket of an earlier connection (maybe of an earlier server)
      // could name another process's place: ask anew.
      auto i = st.tickets.find(req.ticket);
      if (i == st.tickets.end())
        req.ticket = 0;
      else
        st.tickets.erase(i);
      req.weight = st.cfg.weight;
      auto rp = self->make_response_promise<token_reply>();
      auto remote = st.remote;
      self->request(remote, st.cfg.timeout, atom::acquire_v, req)
        .then(
          [self, rp, stage, remote](token_reply& r) mutable {
            auto& st = self->state;
            if (st.remote == remote) {
              if (auto* g = caf::get_if<token_grant>(&r))
                st.grants.insert(g->grant_id);
              else
                st.tickets[caf::get<recharge_wait>(r).ticket] = stage;
            }
            rp.deliver(std::move(r));
          },
          [self, rp](caf::error& err) mutable {
            // A grant that may have been made meanwhile ends with the
            // connection or its grant TTL; this stage asks again.
            ++self->state.refused_acquires;
            rp.deliver(token_reply{local_wait(
              self, "budget server did not answer: " + render(err))});
          });
      // Not `rp`: token_reply's converting constructor would take it.
      return caf::delegated<token_reply>{};
    },
    [self](atom::settle, settlement s) {
      auto& st = self->state;
      if (s.grant_id != 0 && st.grants.erase(s.grant_id) == 0)
        s.grant_id = 0;
      if (st.remote)
        self->send(st.remote, atom::settle_v, s);
      else
        keep_pending(self, std::move(s));
    },
    [self](atom::release, uint64_t grant_id) {
      auto& st = self->state;
      if (st.remote && st.grants.erase(grant_id) > 0)
        self->send(st.remote, atom::release_v, grant_id);
    },
    [self](atom::retry, uint64_t ticket) {
      // The server's early wake: tell the stage that holds the ticket.
      auto& st = self->state;
      auto i = st.tickets.find(ticket);
      if (i == st.tickets.end())
        return;
      if (auto to = caf::actor_cast<caf::actor>(i->second))
        caf::anon_send(to, atom::retry_v, ticket);
    },
    [self](atom::tick) { connect(self); },
    [self](atom::hold, std::string& why) {
      self->state.held = why.empty() ? "unnamed" : std::move(why);
    },
    [self](atom::resume) { self->state.held.clear(); },
    [self](atom::snapshot) -> caf::result<token_status> {
      auto& st = self->state;
      if (!st.remote || !st.held.empty())
        return unreachable_status(self);
      auto rp = self->make_response_promise<token_status>();
      self->request(st.remote, st.cfg.timeout, atom::snapshot_v)
        .then([rp](token_status& x) mutable { rp.deliver(std::move(x)); },
              [self, rp](caf::error&) mutable {
                rp.deliver(unreachable_status(self));
              });
      return rp;
    },
    [self](atom::status) -> caf::result<caf::settings> {
      auto rp = self->make_response_promise<caf::settings>();
      auto link = [self](caf::settings xs) {
        auto& st = self->state;
        caf::settings l;
        l.emplace("server", where(st.cfg));
        l.emplace("connected", static_cast<bool>(st.remote));
        if (!st.unreachable.empty())
          l.emplace("unreachable", st.unreachable);
        l.emplace("connects", static_cast<int64_t>(st.connects));
        l.emplace("disconnects", static_cast<int64_t>(st.disconnects));
        l.emplace("failed-attempts", static_cast<int64_t>(st.failed_attempts));
        l.emplace("refused-acquires",
                  static_cast<int64_t>(st.refused_acquires));
        l.emplace("pending-settlements",
                  static_cast<int64_t>(st.pending.size()));
        l.emplace("probes", static_cast<int64_t>(st.probes));
        xs.emplace("link", std::move(l));
        put_mailbox(self, xs);
        return xs;
      };
      auto& st = self->state;
      if (!st.remote || !st.held.empty()) {
        rp.deliver(link(token_settings(unreachable_status(self))));
        return rp;
      }
      self->request(st.remote, st.cfg.timeout, atom::snapshot_v)
        .then(
          [rp, link](token_status& x) mutable {
            rp.deliver(link(token_settings(x)));
          },
          [self, rp, link](caf::error&) mutable {
            rp.deliver(link(token_settings(unreachable_status(self))));
          });
      return rp;
    },
  };
}

caf::error parse_endpoint(const std::string& str, std::string& host,
                          uint16_t& port) {
  auto bad = [&](const std::string& why) {
    return caf::make_error(ec::invalid_config,
                           "budget server \"" + str + "\": " + why
                             + " (expected HOST:PORT)");
  };
  auto colon = str.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return bad("no host");
  auto digits = str.substr(colon + 1);
  if (digits.empty() || digits.size() > 5
      || !std::all_of(digits.begin(), digits.end(),
                      [](char c) { return c >= '0' && c <= '9'; }))
    return bad("no port");
  auto n = std::stoul(digits);
  if (n == 0 || n > 65535)
    return bad("port out of range");
  host = str.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  port = static_cast<uint16_t>(n);
  return caf::none;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace keepa
