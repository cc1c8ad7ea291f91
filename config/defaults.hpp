// Default values of the keepa.* options, grouped per component (VAST's
// defaults.hpp): the one place a default is written down. The option
// registry (config/options.cpp) states them in --help, the `*_config`
// structs initialize their members with them and the `*_config_from`
// readers fall back to them. A few knobs without an option (marked "not an
// option") live here too, beside their component's options.
//
// Durations print in --help in the unit they are declared in (CAF 0.17
// parses ns, us, ms, s, min and h; there is no d), so declare each in the
// unit a user would type.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace keepa::defaults {

// -- keepa.*: profile and run control ----------------------------------------

/// keepa.profile: a profile name, or "auto" to pick by the refill rate
/// learned from Keepa's answers.
constexpr const char* profile = "auto";

/// keepa.profiles-dir: profiles/ of the data directory (config/data_dir.hpp).
std::string profiles_dir();

/// keepa.run-for: stop after this long; 0 = never (keepa-pipeline).
constexpr auto run_for = std::chrono::seconds{0};

/// keepa.max-deals: stop after committing this many deals; 0 = never
/// (keepa-pipeline).
constexpr size_t max_deals = 0;

/// keepa.locale: the Amazon locale (config/locale.hpp code or domain id);
/// empty = the deal query's domainId, else us (config/locale_option.hpp).
constexpr const char* locale = "";

/// keepa.status-every: a status line this often when stderr is not a
/// terminal (a journal gets 1 440 a day, not 86 400; keepa-pipeline).
constexpr auto status_every = std::chrono::minutes{1};

/// keepa.status-refresh: how often the live status line is redrawn on a
/// terminal (keepa-pipeline).
constexpr auto status_refresh = std::chrono::seconds{1};

// -- keepa.log.*: the log (config/logger.hpp)
// ----------------------------------

namespace logging {

/// keepa.log.level: trace, debug, info, warning, error or off.
constexpr const char* level = "info";

/// keepa.log.format: text or json.
constexpr const char* format = "text";

} // namespace logging

// -- scheduler.*: CAF's scheduler (CAF's own options, our defaults) -----------

namespace scheduler {

/// scheduler.policy: `sharing` (one queue; idle workers block on a condition
/// variable). CAF's default, `stealing`, polls while idle: 3.1 % of a core
/// at R = 5 against 0.2 % (tools/cpu-bench/cpu-bench.sh).
constexpr char policy[] = "sharing";

/// scheduler.max-threads: actor work is a few percent of one core (storage
/// runs detached, transfers on libcurl's thread), so two workers suffice.
constexpr size_t max_threads = 2;

} // namespace scheduler

// -- keepa.token.*: TOKEN
// ------------------------------------------------------

namespace token {

/// Ask /token only when no observation is fresher than this.
constexpr auto max_observation_age = std::chrono::hours{1};

/// Spacing of retry times of requests affordable at the same refill step.
constexpr auto stagger = std::chrono::milliseconds{5};

/// Drop a ticket not presented this long after its retry time.
constexpr auto ticket_grace = std::chrono::seconds{30};

/// Forget a grant neither settled nor released after this long.
constexpr auto grant_ttl = std::chrono::minutes{10};

/// Retry time handed out while no balance observation exists.
constexpr auto probe_retry = std::chrono::seconds{1};

/// Longest wait after repeated HTTP 429s (the wait doubles from one refill
/// step per 429 in a row, up to this).
constexpr auto refusal_backoff_max = std::chrono::minutes{4};

/// keepa-token (the budget server, issue 22): where it serves TOKEN.
constexpr const char* server_host = "127.0.0.1";
constexpr uint16_t server_port = 4272;
/// keepa-pipeline: the budget server to spend from; empty = an own TOKEN.
constexpr const char* server_remote = "";
/// keepa-pipeline: this process's weight among the budget server's
/// consumers (shares are in proportion to weights), and its upper bound.
constexpr int64_t weight = 1;
constexpr int64_t max_weight = 1'000'000;

} // namespace token

