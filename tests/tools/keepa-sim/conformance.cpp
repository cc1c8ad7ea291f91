// Request shapes of Keepa's public clients, replayed byte for byte over
// loopback with libcurl, and the answers checked field by field against
// what each client parses. The shapes and where they come from are listed
// in tools/keepa-sim/README.md ("Clients checked"):
//   Java  keepacom/api_backend 8a8bc62: KeepaAPI.sendRequest builds
//         "https://api.keepa.com/" + path + "?key=" + key + "&" + query,
//         POSTs postData as application/json, sends Accept-Encoding: gzip
//         and always gunzips (errors too).
//   PHP   keepacom/php_api 7770c79: KeepaAPI::sendRequest builds
//         path + "/?key=" + key + "&" + http_build_query(...), POSTs with
//         CURLOPT_POSTFIELDS (form content type), CURLOPT_ENCODING gzip.
//   PY    akaszynski/keepa 2a67d44: Keepa._request GETs
//         "https://api.keepa.com/" + type + "/?" with requests' params.

#include <catch2/catch.hpp>

#include <curl/curl.h>

#include <string>
#include <vector>

#include "tests/support/sim_helpers.hpp"
#include "tests/tools/keepa-sim/live_server.hpp"

using namespace sim_test;

namespace {

struct reply {
  long status = 0;
  std::string body;
  std::string content_encoding;
};

size_t on_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* out) {
  std::string line{data, size * n};
  static const std::string name = "content-encoding:";
  if (line.size() > name.size()) {
    auto head = line.substr(0, name.size());
    for (auto& c : head)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == name) {
      auto v = line.substr(name.size());
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t\r\n") + 1);
      *static_cast<std::string*>(out) = v;
    }
  }
  return size * n;
}

/// How a client asks: its headers and how it decodes the answer.
enum class client { java, php, py };

/// One request as `who` sends it: `target` is the path and query exactly
/// as the client builds them; a non-empty `post` is sent as the body.
reply send(int port, client who, const std::string& target,
           const std::string& post = "") {
  CURL* c = curl_easy_init();
  REQUIRE(c);
  reply r;
  auto url = "http://127.0.0.1:" + std::to_string(port) + target;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.content_encoding);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_slist* headers = nullptr;
  switch (who) {
    case client::java:
      // HttpsURLConnection with these request properties; the body is
      // gunzipped by the client itself.
      headers = curl_slist_append(headers, "User-Agent: KEEPA-JAVA Framework-");
      headers = curl_slist_append(headers, "Accept-Encoding: gzip");
      if (!post.empty())
        headers = curl_slist_append(
          headers, "Content-Type: application/json; charset=UTF-8");
      break;
    case client::php:
      // CURLOPT_ENCODING 'gzip'; CURLOPT_POSTFIELDS with a string posts
      // application/x-www-form-urlencoded.
      curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
      curl_easy_setopt(c, CURLOPT_USERAGENT, "KEEPA-PHP Framework-2.0.3");
      break;
    case client::py:
      // requests sends Accept-Encoding: gzip, deflate and decodes it.
      curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
      curl_easy_setopt(c, CURLOPT_USERAGENT, "python-requests/2.31.0");
      break;
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!post.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(post.size()));
  }
  auto rc = curl_easy_perform(c);
  INFO(curl_easy_strerror(rc));
  REQUIRE(rc == CURLE_OK);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (who == client::java) {
    // The Java client wraps every answer in GZIPInputStream.
    CHECK(r.content_encoding == "gzip");
    r.body = gunzip(r.body);
  }
  return r;
}

keepa::sim::options live(int products = 400) {
  keepa::sim::options o;
  o.products = products;
  return o;
}

/// The envelope fields every client maps (Java Response, PHP Response,
/// PY Keepa._request), with the types they read them as.
void check_envelope(const rapidjson::Document& d) {
  REQUIRE(d.IsObject());
  CHECK(d["timestamp"].IsInt64());
  CHECK(d["tokensLeft"].IsInt()); // Java int
  CHECK(d["refillIn"].IsInt());
  CHECK(d["refillRate"].IsInt());
  CHECK(d["tokenFlowReduction"].IsNumber()); // Java double
  CHECK(d["tokensConsumed"].IsInt());
  CHECK(d["processingTimeInMs"].IsInt());
}

} // namespace

TEST_CASE("sim conformance: /token as each client asks for it, with and "
          "without a trailing slash",
          "[sim]") {
  live_server s{live()};
  struct shape {
    client who;
    std::string target;
  };
  // Java: "token?key=K&" (an empty query leaves the '&'); PHP: "token/?key=
  // K&"; PY: "token/?" with params {key}.
  std::vector<shape> shapes{{client::java, "/token?key=sim-key&"},
                            {client::php, "/token/?key=sim-key&"},
                            {client::py, "/token/?key=sim-key"}};
  for (auto& sh : shapes) {
    INFO(sh.target);
    auto r = send(s.port, sh.who, sh.target);
    CHECK(r.status == 200);
    auto d = parse(r.body);
    check_envelope(d);
    CHECK(d["tokensConsumed"].GetInt() == 0);
  }
}
