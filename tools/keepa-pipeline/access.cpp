#include "tools/keepa-pipeline/access.hpp"

#include <sys/stat.h>

#include <httplib.h>
#include <openssl/evp.h>

#include "config/api_key.hpp"
#include "messages/error.hpp"

namespace keepa {

namespace {

/// Shortest configured token accepted: guessing 16 characters over the
/// network is hopeless, fewer may not be.
constexpr size_t min_access_token = 16;

/// The password of an `Authorization: Basic` value; empty if malformed.
std::string basic_password(std::string_view encoded) {
  if (encoded.empty() || encoded.size() > 4096 || encoded.size() % 4 != 0)
    return {};
  std::string out(encoded.size() / 4 * 3, '\0');
  auto n
    = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(encoded.data()),
                      static_cast<int>(encoded.size()));
  if (n < 0)
    return {};
  // EVP_DecodeBlock counts the bytes of the '=' padding as zeros.
  auto padding = encoded.size() - encoded.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - std::min<size_t>(padding, 2));
  auto colon = out.find(':');
  return colon == std::string::npos ? std::string{} : out.substr(colon + 1);
}

/// The value of cookie `name` in the request's Cookie headers.
std::string cookie_value(const httplib::Request& req, const std::string& name) {
  auto n = req.get_header_value_count("Cookie");
  for (size_t i = 0; i < n; ++i) {
    auto header = req.get_header_value("Cookie", i);
    std::string_view xs = header;
    while (!xs.empty()) {
      auto end = xs.find(';');
      auto pair = xs.substr(0, end);
      xs = end == std::string_view::npos ? std::string_view{}
                                         : xs.substr(end + 1);
      while (!pair.empty() && pair.front() == ' ')
        pair.remove_prefix(1);
      auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name)
        return std::string{pair.substr(eq + 1)};
    }
  }
  return {};
}

bool is_page(const std::string& path) {
  return path == "/" || path == "/index.html";
}

} // namespace

bool private_http_host(std::string_view host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

caf::expected<std::string> read_access_token(const std::string& path) {
  auto token = read_secret_file(path, "access token file", ec::invalid_config);
  if (!token)
    return token;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
    return caf::make_error(ec::invalid_config,
                           "access token file " + path
                             + " may be read by others (chmod 600 it)");
  if (token->size() < min_access_token)
    return caf::make_error(ec::invalid_config,
                           "access token file " + path + " holds fewer than "
                             + std::to_string(min_access_token)
                             + " characters");
  return token;
}

bool same_secret(std::string_view x, std::string_view y) {
  if (x.size() != y.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < x.size(); ++i)
    diff |= static_cast<unsigned char>(x[i] ^ y[i]);
  return diff == 0;
}

http_access::http_access(std::string host, uint16_t port,
                         std::vector<std::string> tokens, std::string session)
  : host_(std::move(host)), port_(port), session_(std::move(session)) {
  for (auto& x : tokens)
    if (!x.empty())
      tokens_.push_back(std::move(x));
}

bool http_access::known_token(std::string_view x) const {
  bool found = false;
  for (auto& t : tokens_)
    found |= same_secret(x, t);
  return found;
}

bool http_access::authorized(const httplib::Request& req) const {
  auto header = req.get_header_value("Authorization");
  std::string_view value = header;
  constexpr std::string_view bearer = "Bearer ";
  constexpr std::string_view basic = "Basic ";
  if (value.substr(0, bearer.size()) == bearer)
    return known_token(value.substr(bearer.size()));
  if (value.substr(0, basic.size()) == basic) {
    auto password = basic_password(value.substr(basic.size()));
    return !password.empty() && known_token(password);
  }
  auto cookie = cookie_value(req, cookie_name());
  return !cookie.empty() && same_secret(cookie, session_);
}

bool http_access::admit(const httplib::Request& req,
                        httplib::Response& res) const {
  if (req.path == "/" && req.has_param("token") && private_http_host(host_)
      && known_token(req.get_param_value("token"))) {
    res.status = 303;
    res.set_header("Location", "/");
    res.set_header("Set-Cookie",
                   cookie_name() + "=" + session_
                     + "; Path=/; HttpOnly; SameSite=Strict");
    res.set_header("Cache-Control", "no-store");
    res.set_header("Referrer-Policy", "no-referrer");
    return false;
  }
  if (authorized(req))
    return true;
  res.status = 401;
  res.set_header("Cache-Control", "no-store");
  if (is_page(req.path)) {
    res.set_header("WWW-Authenticate",
                   "Basic realm=\"keepa-pipeline\", charset=\"UTF-8\"");
    res.set_content("keepa-pipeline: the dashboard needs the access token: "
                    "open the address keepa-pipeline printed at its start, "
                    "or sign in with any user name and the token as "
                    "password.\n",
                    "text/plain; charset=utf-8");
  } else {
    res.set_header("WWW-Authenticate", "Bearer realm=\"keepa-pipeline\"");
    res.set_content("a token is required (Authorization: Bearer, from the "
                    "token file keepa-pipeline wrote, or the configured "
                    "access token)\n",
                    "text/plain");
  }
  return false;
}

std::string http_access::cookie_name() const {
  return "keepa_session_" + std::to_string(port_);
}

std::string http_access::login_url(const std::string& token) const {
  auto host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  auto base = "http://" + host + ":" + std::to_string(port_) + "/";
  return private_http_host(host_) ? base + "?token=" + token : base;
}

} // namespace keepa
