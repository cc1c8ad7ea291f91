// The handles of one pipeline's actors that the status report asks, inside
// keepa-pipeline's process only: this directory never crosses a process
// boundary (it has no type ID), since a handle lets its holder spend tokens
// or stop an actor.

#pragma once

#include <caf/typed_actor.hpp>

#include "messages/actors.hpp"

namespace keepa {

/// Handles of the actors of one pipeline that the status report asks.
struct pipeline_directory {
  token_actor token;
  keepa_client_actor client;
  keepa_client_actor probe_client;
  scanner_actor scanner;
  peek_filter_actor peek;
  committer_actor committer;
  updater_actor updater;
};

} // namespace keepa
