// keepa-sim: a faithful Keepa API simulator on 127.0.0.1.
//
//   keepa-sim --sim.port=0 --sim.refill-rate=250 --sim.products=5000
//
// Options come through CAF's actor_system_config (group `sim`, also from a
// config file's [sim] section); --help lists them, --dump-config prints
// them. Prints `listening on 127.0.0.1:PORT` as its first stdout line,
// serves until SIGINT/SIGTERM, then exits 0; 2 on bad options, 1 when it
// cannot serve. The key (--sim.key, --sim.key-file or KEEPA_SIM_KEY) is
// never printed.

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <pthread.h>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>
#include <caf/message.hpp>
#include <caf/settings.hpp>

#include "config/api_key.hpp"
#include "config/cli.hpp"
#include "config/option_adder.hpp"
#include "messages/error.hpp"
#include "tools/keepa-sim/model.hpp"
#include "tools/keepa-sim/server.hpp"

namespace {

using keepa::ec;

/// keepa-sim's options, all in group `sim`, with the defaults of
/// keepa::sim::options and keepa::sim::server_options.
class sim_config : public caf::actor_system_config {
public:
  sim_config() {
    using keepa::with_default;
    keepa::add_cli_options(custom_options_);
    const keepa::sim::options o;
    const keepa::sim::server_options so;
    program.summary = "A faithful Keepa API simulator on 127.0.0.1.";
    program.groups = {"sim"};
    program.secrets = {"sim.key"};
    keepa::option_adder{custom_options_, "sim", &program.defaults}
      .add<int64_t>("port",
                    with_default("listen on 127.0.0.1:PORT (0 = a free port, "
                                 "printed)",
                                 so.port))
      .add<std::string>("key",
                        "the one accepted key (default key-file, else "
                        "$KEEPA_SIM_KEY, else \"sim-key\")")
      .add<std::string>("key-file",
                        with_default("file holding the key (one word)", ""))
      .add<int64_t>("refill-rate",
                    with_default("tokens per minute", o.refill_rate))
      .add<int64_t>("initial-tokens",
                    with_default("starting balance (-1 = full, 60 x R)",
                                 o.initial_tokens))
      .add<double>("flow-reduction",
                   with_default("tokenFlowReduction: trackings' cut of the "
                                "refill",
                                o.flow_reduction))
      .add<std::string>("flow-schedule",
                        with_default("changes of it: MINUTE:VALUE,... "
                                     "(minutes after the start)",
                                     ""))
      .add<int64_t>("lockout-floor",
                    "refuse requests that would go below this (default "
                    "off)")
      .add<int64_t>("seed",
                    with_default("catalogue, feed and fault seed", o.seed))
      .add<int64_t>("products", with_default("catalogue size", o.products))
      .add<double>("peek-fraction",
                   with_default("share passing a peek-style filter",
                                o.peek_pass_fraction))
      .add<double>("good-fraction",
                   with_default("share of good deals", o.good_fraction))
      .add<double>("update-rate",
                   with_default("product updates per minute", o.update_rate))
      .add<int64_t>("latency-ms",
                    with_default("answer latency in ms", o.latency_ms))
      .add<double>("rate-5xx",
                   with_default("share of requests answered 500", o.rate_5xx))
      .add<double>("rate-timeout",
                   with_default("share of requests held, then closed",
                                o.rate_timeout))
      .add<double>("rate-reset",
                   with_default("share of connections reset", o.rate_reset))
      .add<double>("rate-malformed",
                   with_default("share of malformed JSON answers",
                                o.rate_malformed))
      .add<double>("rate-truncated",
                   with_default("share of truncated answers", o.rate_truncated))
      .add<double>("rate-429-storm",
                   with_default("share of requests starting a 429 storm",
                                o.rate_429_storm))
      .add<int64_t>("storm-length",
                    with_default("429 answers per storm", o.storm_length))
      .add<double>("rate-offers-fail",
                   with_default("share of products whose offer fetch fails",
                                o.rate_offers_fail))
      .add<int64_t>("timeout-hold-ms",
                    with_default("how long a timed-out request is held, ms",
                                 o.timeout_hold_ms))
      .add<int64_t>("threads", with_default("HTTP worker threads", so.threads))
      .add<std::string>("export-truth",
                        with_default("write the good-deal ASINs to this "
                                     "file (at start and at exit)",
                                     ""))
      .add<bool>("strict",
                 with_default("reject numeric strings and unknown parameters "
                              "(a flag: --sim.strict)",
                              o.strict));
  }

