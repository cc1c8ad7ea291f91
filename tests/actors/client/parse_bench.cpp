// Figure for issue 4: parse throughput of a realistic 100-product answer
// with history (keepa-sim's, stats=365, offers=20): the client's parse into
// structs against a bare RapidJSON DOM parse of the same bytes, in one run.
// Issue 17: the same for a keepa-sim /deal page, with the fields read for
// their shape only skimmed from the text (the default) and through the
// reader.
//
// Usage: keepa-parse-bench [iterations]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <rapidjson/document.h>

#include "actors/client/parse.hpp"
#include "messages/error.hpp"
#include "tools/keepa-sim/model.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::string realistic_answer() {
  keepa::sim::options opts;
  opts.products = 1000;
  opts.start_unix_ms = 1790000000000;
  keepa::sim::model m{opts};
  auto asins = m.asins();
  std::string list;
  for (size_t i = 0; i < 100; ++i)
    list += (i == 0 ? "" : ",") + asins[i];
  keepa::sim::request r;
  r.method = "GET";
  r.path = "/product";
  r.query = {{"key", opts.key}, {"domain", "1"},  {"asin", list},
             {"stats", "365"},  {"offers", "20"}, {"rating", "1"}};
  return m.handle(r, opts.start_unix_ms).body;
}

/// A /deal page of keepa-sim's: 150 deals, each with its avg, delta and
/// deltaPercent rows over every price type.
std::string deal_page_answer() {
  keepa::sim::options opts;
  opts.products = 5000;
  opts.start_unix_ms = 1790000000000;
  keepa::sim::model m{opts};
  keepa::sim::request r;
  r.method = "GET";
  r.path = "/deal";
  r.query = {{"key", opts.key},
             {"selection", R"({"page":0,"domainId":1,"priceTypes":[0]})"}};
  return m.handle(r, opts.start_unix_ms).body;
}

template<class F>
double mb_per_s(const std::string& body, int iterations, F f) {
  auto t0 = clock_type::now();
  for (int i = 0; i < iterations; ++i) {
    std::string copy = body; // both sides pay the same copy
    f(copy);
  }
  std::chrono::duration<double> dt = clock_type::now() - t0;
  return static_cast<double>(body.size()) * iterations / dt.count() / 1e6;
}

} // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 40;
  auto body = realistic_answer();
  size_t products = 0;
  auto check = body;
  auto parsed = keepa::parse_product_page(check, 200);
  if (parsed.err) {
    std::fprintf(stderr, "the answer does not parse: %s\n%.300s\n",
                 keepa::render(parsed.err).c_str(), body.c_str());
    return 1;
  }
  products = parsed.page.products.size();
  // Warm up both paths once, then measure alternately twice.
  double dom = 0;
  double client = 0;
  for (int round = 0; round < 3; ++round) {
    auto d = mb_per_s(body, iterations, [](std::string& s) {
      rapidjson::Document doc;
      doc.Parse(s.data(), s.size());
      if (doc.HasParseError())
        std::abort();
    });
    auto c = mb_per_s(body, iterations, [](std::string& s) {
      auto p = keepa::parse_product_page(s, 200);
      if (p.err || p.page.products.size() != 100)
        std::abort();
    });
    if (round > 0) {
      dom += d / 2;
      client += c / 2;
    }
  }
  std::printf("answer: %zu products, %zu bytes (stats=365, offers=20, "
              "history)\n",
              products, body.size());
  std::printf("bare RapidJSON DOM parse: %.1f MB/s\n", dom);
  std::printf("client parse into structs: %.1f MB/s\n", client);
  std::printf("ratio client / bare DOM: %.2f\n", client / dom);
  // A /deal page: the client's parse reading pruned fields of integers
  // straight from the text (the default) against RapidJSON's reader doing
  // all of it, and the bare DOM parse.
  auto deals = deal_page_answer();
  auto parse_deals = [](bool skim) {
    return [skim](std::string& s) {
      keepa::answer_limits limits;
      limits.skim_pruned = skim;
      auto p = keepa::parse_deal_page(s, 200, limits);
      if (p.err || p.page.deals.size() != 150)
        std::abort();
    };
  };
  double deal_dom = 0;
  double skimmed = 0;
  double read = 0;
  for (int round = 0; round < 3; ++round) {
    auto d = mb_per_s(deals, 4 * iterations, [](std::string& s) {
      rapidjson::Document doc;
      doc.Parse(s.data(), s.size());
      if (doc.HasParseError())
        std::abort();
    });
    auto r = mb_per_s(deals, 4 * iterations, parse_deals(false));
    auto k = mb_per_s(deals, 4 * iterations, parse_deals(true));
    if (round > 0) {
      deal_dom += d / 2;
      read += r / 2;
      skimmed += k / 2;
    }
  }
  std::printf("deal page: 150 deals, %zu bytes\n", deals.size());
  std::printf("bare RapidJSON DOM parse: %.1f MB/s\n", deal_dom);
  std::printf("client parse, every value through the reader: %.1f MB/s\n",
              read);
  std::printf("client parse, pruned integer fields skimmed: %.1f MB/s\n",
              skimmed);
  std::printf("ratio skimmed / through the reader: %.2f\n", skimmed / read);
  return 0;
}