// -- keepa.client.*: KEEPA CLIENT and its transport ---------------------------

namespace client {

/// Keepa API base URL.
constexpr const char* endpoint = "https://api.keepa.com";

/// File holding the API key, read when $KEEPA_API_KEY is unset; empty =
/// none.
constexpr const char* key_file = "";

/// CA bundle for TLS verification; empty = the system's default.
constexpr const char* ca_file = "";

/// Allow http:// to a host that is not loopback (the key in cleartext).
constexpr bool allow_insecure = false;

/// Limit per transfer.
constexpr auto timeout = std::chrono::seconds{120};

/// Connect limit.
constexpr auto connect_timeout = std::chrono::seconds{30};

/// Largest answer after decompression, bytes (64 MiB).
constexpr size_t max_answer_size = size_t{64} << 20;

/// Parallel connections to the endpoint.
constexpr size_t max_connections = 16;

/// Attempts per request on 5xx, timeouts and resets (1 + 3 retries).
constexpr size_t attempts = 4;

/// First retry delay; doubles per attempt, jittered.
constexpr auto backoff = std::chrono::milliseconds{500};

/// Largest retry delay.
constexpr auto backoff_max = std::chrono::seconds{30};

/// Ask for gzip-compressed answers.
constexpr bool gzip = true;

/// How far an answer's timestamp may lie from the local clock (either way),
/// and a deal's lastUpdate ahead of it, before it is refused.
constexpr auto clock_tolerance = std::chrono::minutes{10};

/// Authentication failures (401, 402, 403) in a row, without a successful
/// answer between them, after which keepa-pipeline stops (exit code 3);
/// 0 = never stop.
constexpr size_t max_auth_failures = 3;

} // namespace client

// -- keepa.storage.*: STORAGE -------------------------------------------------

namespace storage {

/// The database: `sqlite:<path>`, a plain path, `postgresql://...` or
/// `postgresql:dbname=... host=...`.
constexpr const char* url_key = "keepa.storage.url";
constexpr const char* url = "sqlite:keepa.db";

/// How long one statement waits for a lock before it counts as busy.
constexpr const char* busy_timeout_key = "keepa.storage.busy-timeout";
constexpr auto busy_timeout = std::chrono::seconds{5};

/// How often a locked transaction is tried again at once (each try waiting
/// up to busy-timeout, STORAGE blocked meanwhile) before STORAGE reports an
/// outage and retries with backoff.
constexpr const char* lock_retries_key = "keepa.storage.lock-retries";
constexpr int64_t lock_retries = 0;

/// Whose watermark, tracked positions and run counters: several pipelines
/// store into one database under scopes of their own (storage/scope.hpp);
/// empty = the locale's code (keepa.locale).
constexpr const char* scope_key = "keepa.storage.scope";
constexpr const char* scope = "";

/// After a transient error (locked, server out of reach) STORAGE tries
/// again after `retry_min`, doubling the wait up to `retry_max`.
constexpr auto retry_min = std::chrono::milliseconds{250};
constexpr auto retry_max = std::chrono::seconds{2};

} // namespace storage

// -- keepa.scan.*: SCANNER
// -----------------------------------------------------

