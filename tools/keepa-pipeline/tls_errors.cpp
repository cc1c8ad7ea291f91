// OpenSSL's error queue, emptied before every TLS I/O call CAF makes.
//
// CAF 0.17's OpenSSL sessions (caf::openssl) all run on the middleman's
// thread and read OpenSSL's per-thread error queue through SSL_get_error
// after each call, but never empty it before one, as OpenSSL requires
// ("the current thread's error queue must be empty before the TLS/SSL I/O
// operation is attempted, or SSL_get_error() will not work reliably",
// SSL_get_error(3)); CAF empties it only inside log statements, which
// Debian's build compiles out. So the error of one failed session (OpenSSL
// 3's "unexpected eof while reading" of a peer killed with -9, a stranger's
// refused certificate) stays queued, and the next call on any other session
// that merely wants more data reads it as its own failure: CAF closes that
// session too. One dead pipeline cut every other one off keepa-token
// (issue 22).
//
// These definitions take the place of libssl's for the whole program (the
// dynamic linker looks in the executable first); each empties the queue,
// then calls libssl's own.

#include "tools/keepa-pipeline/tls.hpp"

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

template<class F>
F next_definition(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = next_definition<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real
    = next_definition<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = next_definition<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace keepa {

bool tls_errors_per_call() {
  return true;
}

} // namespace keepa
