#include "config/options.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/timespan.hpp>

#include "config/defaults.hpp"
#include "config/option_adder.hpp"

namespace keepa {

namespace {

// -- the groups
// -----------------------------------------------------------------

void add_run_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults;
  option_adder{opts, "keepa", defaults}
    .add<std::string>("profile",
                      with_default("profile name, or \"auto\" to pick by "
                                   "refill rate",
                                   profile))
    .add<std::string>("profiles-dir",
                      with_default("directory of profile *.ini files",
                                   profiles_dir()))
    .add<std::string>("locale",
                      with_default("Amazon locale: us, uk, de, fr, jp, ca, "
                                   "it, es, in, mx, br or Keepa's domain id; "
                                   "none = the deal query's domainId, else us",
                                   locale))
    .add<caf::timespan>("run-for",
                        with_default("keepa-pipeline: stop after this long, "
                                     "0s = never",
                                     run_for))
    .add<size_t>("max-deals",
                 with_default("keepa-pipeline: stop after committing this "
                              "many deals, 0 = never",
                              max_deals))
    .add<caf::timespan>("status-every",
                        with_default("keepa-pipeline: a status line this "
                                     "often when stderr is not a terminal",
                                     status_every))
    .add<caf::timespan>("status-refresh",
                        with_default("keepa-pipeline: redraw the status "
                                     "line this often on a terminal",
                                     status_refresh));
}

void add_log_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::logging;
  option_adder{opts, "keepa.log", defaults}
    .add<std::string>("level",
                      with_default("log records of this level and above: "
                                   "trace, debug, info, warning, error or "
                                   "off",
                                   level))
    .add<std::string>("format",
                      with_default("text (timestamp, level, message) or "
                                   "json (one object a line)",
                                   format));
}

void add_token_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::token;
  option_adder{opts, "keepa.token", defaults}
    .add<caf::timespan>("max-observation-age",
                        with_default("ask Keepa's /token only when the newest "
                                     "observation is older than this",
                                     max_observation_age))
    .add<caf::timespan>("stagger",
                        with_default("spacing of retry times at the same "
                                     "refill step",
                                     stagger))
    .add<caf::timespan>("ticket-grace",
                        with_default("drop a ticket not presented this long "
                                     "after its retry time",
                                     ticket_grace))
    .add<caf::timespan>("grant-ttl",
                        with_default("forget a grant neither settled nor "
                                     "released after this long",
                                     grant_ttl))
    .add<caf::timespan>("probe-retry",
                        with_default("retry time while no balance "
                                     "observation exists",
                                     probe_retry))
    .add<std::string>("remote",
                      with_default("spend from the budget server "
                                   "(keepa-token) at HOST:PORT instead of an "
                                   "own TOKEN (mutual TLS); none = own",
                                   server_remote))
    .add<int64_t>("weight",
                  with_default("this process's weight among the budget "
                               "server's consumers: shares are in "
                               "proportion to weights (1 to 1000000)",
                               weight))
    .add<std::string>("host",
                      with_default("keepa-token: interface to serve "
                                   "TOKEN on (not loopback: needs "
                                   "openssl.* certificates)",
                                   server_host))
    .add<uint16_t>(
      "port", with_default("keepa-token: port to serve TOKEN on", server_port));
}

void add_client_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::client;
  // No option for the key itself: it comes from KEEPA_API_KEY or key-file.
  option_adder{opts, "keepa.client", defaults}
    .add<std::string>("endpoint", with_default("Keepa API base URL", endpoint))
    .add<std::string>("key-file",
                      with_default("file holding the API key, read when "
                                   "$KEEPA_API_KEY is unset",
                                   key_file))
    .add<std::string>("ca-file",
                      with_default("CA bundle for TLS verification; none = "
                                   "the system's",
                                   ca_file))
    .add<bool>("allow-insecure",
               with_default("flag: allow http:// to a host that is not "
                            "loopback, which sends the API key in cleartext",
                            allow_insecure))
    .add<caf::timespan>("timeout", with_default("limit per transfer", timeout))
    .add<caf::timespan>("connect-timeout",
                        with_default("connect limit", connect_timeout))
    .add<size_t>("max-answer-size",
                 with_default("largest decoded answer in bytes, "
                                + std::to_string(max_answer_size >> 20)
                                + " MiB",
                              max_answer_size))
    .add<size_t>("max-connections",
                 with_default("parallel connections to the endpoint",
                              max_connections))
    .add<size_t>("attempts",
                 with_default("attempts per request on 5xx, "
                              "timeouts and resets",
                              attempts))
    .add<caf::timespan>("backoff", with_default("first retry delay", backoff))
    .add<caf::timespan>("backoff-max",
                        with_default("largest retry delay", backoff_max))
    .add<bool>("gzip", with_default("ask for gzip-compressed answers", gzip))
    .add<size_t>("max-auth-failures",
                 with_default("keepa-pipeline stops (exit code 3) after "
                              "this many 401/402/403 answers in a row; "
                              "0 = never",
                              max_auth_failures));
}

