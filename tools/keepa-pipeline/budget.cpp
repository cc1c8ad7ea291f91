#include "tools/keepa-pipeline/budget.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/token/token_link.hpp"
#include "messages/error.hpp"

namespace keepa {

namespace {

caf::error use_owner_files(caf::actor_system_config& cfg,
                           const std::string& tls_dir, tls_role role) {
  if (tls_configured(cfg))
    return caf::none;
  auto files = owner_tls_files(tls_dir, role);
  if (!files)
    return files.error();
  use_tls_files(cfg, *files);
  return caf::none;
}

} // namespace

caf::error prepare_budget_server(caf::actor_system_config& cfg,
                                 const std::string& host,
                                 const std::string& tls_dir) {
  if (!is_loopback(host) && !tls_configured(cfg))
    return caf::make_error(
      ec::invalid_config,
      "keepa.token.host=" + host
        + " is not a loopback address: serving TOKEN to other hosts needs "
          "mutual TLS with certificates you name (--openssl.certificate, "
          "--openssl.key and --openssl.cafile, the CA that signed the "
          "clients' certificates); refusing to start without them");
  if (auto err = use_owner_files(cfg, tls_dir, tls_role::server))
    return err;
  if (auto err = check_tls(cfg))
    return err;
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  return caf::none;
}

caf::error prepare_budget_client(caf::actor_system_config& cfg, bool loaded,
                                 const std::string& tls_dir) {
  if (loaded)
    return check_tls(cfg);
  if (auto err = use_owner_files(cfg, tls_dir, tls_role::client))
    return caf::make_error(ec::invalid_config,
                           "keepa.token.remote: no client certificate ("
                             + render(err)
                             + "); start keepa-token once as this user, or "
                               "name openssl.* files");
  if (auto err = check_tls(cfg))
    return err;
  cfg.load<caf::io::middleman>();
  cfg.load<caf::openssl::manager>();
  return caf::none;
}

} // namespace keepa
