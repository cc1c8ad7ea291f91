// Figure for issue 16, item 8: peak memory of parsing a hostile /deal
// answer of N deals (default one million, ~43 MB of JSON, under the 64 MiB
// answer limit). Prints the peak resident size before and after the parse
// (getrusage), so the parse's own share is the difference.
//
// With `wide`, the answer holds 150 deals (as many as a page may) whose
// `categories` arrays together hold ~21 M numbers (~43 MB): the most a
// well-counted answer of that size can cost.
//
// Usage: keepa-deal-flood-bench [deals | wide]

#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/resource.h>

#include "actors/client/parse.hpp"
#include "messages/error.hpp"

namespace {

long peak_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

} // namespace

int main(int argc, char** argv) {
  bool wide = argc > 1 && std::string{argv[1]} == "wide";
  long n = wide ? 150 : argc > 1 ? std::atol(argv[1]) : 1000000;
  std::string body = R"({"timestamp":1790000000000,"tokensLeft":95,)"
                     R"("refillIn":30000,"refillRate":20,"tokensConsumed":5,)"
                     R"("deals":{"dr":[)";
  body.reserve(size_t{44} * 1000000 + 256);
  for (long i = 0; i < n; ++i) {
    if (i > 0)
      body += ',';
    body += R"({"asin":"B)" + std::to_string(100000000 + i)
      + R"(","lastUpdate":7000000)";
    if (wide) {
      body += R"(,"categories":[1)";
      for (long k = 1; k < 1000000 * 21 / 150; ++k)
        body += ",1";
      body += "]";
    }
    body += "}";
  }
  body += "]}}";
  auto before = peak_kb();
  auto p = keepa::parse_deal_page(body, 200);
  auto after = peak_kb();
  std::printf("answer: %ld deals, %.1f MB\n", n,
              static_cast<double>(body.size()) / 1e6);
  std::printf("result: %s, %zu deals kept, envelope %s\n",
              p.err ? keepa::render(p.err).c_str() : "parsed",
              p.page.deals.size(), p.envelope_ok ? "read" : "lost");
  std::printf("peak RSS: %ld MB with the body built, %ld MB after parsing "
              "(+%ld MB)\n",
              before / 1024, after / 1024, (after - before) / 1024);
  return 0;
}
