// Who may read keepa-pipeline's HTTP endpoints (the dashboard, its JSON,
// /status, /metrics): everything is read-only, and every request must
// prove it knows a token.
//
//  - The per-run token keepa-pipeline writes to its token file (service.hpp)
//    is always accepted.
//  - A configured token (keepa.http.access-token-file, read, never
//    written) is accepted too, and required to serve HTTP on any host but
//    127.0.0.1, ::1 or localhost: any other binding is a choice to let
//    others reach the port (127.0.0.2 included, so tests can stand in for a
//    real interface).
//  - A request shows a token as `Authorization: Bearer TOKEN` or HTTP Basic
//    (any user name, the token as password), or with the session cookie.
//  - On 127.0.0.1, ::1 or localhost, `GET /?token=TOKEN` sets the session
//    cookie (HttpOnly, SameSite=Strict; its value is a per-run secret, not
//    the token) and redirects to `/`, so a browser opens the URL
//    keepa-pipeline prints once and keeps a clean address.
//  - Anything else gets 401: with `WWW-Authenticate: Basic` for the page
//    (a browser then asks for the token), `Bearer` for the rest.

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace httplib {
struct Request;
struct Response;
} // namespace httplib

namespace keepa {

/// Whether binding HTTP to `host` keeps it to this machine's owner: only
/// 127.0.0.1, ::1 and localhost count.
bool private_http_host(std::string_view host);

/// Reads a configured access token: one word of at least 16 characters
/// from a regular file its owner alone may read (mode 0600 or 0400).
caf::expected<std::string> read_access_token(const std::string& path);

/// Whether `x` and `y` are equal, compared without stopping at the first
/// difference.
bool same_secret(std::string_view x, std::string_view y);

/// The access policy of one HTTP server (see above).
class http_access {
public:
  /// `host` and `port`: where the server listens; `tokens`: every token
  /// accepted (the empty ones are ignored); `session`: the per-run secret
  /// that the session cookie carries.
  http_access(std::string host, uint16_t port, std::vector<std::string> tokens,
              std::string session);

  /// Decides `req`: true lets it through to its handler; false means `res`
  /// holds the answer (401, or the redirect of a `/?token=` login).
  bool admit(const httplib::Request& req, httplib::Response& res) const;

  /// Whether `req` shows an accepted token or the session cookie.
  bool authorized(const httplib::Request& req) const;

  /// The cookie's name: per port, since browsers send a host's cookies to
  /// all of its ports.
  std::string cookie_name() const;

  /// Where a browser logs in: http://HOST:PORT/?token=TOKEN on a private
  /// host, http://HOST:PORT/ (asking for the token) elsewhere.
  std::string login_url(const std::string& token) const;

private:
  bool known_token(std::string_view x) const;

  std::string host_;
  uint16_t port_;
  std::vector<std::string> tokens_;
  std::string session_;
};

} // namespace keepa
