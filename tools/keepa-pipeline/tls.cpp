#include "tools/keepa-pipeline/tls.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <caf/actor_system_config.hpp>

#include "messages/error.hpp"
#include "tools/keepa-pipeline/owner_files.hpp"

namespace keepa {

namespace {

template<class T, void (*Free)(T*)>
struct ossl_deleter {
  void operator()(T* x) const {
    Free(x);
  }
};

using pkey_ptr
  = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO, BIO_free_all>>;
using ctx_ptr = std::unique_ptr<SSL_CTX, ossl_deleter<SSL_CTX, SSL_CTX_free>>;

/// OpenSSL's queued errors, oldest first.
std::string ssl_errors() {
  std::string result;
  while (auto err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!result.empty())
      result += "; ";
    result += buf;
  }
  return result.empty() ? "unknown OpenSSL error" : result;
}

caf::error tls_error(const std::string& what) {
  return caf::make_error(ec::invalid_config, what + ": " + ssl_errors());
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    return false;
  auto ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

/// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
/// when `issuer` is null), valid for ten years.
caf::expected<x509_ptr> make_cert(EVP_PKEY* key, const char* cn, X509* issuer,
                                  EVP_PKEY* issuer_key, tls_role* role) {
  x509_ptr cert{X509_new()};
  if (!cert)
    return tls_error("cannot create a certificate");
  auto* x = cert.get();
  auto* serial = BN_new();
  bool ok = serial != nullptr
    && BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1
    && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != nullptr;
  BN_free(serial);
  auto* name = X509_get_subject_name(x);
  ok = ok && X509_set_version(x, 2) == 1
    && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr
    && X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600) != nullptr
    && X509_set_pubkey(x, key) == 1
    && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(cn),
                                  -1, -1, 0)
      == 1
    && X509_set_issuer_name(
         x, issuer != nullptr ? X509_get_subject_name(issuer) : name)
      == 1;
  auto* signer = issuer != nullptr ? issuer : x;
  ok = ok && add_ext(x, signer, NID_subject_key_identifier, "hash");
  if (role == nullptr) {
    ok = ok && add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE")
      && add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE")
      && add_ext(x, signer, NID_authority_key_identifier, "keyid:always")
      && add_ext(x, signer, NID_key_usage, "critical,digitalSignature")
      && add_ext(x, signer, NID_ext_key_usage,
                 *role == tls_role::server ? "serverAuth" : "clientAuth");
  }
  ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
  if (!ok)
    return tls_error(std::string{"cannot make the certificate "} + cn);
  return cert;
}

caf::expected<pkey_ptr> make_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return tls_error("cannot generate a P-256 key");
  return key;
}

template<class Write>
caf::expected<std::string> pem(Write write) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || write(bio.get()) != 1)
    return tls_error("cannot encode PEM");
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

caf::expected<std::string> cert_pem(X509* x) {
  return pem([x](BIO* b) { return PEM_write_bio_X509(b, x); });
}

caf::expected<std::string> key_pem(EVP_PKEY* k) {
  return pem([k](BIO* b) {
    return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr,
                                    nullptr);
  });
}

/// Writes the CA's certificate and a server and a client certificate with
/// their keys into `dir`, which exists and is private.
caf::error write_credentials(const std::string& dir) {
  auto ca_key = make_key();
  if (!ca_key)
    return std::move(ca_key.error());
  auto ca = make_cert(ca_key->get(), "keepa-pipeline introspection CA", nullptr,
                      ca_key->get(), nullptr);
  if (!ca)
    return std::move(ca.error());
  auto ca_text = cert_pem(ca->get());
  if (!ca_text)
    return std::move(ca_text.error());
  if (auto err = write_private_file(dir + "/ca.pem", *ca_text))
    return err;
  for (auto role : {tls_role::server, tls_role::client}) {
    auto name = std::string{role == tls_role::server ? "server" : "client"};
    auto key = make_key();
    if (!key)
      return std::move(key.error());
    auto cn = "keepa-pipeline introspection " + name;
    auto cert = make_cert(key->get(), cn.c_str(), ca->get(), ca_key->get(),
                          &role);
    if (!cert)
      return std::move(cert.error());
    auto cert_text = cert_pem(cert->get());
    if (!cert_text)
      return std::move(cert_text.error());
    auto key_text = key_pem(key->get());
    if (!key_text)
      return std::move(key_text.error());
    if (auto err = write_private_file(dir + "/" + name + ".pem", *cert_text))
      return err;
    if (auto err = write_private_file(dir + "/" + name + ".key", *key_text))
      return err;
  }
  return caf::none;
}

