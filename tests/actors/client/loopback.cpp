// The KEEPA CLIENT against keepa-sim over real loopback sockets.

#include <catch2/catch.hpp>

#include <atomic>
#include <future>

#include <caf/event_based_actor.hpp>
#include <rapidjson/document.h>

#include "config/api_key.hpp"
#include "tests/support/loopback.hpp"

using namespace client_test;
using namespace keepa;

namespace {

/// A seller id the simulator knows, read from a product's offers.
std::string some_seller(sim::model& m) {
  sim::request r;
  r.method = "GET";
  r.path = "/product";
  r.query = {{"key", secret_key},
             {"domain", "1"},
             {"asin", m.asins().front()},
             {"offers", "20"}};
  auto ans = m.handle(r, wall_ms());
  rapidjson::Document doc;
  doc.Parse(ans.body.data(), ans.body.size());
  INFO(ans.body.substr(0, 300));
  REQUIRE(doc.HasMember("products"));
  auto& offers = doc["products"][0]["offers"];
  REQUIRE(offers.Size() > 0);
  return offers[0]["sellerId"].GetString();
}

} // namespace

TEST_CASE("every endpoint answers over loopback and settles", "[client]") {
  sim_server srv{sim_options()};
  loopback lb{srv};
  // /token: the envelope, free.
  auto env = lb.ask<envelope>(atom::probe_v);
  REQUIRE(env);
  CHECK(env->http_status == 200);
  CHECK(env->tokens_left == 1200);
  CHECK(env->refill_rate == 20);
  CHECK(env->timestamp_ms > 0);
  lb.observe(env->tokens_left);
  // /product: 3 light products.
  auto asins = first(*srv.model, 3);
  auto grant = lb.grant(3);
  REQUIRE(grant != 0);
  auto page = lb.ask<product_page>(atom::product_v, products(asins, grant));
  REQUIRE(page);
  CHECK(page->env.tokens_consumed == 3);
  CHECK(page->env.tokens_left == 1197);
  REQUIRE(page->products.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    auto& p = page->products[i];
    CHECK(p.asin == asins[i]);
    CHECK_FALSE(p.title.empty());
    CHECK(p.root_category == 283155);
    CHECK(p.has_stats);
    CHECK(p.stats.current.size() >= 34);
    CHECK(p.fba_pick_pack_fee > 0);
    CHECK(p.referral_fee_percentage > 0);
    CHECK_FALSE(p.has_offers);
  }
  // With offers: the summary of live offers.
  auto q = products({asins[0]}, lb.grant(12));
  q.offers = 20;
  auto with_offers = lb.ask<product_page>(atom::product_v, q);
  REQUIRE(with_offers);
  REQUIRE(with_offers->products.size() == 1);
  auto& p = with_offers->products[0];
  CHECK(p.has_offers);
  CHECK(p.offers.live > 0);
  CHECK(p.offers.lowest_by_condition.size() == 11);
  // /deal: one page of the feed, POSTed.
  deal_query dq;
  dq.grant_id = lb.grant(5, stage::scan);
  dq.selection = R"({"domainId":1,"priceTypes":[2],"dateRange":0})";
  auto deals = lb.ask<deal_page>(atom::deal_v, dq);
  REQUIRE(deals);
  CHECK(deals->env.tokens_consumed == 5);
  REQUIRE_FALSE(deals->deals.empty());
  for (auto& d : deals->deals) {
    CHECK(d.asin.size() == 10);
    CHECK(d.last_update > 0);
    CHECK(d.current.size() >= 34);
    CHECK(d.avg90.size() >= 34);
  }
  // sortType 1: deal age, newest first.
  for (size_t i = 1; i < deals->deals.size(); ++i)
    CHECK(deals->deals[i - 1].last_update >= deals->deals[i].last_update);
  // /seller.
  seller_query sq;
  sq.grant_id = lb.grant(1);
  sq.seller_ids = {some_seller(*srv.model)};
  auto sellers = lb.ask<seller_page>(atom::seller_v, sq);
  REQUIRE(sellers);
  REQUIRE(sellers->sellers.size() == 1);
  CHECK(sellers->sellers[0].seller_id == sq.seller_ids[0]);
  // Every grant was settled with what Keepa reported.
  auto st = lb.snapshot();
  CHECK(st.totals.grants == 4);
  CHECK(st.totals.settled_grants == 4);
  CHECK(st.totals.released_grants == 0);
  CHECK(st.outstanding == 0);
  CHECK(st.totals.consumed
        == 3 + with_offers->env.tokens_consumed + 5
          + sellers->env.tokens_consumed);
}

