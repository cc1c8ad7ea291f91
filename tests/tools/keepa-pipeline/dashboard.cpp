// keepa-pipeline's dashboard without a pipeline: the balance ring, the JSON
// of /api/summary, /api/balance and /api/deals (parsed back with
// RapidJSON), the deals read from a real SQLite file the way the running
// program reads them (read-only, beside the writer), the access policy on
// real httplib requests, and the files embedded in the binary against
// their sources. The browser and the real processes are in web_browser.sh
// and web_access.sh.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <rapidjson/document.h>

#include "messages/error.hpp"
#include "messages/keepa.hpp"
#include "storage/soci_backend.hpp"
#include "tools/keepa-pipeline/access.hpp"
#include "tools/keepa-pipeline/dashboard.hpp"
#include "tools/keepa-pipeline/web_assets.hpp"

using namespace keepa;
using namespace std::chrono_literals;

namespace {

constexpr int64_t hour_ms = 3'600'000;

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

dashboard_sample sample_at(int64_t at_ms, int64_t balance = 0) {
  dashboard_sample x;
  x.at_ms = at_ms;
  x.balance = balance;
  return x;
}

/// A report as collect_report fills it: TOKEN waiting, the stages'
/// counters.
pipeline_report report_at(int64_t unix_ms, int64_t committed,
                          int64_t spent_commit) {
  pipeline_report r;
  r.unix_ms = unix_ms;
  r.token_ok = true;
  r.token.projected = -42;
  r.token.outstanding = 30;
  r.token.refill_rate = 20;
  r.token.cap = 1200;
  r.token.floor = -180;
  r.token.profile = "below-20";
  r.token.mode = "recharging";
  r.token.waiting_for = 12;
  r.token.next_refill = 3500ms;
  r.token.queue.push_back({7, "committer", stage::commit, 30, 9500ms});
  r.token.queue.push_back({8, "peek-filter", stage::peek, 20, 70s});
  r.token.totals.consumed = spent_commit + 100;
  r.token.totals.consumed_by_stage = {spent_commit, 60, 40, 0};
  r.counts_ok = true;
  r.counts.deals = 5;
  r.counts.rejections = 9;
  actor_report committer;
  committer.name = "committer";
  committer.ok = true;
  committer.status["committed"] = committed;
  r.actors.push_back(committer);
  actor_report scanner;
  scanner.name = "scanner";
  scanner.ok = true;
  scanner.status["candidates"] = int64_t{3 * committed};
  r.actors.push_back(scanner);
  return r;
}

const rapidjson::Value& stage_row(const rapidjson::Document& doc,
                                  const std::string& name) {
  for (auto& x : doc["stages"].GetArray())
    if (name == x["name"].GetString())
      return x;
  FAIL("no stage " << name);
  return doc;
}

/// A directory removed at the end of a test.
struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    path = std::filesystem::temp_directory_path()
      / ("keepa-dashboard-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

deal_record make_deal(std::string asin, int32_t domain, int32_t profit,
                      int32_t roi_bp, int32_t rank, int64_t seen_ms) {
  deal_record d;
  d.asin = std::move(asin);
  d.domain = domain;
  d.title = "Title of " + d.asin;
  d.buy_price = 1000;
  d.est_sell_price = 3000;
  d.avg365 = 2800;
  d.all_in_cost = 1500;
  d.profit = profit;
  d.roi_bp = roi_bp;
  d.margin_bp = roi_bp / 2;
  d.min_listing_price = 2500;
  d.sales_rank = rank;
  d.rank_drops90 = 4;
  d.rank_drops365 = 12;
  d.offers_used = 3;
  d.offers_new = 1;
  d.last_update = static_cast<int32_t>(keepa_minute_from_unix_ms(seen_ms));
  d.first_seen_ms = seen_ms;
  d.last_seen_ms = seen_ms;
  return d;
}

using params = std::multimap<std::string, std::string>;

std::vector<std::string> asins_of(const rapidjson::Document& doc) {
  std::vector<std::string> result;
  for (auto& x : doc["deals"].GetArray())
    result.emplace_back(x["asin"].GetString());
  return result;
}

httplib::Request
request(std::string path,
        std::vector<std::pair<std::string, std::string>> headers = {}) {
  httplib::Request req;
  req.method = "GET";
  req.path = std::move(path);
  for (auto& [k, v] : headers)
    req.headers.emplace(k, v);
  return req;
}

const std::string token = "0123456789abcdef0123456789abcdef";
const std::string configured = "my-own-token-of-the-user-1234";
const std::string session = "fedcba9876543210fedcba9876543210";

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

// -- the balance ring ---------------------------------------------------------

TEST_CASE("the balance ring keeps the newest samples, at least its interval "
          "apart",
          "[dashboard]") {
  sample_ring ring{3, 10s};
  CHECK(ring.add(sample_at(0)));
  CHECK_FALSE(ring.add(sample_at(9'999)));
  for (int64_t t : {10'000, 20'000, 30'000})
    CHECK(ring.add(sample_at(t)));
  REQUIRE(ring.samples().size() == 3);
  CHECK(ring.samples().front().at_ms == 10'000);
  CHECK(ring.samples().back().at_ms == 30'000);
  // The oldest sample within the window, else the oldest of all.
  CHECK(ring.since(30'000, 15s)->at_ms == 20'000);
  CHECK(ring.since(30'000, 1h)->at_ms == 10'000);
  CHECK(sample_ring{3, 10s}.since(0, 1h) == nullptr);
}

TEST_CASE("rates per hour need a minute between their ends", "[dashboard]") {
  CHECK(*per_hour(70, hour_ms, 10, 0) == Approx(60.0));
  CHECK(*per_hour(20, 30 * 60'000, 10, 0) == Approx(20.0));
  CHECK(*per_hour(11, 60'000, 10, 0) == Approx(60.0));
  CHECK_FALSE(per_hour(20, 59'999, 10, 0));
}

// -- JSON ---------------------------------------------------------------------

TEST_CASE("/api/summary: TOKEN's wait, stage rates and tokens by stage, in "
          "named units",
          "[dashboard]") {
  auto t0 = int64_t{1'764'000'000'000};
  sample_ring ring{2160, 10s};
  auto first = report_at(t0, 10, 500);
  ring.add(*sample_of(first));
  auto now = report_at(t0 + hour_ms / 2, 40, 800);
  auto doc = parse(summary_json(now, ring));
  CHECK(doc["at_unix_ms"].GetInt64() == t0 + hour_ms / 2);
  CHECK(doc["rate_window_seconds"].GetDouble() == Approx(1800.0));
  auto& t = doc["token"];
  CHECK(t["balance_tokens"].GetInt64() == -42);
  CHECK(t["cap_tokens"].GetInt64() == 1200);
  CHECK(t["floor_tokens"].GetInt64() == -180);
  CHECK(t["refill_tokens_per_minute"].GetInt64() == 20);
  CHECK(std::string{t["mode"].GetString()} == "recharging");
  CHECK(t["waits_for_balance_tokens"].GetInt64() == 12);
  CHECK(t["wait_seconds"].GetDouble() == Approx(9.5));
  CHECK(t["waiting_requests"].GetInt64() == 2);
  CHECK(std::string{t["queue"][0]["consumer"].GetString()} == "committer");
  CHECK(t["queue"][1]["cost_tokens"].GetInt64() == 20);
  CHECK(t["queue"][1]["eta_seconds"].GetDouble() == Approx(70.0));
  CHECK(t["spent_tokens_by_stage"]["commit"].GetInt64() == 800);
  CHECK(t["spent_tokens_by_stage"]["scan"].GetInt64() == 40);
  // 300 commit tokens in half an hour.
  CHECK(t["spent_tokens_per_hour_by_stage"]["commit"].GetDouble()
        == Approx(600.0));
  // 30 deals committed, 90 scanned in half an hour.
  CHECK(stage_row(doc, "committed")["count"].GetInt64() == 40);
  CHECK(stage_row(doc, "committed")["per_hour"].GetDouble() == Approx(60.0));
  CHECK(stage_row(doc, "scanned")["per_hour"].GetDouble() == Approx(180.0));
  CHECK(doc["storage"]["deals"].GetInt64() == 5);
  SECTION("without a sample a minute old, rates are null") {
    sample_ring fresh{2160, 10s};
    fresh.add(*sample_of(now));
    auto doc2 = parse(summary_json(now, fresh));
    CHECK(stage_row(doc2, "committed")["per_hour"].IsNull());
    CHECK(doc2["rate_window_seconds"].IsNull());
  }
  SECTION("nobody waits") {
    now.token.waiting_for = 0;
    now.token.queue.clear();
    auto doc2 = parse(summary_json(now, ring));
    CHECK(doc2["token"]["waits_for_balance_tokens"].IsNull());
    CHECK(doc2["token"]["wait_seconds"].IsNull());
  }
  SECTION("no TOKEN snapshot: null, and no sample") {
    now.token_ok = false;
    CHECK_FALSE(sample_of(now));
    CHECK(parse(summary_json(now, ring))["token"].IsNull());
  }
  SECTION("the ETA to keepa.max-deals: null without one, else why there is "
          "none yet") {
    CHECK(doc["eta"].IsNull());
    now.max_deals = 100;
    auto doc2 = parse(summary_json(now, ring));
    auto& eta = doc2["eta"];
    REQUIRE(eta.IsObject());
    CHECK(eta["max_deals"].GetInt64() == 100);
    // STORAGE reported no run counters: nothing to fit from.
    CHECK(eta["seconds"].IsNull());
    CHECK_THAT(std::string{eta["why_none"].GetString()},
               Catch::StartsWith("fitting: "));
  }
  SECTION("before TOKEN's first observation: no sample") {
    now.token.mode = "unknown";
    CHECK_FALSE(sample_of(now));
    CHECK(parse(summary_json(now, ring))["token"]["mode"] == "unknown");
  }
}

TEST_CASE("/api/balance: every sample of the ring with cap and floor",
          "[dashboard]") {
  sample_ring ring{2160, 10s};
  auto r = report_at(1'764'000'000'000, 0, 0);
  ring.add(*sample_of(r));
  r.unix_ms += 10'000;
  r.token.projected = 77;
  r.token.cap = 1500;
  ring.add(*sample_of(r));
  auto doc = parse(balance_json(ring));
  CHECK(doc["sample_every_seconds"].GetDouble() == Approx(10.0));
  CHECK(doc["capacity_samples"].GetInt64() == 2160);
  REQUIRE(doc["at_unix_seconds"].Size() == 2);
  CHECK(doc["at_unix_seconds"][1].GetInt64() == 1'764'000'010);
  CHECK(doc["balance_tokens"][0].GetInt64() == -42);
  CHECK(doc["balance_tokens"][1].GetInt64() == 77);
  CHECK(doc["cap_tokens"][1].GetInt64() == 1500);
  CHECK(doc["floor_tokens"][0].GetInt64() == -180);
}

TEST_CASE("/api/deals queries: known parameters in range, else a clear error",
          "[dashboard]") {
  auto now = int64_t{1'764'000'000'000};
  auto q = parse_deal_listing({{"order", "profit"},
                               {"min_roi_bp", "2500"},
                               {"min_profit_cents", "-100"},
                               {"max_rank", "50000"},
                               {"seen_within_seconds", "3600"},
                               {"domain", "uk"},
                               {"limit", "200"},
                               {"offset", "400"}},
                              now);
  REQUIRE(q);
  CHECK(q->by == db::deal_listing::order::profit);
  CHECK(*q->min_roi_bp == 2500);
  CHECK(*q->min_profit == -100);
  CHECK(*q->max_rank == 50000);
  CHECK(*q->seen_since_ms == now - hour_ms);
  CHECK(*q->domain == 2);
  CHECK(q->limit == 200);
  CHECK(q->offset == 400);
  auto defaults = parse_deal_listing({}, now);
  REQUIRE(defaults);
  CHECK(defaults->by == db::deal_listing::order::roi);
  CHECK(defaults->limit == 50);
  CHECK(parse_deal_listing({{"domain", "3"}}, now)->domain == 3);
  auto refused = [&](params ps, const std::string& says) {
    auto x = parse_deal_listing(ps, now);
    REQUIRE_FALSE(x);
    CHECK_THAT(render(x.error()), Catch::Contains(says));
  };
  refused({{"order", "best"}}, "order: expected roi, profit, rank or newest");
  refused({{"limit", "0"}}, "limit: expected a whole number from 1 to 200");
  refused({{"limit", "201"}}, "limit");
  refused({{"offset", "-1"}}, "offset");
  refused({{"min_roi_bp", "12.5"}}, "min_roi_bp");
  refused({{"max_rank", "9999999999999999999999"}}, "max_rank");
  refused({{"domain", "mars"}}, "domain: expected a locale");
  refused({{"limt", "5"}}, "unknown parameter \"limt\"");
  refused({{"limit", "5"}, {"limit", "6"}}, "limit: given twice");
}

TEST_CASE("/api/deals: each deal with its locale's links and currency, "
          "money in cents, times in Unix seconds",
          "[dashboard]") {
  auto seen = int64_t{1'764'000'000'000};
  auto d = make_deal("B0TITLE001", 2, 1234, 8230, 4321, seen);
  d.currency = "GBP";
  d.title = "Tom & Jerry: \"<Live>\" \xc3\xa9";
  auto unknown_rank = make_deal("0123456789", 1, -50, -300, -1, seen);
  unknown_rank.currency = "USD";
  db::deal_listing q;
  q.by = db::deal_listing::order::profit;
  q.offset = 50;
  q.limit = 2;
  auto doc = parse(deals_json(q, 52, {d, unknown_rank}));
  CHECK(std::string{doc["order"].GetString()} == "profit");
  CHECK(doc["offset"].GetInt() == 50);
  CHECK(doc["limit"].GetInt() == 2);
  CHECK(doc["total"].GetInt() == 52);
  REQUIRE(doc["deals"].Size() == 2);
  auto& x = doc["deals"][0];
  CHECK(std::string{x["title"].GetString()} == d.title);
  CHECK(std::string{x["locale"].GetString()} == "uk");
  CHECK(std::string{x["currency"].GetString()} == "GBP");
  CHECK(std::string{x["amazon_url"].GetString()}
        == "https://www.amazon.co.uk/dp/B0TITLE001");
  CHECK(std::string{x["keepa_url"].GetString()}
        == "https://keepa.com/#!product/2-B0TITLE001");
  CHECK(x["profit_cents"].GetInt() == 1234);
  CHECK(x["buy_price_cents"].GetInt() == 1000);
  CHECK(x["sell_price_cents"].GetInt() == 3000);
  CHECK(x["roi_percent"].GetDouble() == Approx(82.3));
  CHECK(x["sales_rank"].GetInt() == 4321);
  CHECK(x["last_seen_unix_seconds"].GetInt64() == seen / 1000);
  // lastUpdate counts whole Keepa minutes.
  CHECK(x["last_update_unix_seconds"].GetInt64() == seen / 60'000 * 60);
  auto& y = doc["deals"][1];
  CHECK(y["sales_rank"].IsNull());
  CHECK(y["profit_cents"].GetInt() == -50);
  CHECK(std::string{y["amazon_url"].GetString()}
        == "https://www.amazon.com/dp/0123456789");
}

// -- deals from a real SQLite file ------------------------------------------

TEST_CASE("the dashboard pages, orders and filters the deals of a SQLite "
          "file it opens read-only",
          "[dashboard]") {
  temp_dir dir;
  auto url = "sqlite:" + (dir.path / "deals.db").string();
  auto now = int64_t{1'764'000'000'000};
  dashboard dash{[] { return pipeline_report{}; }, dashboard_options{url}};
  // Before the pipeline created the database: 503, and a later request
  // opens it again.
  auto [early, why] = dash.deals({}, now);
  CHECK(early == 503);
  CHECK_THAT(why, Catch::Contains("the deals cannot be read now"));
  db::open_options o;
  o.url = url;
  auto writer = db::soci_backend::open(o);
  REQUIRE(writer);
  upsert_batch batch;
  // 120 deals: profit and ROI rise with i, rank falls with i, every third
  // in the UK, seen i minutes ago.
  for (int i = 0; i < 120; ++i) {
    char asin[16];
    std::snprintf(asin, sizeof(asin), "B%09d", i);
    batch.deals.push_back(make_deal(asin, i % 3 == 0 ? 2 : 1, 100 * i, 50 * i,
                                    100'000 - 100 * i, now - 60'000 * i));
  }
  REQUIRE((*writer)->commit(batch, std::nullopt));
  auto page = [&](params ps) {
    auto [status, body] = dash.deals(ps, now);
    INFO(body);
    REQUIRE(status == 200);
    return parse(body);
  };
  auto best = page({{"limit", "3"}});
  CHECK(best["total"].GetInt() == 120);
  CHECK(asins_of(best)
        == std::vector<std::string>{"B000000119", "B000000118", "B000000117"});
  auto third = page({{"limit", "50"}, {"offset", "100"}});
  CHECK(third["deals"].Size() == 20);
  CHECK(std::string{third["deals"][0]["asin"].GetString()} == "B000000019");
  CHECK(page({{"offset", "500"}})["deals"].Size() == 0);
  auto newest = page({{"order", "newest"}, {"limit", "2"}});
  CHECK(asins_of(newest)
        == std::vector<std::string>{"B000000000", "B000000001"});
  auto filtered = page(
    {{"min_roi_bp", "5000"}, {"min_profit_cents", "10500"}, {"domain", "uk"}});
  // i >= 105 and i % 3 == 0: 105, 108, ..., 117.
  CHECK(filtered["total"].GetInt() == 5);
  CHECK(std::string{filtered["deals"][0]["currency"].GetString()} == "GBP");
  CHECK(std::string{filtered["deals"][0]["amazon_url"].GetString()}
        == "https://www.amazon.co.uk/dp/B000000117");
  CHECK(page({{"seen_within_seconds", "600"}})["total"].GetInt() == 11);
  CHECK(page({{"max_rank", "90000"}, {"order", "rank"}})["total"].GetInt()
        == 20);
  auto [bad, error] = dash.deals({{"order", "cheapest"}}, now);
  CHECK(bad == 400);
  CHECK_THAT(parse(error)["error"].GetString(), Catch::Contains("order"));
  // Read-only: the file's deals are unchanged by any of this.
  CHECK(*(*writer)->deal_count() == 120);
}

// -- access -------------------------------------------------------------------

TEST_CASE("only 127.0.0.1, ::1 and localhost count as private HTTP hosts",
          "[dashboard][access]") {
  for (auto host : {"127.0.0.1", "::1", "localhost"})
    CHECK(private_http_host(host));
  for (auto host : {"127.0.0.2", "0.0.0.0", "::", "192.0.2.1", "example.org"})
    CHECK_FALSE(private_http_host(host));
}

TEST_CASE("a configured access token is read from a file only its owner "
          "reads, and long enough",
          "[dashboard][access]") {
  temp_dir dir;
  auto path = (dir.path / "access.token").string();
  auto write = [&](const std::string& text, mode_t mode) {
    std::ofstream{path} << text;
    ::chmod(path.c_str(), mode);
  };
  write(configured + "\n", 0600);
  auto ok = read_access_token(path);
  REQUIRE(ok);
  CHECK(*ok == configured);
  // Read, never written.
  CHECK(file_text(path) == configured + "\n");
  write(configured, 0644);
  CHECK_THAT(render(read_access_token(path).error()),
             Catch::Contains("may be read by others"));
  write("short-token", 0600);
  CHECK_THAT(render(read_access_token(path).error()),
             Catch::Contains("fewer than 16 characters"));
  CHECK_THAT(render(read_access_token(path + ".missing").error()),
             Catch::Contains("cannot read access token file"));
}

TEST_CASE("requests show a token as Bearer, Basic or the session cookie; "
          "others get 401",
          "[dashboard][access]") {
  http_access local{"127.0.0.1", 4271, {token, ""}, session};
  httplib::Response res;
  auto admitted = [&](const httplib::Request& req) {
    res = httplib::Response{};
    return local.admit(req, res);
  };
  CHECK(
    admitted(request("/api/summary", {{"Authorization", "Bearer " + token}})));
  // Any user name, the token as password.
  CHECK(admitted(request(
    "/", {httplib::make_basic_authentication_header("anyone", token)})));
  CHECK(
    admitted(request("/", {{"Cookie", "a=b; keepa_session_4271=" + session}})));
  SECTION("no token, or a wrong one: 401, with Basic for the page") {
    CHECK_FALSE(admitted(request("/")));
    CHECK(res.status == 401);
    CHECK_THAT(res.get_header_value("WWW-Authenticate"),
               Catch::StartsWith("Basic realm="));
    CHECK_FALSE(admitted(request("/api/deals")));
    CHECK(res.status == 401);
    CHECK_THAT(res.get_header_value("WWW-Authenticate"),
               Catch::StartsWith("Bearer"));
    CHECK_FALSE(admitted(
      request("/api/deals", {{"Authorization", "Bearer " + token + "x"}})));
    CHECK_FALSE(admitted(request(
      "/", {httplib::make_basic_authentication_header("anyone", session)})));
    CHECK_FALSE(admitted(request("/", {{"Authorization", "Basic !!!!"}})));
    CHECK_FALSE(
      admitted(request("/", {{"Cookie", "keepa_session_4271=" + token}})));
    // Another port's cookie.
    CHECK_FALSE(
      admitted(request("/", {{"Cookie", "keepa_session_4272=" + session}})));
    CHECK(res.body.find(token) == std::string::npos);
  }
  SECTION("/?token= on a private host: a session cookie and a redirect") {
    auto login = request("/");
    login.params.emplace("token", token);
    CHECK_FALSE(admitted(login));
    CHECK(res.status == 303);
    CHECK(res.get_header_value("Location") == "/");
    auto cookie = res.get_header_value("Set-Cookie");
    CHECK(cookie
          == "keepa_session_4271=" + session
            + "; Path=/; HttpOnly; SameSite=Strict");
    CHECK(cookie.find(token) == std::string::npos);
    auto wrong = request("/");
    wrong.params.emplace("token", session);
    CHECK_FALSE(admitted(wrong));
    CHECK(res.status == 401);
    CHECK(local.login_url(token) == "http://127.0.0.1:4271/?token=" + token);
  }
  SECTION("on any other host: no token in URLs; the configured token") {
    http_access exposed{"127.0.0.2", 4271, {token, configured}, session};
    auto login = request("/");
    login.params.emplace("token", configured);
    CHECK_FALSE(exposed.admit(login, res));
    CHECK(res.status == 401);
    CHECK(res.get_header_value("Set-Cookie").empty());
    CHECK(exposed.admit(
      request("/api/deals", {{"Authorization", "Bearer " + configured}}), res));
    CHECK(exposed.admit(
      request("/",
              {httplib::make_basic_authentication_header("me", configured)}),
      res));
    CHECK(exposed.login_url(configured) == "http://127.0.0.2:4271/");
  }
}

// -- the embedded files -------------------------------------------------------

TEST_CASE("the page's files are embedded byte for byte and load nothing "
          "from elsewhere",
          "[dashboard]") {
  std::filesystem::path web = KEEPA_WEB_DIR;
  std::vector<std::string> paths;
  for (auto& f : embedded_files()) {
    paths.emplace_back(f.path);
    CHECK(std::string{f.body} == file_text(web / f.path.substr(1)));
  }
  CHECK(paths
        == std::vector<std::string>{"/index.html", "/app.js", "/style.css"});
  std::regex remote{R"((src|href)\s*=\s*["']?(https?:)?//)", std::regex::icase};
  std::regex remote_css{R"(url\(|@import)"};
  for (auto& f : embedded_files()) {
    std::string body{f.body};
    INFO(f.path);
    CHECK_FALSE(std::regex_search(body, remote));
    CHECK_FALSE(std::regex_search(body, remote_css));
    // The page reads its data with fetch() from its own origin only.
    if (f.path == "/app.js")
      CHECK(body.find("fetch(path") != std::string::npos);
  }
}