void add_storage_options(caf::config_option_set& opts,
                         caf::settings* defaults) {
  using namespace defaults::storage;
  option_adder{opts, "keepa.storage", defaults}
    .add<std::string>("url",
                      with_default("sqlite:PATH or postgresql://...", url))
    .add<caf::timespan>("busy-timeout",
                        with_default("lock wait per statement", busy_timeout))
    .add<int64_t>("lock-retries",
                  with_default("retries of a locked transaction", lock_retries))
    .add<std::string>("scope",
                      with_default("name of this pipeline's watermark, "
                                   "positions and run counters in a shared "
                                   "database; none = the locale's code",
                                   scope));
}

void add_scan_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::scan;
  option_adder{opts, "keepa.scan", defaults}
    .add<std::string>("query-file",
                      with_default("deal selection JSON", query_file()))
    .add<std::string>("source",
                      with_default("where candidates come from: deals (the "
                                   "/deal feed), finder (Product Finder, "
                                   "/query) or both",
                                   std::string{source}))
    .add<std::string>("finder-query-file",
                      with_default("Product Finder query JSON",
                                   finder_query_file()))
    .add<caf::timespan>("interval",
                        with_default("scan again after this long", interval))
    .add<size_t>("max-backlog",
                 with_default("pause scanning above this peek backlog",
                              max_backlog))
    .add<std::vector<int64_t>>(
      "price-bands",
      with_default("split the deal query at these prices (cents, ascending) "
                   "into disjoint slices, each a query of its own",
                   price_bands()))
    .add<size_t>("max-slices",
                 with_default("most slices: a slice that lists 10 000 deals "
                              "without reaching the last pass's newest is "
                              "split at its median price; 0 = one per 2000 "
                              "tokens a minute of the plan",
                              max_slices));
}

void add_peek_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::value_gate;
  option_adder{opts, "keepa.peek", defaults}
    .add<bool>("value-gate",
               with_default("peek only candidates worth a scarce token",
                            enabled))
    .add<bool>("skip-hopeless",
               with_default("let go of the candidates of a bin whose peeks "
                            "showed it hopeless, even when the tokens would "
                            "expire at the cap",
                            skip_hopeless))
    .add<caf::timespan>("value-horizon",
                        with_default("balance (minutes of refill) from "
                                     "which every candidate is worth a token",
                                     horizon))
    .add<int64_t>("value-horizon-tokens",
                  with_default("... or from this many tokens, whichever is "
                               "less",
                               horizon_tokens))
    .add<caf::timespan>("max-wait",
                        with_default("let go of a candidate below the value "
                                     "bar whose deal is older (counted from "
                                     "the start for one listed before)",
                                     max_wait));
}

void add_update_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::update;
  option_adder{opts, "keepa.update", defaults}
    .add<caf::timespan>(
      "interval", with_default("look for stale deals this often", interval))
    .add<caf::timespan>("refresh-after",
                        with_default("refresh deals unseen this long",
                                     refresh_after))
    .add<caf::timespan>("grace",
                        with_default("delete deals unseen this long", grace));
}

