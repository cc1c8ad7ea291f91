// keepa-status: connects to a running keepa-pipeline through CAF's
// middleman and prints every actor's state: TOKEN's balance, mode, what it
// waits for and when, its queue; the stage counters and batches in flight;
// mailbox sizes where an actor reports them. --json prints one JSON object
// (the same as keepa-pipeline's HTTP /status).
//
//   keepa-status [--host=127.0.0.1] [--port=4270] [--json] [--timeout=2s]
//
// Exit codes: 0 printed, 1 nothing listens or no answer, 2 bad options.

#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/make_config_option.hpp>

#include "messages/fwd.hpp"
#include "tools/keepa-pipeline/collect.hpp"

namespace {

class status_config : public caf::actor_system_config {
public:
  std::string host = "127.0.0.1";
  uint16_t port = 4270;
  bool json = false;
  caf::timespan timeout = std::chrono::seconds{2};

  status_config() {
    keepa::add_message_types(*this);
    load<caf::io::middleman>();
    opt_group{custom_options_, "global"}
      .add(host, "host", "address of keepa-pipeline's introspection port")
      .add(port, "port", "keepa.introspection.port of keepa-pipeline")
      .add(json, "json", "print one JSON object")
      .add(timeout, "timeout", "bound for each request");
    // Quiet: this is a short-lived client.
    set("logger.file-verbosity", caf::atom("quiet"));
    set("logger.console-verbosity", caf::atom("quiet"));
  }
};

} // namespace

int main(int argc, char** argv) {
  status_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "keepa-status: " << to_string(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  caf::actor_system sys{cfg};
  auto report = keepa::fetch_remote_report(sys, cfg.host, cfg.port,
                                           cfg.timeout);
  if (!report) {
    std::cerr << "keepa-status: no keepa-pipeline at " << cfg.host << ":"
              << cfg.port << " (" << sys.render(report.error())
              << "); is it running with --keepa.introspection.port=" << cfg.port
              << "?\n";
    return 1;
  }
  if (cfg.json) {
    std::cout << keepa::to_json(*report) << "\n";
  } else {
    std::cout << "keepa-pipeline at " << cfg.host << ":" << cfg.port << "\n"
              << keepa::to_text(*report);
  }
  return 0;
}
