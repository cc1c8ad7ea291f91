// keepa-eta's core: the real pipeline in virtual time until N deals are
// stored, with the token breakdown.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <unistd.h>

#include <rapidjson/document.h>

#include <caf/config_value.hpp>
#include <caf/settings.hpp>

#include "config/pipeline_config.hpp"
#include "messages/error.hpp"
#include "messages/token.hpp"
#include "storage/soci_backend.hpp"
#include "tools/keepa-eta/eta.hpp"
#include "tools/virtual-run/virtual_run.hpp"

using namespace keepa;

namespace {

eta_options small_plan(int64_t rate, uint64_t target) {
  eta_options o;
  o.sim.refill_rate = rate;
  o.sim.products = 4000;
  o.sim.update_rate = 20;
  o.target = target;
  o.limit = std::chrono::hours{24 * 30};
  return o;
}

eta_result run(const eta_options& o) {
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  auto r = run_eta(o, cfg);
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("keepa-eta reaches the target and accounts for every token",
          "[eta]") {
  auto o = small_plan(20, 60);
  auto r = run(o);
  INFO(render(o, r));
  CHECK(r.reached);
  CHECK(r.deals >= o.target);
  // The run checks every minute near the target, so the ETA is a whole
  // minute and the deals at most a minute's worth beyond the target.
  auto minute = caf::timespan{std::chrono::minutes{1}};
  CHECK(r.elapsed.count() % minute.count() == 0);
  CHECK(r.deals <= o.target + 5);
  CHECK(r.elapsed > caf::timespan::zero());
  int64_t by_stage = 0;
  for (auto x : r.by_stage)
    by_stage += x;
  CHECK(by_stage == r.consumed);
  CHECK(r.by_stage[static_cast<size_t>(stage::peek)] > 0);
  CHECK(r.by_stage[static_cast<size_t>(stage::commit)] > 0);
  // Never more than the plan gave plus the floor the pipeline may dip to.
  CHECK(r.consumed + r.lost_at_cap <= r.generated + 180);
  CHECK(r.min_balance > -180);
  auto text = render(o, r);
  CHECK(text.find("ETA for 60 deals:") != std::string::npos);
  CHECK(text.find("lost at cap") != std::string::npos);
}

TEST_CASE("a bigger plan reaches the same target sooner", "[eta]") {
  // Beyond what the starting balance buys (the best books go first, so the
  // first ten deals take a minute on either plan).
  auto slow = run(small_plan(5, 30));
  auto fast = run(small_plan(60, 30));
  REQUIRE(slow.reached);
  REQUIRE(fast.reached);
  CHECK(fast.elapsed < slow.elapsed);
}

TEST_CASE("keepa-eta says when the target is out of reach", "[eta]") {
  auto o = small_plan(5, 100000);
  o.limit = std::chrono::hours{6};
  auto r = run(o);
  CHECK_FALSE(r.reached);
  CHECK(r.elapsed == o.limit);
  auto text = render(o, r);
  CHECK(text.find("not reached") != std::string::npos);
  // 5 tokens/min, refreshed daily: at most about 7200 deals.
  CHECK(text.find("at most about 7200 deals") != std::string::npos);
  // 4000 books hold far fewer good deals than 100000.
  CHECK(text.find("deals need more than ") != std::string::npos);
}

TEST_CASE("keepa-eta stops early once the recent growth cannot reach the "
          "target",
          "[eta]") {
  // 4000 books hold about 120 good deals: 1000 is out of reach.
  auto o = small_plan(5, 1000);
  o.limit = std::chrono::hours{24 * 365};
  o.window = std::chrono::hours{24 * 2};
  auto r = run(o);
  INFO(render(o, r));
  CHECK_FALSE(r.reached);
  CHECK(r.out_of_reach);
  CHECK(r.elapsed >= o.window);
  CHECK(r.elapsed < o.limit);
  CHECK(double(r.deals) + r.recent_per_day * 363 < 1000.0);
  CHECK(render(o, r).find("out of reach: ") != std::string::npos);
  // And it says why: the catalogue has too few good deals.
  CHECK(r.catalogue_good > 0);
  CHECK(r.catalogue_good < 1000);
  CHECK(r.deals <= r.catalogue_good);
  CHECK_THAT(render(o, r),
             Catch::Contains("catalogue holds only "
                             + std::to_string(r.catalogue_good)
                             + " good deals"));
  // Without the window it runs to the limit.
  o.window = caf::timespan::zero();
  o.limit = std::chrono::hours{24 * 3};
  auto full = run(o);
  CHECK_FALSE(full.out_of_reach);
  CHECK(full.elapsed == o.limit);
}

TEST_CASE("keepa-eta rejects bad options with a readable error", "[eta]") {
  auto err_of = [](caf::settings xs) {
    auto r = eta_options_from(xs);
    REQUIRE_FALSE(r);
    return render(r.error());
  };
  caf::settings xs;
  caf::put(xs, "eta.products", int64_t{0});
  CHECK_THAT(err_of(xs), Catch::Contains("eta.products"));
  xs.clear();
  caf::put(xs, "eta.good-fraction", 0.5);
  CHECK_THAT(err_of(xs), Catch::Contains("good-fraction"));
  xs.clear();
  caf::put(xs, "eta.update-rate", -1.0);
  CHECK_THAT(err_of(xs), Catch::Contains("update-rate"));
  xs.clear();
  caf::put(xs, "eta.window", caf::timespan{-1});
  CHECK_THAT(err_of(xs), Catch::Contains("eta.window"));
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  auto o = small_plan(5, 0);
  auto r = run_eta(o, cfg);
  REQUIRE_FALSE(r);
  CHECK_THAT(render(r.error()), Catch::Contains("eta.deals"));
  auto defaults = eta_options_from(caf::settings{});
  REQUIRE(defaults);
  CHECK(defaults->target == 10000);
  CHECK(defaults->sim.refill_rate == 5);
}

namespace {

/// The pipeline of `o` in virtual time, spawned on a fresh database.
struct fitted_run {
  pipeline_config cfg;
  std::unique_ptr<virtual_run> run;

  explicit fitted_run(const eta_options& o, const std::string& name) {
    REQUIRE(!load_profiles(cfg));
    auto rc = run_config_from(cfg);
    REQUIRE(rc);
    run = std::make_unique<virtual_run>(o.sim, name, o.scan_interval);
    run->apply(*rc);
    REQUIRE(!run->spawn());
  }

  eta_options fit_options(uint64_t target) const {
    eta_options o;
    o.from = run->settings.storage.url;
    o.target = target;
    return o;
  }
};

/// `r`'s /status as a JSON document.
rapidjson::Document status_json(const pipeline_report& r) {
  rapidjson::Document doc;
  doc.Parse(to_json(r).c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

} // namespace

TEST_CASE("keepa-eta and keepa-bench run the peek-filter with the keepa.peek "
          "options given, and refuse a bad one",
          "[eta]") {
  // They ran with the value gate's defaults whatever keepa.peek.* said.
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  caf::put(cfg.content, "keepa.peek.value-horizon-tokens", int64_t{700});
  caf::put(cfg.content, "keepa.peek.value-gate", false);
  caf::put(cfg.content, "keepa.peek.skip-hopeless", true);
  auto rc = run_config_from(cfg);
  REQUIRE(rc);
  virtual_run run{small_plan(5, 0).sim, "eta-peek-options"};
  auto max_queue = run.settings.peek.gate.max_queue;
  run.apply(*rc);
  CHECK(run.settings.peek.gate.horizon_tokens == 700);
  CHECK_FALSE(run.settings.peek.gate.enabled);
  CHECK(run.settings.peek.gate.skip_hopeless);
  // The bound on held candidates is the pipeline's: half the scanner's.
  CHECK(run.settings.peek.gate.max_queue == max_queue);
  caf::put(cfg.content, "keepa.peek.value-horizon-tokens", int64_t{0});
  auto bad = run_config_from(cfg);
  REQUIRE_FALSE(bad);
  CHECK_THAT(render(bad.error()),
             Catch::Contains("keepa.peek.value-horizon-tokens"));
}

// keepa-eta ran the scanner on its defaults whatever keepa.scan.* said.
TEST_CASE("keepa-eta and keepa-bench scan with the keepa.scan options given, "
          "on the simulator's queries and locale",
          "[eta]") {
  pipeline_config cfg;
  REQUIRE(!load_profiles(cfg));
  // The settings of a run (its own interval 7 min) with `cfg` applied, and
  // whether it kept the simulator's deal query.
  auto applied = [&](const char* name) {
    auto rc = run_config_from(cfg);
    REQUIRE(rc);
    virtual_run run{small_plan(5, 0).sim, name, std::chrono::minutes{7}};
    auto selection = run.settings.scan.selection;
    run.apply(*rc);
    return std::make_pair(run.settings,
                          run.settings.scan.selection == selection);
  };
  SECTION("the defaults leave the run's own interval") {
    auto [s, same_query] = applied("eta-scan-defaults");
    CHECK(s.scan.interval == std::chrono::minutes{7});
    CHECK(s.scan.max_backlog == 2000);
    CHECK(same_query);
    CHECK(s.peek.gate.max_queue == 1000);
  }
  SECTION("given options act; the queries and locale stay the simulator's") {
    caf::put(cfg.content, "keepa.scan.interval",
             caf::timespan{std::chrono::minutes{2}});
    caf::put(cfg.content, "keepa.scan.max-backlog", size_t{600});
    caf::put(cfg.content, "keepa.scan.max-slices", size_t{3});
    caf::put(cfg.content, "keepa.scan.query-file",
             std::string{"/nonexistent.json"});
    caf::put(cfg.content, "keepa.locale", std::string{"uk"});
    auto [s, same_query] = applied("eta-scan-given");
    CHECK(s.scan.interval == std::chrono::minutes{2});
    // ... unless the tool's own option for it was given.
    auto rc = run_config_from(cfg);
    REQUIRE(rc);
    virtual_run own{small_plan(5, 0).sim, "eta-scan-own",
                    std::chrono::minutes{7}};
    own.apply(*rc, true);
    CHECK(own.settings.scan.interval == std::chrono::minutes{7});
    CHECK(own.settings.scan.max_backlog == 600);
    CHECK(s.scan.max_backlog == 600);
    CHECK(s.scan.max_slices == 3);
    CHECK(same_query);
    CHECK(s.scan.domain == 1);
    CHECK(s.peek.gate.max_queue == 300);
    // A bad one is refused, naming it.
    caf::put(cfg.content, "keepa.scan.source", std::string{"feed"});
    auto bad = run_config_from(cfg);
    REQUIRE_FALSE(bad);
    CHECK_THAT(render(bad.error()), Catch::Contains("keepa.scan.source"));
  }
  SECTION("keepa-eta's own --eta.scan-interval wins over it") {
    caf::settings xs;
    caf::put(xs, "eta.scan-interval", caf::timespan{std::chrono::minutes{60}});
    auto o = eta_options_from(xs);
    REQUIRE(o);
    CHECK(o->scan_interval_given);
    o->sim.refill_rate = 5;
    o->sim.products = 20000;
    o->target = 300;
    o->limit = std::chrono::hours{24 * 30};
    auto scans = [](const eta_result& r) {
      return r.by_stage[static_cast<size_t>(stage::scan)];
    };
    caf::put(cfg.content, "keepa.scan.interval",
             caf::timespan{std::chrono::minutes{1}});
    auto eta_wins = run_eta(*o, cfg);
    REQUIRE(eta_wins);
    o->scan_interval_given = false;
    auto every_minute = run_eta(*o, cfg);
    REQUIRE(every_minute);
    caf::put(cfg.content, "keepa.scan.interval",
             caf::timespan{std::chrono::minutes{60}});
    auto hourly = run_eta(*o, cfg);
    REQUIRE(hourly);
    INFO(render(*o, *eta_wins) << render(*o, *every_minute));
    CHECK(scans(*every_minute) != scans(*hourly));
    CHECK(scans(*eta_wins) == scans(*hourly));
    CHECK(eta_wins->elapsed == hourly->elapsed);
  }
}

TEST_CASE("keepa-eta fits its mixture from a database keepa-pipeline filled",
          "[eta][fit]") {
  auto o = small_plan(20, 60);
  fitted_run fr{o, "eta-fit"};
  auto& run = *fr.run;
  auto fo = fr.fit_options(500);
  // A fresh database holds too little.
  auto none = fit_eta(fo);
  REQUIRE_FALSE(none);
  CHECK_THAT(render(none.error()),
             Catch::Contains("too little data to fit: needs 30 s of "
                             "running time"));
  // Two hours, a shutdown (flushed), then the report and the fit.
  auto two_hours = [&] {
    run.run_for(std::chrono::hours{2});
    REQUIRE(run.shut_down().empty());
    return std::make_pair(run.report(), fit_eta(fo));
  };
  auto [r, first] = two_hours();
  REQUIRE(first);
  // STORAGE's counters are the pipeline's own.
  auto& x = first->mixture.from;
  CHECK(x.commits == static_cast<uint64_t>(r.num("committer", "committed")));
  CHECK(x.passes
        == static_cast<uint64_t>(r.num("committer", "committed")
                                 + r.num("committer", "rejected")));
  for (auto s : {stage::scan, stage::peek, stage::commit, stage::update})
    CHECK(x.tokens_of(s)
          == r.token.totals.consumed_by_stage[static_cast<size_t>(s)]);
  CHECK(x.run_time >= std::chrono::hours{2});
  CHECK(x.run_time < std::chrono::hours{2} + std::chrono::minutes{10});
  CHECK(x.feed_items >= x.peeks);
  CHECK(x.feed_span() > caf::timespan{0});
  CHECK(x.refill_rate == 20);
  CHECK(first->stored == run.deal_count());
  CHECK(first->plan.refill_rate == 20);
  REQUIRE(first->answer.reachable);
  CHECK(first->answer.time > caf::timespan{0});
  auto text = render(fo, *first);
  INFO(text);
  CHECK_THAT(text,
             Catch::Contains("mixture: fitted from " + std::to_string(x.peeks)
                             + " peeks"));
  CHECK_THAT(text, Catch::Contains("ETA for 500 deals: "));
  // This plan keeps up with the feed; a plan given on the command line that
  // cannot (1 token a minute) limits the rate and takes longer.
  CHECK_FALSE(first->answer.plan_limited);
  auto small = fo;
  small.sim.refill_rate = 1;
  small.refill_given = true;
  auto later = fit_eta(small);
  REQUIRE(later);
  CHECK(later->plan.refill_rate == 1);
  CHECK(later->answer.plan_limited);
  CHECK(later->answer.time > first->answer.time);
  CHECK_THAT(render(small, *later),
             Catch::Contains("plan: 1 tokens/min (--eta.refill-rate)"));
  // A restart adds to the counters: the fit follows the data.
  run.exit_all();
  REQUIRE(!run.spawn());
  auto [r2, second] = two_hours();
  REQUIRE(second);
  auto& y = second->mixture.from;
  CHECK(y.run_time >= x.run_time + std::chrono::hours{2});
  CHECK(y.commits
        == x.commits + static_cast<uint64_t>(r2.num("committer", "committed")));
  CHECK(y.peeks > x.peeks);
  CHECK(second->stored > first->stored);
  CHECK(second->answer.time != first->answer.time);
}

TEST_CASE("keepa-eta refuses a database it cannot fit from", "[eta][fit]") {
  eta_options fo;
  fo.from = "sqlite:/nonexistent/keepa-eta/none.db";
  auto r = fit_eta(fo);
  REQUIRE_FALSE(r);
  CHECK_THAT(render(r.error()), Catch::Contains("no such database"));
  fo.from = "mysql://x";
  CHECK_FALSE(fit_eta(fo));
}

TEST_CASE("keepa-eta reads a database without changing it", "[eta][fit]") {
  // A database of the previous schema (4): fitting from it must neither
  // migrate nor write it; it says why it cannot fit instead.
  namespace fs = std::filesystem;
  auto path = fs::temp_directory_path()
    / ("keepa-eta-readonly-" + std::to_string(::getpid()) + ".db");
  fs::remove(path);
  {
    db::open_options old;
    old.url = "sqlite:" + path.string();
    old.schema_version = 4;
    REQUIRE(db::soci_backend::open(old));
  }
  auto bytes = [&] {
    std::ifstream in{path, std::ios::binary};
    return std::string{std::istreambuf_iterator<char>{in}, {}};
  };
  auto before = bytes();
  auto mtime = fs::last_write_time(path);
  eta_options fo;
  fo.from = "sqlite:" + path.string();
  auto r = fit_eta(fo);
  REQUIRE_FALSE(r);
  CHECK_THAT(render(r.error()), Catch::Contains("schema"));
  CHECK(bytes() == before);
  CHECK(fs::last_write_time(path) == mtime);
  for (auto suffix : {"", "-wal", "-shm"})
    fs::remove(path.string() + suffix);
}

TEST_CASE("/status carries the ETA to keepa.max-deals", "[eta][status]") {
  auto o = small_plan(20, 60);
  fitted_run fr{o, "eta-status"};
  auto& run = *fr.run;
  // Without max-deals: no ETA.
  run.run_for(std::chrono::seconds{10});
  auto r = run.report();
  CHECK_FALSE(status_json(r).HasMember("eta_to_max_deals_seconds"));
  CHECK_THAT(status_line(r), !Catch::Contains("max-deals"));
  // With it, but too little data yet: null, and why.
  r.max_deals = 1000;
  auto early = status_json(r);
  REQUIRE(early.HasMember("eta_to_max_deals_seconds"));
  CHECK(early["eta_to_max_deals_seconds"].IsNull());
  CHECK_THAT(early["eta"]["error"].GetString(),
             Catch::Contains("too little data"));
  CHECK_THAT(status_line(r), Catch::Contains("max-deals ETA: fitting"));
  // Once the run has seen enough: seconds, the same the model says.
  run.run_for(std::chrono::hours{1});
  r = run.report();
  auto done = static_cast<uint64_t>(r.num("committer", "committed"));
  REQUIRE(done > 3);
  r.max_deals = done + 20;
  auto eta = eta_to_max_deals(r);
  REQUIRE(eta);
  REQUIRE(eta->reachable);
  auto doc = status_json(r);
  REQUIRE(doc["eta_to_max_deals_seconds"].IsNumber());
  auto seconds = doc["eta_to_max_deals_seconds"].GetDouble();
  CHECK(seconds > 0);
  CHECK(seconds == Approx(std::chrono::duration<double>(eta->time).count()));
  CHECK(doc["eta"]["max_deals"].GetUint64() == done + 20);
  CHECK_THAT(doc["eta"]["basis"].GetString(), Catch::Contains("fitted from"));
  CHECK_THAT(status_line(r),
             Catch::Contains("max-deals in " + human_duration(eta->time)));
  // Before TOKEN's first observation (rate 0, balance 0) the plan the
  // counters last saw stands in: not "out of reach".
  auto unobserved = r;
  unobserved.token.refill_rate = 0;
  unobserved.token.projected = 0;
  auto blind = eta_to_max_deals(unobserved);
  REQUIRE(blind);
  CHECK(blind->reachable);
  CHECK_THAT(status_line(unobserved), Catch::Contains("max-deals in "));
  // Further away is later.
  r.max_deals = done + 40;
  auto later = eta_to_max_deals(r);
  REQUIRE(later);
  CHECK(later->time > eta->time);
}