void add_filter_options(caf::config_option_set& opts, caf::settings* defaults) {
  using namespace defaults::filter;
  option_adder{opts, "keepa.filter", defaults}
    .add<int64_t>("min-sell-price",
                  with_default("lowest estimated sell price in cents",
                               min_sell_price))
    .add<double>("max-buy-to-sell",
                 with_default("highest buy price as a multiple of the "
                              "estimated sell price",
                              max_buy_to_sell))
    .add<double>("min-roi",
                 with_default("lowest gross ROI (sell - buy) / buy", min_roi))
    .add<int64_t>("min-rank-drops365",
                  with_default("fewest sales-rank drops in 365 days",
                               min_rank_drops365))
    .add<int64_t>("min-price",
                  with_default("free pre-filter: lowest buy price in the "
                               "deal feed, cents",
                               min_price))
    .add<int64_t>("max-price",
                  with_default("free pre-filter: highest buy price in the "
                               "deal feed, cents; 0 = no bound",
                               max_price))
    .add<caf::timespan>("rejection-memory",
                        with_default("how long a rejected book stays out "
                                     "unless its price drops",
                                     rejection_memory))
    .add<bool>("skip-peek-profit",
               with_default("flag: the peek skips its profit bound "
                            "(rejecting books whose profit at the used "
                            "price is below keepa.business.min-profit) and "
                            "applies the seeds' rules alone",
                            skip_peek_profit))
    .add<double>("refresh-tolerance",
                 with_default("a stored deal that reappears in the feed is "
                              "refreshed from the feed (no request) while "
                              "its price moved by at most this fraction of "
                              "the stored buy price and its profit still "
                              "reaches keepa.business.min-profit; else it is "
                              "peeked and committed again",
                              refresh_tolerance));
}

void add_business_options(caf::config_option_set& opts,
                          caf::settings* defaults) {
  using namespace defaults::business;
  option_adder{opts, "keepa.business", defaults}
    .add<int64_t>("prep-fee",
                  with_default("prep fee per unit, cents", prep_fee))
    .add<int64_t>("inbound-shipping",
                  with_default("inbound shipping per unit, cents",
                               inbound_shipping))
    .add<double>("tax-percent",
                 with_default("sales tax on the buy price, %", tax_percent))
    .add<double>("markup",
                 with_default("minimum listing price keeps markup "
                              "x all-in cost as profit",
                              markup))
    .add<double>("referral-percent",
                 with_default("referral fee % when Keepa reports none",
                              referral_percent))
    .add<int64_t>("pick-pack-fee",
                  with_default("FBA pick & pack fee in cents when Keepa "
                               "reports none",
                               pick_pack_fee))
    .add<int64_t>("min-profit",
                  with_default("commit only deals with at least this "
                               "profit, cents",
                               min_profit));
}

void add_introspection_options(caf::config_option_set& opts,
                               caf::settings* defaults) {
  option_adder{opts, "keepa.introspection", defaults}
    .add<std::string>("host",
                      with_default("keepa-pipeline: address of the "
                                   "read-only INTROSPECTION actor, "
                                   "published over CAF's OpenSSL module",
                                   defaults::introspection::host))
    .add<uint16_t>("port",
                   with_default("keepa-pipeline: its port (mutual TLS with "
                                "openssl.*, or the owner's own "
                                "certificates), 0 = off",
                                defaults::introspection::port));
  option_adder{opts, "keepa.http", defaults}
    .add<std::string>("host",
                      with_default("keepa-pipeline: address of /status and "
                                   "/metrics (keepa-status reads /status)",
                                   defaults::http::host))
    .add<uint16_t>("port",
                   with_default("keepa-pipeline: port of /status and "
                                "/metrics, 0 = off",
                                defaults::http::port))
    .add<std::string>("token-file",
                      with_default("keepa-pipeline: file (mode 0600) "
                                   "receiving the token each request must "
                                   "carry; none = http-PORT.token in "
                                   "$XDG_RUNTIME_DIR/keepa-pipeline or "
                                   "~/.keepa-pipeline",
                                   defaults::http::token_file))
    .add<caf::timespan>("ready-max-age",
                        with_default("keepa-pipeline: /readyz needs a "
                                     "successful Keepa answer this recent",
                                     defaults::http::ready_max_age))
    .add<std::string>("access-token-file",
                      with_default("keepa-pipeline: file (mode 0600) of "
                                   "the user's own token (at least 16 "
                                   "characters), read, never written; "
                                   "needed for a host other than 127.0.0.1, "
                                   "::1 or localhost",
                                   defaults::http::access_token_file));
}

} // namespace

void add_keepa_options(caf::config_option_set& opts, caf::settings* defaults) {
  add_run_options(opts, defaults);
  add_log_options(opts, defaults);
  add_token_options(opts, defaults);
  add_client_options(opts, defaults);
  add_storage_options(opts, defaults);
  add_scan_options(opts, defaults);
  add_peek_options(opts, defaults);
  add_update_options(opts, defaults);
  add_filter_options(opts, defaults);
  add_business_options(opts, defaults);
  add_introspection_options(opts, defaults);
}

} // namespace keepa
