// keepa-status: asks a running keepa-pipeline and prints every actor's
// state: TOKEN's balance, mode, what it waits for and when, its queue; the
// stage counters and batches in flight; mailbox sizes where an actor
// reports them. --json prints one JSON object (the same as HTTP /status).
//
//   keepa-status [--host=127.0.0.1] [--via=auto|caf|http] [--caf-port=4270]
//                [--port=4271] [--token-file=F] [--json] [--timeout=2s]
//                [--openssl.certificate=C --openssl.key=K
//                 --openssl.cafile=CA]
//
// Two ways in (--via; auto takes CAF when something listens at --caf-port,
// else HTTP):
//  - caf: the read-only INTROSPECTION actor keepa-pipeline publishes
//    (keepa.introspection.port), through caf::openssl::remote_actor with a
//    client certificate of the owner's CA: by default the one keepa-pipeline
//    created in $XDG_RUNTIME_DIR/keepa-pipeline/introspection-tls (or
//    ~/.keepa-pipeline/...), else CAF's openssl.* options.
//  - http: /status.txt (or /status with --json) with the token from the
//    file keepa-pipeline wrote at start (mode 0600; by default
//    http-PORT.token in the same directory).
// Either way only the owner can read the status.
//
// Exit codes: 0 printed, 1 nothing listens, refused or no answer, 2 bad
// options, or no credentials or token file.

#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "config/cli.hpp"
#include "config/option_adder.hpp"
#include "messages/error.hpp"
#include "messages/fwd.hpp"
#include "tools/keepa-pipeline/collect.hpp"
#include "tools/keepa-pipeline/service.hpp"
#include "tools/keepa-pipeline/tls.hpp"

namespace {

class status_config : public caf::actor_system_config {
public:
  std::string host = "127.0.0.1";
  std::string via = "auto";
  uint16_t caf_port = keepa::defaults::introspection::port;
  uint16_t port = keepa::defaults::http::port;
  std::string token_file;
  bool json = false;
  caf::timespan timeout = std::chrono::seconds{2};

  status_config() {
    keepa::add_message_types(*this);
    keepa::add_cli_options(custom_options_);
    program.summary = "Prints the state of every actor of a running "
                      "keepa-pipeline.";
    keepa::option_adder{custom_options_, "global", &program.defaults}
      .add(host, "host",
           "address of keepa-pipeline (keepa.introspection.host or "
           "keepa.http.host)")
      .add(via, "via",
           "auto (CAF when --caf-port answers, else HTTP), caf or http")
      .add(caf_port, "caf-port", "keepa.introspection.port of keepa-pipeline")
      .add(port, "port", "keepa.http.port of keepa-pipeline")
      .add(token_file, "token-file",
           "keepa.http.token-file of keepa-pipeline (none = http-PORT.token "
           "in $XDG_RUNTIME_DIR/keepa-pipeline or ~/.keepa-pipeline)")
      .add(json, "json", "print one JSON object")
      .add(timeout, "timeout", "bound for each request");
  }

  /// Parses the command line (config/cli.hpp).
  caf::error read_command_line(int argc, char** argv) {
    return keepa::parse_command_line(*this, custom_options_, argc, argv,
                                     program);
  }

private:
  keepa::cli_program program;
};

/// Whether something accepts TCP connections at host:port.
bool listening(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return true; // not an IPv4 address: let CAF resolve and try
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  auto ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
    == 0;
  ::close(fd);
  return ok;
}

int print(const status_config& cfg, const std::string& where,
          const std::string& text) {
  if (!cfg.json)
    std::cout << "keepa-pipeline at " << where << "\n";
  std::cout << text;
  return 0;
}

int via_http(const status_config& cfg);

/// The report through INTROSPECTION over CAF's OpenSSL module; through
/// HTTP when `fallback` and the owner has no credentials.
int via_caf(status_config& cfg, bool fallback) {
  if (!keepa::tls_configured(cfg)) {
    auto files = keepa::owner_tls_files(keepa::default_tls_dir(),
                                        keepa::tls_role::client);
    if (!files && fallback)
      return via_http(cfg);
    if (!files) {
      std::cerr << "keepa-status: " << keepa::render(files.error()) << "\n";
      return 2;
    }
    keepa::use_tls_files(cfg, *files);
  }
  if (auto err = keepa::check_tls(cfg)) {
    std::cerr << "keepa-status: " << keepa::render(err) << "\n";
    return 2;
  }
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  caf::actor_system sys{cfg};
  auto where = cfg.host + ":" + std::to_string(cfg.caf_port) + " (CAF)";
  // CAF's remote_actor has no timeout: a listener that never finishes the
  // TLS handshake would hold keepa-status forever.
  auto connecting = std::async(std::launch::async, [&] {
    return caf::openssl::remote_actor<keepa::introspection_actor>(sys, cfg.host,
                                                                  cfg.caf_port);
  });
  if (connecting.wait_for(cfg.timeout) != std::future_status::ready) {
    std::cerr << "keepa-status: no INTROSPECTION at " << where
              << " (no TLS handshake within the timeout)\n";
    std::fflush(nullptr);
    std::_Exit(1); // the connection attempt cannot be cancelled
  }
  auto relay = connecting.get();
  if (!relay) {
    std::cerr << "keepa-status: no INTROSPECTION at " << where << " ("
              << sys.render(relay.error()) << ")\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  auto report = keepa::collect_remote_report(self, *relay, cfg.timeout);
  if (!report.token_ok) {
    std::cerr << "keepa-status: INTROSPECTION at " << where
              << " did not answer\n";
    return 1;
  }
  return print(cfg, where,
               cfg.json ? keepa::to_json(report) + "\n"
                        : keepa::to_text(report));
}

/// The report through HTTP /status.txt or /status.
int via_http(const status_config& cfg) {
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
  return print(cfg, cfg.host + ":" + std::to_string(cfg.port), *body);
}

} // namespace

int main(int argc, char** argv) {
  status_config cfg;
  if (auto err = cfg.read_command_line(argc, argv)) {
    std::cerr << "keepa-status: " << keepa::plain_words(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (cfg.via == "caf")
    return via_caf(cfg, false);
  if (cfg.via == "auto" && cfg.caf_port != 0
      && listening(cfg.host, cfg.caf_port))
    return via_caf(cfg, true);
  if (cfg.via == "http" || cfg.via == "auto")
    return via_http(cfg);
  std::cerr << "keepa-status: --via must be auto, caf or http\n";
  return 2;
}