  /// Parses the command line (config/cli.hpp).
  caf::error read_command_line(int argc, char** argv) {
    return keepa::parse_command_line(*this, custom_options_, argc, argv,
                                     program);
  }

private:
  keepa::cli_program program;
};

/// The model's and the server's options, and where to write the truth.
struct sim_setup {
  keepa::sim::options model;
  keepa::sim::server_options server;
  std::string truth;
};

caf::error bad(const std::string& what) {
  return caf::make_error(ec::invalid_config, what);
}

/// `MINUTE:VALUE,...` (minutes after the start, ascending; values >= 0)
/// into the model's flow_schedule; "" is an empty schedule.
bool parse_flow_schedule(const std::string& text,
                         std::vector<std::pair<int64_t, double>>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    auto end = std::min(text.find(',', pos), text.size());
    auto item = text.substr(pos, end - pos);
    pos = end + 1;
    auto colon = item.find(':');
    if (colon == std::string::npos)
      return false;
    char* rest = nullptr;
    auto minute = std::strtoll(item.c_str(), &rest, 10);
    if (rest != item.c_str() + colon || colon == 0 || minute < 0
        || minute > INT_MAX)
      return false;
    auto value_text = item.substr(colon + 1);
    auto value = std::strtod(value_text.c_str(), &rest);
    if (value_text.empty() || *rest != '\0' || !(value >= 0))
      return false;
    if (!out.empty() && minute * 60000 < out.back().first)
      return false;
    out.emplace_back(minute * 60000, value);
  }
  return true;
}

/// Reads the `sim.*` options over the defaults and checks their ranges.
caf::expected<sim_setup> setup_from(const caf::settings& cfg) {
  sim_setup s;
  auto& o = s.model;
  auto num = [&](const char* name, int64_t fallback) {
    return caf::get_or(cfg, std::string{"sim."} + name, fallback);
  };
  auto real = [&](const char* name, double fallback) {
    return caf::get_or(cfg, std::string{"sim."} + name, fallback);
  };
  auto port = num("port", s.server.port);
  auto products = num("products", o.products);
  auto threads = num("threads", s.server.threads);
  auto storm_length = num("storm-length", o.storm_length);
  o.refill_rate = num("refill-rate", o.refill_rate);
  o.initial_tokens = num("initial-tokens", o.initial_tokens);
  if (auto floor = caf::get_if<int64_t>(&cfg, "sim.lockout-floor"))
    o.lockout_floor = *floor;
  o.seed = static_cast<uint64_t>(num("seed", static_cast<int64_t>(o.seed)));
  o.peek_pass_fraction = real("peek-fraction", o.peek_pass_fraction);
  o.good_fraction = real("good-fraction", o.good_fraction);
  o.update_rate = real("update-rate", o.update_rate);
  o.latency_ms = num("latency-ms", o.latency_ms);
  o.rate_5xx = real("rate-5xx", o.rate_5xx);
  o.rate_timeout = real("rate-timeout", o.rate_timeout);
  o.rate_reset = real("rate-reset", o.rate_reset);
  o.rate_malformed = real("rate-malformed", o.rate_malformed);
  o.rate_truncated = real("rate-truncated", o.rate_truncated);
  o.rate_429_storm = real("rate-429-storm", o.rate_429_storm);
  o.rate_offers_fail = real("rate-offers-fail", o.rate_offers_fail);
  o.timeout_hold_ms = num("timeout-hold-ms", o.timeout_hold_ms);
  o.strict = caf::get_or(cfg, "sim.strict", false);
  o.flow_reduction = real("flow-reduction", o.flow_reduction);
  if (!(o.flow_reduction >= 0))
    return bad("sim.flow-reduction must be >= 0");
  auto plan = caf::get_or(cfg, "sim.flow-schedule", std::string{});
  if (!parse_flow_schedule(plan, o.flow_schedule))
    return bad("sim.flow-schedule must be MINUTE:VALUE,... with minutes "
               "in order and values >= 0");
  s.truth = caf::get_or(cfg, "sim.export-truth", std::string{});
  if (port < 0 || port > 65535)
    return bad("sim.port must be in 0..65535");
  if (products < 0 || products > INT_MAX)
    return bad("sim.products must be >= 0");
  if (threads < 1 || threads > 4096)
    return bad("sim.threads must be in 1..4096");
  if (storm_length < INT_MIN || storm_length > INT_MAX)
    return bad("sim.storm-length is out of range");
  if (o.refill_rate < 0 || o.latency_ms < 0 || o.timeout_hold_ms < 0
      || o.update_rate < 0)
    return bad("sim.refill-rate, sim.latency-ms, sim.timeout-hold-ms and "
               "sim.update-rate must be >= 0");
  s.server.port = static_cast<int>(port);
  s.server.threads = static_cast<int>(threads);
  o.products = static_cast<int>(products);
  o.storm_length = static_cast<int>(storm_length);
  return s;
}

