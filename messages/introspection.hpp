// What the INTROSPECTION actor hands out: the handles of one pipeline's
// actors, so keepa-status (over the middleman) can ask each of them itself.

#pragma once

#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"

namespace keepa {

/// Handles of the actors of one pipeline that keepa-status asks directly.
struct pipeline_directory {
  token_actor token;
  keepa_client_actor client;
  keepa_client_actor probe_client;
  scanner_actor scanner;
  peek_filter_actor peek;
  committer_actor committer;
  updater_actor updater;
};

template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, pipeline_directory& x) {
  return f(caf::meta::type_name("pipeline_directory"), x.token, x.client,
           x.probe_client, x.scanner, x.peek, x.committer, x.updater);
}

} // namespace keepa