void remove_dir(const std::string& dir) {
  for (auto name :
       {"ca.pem", "server.pem", "server.key", "client.pem", "client.key"})
    ::unlink((dir + "/" + name).c_str());
  ::rmdir(dir.c_str());
}

int pass_cb(char* buf, int size, int, void* user) {
  auto& pass = *static_cast<const std::string*>(user);
  auto n = std::min(static_cast<size_t>(size - 1), pass.size());
  pass.copy(buf, n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

} // namespace

std::string default_tls_dir() {
  return owner_dir() + "/introspection-tls";
}

caf::expected<tls_files> owner_tls_files(const std::string& dir,
                                         tls_role role) {
  auto name = std::string{role == tls_role::server ? "server" : "client"};
  tls_files result{dir + "/" + name + ".pem", dir + "/" + name + ".key",
                   dir + "/ca.pem"};
  auto parent = dir.substr(0, dir.rfind('/'));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (role == tls_role::client)
      return caf::make_error(ec::invalid_config,
                             "no introspection credentials in " + dir
                               + " (keepa-pipeline creates them when it "
                                 "publishes without openssl.* options)");
    if (auto err = private_directory(parent))
      return err;
    // Created aside and renamed in place: a concurrent start sees all the
    // files or none.
    auto tmp = dir + ".tmp-" + std::to_string(::getpid());
    remove_dir(tmp);
    if (auto err = private_directory(tmp))
      return err;
    if (auto err = write_credentials(tmp)) {
      remove_dir(tmp);
      return err;
    }
    if (::rename(tmp.c_str(), dir.c_str()) != 0)
      remove_dir(tmp); // someone else's set won: use it
  }
  if (auto err = private_directory(parent))
    return err;
  if (auto err = private_directory(dir))
    return err;
  return result;
}

bool tls_configured(const caf::actor_system_config& cfg) {
  return !cfg.openssl_certificate.empty() || !cfg.openssl_key.empty()
    || !cfg.openssl_passphrase.empty() || !cfg.openssl_capath.empty()
    || !cfg.openssl_cafile.empty();
}

void use_tls_files(caf::actor_system_config& cfg, const tls_files& files) {
  cfg.openssl_certificate = files.certificate;
  cfg.openssl_key = files.key;
  cfg.openssl_cafile = files.cafile;
}

caf::error check_tls(const caf::actor_system_config& cfg) {
  auto missing = [](const char* what) {
    return caf::make_error(ec::invalid_config,
                           std::string{"openssl."} + what
                             + " is required for introspection over TLS "
                               "(set openssl.certificate, openssl.key and "
                               "openssl.cafile, or none for the owner's "
                               "own)");
  };
  if (cfg.openssl_certificate.empty())
    return missing("certificate");
  if (cfg.openssl_key.empty())
    return missing("key");
  if (cfg.openssl_cafile.empty() && cfg.openssl_capath.empty())
    return missing("cafile");
  ERR_clear_error();
  ctx_ptr ctx{SSL_CTX_new(TLS_method())};
  if (!ctx)
    return tls_error("cannot create an OpenSSL context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(),
                                         cfg.openssl_certificate.c_str())
      != 1)
    return tls_error("openssl.certificate " + cfg.openssl_certificate
                     + " cannot be loaded");
  SSL_CTX_set_default_passwd_cb(ctx.get(), pass_cb);
  SSL_CTX_set_default_passwd_cb_userdata(
    ctx.get(), const_cast<std::string*>(&cfg.openssl_passphrase));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.openssl_key.c_str(),
                                  SSL_FILETYPE_PEM)
      != 1)
    return tls_error("openssl.key " + cfg.openssl_key
                     + " cannot be loaded (or openssl.passphrase does not "
                       "open it)");
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return tls_error("openssl.key " + cfg.openssl_key
                     + " does not belong to openssl.certificate "
                     + cfg.openssl_certificate);
  auto* cafile = cfg.openssl_cafile.empty() ? nullptr
                                            : cfg.openssl_cafile.c_str();
  auto* capath = cfg.openssl_capath.empty() ? nullptr
                                            : cfg.openssl_capath.c_str();
  if (SSL_CTX_load_verify_locations(ctx.get(), cafile, capath) != 1)
    return tls_error("openssl.cafile/openssl.capath cannot be loaded");
  if (!tls_errors_per_call())
    return tls_error("OpenSSL's error queue is not emptied per call");
  return caf::none;
}

} // namespace keepa
