// peek() and commit() against keepa-sim's truth: every catalogue book is
// fetched the way the peek-filter and the committer fetch it, parsed with a
// minimal RapidJSON reader (only the fields the analysis reads; the real
// parser lives in actors/keepa_parse), and judged with the default config.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "actors/analysis/deal_analysis.hpp"
#include "tools/keepa-sim/model.hpp"

using namespace keepa;

namespace {

constexpr int64_t now_ms = 1790000000000;

std::vector<int32_t> ints(const rapidjson::Value& obj, const char* name) {
  std::vector<int32_t> out;
  auto i = obj.FindMember(name);
  if (i == obj.MemberEnd() || !i->value.IsArray())
    return out;
  for (auto& x : i->value.GetArray())
    out.push_back(x.IsInt() ? x.GetInt() : -1);
  return out;
}

int32_t int_or(const rapidjson::Value& obj, const char* name, int32_t dflt) {
  auto i = obj.FindMember(name);
  return i != obj.MemberEnd() && i->value.IsInt() ? i->value.GetInt() : dflt;
}

product parse_product(const rapidjson::Value& x) {
  product p;
  p.asin = x["asin"].GetString();
  p.product_type = int_or(x, "productType", 0);
  if (x.HasMember("title"))
    p.title = x["title"].GetString();
  p.last_update = int_or(x, "lastUpdate", 0);
  if (x.HasMember("fbaFees") && x["fbaFees"].IsObject())
    p.fba_pick_pack_fee = int_or(x["fbaFees"], "pickAndPackFee", -1);
  if (x.HasMember("referralFeePercentage"))
    p.referral_fee_percentage = x["referralFeePercentage"].GetDouble();
  if (x.HasMember("stats") && x["stats"].IsObject()) {
    auto& s = x["stats"];
    p.has_stats = true;
    p.stats.current = ints(s, "current");
    p.stats.avg90 = ints(s, "avg90");
    p.stats.avg365 = ints(s, "avg365");
    p.stats.sales_rank_drops90 = int_or(s, "salesRankDrops90", -1);
    p.stats.sales_rank_drops365 = int_or(s, "salesRankDrops365", -1);
  }
  if (x.HasMember("offers") && x["offers"].IsArray()) {
    p.has_offers = true;
    p.offers_successful = x.HasMember("offersSuccessful")
      && x["offersSuccessful"].GetBool();
    auto& offers = x["offers"];
    auto& sum = p.offers;
    sum.lowest_by_condition.assign(6, -1);
    for (auto& idx : x["liveOffersOrder"].GetArray()) {
      auto& o = offers[idx.GetUint()];
      auto cond = o["condition"].GetInt();
      auto csv = o["offerCSV"].GetArray();
      auto n = csv.Size();
      auto landing = csv[n - 2].GetInt() + std::max(csv[n - 1].GetInt(), 0);
      ++sum.live;
      if (cond == 1)
        ++sum.new_;
      else if (cond >= 2 && cond <= 5)
        ++sum.used;
      if (cond >= 0 && cond < 6
          && (sum.lowest_by_condition[cond] < 0
              || landing < sum.lowest_by_condition[cond]))
        sum.lowest_by_condition[cond] = landing;
    }
  }
  return p;
}

/// GET /product for `asins` (<= 100) at now_ms; offers 0 = not sent.
std::vector<product> fetch(sim::model& m, const std::vector<std::string>& asins,
                           int offers) {
  std::string joined;
  for (auto& a : asins)
    joined += (joined.empty() ? "" : ",") + a;
  sim::request req;
  req.method = "GET";
  req.path = "/product";
  req.query = {{"key", "sim-key"},
               {"domain", "1"},
               {"asin", joined},
               {"stats", "365"},
               {"history", "0"}};
  if (offers > 0)
    req.query.emplace("offers", std::to_string(offers));
  auto ans = m.handle(req, now_ms);
  REQUIRE(ans.status == 200);
  rapidjson::Document doc;
  doc.Parse(ans.body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  std::vector<product> out;
  for (auto& x : doc["products"].GetArray())
    out.push_back(parse_product(x));
  REQUIRE(out.size() == asins.size());
  return out;
}

template<class F>
void in_batches(const std::vector<std::string>& xs, F f) {
  for (size_t i = 0; i < xs.size(); i += 100)
    f(std::vector<std::string>(xs.begin() + i,
                               xs.begin() + std::min(xs.size(), i + 100)));
}

std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += x + " ";
  return out;
}

sim::options sim_options(uint64_t seed) {
  sim::options o;
  o.seed = seed;
  o.products = 3000;
  // Enough tokens for every request at one instant.
  o.refill_rate = 100000;
  return o;
}

} // namespace