namespace scan {

/// The deal selection JSON: deal_query.json of the data directory
/// (config/data_dir.hpp).
std::string query_file();

/// Where the scanner discovers candidates: "deals" (the /deal feed),
/// "finder" (Product Finder, /query) or "both" (passes alternate).
constexpr const char* source = "deals";

/// The Product Finder query JSON: finder_query.json of the data directory
/// (config/data_dir.hpp; config/finder_query.json in the source tree: books).
std::string finder_query_file();

/// A first finder pass without a watermark lists the products updated in
/// this many minutes before it (not an option): 12 h, what /deal lists.
constexpr int32_t finder_first_window_minutes = 12 * 60;

/// Scan again after this long even if downstream is busy.
constexpr auto interval = std::chrono::minutes{5};

/// Do not scan while the peek-filter holds more candidates than this.
constexpr size_t max_backlog = 2000;

/// A pass that would read mostly deals already seen waits for more of
/// them at most this long after the last pass began (scanner_state::
/// thin_wait), however slow the feed: a new deal is listed at most this
/// much later than it would be otherwise.
constexpr auto thin_wait_max = std::chrono::minutes{30};

/// Price band boundaries (cents) the deal query starts split at; none = one
/// query, split only when it overflows.
inline std::vector<int64_t> price_bands() {
  return {};
}

/// Most slices the query is split into (one /deal query lists at most
/// 10 000 deals); 0 = one per `tokens_per_slice` tokens a minute the plan
/// refills (at least 1, at most `max_auto_slices`).
constexpr size_t max_slices = 0;
constexpr int64_t tokens_per_slice = 2000;
constexpr size_t max_auto_slices = 64;

/// How long Keepa keeps a /deal result set (not an option): the same query
/// within it answers the same deals, so a pass waits for it to expire.
constexpr auto deal_cache = std::chrono::seconds{120};

/// A failed /deal page (not options): attempts before the pass ends
/// incomplete, and the backoff before the next attempt, doubling from
/// `page_backoff` up to `page_backoff_max`.
constexpr int32_t page_attempts = 6;
constexpr auto page_backoff = std::chrono::seconds{2};
constexpr auto page_backoff_max = std::chrono::minutes{1};

} // namespace scan

// -- PEEK-FILTER and COMMITTER (not options)
// -----------------------------------

namespace peek {

/// `stats` days of the light product (avg90 and avg365 need 365).
constexpr const char* stats = "365";

/// Batches in flight at once.
constexpr int32_t max_in_flight = 2;

/// Attempts per candidate before it is recorded as failed.
constexpr int32_t attempts = 3;

} // namespace peek

/// The PEEK-FILTER's value gate (actors/stages/value_gate.hpp; options
/// keepa.peek.value-gate.*).
namespace value_gate {

/// On: a scarce token goes to the likeliest candidates only.
constexpr bool enabled = true;

/// The balance, in minutes of refill, from which every candidate is worth
/// a token.
constexpr auto horizon = std::chrono::minutes{10};

/// ... or from this many tokens, whichever is less: a big plan opens up
/// within seconds rather than parking ten minutes of refill.
constexpr int64_t horizon_tokens = 500;

/// Weight of the overall pass rate in a bin's learned pass rate, in peeks.
constexpr double prior_weight = 5;

/// Half-life of the mix of arriving candidates.
constexpr auto half_life = std::chrono::minutes{60};

/// A candidate below the bar whose deal is older than this is let go
/// (recorded as rejected "below-value-bar"; a later version comes again).
constexpr auto max_wait = std::chrono::hours{4};

/// Candidates below the bar beyond this many queued are let go, worst
/// first, so the scanner (which pauses above scan::max_backlog) reads on.
constexpr size_t max_queue = scan::max_backlog / 2;

/// Off: a hopeless bin's candidates are peeked as any others (a token the
/// bucket would lose at its cap buys a long shot). On, they are let go on
/// arrival whatever the balance, and the tokens are left to expire or to
/// the other pipelines on the key.
constexpr bool skip_hopeless = false;

/// A bin is hopeless once this many of its candidates were peeked and its
/// pass rate is, with 95 % confidence, below hopeless_share of the overall
/// one.
constexpr uint64_t hopeless_after = 200;
constexpr double hopeless_share = 0.05;

/// Every this many candidates of a hopeless bin, one is queued anyway, so
/// the gate sees the bin change.
constexpr uint64_t explore_every = 100;

} // namespace value_gate

namespace commit {

/// Batches in flight at once.
constexpr int32_t max_in_flight = 2;

/// Attempts per survivor before it is recorded as failed.
constexpr int32_t attempts = 3;

} // namespace commit

// -- keepa.update.*: UPDATER
// ---------------------------------------------------