TEST_CASE("a 429 is settled and reported so the caller asks again",
          "[client]") {
  auto opts = sim_options();
  opts.initial_tokens = 0; // someone else drained the key
  sim_server srv{opts};
  loopback lb{srv};
  lb.observe(500); // stale belief: plenty of tokens
  auto grant = lb.grant(10);
  REQUIRE(grant != 0);
  auto page = lb.ask<product_page>(atom::product_v,
                                   products(first(*srv.model, 10), grant));
  REQUIRE_FALSE(page);
  CHECK(is(page.error(), ec::not_enough_tokens));
  auto st = lb.snapshot();
  CHECK(st.totals.settled_grants == 1);
  CHECK(st.totals.consumed == 0);
  CHECK(st.outstanding == 0);
  // TOKEN learned the real balance: the next acquire waits for a refill.
  CHECK(st.projected <= 0);
  caf::scoped_actor self{lb.sys};
  bool waits = false;
  self
    ->request(lb.token, 5s, atom::acquire_v,
              token_request{"test", stage::peek, 10, 0})
    .receive(
      [&](token_reply& r) {
        if (auto* w = caf::get_if<recharge_wait>(&r)) {
          waits = true;
          CHECK(w->retry_after > caf::timespan{0});
          CHECK(w->retry_after <= std::chrono::seconds{60});
        }
      },
      [&](const caf::error&) {});
  CHECK(waits);
}

TEST_CASE("answers above the size limit are refused", "[client]") {
  sim_server srv{sim_options()};
  client_config cc;
  cc.transport.max_answer_bytes = 16 * 1024;
  loopback lb{srv, cc};
  lb.observe(1200);
  auto q = products(first(*srv.model, 20), lb.grant(20));
  q.stats.clear(); // full histories: about 400 KB
  auto page = lb.ask<product_page>(atom::product_v, q);
  REQUIRE_FALSE(page);
  CHECK(is(page.error(), ec::answer_too_large));
  // The request ran, so its grant is settled as possibly charged.
  auto st = lb.snapshot();
  CHECK(st.totals.settled_grants == 1);
  CHECK(st.totals.unconfirmed == 1);
  CHECK(st.totals.consumed == 20);
  // A small answer still goes through afterwards.
  auto small = lb.ask<product_page>(
    atom::product_v, products(first(*srv.model, 1), lb.grant(1)));
  CHECK(small);
}

TEST_CASE("a scheduler thread stays free while 16 slow requests are in "
          "flight",
          "[client]") {
  auto opts = sim_options();
  opts.latency_ms = 1500;
  sim_server srv{opts};
  loopback lb{srv};
  auto ping = lb.sys.spawn(
    []() -> caf::behavior { return {[](int32_t x) { return x; }}; });
  // 16 requests without a grant (nothing to settle), fanned out by one
  // event-based actor; the promise fires when all 16 are answered.
  std::atomic<int> answered{0};
  std::promise<void> all_done;
  auto done = all_done.get_future();
  auto asins = first(*srv.model, 16);
  auto client = lb.client;
  auto fan = lb.sys.spawn([&, client, asins](caf::event_based_actor* self) {
    for (auto& asin : asins)
      self->request(client, 30s, atom::product_v, products({asin}, 0))
        .then(
          [&](const product_page&) {
            if (++answered == 16)
              all_done.set_value();
          },
          [&](const caf::error&) {
            if (++answered == 16)
              all_done.set_value();
          });
  });
  auto t_sent = std::chrono::steady_clock::now();
  // While the server holds the 16 transfers (1.5 s each), the 2-thread
  // scheduler keeps answering: 20 round trips to another actor all come
  // back before any of the 16 does. A client that blocked its thread per
  // transfer would leave no thread for them (no wall-clock bound here: the
  // order of events is the check).
  caf::scoped_actor self{lb.sys};
  int rounds = 0;
  for (; rounds < 20; ++rounds) {
    bool ok = false;
    self->request(ping, 1s, int32_t{7})
      .receive([&](int32_t) { ok = true; }, [](const caf::error&) {});
    if (!ok)
      break;
  }
  CHECK(rounds == 20);
  CHECK(answered.load() == 0); // all 16 still in flight
  // All 16 complete in parallel: well below 16 x 1.5 s.
  REQUIRE(done.wait_for(10s) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - t_sent < 5s);
  caf::anon_send_exit(fan, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ping, caf::exit_reason::user_shutdown);
}