TEST_CASE("peek and commit agree with keepa-sim's truth",
          "[pipeline][analysis][sim]") {
  auto seed = GENERATE(uint64_t{1}, uint64_t{7}, uint64_t{2024});
  // The simulator's peek truth is the seeds' rules; the profit bound on top
  // may only drop books that are not good deals.
  auto bound = GENERATE(false, true);
  CAPTURE(seed, bound);
  sim::model m{sim_options(seed)};
  analysis_config cfg;
  cfg.peek_profit = bound;
  auto all = m.asins();
  auto pass_list = m.peek_pass_asins();
  auto good_list = m.good_deal_asins();
  std::set<std::string> pass(pass_list.begin(), pass_list.end());
  std::set<std::string> good(good_list.begin(), good_list.end());
  REQUIRE(all.size() == 3000);
  REQUIRE(good.size() > 30); // the comparison must mean something
  REQUIRE(pass.size() > good.size());
  // Peek: light products, stats=365, history=0, no offers.
  std::vector<survivor> survivors;
  std::vector<std::string> false_pass, false_reject, bounded;
  std::map<rejection_reason, int> reasons;
  in_batches(all, [&](const std::vector<std::string>& batch) {
    for (auto& p : fetch(m, batch, 0)) {
      auto v = peek(p, cfg);
      if (!v.viable && v.reason == rejection_reason::profit_below_min
          && good.count(p.asin) == 0)
        bounded.push_back(p.asin);
      else if (v.viable != (pass.count(p.asin) > 0))
        (v.viable ? false_pass : false_reject).push_back(p.asin);
      if (!v.viable) {
        ++reasons[v.reason];
        continue;
      }
      survivor s;
      s.candidate.asin = p.asin;
      s.light = p;
      s.buy_price = v.buy_price;
      s.est_sell_price = v.est_sell_price;
      survivors.push_back(std::move(s));
    }
  });
  INFO("peek passes the simulator rejects: " << join(false_pass));
  INFO("peek rejects the simulator passes: " << join(false_reject));
  CHECK(false_pass.empty());
  CHECK(false_reject.empty());
  CHECK(bounded.empty() != bound);
  // The simulator's rejects exercise more than one rule.
  CHECK(reasons.size() >= 3);
  // Commit: full products with offers=20 for the survivors.
  std::vector<std::string> names;
  for (auto& s : survivors)
    names.push_back(s.candidate.asin);
  std::map<std::string, const survivor*> by_asin;
  for (auto& s : survivors)
    by_asin.emplace(s.candidate.asin, &s);
  std::vector<std::string> false_commit, false_drop;
  size_t committed = 0;
  in_batches(names, [&](const std::vector<std::string>& batch) {
    for (auto& full : fetch(m, batch, 20)) {
      REQUIRE(full.has_offers);
      auto v = commit(*by_asin.at(full.asin), full, cfg, now_ms);
      bool is_good = good.count(full.asin) > 0;
      if (static_cast<bool>(v.record) != is_good)
        (v.record ? false_commit : false_drop).push_back(full.asin);
      if (v.record) {
        ++committed;
        CHECK(v.record->profit >= cfg.min_profit);
        CHECK(v.record->written_by == write_stage::commit);
        CHECK(v.record->first_seen_ms == now_ms);
        CHECK(v.record->offers_used > 0);
        CHECK(v.record->min_listing_price < v.record->est_sell_price);
      } else {
        CHECK(v.reason != rejection_reason::none);
      }
    }
  });
  INFO("committed but not good: " << join(false_commit));
  INFO("good but not committed: " << join(false_drop));
  CHECK(false_commit.empty());
  CHECK(false_drop.empty());
  CHECK(committed == good.size());
}

TEST_CASE("config/deal_query.json is accepted by a strict keepa-sim",
          "[pipeline][analysis][sim]") {
  std::ifstream in{KEEPA_SOURCE_DIR "/config/deal_query.json"};
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto opts = sim_options(1);
  opts.strict = true;
  sim::model m{opts};
  sim::request req;
  req.method = "POST";
  req.path = "/deal";
  req.query = {{"key", "sim-key"}};
  req.body = text.str();
  auto ans = m.handle(req, now_ms);
  INFO(ans.body.substr(0, 300));
  REQUIRE(ans.status == 200);
  rapidjson::Document doc;
  doc.Parse(ans.body.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.HasMember("deals"));
  auto& deals = doc["deals"]["dr"];
  REQUIRE(deals.IsArray());
  CHECK(deals.Size() > 0);
  // sortType 1: newest lastUpdate first.
  int64_t prev = INT64_MAX;
  for (auto& d : deals.GetArray()) {
    auto t = d["lastUpdate"].GetInt64();
    CHECK(t <= prev);
    prev = t;
  }
  // A numeric string is refused in strict mode, so the check has teeth.
  auto broken = text.str();
  auto pos = broken.find("\"domainId\": 1");
  REQUIRE(pos != std::string::npos);
  broken.replace(pos, 13, "\"domainId\": \"1\"");
  req.body = broken;
  CHECK(m.handle(req, now_ms).status == 400);
}