namespace update {

/// How often the updater looks for stale deals.
constexpr auto interval = std::chrono::minutes{10};

/// A deal not seen for this long is refreshed.
constexpr auto refresh_after = std::chrono::hours{24};

/// A deal not seen for this long is deleted; >= refresh_after.
constexpr auto grace = std::chrono::hours{72};

} // namespace update

// -- keepa.filter.*: deal analysis, the filters
// --------------------------------

namespace filter {

/// Lowest estimated sell price, cents.
constexpr int32_t min_sell_price = 1200;

/// Highest buy price as a multiple of the estimated sell price.
constexpr double max_buy_to_sell = 1.1;

/// Lowest gross ROI (sell - buy) / buy.
constexpr double min_roi = 0.2;

/// Fewest sales-rank drops in 365 days.
constexpr int32_t min_rank_drops365 = 1;

/// Free pre-filter: the deal's buy price range in cents. The seeds'
/// currentRange 2000..45100 would drop good books bought below $20, so the
/// range is unbounded (max 0 = no bound).
constexpr int32_t min_price = 0;
constexpr int32_t max_price = 0;

/// How long a rejected book stays out unless its price drops.
constexpr auto rejection_memory = std::chrono::hours{7 * 24};

/// Whether the peek skips its profit bound (a flag).
constexpr bool skip_peek_profit = false;

/// A stored deal that reappears in the feed is refreshed from the feed's
/// own fields (not bought again) while its price moved by at most this
/// fraction of the stored buy price and the profit that move leaves still
/// reaches keepa.business.min-profit.
constexpr double refresh_tolerance = 0.1;

} // namespace filter

// -- keepa.business.*: deal analysis, the business math
// ------------------------

/// The seeds name no business constants, so prep fee, shipping, tax and
/// markup are 0: the commit rule is then exactly keepa-sim's "good deal".
namespace business {

/// Prep fee per unit, cents.
constexpr int32_t prep_fee = 0;

/// Inbound shipping per unit to the warehouse, cents.
constexpr int32_t inbound_shipping = 0;

/// Sales tax on the buy price, percent.
constexpr double tax_percent = 0;

/// The minimum listing price leaves markup x all-in cost as profit.
constexpr double markup = 0;

/// Referral fee percent when Keepa reports none.
constexpr double referral_percent = 15;

/// FBA pick & pack fee when Keepa reports none, cents.
constexpr int32_t pick_pack_fee = 350;

/// Commit only deals with at least this profit, cents.
constexpr int32_t min_profit = 500;

} // namespace business

// -- keepa.introspection.* and keepa.http.*: keepa-pipeline's endpoints ----

namespace introspection {

/// Where the read-only INTROSPECTION actor is published over CAF's OpenSSL
/// module (mutual TLS, openssl.* options); port 0 = off.
constexpr const char* host = "127.0.0.1";
constexpr uint16_t port = 4270;

/// Bound for each status request an endpoint sends (not an option).
constexpr auto ask_timeout = std::chrono::seconds{2};

} // namespace introspection

namespace http {

/// Where /status, /status.txt and /metrics are served; port 0 = off.
constexpr const char* host = "127.0.0.1";
constexpr uint16_t port = 4271;

/// The file (mode 0600) that holds the per-run token every request must
/// carry; empty = http-PORT.token in $XDG_RUNTIME_DIR/keepa-pipeline, else
/// in ~/.keepa-pipeline (a directory of mode 0700).
constexpr const char* token_file = "";

/// /readyz: the newest successful Keepa answer may be this old (longer
/// than keepa.scan.interval, so an idle pipeline that scans stays ready).
constexpr auto ready_max_age = std::chrono::minutes{10};
/// A token file of the user's (read, never written) whose token every
/// request may carry instead; required to serve HTTP on a host other than
/// 127.0.0.1, ::1 or localhost. Empty = none.
constexpr const char* access_token_file = "";

} // namespace http

} // namespace keepa::defaults