/// The accepted key: sim.key, else sim.key-file, else $KEEPA_SIM_KEY, else
/// the model's default. Errors name the file, never the key.
caf::error resolve_key(const caf::settings& cfg, keepa::sim::options& o) {
  if (auto key = caf::get_or(cfg, "sim.key", std::string{}); !key.empty()) {
    o.key = key;
    return caf::none;
  }
  auto file = caf::get_or(cfg, "sim.key-file", std::string{});
  if (!file.empty()) {
    auto key = keepa::read_api_key_file(file);
    if (!key)
      return key.error();
    o.key = std::move(*key);
  } else if (auto env = std::getenv("KEEPA_SIM_KEY"); env && *env) {
    o.key = env;
  }
  return caf::none;
}

/// Serves until SIGINT or SIGTERM (blocked in every thread; one thread
/// waits for them). Returns the exit code.
int serve(sim_setup& s, sigset_t stop_signals) {
  try {
    keepa::sim::model m{s.model};
    if (!s.truth.empty())
      m.export_truth(s.truth);
    keepa::sim::server srv{m, s.server};
    auto port = srv.bind();
    if (port <= 0) {
      std::cerr << "keepa-sim: cannot bind 127.0.0.1:" << s.server.port << "\n";
      return 1;
    }
    std::cout << "listening on 127.0.0.1:" << port << std::endl;
    std::thread waiter{[&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      srv.stop();
    }};
    bool ok = srv.run();
    // If the listener ended on its own, release the waiter.
    if (!ok)
      kill(getpid(), SIGTERM);
    waiter.join();
    if (!s.truth.empty())
      m.export_truth(s.truth);
    std::cerr << "keepa-sim: stopped after " << srv.served() << " requests\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "keepa-sim: " << e.what() << "\n";
    return 1;
  }
}

} // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  sim_config cfg;
  if (auto err = cfg.read_command_line(argc, argv)) {
    std::cerr << "keepa-sim: " << keepa::plain_words(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto setup = setup_from(cfg.content);
  if (!setup) {
    std::cerr << "keepa-sim: " << keepa::render(setup.error()) << "\n";
    return 2;
  }
  if (auto err = resolve_key(cfg.content, setup->model)) {
    std::cerr << "keepa-sim: " << keepa::render(err) << "\n";
    return 2;
  }
  return serve(*setup, stop_signals);
}
