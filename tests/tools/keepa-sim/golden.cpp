// The answers' bytes: every answer is RapidJSON's own compact rendering of
// its content, and a fixed seed on a fixed clock gives the same bytes as
// before (golden digests per endpoint), so refactoring the writers or the
// payload code cannot change what clients receive unnoticed.

#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "tests/support/sim_helpers.hpp"

using namespace sim_test;
using keepa::sim::model;

namespace {

/// FNV-1a, 64 bits: stable across platforms and runs.
struct digest {
  uint64_t value = 0xcbf29ce484222325ULL;

  void add(const std::string& text) {
    for (auto c : text) {
      value ^= static_cast<unsigned char>(c);
      value *= 0x100000001b3ULL;
    }
  }

  void add(const keepa::sim::answer& a) {
    add(std::to_string(a.status) + " " + std::to_string(a.tokens_consumed)
        + "\n");
    add(a.body);
    add("\n");
  }
};

std::string hex(uint64_t x) {
  char buf[19];
  std::snprintf(buf, sizeof(buf), "0x%016llx",
                static_cast<unsigned long long>(x));
  return buf;
}

/// The body as RapidJSON's Writer renders what it parses from it.
std::string rewritten(const std::string& body) {
  auto d = parse(body);
  REQUIRE_FALSE(d.HasParseError());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  d.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

/// One model on a fixed clock, with every answer's digest per endpoint.
struct golden_run {
  model m;
  int64_t now = t0;
  std::map<std::string, digest> digests;
  std::vector<keepa::sim::answer> answers;

  explicit golden_run(keepa::sim::options o) : m(std::move(o)) {
    // nop
  }

  const keepa::sim::answer& ask(const std::string& group,
                                keepa::sim::request req, int64_t step = 7000) {
    now += step;
    answers.push_back(m.handle(req, now));
    digests[group].add(answers.back());
    return answers.back();
  }

  const keepa::sim::answer& product(std::multimap<std::string, std::string> q) {
    q.emplace("domain", "1");
    return ask("product", get("/product", std::move(q)));
  }

  const keepa::sim::answer& deal(const std::string& sel, int64_t step = 7000) {
    return ask("deal", get("/deal", {{"selection", sel}}), step);
  }
};

/// The sellers of the offers in a /product answer.
std::vector<std::string> sellers_of(const keepa::sim::answer& a) {
  std::set<std::string> out;
  auto d = parse(a.body);
  for (auto& p : d["products"].GetArray())
    if (p.HasMember("offers"))
      for (auto& o : p["offers"].GetArray())
        out.insert(o["sellerId"].GetString());
  return {out.begin(), out.end()};
}

/// Requests of every kind on one model; returns the run.
void exercise(golden_run& r) {
  auto asins = r.m.asins();
  auto range = [&](size_t from, size_t n) {
    return join({asins.begin() + static_cast<long>(from), asins.end()}, n);
  };
  r.ask("token", get("/token", {}));
  CHECK(r.product({{"asin", range(0, 6)}}).status == 200);
  CHECK(r.product({{"asin", range(6, 12)}, {"stats", "365"}, {"history", "0"}})
          .status
        == 200);
  auto& offers = r.product({{"asin", range(18, 8)},
                            {"stats", "90"},
                            {"offers", "20"},
                            {"rating", "1"},
                            {"stock", "1"}});
  CHECK(offers.status == 200);
  auto sellers = sellers_of(offers);
  CHECK(sellers.size() >= 5);
  CHECK(r.product({{"asin", range(26, 4)},
                   {"offers", "40"},
                   {"only-live-offers", "1"},
                   {"days", "30"},
                   {"update", "0"}})
          .status
        == 200);
  CHECK(r.product({{"asin", range(30, 4) + ",B000000000"},
                   {"stats", "2026-01-01,2026-09-19"},
                   {"buybox", "1"}})
          .status
        == 200);
  r.ask("seller",
        get("/seller",
            {{"domain", "1"}, {"seller", sellers[0]}, {"storefront", "1"}}));
  r.ask("seller",
        get("/seller",
            {{"domain", "1"}, {"seller", join(sellers, 4) + ",abc"}}));
  for (int sort : {1, 2, 3, 4, 0, -2})
    CHECK(r.deal(selection(sort)).status == 200);
  CHECK(r.deal(selection(1, 1)).status == 200);
  CHECK(r.deal(selection(4, 0,
                         R"(,"isRangeEnabled":true,)"
                         R"("currentRange":[500,5000],)"
                         R"("deltaPercentRange":[5,90])"))
          .status
        == 200);
  CHECK(r.deal(selection(1, 0,
                         R"(,"isFilterEnabled":true,)"
                         R"("includeCategories":[1,2,3],)"
                         R"("minRating":30,"titleSearch":"the")"))
          .status
        == 200);
  // Errors, each with its envelope.
  r.ask("error", get("/product", {{"domain", "1"}, {"asin", "abc"}}));
  // A message to escape: quotes, backslashes, control characters, UTF-8
  // (at the same time as the previous answer).
  r.ask("error",
        get("/product",
            {{"domain", "1"}, {"asin", "\"q\\\x01\x1f\t\n\u00e9/"}}),
        0);
  r.ask("error", get("/deal", {{"selection", "not json"}}));
  r.ask("error", get("/nope", {}));
  r.ask("error", get("/token", {}, "wrong"));
  // Two hours later: new deals, new rows, expired result sets.
  for (int k = 0; k < 4; ++k)
    CHECK(r.deal(selection(1), 30 * minute).status == 200);
  r.ask("token", get("/token", {}));
}

} // namespace

TEST_CASE("sim golden: every answer is RapidJSON's compact rendering of "
          "itself",
          "[sim]") {
  auto o = small();
  o.refill_rate = 1000;
  golden_run r{o};
  exercise(r);
  REQUIRE(r.answers.size() > 20);
  for (auto& a : r.answers) {
    INFO(a.body.substr(0, 200));
    CHECK(rewritten(a.body) == a.body);
  }
}

// The digests were taken from the hand-made writer before it gave way to
// rapidjson::Writer. When an answer changes on purpose, take the new value
// from this test's failure message, and say in the commit what changed.
TEST_CASE("sim golden: the same seed and clock give the same bytes", "[sim]") {
  auto o = small();
  o.refill_rate = 1000;
  o.seed = 5;
  o.update_rate = 20;
  golden_run r{o};
  exercise(r);
  // A few deals were served, so the deal digest covers deal objects.
  CHECK(r.m.served_deals().size() > 150);
  CHECK(hex(r.digests["token"].value) == "0xde752b67a0caa920");
  CHECK(hex(r.digests["product"].value) == "0xfff2976b7a0d2b50");
  CHECK(hex(r.digests["seller"].value) == "0x2514a297da4f38c3");
  CHECK(hex(r.digests["deal"].value) == "0x333cbd8e07efb32b");
  CHECK(hex(r.digests["error"].value) == "0xd69b2cb245cb4db9");
}
