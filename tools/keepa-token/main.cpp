// keepa-token: the budget server (issue 22). One Keepa key's TOKEN,
// published over CAF's middleman with mutual TLS, for several
// keepa-pipeline processes (--keepa.token.remote=HOST:PORT):
//
//   keepa-token [--keepa.token.host=127.0.0.1] [--keepa.token.port=4272]
//               [--keepa.profile=auto] [--openssl.certificate=C
//                --openssl.key=K --openssl.cafile=CA]
//
// It holds no API key and asks Keepa nothing: it learns the balance from
// the observations its clients settle (every answer's envelope, and the
// /token probe each client makes after it connects). Until one arrives it
// grants nothing. A client that goes down (process killed, connection
// lost) has its outstanding grants ended at once. On loopback the owner's
// own CA serves (created once, as for INTROSPECTION); any other interface
// needs openssl.* certificates and is refused without them.
//
// Prints "keepa-token: TOKEN on HOST:PORT" once published, then a status
// line every keepa.status-every, and stops on SIGINT/SIGTERM. The line
// ends with each connected pipeline's share ("shares RELAY weight W
// consumed N (S %), ..."); the same figures are TOKEN's snapshot
// (token_status::consumers) and each pipeline's /status `token.consumers`.
// Pipelines share the budget in proportion to their --keepa.token.weight.

#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/token/token.hpp"
#include "config/defaults.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "tools/keepa-pipeline/budget.hpp"

using namespace keepa;

namespace {

/// Per consumer process: " | shares RELAY weight W consumed N (S %) granted
/// G credit C waiting K, ...".
std::string shares_of(const token_status& st) {
  std::string result;
  for (auto& c : st.consumers) {
    result += result.empty() ? " | shares " : ", ";
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%.1f", 100.0 * c.share);
    result += c.consumer + " weight " + std::to_string(c.weight) + " consumed "
      + std::to_string(c.consumed) + " (" + pct + " %) granted "
      + std::to_string(c.granted) + " credit "
      + std::to_string(std::llround(c.credit)) + " waiting "
      + std::to_string(c.waiting);
  }
  return result;
}

std::string line_of(const token_status& st) {
  return "keepa-token: balance " + std::to_string(st.projected)
    + " | outstanding " + std::to_string(st.outstanding) + " | " + st.mode
    + " | queue " + std::to_string(st.queue.size()) + " | granted "
    + std::to_string(st.totals.granted) + " in "
    + std::to_string(st.totals.grants) + " grants | consumed "
    + std::to_string(st.totals.consumed) + " | expired "
    + std::to_string(st.totals.expired_grants) + " | observation age "
    + std::to_string(
           std::chrono::duration_cast<std::chrono::seconds>(st.observation_age)
             .count())
    + "s" + shares_of(st);
}

} // namespace

int main(int argc, char** argv) {
  pipeline_config cfg;
  if (auto err = cfg.load(argc, argv)) {
    std::cerr << "keepa-token: " << render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto tcfg = token_config_from(cfg);
  if (auto err = validate(tcfg)) {
    std::cerr << "keepa-token: " << render(err) << "\n";
    return 2;
  }
  auto host = caf::get_or(cfg, "keepa.token.host",
                          std::string{defaults::token::server_host});
  auto port = caf::get_or(cfg, "keepa.token.port",
                          defaults::token::server_port);
  auto every = caf::get_or(cfg, "keepa.status-every",
                           caf::timespan{defaults::status_every});
  if (auto err = prepare_budget_server(cfg, host)) {
    std::cerr << "keepa-token: " << render(err) << "\n";
    return 2;
  }
  // SIGINT/SIGTERM are taken by sigtimedwait below, in no other thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  caf::actor_system sys{cfg};
  // No key, no probe: observations come from the clients' settlements.
  tcfg.probe = nullptr;
  auto token = sys.spawn(keepa::token, tcfg);
  auto bound = caf::openssl::publish(token, port, host.c_str(), true);
  if (!bound) {
    std::cerr << "keepa-token: cannot serve TOKEN on " << host << ":" << port
              << " (" << render(bound.error()) << ")\n";
    caf::anon_send_exit(token, caf::exit_reason::user_shutdown);
    return 1;
  }
  std::cerr << "keepa-token: TOKEN on " << host << ":" << *bound
            << " (CAF, mutual TLS: certificate " << cfg.openssl_certificate
            << ", peers of CA " << cfg.openssl_cafile << cfg.openssl_capath
            << ")" << std::endl;
  caf::scoped_actor self{sys};
  for (;;) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(every);
    auto rest
      = std::chrono::duration_cast<std::chrono::nanoseconds>(every - secs);
    timespec wait{static_cast<time_t>(secs.count()),
                  static_cast<long>(rest.count())};
    if (sigtimedwait(&signals, nullptr, &wait) > 0)
      break;
    self->request(token, std::chrono::seconds(5), atom::snapshot_v)
      .receive([](const token_status& st) { std::cerr << line_of(st) << "\n"; },
               [](const caf::error& err) {
                 std::cerr << "keepa-token: no snapshot: " << render(err)
                           << "\n";
               });
  }
  std::cerr << "keepa-token: stopping\n";
  caf::anon_send_exit(token, caf::exit_reason::user_shutdown);
  return 0;
}
