// Credentials of CAF introspection over mutual TLS (caf::openssl::publish
// and remote_actor). CAF 0.17's OpenSSL module reads them from its own
// options openssl.certificate, openssl.key, openssl.passphrase,
// openssl.cafile and openssl.capath; once any is set it requires a peer
// certificate on both sides (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
// libcaf_openssl/src/openssl/session.cpp) and verifies it against cafile
// or capath. With none set it would accept anyone over an anonymous
// cipher, so keepa-pipeline never publishes that way.
//
// When the user sets none, keepa-pipeline creates, once, an owner-only CA
// with a server and a client certificate (ECDSA P-256, OpenSSL's C API) in
// introspection-tls/ of the owner's directory (owner_files.hpp):
//   ca.pem                      the CA's certificate (its key is discarded)
//   server.pem, server.key      keepa-pipeline's
//   client.pem, client.key      keepa-status's, or any CAF client's
// The directory is 0700 and every file 0600.

#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace keepa {

/// Which end of a TLS connection a program is.
enum class tls_role { server, client };

/// The files of one end.
struct tls_files {
  std::string certificate;
  std::string key;
  std::string cafile;
};

/// owner_dir() + "/introspection-tls".
std::string default_tls_dir();

/// The files of `role` in `dir`; creates them all first (server role) when
/// `dir` does not exist yet. Fails when `dir` or its parent may be entered
/// by others, or (client role) when nothing was created yet.
caf::expected<tls_files> owner_tls_files(const std::string& dir, tls_role role);

/// Whether any openssl.* option of `cfg` is set.
bool tls_configured(const caf::actor_system_config& cfg);

/// Points openssl.certificate, .key and .cafile of `cfg` at `files`.
void use_tls_files(caf::actor_system_config& cfg, const tls_files& files);

/// Loads the openssl.* files of `cfg` the way CAF's OpenSSL module will
/// (which aborts the process on a file it cannot load, at the first
/// connection): certificate, key (with the passphrase), the key matching
/// the certificate, cafile/capath. Errors name the option and the file,
/// never the passphrase.
caf::error check_tls(const caf::actor_system_config& cfg);

/// Always true. Defined beside this program's SSL_read, SSL_write,
/// SSL_accept and SSL_connect (tls_errors.cpp), which empty OpenSSL's error
/// queue before libssl's own, so that one failed session (a peer killed
/// with -9) does not fail CAF's other sessions on the same thread;
/// check_tls calls it so that every program using CAF's OpenSSL module
/// links them.
bool tls_errors_per_call();

} // namespace keepa
