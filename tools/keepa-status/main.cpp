// keepa-status: asks a running keepa-pipeline's HTTP endpoint (/status.txt,
// or /status with --json) and prints every actor's state: TOKEN's balance,
// mode, what it waits for and when, its queue; the stage counters and
// batches in flight; mailbox sizes where an actor reports them. --json
// prints one JSON object (the same as HTTP /status).
//
//   keepa-status [--host=127.0.0.1] [--port=4271] [--token-file=F] [--json]
//                [--timeout=2s]
//
// The token comes from the file keepa-pipeline wrote at start (mode 0600;
// by default http-PORT.token in $XDG_RUNTIME_DIR/keepa-pipeline or
// ~/.keepa-pipeline), so only its owner can read the status.
//
// Exit codes: 0 printed, 1 nothing listens, refused or no answer, 2 bad
// options or no readable token file.

#include <iostream>

#include <caf/actor_system_config.hpp>

#include "messages/error.hpp"
#include "tools/keepa-pipeline/collect.hpp"
#include "tools/keepa-pipeline/service.hpp"

namespace {

class status_config : public caf::actor_system_config {
public:
  std::string host = "127.0.0.1";
  uint16_t port = keepa::defaults::http::port;
  std::string token_file;
  bool json = false;
  caf::timespan timeout = std::chrono::seconds{2};

  status_config() {
    opt_group{custom_options_, "global"}
      .add(host, "host", "address of keepa-pipeline's keepa.http.host")
      .add(port, "port", "keepa.http.port of keepa-pipeline (default 4271)")
      .add(token_file, "token-file",
           "keepa.http.token-file of keepa-pipeline (default http-PORT.token "
           "in $XDG_RUNTIME_DIR/keepa-pipeline or ~/.keepa-pipeline)")
      .add(json, "json", "print one JSON object")
      .add(timeout, "timeout", "bound for the request");
  }
};

} // namespace

int main(int argc, char** argv) {
  status_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "keepa-status: " << keepa::render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto file = cfg.token_file.empty() ? keepa::default_token_file(cfg.port)
                                     : cfg.token_file;
  auto token = keepa::read_token_file(file);
  if (!token) {
    std::cerr << "keepa-status: " << keepa::render(token.error())
              << "; is a keepa-pipeline of yours running with "
                 "--keepa.http.port="
              << cfg.port << "?\n";
    return 2;
  }
  auto body = keepa::fetch_status(cfg.host, cfg.port, *token,
                                  cfg.json ? "/status" : "/status.txt",
                                  cfg.timeout);
  if (!body) {
    std::cerr << "keepa-status: no status from keepa-pipeline at " << cfg.host
              << ":" << cfg.port << " (" << keepa::render(body.error())
              << ")\n";
    return 1;
  }
  if (!cfg.json)
    std::cout << "keepa-pipeline at " << cfg.host << ":" << cfg.port << "\n";
  std::cout << *body;
  return 0;
}
