// keepa-pipeline: spawns the pipeline actors, shows one live status line on
// a terminal (redrawn every keepa.status-refresh, fitted to its width; not on
// a terminal, a status record every keepa.status-every), logs through
// config/logger.hpp (timestamps, levels, keepa.log.*), and stops cleanly on
// SIGINT/SIGTERM, --keepa.run-for or --keepa.max-deals: no new work,
// in-flight requests finish or release their grants, storage is flushed.
//
//   KEEPA_API_KEY=... keepa-pipeline
//   --keepa.client.endpoint=http://127.0.0.1:PORT
//     --keepa.storage.url=sqlite:deals.db --keepa.run-for=60s
//
// While it runs, the read-only INTROSPECTION actor (keepa.introspection.port,
// default 4270, over CAF's OpenSSL module with mutual TLS) and HTTP /status,
// /status.txt and /metrics (keepa.http.port, default 4271, read-only,
// behind a per-run token) show every actor's state; see service.hpp.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include <pthread.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/config_value.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/pipeline/pipeline.hpp"
#include "config/cli.hpp"
#include "config/defaults.hpp"
#include "config/logger.hpp"
#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/storage.hpp"
#include "tools/keepa-pipeline/budget.hpp"
#include "tools/keepa-pipeline/service.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

/// SIGINT and SIGTERM as a message, without polling: blocked in every
/// thread (construct it before the actor system starts its threads), taken
/// by one thread with sigwait, which sends `stop` to the main loop.
class stop_signals {
public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }

  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  /// Sends `stop` to `whom` at the first SIGINT or SIGTERM.
  void tell(caf::actor whom) {
    waiter_ = std::thread{[this, whom] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (!done_)
        caf::anon_send(whom, atom::stop_v);
    }};
  }

  ~stop_signals() {
    forget();
  }

  /// Ends the waiter (the signals stay blocked: a later one is ignored).
  void forget() {
    if (!waiter_.joinable())
      return;
    done_ = true;
    // Wakes the waiter if no signal came; ESRCH once it has returned.
    pthread_kill(waiter_.native_handle(), SIGTERM);
    waiter_.join();
  }

private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

/// Exit codes (README, "Exit codes"): 0 done, 1 an actor ended or storage
/// did not confirm the final flush, 2 bad configuration, 3 Keepa refused
/// the API key keepa.client.max-auth-failures times in a row.
constexpr int exit_key_refused = 3;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// No new work, in-flight requests finish, storage flushed; bounded.
/// Returns whether storage confirmed the flush.
bool shut_down(caf::scoped_actor& self, const pipeline_handles& h,
               console& out) {
  auto deadline = 8s;
  for (auto& [name, hdl] : stop_order(h))
    self->request(hdl, deadline, atom::stop_v)
      .receive([](caf::ok_atom) {},
               [&, name = name](caf::error& err) {
                 out.log(log_level::error,
                         "keepa-pipeline: " + name
                           + " did not stop: " + render(err));
               });
  bool flushed = false;
  self->request(h.storage, deadline, atom::flush_v)
    .receive([&](caf::ok_atom) { flushed = true; },
             [&](caf::error& err) {
               out.log(log_level::error,
                       "keepa-pipeline: flush failed: " + render(err));
             });
  return flushed;
}

/// Monitors every actor of `h`; returns their names by address.
std::map<caf::actor_addr, std::string> watch(caf::scoped_actor& self,
                                             const pipeline_handles& h) {
  std::map<caf::actor_addr, std::string> result;
  auto all = status_actors(h);
  all.emplace_back("probe-client",
                   caf::actor_cast<status_client_actor>(h.probe_client));
  for (auto& [name, hdl] : all) {
    self->monitor(hdl);
    result.emplace(hdl.address(), name);
  }
  return result;
}

void exit_all(caf::scoped_actor& self, const pipeline_handles& h) {
  for (auto& kvp : status_actors(h))
    self->send_exit(kvp.second, caf::exit_reason::user_shutdown);
  self->send_exit(h.probe_client, caf::exit_reason::user_shutdown);
}

} // namespace

