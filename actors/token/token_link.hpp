// TOKEN LINK (issue 22): a pipeline's TOKEN when the budget is shared by
// several processes. It speaks the TOKEN protocol to the stages and the
// client of its own process and relays it to a budget server (keepa-token)
// over CAF's middleman:
//
//   stage --acquire--> LINK --acquire--> remote TOKEN --reply--> LINK --> stage
//   client --settle/release--> LINK --> remote TOKEN
//   remote TOKEN --retry(ticket)--> LINK --retry(ticket)--> stage
//
// While the server is out of reach it grants nothing: every acquire is
// answered at once with a recharge-wait ("budget server unreachable"), so
// the stages send no request; it reconnects with backoff. A grant belongs
// to one connection: the server ends a lost connection's grants itself, so
// after a reconnect the link relays their settlements as plain
// observations (grant id 0) and drops their releases; tickets of an older
// connection are presented as new requests. Settlements that arrive while
// unreachable are kept (the newest `max_pending`) and relayed on reconnect.
// After each connect the link asks /token through `probe` (free) and
// settles the observation, so a restarted server, which holds no key,
// learns the balance before it grants. STORAGE's hold stays local: it
// stops this process, not the others. Every relayed acquire carries the
// process's weight; the server shares the budget between links in
// proportion to their weights.

#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>

#include <caf/actor_addr.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/token/token_bucket.hpp"
#include "config/defaults.hpp"
#include "messages/actors.hpp"

namespace keepa {

/// Settings of the TOKEN LINK.
struct token_link_config {
  std::string host;
  uint16_t port = 0;
  /// Connects (a middleman actor: caf::openssl's for mutual TLS).
  caf::io::middleman_actor connector;
  /// Asks /token after each connect; may be null.
  token_probe_actor probe;
  /// Backoff between connection attempts: doubles from `backoff_min`.
  duration backoff_min = std::chrono::milliseconds{250};
  duration backoff_max = std::chrono::seconds{5};
  /// Bound of one connection attempt and of every relayed request.
  duration timeout = std::chrono::seconds{10};
  /// The retry time handed to stages while unreachable or held.
  duration retry = std::chrono::seconds{1};
  /// Settlements kept while unreachable.
  size_t max_pending = 1000;
  /// This process's weight among the server's consumers
  /// (`keepa.token.weight`), sent with every acquire.
  int64_t weight = defaults::token::weight;
};

/// The link: TOKEN's interface, plus `retry` for the server's early wakes.
using token_link_actor
  = sig::token::extend<caf::reacts_to<atom::retry, uint64_t>>::unwrap;

struct token_link_state {
  static constexpr const char* name = "token-link";

  token_link_config cfg;
  /// The server's TOKEN; null while unreachable.
  token_actor remote;
  /// Grants and waiting tickets handed out over the current connection;
  /// tickets with the stage that presented them.
  std::set<uint64_t> grants;
  std::map<uint64_t, caf::actor_addr> tickets;
  std::deque<settlement> pending;
  duration backoff{0};
  /// A connection attempt is under way.
  bool connecting = false;
  /// Why the server is out of reach; empty while connected.
  std::string unreachable = "not connected yet";
  /// STORAGE's hold (local); empty while not held.
  std::string held;
  uint64_t connects = 0;
  uint64_t disconnects = 0;
  uint64_t failed_attempts = 0;
  /// Acquires answered "unreachable".
  uint64_t refused_acquires = 0;
  uint64_t probes = 0;
  /// The last ticket of a local recharge-wait (a range the server's
  /// counter never reaches).
  uint64_t local_tickets = uint64_t{1} << 62;
};

using token_link_pointer = token_link_actor::stateful_pointer<token_link_state>;

token_link_actor::behavior_type token_link(token_link_pointer self,
                                           token_link_config cfg);

/// Parses "HOST:PORT" (the port 1..65535); an error names `what`.
caf::error parse_endpoint(const std::string& str, std::string& host,
                          uint16_t& port);

/// Whether `host` names the loopback interface (127.0.0.0/8, ::1,
/// localhost).
bool is_loopback(const std::string& host);

} // namespace keepa
