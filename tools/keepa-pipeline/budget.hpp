// The shared budget over CAF's middleman (issue 22), as the programs set it
// up: keepa-token serves TOKEN, keepa-pipeline --keepa.token.remote spends
// from it. Both ends use CAF's OpenSSL module with mutual TLS, as
// INTROSPECTION does (tls.hpp): a peer without a certificate of the CA
// fails the handshake before the middleman reads anything. On loopback
// the owner's own CA (created once) serves when no openssl.* option is set;
// any other interface needs the certificates named by openssl.* options.

#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "tools/keepa-pipeline/tls.hpp"

namespace keepa {

/// Prepares `cfg` of keepa-token to publish TOKEN on `host`: loads the
/// middleman and CAF's OpenSSL module; the owner's own server certificate
/// in `tls_dir` unless openssl.* names others. A host that is not loopback
/// without openssl.* options is refused with a message saying what to set.
caf::error
prepare_budget_server(caf::actor_system_config& cfg, const std::string& host,
                      const std::string& tls_dir = default_tls_dir());

/// Prepares `cfg` of keepa-pipeline to reach the budget server
/// (keepa.token.remote): the owner's client certificate in `tls_dir`
/// unless openssl.* is set; loads the modules unless `loaded` (the
/// introspection's publication loaded them already, with certificates of
/// the same CA).
caf::error
prepare_budget_client(caf::actor_system_config& cfg, bool loaded,
                      const std::string& tls_dir = default_tls_dir());

} // namespace keepa