int main(int argc, char** argv) {
  // Every keepa.* option, run control included, comes with pipeline_config.
  // The middleman and OpenSSL module come with keepa.introspection.port
  // (prepare_publication; service.hpp).
  pipeline_config cfg;
  cfg.describe("Harvests Amazon deals from the Keepa API as fast as the "
               "plan's token bucket allows.");
  if (auto err = cfg.load(argc, argv)) {
    std::cerr << "keepa-pipeline: " << plain_words(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto log_opts = log_options_from(cfg.content);
  if (!log_opts) {
    std::cerr << "keepa-pipeline: " << plain_words(log_opts.error()) << "\n";
    return 2;
  }
  auto settings = pipeline_settings_from(cfg);
  if (!settings) {
    std::cerr << "keepa-pipeline: " << plain_words(settings.error()) << "\n";
    return 2;
  }
  auto run_for = caf::get_or(cfg, "keepa.run-for",
                             caf::timespan{defaults::run_for});
  auto max_deals = caf::get_or(cfg, "keepa.max-deals", defaults::max_deals);
  bool tty = isatty(STDERR_FILENO) != 0;
  // On a terminal the live line is redrawn often; a journal gets one a
  // minute.
  auto every = tty ? caf::get_or(cfg, "keepa.status-refresh",
                                 caf::timespan{defaults::status_refresh})
                   : caf::get_or(cfg, "keepa.status-every",
                                 caf::timespan{defaults::status_every});
  console out{"keepa-pipeline", *log_opts, tty};
  if (!settings->client.cleartext_host.empty())
    out.log(log_level::warning,
            "keepa-pipeline: WARNING: --keepa.client.allow-insecure: the API "
            "key goes in CLEARTEXT over http:// to "
              + settings->client.cleartext_host
              + "; anyone on the path can read and use it");
  settings->log = out.sink();
  settings->unix0_ms = wall_ms();
  auto introspection_opts = introspection_options_from(cfg.content);
  if (auto err = prepare_publication(cfg, introspection_opts, settings->log)) {
    std::cerr << "keepa-pipeline: " << plain_words(err) << "\n";
    return 2;
  }
  if (auto err = prepare_http(introspection_opts)) {
    std::cerr << "keepa-pipeline: " << render(err) << "\n";
    return 2;
  }
  if (!settings->token_remote.empty())
    if (auto err = prepare_budget_client(cfg, introspection_opts.publish)) {
      std::cerr << "keepa-pipeline: " << render(err) << "\n";
      return 2;
    }
  stop_signals signals;
  caf::actor_system sys{cfg};
  if (!settings->token_remote.empty())
    settings->token_connector = sys.openssl_manager().actor_handle();
  auto spawned = spawn_pipeline(sys, *settings);
  // The connector is the middleman's (detached) actor: a handle kept past
  // this point would hold the actor system's end forever.
  settings->token_connector = nullptr;
  if (!spawned) {
    std::cerr << "keepa-pipeline: " << plain_words(spawned.error()) << "\n";
    return 2;
  }
  auto& h = *spawned;
  introspection_service introspection{sys, h, introspection_opts,
                                      settings->log};
  caf::scoped_actor self{sys};
  signals.tell(caf::actor_cast<caf::actor>(self));
  // No actor ends while the pipeline runs: any that does (STORAGE after a
  // permanent database error, say) stops the whole program, non-zero.
  auto watched = watch(self, h);
  std::string died;
  // Why Keepa refused the key, when a KEEPA CLIENT ended for that.
  std::string refused;
  auto started = std::chrono::steady_clock::now();
  auto next_status = started;
  pipeline_report last;
  // What the status line shows of the run so far.
  auto view = [&](std::chrono::steady_clock::time_point now, size_t width) {
    status_view v;
    v.width = width;
    v.elapsed = std::chrono::duration_cast<caf::timespan>(now - started);
    return v;
  };
  std::string why = "signal";
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (run_for.count() > 0 && now - started >= run_for) {
      why = "run-for reached";
      break;
    }
    if (now >= next_status) {
      last = introspection.report(report_scope::status_line);
      // A terminal's last column stays free: writing it wraps some.
      auto columns = terminal_width(STDERR_FILENO);
      out.status(status_line(
        last, view(now, tty ? (columns > 1 ? columns - 1 : 79) : 0)));
      next_status = now + every;
      if (max_deals > 0
          && last.num("committer", "committed")
            >= static_cast<int64_t>(max_deals)) {
        why = "max-deals reached";
        break;
      }
    }
    // The main thread only watches the clock, the signals and the actors'
    // ends; all work runs in actors. It sleeps until the next status line
    // (or the end of run-for) unless a signal or an actor's end wakes it.
    auto wake = next_status;
    if (run_for.count() > 0)
      wake = std::min(wake, started + run_for);
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(
      std::max(wake - std::chrono::steady_clock::now(),
               std::chrono::steady_clock::duration::zero()));
    bool signalled = false;
    self->receive(
      [&](caf::down_msg& msg) {
        died = watched[msg.source] + " ended: " + render(msg.reason);
        if (msg.reason == ec::key_refused)
          refused = msg.reason.context().match_elements<std::string>()
            ? msg.reason.context().get_as<std::string>(0)
            : render(msg.reason);
      },
      [&](atom::stop) { signalled = true; }, caf::after(wait) >> [] {});
    if (signalled)
      break;
    if (!died.empty()) {
      why = died;
      break;
    }
  }
  signals.forget();
  out.end_status();
  out.log(log_level::info, "keepa-pipeline: stopping (" + why + ")");
  auto flushed = shut_down(self, h, out);
  last = introspection.report(report_scope::status_line);
  std::cout << "keepa-pipeline summary: "
            << status_line(last, view(std::chrono::steady_clock::now(), 0))
            << "\n"
            << "  stored deals " << last.counts.deals << ", rejections "
            << last.counts.rejections << ", watermark lastUpdate "
            << last.counts.watermark.last_update << "\n"
            << "  tokens consumed " << last.token.totals.consumed
            << " (granted " << last.token.totals.granted << ", released "
            << last.token.totals.released << ")\n";
  introspection.stop();
  exit_all(self, h);
  if (!refused.empty()) {
    std::cerr << "keepa-pipeline: stopped: " << refused
              << "; check KEEPA_API_KEY or --keepa.client.key-file (and the "
                 "plan), or raise --keepa.client.max-auth-failures\n";
    return exit_key_refused;
  }
  if (!died.empty()) {
    out.log(log_level::error, "keepa-pipeline: failed: " + died);
    return 1;
  }
  if (!flushed) {
    out.log(log_level::error,
            "keepa-pipeline: failed: storage did not confirm the flush (what "
            "it had not acknowledged is scanned again on the next start)");
    return 1;
  }
  return 0;
}
