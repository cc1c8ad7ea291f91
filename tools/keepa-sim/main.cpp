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
#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/message.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>

#include "config/api_key.hpp"
#include "messages/error.hpp"
#include "tools/keepa-sim/model.hpp"
#include "tools/keepa-sim/server.hpp"

namespace {

using keepa::ec;

/// keepa-sim's options, all in group `sim`; an absent option keeps the
/// default of keepa::sim::options or keepa::sim::server_options.
class sim_config : public caf::actor_system_config {
public:
  sim_config() {
    opt_group{custom_options_, "sim"}
      .add<int64_t>("port",
                    "listen on 127.0.0.1:PORT (0 = a free port, printed)")
      .add<std::string>("key",
                        "the one accepted key (else key-file, else "
                        "$KEEPA_SIM_KEY, else \"sim-key\")")
      .add<std::string>("key-file", "file holding the key (one word)")
      .add<int64_t>("refill-rate", "tokens per minute (5)")
      .add<int64_t>("initial-tokens", "starting balance (-1 = full, 60 x R)")
      .add<double>("flow-reduction",
                   "tokenFlowReduction: trackings' cut of the refill (0)")
      .add<std::string>("flow-schedule",
                        "changes of it: MINUTE:VALUE,... (minutes after "
                        "the start)")
      .add<int64_t>("lockout-floor",
                    "refuse requests that would go below this (off)")
      .add<int64_t>("seed", "catalogue, feed and fault seed (1)")
      .add<int64_t>("products", "catalogue size (5000)")
      .add<double>("peek-fraction",
                   "share passing a peek-style filter "
                   "(0.15)")
      .add<double>("good-fraction", "share of good deals (0.03)")
      .add<double>("update-rate", "product updates per minute (4)")
      .add<int64_t>("latency-ms", "answer latency in ms (0)")
      .add<double>("rate-5xx", "share of requests answered 500 (0)")
      .add<double>("rate-timeout", "share of requests held, then closed (0)")
      .add<double>("rate-reset", "share of connections reset (0)")
      .add<double>("rate-malformed", "share of malformed JSON answers (0)")
      .add<double>("rate-truncated", "share of truncated answers (0)")
      .add<double>("rate-429-storm",
                   "share of requests starting a 429 "
                   "storm (0)")
      .add<int64_t>("storm-length", "429 answers per storm (8)")
      .add<double>("rate-offers-fail",
                   "share of products whose offer fetch fails (0)")
      .add<int64_t>("timeout-hold-ms",
                    "how long a timed-out request is held, ms (30000)")
      .add<int64_t>("threads", "HTTP worker threads (16)")
      .add<std::string>("export-truth",
                        "write the good-deal ASINs to this "
                        "file (at start and at exit)")
      .add<bool>("strict",
                 "reject numeric strings and unknown parameters "
                 "(a flag: --sim.strict)");
  }

  /// The `sim` options as CAF's help lists a group: CAF 0.17's --help
  /// shows the global group only (--long-help shows every group).
  std::string sim_help() const {
    auto text = [](caf::string_view x) {
      return std::string{x.begin(), x.end()};
    };
    std::vector<std::pair<std::string, std::string>> lines;
    size_t width = 0;
    for (auto& opt : custom_options_) {
      if (opt.category() != "sim")
        continue;
      auto lhs = "  --sim." + text(opt.long_name());
      if (!opt.is_flag())
        lhs += "=<" + text(opt.type_name()) + ">";
      width = std::max(width, lhs.size());
      lines.emplace_back(lhs, text(opt.description()));
    }
    std::string out = "sim options:\n";
    for (auto& [lhs, description] : lines)
      out += lhs + std::string(width - lhs.size(), ' ') + " : " + description
        + "\n";
    return out;
  }

  /// --dump-config shows that a key was given, never the key.
  caf::settings dump_content() const override {
    auto result = actor_system_config::dump_content();
    auto sim = result.find("sim");
    if (sim == result.end()
        || !caf::holds_alternative<caf::settings>(sim->second))
      return result;
    auto& group = sim->second.as_dictionary();
    if (auto key = group.find("key"); key != group.end())
      key->second = caf::config_value{std::string{"<key>"}};
    return result;
  }
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

/// One line for an error of CAF's command line parser: what went wrong
/// and the option's name (not its value, which may be the key).
std::string describe_cli_error(const caf::error& err) {
  if (err.category() != caf::atom("parser"))
    return keepa::render(err);
  std::string what = to_string(static_cast<caf::pec>(err.code()));
  // CAF 0.17 puts {"argument" = "--name=value"} in the context.
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<caf::settings>(0)) {
    auto arg = caf::get_or(ctx.get_as<caf::settings>(0), "argument",
                           std::string{});
    if (!arg.empty())
      what += " in " + arg.substr(0, arg.find('='));
  }
  return what + " (options are --sim.NAME=VALUE; see --help)";
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
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "keepa-sim: " << describe_cli_error(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed) {
    for (int i = 1; i < argc; ++i)
      if (std::string arg = argv[i];
          arg == "-h" || arg == "-?" || arg == "--help") {
        std::cout << cfg.sim_help();
        break;
      }
    return 0;
  }
  if (!cfg.remainder.empty()) {
    // Not echoed: it may be a key given as `--sim.key KEY`.
    std::cerr << "keepa-sim: unexpected argument (options are "
                 "--sim.NAME=VALUE; see --help)\n";
    return 2;
  }
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
