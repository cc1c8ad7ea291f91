#include "config/pipeline_config.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include "config/defaults.hpp"
#include "messages/error.hpp"
#include "messages/fwd.hpp"

#ifndef KEEPA_CONFIG_DIR
#  define KEEPA_CONFIG_DIR "config"
#endif

namespace keepa {

std::string default_profiles_dir() {
  return KEEPA_CONFIG_DIR "/profiles";
}

pipeline_config::pipeline_config() {
  keepa::add_message_types(*this);
  opt_group{custom_options_, "keepa"}
    .add<std::string>("profile",
                      "profile name, or \"auto\" to pick by refill rate")
    .add<std::string>("profiles-dir", "directory of profile *.ini files");
  opt_group{custom_options_, "keepa.token"}
    .add<caf::timespan>("max-observation-age",
                        "ask Keepa's /token only when the newest "
                        "observation is older than this")
    .add<caf::timespan>("stagger",
                        "spacing of retry times at the same refill step")
    .add<caf::timespan>("ticket-grace",
                        "drop a ticket not presented this long after its "
                        "retry time")
    .add<caf::timespan>("grant-ttl",
                        "forget a grant neither settled nor released after "
                        "this long")
    .add<caf::timespan>("probe-retry",
                        "retry time while no balance observation exists");
  // No option for the key itself: it comes from KEEPA_API_KEY or key-file.
  opt_group{custom_options_, "keepa.client"}
    .add<std::string>("endpoint",
                      "Keepa API base URL (default https://api.keepa.com)")
    .add<std::string>("key-file",
                      "file holding the API key (else $KEEPA_API_KEY)")
    .add<std::string>("ca-file", "CA bundle for TLS verification")
    .add<caf::timespan>("timeout", "limit per transfer (default 120s)")
    .add<caf::timespan>("connect-timeout", "connect limit (default 30s)")
    .add<size_t>("max-answer-size",
                 "largest decoded answer in bytes (default 64 MiB)")
    .add<size_t>("max-connections",
                 "parallel connections to the endpoint (default 16)")
    .add<size_t>("attempts",
                 "attempts per request on 5xx, timeouts and resets "
                 "(default 4)")
    .add<caf::timespan>("backoff", "first retry delay (default 500ms)")
    .add<caf::timespan>("backoff-max", "largest retry delay (default 30s)")
    .add<bool>("gzip", "ask for gzip-compressed answers (default true)");
}

caf::config_option_adder pipeline_config::add_group(const char* category,
                                                    const char*) {
  return opt_group{custom_options_, category};
}

caf::error pipeline_config::load(int argc, char** argv) {
  if (auto err = parse(argc, argv))
    return caf::make_error(ec::invalid_config, render(err));
  if (cli_helptext_printed)
    return caf::none;
  if (!remainder.empty())
    return caf::make_error(ec::invalid_config,
                           "unknown argument: " + remainder.front());
  return load_profiles(*this);
}

caf::error load_profiles(pipeline_config& cfg) {
  auto dir = caf::get_or(cfg, "keepa.profiles-dir", default_profiles_dir());
  auto xs = load_profiles(dir);
  if (!xs)
    return xs.error();
  cfg.profiles = std::move(*xs);
  auto name = caf::get_or(cfg, "keepa.profile", defaults::profile);
  if (name != "auto" && !find_profile(cfg.profiles, name))
    return caf::make_error(ec::unknown_profile,
                           "no profile named \"" + name + "\" in " + dir);
  return caf::none;
}

caf::settings pipeline_config::dump_content() const {
  auto result = actor_system_config::dump_content();
  auto& keepa = result["keepa"].as_dictionary();
  keepa.emplace("profile", caf::get_or(content, "keepa.profile",
                                       defaults::profile));
  auto dir = caf::get_or(content, "keepa.profiles-dir",
                         default_profiles_dir());
  keepa.emplace("profiles-dir", dir);
  auto xs = keepa::load_profiles(dir);
  if (!xs)
    return result;
  caf::settings profiles;
  for (auto& p : *xs) {
    caf::settings entry;
    entry.emplace("min-rate", p.min_rate);
    entry.emplace("floor", p.floor);
    entry.emplace("scan-pages", p.scan_pages);
    entry.emplace("peek-batch", p.peek_batch);
    entry.emplace("commit-batch", p.commit_batch);
    entry.emplace("update-batch", p.update_batch);
    std::vector<std::string> order;
    for (auto s : p.priority)
      order.emplace_back(to_string(s));
    entry.emplace("priority", order);
    entry.emplace("updater-share", p.updater_share);
    entry.emplace("peek-offers", p.peek_offers);
    entry.emplace("commit-offers", p.commit_offers);
    profiles.emplace(p.name, std::move(entry));
  }
  keepa.emplace("profiles", std::move(profiles));
  return result;
}

} // namespace keepa