TEST_CASE("the key never shows in logs, errors or status", "[client]") {
  auto opts = sim_options();
  opts.rate_5xx = 1.0;
  sim_server srv{opts};
  std::vector<std::string> seen;
  {
    client_config cc;
    cc.attempts = 2;
    cc.backoff = 1ms;
    loopback lb{srv, cc};
    auto err = lb.ask<envelope>(atom::probe_v);
    REQUIRE_FALSE(err);
    seen.push_back(render(err.error()));
    auto status = lb.ask<caf::settings>(atom::status_v);
    REQUIRE(status);
    seen.push_back(caf::deep_to_string(*status));
    for (auto& line : lb.logs.snapshot())
      seen.push_back(line);
  }
  // A wrong key (also a secret) answered 402.
  sim_server good{sim_options()};
  {
    client_config cc;
    cc.key = "wrong+" + secret_key;
    loopback lb{good, cc};
    auto err = lb.ask<envelope>(atom::probe_v);
    REQUIRE_FALSE(err);
    CHECK(is(err.error(), ec::payment_required));
    seen.push_back(render(err.error()));
    for (auto& line : lb.logs.snapshot())
      seen.push_back(line);
  }
  REQUIRE(seen.size() >= 4);
  auto encoded = std::string{"s3cr3t%2BK3Y%2Fwith%3Dodd%26chars"};
  for (auto& line : seen) {
    INFO(line);
    CHECK(line.find(secret_key) == std::string::npos);
    CHECK(line.find(encoded) == std::string::npos);
    CHECK(line.find("s3cr3t") == std::string::npos);
  }
}

TEST_CASE("keys come from the environment or a key file only", "[client]") {
  unsetenv("KEEPA_API_KEY");
  auto missing = load_api_key("");
  REQUIRE_FALSE(missing);
  CHECK(is(missing.error(), ec::missing_key));
  auto path = std::string{"/tmp/keepa-client-test-key"};
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("  abc123\n", f);
    std::fclose(f);
  }
  auto from_file = load_api_key(path);
  REQUIRE(from_file);
  CHECK(*from_file == "abc123");
  setenv("KEEPA_API_KEY", "fromenv", 1);
  CHECK(*load_api_key(path) == "fromenv");
  unsetenv("KEEPA_API_KEY");
  auto unreadable = load_api_key("/nonexistent/key");
  REQUIRE_FALSE(unreadable);
  CHECK(render(unreadable.error()).find("/nonexistent/key")
        != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("a key file holds one word; reading it ignores the environment "
          "(keepa-sim's --sim.key-file)",
          "[client]") {
  auto path = std::string{"/tmp/keepa-client-test-key-file"};
  auto write = [&](const char* text) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text, f);
    std::fclose(f);
  };
  setenv("KEEPA_API_KEY", "fromenv", 1);
  write("\t k3y-value \r\n\n");
  auto key = read_api_key_file(path);
  REQUIRE(key);
  CHECK(*key == "k3y-value");
  write("two words\n");
  auto two = read_api_key_file(path);
  REQUIRE_FALSE(two);
  CHECK(is(two.error(), ec::missing_key));
  auto text = render(two.error());
  CHECK(text.find(path) != std::string::npos);
  CHECK(text.find("two") == std::string::npos);
  write(" \n");
  auto empty = read_api_key_file(path);
  REQUIRE_FALSE(empty);
  CHECK(render(empty.error()).find("empty") != std::string::npos);
  CHECK_FALSE(read_api_key_file("/nonexistent/key"));
  unsetenv("KEEPA_API_KEY");
  std::remove(path.c_str());
}
